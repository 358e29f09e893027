//! `lightbulb-collector backup` and `restore`.
//!
//! - SQLite store: `backup` writes a consistent copy of the whole database
//!   (catalog, results, alerting, audit, tokens) while the collector runs
//!   (`VACUUM INTO`: one read transaction, so every result committed
//!   before it and none after); `restore` checks a copy and puts it in the
//!   store's place (the collector stopped).
//! - Any store: `backup --catalog-only` (the only kind for ClickHouse,
//!   whose results ClickHouse's own `BACKUP` keeps) writes the catalog as
//!   the JSON import document; `restore` of such a file imports it.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::catalog::import;
use crate::config::{CollectorConfig, StoreKind};
use crate::{Error, Result};

const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

fn sqlite_file(path: &Path) -> bool {
    let mut head = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && head == SQLITE_MAGIC
}

/// "12 services, 3 relations, 4,812 results" of a SQLite database.
fn summary(conn: &Connection) -> Result<String> {
    let count = |table: &str| -> Result<i64> {
        Ok(conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
    };
    Ok(format!(
        "{} services, {} relations, {} results",
        count("services")?,
        count("relations")?,
        count("results")?
    ))
}

fn check(conn: &Connection, path: &Path) -> Result<()> {
    let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if verdict == "ok" {
        Ok(())
    } else {
        Err(Error::internal(format!(
            "`{}` fails its integrity check: {verdict}",
            path.display()
        )))
    }
}

/// Writes the backup to `out` (which must not exist); what it holds.
pub async fn backup(config: &CollectorConfig, out: &Path, catalog_only: bool) -> Result<String> {
    if out.exists() {
        return Err(Error::invalid(
            "--out",
            format!("`{}` exists; backups never overwrite", out.display()),
        ));
    }
    if catalog_only || config.store.kind == StoreKind::Clickhouse {
        return backup_catalog(config, out).await;
    }
    let path = config.store.path.clone();
    if !sqlite_file(&path) {
        return Err(Error::invalid(
            "store.path",
            format!("`{}` is not a lightbulb SQLite store", path.display()),
        ));
    }
    let out = out.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.execute("VACUUM INTO ?1", [out.to_string_lossy().as_ref()])?;
        let copy = Connection::open_with_flags(&out, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        check(&copy, &out)?;
        summary(&copy)
    })
    .await
    .map_err(|e| Error::internal(format!("backup task: {e}")))?
}

async fn backup_catalog(config: &CollectorConfig, out: &Path) -> Result<String> {
    let store = crate::open_store(config).await?;
    let registry = crate::catalog::Registry::load(store).await?;
    let (doc, counts) = registry.read(|c| {
        (
            import::export(c),
            format!(
                "{} services, {} relations (catalog only)",
                c.services.len(),
                c.relations.len()
            ),
        )
    });
    let text = serde_json::to_string_pretty(&doc).expect("the export serializes");
    std::fs::write(out, text)
        .map_err(|e| Error::internal(format!("cannot write `{}`: {e}", out.display())))?;
    Ok(counts)
}

/// Restores `from` into the configured store. A SQLite copy replaces the
/// store's file (only with `force` if one exists; stop the collector
/// first); a catalog backup is imported into any store.
pub async fn restore(config: &CollectorConfig, from: &Path, force: bool) -> Result<String> {
    if !from.is_file() {
        return Err(Error::invalid(
            "--from",
            format!("`{}` is not a file", from.display()),
        ));
    }
    if !sqlite_file(from) {
        return restore_catalog(config, from).await;
    }
    if config.store.kind != StoreKind::Sqlite {
        return Err(Error::invalid(
            "store.kind",
            "a SQLite backup restores into a SQLite store; for ClickHouse, restore its tables with ClickHouse's RESTORE and the catalog from a `--catalog-only` backup",
        ));
    }
    let target = config.store.path.clone();
    if target.exists() && !force {
        return Err(Error::invalid(
            "store.path",
            format!(
                "`{}` exists; stop the collector and pass --force to replace it",
                target.display()
            ),
        ));
    }
    let from = from.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let summary = {
            let conn = Connection::open_with_flags(&from, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            check(&conn, &from)?;
            summary(&conn)?
        };
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::internal(format!("cannot create `{}`: {e}", dir.display())))?;
        }
        let staged = sibling(&target, ".restoring");
        std::fs::copy(&from, &staged)
            .map_err(|e| Error::internal(format!("cannot write `{}`: {e}", staged.display())))?;
        // The old write-ahead log belongs to the old file.
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(sibling(&target, suffix));
        }
        std::fs::rename(&staged, &target)
            .map_err(|e| Error::internal(format!("cannot replace `{}`: {e}", target.display())))?;
        Ok(summary)
    })
    .await
    .map_err(|e| Error::internal(format!("restore task: {e}")))?
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

async fn restore_catalog(config: &CollectorConfig, from: &Path) -> Result<String> {
    let text = std::fs::read_to_string(from)
        .map_err(|e| Error::internal(format!("cannot read `{}`: {e}", from.display())))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::invalid(
            "--from",
            format!(
                "`{}` is neither a SQLite backup nor catalog JSON: {e}",
                from.display()
            ),
        )
    })?;
    let doc = import::from_json(value).map_err(|e| Error::invalid("--from", e))?;
    let store = crate::open_store(config).await?;
    let registry = crate::catalog::Registry::load(store).await?;
    let actor = crate::catalog::Actor::named("restore".to_string());
    let plan = registry
        .import(&actor, "restore catalog backup", doc, None, false)
        .await?;
    if !plan.problems.is_empty() {
        let lines: Vec<String> = plan.problems.iter().map(|p| p.to_string()).collect();
        return Err(Error::invalid("--from", lines.join("; ")));
    }
    Ok(format!(
        "catalog restored: {} created, {} updated, {} deleted",
        plan.created, plan.updated, plan.deleted
    ))
}
