//! What is taken out of a failure context before it leaves for the model:
//! values under secret-sounding keys, credentials in text (private keys,
//! URL passwords, bearer tokens, JWTs, `password=…`, well-known key
//! formats), emails, IP addresses, the configured patterns and the
//! collector's own key. Each is replaced by `[REDACTED:<what>]`.

use std::net::Ipv6Addr;

use regex::{Captures, Regex};
use serde_json::Value;

/// Object keys whose values are never sent.
const SECRET_KEYS: &str = r"(?i)password|passwd|passphrase|(^|[_.-])pass$|^pwd$|secret|token|api[_-]?key|credential|authorization|cookie|private[_-]?key";

/// (pattern, replacement): most specific first, so a URL's password is
/// taken as a credential before its host as an address.
const TEXT: &[(&str, &str)] = &[
    (
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)",
        "[REDACTED:private-key]",
    ),
    (
        r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@",
        "${1}[REDACTED:credentials]@",
    ),
    (
        r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/=-]{8,}",
        "${1}${2}[REDACTED:token]",
    ),
    (
        r"\b(Basic)(\s+)[A-Za-z0-9+/]*[0-9+/=][A-Za-z0-9+/=]*",
        "${1}${2}[REDACTED:token]",
    ),
    (
        r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
        "[REDACTED:token]",
    ),
    (
        r#"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret)(["']?\s*[:=]\s*["']?)[^\s"',;&]+"#,
        "${1}${2}[REDACTED:secret]",
    ),
    (
        r"\b(sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})\b",
        "[REDACTED:token]",
    ),
    (
        r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b",
        "[REDACTED:email]",
    ),
    (
        r"\b((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\b",
        "[REDACTED:ip]",
    ),
];

/// IPv6 candidates; each is checked by parsing it.
const IPV6: &str = r"[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}";

pub struct Redactor {
    keys: Regex,
    text: Vec<(Regex, &'static str)>,
    ipv6: Regex,
    extra: Vec<Regex>,
    /// Values never sent wherever they appear (the model's key).
    known: Vec<String>,
}

impl Redactor {
    /// `extra`: the configured patterns (checked by the config's validation).
    pub fn new(extra: &[String], known: Vec<String>) -> Result<Redactor, regex::Error> {
        Ok(Redactor {
            keys: Regex::new(SECRET_KEYS)?,
            text: TEXT
                .iter()
                .map(|(p, r)| Ok((Regex::new(p)?, *r)))
                .collect::<Result<_, regex::Error>>()?,
            ipv6: Regex::new(IPV6)?,
            extra: extra
                .iter()
                .map(|p| Regex::new(p))
                .collect::<Result<_, _>>()?,
            known: known.into_iter().filter(|k| k.len() >= 4).collect(),
        })
    }

    /// `value` with everything secret replaced; returns how many replacements.
    pub fn value(&self, value: &mut Value) -> usize {
        match value {
            Value::String(s) => {
                let (text, n) = self.text(s);
                *s = text;
                n
            }
            Value::Array(items) => items.iter_mut().map(|v| self.value(v)).sum(),
            Value::Object(map) => map
                .iter_mut()
                .map(|(k, v)| {
                    if self.keys.is_match(k) && !matches!(v, Value::Null | Value::Bool(_)) {
                        *v = Value::String("[REDACTED:secret]".into());
                        1
                    } else {
                        self.value(v)
                    }
                })
                .sum(),
            _ => 0,
        }
    }

    /// `text` with everything secret replaced, and how many replacements.
    pub fn text(&self, text: &str) -> (String, usize) {
        let mut out = text.to_string();
        let mut count = 0;
        for known in &self.known {
            count += out.matches(known.as_str()).count();
            out = out.replace(known.as_str(), "[REDACTED:secret]");
        }
        for (re, with) in &self.text {
            count += re.find_iter(&out).count();
            out = re.replace_all(&out, *with).into_owned();
        }
        out = self
            .ipv6
            .replace_all(&out, |c: &Captures<'_>| {
                let candidate = &c[0];
                let shaped = candidate.contains("::") || candidate.matches(':').count() == 7;
                if shaped && candidate.parse::<Ipv6Addr>().is_ok() {
                    count += 1;
                    return "[REDACTED:ip]".to_string();
                }
                candidate.to_string()
            })
            .into_owned();
        for re in &self.extra {
            count += re.find_iter(&out).count();
            out = re.replace_all(&out, "[REDACTED]").into_owned();
        }
        (out, count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::new(&[r"customer-\d+".into()], vec!["sk-own-key-123".into()]).unwrap()
    }

    #[test]
    fn secrets_in_text_are_replaced_and_the_rest_kept() {
        let r = redactor();
        let cases = [
            (
                "connect postgres://app:hunter2@db.internal:5432/orders refused",
                "connect postgres://[REDACTED:credentials]@db.internal:5432/orders refused",
            ),
            (
                "401 with Authorization: Bearer abcdEFGH12345678",
                "401 with Authorization: Bearer [REDACTED:token]",
            ),
            (
                "password=s3cret retrying",
                "password=[REDACTED:secret] retrying",
            ),
            ("mail ops@example.com now", "mail [REDACTED:email] now"),
            (
                "peer 10.1.2.3:443 and fe80::1ff:fe23:4567:890a down",
                "peer [REDACTED:ip]:443 and [REDACTED:ip] down",
            ),
            (
                "order for customer-4411 failed",
                "order for [REDACTED] failed",
            ),
            ("key sk-own-key-123 used", "key [REDACTED:secret] used"),
            (
                "at 10:30:00 worker 3 took 12.5 ms",
                "at 10:30:00 worker 3 took 12.5 ms",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(r.text(input).0, want, "{input}");
        }
    }

    #[test]
    fn values_under_secret_keys_are_replaced_whatever_they_hold() {
        let r = redactor();
        let mut v = serde_json::json!({
            "url": "https://api.example.com/health",
            "headers": {"Authorization": "abc", "Accept": "json"},
            "db_password": "x",
            "tls": {"private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"},
            "enabled": true,
        });
        assert_eq!(r.value(&mut v), 3);
        assert_eq!(v["headers"]["Authorization"], "[REDACTED:secret]");
        assert_eq!(v["headers"]["Accept"], "json");
        assert_eq!(v["db_password"], "[REDACTED:secret]");
        assert_eq!(v["tls"]["private_key"], "[REDACTED:secret]");
        assert_eq!(v["url"], "https://api.example.com/health");
    }
}
