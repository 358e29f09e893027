//! A stand-in OpenAI-compatible model server (`model_server.py`): answers
//! chat completions like the API in JSON mode and records every request.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::Proc;

pub struct ModelServer {
    pub port: u16,
    proc: Proc,
}

impl ModelServer {
    pub fn start() -> ModelServer {
        let mut cmd = Command::new("python3");
        cmd.args(["-u", "-c", include_str!("model_server.py"), "0"]);
        let proc = Proc::spawn("model server", cmd);
        let line = proc.wait_for_line("model ready", Duration::from_secs(20));
        let port = line.rsplit(' ').next().unwrap().trim().parse().unwrap();
        ModelServer { port, proc }
    }

    /// The API base to configure: `http://127.0.0.1:PORT/v1`.
    pub fn api_base(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// How it answers from now on: `good`, `malformed`, `error` or `slow`.
    pub async fn answer(&self, mode: &str) {
        lightbulb_common::tls::install_crypto_provider();
        let url = format!("http://127.0.0.1:{}/mode/{mode}", self.port);
        let r = reqwest::get(url).await.expect("model server");
        assert_eq!(r.status(), 200);
    }

    /// Every request so far: `{path, mode, authorization, body}`.
    pub fn requests(&self) -> Vec<Value> {
        self.proc
            .lines()
            .iter()
            .filter(|l| l.starts_with('{'))
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}
