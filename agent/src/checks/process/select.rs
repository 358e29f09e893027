//! Which processes a `python_process` check watches: by pidfile or PID
//! (one), or by command line, virtualenv or systemd unit (any number,
//! oldest first).

use std::sync::OnceLock;

use procfs::process::Process;
use regex::Regex;

use super::{ProcessSpec, is_python};

/// The processes matching `spec`, oldest first; an error says why none.
pub(super) fn matching(
    spec: &ProcessSpec,
    cmdline: Option<&Regex>,
) -> Result<Vec<Process>, String> {
    if let Some(path) = &spec.pidfile {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("pidfile `{}` cannot be read: {e}", path.display()))?;
        let pid: i32 = text.trim().parse().map_err(|_| {
            format!(
                "pidfile `{}` does not hold a PID: `{}`",
                path.display(),
                text.trim()
            )
        })?;
        return open(spec, pid).map(|p| vec![p]);
    }
    if let Some(pid) = spec.pid {
        return open(spec, pid).map(|p| vec![p]);
    }
    let mut found = select(spec, cmdline)?;
    found.sort_by_key(|(start, _)| *start);
    if found.is_empty() {
        let kind = if spec.any_interpreter {
            "process"
        } else {
            "Python process"
        };
        let by = match (cmdline, &spec.venv, &spec.systemd_unit) {
            (Some(re), _, _) => format!("matches cmdline `{}`", re.as_str()),
            (_, Some(v), _) => format!("runs from virtualenv `{}`", v.display()),
            (_, _, Some(u)) => format!("runs in systemd unit `{u}`"),
            _ => "is selected".into(),
        };
        return Err(format!("no {kind} {by}"));
    }
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// The running processes `spec` wants, with their start times. The list is
/// read on every run: one shared between checks could predate a process
/// that just started or just exec'd.
fn select(spec: &ProcessSpec, cmdline: Option<&Regex>) -> Result<Vec<(u64, Process)>, String> {
    let me = std::process::id() as i32;
    let wanted = |p: &Process| -> bool {
        if let Some(re) = cmdline {
            return p
                .cmdline()
                .is_ok_and(|args| !args.is_empty() && re.is_match(&args.join(" ")));
        }
        if let Some(venv) = &spec.venv {
            // A venv's python is a symlink to the system one: argv[0] tells.
            let bin = venv.join("bin");
            return p.cmdline().is_ok_and(|args| {
                args.first()
                    .is_some_and(|a| std::path::Path::new(a).starts_with(&bin))
            });
        }
        if let Some(unit) = &spec.systemd_unit {
            return std::fs::read_to_string(format!("/proc/{}/cgroup", p.pid))
                .is_ok_and(|text| in_unit(&text, unit));
        }
        false
    };
    Ok(procfs::process::all_processes()
        .map_err(|e| format!("cannot list processes: {e}"))?
        .filter_map(Result::ok)
        .filter(|p| p.pid != me && wanted(p))
        .filter(|p| spec.any_interpreter || is_python(p))
        .filter_map(|p| Some((p.stat().ok()?.starttime, p)))
        .collect())
}

fn open(spec: &ProcessSpec, pid: i32) -> Result<Process, String> {
    let p = Process::new(pid).map_err(|_| format!("process {pid} is not running"))?;
    p.stat()
        .map_err(|_| format!("process {pid} is not running"))?;
    if !spec.any_interpreter && !is_python(&p) {
        let name = p.stat().map(|s| s.comm).unwrap_or_default();
        return Err(format!(
            "process {pid} (`{name}`) is not a Python interpreter; set any_interpreter = true to watch it anyway"
        ));
    }
    Ok(p)
}

/// Whether a `/proc/PID/cgroup` text puts the process in `unit`.
pub(super) fn in_unit(cgroup: &str, unit: &str) -> bool {
    cgroup.lines().any(|line| {
        let path = line.rsplit(':').next().unwrap_or_default();
        path.split('/').any(|part| part == unit)
    })
}

/// How many processes have `pid` as their parent: from each thread's
/// `children` file, or by reading every process where the kernel has none.
pub(super) fn children(pid: i32) -> usize {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"));
    let counted: Option<usize> = tasks.ok().and_then(|tasks| {
        tasks
            .filter_map(Result::ok)
            .map(|t| std::fs::read_to_string(t.path().join("children")).ok())
            .map(|text| text.map(|t| t.split_whitespace().count()))
            .sum()
    });
    counted.unwrap_or_else(|| {
        procfs::process::all_processes()
            .map(|all| {
                all.filter_map(Result::ok)
                    .filter(|p| p.stat().is_ok_and(|s| s.ppid == pid))
                    .count()
            })
            .unwrap_or(0)
    })
}

/// The boot time, read once: `/proc/stat` does not change it.
pub(super) fn boot_time_secs() -> Option<u64> {
    static BOOT: OnceLock<Option<u64>> = OnceLock::new();
    *BOOT.get_or_init(|| procfs::boot_time_secs().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_paths_name_their_unit() {
        let v2 = "0::/system.slice/worker.service\n";
        let v1 = "12:pids:/system.slice/worker.service\n1:name=systemd:/system.slice/worker.service/sub\n";
        assert!(in_unit(v2, "worker.service"));
        assert!(in_unit(v1, "worker.service"));
        assert!(!in_unit(v2, "other.service"));
        assert!(!in_unit("0::/\n", "worker.service"));
    }
}
