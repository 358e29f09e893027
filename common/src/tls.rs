//! Reading PEM files and naming the peer of a verified client certificate.

use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::{Error, Result};

/// PEM bytes of one or more certificates, checked to hold at least one.
pub fn read_certs_pem(path: &Path) -> Result<Vec<u8>> {
    let bytes = read(path)?;
    let count = CertificateDer::pem_slice_iter(&bytes)
        .filter_map(|c| c.ok())
        .count();
    if count == 0 {
        return Err(Error::Pem {
            path: path.into(),
            what: "PEM certificate",
        });
    }
    Ok(bytes)
}

/// PEM bytes of a private key, checked to hold one.
pub fn read_key_pem(path: &Path) -> Result<Vec<u8>> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| Error::Pem {
        path: path.into(),
        what: "PEM private key",
    })?;
    Ok(bytes)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Read {
        path: path.into(),
        source,
    })
}

/// The names a certificate identifies its holder by: the DNS names of its
/// subject alternative name extension, then the subject's common name.
pub fn certificate_names(der: &[u8]) -> Result<Vec<String>> {
    let der = CertificateDer::from(der);
    let cert = webpki::EndEntityCert::try_from(&der)
        .map_err(|e| Error::InvalidCertificate(e.to_string()))?;
    let mut names: Vec<String> = cert.valid_dns_names().map(str::to_owned).collect();
    if let Some(cn) = common_name(cert.subject())
        && !names.contains(&cn)
    {
        names.push(cn);
    }
    Ok(names)
}

/// Finds the CN in a DER subject (the contents of the `Name` SEQUENCE):
/// SET { SEQUENCE { OID, value } }…
fn common_name(mut subject: &[u8]) -> Option<String> {
    const CN_OID: &[u8] = &[0x55, 0x04, 0x03];
    while !subject.is_empty() {
        let (tag, set, rest) = tlv(subject)?;
        subject = rest;
        if tag != 0x31 {
            continue;
        }
        let mut atvs = set;
        while !atvs.is_empty() {
            let (_, atv, rest) = tlv(atvs)?;
            atvs = rest;
            let (oid_tag, oid, value) = tlv(atv)?;
            if oid_tag == 0x06 && oid == CN_OID {
                let (_, text, _) = tlv(value)?;
                return String::from_utf8(text.to_vec()).ok();
            }
        }
    }
    None
}

/// When a DER certificate stops being valid (`notAfter`), in epoch ms.
pub fn certificate_not_after_ms(der: &[u8]) -> Option<i64> {
    let (_, cert, _) = tlv(der)?;
    let (_, tbs, _) = tlv(cert)?;
    let mut fields = tbs;
    let (tag, _, rest) = tlv(fields)?;
    if tag == 0xa0 {
        fields = rest; // explicit version
    }
    // serial number, signature algorithm, issuer, then validity.
    for _ in 0..3 {
        fields = tlv(fields)?.2;
    }
    let (_, validity, _) = tlv(fields)?;
    let (_, _, after) = tlv(validity)?;
    let (tag, time, _) = tlv(after)?;
    let time = std::str::from_utf8(time).ok()?.strip_suffix('Z')?;
    let full = match (tag, time.len()) {
        // UTCTime YYMMDDHHMMSS: 50–99 are 19xx.
        (0x17, 12) => {
            let yy: u32 = time[..2].parse().ok()?;
            format!("{}{time}", if yy >= 50 { "19" } else { "20" })
        }
        // GeneralizedTime YYYYMMDDHHMMSS.
        (0x18, 14) => time.to_string(),
        _ => return None,
    };
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &full[..4],
        &full[4..6],
        &full[6..8],
        &full[8..10],
        &full[10..12],
        &full[12..14]
    );
    crate::time::parse_instant(&iso).ok()
}

/// The serial number of a DER certificate, hex (lowercase, without leading
/// zeros).
pub fn certificate_serial_hex(der: &[u8]) -> Option<String> {
    let (_, cert, _) = tlv(der)?;
    let (_, tbs, _) = tlv(cert)?;
    let (mut tag, mut serial, rest) = tlv(tbs)?;
    if tag == 0xa0 {
        (tag, serial, _) = tlv(rest)?; // explicit version first
    }
    (tag == 0x02).then(|| {
        let hex: String = serial.iter().map(|b| format!("{b:02x}")).collect();
        match hex.trim_start_matches('0') {
            "" => "0".to_string(),
            digits => digits.to_string(),
        }
    })
}

/// Splits one DER tag-length-value off `input`: (tag, value, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| acc << 8 | usize::from(*b));
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// Installs ring as the process-wide rustls crypto provider; call once at start.
pub fn install_crypto_provider() {
    // Already installed (a second call in tests) is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
