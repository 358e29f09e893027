//! A real ZooKeeper (Debian's `zookeeper` package) as a child process, for
//! ClickHouse's replicated tables and `ON CLUSTER` DDL.

use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::Proc;

const SERVER: &str = "/usr/share/zookeeper/bin/zkServer.sh";

pub struct ZooKeeper {
    pub port: u16,
    proc: Proc,
    _dir: tempfile::TempDir,
}

pub fn installed() -> bool {
    std::path::Path::new(SERVER).exists()
}

impl ZooKeeper {
    pub fn start() -> ZooKeeper {
        let dir = tempfile::tempdir().unwrap();
        let port = crate::free_port();
        let cfg = dir.path().join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let mut cmd = Command::new(SERVER);
        cmd.arg("start-foreground")
            .arg(&cfg)
            .env("ZOO_LOG_DIR", dir.path());
        let zk = ZooKeeper {
            port,
            proc: Proc::spawn("zookeeper", cmd),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !zk.serving() {
            assert!(
                Instant::now() < deadline,
                "zookeeper did not serve within 60s:\n{}",
                zk.proc.lines().join("\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        zk
    }

    /// Kills the server (SIGKILL).
    pub fn stop(&mut self) {
        self.proc.kill();
    }

    /// Whether the server answers the `srvr` four-letter command.
    fn serving(&self) -> bool {
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut out = String::new();
        s.write_all(b"srvr").is_ok()
            && s.read_to_string(&mut out).is_ok()
            && out.contains("Zookeeper version")
    }
}
