//! The chaos test's faults that need more than a signal: a spool on a small
//! tmpfs that can be filled, the agent's clock under libfaketime, and
//! spool records corrupted on disk.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use prost::Message;

/// Polls `f` every 20 ms until it holds; fails after `timeout`.
#[track_caller]
pub fn until(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A tmpfs mounted for the test (root only), unmounted on drop.
pub struct Tmpfs {
    at: PathBuf,
}

impl Tmpfs {
    pub fn mount(at: &Path, bytes: u64) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs { at: at.into() })
    }

    /// Fills the filesystem to the last byte with a file, returned.
    pub fn fill(&self) -> PathBuf {
        let path = self.at.join("ballast");
        let mut file = std::fs::File::create(&path).unwrap();
        for chunk in [1 << 20, 4096] {
            let block = vec![0u8; chunk];
            while file.write_all(&block).is_ok() {}
        }
        let _ = file.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

/// The agent's wall clock, stepped through libfaketime's timestamp file
/// (the monotonic clock, which timers use, is left alone, as an NTP step
/// leaves it).
pub struct Clock {
    library: PathBuf,
    file: PathBuf,
}

impl Clock {
    pub fn new(dir: &Path) -> Result<Clock, String> {
        let library = std::fs::read_dir("/usr/lib")
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|d| d.path().join("faketime/libfaketime.so.1"))
            .find(|p| p.exists())
            .ok_or("libfaketime is not installed (Debian package faketime)")?;
        let clock = Clock {
            library,
            file: dir.join("faketime"),
        };
        clock.set("+0");
        Ok(clock)
    }

    /// Steps the clock of every process under it to `offset` from real time
    /// (`-2d`, `+1d`).
    pub fn set(&self, offset: &str) {
        std::fs::write(&self.file, format!("{offset}\n")).unwrap();
    }

    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("LD_PRELOAD", &self.library)
            .env("FAKETIME_TIMESTAMP_FILE", &self.file)
            .env("FAKETIME_CACHE_DURATION", "1")
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    }
}

/// Flips the last byte of every `every`-th result not yet acknowledged in
/// the spool's segments (`[length u32][CRC-32 u32][payload]` frames, seqs
/// consecutive from the file name's), so each fails its checksum; returns
/// how many were flipped.
pub fn corrupt_unacked(spool: &Path, every: u64) -> u64 {
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(spool.join("meta")).unwrap()).unwrap();
    let acked = meta["acked"].as_u64().unwrap();
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(spool.join("segments"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            Some((name.strip_suffix(".seg")?.parse().ok()?, e.path()))
        })
        .collect();
    files.sort();
    let mut flipped = 0;
    let mut unacked = 0u64;
    for (first, path) in files {
        let mut bytes = std::fs::read(&path).unwrap();
        let (mut at, mut seq) = (0usize, first);
        while at + 8 <= bytes.len() {
            let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            let end = at + 8 + len;
            assert!(end <= bytes.len(), "torn frame in {}", path.display());
            let frame = lightbulb_proto::v1::CheckResult::decode(&bytes[at + 8..end]).unwrap();
            if seq > acked && frame.gap.is_none() {
                unacked += 1;
                if unacked.is_multiple_of(every) {
                    bytes[end - 1] ^= 0xff;
                    flipped += 1;
                }
            }
            (at, seq) = (end, seq + 1);
        }
        std::fs::write(&path, bytes).unwrap();
    }
    flipped
}
