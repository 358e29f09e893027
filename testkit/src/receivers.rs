//! Real receivers for alert notifications: an SMTP server (PyPI
//! `aiosmtpd`, each mail parsed by Python's `email` package) and an HTTP
//! server (Python's http.server) that records every request, checks the
//! webhook signature with Python's `hmac`, and answers with the status the
//! test sets.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::{Proc, free_port};

const SMTP: &str = r#"
import base64, email, json, sys, threading
from email import policy
from aiosmtpd.controller import Controller
class Handler:
    async def handle_DATA(self, server, session, envelope):
        m = email.message_from_bytes(envelope.content, policy=policy.default)
        body = m.get_body(preferencelist=("plain",)).get_content()
        files = [{"filename": a.get_filename(), "content_type": a.get_content_type(),
                  "data": base64.b64encode(a.get_payload(decode=True)).decode()}
                 for a in m.iter_attachments()]
        print(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                          "subject": str(m["subject"]), "body": body, "attachments": files}), flush=True)
        return "250 Message accepted for delivery"
c = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("smtp ready", flush=True)
threading.Event().wait()
"#;

/// An SMTP server; `mails()` are the messages it accepted.
pub struct SmtpSink {
    pub port: u16,
    proc: Proc,
}

impl SmtpSink {
    /// `None` when aiosmtpd is not installed (and not required).
    pub fn start() -> Option<SmtpSink> {
        let python = crate::temporal::venv().join("bin/python");
        let installed = crate::temporal::venv().join("bin/aiosmtpd").exists();
        if !crate::peer_enabled("aiosmtpd", "SMTP", installed) {
            return None;
        }
        let port = free_port();
        let mut cmd = Command::new(python);
        cmd.args(["-u", "-c", SMTP]).arg(port.to_string());
        let proc = Proc::spawn("smtp sink", cmd);
        proc.wait_for_line("smtp ready", Duration::from_secs(20));
        Some(SmtpSink { port, proc })
    }

    /// Every mail so far: `{from, to, subject, body (the plain text),
    /// attachments: [{filename, content_type, data (base64)}]}`.
    pub fn mails(&self) -> Vec<Value> {
        json_lines(&self.proc)
    }
}

const HTTP: &str = r#"
import hashlib, hmac, http.server, json, os, sys
SECRET = sys.argv[1].encode()
STATUS = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ts = self.headers.get("X-Lightbulb-Timestamp") or ""
        want = "sha256=" + hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        code = int(open(STATUS).read().strip() or "200") if os.path.exists(STATUS) else 200
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        print(json.dumps({"path": self.path, "answered": code, "body": parsed,
                          "signature_valid": hmac.compare_digest(want, self.headers.get("X-Lightbulb-Signature") or "")}), flush=True)
        self.send_response(code); self.send_header("Content-Length", "0"); self.end_headers()
s = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[3])), H)
print("http ready", s.server_address[1], flush=True)
s.serve_forever()
"#;

/// An HTTP receiver; `requests()` are the POSTs it got and how it answered.
pub struct HttpReceiver {
    pub port: u16,
    status_file: PathBuf,
    secret: String,
    proc: Proc,
    /// Requests to the receiver's earlier runs.
    earlier: Vec<Value>,
}

impl HttpReceiver {
    /// Checks signatures made with `secret`; answers 200 until told otherwise.
    pub fn start(dir: &std::path::Path, secret: &str) -> HttpReceiver {
        HttpReceiver::start_on(dir, secret, 0)
    }

    fn start_on(dir: &std::path::Path, secret: &str, port: u16) -> HttpReceiver {
        let status_file = dir.join(format!("receiver-status-{}", free_port()));
        let mut cmd = Command::new("python3");
        cmd.args(["-u", "-c", HTTP, secret])
            .arg(&status_file)
            .arg(port.to_string());
        let proc = Proc::spawn("http receiver", cmd);
        let line = proc.wait_for_line("http ready", Duration::from_secs(20));
        let port = line.rsplit(' ').next().unwrap().trim().parse().unwrap();
        HttpReceiver {
            port,
            status_file,
            secret: secret.to_string(),
            proc,
            earlier: Vec::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Answers every request from now on with `code`.
    pub fn answer_with(&self, code: u16) {
        std::fs::write(&self.status_file, code.to_string()).unwrap();
    }

    /// Every request so far, restarts included: `{path, answered, body,
    /// signature_valid}`.
    pub fn requests(&self) -> Vec<Value> {
        let mut all = self.earlier.clone();
        all.extend(json_lines(&self.proc));
        all
    }

    /// Stops it (connections are then refused).
    pub fn stop(&mut self) {
        self.proc.kill();
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self, dir: &std::path::Path) {
        self.proc.kill();
        let earlier = self.requests();
        *self = HttpReceiver::start_on(dir, &self.secret, self.port);
        self.earlier = earlier;
    }
}

fn json_lines(proc: &Proc) -> Vec<Value> {
    proc.lines()
        .iter()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

const SERVICENOW: &str = r#"
import base64, http.server, json, sys, urllib.parse
incidents = {}
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def reply(self, code, body):
        out = json.dumps(body).encode()
        self.send_response(code); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out))); self.end_headers(); self.wfile.write(out)
    def record(self, body):
        user = base64.b64decode((self.headers.get("Authorization") or "Basic ")[6:]).decode()
        print(json.dumps({"method": self.command, "path": self.path, "user": user, "body": body}), flush=True)
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query).get("sysparm_query", [""])[0]
        wanted = dict(p.split("=", 1) for p in q.split("^") if "=" in p)
        self.record(None)
        found = [i for i in incidents.values()
                 if i["correlation_id"] == wanted.get("correlation_id") and (wanted.get("active") != "true" or i["active"])]
        self.reply(200, {"result": [{"sys_id": i["sys_id"], "number": i["number"]} for i in found[:1]]})
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.record(body)
        n = len(incidents) + 1
        i = dict(body, sys_id="sys%04d" % n, number="INC%07d" % (10000 + n), active=True)
        incidents[i["sys_id"]] = i
        self.reply(201, {"result": i})
    def do_PATCH(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.record(body)
        i = incidents.get(self.path.rsplit("/", 1)[1])
        if i is None:
            return self.reply(404, {"error": {"message": "No Record found"}})
        i.update(body)
        if body.get("state") == "6":
            i["active"] = False
        self.reply(200, {"result": i})
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("servicenow ready", s.server_address[1], flush=True)
s.serve_forever()
"#;

/// A stand-in for a ServiceNow instance's Table API (incidents: create,
/// find by `correlation_id`, update), since no real one can run here;
/// `requests()` are what it was sent, with the basic-auth user.
pub struct ServiceNowTable {
    pub port: u16,
    proc: Proc,
}

impl ServiceNowTable {
    pub fn start() -> ServiceNowTable {
        let mut cmd = Command::new("python3");
        cmd.args(["-u", "-c", SERVICENOW]);
        let proc = Proc::spawn("servicenow", cmd);
        let line = proc.wait_for_line("servicenow ready", Duration::from_secs(20));
        let port = line.rsplit(' ').next().unwrap().trim().parse().unwrap();
        ServiceNowTable { port, proc }
    }

    /// Every request: `{method, path, user, body}`.
    pub fn requests(&self) -> Vec<Value> {
        json_lines(&self.proc)
    }
}

/// A stand-in for a browser push service (`push_service.py`): hands out
/// subscriptions, decrypts every push with http_ece and verifies its
/// VAPID token. `None` when http_ece is not installed (and not required).
pub struct PushService {
    pub port: u16,
    proc: Proc,
}

impl PushService {
    pub fn start() -> Option<PushService> {
        let python = crate::temporal::venv().join("bin/python");
        let installed = Command::new(&python)
            .args(["-c", "import http_ece, cryptography"])
            .status()
            .is_ok_and(|s| s.success());
        if !crate::peer_enabled("http_ece (PyPI)", "PUSH", installed) {
            return None;
        }
        let mut cmd = Command::new(python);
        cmd.args(["-u", "-c", include_str!("push_service.py")]);
        let proc = Proc::spawn("push service", cmd);
        let line = proc.wait_for_line("push service ready", Duration::from_secs(20));
        let port = line.rsplit(' ').next().unwrap().trim().parse().unwrap();
        Some(PushService { port, proc })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every push so far: `{browser, answered, encoding, ttl, urgency,
    /// vapid_valid, vapid_key, claims, message | decrypt_error}`.
    pub fn pushes(&self) -> Vec<Value> {
        json_lines(&self.proc)
    }
}
