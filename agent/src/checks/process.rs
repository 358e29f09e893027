//! `python_process`: finds processes by pidfile, PID, command-line regex,
//! virtualenv or systemd unit (`process/select.rs`) and reports whether the
//! oldest is alive, with CPU, memory, threads, fds, uptime, children and
//! restarts; how many match against `min_processes`; optional liveness by a
//! heartbeat file's age or a local HTTP URL.

use std::time::Instant;

use lightbulb_common::Status;
use procfs::process::Process;
use regex::Regex;

pub use lightbulb_common::spec::ProcessSpec;

use super::{BoxFuture, Check, Outcome};

mod select;

/// CPU time seen at the previous run, to turn ticks into a percentage.
struct Sample {
    pid: i32,
    start_ticks: u64,
    cpu_ticks: u64,
    at: Instant,
}

pub struct ProcessCheck {
    spec: ProcessSpec,
    cmdline: Option<Regex>,
    last: Option<Sample>,
    /// Built only for a `liveness_url`, shared with other checks.
    client: Option<Result<reqwest::Client, String>>,
    /// Set by a run that found a live process younger than `startup_grace`:
    /// its uptime in seconds.
    young: Option<f64>,
}

impl ProcessCheck {
    pub fn new(spec: ProcessSpec) -> ProcessCheck {
        let cmdline = spec.cmdline.as_deref().and_then(|r| Regex::new(r).ok());
        let client = spec.liveness_url.as_ref().map(|_| {
            super::support::shared_client(super::support::ClientKey {
                redirects: Some(10),
                insecure: false,
                ca: None,
                timeout: Some(std::time::Duration::from_secs(5)),
            })
        });
        ProcessCheck {
            spec,
            cmdline,
            last: None,
            client,
            young: None,
        }
    }

    fn observe(&mut self) -> Outcome {
        self.young = None;
        let found = match select::matching(&self.spec, self.cmdline.as_ref()) {
            Ok(found) => found,
            // `last` is kept so a process that comes back is reported as restarted.
            Err(e) => return Outcome::failed(e),
        };
        let count = found.len();
        let Some(process) = found.into_iter().next() else {
            return Outcome::failed("no process matches");
        };
        let stat = match process.stat() {
            Ok(s) => s,
            Err(e) => return Outcome::failed(format!("process {} vanished: {e}", process.pid)),
        };
        let pid = process.pid;
        let tps = procfs::ticks_per_second() as f64;
        let now = Instant::now();
        let cpu_ticks = stat.utime + stat.stime;
        let uptime_s = select::boot_time_secs()
            .map(|boot| {
                let started = boot as f64 + stat.starttime as f64 / tps;
                (lightbulb_common::time::now_ms() as f64 / 1000.0 - started).max(0.0)
            })
            .unwrap_or(0.0);
        let restarted_from = self
            .last
            .as_ref()
            .filter(|l| l.pid != pid || l.start_ticks != stat.starttime)
            .map(|l| l.pid);
        let cpu = match self
            .last
            .as_ref()
            .filter(|l| l.pid == pid && l.start_ticks == stat.starttime)
        {
            Some(l) => {
                let secs = now.duration_since(l.at).as_secs_f64();
                if secs > 0.0 {
                    (cpu_ticks.saturating_sub(l.cpu_ticks)) as f64 / tps / secs * 100.0
                } else {
                    0.0
                }
            }
            None if uptime_s > 0.0 => cpu_ticks as f64 / tps / uptime_s * 100.0,
            None => 0.0,
        };
        self.last = Some(Sample {
            pid,
            start_ticks: stat.starttime,
            cpu_ticks,
            at: now,
        });
        let rss = stat.rss * procfs::page_size();
        if stat.state != 'Z' && uptime_s < self.spec.startup_grace.as_secs_f64() {
            self.young = Some(uptime_s);
        }
        let mut outcome = if stat.state == 'Z' {
            Outcome::failed(format!("process {pid} is a zombie"))
        } else {
            let mut warnings = Vec::new();
            if let Some(max) = self.spec.max_cpu.filter(|m| cpu > *m) {
                warnings.push(format!("cpu {cpu:.1}% over max_cpu {max}%"));
            }
            if let Some(max) = self.spec.max_rss.filter(|m| rss > *m) {
                warnings.push(format!("rss {rss} bytes over max_rss {max}"));
            }
            if warnings.is_empty() {
                Outcome::new(Status::Ok, format!("process {pid} running"))
            } else {
                Outcome::new(
                    Status::Degraded,
                    format!("process {pid}: {}", warnings.join(", ")),
                )
            }
        };
        if let Some(old) = restarted_from {
            outcome
                .message
                .push_str(&format!(" (restarted: pid {old} → {pid})"));
        }
        outcome.metrics.cpu_usage = Some(cpu);
        outcome.metrics.memory_usage = Some(rss as f64);
        let extra = &mut outcome.metrics.extra;
        extra.insert("pid".into(), f64::from(pid));
        extra.insert("threads".into(), stat.num_threads as f64);
        extra.insert("uptime_s".into(), uptime_s.round());
        if let Ok(fds) = process.fd_count() {
            extra.insert("open_fds".into(), fds as f64);
        }
        extra.insert("processes".into(), count as f64);
        extra.insert("children".into(), select::children(pid) as f64);
        if (count as u32) < self.spec.min_processes {
            worsen(
                &mut outcome,
                Status::Degraded,
                format!(
                    "only {count} of at least {} processes",
                    self.spec.min_processes
                ),
            );
        }
        if let Some(path) = &self.spec.heartbeat_file {
            let age = std::fs::metadata(path)
                .and_then(|m| m.modified())
                .map(|t| t.elapsed().unwrap_or_default());
            match age {
                Err(e) => worsen(
                    &mut outcome,
                    Status::Failed,
                    format!("heartbeat file `{}`: {e}", path.display()),
                ),
                Ok(age) => {
                    extra_insert(&mut outcome, "heartbeat_age_s", age.as_secs_f64().round());
                    if age > self.spec.heartbeat_max_age {
                        worsen(
                            &mut outcome,
                            Status::Failed,
                            format!(
                                "heartbeat file `{}` is {} s old (max {})",
                                path.display(),
                                age.as_secs(),
                                humantime::format_duration(self.spec.heartbeat_max_age)
                            ),
                        );
                    }
                }
            }
        }
        outcome
    }

    /// FAILED unless `liveness_url` answers 2xx.
    async fn liveness(&self, outcome: &mut Outcome) {
        let Some(url) = &self.spec.liveness_url else {
            return;
        };
        let client = match &self.client {
            Some(Ok(c)) => c,
            Some(Err(e)) => return worsen(outcome, Status::Failed, format!("liveness {url}: {e}")),
            None => return,
        };
        let answer = client.get(url).send().await;
        match answer {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => worsen(
                outcome,
                Status::Failed,
                format!("liveness {url} answered HTTP {}", r.status().as_u16()),
            ),
            Err(e) => worsen(
                outcome,
                Status::Failed,
                format!("liveness {url} failed: {}", super::support::error_chain(&e)),
            ),
        }
    }
}

impl ProcessCheck {
    /// Within `startup_grace`: STARTING, unless the liveness URL already
    /// answers (then the run stands as it is).
    fn starting(&self, outcome: &mut Outcome, uptime_s: f64) {
        if self.spec.liveness_url.is_some() && outcome.status != Status::Failed {
            return;
        }
        outcome.status = Status::Starting;
        outcome.message = format!(
            "starting: up {uptime_s:.0} s of startup_grace {}; {}",
            humantime::format_duration(self.spec.startup_grace),
            outcome.message
        );
    }
}

/// Makes `outcome` at least `status`, adding the reason to the message.
fn worsen(outcome: &mut Outcome, status: Status, reason: String) {
    outcome.status = outcome.status.worst(status);
    outcome.message = format!("{}; {reason}", outcome.message);
}

fn extra_insert(outcome: &mut Outcome, key: &str, value: f64) {
    outcome.metrics.extra.insert(key.into(), value);
}

/// A process whose executable or argv[0] is a Python interpreter
/// (`python`, `python3`, `python3.11`, `pypy3`…).
pub(super) fn is_python(p: &Process) -> bool {
    let looks_python = |name: &str| {
        let base = name.rsplit('/').next().unwrap_or(name);
        let rest = base
            .strip_prefix("python")
            .or_else(|| base.strip_prefix("pypy"));
        rest.is_some_and(|r| r.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
    p.exe().is_ok_and(|e| looks_python(&e.to_string_lossy()))
        || p.cmdline()
            .is_ok_and(|c| c.first().is_some_and(|a| looks_python(a)))
}

impl Check for ProcessCheck {
    fn run(&mut self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            // procfs reads are quick local file reads; only liveness awaits.
            let mut outcome = self.observe();
            if outcome.status != Status::Failed || self.young.is_some() {
                self.liveness(&mut outcome).await;
            }
            if let Some(uptime) = self.young {
                self.starting(&mut outcome, uptime);
            }
            outcome
        })
    }
}

#[cfg(test)]
mod tests;
