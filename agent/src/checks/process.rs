//! `python_process`: finds a process by pidfile, PID or command-line regex and
//! reports whether it is alive, with CPU, memory, threads, fds and uptime.

use std::time::Instant;

use lightbulb_common::Status;
use procfs::process::Process;
use regex::Regex;

pub use lightbulb_common::spec::ProcessSpec;

use super::{BoxFuture, Check, Outcome};

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
}

impl ProcessCheck {
    pub fn new(spec: ProcessSpec) -> ProcessCheck {
        let cmdline = spec.cmdline.as_deref().and_then(|r| Regex::new(r).ok());
        ProcessCheck {
            spec,
            cmdline,
            last: None,
        }
    }

    fn find(&self) -> Result<Process, String> {
        if let Some(path) = &self.spec.pidfile {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("pidfile `{}` cannot be read: {e}", path.display()))?;
            let pid: i32 = text.trim().parse().map_err(|_| {
                format!(
                    "pidfile `{}` does not hold a PID: `{}`",
                    path.display(),
                    text.trim()
                )
            })?;
            return self.open(pid);
        }
        if let Some(pid) = self.spec.pid {
            return self.open(pid);
        }
        let re = self
            .cmdline
            .as_ref()
            .ok_or("no process selector configured")?;
        let me = std::process::id() as i32;
        let mut matches: Vec<(u64, Process)> = procfs::process::all_processes()
            .map_err(|e| format!("cannot list processes: {e}"))?
            .filter_map(Result::ok)
            .filter(|p| p.pid != me)
            .filter(|p| {
                p.cmdline()
                    .is_ok_and(|c| !c.is_empty() && re.is_match(&c.join(" ")))
            })
            .filter(|p| self.spec.any_interpreter || is_python(p))
            .filter_map(|p| Some((p.stat().ok()?.starttime, p)))
            .collect();
        matches.sort_by_key(|(start, _)| *start);
        let kind = if self.spec.any_interpreter {
            "process"
        } else {
            "Python process"
        };
        matches
            .into_iter()
            .next()
            .map(|(_, p)| p)
            .ok_or_else(|| format!("no {kind} matches cmdline `{}`", re.as_str()))
    }

    fn open(&self, pid: i32) -> Result<Process, String> {
        let p = Process::new(pid).map_err(|_| format!("process {pid} is not running"))?;
        p.stat()
            .map_err(|_| format!("process {pid} is not running"))?;
        if !self.spec.any_interpreter && !is_python(&p) {
            let name = p.stat().map(|s| s.comm).unwrap_or_default();
            return Err(format!(
                "process {pid} (`{name}`) is not a Python interpreter; set any_interpreter = true to watch it anyway"
            ));
        }
        Ok(p)
    }

    fn observe(&mut self) -> Outcome {
        let process = match self.find() {
            Ok(p) => p,
            // `last` is kept so a process that comes back is reported as restarted.
            Err(e) => return Outcome::failed(e),
        };
        let stat = match process.stat() {
            Ok(s) => s,
            Err(e) => return Outcome::failed(format!("process {} vanished: {e}", process.pid)),
        };
        let pid = process.pid;
        let tps = procfs::ticks_per_second() as f64;
        let now = Instant::now();
        let cpu_ticks = stat.utime + stat.stime;
        let uptime_s = procfs::boot_time_secs()
            .ok()
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
        outcome
    }
}

/// A process whose executable or argv[0] is a Python interpreter
/// (`python`, `python3`, `python3.11`, `pypy3`…).
fn is_python(p: &Process) -> bool {
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
        // procfs reads are quick local file reads; no await needed.
        Box::pin(std::future::ready(self.observe()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> ProcessSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_non_python_process_is_refused_unless_any_interpreter() {
        let me = std::process::id() as i32;
        let mut strict = ProcessCheck::new(spec(serde_json::json!({"pid": me})));
        let o = strict.observe();
        assert_eq!(o.status, Status::Failed);
        assert!(
            o.message.contains("not a Python interpreter"),
            "{}",
            o.message
        );
        let mut any = ProcessCheck::new(spec(
            serde_json::json!({"pid": me, "any_interpreter": true}),
        ));
        let o = any.observe();
        assert_eq!(o.status, Status::Ok, "{}", o.message);
        assert!(o.metrics.memory_usage.unwrap() > 0.0);
        assert!(o.metrics.extra["threads"] >= 1.0);
    }

    #[test]
    fn python_by_pidfile_then_gone_then_restarted() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("worker.pid");
        let child = spawn_python();
        std::fs::write(&pidfile, child.0.id().to_string()).unwrap();
        let mut check =
            ProcessCheck::new(spec(serde_json::json!({"pidfile": pidfile, "max_rss": 1})));
        let o = check.observe();
        assert_eq!(o.status, Status::Degraded, "{}", o.message);
        assert!(o.message.contains("max_rss"), "{}", o.message);
        let old = child.0.id();
        drop(child);
        assert_eq!(check.observe().status, Status::Failed);
        let second = spawn_python();
        std::fs::write(&pidfile, second.0.id().to_string()).unwrap();
        let o = check.observe();
        assert!(
            o.message
                .contains(&format!("restarted: pid {old} → {}", second.0.id())),
            "{}",
            o.message
        );
    }

    #[test]
    fn a_zombie_is_failed() {
        // A child that has exited but is not yet reaped stays a zombie.
        let child = spawn_python_exiting();
        let pid = child.0.id() as i32;
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        while Process::new(pid)
            .and_then(|p| p.stat())
            .map(|s| s.state)
            .ok()
            != Some('Z')
        {
            assert!(Instant::now() < deadline, "child never became a zombie");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let mut check = ProcessCheck::new(spec(
            serde_json::json!({"pid": pid, "any_interpreter": true}),
        ));
        let o = check.observe();
        assert_eq!(o.status, Status::Failed);
        assert!(o.message.contains("zombie"), "{}", o.message);
        drop(child);
    }

    /// A child process killed when dropped, so a failing test leaves nothing behind.
    struct Child(std::process::Child);

    impl Drop for Child {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// The real interpreter, not a launcher script that execs it later.
    fn python() -> &'static str {
        static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        PATH.get_or_init(|| {
            let out = std::process::Command::new("python3")
                .args(["-c", "import sys; print(sys.executable)"])
                .output()
                .expect("python3 runs");
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        })
    }

    /// A Python process that has started its interpreter (it said so).
    fn spawn_python() -> Child {
        use std::io::BufRead;
        let mut child = std::process::Command::new(python())
            .args([
                "-c",
                "import time\nprint('ready', flush=True)\nwhile True: time.sleep(1)",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        let child = Child(child);
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        child
    }

    fn spawn_python_exiting() -> Child {
        Child(
            std::process::Command::new(python())
                .args(["-c", "pass"])
                .spawn()
                .unwrap(),
        )
    }
}
