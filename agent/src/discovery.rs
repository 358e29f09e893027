//! Kubernetes discovery: pods (and services) annotated
//! `lightbulb.io/monitor: "true"` become services without any API call.
//! Watches keep the set current; every change sends the whole set to the
//! collector (`Discover`), which adds them to its catalog, removes the ones
//! that disappeared, and assigns their checks back to this agent.
//!
//! In DaemonSet mode (`node_name` set) only pods on this node are watched,
//! and no services (they belong to no node); a cluster-scoped agent watches
//! all pods, or one namespace's.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use lightbulb_common::time::serde_duration;
use lightbulb_proto::v1;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub mod annotations;

use annotations::Object;

/// `[discovery.kubernetes]` in agent.toml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KubernetesDiscovery {
    /// Default false. Env `LIGHTBULB_DISCOVERY__KUBERNETES__ENABLED`.
    pub enabled: bool,
    /// Default: in-cluster service account, else `$KUBECONFIG` / `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// Only this namespace. Default: all.
    pub namespace: Option<String>,
    /// DaemonSet mode: only pods on this node (set it from `spec.nodeName`
    /// with `LIGHTBULB_DISCOVERY__KUBERNETES__NODE_NAME`). Default: all nodes.
    pub node_name: Option<String>,
    /// Watch annotated Services too. Default: when `node_name` is not set.
    pub services: Option<bool>,
    /// Time between runs of discovered checks. Default `30s`.
    #[serde(with = "serde_duration")]
    pub interval: Duration,
}

impl Default for KubernetesDiscovery {
    fn default() -> Self {
        KubernetesDiscovery {
            enabled: false,
            kubeconfig: None,
            context: None,
            namespace: None,
            node_name: None,
            services: None,
            interval: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscoveryConfig {
    pub kubernetes: KubernetesDiscovery,
}

pub type Found = watch::Sender<Option<Vec<v1::DiscoveredService>>>;

fn api<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

fn pod_object(p: &Pod) -> Object {
    Object {
        kind: "pod",
        namespace: p.metadata.namespace.clone().unwrap_or_default(),
        name: p.metadata.name.clone().unwrap_or_default(),
        annotations: p.metadata.annotations.clone().unwrap_or_default(),
        ip: p.status.as_ref().and_then(|s| s.pod_ip.clone()),
        port: p
            .spec
            .as_ref()
            .and_then(|s| {
                s.containers
                    .iter()
                    .flat_map(|c| c.ports.iter().flatten())
                    .next()
            })
            .map(|p| p.container_port as u16),
    }
}

fn service_object(s: &Service) -> Object {
    Object {
        kind: "service",
        namespace: s.metadata.namespace.clone().unwrap_or_default(),
        name: s.metadata.name.clone().unwrap_or_default(),
        annotations: s.metadata.annotations.clone().unwrap_or_default(),
        ip: s.spec.as_ref().and_then(|s| s.cluster_ip.clone()),
        port: s
            .spec
            .as_ref()
            .and_then(|s| s.ports.iter().flatten().next())
            .map(|p| p.port as u16),
    }
}

/// Watches until `shutdown`, publishing the discovered set on `out`.
pub async fn run(config: KubernetesDiscovery, out: Found, shutdown: CancellationToken) {
    let client = loop {
        match crate::checks::kubernetes::client(
            config.kubeconfig.as_deref(),
            config.context.as_deref(),
        )
        .await
        {
            Ok(c) => break c,
            Err(e) => {
                warn!(error = %e, "kubernetes discovery cannot start; retrying in 30s");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                    _ = shutdown.cancelled() => return,
                }
            }
        }
    };
    let ns = config.namespace.as_deref();
    let mut pod_watch = watcher::Config::default();
    if let Some(node) = &config.node_name {
        pod_watch = pod_watch.fields(&format!("spec.nodeName={node}"));
    }
    let (pods, writer) = reflector::store::<Pod>();
    let pod_events = reflector::reflector(
        writer,
        watcher(api::<Pod>(&client, ns), pod_watch).default_backoff(),
    )
    .map(|e| e.map(|_| ()).map_err(|e| e.to_string()))
    .boxed();
    let watch_services = config.services.unwrap_or(config.node_name.is_none());
    let (services, events) = if watch_services {
        let (store, writer) = reflector::store::<Service>();
        let stream = reflector::reflector(
            writer,
            watcher(api::<Service>(&client, ns), watcher::Config::default()).default_backoff(),
        )
        .map(|e| e.map(|_| ()).map_err(|e| e.to_string()));
        (
            Some(store),
            futures_util::stream::select(pod_events, stream).boxed(),
        )
    } else {
        (None, pod_events)
    };
    info!(namespace = ?ns, node = ?config.node_name, services = watch_services, "kubernetes discovery watching");
    let mut events = events;
    let mut warned = HashSet::new();
    loop {
        let next = tokio::select! {
            e = events.next() => e,
            _ = shutdown.cancelled() => return,
        };
        match next {
            None => return,
            Some(Err(e)) => warn!(error = %e, "kubernetes discovery watch error; retrying"),
            Some(Ok(())) => {
                // Stores fill during the first list; publish once it is complete.
                if unready(&pods) || services.as_ref().is_some_and(unready) {
                    continue;
                }
                let found = collect(&config, &pods, services.as_ref(), &mut warned);
                out.send_if_modified(|current| {
                    let changed = current.as_ref() != Some(&found);
                    if changed {
                        let ids: Vec<&str> = found.iter().map(|s| s.service_id.as_str()).collect();
                        info!(services = ?ids, "kubernetes discovery found");
                        *current = Some(found);
                    }
                    changed
                });
            }
        }
    }
}

/// Whether a store has not finished its first list yet.
fn unready<K: kube::Resource<DynamicType = ()> + Clone + 'static>(store: &Store<K>) -> bool {
    store.wait_until_ready().now_or_never().is_none()
}

/// The annotated objects as services, sorted by id; the first of two with
/// the same id wins. Each bad annotation is logged once.
fn collect(
    config: &KubernetesDiscovery,
    pods: &Store<Pod>,
    services: Option<&Store<Service>>,
    warned: &mut HashSet<String>,
) -> Vec<v1::DiscoveredService> {
    let pods = pods.state();
    let objects = pods.iter().map(|p| pod_object(p)).chain(
        services
            .into_iter()
            .flat_map(|s| s.state())
            .map(|s| service_object(&s)),
    );
    let mut found: BTreeMap<String, v1::DiscoveredService> = BTreeMap::new();
    for o in objects {
        match annotations::service(&o, config) {
            Ok(Some(s)) => {
                if let Some(first) = found.get(&s.service_id) {
                    let msg = format!(
                        "{} and {} both claim service id `{}`",
                        first.label, s.label, s.service_id
                    );
                    if warned.insert(msg.clone()) {
                        warn!("{msg}; keeping the first");
                    }
                    continue;
                }
                found.insert(s.service_id.clone(), s);
            }
            Ok(None) => {}
            Err(e) => {
                if warned.insert(e.clone()) {
                    warn!(error = %e, "annotated object not monitored");
                }
            }
        }
    }
    found.into_values().collect()
}
