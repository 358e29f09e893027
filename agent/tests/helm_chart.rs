//! The Helm chart (`helm/lightbulb`) rendered by Helm's own SDK (PyPI
//! helm-python-sdk, through helm/lightbulb/tests/render.py) with default,
//! production and cert-manager values; linted; every manifest validated by
//! kubernetes-validate against Kubernetes 1.30; values that break the
//! schema refused. Then the manifests go to a real kube-apiserver: each
//! kind it serves is accepted by a server-side dry run, and the agent's
//! DaemonSet with its ServiceAccount, ConfigMap and RBAC is created for
//! real and read back. The test apiserver is 1.20 with no kubelet (so no
//! pod runs) and no cert-manager: `policy/v1` (1.21), `autoscaling/v2`
//! (1.23) and `cert-manager.io` objects are left to kubernetes-validate.

use lightbulb_testkit as support;

use std::path::PathBuf;
use std::process::Command;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, PostParams};
use kube::discovery::{Discovery, Scope};
use kube::{Api, Client};
use serde_json::{Value, json};
use support::kubernetes::Kubernetes;

const NAMESPACE: &str = "monitoring";

fn render() -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = std::env::var("LIGHTBULB_TEST_VENV")
        .unwrap_or_else(|_| "/var/cache/lightbulb-test/venv".to_string());
    let out = Command::new(format!("{venv}/bin/python"))
        .arg(root.join("helm/lightbulb/tests/render.py"))
        .output()
        .expect("python from the test virtualenv (scripts/test.sh installs helm-python-sdk)");
    assert!(
        out.status.success(),
        "render.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("render.py prints JSON")
}

fn objects<'a>(rendered: &'a Value, set: &str) -> Vec<&'a Value> {
    rendered["sets"][set]
        .as_array()
        .unwrap_or_else(|| panic!("no value set {set}"))
        .iter()
        .map(|d| &d["object"])
        .collect()
}

fn find<'a>(objs: &[&'a Value], kind: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

async fn api_for(
    client: &Client,
    discovery: &Discovery,
    obj: &Value,
) -> Option<Api<DynamicObject>> {
    let (group, version) = match obj["apiVersion"].as_str()?.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), obj["apiVersion"].as_str()?.to_string()),
    };
    let gvk = GroupVersionKind::gvk(&group, &version, obj["kind"].as_str()?);
    let (resource, caps): (ApiResource, _) = discovery.resolve_gvk(&gvk)?;
    Some(match caps.scope {
        Scope::Namespaced => Api::namespaced_with(client.clone(), NAMESPACE, &resource),
        Scope::Cluster => Api::all_with(client.clone(), &resource),
    })
}

#[test]
fn the_chart_renders_valid_manifests_and_refuses_bad_values() {
    let r = render();
    assert_eq!(
        r["invalid"],
        json!([]),
        "kubernetes-validate (1.30, strict)"
    );
    assert_eq!(r["lint"]["errors"], json!([]), "{}", r["lint"]);
    let warnings: Vec<&Value> = r["lint"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["severity"].as_i64() >= Some(2))
        .collect();
    assert!(warnings.is_empty(), "helm lint --strict: {warnings:?}");
    assert_eq!(r["accepted"], json!([]), "values the schema must refuse");
    let refused: Vec<&str> = r["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["error"].as_str().unwrap())
        .collect();
    for (i, needle) in [
        "/collector/replicas': value must be 1",
        "/collector/autoscaling/enabled",
        "/store/clickhouse/url",
        "/store/kind': value must be one of",
        "/collector/authMode",
        "/collector/service/httpPort",
        "/agent/spoolHostPath",
        "/tls/certManager/issuerRef/name",
        "/catalog/content",
        "additional properties 'colector' not allowed",
    ]
    .iter()
    .enumerate()
    {
        assert!(
            refused[i].contains(needle),
            "bad values #{i}: {}",
            refused[i]
        );
    }

    // What each install is made of.
    let default = objects(&r, "default");
    let kinds: Vec<&str> = default
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "Deployment",
        "Service",
        "PersistentVolumeClaim",
        "PodDisruptionBudget",
        "DaemonSet",
        "ClusterRole",
        "ClusterRoleBinding",
        "ServiceAccount",
        "ConfigMap",
    ] {
        assert!(
            kinds.contains(&kind),
            "default install lacks a {kind}: {kinds:?}"
        );
    }
    let production = objects(&r, "production");
    let hpa = find(&production, "HorizontalPodAutoscaler");
    assert_eq!(hpa["spec"]["minReplicas"], 3);
    assert_eq!(
        find(&production, "Ingress")["spec"]["tls"][0]["secretName"],
        "lightbulb-ingress-tls"
    );
    assert!(
        !production
            .iter()
            .any(|o| o["kind"] == "PersistentVolumeClaim"),
        "ClickHouse store: no SQLite volume"
    );
    let cm = objects(&r, "cert-manager");
    let certs: Vec<&&Value> = cm.iter().filter(|o| o["kind"] == "Certificate").collect();
    assert_eq!(certs.len(), 2);
    assert_eq!(certs[1]["spec"]["dnsNames"][0], "*.agents.lightbulb");
    assert!(
        cm.iter().any(|o| o["kind"] == "StatefulSet"),
        "the trial ClickHouse"
    );
    let notes = r["sets"]["default:notes"].as_str().unwrap();
    assert!(
        notes.contains("kubectl -n monitoring port-forward svc/lb-lightbulb-collector 8080"),
        "{notes}"
    );
}

#[tokio::test]
async fn the_api_server_accepts_the_manifests_and_the_agent_daemonset() {
    let Some(k) = Kubernetes::start().await else {
        return;
    };
    let r = render();
    let client = k.client().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": NAMESPACE}})).unwrap(),
        )
        .await
        .unwrap();
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let dry = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let mut left = Vec::new();
    let (mut checked, mut total) = (0, 0);
    for set in ["default", "production", "cert-manager"] {
        for obj in objects(&r, set) {
            total += 1;
            let what = format!("{set}: {} {}", obj["kind"], obj["metadata"]["name"]);
            let Some(api) = api_for(&client, &discovery, obj).await else {
                left.push(format!(
                    "{} {}",
                    obj["apiVersion"].as_str().unwrap_or_default(),
                    obj["kind"].as_str().unwrap_or_default()
                ));
                continue;
            };
            let dynamic: DynamicObject = serde_json::from_value(obj.clone()).unwrap();
            api.create(&dry, &dynamic)
                .await
                .unwrap_or_else(|e| panic!("{what} refused by the API server: {e}"));
            checked += 1;
        }
    }
    assert_eq!(checked + left.len(), total);
    assert!(checked > left.len(), "{checked} of {total} objects dry-run");
    left.sort();
    left.dedup();
    assert_eq!(
        left,
        [
            "autoscaling/v2 HorizontalPodAutoscaler",
            "cert-manager.io/v1 Certificate",
            "policy/v1 PodDisruptionBudget",
        ],
        "only kinds this 1.20 API server does not serve are left out"
    );

    // The agent's part created for real, and read back as written.
    let default = objects(&r, "default");
    for kind in [
        "ServiceAccount",
        "ConfigMap",
        "ClusterRole",
        "ClusterRoleBinding",
        "DaemonSet",
    ] {
        for obj in default.iter().filter(|o| {
            o["kind"] == kind && o["metadata"]["name"].as_str().unwrap().ends_with("-agent")
        }) {
            let api = api_for(&client, &discovery, obj).await.unwrap();
            api.create(
                &PostParams::default(),
                &serde_json::from_value((*obj).clone()).unwrap(),
            )
            .await
            .unwrap_or_else(|e| panic!("{kind} not created: {e}"));
        }
    }
    let ds: DaemonSet = Api::namespaced(client.clone(), NAMESPACE)
        .get("lb-lightbulb-agent")
        .await
        .unwrap();
    let spec = ds.spec.unwrap().template.spec.unwrap();
    assert_eq!(spec.host_pid, Some(true));
    assert_eq!(
        spec.service_account_name.as_deref(),
        Some("lb-lightbulb-agent")
    );
    assert_eq!(
        spec.tolerations.unwrap()[0].operator.as_deref(),
        Some("Exists")
    );
    let c = &spec.containers[0];
    let env = c.env.as_ref().unwrap();
    let node = env.iter().find(|e| e.name == "NODE_NAME").unwrap();
    assert_eq!(
        node.value_from
            .as_ref()
            .unwrap()
            .field_ref
            .as_ref()
            .unwrap()
            .field_path,
        "spec.nodeName"
    );
    assert!(env.iter().any(|e| e.name == "LIGHTBULB_AGENT_ID"
        && e.value.as_deref() == Some("$(NODE_NAME).agents.lightbulb")));
    assert!(
        env.iter()
            .any(|e| e.name == "LIGHTBULB_DISCOVERY__KUBERNETES__NODE_NAME")
    );
    let ready = c
        .readiness_probe
        .as_ref()
        .unwrap()
        .http_get
        .as_ref()
        .unwrap();
    assert_eq!(ready.path.as_deref(), Some("/readyz"));
    let security = c.security_context.as_ref().unwrap();
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(
        security.capabilities.as_ref().unwrap().add.as_deref(),
        Some(&["DAC_READ_SEARCH".to_string(), "SYS_PTRACE".to_string()][..])
    );
    let spool = spec
        .volumes
        .unwrap()
        .into_iter()
        .find(|v| v.name == "spool")
        .unwrap();
    assert_eq!(spool.host_path.unwrap().path, "/var/lib/lightbulb/agent");
    // Least privilege: the agent's role only reads.
    let role: ClusterRole = Api::all(client.clone())
        .get("lb-lightbulb-agent")
        .await
        .unwrap();
    let rules = role.rules.unwrap();
    // Claim volumes are read; the kubelet's API only when asked for.
    let resources: Vec<String> = rules
        .iter()
        .flat_map(|r| r.resources.clone().unwrap_or_default())
        .collect();
    assert!(
        resources.contains(&"persistentvolumeclaims".to_string()),
        "{resources:?}"
    );
    assert!(
        !resources.contains(&"nodes/proxy".to_string()),
        "{resources:?}"
    );
    for rule in rules {
        for verb in &rule.verbs {
            assert!(
                ["get", "list", "watch"].contains(&verb.as_str()),
                "{verb} on {:?}",
                rule.resources
            );
        }
    }
}
