//! `python_process`: which processes to find and what to hold them to.

use std::path::PathBuf;

use regex::Regex;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessSpec {
    /// File holding the PID.
    #[serde(default)]
    pub pidfile: Option<PathBuf>,
    /// A fixed PID.
    #[serde(default)]
    pub pid: Option<i32>,
    /// Regex matched against the command line (arguments joined by spaces).
    #[serde(default)]
    pub cmdline: Option<String>,
    /// Accept a process that is not a Python interpreter (default false).
    #[serde(default)]
    pub any_interpreter: bool,
    /// CPU % above this is DEGRADED.
    #[serde(default)]
    pub max_cpu: Option<f64>,
    /// RSS bytes above this is DEGRADED.
    #[serde(default)]
    pub max_rss: Option<u64>,
    /// Processes started from this virtualenv (`<venv>/bin/python…`).
    #[serde(default)]
    pub venv: Option<PathBuf>,
    /// Processes in this systemd unit's cgroup (`worker.service`).
    #[serde(default)]
    pub systemd_unit: Option<String>,
    /// With `cmdline`, `venv` or `systemd_unit`: fewer matching processes
    /// than this is DEGRADED (none is FAILED). Default 1.
    #[serde(default = "one")]
    pub min_processes: u32,
    /// A file the process touches; older than `heartbeat_max_age` is FAILED.
    #[serde(default)]
    pub heartbeat_file: Option<PathBuf>,
    /// Default `60s`.
    #[serde(default = "sixty_seconds", with = "crate::time::serde_duration")]
    pub heartbeat_max_age: std::time::Duration,
    /// A local HTTP URL the process serves; not answering 2xx is FAILED.
    #[serde(default)]
    pub liveness_url: Option<String>,
    /// A process younger than this is STARTING (its heartbeat, liveness and
    /// limits are not held against it yet), or OK once its `liveness_url`
    /// answers. Default `0s`: none.
    #[serde(default, with = "crate::time::serde_duration")]
    pub startup_grace: std::time::Duration,
}

fn one() -> u32 {
    1
}

fn sixty_seconds() -> std::time::Duration {
    std::time::Duration::from_secs(60)
}

impl ProcessSpec {
    pub fn validate(&self) -> Result<(), (String, String)> {
        let given = [
            self.pidfile.is_some(),
            self.pid.is_some(),
            self.cmdline.is_some(),
            self.venv.is_some(),
            self.systemd_unit.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err((
                String::new(),
                "set exactly one of `pidfile`, `pid`, `cmdline`, `venv` or `systemd_unit`".into(),
            ));
        }
        if self.min_processes == 0 {
            return Err(("min_processes".into(), "must be at least 1".into()));
        }
        if self.min_processes > 1 && (self.pidfile.is_some() || self.pid.is_some()) {
            return Err((
                "min_processes".into(),
                "needs a selector that can match several processes (`cmdline`, `venv`, `systemd_unit`)".into(),
            ));
        }
        if let Some(url) = &self.liveness_url
            && !url.starts_with("http://")
        {
            return Err((
                "liveness_url".into(),
                format!("`{url}` must be a local http:// URL"),
            ));
        }
        if let Some(re) = &self.cmdline {
            Regex::new(re).map_err(|e| ("cmdline".to_string(), format!("invalid regex: {e}")))?;
        }
        if self.pid.is_some_and(|p| p <= 0) {
            return Err(("pid".into(), "must be a positive process id".into()));
        }
        if self.max_cpu.is_some_and(|c| c <= 0.0) {
            return Err(("max_cpu".into(), "must be a positive percentage".into()));
        }
        Ok(())
    }
}
