//! API token records in SQLite.

use rusqlite::{Connection, Transaction, params};

use crate::Result;
use crate::access::Scope;
use crate::auth::token::TokenRecord;

pub(super) fn put(tx: &Transaction<'_>, t: &TokenRecord) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO api_tokens (token_id, name, scope, created_by, created_at,
            expires_at, revoked_at, last_used_at, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        t.token_id,
        t.name,
        t.scope.as_str(),
        t.created_by,
        t.created_ms,
        t.expires_ms,
        t.revoked_ms,
        t.last_used_ms,
        t.hash
    ])?;
    Ok(())
}

pub(super) fn read(c: &Connection) -> Result<Vec<TokenRecord>> {
    let mut stmt = c.prepare_cached(
        "SELECT token_id, name, scope, created_by, created_at, expires_at, revoked_at,
            last_used_at, hash FROM api_tokens",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(TokenRecord {
            token_id: r.get(0)?,
            name: r.get(1)?,
            scope: super::kind(r, 2, Scope::parse)?,
            created_by: r.get(3)?,
            created_ms: r.get(4)?,
            expires_ms: r.get(5)?,
            revoked_ms: r.get(6)?,
            last_used_ms: r.get(7)?,
            hash: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
