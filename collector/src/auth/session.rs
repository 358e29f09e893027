//! Signed-in browsers: a random session id in an HTTP-only cookie, the
//! identity kept here. A session ends after `session_idle` without a
//! request, after `session_max` in any case, on sign-out, and when the
//! OpenID provider refuses to refresh it. Sessions live in this
//! collector's memory: a restart signs everyone out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::oidc::Grant;
use super::{Identity, random_hex};

/// The session cookie's name.
pub const COOKIE: &str = "lb_session";

struct Session {
    identity: Identity,
    created_ms: i64,
    seen_ms: i64,
    /// What the OpenID provider granted, for a sign-in through it.
    grant: Option<Grant>,
    /// When to ask the provider again (with its refresh token).
    refresh_due_ms: Option<i64>,
}

/// A live session as a request finds it.
pub struct Seen {
    pub identity: Identity,
    /// A refresh token to use now: the provider's grant has run out.
    pub refresh: Option<String>,
}

/// A refresh in progress is not started again for this long.
const REFRESH_RETRY_MS: i64 = 30_000;

fn refresh_due(grant: Option<&Grant>, now_ms: i64) -> Option<i64> {
    let g = grant?;
    g.refresh_token.as_ref()?;
    Some(now_ms + g.expires_in_ms.unwrap_or(300_000).max(1_000))
}

pub struct Sessions {
    live: Mutex<HashMap<String, Session>>,
    idle_ms: i64,
    max_ms: i64,
}

impl Sessions {
    pub fn new(idle: Duration, max: Duration) -> Sessions {
        Sessions {
            live: Mutex::new(HashMap::new()),
            idle_ms: idle.as_millis() as i64,
            max_ms: max.as_millis() as i64,
        }
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a session for `identity`; returns its id.
    pub fn create(&self, identity: Identity, grant: Option<Grant>, now_ms: i64) -> String {
        let id = random_hex(32);
        let mut live = self.live();
        live.retain(|_, s| self.alive(s, now_ms));
        live.insert(
            id.clone(),
            Session {
                identity,
                created_ms: now_ms,
                seen_ms: now_ms,
                refresh_due_ms: refresh_due(grant.as_ref(), now_ms),
                grant,
            },
        );
        id
    }

    fn alive(&self, s: &Session, now_ms: i64) -> bool {
        now_ms - s.seen_ms < self.idle_ms && now_ms - s.created_ms < self.max_ms
    }

    /// A live session, which counts as a request made now; with its
    /// refresh token when the provider is to be asked again (once: the
    /// next request asks only if this one has not answered in 30 s).
    pub fn get(&self, id: &str, now_ms: i64) -> Option<Seen> {
        let mut live = self.live();
        let session = live.get_mut(id)?;
        if !self.alive(session, now_ms) {
            live.remove(id);
            return None;
        }
        session.seen_ms = now_ms;
        let refresh = match (session.refresh_due_ms, &session.grant) {
            (Some(due), Some(g)) if due <= now_ms => {
                session.refresh_due_ms = Some(now_ms + REFRESH_RETRY_MS);
                g.refresh_token.clone()
            }
            _ => None,
        };
        Some(Seen {
            identity: session.identity.clone(),
            refresh,
        })
    }

    /// The provider refreshed the sign-in: its identity (roles may have
    /// changed) and grant from now on.
    pub fn refreshed(&self, id: &str, identity: Identity, grant: Grant, now_ms: i64) {
        if let Some(s) = self.live().get_mut(id) {
            let old = s.grant.take();
            let grant = Grant {
                refresh_token: grant
                    .refresh_token
                    .or_else(|| old.as_ref().and_then(|g| g.refresh_token.clone())),
                id_token: grant.id_token.or_else(|| old.and_then(|g| g.id_token)),
                ..grant
            };
            s.refresh_due_ms = refresh_due(Some(&grant), now_ms);
            s.identity = identity;
            s.grant = Some(grant);
        }
    }

    /// Ends a session; the provider's ID token, for signing out there too.
    pub fn remove(&self, id: &str) -> Option<String> {
        self.live().remove(id)?.grant?.id_token
    }

    /// How long a new session's cookie should live.
    pub fn max_age_secs(&self) -> i64 {
        self.max_ms / 1000
    }
}

/// The value of cookie `name` in a `Cookie` header, if any.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// The session id in a `Cookie` header, if any.
pub fn from_cookie_header(header: &str) -> Option<&str> {
    cookie(header, COOKIE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Role;
    use crate::auth::IdentityKind;

    fn alice() -> Identity {
        Identity {
            name: "alice".into(),
            kind: IdentityKind::User,
            role: Role::Editor,
        }
    }

    #[test]
    fn a_session_ends_when_idle_or_old_or_removed() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(300));
        let id = sessions.create(alice(), None, 0);
        assert_eq!(id.len(), 64);
        let who = |t| sessions.get(&id, t).map(|s| s.identity);
        assert_eq!(who(59_000), Some(alice()));
        assert_eq!(who(118_000), Some(alice()), "a request keeps it alive");
        assert_eq!(who(178_001), None, "idle past a minute");
        let id = sessions.create(alice(), None, 0);
        for t in (50_000..300_000).step_by(50_000) {
            assert!(sessions.get(&id, t).is_some());
        }
        assert!(
            sessions.get(&id, 300_000).is_none(),
            "past the absolute limit"
        );
        let id = sessions.create(alice(), None, 0);
        sessions.remove(&id);
        assert!(sessions.get(&id, 1).is_none());
    }

    #[test]
    fn a_provider_grant_is_refreshed_once_when_it_runs_out() {
        let sessions = Sessions::new(Duration::from_secs(600), Duration::from_secs(3600));
        let grant = |rt: &str, id: &str| Grant {
            refresh_token: Some(rt.into()),
            id_token: Some(id.into()),
            expires_in_ms: Some(60_000),
        };
        let id = sessions.create(alice(), Some(grant("r1", "t1")), 0);
        assert_eq!(sessions.get(&id, 59_000).unwrap().refresh, None);
        assert_eq!(
            sessions.get(&id, 60_000).unwrap().refresh.as_deref(),
            Some("r1")
        );
        assert_eq!(
            sessions.get(&id, 61_000).unwrap().refresh,
            None,
            "already asked"
        );
        let viewer = Identity {
            role: Role::Viewer,
            ..alice()
        };
        let rotated = Grant {
            id_token: None,
            ..grant("r2", "")
        };
        sessions.refreshed(&id, viewer.clone(), rotated, 62_000);
        let seen = sessions.get(&id, 63_000).unwrap();
        assert_eq!(seen.identity, viewer, "the role the provider says now");
        assert_eq!(
            sessions.get(&id, 122_000).unwrap().refresh.as_deref(),
            Some("r2")
        );
        assert_eq!(
            sessions.remove(&id).as_deref(),
            Some("t1"),
            "the last ID token kept"
        );
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        assert_eq!(from_cookie_header("a=1; lb_session=abc; b=2"), Some("abc"));
        assert_eq!(from_cookie_header("lb_sessionx=abc"), None);
        assert_eq!(from_cookie_header(""), None);
    }
}
