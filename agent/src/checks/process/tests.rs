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
    let mut check = ProcessCheck::new(spec(serde_json::json!({"pidfile": pidfile, "max_rss": 1})));
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
