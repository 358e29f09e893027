//! `api_endpoint`: an HTTP(S) request (any method, headers, body) judged by
//! status, latency, body text and JSON assertions, with DNS time split out;
//! or a plain TCP connect for `tcp://host:port`.

use std::time::Instant;

pub use lightbulb_common::spec::{HttpSpec, TcpSpec};

use super::support::{ClientKey, error_chain, latency_outcome, shared_client};
use super::{BoxFuture, Check, Outcome};

/// Largest body read for `body_contains`.
const MAX_BODY: usize = 1 << 20;

pub struct HttpCheck {
    spec: HttpSpec,
    client: Result<reqwest::Client, String>,
}

impl HttpCheck {
    pub fn new(spec: HttpSpec) -> HttpCheck {
        let client = shared_client(ClientKey {
            redirects: spec.follow_redirects.then_some(spec.max_redirects),
            insecure: spec.insecure,
            ca: spec.ca.clone(),
            timeout: None,
        });
        HttpCheck { spec, client }
    }

    async fn probe(&self) -> Outcome {
        let client = match &self.client {
            Ok(c) => c,
            Err(e) => return Outcome::failed(e.clone()),
        };
        let method = reqwest::Method::from_bytes(self.spec.method.to_ascii_uppercase().as_bytes())
            .unwrap_or(reqwest::Method::GET);
        let dns_ms = self.resolve().await;
        let start = Instant::now();
        let mut request = client.request(method, &self.spec.url);
        for (name, value) in &self.spec.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &self.spec.body {
            request = request.body(body.clone());
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let mut o = Outcome::failed(format!(
                    "request to {} failed: {}",
                    self.spec.url,
                    error_chain(&e)
                ));
                o.details = serde_json::json!({ "error": error_chain(&e) });
                if let Some(ms) = dns_ms {
                    o.metrics.extra.insert("dns_ms".into(), ms);
                }
                return o;
            }
        };
        let code = response.status().as_u16();
        let wanted = self.spec.body_contains.is_some() || !self.spec.json.is_empty();
        let body = if wanted || !self.expects(code) {
            read_limited(response).await
        } else {
            drop(response);
            Ok(String::new())
        };
        let elapsed_ms = start.elapsed().as_secs_f64() * 1000.0;
        let mut outcome = self.judge(code, body, elapsed_ms);
        outcome.metrics.response_time_ms = Some(elapsed_ms);
        outcome
            .metrics
            .extra
            .insert("http_status".into(), f64::from(code));
        if let Some(ms) = dns_ms {
            outcome.metrics.extra.insert("dns_ms".into(), ms);
        }
        self.judge_certificate(&mut outcome).await;
        outcome
    }

    /// For https: DEGRADED when the certificate expires within
    /// `cert_degraded_days`, FAILED when it has expired.
    async fn judge_certificate(&self, outcome: &mut Outcome) {
        let Ok(url) = reqwest::Url::parse(&self.spec.url) else {
            return;
        };
        if url.scheme() == "https" {
            super::cert::judge(&url, self.spec.cert_degraded_days, outcome).await;
        }
    }

    /// How long resolving the URL's host takes, in ms (`None` for an IP
    /// address or a URL without a host).
    async fn resolve(&self) -> Option<f64> {
        let url = reqwest::Url::parse(&self.spec.url).ok()?;
        let host = url.host_str()?;
        if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
            return None;
        }
        let port = url.port_or_known_default().unwrap_or(80);
        let start = Instant::now();
        // A failure here shows again, with its reason, when the request is sent.
        let _ = tokio::net::lookup_host((host, port)).await.ok()?;
        Some(start.elapsed().as_secs_f64() * 1000.0)
    }

    /// Whether `code` is an answer the check accepts.
    fn expects(&self, code: u16) -> bool {
        if self.spec.expected_status.is_empty() {
            (200..300).contains(&code)
        } else {
            self.spec.expected_status.contains(&code)
        }
    }

    fn judge(&self, code: u16, body: Result<String, String>, elapsed_ms: f64) -> Outcome {
        if !self.expects(code) {
            let want = if self.spec.expected_status.is_empty() {
                "2xx".to_string()
            } else {
                format!("{:?}", self.spec.expected_status)
            };
            let mut o = Outcome::failed(format!("HTTP {code}, expected {want}"));
            // The answer is the evidence (an error page, a stack trace).
            if let Ok(text) = &body {
                let cut: String = text.chars().take(BODY_EVIDENCE_CHARS).collect();
                o.details = serde_json::json!({"status": code, "body": cut});
            }
            return o;
        }
        if !self.spec.json.is_empty() {
            let parsed = body.as_ref().map_err(Clone::clone).and_then(|b| {
                serde_json::from_str::<serde_json::Value>(b).map_err(|e| e.to_string())
            });
            let doc = match parsed {
                Ok(doc) => doc,
                Err(e) => {
                    return Outcome::failed(format!("HTTP {code} but the body is not JSON: {e}"));
                }
            };
            for a in &self.spec.json {
                let found = a.find(&doc);
                let broken = match (found, &a.equals) {
                    (None, _) if a.exists => Some(format!("`{}` is missing", a.path)),
                    (Some(v), _) if !a.exists => Some(format!("`{}` exists ({v})", a.path)),
                    (Some(v), Some(want)) if v != want => {
                        Some(format!("`{}` is {v}, expected {want}", a.path))
                    }
                    _ => None,
                };
                if let Some(why) = broken {
                    let mut o = Outcome::failed(format!("HTTP {code} but {why}"));
                    o.details =
                        serde_json::json!({"path": a.path, "found": found, "expected": a.equals});
                    return o;
                }
            }
        }
        if let Some(needle) = &self.spec.body_contains {
            match body {
                Err(e) => {
                    return Outcome::failed(format!(
                        "HTTP {code} but reading the body failed: {e}"
                    ));
                }
                Ok(body) if !body.contains(needle.as_str()) => {
                    return Outcome::failed(format!(
                        "HTTP {code} but the body does not contain `{needle}`"
                    ));
                }
                Ok(_) => {}
            }
        }
        latency_outcome(format!("HTTP {code}"), elapsed_ms, self.spec.degraded_ms)
    }
}

async fn read_limited(mut response: reqwest::Response) -> Result<String, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| error_chain(&e))? {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_BODY {
            body.truncate(MAX_BODY);
            break;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

impl Check for HttpCheck {
    fn run(&mut self) -> BoxFuture<'_, Outcome> {
        Box::pin(self.probe())
    }
}

/// How much of an unexpected answer's body is kept in `details.body`.
const BODY_EVIDENCE_CHARS: usize = 4096;

pub struct TcpCheck {
    spec: TcpSpec,
}

impl TcpCheck {
    pub fn new(spec: TcpSpec) -> TcpCheck {
        TcpCheck { spec }
    }

    async fn probe(&self) -> Outcome {
        let start = Instant::now();
        match tokio::net::TcpStream::connect(&self.spec.addr).await {
            Ok(_) => {
                let elapsed_ms = start.elapsed().as_secs_f64() * 1000.0;
                let mut o = latency_outcome(
                    format!("TCP connect to {}", self.spec.addr),
                    elapsed_ms,
                    self.spec.degraded_ms,
                );
                o.metrics.response_time_ms = Some(elapsed_ms);
                o
            }
            Err(e) => Outcome::failed(format!("TCP connect to {} failed: {e}", self.spec.addr)),
        }
    }
}

impl Check for TcpCheck {
    fn run(&mut self) -> BoxFuture<'_, Outcome> {
        Box::pin(self.probe())
    }
}

#[cfg(test)]
mod tests {
    use lightbulb_common::Status;

    use super::*;

    #[test]
    fn judging_status_body_and_latency() {
        let mut s: HttpSpec = serde_json::from_value(
            serde_json::json!({"url": "http://x", "degraded_ms": 100, "body_contains": "ok"}),
        )
        .unwrap();
        let check = HttpCheck::new(s.clone());
        assert_eq!(
            check.judge(200, Ok("all ok".into()), 5.0).status,
            Status::Ok
        );
        assert_eq!(
            check.judge(200, Ok("all ok".into()), 500.0).status,
            Status::Degraded
        );
        assert_eq!(
            check.judge(200, Ok("nope".into()), 5.0).status,
            Status::Failed
        );
        assert_eq!(
            check.judge(503, Ok("ok".into()), 5.0).status,
            Status::Failed
        );
        s.expected_status = vec![503];
        s.body_contains = None;
        assert_eq!(
            HttpCheck::new(s).judge(503, Ok(String::new()), 5.0).status,
            Status::Ok
        );
    }

    #[tokio::test]
    async fn tcp_connect_to_a_closed_port_fails() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut open = TcpCheck::new(TcpSpec {
            addr: addr.to_string(),
            degraded_ms: None,
        });
        assert_eq!(open.run().await.status, Status::Ok);
        drop(listener);
        let mut closed = TcpCheck::new(TcpSpec {
            addr: addr.to_string(),
            degraded_ms: None,
        });
        let o = closed.run().await;
        assert_eq!(o.status, Status::Failed, "{o:?}");
    }
}
