//! Configuration as code: services and relations declared in a TOML or
//! YAML file (`[catalog] file`), with per-environment overrides
//! (`environments.rs`). The collector applies it at start (refusing to
//! start if it is invalid), again on SIGHUP and when the file changes
//! (keeping the current catalog if the new file is invalid), and reports
//! drift: what applying the file now would change.
//!
//! ```toml
//! [[services]]
//! service_id = "web"
//! label = "Web front end"
//! service_type = "api_endpoint"
//! labels = { zone = "eu" }
//! status_config = { url = "https://web.internal/health", interval = "10s" }
//!
//! [[relations]]
//! source_service_id = "shop"
//! target_service_id = "web"
//! relation_type = "dependency"
//!
//! [[alert_channels]]
//! channel_id = "ops"
//! kind = "slack"
//! url = "secret://env/SLACK_OPS_WEBHOOK"
//!
//! [[alert_rules]]
//! rule_id = "web-slow"
//! for = "2m"
//! channels = ["ops"]
//! condition = { kind = "metric", metric = "response_time_ms", aggregate = "p95", above = 500 }
//! scope = { services = ["web"] }
//! ```
//!
//! Alert channels and rules take the same fields as `POST
//! /api/alerts/channels` and `/rules` and are checked the same way (a
//! channel's values may be `secret://env/…` or `secret://file/…`,
//! read by the collector); alerting applies them (`Alerts`), all or
//! nothing with the rest of the file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::{Map, Value};
use tracing::{error, info};

use super::import::{self, Document};
use super::model::{Catalog, CatalogChange};
use super::targets::Targets;
use super::{Actor, Registry};
use crate::BoxFuture;

/// How the file stands against the catalog.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct FileState {
    #[schema(value_type = String)]
    pub file: PathBuf,
    /// `managed_by` of what the file owns.
    pub owner: String,
    /// The environment whose overrides are applied (`[catalog] environment`).
    pub environment: Option<String>,
    pub last_applied: Option<String>,
    /// Why the file on disk is not applied (it is invalid), if so.
    pub last_error: Option<String>,
    /// What applying the file now would change (empty: in sync).
    pub drift: Vec<String>,
}

/// The file's `alert_channels` and `alert_rules`, each as written.
#[derive(Debug, Default)]
pub struct AlertItems {
    pub channels: Vec<Map<String, Value>>,
    pub rules: Vec<Map<String, Value>>,
}

/// What the catalog file says besides services and relations: alert
/// channels and rules, which alerting checks and applies (the catalog
/// does not know alerting).
pub trait Alerts: Send + Sync {
    /// Every problem, each naming item and field
    /// (`alert_rules[1] (slow): condition.metric: …`); none if they are fine.
    fn check(&self, items: &AlertItems, owner: &str) -> Vec<String>;
    /// Puts them in force, replacing what `owner` held; how many changed.
    fn apply<'a>(
        &'a self,
        items: AlertItems,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<usize, String>>;
    /// What applying them now would change, one line each.
    fn drift(&self, items: &AlertItems, owner: &str) -> Vec<String>;
}

/// Reads the file into a document and its alerting part, with the
/// overrides of `environment` merged in; errors name the file.
pub fn read(path: &Path, environment: Option<&str>) -> Result<(Document, AlertItems), String> {
    let named = |e: String| format!("catalog file `{}`: {e}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| named(e.to_string()))?;
    let mut json = super::environments::parse(path, &text).map_err(named)?;
    super::environments::select(&mut json, environment).map_err(named)?;
    let mut tables = |key: &str| match json.as_object_mut().and_then(|top| top.remove(key)) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(m) => Ok(m),
                _ => Err(named(format!("{key}[{i}] must be a table"))),
            })
            .collect(),
        Some(_) => Err(named(format!("`{key}` must be an array of tables"))),
    };
    let alerts = AlertItems {
        channels: tables("alert_channels")?,
        rules: tables("alert_rules")?,
    };
    let doc = import::from_json(json).map_err(named)?;
    Ok((doc, alerts))
}

/// A file judged by `catalog check`: what it declares once in force.
#[derive(Debug)]
pub struct Checked {
    pub services: usize,
    pub relations: usize,
    pub channels: usize,
    pub rules: usize,
    /// The effective catalog (the environment's overrides merged) as a
    /// catalog file, in TOML.
    pub effective: String,
}

/// Judges the file as the collector would apply it to an empty catalog;
/// `alerts` judges the alerting part. The error lists every problem.
pub fn check(
    path: &Path,
    environment: Option<&str>,
    targets: &Targets,
    alerts: impl Fn(&AlertItems, &str) -> Vec<String>,
) -> Result<Checked, String> {
    let (doc, items) = read(path, environment)?;
    let owner = super::owner::file(path);
    let mut problems: Vec<String> = alerts(&items, &owner)
        .into_iter()
        .map(|p| format!("catalog file `{}`: {p}", path.display()))
        .collect();
    let now = lightbulb_common::time::now_ms();
    let plan = import::plan(&Catalog::default(), doc, Some(&owner), targets, now);
    if !plan.problems.is_empty() {
        problems.push(describe(&plan.problems, path));
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    let mut after = Catalog::default();
    after.apply(&plan.changes);
    let mut effective = import::export(&after);
    effective["alert_channels"] = Value::from(items.channels.clone());
    effective["alert_rules"] = Value::from(items.rules.clone());
    let effective = toml::to_string_pretty(&without_nulls(effective))
        .map_err(|e| format!("cannot write TOML: {e}"))?;
    Ok(Checked {
        services: after.services.len(),
        relations: after.relations.len(),
        channels: items.channels.len(),
        rules: items.rules.len(),
        effective,
    })
}

/// TOML has no null: absent keys stand for it.
pub fn without_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => m
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k, without_nulls(v)))
            .collect(),
        Value::Array(a) => Value::Array(a.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

fn describe(problems: &[import::Problem], path: &Path) -> String {
    problems
        .iter()
        .map(|p| format!("catalog file `{}`: {p}", path.display()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What applying `doc` would change, one line per change.
fn drift(catalog: &Catalog, doc: Document, owner: &str, targets: &Targets) -> Vec<String> {
    let now = lightbulb_common::time::now_ms();
    let plan = import::plan(catalog, doc, Some(owner), targets, now);
    plan.changes
        .iter()
        .map(|c| match c {
            CatalogChange::PutService(s) => {
                let verb = if catalog.services.contains_key(&s.service_id) {
                    "update"
                } else {
                    "create"
                };
                format!("{verb} service `{}`", s.service_id)
            }
            CatalogChange::DeleteService(id) => {
                format!("delete service `{id}`")
            }
            CatalogChange::PutRelation(r) => {
                let verb = if catalog.relations.contains_key(&r.relation_id) {
                    "update"
                } else {
                    "create"
                };
                format!(
                    "{verb} relation {} → {} ({})",
                    r.source_service_id, r.target_service_id, r.relation_type
                )
            }
            CatalogChange::DeleteRelation(id) => {
                format!("delete relation `{id}`")
            }
        })
        .collect()
}

pub struct CatalogFile {
    path: PathBuf,
    environment: Option<String>,
    state: Mutex<FileState>,
}

impl CatalogFile {
    pub fn new(path: PathBuf, environment: Option<String>) -> CatalogFile {
        CatalogFile {
            state: Mutex::new(FileState {
                file: path.clone(),
                owner: super::owner::file(&path),
                environment: environment.clone(),
                ..FileState::default()
            }),
            path,
            environment,
        }
    }

    fn read(&self) -> Result<(Document, AlertItems), String> {
        read(&self.path, self.environment.as_deref())
    }

    /// Applies the file all or nothing; the error lists every problem.
    pub async fn apply(&self, catalog: &Registry, alerts: &dyn Alerts) -> Result<(), String> {
        let owner = super::owner::file(&self.path);
        let outcome = match self.read() {
            Err(e) => Err(e),
            Ok((doc, items)) => self.apply_read(catalog, alerts, &owner, doc, items).await,
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match outcome {
            Ok((created, updated, deleted, alerting)) => {
                info!(file = %self.path.display(), created, updated, deleted, alerting, "catalog file applied");
                state.last_applied = Some(lightbulb_common::time::format_iso(
                    lightbulb_common::time::now_ms(),
                ));
                state.last_error = None;
                Ok(())
            }
            Err(e) => {
                state.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    async fn apply_read(
        &self,
        catalog: &Registry,
        alerts: &dyn Alerts,
        owner: &str,
        doc: Document,
        items: AlertItems,
    ) -> Result<(usize, usize, usize, usize), String> {
        let named: Vec<String> = alerts
            .check(&items, owner)
            .into_iter()
            .map(|p| format!("catalog file `{}`: {p}", self.path.display()))
            .collect();
        if !named.is_empty() {
            return Err(named.join("\n"));
        }
        let actor = Actor::named(owner.to_string());
        let plan = catalog
            .import(&actor, "apply catalog file", doc, Some(owner), false)
            .await
            .map_err(|e| e.to_string())?;
        if !plan.problems.is_empty() {
            return Err(describe(&plan.problems, &self.path));
        }
        let changed = alerts.apply(items, owner).await?;
        Ok((plan.created, plan.updated, plan.deleted, changed))
    }

    /// The file's standing now, drift included.
    pub fn status(&self, catalog: &Registry, alerts: &dyn Alerts) -> FileState {
        let mut out = self.state.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match self.read() {
            Ok((doc, items)) => {
                let targets = catalog.targets();
                out.drift = catalog.read(|c| drift(c, doc, &out.owner, targets));
                out.drift.extend(alerts.drift(&items, &out.owner));
            }
            Err(e) => out.last_error = Some(e),
        }
        out
    }

    /// Re-applies the file on SIGHUP and when its modification time changes.
    pub async fn watch(
        &self,
        catalog: &Registry,
        alerts: &dyn Alerts,
        shutdown: tokio_util::sync::CancellationToken,
    ) {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(s) => Some(s),
            Err(e) => {
                error!(error = %e, "cannot watch SIGHUP; the catalog file is still re-read when it changes");
                None
            }
        };
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let mut seen: Option<SystemTime> = modified(&self.path);
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            let reason = tokio::select! {
                _ = shutdown.cancelled() => return,
                Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => None } } => "SIGHUP",
                _ = tick.tick() => {
                    let now = modified(&self.path);
                    if now == seen { continue; }
                    seen = now;
                    "file changed"
                }
            };
            info!(file = %self.path.display(), reason, "re-reading the catalog file");
            if let Err(e) = self.apply(catalog, alerts).await {
                error!(error = %e, "catalog file not applied; the catalog stays as it was");
            }
        }
    }
}
