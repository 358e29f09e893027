//! Who an agent is, and whether it is let in: the names in its verified
//! client certificate must include the agent id it gives, and neither the id
//! nor the certificate's serial may be in `grpc.deny_agents_file` (one per
//! line, `serial:01ab…` in hex, `#` starts a comment). That file is read
//! again whenever it changes and checked at every call and at every message
//! of a stream, so an agent denied while connected is cut off at its next
//! batch or heartbeat, without a restart.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use tonic::{Request, Status};
use tracing::{info, warn};

/// What the peer's verified client certificate says.
pub struct Peer {
    pub names: Vec<String>,
    /// The certificate's serial, hex.
    pub serial: Option<String>,
}

/// The peer of a request.
pub fn peer<T>(request: &Request<T>) -> Result<Peer, Status> {
    let certs = request
        .peer_certs()
        .ok_or_else(|| Status::unauthenticated("a client certificate is required"))?;
    let leaf = certs
        .first()
        .ok_or_else(|| Status::unauthenticated("a client certificate is required"))?;
    let names = lightbulb_common::tls::certificate_names(leaf)
        .map_err(|e| Status::unauthenticated(e.to_string()))?;
    Ok(Peer {
        names,
        serial: lightbulb_common::tls::certificate_serial_hex(leaf.as_ref()),
    })
}

/// Whether a certificate naming `names` may speak as `agent_id`. A name
/// `*.SUFFIX` (one certificate shared by a DaemonSet's agents, each
/// `<node>.SUFFIX`) covers every id that ends in `.SUFFIX`.
pub fn authorize(names: &[String], agent_id: &str) -> Result<(), Status> {
    if agent_id.is_empty() {
        return Err(Status::invalid_argument("agent_id is empty"));
    }
    let covers = |name: &String| match name.strip_prefix('*') {
        Some(suffix) => {
            suffix.starts_with('.')
                && suffix.len() > 1
                && agent_id.len() > suffix.len()
                && agent_id.ends_with(suffix)
        }
        None => name == agent_id,
    };
    if names.iter().any(covers) {
        Ok(())
    } else {
        Err(Status::permission_denied(format!(
            "the client certificate names {names:?}, not agent `{agent_id}`"
        )))
    }
}

#[derive(Default)]
struct Loaded {
    modified: Option<SystemTime>,
    entries: Vec<String>,
}

pub struct DenyList {
    path: Option<PathBuf>,
    loaded: Mutex<Loaded>,
}

impl DenyList {
    pub fn new(path: Option<PathBuf>) -> DenyList {
        DenyList {
            path,
            loaded: Mutex::new(Loaded::default()),
        }
    }

    /// The entries, read again if the file changed since.
    fn entries(&self) -> Vec<String> {
        let Some(path) = &self.path else {
            return Vec::new();
        };
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        // A write within the clock's granularity of the last read may leave
        // the time unchanged: a file changed this recently is read again.
        let recent = modified
            .and_then(|m| m.elapsed().ok())
            .is_none_or(|age| age < std::time::Duration::from_secs(2));
        if loaded.modified != modified || recent {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    let entries: Vec<String> = text
                        .lines()
                        .map(|l| {
                            l.split('#')
                                .next()
                                .unwrap_or_default()
                                .trim()
                                .to_ascii_lowercase()
                        })
                        .filter(|l| !l.is_empty())
                        .collect();
                    if entries != loaded.entries || loaded.modified.is_none() {
                        info!(file = %path.display(), denied = entries.len(), "agent deny list read");
                    }
                    loaded.entries = entries;
                }
                // Kept as it was: a file being replaced is briefly missing.
                Err(e) => {
                    if modified.is_some() {
                        warn!(file = %path.display(), error = %e, "cannot read the agent deny list");
                    }
                }
            }
            loaded.modified = modified;
        }
        loaded.entries.clone()
    }

    /// [`authorize`] and the deny list, a refusal logged as `what` (e.g. "registration").
    pub fn admit(&self, peer: &Peer, agent_id: &str, what: &str) -> Result<(), Status> {
        authorize(&peer.names, agent_id).inspect_err(|_| {
            warn!(%agent_id, certificate = ?peer.names, "{what} refused: agent id does not match certificate");
        })?;
        self.still_admitted(agent_id, peer.serial.as_deref())
            .inspect_err(|e| warn!(%agent_id, why = %e.message(), "{what} refused"))
    }

    /// Refuses an agent on the deny list (read again if it changed).
    pub fn still_admitted(&self, agent_id: &str, serial: Option<&str>) -> Result<(), Status> {
        match self.refuses(agent_id, serial) {
            Some(why) => Err(Status::permission_denied(why)),
            None => Ok(()),
        }
    }

    /// Why `agent_id` with a certificate of `serial` (hex) is refused, if it is.
    fn refuses(&self, agent_id: &str, serial: Option<&str>) -> Option<String> {
        let entries = self.entries();
        let agent = agent_id.to_ascii_lowercase();
        if entries.contains(&agent) {
            return Some(format!(
                "agent `{agent_id}` is denied (`grpc.deny_agents_file`)"
            ));
        }
        let serial = serial?.to_ascii_lowercase();
        entries
            .iter()
            .any(|e| {
                e.strip_prefix("serial:")
                    .is_some_and(|s| s.trim_start_matches('0') == serial.trim_start_matches('0'))
            })
            .then(|| format!("certificate serial {serial} is denied (`grpc.deny_agents_file`)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(serial: &[u8]) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["node-a".into()]).unwrap();
        params.serial_number = Some(rcgen::SerialNumber::from_slice(serial));
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn the_serial_is_read_from_the_certificate() {
        assert_eq!(
            lightbulb_common::tls::certificate_serial_hex(&cert(&[0x01, 0xab, 0xcd])).as_deref(),
            Some("1abcd")
        );
        assert_eq!(
            lightbulb_common::tls::certificate_serial_hex(&cert(&[0x7f; 16])).as_deref(),
            Some(&*"7f".repeat(16))
        );
        assert_eq!(
            lightbulb_common::tls::certificate_serial_hex(b"not a certificate"),
            None
        );
    }

    #[test]
    fn a_wildcard_name_covers_the_ids_under_its_suffix_only() {
        let names = vec!["*.agents.lightbulb".to_string()];
        assert!(authorize(&names, "node-1.agents.lightbulb").is_ok());
        assert!(authorize(&names, "ip-10-0-0-1.ec2.internal.agents.lightbulb").is_ok());
        for id in [
            "agents.lightbulb",
            ".agents.lightbulb",
            "node-1.agents.lightbulb.evil",
            "node-1xagents.lightbulb",
        ] {
            assert!(authorize(&names, id).is_err(), "{id}");
        }
        assert!(
            authorize(&["*".to_string()], "anything").is_err(),
            "a bare * covers nothing"
        );
        assert!(authorize(&["node-1".to_string()], "node-1").is_ok());
    }

    #[test]
    fn the_list_denies_ids_and_serials_and_follows_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("denied");
        let list = DenyList::new(Some(path.clone()));
        assert!(
            list.still_admitted("node-a", Some("1abcd")).is_ok(),
            "no file: nobody denied"
        );
        std::fs::write(
            &path,
            "# lost laptop\nNode-A\nserial:0001ABCD  # old cert\n",
        )
        .unwrap();
        let e = list.still_admitted("node-a", None).unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied);
        assert!(
            list.still_admitted("node-b", Some("1abcd")).is_err(),
            "by serial"
        );
        assert!(list.still_admitted("node-b", Some("1abce")).is_ok());
        // Rewritten (and so newer): read again.
        std::fs::write(&path, "node-c\n").unwrap();
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert!(list.still_admitted("node-a", None).is_ok());
        assert!(list.still_admitted("node-c", None).is_err());
    }
}
