//! Signed-in browsers: a random session id in an HTTP-only cookie, the
//! identity kept here. A session ends after `session_idle` without a
//! request, after `session_max` in any case, and on sign-out. Sessions
//! live in this collector's memory: a restart signs everyone out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::{Identity, random_hex};

/// The session cookie's name.
pub const COOKIE: &str = "lb_session";

struct Session {
    identity: Identity,
    created_ms: i64,
    seen_ms: i64,
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
    pub fn create(&self, identity: Identity, now_ms: i64) -> String {
        let id = random_hex(32);
        let mut live = self.live();
        live.retain(|_, s| self.alive(s, now_ms));
        live.insert(
            id.clone(),
            Session {
                identity,
                created_ms: now_ms,
                seen_ms: now_ms,
            },
        );
        id
    }

    fn alive(&self, s: &Session, now_ms: i64) -> bool {
        now_ms - s.seen_ms < self.idle_ms && now_ms - s.created_ms < self.max_ms
    }

    /// The identity of a live session, which counts as a request made now.
    pub fn get(&self, id: &str, now_ms: i64) -> Option<Identity> {
        let mut live = self.live();
        let session = live.get_mut(id)?;
        if !self.alive(session, now_ms) {
            live.remove(id);
            return None;
        }
        session.seen_ms = now_ms;
        Some(session.identity.clone())
    }

    pub fn remove(&self, id: &str) {
        self.live().remove(id);
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
        let id = sessions.create(alice(), 0);
        assert_eq!(id.len(), 64);
        assert_eq!(sessions.get(&id, 59_000), Some(alice()));
        assert_eq!(
            sessions.get(&id, 118_000),
            Some(alice()),
            "a request keeps it alive"
        );
        assert_eq!(sessions.get(&id, 178_001), None, "idle past a minute");
        let id = sessions.create(alice(), 0);
        for t in (50_000..300_000).step_by(50_000) {
            assert!(sessions.get(&id, t).is_some());
        }
        assert_eq!(sessions.get(&id, 300_000), None, "past the absolute limit");
        let id = sessions.create(alice(), 0);
        sessions.remove(&id);
        assert_eq!(sessions.get(&id, 1), None);
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        assert_eq!(from_cookie_header("a=1; lb_session=abc; b=2"), Some("abc"));
        assert_eq!(from_cookie_header("lb_sessionx=abc"), None);
        assert_eq!(from_cookie_header(""), None);
    }
}
