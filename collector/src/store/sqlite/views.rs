//! Saved views on SQLite: one row per view, the view as JSON.

use rusqlite::params;

use super::SqliteStore;
use super::writer::WriteOp;
use crate::views::{SavedView, ViewStore};
use crate::{BoxFuture, Error, Result};

impl ViewStore for SqliteStore {
    fn views(&self) -> BoxFuture<'_, Result<Vec<SavedView>>> {
        self.read(|c| {
            let bodies = c
                .prepare_cached("SELECT body FROM saved_views ORDER BY view_id")?
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            bodies
                .iter()
                .map(|b| {
                    serde_json::from_str(b).map_err(|e| Error::internal(format!("saved view: {e}")))
                })
                .collect()
        })
    }

    fn put_view(&self, view: SavedView) -> BoxFuture<'static, Result<()>> {
        let apply = Box::new(move |tx: &rusqlite::Transaction<'_>| {
            let body = serde_json::to_string(&view).expect("views serialize");
            tx.prepare_cached(
                "INSERT OR REPLACE INTO saved_views (view_id, owner, body) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![view.view_id, view.owner, body])?;
            Ok(())
        });
        self.submit(move |reply| WriteOp::Apply { apply, reply })
    }

    fn delete_view(&self, view_id: String) -> BoxFuture<'static, Result<()>> {
        let apply = Box::new(move |tx: &rusqlite::Transaction<'_>| {
            tx.execute(
                "DELETE FROM saved_views WHERE view_id = ?1",
                params![view_id],
            )?;
            Ok(())
        });
        self.submit(move |reply| WriteOp::Apply { apply, reply })
    }
}
