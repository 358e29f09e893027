//! Kubernetes discovery end to end: a real kube-apiserver, the collector and
//! an agent (in-process) in DaemonSet mode for `node-a`. Pods annotated
//! `lightbulb.io/monitor: "true"` become services and run their checks
//! without any API call; deleting a pod removes its service.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use support::kubernetes::{Kubernetes, create_pod_with, set_status};
use support::{InProcess, eventually, get_json, http};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotated_pods_on_this_node_become_services_and_leave_with_their_pods() {
    let Some(k) = Kubernetes::start().await else {
        return;
    };
    let server = InProcess::start(&["node-a", "cluster"]).await;
    let client = http();
    let spool = tempfile::tempdir().unwrap();
    let mut config = server.agent_config("node-a", spool.path());
    config.discovery.kubernetes = lightbulb_agent::discovery::KubernetesDiscovery {
        enabled: true,
        kubeconfig: Some(k.kubeconfig.clone()),
        node_name: Some("node-a".into()),
        interval: Duration::from_millis(300),
        ..Default::default()
    };
    let agent = tokio_util::sync::CancellationToken::new();
    let _stop_agent = agent.clone().drop_guard();
    tokio::spawn(lightbulb_agent::run(config, agent.clone()));
    // A cluster-scoped agent for namespace `edge`: it watches services too.
    let spool_cluster = tempfile::tempdir().unwrap();
    let mut cluster = server.agent_config("cluster", spool_cluster.path());
    cluster.discovery.kubernetes = lightbulb_agent::discovery::KubernetesDiscovery {
        enabled: true,
        kubeconfig: Some(k.kubeconfig.clone()),
        namespace: Some("edge".into()),
        ..Default::default()
    };
    tokio::spawn(lightbulb_agent::run(cluster, agent.clone()));

    let pods: Api<Pod> = Api::namespaced(k.client().await, "default");
    let monitor = json!({"lightbulb.io/monitor": "true"});
    create_pod_with(
        &pods,
        json!({"name": "web-1", "annotations": monitor}),
        "node-a",
    )
    .await;
    set_status(&pods, "web-1", true, json!({})).await;
    // Another node's pod is that node's agent's business; an unannotated
    // pod is nobody's.
    create_pod_with(
        &pods,
        json!({"name": "web-2", "annotations": monitor}),
        "node-b",
    )
    .await;
    create_pod_with(&pods, json!({"name": "plain"}), "node-a").await;
    // An HTTP check on the pod's port: the pod "runs" the collector itself.
    let http_pod = json!({"lightbulb.io/monitor": "true", "lightbulb.io/check": "http",
        "lightbulb.io/port": server.http.port().to_string(), "lightbulb.io/path": "/readyz",
        "lightbulb.io/service-id": "shop-readyz"});
    create_pod_with(
        &pods,
        json!({"name": "api-1", "annotations": http_pod}),
        "node-a",
    )
    .await;
    let ip = json!({"status": {"podIP": "127.0.0.1"}});
    pods.patch_status("api-1", &PatchParams::default(), &Patch::Merge(&ip))
        .await
        .unwrap();

    let status = |id: &'static str| {
        let client = client.clone();
        let url = server.url(&format!("/api/status/{id}"));
        async move {
            let (code, body) = get_json(&client, &url).await;
            (code == 200 && body["status"] == "OK").then_some(body)
        }
    };
    let web = eventually(Duration::from_secs(20), "web-1 discovered and OK", || {
        status("k8s-default-web-1")
    })
    .await;
    assert_eq!(web["message"], "1 of 1 pods ready", "{web}");
    let api = eventually(Duration::from_secs(20), "api-1 discovered and OK", || {
        status("shop-readyz")
    })
    .await;
    assert_eq!(api["agent_id"], "node-a", "{api}");
    let (_, def) = get_json(&client, &server.url("/api/admin/services/shop-readyz")).await;
    let url = format!("http://127.0.0.1:{}/readyz", server.http.port());
    assert_eq!(def["status_config"]["url"], url, "{def}");

    let (_, def) = get_json(
        &client,
        &server.url("/api/admin/services/k8s-default-web-1"),
    )
    .await;
    assert_eq!(def["managed_by"], "discovery:node-a", "{def}");
    assert_eq!(def["service_type"], "kubernetes_pod");
    assert_eq!(def["labels"], json!({"agent_id": "node-a"}));
    let (_, list) = get_json(&client, &server.url("/api/admin/services?limit=100")).await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .filter_map(|s| s["service_id"].as_str())
        .collect();
    assert_eq!(ids, ["k8s-default-web-1", "shop-readyz"], "{list}");

    // An annotated Service becomes an HTTP check on its cluster IP.
    let kube_client = k.client().await;
    let namespace: k8s_openapi::api::core::v1::Namespace =
        serde_json::from_value(json!({"metadata": {"name": "edge"}})).unwrap();
    Api::all(kube_client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap();
    let service: Service = serde_json::from_value(json!({
        "metadata": {"name": "checkout", "annotations": {"lightbulb.io/monitor": "true", "lightbulb.io/path": "/health"}},
        "spec": {"ports": [{"port": 8081}]},
    }))
    .unwrap();
    let created = Api::<Service>::namespaced(kube_client, "edge")
        .create(&PostParams::default(), &service)
        .await
        .unwrap();
    let ip = created.spec.and_then(|s| s.cluster_ip).expect("cluster IP");
    let def = eventually(Duration::from_secs(20), "the service discovered", || {
        let client = client.clone();
        let url = server.url("/api/admin/services/k8s-edge-svc-checkout");
        async move {
            let (code, body) = get_json(&client, &url).await;
            (code == 200).then_some(body)
        }
    })
    .await;
    assert_eq!(
        def["status_config"]["url"],
        format!("http://{ip}:8081/health"),
        "{def}"
    );
    assert_eq!(def["managed_by"], "discovery:cluster");

    // The discovered service is read-only through the API.
    let (code, body): (u16, Value) = {
        let r = client
            .delete(server.url("/api/admin/services/k8s-default-web-1"))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    };
    assert_eq!(code, 409, "{body}");

    pods.delete("web-1", &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    eventually(Duration::from_secs(20), "web-1's service removed", || {
        let client = client.clone();
        let url = server.url("/api/admin/services/k8s-default-web-1");
        async move { (get_json(&client, &url).await.0 == 404).then_some(()) }
    })
    .await;
}
