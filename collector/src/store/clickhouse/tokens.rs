//! API token records on ClickHouse: every change (made, used, revoked) is a
//! row with a higher version; reads keep the newest row per token.

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use super::query::{Ch, kind};
use crate::Result;
use crate::access::Scope;
use crate::auth::token::TokenRecord;

#[derive(Debug, Row, Serialize, Deserialize)]
struct TokenRow {
    token_id: String,
    name: String,
    scope: String,
    created_by: String,
    created_at: i64,
    expires_at: i64,
    /// 0: not revoked.
    revoked_at: i64,
    /// 0: never used.
    last_used_at: i64,
    hash: String,
    version: u64,
}

pub(super) async fn put(ch: &Ch, version: u64, t: &TokenRecord) -> Result<()> {
    let row = TokenRow {
        token_id: t.token_id.clone(),
        name: t.name.clone(),
        scope: t.scope.as_str().to_string(),
        created_by: t.created_by.clone(),
        created_at: t.created_ms,
        expires_at: t.expires_ms,
        revoked_at: t.revoked_ms.unwrap_or(0),
        last_used_at: t.last_used_ms.unwrap_or(0),
        hash: t.hash.clone(),
        version,
    };
    ch.insert("api_tokens", &[row]).await
}

pub(super) async fn read(ch: &Ch) -> Result<Vec<TokenRecord>> {
    let sql = format!(
        "SELECT ?fields FROM {t} WHERE (token_id, version) IN (SELECT token_id, max(version) FROM {t} GROUP BY token_id)",
        t = ch.t("api_tokens")
    );
    let rows: Vec<TokenRow> = ch
        .call("api tokens", ch.client.query(&sql).fetch_all())
        .await?;
    let some = |ms: i64| (ms != 0).then_some(ms);
    rows.into_iter()
        .map(|r| {
            Ok(TokenRecord {
                scope: kind(&r.token_id, &r.scope, Scope::parse)?,
                token_id: r.token_id,
                name: r.name,
                created_by: r.created_by,
                created_ms: r.created_at,
                expires_ms: r.expires_at,
                revoked_ms: some(r.revoked_at),
                last_used_ms: some(r.last_used_at),
                hash: r.hash,
            })
        })
        .collect()
}
