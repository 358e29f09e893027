//! Configuration as code: services and relations declared in a TOML file
//! (`[catalog] file`). The collector applies it at start (refusing to
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
//! ```

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tracing::{error, info};

use super::import::{self, Document};
use super::model::{Catalog, CatalogChange};
use super::targets::Targets;
use super::{Actor, Registry};

/// How the file stands against the catalog.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct FileState {
    #[schema(value_type = String)]
    pub file: PathBuf,
    /// `managed_by` of what the file owns.
    pub owner: String,
    pub last_applied: Option<String>,
    /// Why the file on disk is not applied (it is invalid), if so.
    pub last_error: Option<String>,
    /// What applying the file now would change (empty: in sync).
    pub drift: Vec<String>,
}

/// Reads the file into a document; errors name the file.
pub fn read(path: &Path) -> Result<Document, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("catalog file `{}`: {e}", path.display()))?;
    let value: toml::Value =
        toml::from_str(&text).map_err(|e| format!("catalog file `{}`: {e}", path.display()))?;
    let json = serde_json::to_value(value)
        .map_err(|e| format!("catalog file `{}`: {e}", path.display()))?;
    import::from_json(json).map_err(|e| format!("catalog file `{}`: {e}", path.display()))
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
    state: Mutex<FileState>,
}

impl CatalogFile {
    pub fn new(path: PathBuf) -> CatalogFile {
        CatalogFile {
            state: Mutex::new(FileState {
                file: path.clone(),
                owner: super::owner::file(&path),
                ..FileState::default()
            }),
            path,
        }
    }

    /// Applies the file all or nothing; the error lists every problem.
    pub async fn apply(&self, catalog: &Registry) -> Result<(), String> {
        let owner = super::owner::file(&self.path);
        let outcome = match read(&self.path) {
            Err(e) => Err(e),
            Ok(doc) => {
                let actor = Actor::named(owner.clone());
                match catalog
                    .import(&actor, "apply catalog file", doc, Some(&owner), false)
                    .await
                {
                    Err(e) => Err(e.to_string()),
                    Ok(plan) if !plan.problems.is_empty() => {
                        Err(describe(&plan.problems, &self.path))
                    }
                    Ok(plan) => Ok((plan.created, plan.updated, plan.deleted)),
                }
            }
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match outcome {
            Ok((created, updated, deleted)) => {
                info!(file = %self.path.display(), created, updated, deleted, "catalog file applied");
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

    /// The file's standing now, drift included.
    pub fn status(&self, catalog: &Registry) -> FileState {
        let mut out = self.state.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match read(&self.path) {
            Ok(doc) => {
                let targets = catalog.targets();
                out.drift = catalog.read(|c| drift(c, doc, &out.owner, targets));
            }
            Err(e) => out.last_error = Some(e),
        }
        out
    }

    /// Re-applies the file on SIGHUP and when its modification time changes.
    pub async fn watch(&self, catalog: &Registry, shutdown: tokio_util::sync::CancellationToken) {
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
            if let Err(e) = self.apply(catalog).await {
                error!(error = %e, "catalog file not applied; the catalog stays as it was");
            }
        }
    }
}
