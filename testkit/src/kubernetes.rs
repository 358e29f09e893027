//! A real kube-apiserver (1.20.2, built from Debian's `kubernetes` source
//! package by scripts/kube-apiserver.sh and cached outside the repository)
//! on Debian's etcd, both child processes on free ports. There is no kubelet,
//! scheduler or controller manager: tests create pods and write their
//! status through the API themselves, and container logs and the metrics
//! API are not served.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::{Proc, free_port};

pub fn apiserver_bin() -> PathBuf {
    std::env::var_os("LIGHTBULB_TEST_KUBE_APISERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/lightbulb-test/kube-apiserver-1.20.2"))
}

pub struct Kubernetes {
    /// A kubeconfig for the admin user.
    pub kubeconfig: PathBuf,
    pub url: String,
    // Fields drop in order: the API server stops before etcd.
    apiserver: Proc,
    _etcd: Proc,
    _dir: tempfile::TempDir,
}

impl Kubernetes {
    /// A fresh API server; `None` when it is not built (and not required).
    pub async fn start() -> Option<Kubernetes> {
        let bin = apiserver_bin();
        let etcd_installed = Command::new("sh")
            .args(["-c", "command -v etcd"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !crate::peer_enabled(
            "kube-apiserver (scripts/kube-apiserver.sh) or etcd",
            "KUBERNETES",
            bin.exists() && etcd_installed,
        ) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (client, peer, port) = (free_port(), free_port(), free_port());
        let mut etcd = Command::new("etcd");
        etcd.arg("--data-dir")
            .arg(d.join("etcd"))
            .args([
                "--listen-client-urls",
                &format!("http://127.0.0.1:{client}"),
            ])
            .args([
                "--advertise-client-urls",
                &format!("http://127.0.0.1:{client}"),
            ])
            .args(["--listen-peer-urls", &format!("http://127.0.0.1:{peer}")])
            .args([
                "--initial-advertise-peer-urls",
                &format!("http://127.0.0.1:{peer}"),
            ])
            .args([
                "--initial-cluster",
                &format!("default=http://127.0.0.1:{peer}"),
            ]);
        let etcd = Proc::spawn("etcd", etcd);
        let key = rcgen::KeyPair::generate().unwrap();
        std::fs::write(d.join("sa.key"), key.serialize_pem()).unwrap();
        std::fs::write(d.join("sa.pub"), key.public_key_pem()).unwrap();
        std::fs::write(
            d.join("tokens.csv"),
            "test-token,admin,admin,system:masters\n",
        )
        .unwrap();
        let mut api = Command::new(&bin);
        api.args(["--etcd-servers", &format!("http://127.0.0.1:{client}")])
            .args([
                "--bind-address",
                "127.0.0.1",
                "--secure-port",
                &port.to_string(),
            ])
            .arg("--cert-dir")
            .arg(d.join("certs"))
            .args(["--service-account-issuer", "https://kubernetes.default.svc"])
            .arg("--service-account-key-file")
            .arg(d.join("sa.pub"))
            .arg("--service-account-signing-key-file")
            .arg(d.join("sa.key"))
            .arg("--token-auth-file")
            .arg(d.join("tokens.csv"))
            .args(["--authorization-mode", "AlwaysAllow"])
            .args(["--service-cluster-ip-range", "10.0.0.0/24"])
            // Pods need no service account: no controller manager makes one.
            .args(["--disable-admission-plugins", "ServiceAccount"]);
        let url = format!("https://127.0.0.1:{port}");
        let kubeconfig = d.join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: test\n  cluster:\n    server: {url}\n    insecure-skip-tls-verify: true\nusers:\n- name: admin\n  user:\n    token: test-token\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: admin\n"
            ),
        )
        .unwrap();
        let k = Kubernetes {
            kubeconfig,
            url,
            apiserver: Proc::spawn("kube-apiserver", api),
            _etcd: etcd,
            _dir: dir,
        };
        k.wait_ready().await;
        Some(k)
    }

    async fn wait_ready(&self) {
        let client = self.client().await;
        let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
            kube::Api::all(client.clone());
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let readyz = http::Request::get("/readyz").body(Vec::new()).unwrap();
            let ready = client
                .request_text(readyz)
                .await
                .is_ok_and(|t| t.trim() == "ok");
            // The API server makes the default namespace itself, soon after start.
            if ready && namespaces.get("default").await.is_ok() {
                return;
            }
            let output = self.apiserver.lines();
            assert!(
                Instant::now() < deadline && !output.iter().any(|l| l.starts_with("Error:")),
                "kube-apiserver not ready within 90s:\n{}",
                output.join("\n")
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn client(&self) -> kube::Client {
        lightbulb_agent::checks::kubernetes::client(Some(&self.kubeconfig), None)
            .await
            .expect("kube client")
    }
}

/// A pod on `node` with one container `app` (limits 500m CPU, 128Mi).
pub async fn create_pod(pods: &Api<Pod>, name: &str, labels: Value, node: &str) {
    create_pod_with(pods, json!({"name": name, "labels": labels}), node).await;
}

/// A pod with this `metadata` (annotations and all).
pub async fn create_pod_with(pods: &Api<Pod>, metadata: Value, node: &str) {
    let pod: Pod = serde_json::from_value(json!({
        "metadata": metadata,
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "example/app:1",
            "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}}}]},
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create pod");
}

/// Writes what a kubelet would: phase, Ready condition and the container's state.
pub async fn set_status(pods: &Api<Pod>, name: &str, ready: bool, container: Value) {
    let flag = if ready { "True" } else { "False" };
    let mut c = json!({"name": "app", "ready": ready, "restartCount": 0, "image": "example/app:1", "imageID": "",
        "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}});
    c.as_object_mut()
        .unwrap()
        .extend(container.as_object().cloned().unwrap_or_default());
    let status = json!({"status": {"phase": "Running",
        "conditions": [{"type": "Ready", "status": flag}],
        "containerStatuses": [c]}});
    pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("patch status");
}
