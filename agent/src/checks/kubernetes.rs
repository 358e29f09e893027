//! `kubernetes_pod`: pods by label selector, name or deployment, kept up to
//! date by watches (reflectors) started on the first run, never by polling
//! lists. Each run reads the watched state: phase, readiness, container
//! states, restarts and last termination reasons, ready/desired; CPU and
//! memory against limits where the metrics API answers; recent Warning
//! events and probe failures (`probes.rs`); each claim volume's capacity and
//! use (`storage.rs`); restarts by reason as metrics; and on failure the
//! last log lines of the failing container.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use lightbulb_common::Status;
use serde_json::{Value, json};
use tokio::task::AbortHandle;

pub use lightbulb_common::spec::KubernetesSpec;

use super::{BoxFuture, Check, Outcome, summarize, timed};

mod pods;
mod probes;
mod restarts;
mod storage;
mod usage;

/// A client from a kubeconfig (and context), or inferred: in-cluster first,
/// then `$KUBECONFIG` / `~/.kube/config`.
pub async fn client(
    kubeconfig: Option<&std::path::Path>,
    context: Option<&str>,
) -> Result<Client, String> {
    client_and_url(kubeconfig, context).await.map(|(c, _)| c)
}

/// The client and the API server's URL.
pub async fn client_and_url(
    kubeconfig: Option<&std::path::Path>,
    context: Option<&str>,
) -> Result<(Client, String), String> {
    let options = kube::config::KubeConfigOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    let config = match kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| format!("cannot read kubeconfig {}: {e}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?
        }
        None if context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| format!("kubeconfig: {e}"))?,
        None => kube::Config::infer()
            .await
            .map_err(|e| format!("no Kubernetes configuration found: {e}"))?,
    };
    let url = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|e| format!("Kubernetes client: {e}"))?;
    Ok((client, url))
}

/// The last error of a watch, cleared when it works again.
pub type LastError = Arc<Mutex<Option<String>>>;

/// Keeps `store` filled from a watch until aborted.
fn reflect<K>(
    api: Api<K>,
    config: watcher::Config,
    last_error: LastError,
) -> (Store<K>, AbortHandle)
where
    K: Resource<DynamicType = ()> + Clone + std::fmt::Debug + Send + Sync + 'static,
    K: serde::de::DeserializeOwned,
{
    let (store, writer) = reflector::store();
    let stream =
        reflector::reflector(writer, watcher(api, config).default_backoff()).applied_objects();
    let task = tokio::spawn(async move {
        stream
            .for_each(|r| {
                let mut last = last_error.lock().unwrap_or_else(|e| e.into_inner());
                match r {
                    Err(e) => {
                        tracing::debug!(error = %e, "kubernetes watch error; retrying");
                        *last = Some(e.to_string());
                    }
                    Ok(_) => *last = None,
                }
                std::future::ready(())
            })
            .await;
    });
    (store, task.abort_handle())
}

struct Watch {
    client: Client,
    url: String,
    last_error: LastError,
    pods: Store<Pod>,
    events: Store<Event>,
    deployment: Option<Store<Deployment>>,
    /// The namespace's persistent volume claims, for the pods' claim volumes.
    claims: Store<PersistentVolumeClaim>,
    tasks: Vec<AbortHandle>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

pub struct KubernetesCheck {
    spec: KubernetesSpec,
    watch: Option<Watch>,
    /// Restart count per `pod/container` at the previous run.
    restarts: HashMap<String, i32>,
    /// Runs to skip before asking the metrics API again after it was missing.
    metrics_backoff: u32,
}

impl KubernetesCheck {
    pub fn new(spec: KubernetesSpec) -> KubernetesCheck {
        KubernetesCheck {
            spec,
            watch: None,
            restarts: HashMap::new(),
            metrics_backoff: 0,
        }
    }

    async fn start(&self) -> Result<Watch, String> {
        let s = &self.spec;
        let (client, url) = client_and_url(s.kubeconfig.as_deref(), s.context.as_deref()).await?;
        let last_error = LastError::default();
        let ns = s.namespace.as_str();
        let mut tasks = Vec::new();
        let mut deployment = None;
        let config = if let Some(name) = &s.pod {
            watcher::Config::default().fields(&format!("metadata.name={name}"))
        } else if let Some(sel) = &s.selector {
            watcher::Config::default().labels(sel)
        } else {
            let name = s.deployment.as_deref().unwrap_or_default();
            let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
            let d = api
                .get(name)
                .await
                .map_err(|e| format!("deployment {ns}/{name}: {e}"))?;
            let selector = d
                .spec
                .map(|s| s.selector)
                .ok_or_else(|| format!("deployment {ns}/{name} has no selector"))?;
            let selector: kube::core::Selector = selector
                .try_into()
                .map_err(|e| format!("deployment {ns}/{name}: selector: {e}"))?;
            let (store, task) = reflect(
                api,
                watcher::Config::default().fields(&format!("metadata.name={name}")),
                last_error.clone(),
            );
            tasks.push(task);
            deployment = Some(store);
            watcher::Config::default().labels_from(&selector)
        };
        let (pods, task) = reflect(
            Api::<Pod>::namespaced(client.clone(), ns),
            config,
            last_error.clone(),
        );
        tasks.push(task);
        let (claims, task) = reflect(
            Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns),
            watcher::Config::default(),
            last_error.clone(),
        );
        tasks.push(task);
        let (events, task) = reflect(
            Api::<Event>::namespaced(client.clone(), ns),
            watcher::Config::default().fields("type=Warning,involvedObject.kind=Pod"),
            last_error.clone(),
        );
        tasks.push(task);
        Ok(Watch {
            client,
            url,
            last_error,
            pods,
            events,
            deployment,
            claims,
            tasks,
        })
    }

    /// Waits a little for the first lists of a new watch.
    async fn ready(watch: &Watch) -> bool {
        let ready = async {
            watch.pods.wait_until_ready().await.ok();
            watch.events.wait_until_ready().await.ok();
            if let Some(d) = &watch.deployment {
                d.wait_until_ready().await.ok();
            }
        };
        tokio::time::timeout(Duration::from_secs(5), ready)
            .await
            .is_ok()
    }

    async fn inspect(&mut self) -> Outcome {
        if self.watch.is_none() {
            match self.start().await {
                Ok(w) => self.watch = Some(w),
                Err(e) => {
                    let mut o = Outcome::failed(e.clone());
                    o.details = json!({"namespace": self.spec.namespace, "error": e});
                    return o;
                }
            }
        }
        let watch = self.watch.as_ref().expect("started");
        if !Self::ready(watch).await {
            let error = watch
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let mut o = Outcome::failed(format!(
                "the Kubernetes API at {} has not listed pods in namespace `{}` yet: {}",
                watch.url,
                self.spec.namespace,
                error.as_deref().unwrap_or("no answer")
            ));
            o.details = json!({"namespace": self.spec.namespace, "error": error});
            return o;
        }
        let mut pods: Vec<Pod> = watch.pods.state().iter().map(|p| (**p).clone()).collect();
        pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        let desired = match (&watch.deployment, &self.spec.pod) {
            (Some(d), _) => d
                .state()
                .first()
                .map(|d| d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1) as u32),
            (None, Some(_)) => Some(1),
            (None, None) => self.spec.desired,
        };
        let mut findings = Vec::new();
        let mut details = serde_json::Map::new();
        let mut outcome = Outcome::new(Status::Ok, "");
        let seen = pods::evaluate(
            &self.spec,
            &pods,
            desired,
            &mut self.restarts,
            &mut findings,
            &mut details,
        );
        for (key, v) in [
            ("pods", seen.pods),
            ("ready", seen.ready),
            ("desired", seen.desired),
            ("restarts", seen.restarts),
        ] {
            outcome.metrics.extra.insert(key.into(), v as f64);
        }
        let events = watch.events.state();
        details.insert(
            "events".into(),
            pods::warning_events(&self.spec, &events, &pods),
        );
        let since = lightbulb_common::time::now_ms() - self.spec.events_window.as_millis() as i64;
        details.insert(
            "probes".into(),
            probes::failures(&events, &pods, since, &mut findings),
        );
        // Not waited for: a check whose role may not list claims still runs.
        let claims = watch
            .claims
            .wait_until_ready()
            .now_or_never()
            .map(|_| watch.claims.state());
        details.insert(
            "storage".into(),
            storage::check(
                &watch.client,
                &self.spec,
                &pods,
                claims.as_deref(),
                &mut findings,
            )
            .await,
        );
        outcome
            .metrics
            .extra
            .extend(restarts::restarts_by_reason(&pods));
        if self.metrics_backoff > 0 {
            self.metrics_backoff -= 1;
            details.insert(
                "usage".into(),
                json!("the metrics API (metrics.k8s.io) is not available"),
            );
        } else {
            let found = usage::check(
                &watch.client,
                &self.spec,
                &pods,
                &mut findings,
                &mut outcome.metrics,
            )
            .await;
            if found.is_none() {
                self.metrics_backoff = 10;
            }
            details.insert(
                "usage".into(),
                found.unwrap_or_else(|| json!("the metrics API (metrics.k8s.io) is not available")),
            );
        }
        summarize(
            &mut outcome,
            &findings,
            || format!("{} of {} pods ready", seen.ready, seen.desired),
            &mut details,
        );
        if seen.pods == 0 {
            // Scaled to zero on purpose, or nothing to say how many there should be.
            (outcome.status, outcome.message) = match (desired, &self.spec.deployment) {
                (Some(0), Some(d)) => (
                    Status::Stopped,
                    format!("deployment {}/{d} is scaled to 0", self.spec.namespace),
                ),
                (Some(0), None) => (Status::Stopped, "no pod is desired (desired = 0)".into()),
                (None, _) => (
                    Status::Failed,
                    format!("no pod matches in namespace {}", self.spec.namespace),
                ),
                _ => (outcome.status, std::mem::take(&mut outcome.message)),
            };
        }
        if outcome.status == Status::Failed
            && let Some((pod, container)) = seen.failing
        {
            let logs = pods::log_tail(&watch.client, &self.spec, &pod, &container).await;
            details.insert("logs".into(), logs);
        }
        outcome.details = Value::Object(details);
        outcome
    }
}

impl Check for KubernetesCheck {
    fn run(&mut self) -> BoxFuture<'_, Outcome> {
        timed(self.inspect())
    }
}
