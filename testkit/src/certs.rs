//! Certificates for test servers whose dates matter (expiry checks).

use std::path::{Path, PathBuf};

/// (year, month, day) of a day counted from 1970-01-01.
fn civil(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m as u8, d as u8)
}

/// A self-signed certificate for 127.0.0.1 valid from `from` to `to` days
/// from today: its PEM certificate and key paths in `dir`.
pub fn dated(dir: &Path, from: i64, to: i64) -> (PathBuf, PathBuf) {
    let today = lightbulb_common::time::now_ms().div_euclid(86_400_000);
    let date = |offset: i64| {
        let (y, m, d) = civil(today + offset);
        rcgen::date_time_ymd(y, m, d)
    };
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.not_before = date(from);
    params.not_after = date(to);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let (c, k) = (dir.join(format!("{to}.crt")), dir.join(format!("{to}.key")));
    std::fs::write(&c, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (c, k)
}
