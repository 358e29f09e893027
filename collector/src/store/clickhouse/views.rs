//! Saved views on ClickHouse: every change is a row with a higher version
//! (a deletion too, marked); reads keep the newest row per view.

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use super::ClickHouseStore;
use super::query::Ch;
use crate::views::{SavedView, ViewStore};
use crate::{BoxFuture, Error, Result};

#[derive(Debug, Row, Serialize, Deserialize)]
struct ViewRow {
    view_id: String,
    owner: String,
    body: String,
    deleted: u8,
    version: u64,
}

impl ViewStore for ClickHouseStore {
    fn views(&self) -> BoxFuture<'_, Result<Vec<SavedView>>> {
        Box::pin(read(&self.ch))
    }

    fn put_view(&self, view: SavedView) -> BoxFuture<'static, Result<()>> {
        let ch = self.ch.clone();
        // The version is taken now, so changes apply in call order.
        let row = ViewRow {
            view_id: view.view_id.clone(),
            owner: view.owner.clone(),
            body: serde_json::to_string(&view).expect("views serialize"),
            deleted: 0,
            version: self.versions.next(),
        };
        Box::pin(async move { ch.insert("saved_views", &[row]).await })
    }

    fn delete_view(&self, view_id: String) -> BoxFuture<'static, Result<()>> {
        let ch = self.ch.clone();
        let row = ViewRow {
            view_id,
            owner: String::new(),
            body: String::new(),
            deleted: 1,
            version: self.versions.next(),
        };
        Box::pin(async move { ch.insert("saved_views", &[row]).await })
    }
}

async fn read(ch: &Ch) -> Result<Vec<SavedView>> {
    let sql = format!(
        "SELECT ?fields FROM {t} WHERE (view_id, version) IN \
         (SELECT view_id, max(version) FROM {t} GROUP BY view_id) ORDER BY view_id",
        t = ch.t("saved_views")
    );
    let rows: Vec<ViewRow> = ch
        .call("saved views", ch.client.query(&sql).fetch_all())
        .await?;
    rows.iter()
        .filter(|r| r.deleted == 0)
        .map(|r| {
            serde_json::from_str(&r.body)
                .map_err(|e| Error::internal(format!("saved view {}: {e}", r.view_id)))
        })
        .collect()
}
