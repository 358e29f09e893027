//! A development certificate authority: `lightbulb-collector certs init`.
//!
//! Writes `ca.crt`, `ca.key`, `collector.crt`, `collector.key` and
//! `agent-NAME.crt`/`agent-NAME.key` for each agent. Agent certificates carry the
//! agent id as common name and DNS subject alternative name.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use crate::{Error, Result};

/// A CA able to sign further certificates.
pub struct DevCa {
    pub cert_pem: String,
    pub key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A signed certificate and its key, PEM encoded.
pub struct Signed {
    pub cert_pem: String,
    pub key_pem: String,
}

/// The name `init` gives its CA.
const DEV_CA: &str = "lightbulb dev CA";

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_after = rcgen::date_time_ymd(2036, 1, 1);
    params
}

impl DevCa {
    pub fn new(name: &str) -> Result<DevCa> {
        let params = ca_params(name);
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(DevCa {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// A server certificate for the collector, valid for `localhost`,
    /// `127.0.0.1` and every name in `hosts`.
    pub fn collector(&self, hosts: &[String]) -> Result<Signed> {
        let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        names.extend(hosts.iter().cloned());
        self.sign(
            "lightbulb-collector",
            &names,
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A client certificate naming agent `id`.
    pub fn agent(&self, id: &str) -> Result<Signed> {
        self.sign(id, &[id.to_string()], ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn sign(&self, cn: &str, names: &[String], usage: ExtendedKeyUsagePurpose) -> Result<Signed> {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.parse::<std::net::IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => Ok(SanType::DnsName(n.clone().try_into()?)),
            })
            .collect::<Result<_, rcgen::Error>>()?;
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.not_after = rcgen::date_time_ymd(2035, 1, 1);
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Signed {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// Issues certificates for more agents from the CA `init` wrote in
/// `ca_dir` (its `ca.crt` and `ca.key`), into `out`. Each is checked to
/// chain to that `ca.crt` before it is written, so a CA made elsewhere is
/// refused rather than producing certificates nobody trusts.
pub fn issue(ca_dir: &Path, agents: &[String], out: &Path) -> Result<Vec<PathBuf>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, UnixTime};
    let read = |name: &str| {
        let path = ca_dir.join(name);
        std::fs::read_to_string(&path).map_err(|source| Error::Read { path, source })
    };
    let (ca_pem, key_pem) = (read("ca.crt")?, read("ca.key")?);
    let key = KeyPair::from_pem(&key_pem)?;
    let ca = DevCa {
        cert_pem: ca_pem.clone(),
        key_pem,
        issuer: Issuer::new(ca_params(DEV_CA), key),
    };
    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots
            .add(der.map_err(|e| Error::InvalidCertificate(format!("ca.crt: {e}")))?)
            .map_err(|e| Error::InvalidCertificate(format!("ca.crt: {e}")))?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder(roots.into())
        .build()
        .map_err(|e| Error::InvalidCertificate(format!("ca.crt: {e}")))?;
    std::fs::create_dir_all(out).map_err(|source| Error::Write {
        path: out.into(),
        source,
    })?;
    let mut files = Vec::new();
    for agent in agents {
        let signed = ca.agent(agent)?;
        let der = CertificateDer::from_pem_slice(signed.cert_pem.as_bytes())
            .map_err(|e| Error::InvalidCertificate(e.to_string()))?;
        verifier
            .verify_client_cert(&der, &[], UnixTime::now())
            .map_err(|e| {
                Error::InvalidCertificate(format!(
                    "{}/ca.crt was not made by `certs init` (`{DEV_CA}`): a certificate issued with its key does not chain to it ({e}); issue agent certificates with the tool that made that CA",
                    ca_dir.display()
                ))
            })?;
        for (name, text, secret) in [
            (format!("agent-{agent}.crt"), &signed.cert_pem, false),
            (format!("agent-{agent}.key"), &signed.key_pem, true),
        ] {
            let path = out.join(name);
            write_file(&path, text, secret)?;
            files.push(path);
        }
    }
    let ca_copy = out.join("ca.crt");
    if ca_copy != ca_dir.join("ca.crt") {
        write_file(&ca_copy, &ca_pem, false)?;
        files.push(ca_copy);
    }
    Ok(files)
}

/// Writes a fresh dev CA, the collector's and each agent's certificate into
/// `dir`. Returns the files written.
pub fn init(dir: &Path, agents: &[String], hosts: &[String]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.into(),
        source,
    })?;
    let ca = DevCa::new(DEV_CA)?;
    let mut files = Vec::new();
    let mut write = |name: String, text: &str, secret: bool| -> Result<()> {
        let path = dir.join(name);
        write_file(&path, text, secret)?;
        files.push(path);
        Ok(())
    };
    write("ca.crt".into(), &ca.cert_pem, false)?;
    write("ca.key".into(), &ca.key_pem, true)?;
    let collector = ca.collector(hosts)?;
    write("collector.crt".into(), &collector.cert_pem, false)?;
    write("collector.key".into(), &collector.key_pem, true)?;
    for agent in agents {
        let signed = ca.agent(agent)?;
        write(format!("agent-{agent}.crt"), &signed.cert_pem, false)?;
        write(format!("agent-{agent}.key"), &signed.key_pem, true)?;
    }
    Ok(files)
}

fn write_file(path: &Path, text: &str, secret: bool) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mode = if secret { 0o600 } else { 0o644 };
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|source| Error::Write {
            path: path.into(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::certificate_names;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    #[test]
    fn certificate_expiry_is_read_from_der() {
        let ca = DevCa::new("test CA").unwrap();
        let agent = ca.agent("node-a").unwrap();
        let der = CertificateDer::from_pem_slice(agent.cert_pem.as_bytes()).unwrap();
        assert_eq!(
            crate::tls::certificate_not_after_ms(&der),
            crate::time::parse_instant("2035-01-01T00:00:00Z").ok()
        );
        assert_eq!(crate::tls::certificate_not_after_ms(b"junk"), None);
    }

    #[test]
    fn agent_certificate_names_the_agent() {
        let ca = DevCa::new("test CA").unwrap();
        let agent = ca.agent("node-a").unwrap();
        let der = CertificateDer::from_pem_slice(agent.cert_pem.as_bytes()).unwrap();
        assert_eq!(certificate_names(&der).unwrap(), vec!["node-a".to_string()]);
    }

    #[test]
    fn issue_signs_more_agents_with_the_init_ca_and_refuses_another_ca() {
        let dir = tempfile::tempdir().unwrap();
        let ca_dir = dir.path().join("ca");
        init(&ca_dir, &[], &[]).unwrap();
        let out = dir.path().join("node-b");
        let files = issue(&ca_dir, &["node-b".into()], &out).unwrap();
        assert_eq!(files.len(), 3, "{files:?}");
        let pem = std::fs::read(out.join("agent-node-b.crt")).unwrap();
        let der = CertificateDer::from_pem_slice(&pem).unwrap();
        assert_eq!(certificate_names(&der).unwrap(), vec!["node-b".to_string()]);
        assert_eq!(
            std::fs::read(out.join("ca.crt")).unwrap(),
            std::fs::read(ca_dir.join("ca.crt")).unwrap()
        );
        // A CA made elsewhere (another name): refused, nothing written.
        let other = dir.path().join("other");
        std::fs::create_dir_all(&other).unwrap();
        let foreign = DevCa::new("someone else's CA").unwrap();
        std::fs::write(other.join("ca.crt"), &foreign.cert_pem).unwrap();
        std::fs::write(other.join("ca.key"), &foreign.key_pem).unwrap();
        let refused = dir.path().join("refused");
        let e = issue(&other, &["node-c".into()], &refused).unwrap_err();
        assert!(
            e.to_string().contains("was not made by `certs init`"),
            "{e}"
        );
        assert!(!refused.join("agent-node-c.crt").exists());
    }

    #[test]
    fn init_writes_every_file_with_private_keys_unreadable_to_others() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let files = init(
            dir.path(),
            &["a".into(), "b".into()],
            &["lb.example".into()],
        )
        .unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "ca.crt",
                "ca.key",
                "collector.crt",
                "collector.key",
                "agent-a.crt",
                "agent-a.key",
                "agent-b.crt",
                "agent-b.key"
            ]
        );
        let mode = std::fs::metadata(dir.path().join("agent-a.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
        let pem = std::fs::read(dir.path().join("collector.crt")).unwrap();
        let der = CertificateDer::from_pem_slice(&pem).unwrap();
        let names = certificate_names(&der).unwrap();
        assert!(names.contains(&"localhost".to_string()), "{names:?}");
        assert!(names.contains(&"lb.example".to_string()), "{names:?}");
    }
}
