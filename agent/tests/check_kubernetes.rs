//! The agent's `kubernetes_pod` check against a real kube-apiserver (see
//! support/kubernetes.rs for what a cluster without a kubelet cannot do):
//! each status it can produce, with the reason in `message` and the
//! evidence in `details`.

use lightbulb_testkit as support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Api;
use kube::api::PostParams;
use lightbulb_agent::checks::kubernetes::KubernetesCheck;
use lightbulb_agent::checks::{Check, CheckSpec, Outcome};
use lightbulb_common::{ServiceType, Status};
use serde_json::{Value, json};
use support::kubernetes::{Kubernetes, create_pod, set_status};

fn check(k: &Kubernetes, extra: Value) -> KubernetesCheck {
    let mut v = json!({"kubeconfig": k.kubeconfig});
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    match CheckSpec::parse(ServiceType::KubernetesPod, &v) {
        Ok(CheckSpec::Kubernetes(spec)) => KubernetesCheck::new(spec),
        other => panic!("not a kubernetes spec: {other:?}"),
    }
}

async fn run_until(c: &mut dyn Check, what: &str, done: impl Fn(&Outcome) -> bool) -> Outcome {
    support::run_until(c, Duration::from_secs(20), what, done).await
}

fn crashloop(restarts: i32) -> Value {
    json!({"restartCount": restarts,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}})
}

#[tokio::test]
async fn pods_by_selector_ready_crashlooping_restarting_and_down() {
    let Some(k) = Kubernetes::start().await else {
        return;
    };
    let client = k.client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    for name in ["web-1", "web-2", "web-3"] {
        create_pod(&pods, name, json!({"app": "web"}), "node-a").await;
        set_status(&pods, name, true, json!({})).await;
    }
    create_pod(&pods, "other", json!({"app": "other"}), "node-a").await;
    let mut c = check(&k, json!({"selector": "app=web", "max_restarts": 10}));
    let ok = run_until(&mut c, "3 ready pods", |o| o.message == "3 of 3 pods ready").await;
    assert_eq!(ok.status, Status::Ok);
    assert_eq!(ok.metrics.extra["pods"], 3.0);
    assert_eq!(
        ok.details["pods"][0]["containers"][0]["state"]["state"],
        "running"
    );
    assert_eq!(
        ok.details["usage"],
        "the metrics API (metrics.k8s.io) is not available"
    );

    // One replica crash-loops after being OOM-killed; a kubelet would post a Warning.
    set_status(&pods, "web-2", false, crashloop(3)).await;
    let event: Event = serde_json::from_value(json!({
        "metadata": {"name": "web-2.backoff"},
        "involvedObject": {"kind": "Pod", "name": "web-2", "namespace": "default"},
        "type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container",
        "count": 4, "lastTimestamp": lightbulb_common::time::format_iso(lightbulb_common::time::now_ms()),
    }))
    .unwrap();
    Api::<Event>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &event)
        .await
        .unwrap();
    let degraded = run_until(&mut c, "a crash loop and its event", |o| {
        o.message.contains("CrashLoopBackOff")
            && o.details["events"]
                .as_array()
                .is_some_and(|e| !e.is_empty())
    })
    .await;
    assert_eq!(degraded.status, Status::Degraded, "{}", degraded.message);
    assert!(
        degraded.message.contains(
            "container app of pod web-2: CrashLoopBackOff (last exit: OOMKilled, exit 137)"
        ),
        "{}",
        degraded.message
    );
    assert!(
        degraded.message.contains("2 of 3 pods ready"),
        "{}",
        degraded.message
    );
    assert_eq!(degraded.details["events"][0]["reason"], "BackOff");
    assert_eq!(
        degraded.details["pods"][1]["containers"][0]["last_state"]["reason"],
        "OOMKilled"
    );

    // It restarts again: counted since the previous run.
    set_status(&pods, "web-2", false, crashloop(5)).await;
    let restarted = run_until(&mut c, "a restart", |o| {
        o.message
            .contains("restarted 2 time(s) since the last check")
    })
    .await;
    assert_eq!(restarted.status, Status::Degraded);

    // Every replica down: FAILED, with the failing container's log tail
    // asked for (no kubelet here, so the API server cannot serve it).
    for name in ["web-1", "web-3"] {
        set_status(&pods, name, false, crashloop(1)).await;
    }
    let failed = run_until(&mut c, "no ready pod", |o| {
        o.message.contains("0 of 3 pods ready")
    })
    .await;
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(failed.details["logs"]["container"], "app");
    assert!(
        failed.details["logs"]["error"]
            .as_str()
            .unwrap()
            .starts_with("logs unavailable"),
        "{}",
        failed.details["logs"]
    );
}

#[tokio::test]
async fn deployment_replicas_decide_the_ratio_and_a_missing_pod_fails() {
    let Some(k) = Kubernetes::start().await else {
        return;
    };
    let client = k.client().await;
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "api"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}},
            "template": {"metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [{"name": "app", "image": "example/api:1"}]}}},
    }))
    .unwrap();
    Api::<Deployment>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    create_pod(&pods, "api-1", json!({"app": "api"}), "node-a").await;
    set_status(&pods, "api-1", true, json!({})).await;
    let mut c = check(&k, json!({"deployment": "api"}));
    let half = run_until(&mut c, "1 of 2", |o| {
        o.message.contains("1 of 2 pods ready")
    })
    .await;
    assert_eq!(half.status, Status::Degraded);
    assert_eq!(half.details["desired"], 2);

    let mut named = check(&k, json!({"pod": "api-9"}));
    let missing = named.run().await;
    assert_eq!(missing.status, Status::Failed);
    assert_eq!(missing.message, "no pod matches in namespace default");
}

#[tokio::test]
async fn unreachable_api_server_is_failed() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let port = support::free_port();
    std::fs::write(
        &kubeconfig,
        format!("apiVersion: v1\nkind: Config\ncurrent-context: t\nclusters:\n- name: t\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: x\ncontexts:\n- name: t\n  context:\n    cluster: t\n    user: u\n"),
    )
    .unwrap();
    let spec = json!({"kubeconfig": kubeconfig, "selector": "app=web"});
    let Ok(CheckSpec::Kubernetes(spec)) = CheckSpec::parse(ServiceType::KubernetesPod, &spec)
    else {
        panic!("valid spec")
    };
    let o = KubernetesCheck::new(spec).run().await;
    assert_eq!(o.status, Status::Failed);
    assert!(
        o.message.starts_with(&format!(
            "the Kubernetes API at https://127.0.0.1:{port}/ has not listed pods"
        )),
        "{}",
        o.message
    );
    assert!(
        o.details["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{}",
        o.details
    );
}

/// A pod with a readiness probe that waits `delay` seconds.
async fn create_probed_pod(pods: &Api<Pod>, name: &str, delay: i32) {
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "boot"}},
        "spec": {"nodeName": "node-a", "containers": [{"name": "app", "image": "example/app:1",
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "initialDelaySeconds": delay}}]},
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
}

#[tokio::test]
async fn starting_pods_are_starting_and_a_deployment_scaled_to_zero_is_stopped() {
    let Some(k) = Kubernetes::start().await else {
        return;
    };
    let client = k.client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    // Scheduled, its container still being created.
    create_probed_pod(&pods, "boot-1", 300).await;
    let creating = json!({"status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}],
        "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0, "image": "example/app:1", "imageID": "",
            "state": {"waiting": {"reason": "ContainerCreating"}}}]}});
    pods.patch_status(
        "boot-1",
        &Default::default(),
        &kube::api::Patch::Merge(&creating),
    )
    .await
    .unwrap();
    let mut c = check(&k, json!({"selector": "app=boot"}));
    let pending = run_until(&mut c, "a pending pod", |o| {
        o.metrics.extra.get("pods") == Some(&1.0)
    })
    .await;
    assert_eq!(pending.status, Status::Starting, "{}", pending.message);
    assert_eq!(
        pending.message,
        "pod boot-1 is starting: Pending (scheduled, not yet running)"
    );

    // Running but unready, within the probe's 300 s initial delay.
    let just_now = lightbulb_common::time::format_iso(lightbulb_common::time::now_ms());
    set_status(
        &pods,
        "boot-1",
        false,
        json!({"state": {"running": {"startedAt": just_now}}}),
    )
    .await;
    let running = run_until(&mut c, "a running, unready pod", |o| {
        o.message.contains("started")
    })
    .await;
    assert_eq!(running.status, Status::Starting, "{}", running.message);
    assert!(
        running.message.contains("container app started")
            && running.message.contains("within its probes' 300 s"),
        "{}",
        running.message
    );

    // Past its delay and still not ready: no longer starting, FAILED.
    create_probed_pod(&pods, "boot-2", 5).await;
    set_status(&pods, "boot-2", false, json!({})).await;
    let mut late = check(&k, json!({"pod": "boot-2"}));
    let failed = run_until(&mut late, "a pod past its delay", |o| {
        o.message.contains("0 of 1")
    })
    .await;
    assert_eq!(failed.status, Status::Failed, "{}", failed.message);

    // Unschedulable is not starting.
    create_probed_pod(&pods, "boot-3", 300).await;
    let stuck = json!({"status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
        "reason": "Unschedulable", "message": "0/3 nodes are available: insufficient cpu"}]}});
    pods.patch_status(
        "boot-3",
        &Default::default(),
        &kube::api::Patch::Merge(&stuck),
    )
    .await
    .unwrap();
    let mut unschedulable = check(&k, json!({"pod": "boot-3"}));
    let o = run_until(&mut unschedulable, "an unschedulable pod", |o| {
        o.message.contains("Unschedulable")
    })
    .await;
    assert_eq!(o.status, Status::Failed, "{}", o.message);
    assert!(
        o.message
            .contains("pod boot-3 is Pending: Unschedulable: 0/3 nodes"),
        "{}",
        o.message
    );

    // A deployment scaled to zero on purpose.
    let idle: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "idle"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "idle"}},
            "template": {"metadata": {"labels": {"app": "idle"}},
                "spec": {"containers": [{"name": "app", "image": "example/idle:1"}]}}},
    }))
    .unwrap();
    Api::<Deployment>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &idle)
        .await
        .unwrap();
    let stopped = check(&k, json!({"deployment": "idle"})).run().await;
    assert_eq!(stopped.status, Status::Stopped, "{}", stopped.message);
    assert_eq!(stopped.message, "deployment default/idle is scaled to 0");

    // A selector nothing matches, with no count to expect: FAILED, not OK.
    let nothing = check(&k, json!({"selector": "app=nothing"})).run().await;
    assert_eq!(nothing.status, Status::Failed, "{}", nothing.message);
}

#[tokio::test]
async fn probe_failures_claim_volumes_and_restarts_by_reason_are_reported() {
    let Some(k) = Kubernetes::start().await else {
        return;
    };
    let client = k.client().await;
    let claims: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
        Api::namespaced(client.clone(), "default");
    let claim = serde_json::from_value(json!({
        "metadata": {"name": "data-db-0"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }))
    .unwrap();
    claims.create(&PostParams::default(), &claim).await.unwrap();
    // What the volume controller would write once the claim is bound.
    let bound = json!({"status": {"phase": "Bound", "capacity": {"storage": "1Gi"}}});
    claims
        .patch_status(
            "data-db-0",
            &Default::default(),
            &kube::api::Patch::Merge(&bound),
        )
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "db-0", "labels": {"app": "db"}},
        "spec": {"nodeName": "node-a", "containers": [{"name": "app", "image": "example/db:1"}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}},
                        {"name": "cache", "persistentVolumeClaim": {"claimName": "cache-db-0"}}]},
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    set_status(
        &pods,
        "db-0",
        true,
        json!({"restartCount": 3,
        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}),
    )
    .await;
    let now = lightbulb_common::time::format_iso(lightbulb_common::time::now_ms());
    let unhealthy: Event = serde_json::from_value(json!({
        "metadata": {"name": "db-0.liveness"},
        "involvedObject": {"kind": "Pod", "name": "db-0", "namespace": "default", "fieldPath": "spec.containers{app}"},
        "type": "Warning", "reason": "Unhealthy", "count": 4, "lastTimestamp": now,
        "message": "Liveness probe failed: HTTP probe failed with statuscode: 500",
    }))
    .unwrap();
    Api::<Event>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &unhealthy)
        .await
        .unwrap();

    let mut c = check(&k, json!({"selector": "app=db", "max_restarts": 10}));
    // Once the watches have listed the events and the claims.
    let o = run_until(&mut c, "the probe failure and the claims", |o| {
        o.details["probes"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
            && o.details["storage"][0]["phase"] == "Bound"
    })
    .await;
    assert_eq!(o.status, Status::Degraded, "{}", o.message);
    assert!(
        o.message.contains("liveness probe of container app of pod db-0 failed 4 time(s): HTTP probe failed with statuscode: 500"),
        "{}",
        o.message
    );
    assert_eq!(o.details["probes"][0]["probe"], "liveness");
    assert_eq!(o.details["probes"][0]["container"], "app");
    // A missing claim is named; the bound one has its capacity; use needs a
    // kubelet, which this cluster has none of, and the details say so.
    assert!(
        o.message
            .contains("volume cache (claim cache-db-0) of pod db-0: the claim does not exist"),
        "{}",
        o.message
    );
    let data = &o.details["storage"][0];
    assert_eq!(
        (&data["claim"], &data["phase"]),
        (&json!("data-db-0"), &json!("Bound"))
    );
    assert_eq!(data["capacity_bytes"], 1_073_741_824u64);
    assert!(
        data["usage"]
            .as_str()
            .unwrap()
            .starts_with("the kubelet stats summary of node node-a is not reachable"),
        "{data}"
    );
    assert_eq!(o.metrics.extra["restarts_oomkilled"], 3.0);
}
