//! Property tests on stable Rust over what lightbulb reads from disk:
//! configuration files (the agent's and the collector's, mutated from
//! valid ones: bytes flipped, cut, repeated, TOML tokens put in) are
//! loaded or refused with an error, never a panic; and a spool whose files
//! are damaged (bytes flipped, cut, garbage appended, a file replaced or
//! gone, `meta` mangled) opens, or is refused only for a mangled `meta`
//! naming it, and when it opens, reads
//! back strictly increasing seqs and hands out a new seq past all of them.
//! Seeded (`LIGHTBULB_FUZZ_SEED`; `LIGHTBULB_FUZZ_CASES` for more): a
//! failing seed becomes a fixed case here.

mod support;

use std::path::{Path, PathBuf};

use lightbulb_agent::spool::Spool;
use lightbulb_proto::v1;
use support::rng::Rng;

const TOML_TOKENS: &[&[u8]] = &[
    b"\"",
    b"'",
    b"[",
    b"]]",
    b"=",
    b"\n[x]\n",
    b"\n[[checks]]\n",
    b"{",
    b"\"1s\"",
    b"\"0s\"",
    b"-1",
    b"1e999",
    b"99999999999999999999",
    b"\"\\u0000\"",
    b"true",
    b"\xff",
    b"#",
];

fn config_cases(valid: &[PathBuf], load: impl Fn(&Path) -> Result<(), String>) {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::from_env(0xc0f19);
    let (mut ok, mut refused) = (0, 0);
    for case in 0..Rng::cases(300) {
        let source = rng.pick(valid);
        let mut bytes = std::fs::read(&source).unwrap();
        rng.mutate(&mut bytes, TOML_TOKENS);
        let path = dir.path().join(format!("case-{case}.toml"));
        std::fs::write(&path, &bytes).unwrap();
        match load(&path) {
            Ok(()) => ok += 1,
            Err(e) => {
                assert!(
                    e.contains(&path.display().to_string()),
                    "case {case}: the error names the file: {e}"
                );
                refused += 1;
            }
        }
    }
    println!("configurations: {ok} loaded, {refused} refused with the file named");
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn mutated_agent_configs_load_or_are_refused_naming_the_file() {
    let valid = vec![
        root().join("agent/tests/fixtures/agent-valid.toml"),
        root().join("packaging/config/agent.toml"),
    ];
    config_cases(&valid, |path| {
        lightbulb_agent::config::AgentConfig::load(Some(path))
            .map(drop)
            .map_err(|e| e.to_string())
    });
}

#[test]
fn mutated_collector_configs_load_or_are_refused_naming_the_file() {
    let valid = vec![
        root().join("collector/tests/fixtures/collector-valid.toml"),
        root().join("packaging/config/collector.toml"),
    ];
    config_cases(&valid, |path| {
        lightbulb_collector::config::CollectorConfig::load(Some(path))
            .map(drop)
            .map_err(|e| e.to_string())
    });
}

fn result(i: u64) -> v1::CheckResult {
    v1::CheckResult {
        service_id: format!("svc-{}", i % 7),
        service_type: "api_endpoint".into(),
        timestamp_ms: 1_700_000_000_000 + i as i64,
        message: format!("result {i}"),
        ..Default::default()
    }
}

/// A spool of several segments, some acknowledged, closed.
fn spool(dir: &Path) {
    let spool = Spool::open(dir, 64 << 10).unwrap();
    let batch: Vec<v1::CheckResult> = (0..600).map(result).collect();
    spool.append(&batch).unwrap();
    spool.make_durable().unwrap();
    spool.ack(150).unwrap();
}

fn damage(rng: &mut Rng, dir: &Path) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("segments"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files.push(dir.join("meta"));
    for _ in 0..1 + rng.below(3) {
        let path = rng.pick(&files);
        let Ok(mut bytes) = std::fs::read(&path) else {
            continue;
        };
        match rng.below(8) {
            0 => {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            1 => bytes = (0..rng.below(5000)).map(|_| rng.next() as u8).collect(),
            _ => rng.mutate(&mut bytes, &[b"\xff\xff\xff\xff", b"\0\0\0\0\0\0\0\0"]),
        }
        std::fs::write(&path, bytes).unwrap();
    }
}

#[test]
fn damaged_spools_open_or_are_refused_and_read_back_in_order() {
    let mut rng = Rng::from_env(0x5b001);
    let (mut opened, mut refused) = (0, 0);
    for case in 0..Rng::cases(120) {
        let dir = tempfile::tempdir().unwrap();
        spool(dir.path());
        damage(&mut rng, dir.path());
        let spool = match Spool::open(dir.path(), 64 << 10) {
            Ok(s) => s,
            // Damaged segments are read around; only a `meta` that does
            // not parse stops the spool (its watermarks guard seqs), and
            // the error says which file.
            Err(e) => {
                let e = e.to_string();
                assert!(e.contains("/meta` is damaged"), "case {case}: {e}");
                refused += 1;
                continue;
            }
        };
        opened += 1;
        let mut last = 0;
        loop {
            let batch = spool.read_after(last, 97).unwrap();
            let Some(newest) = batch.last().map(|r| r.seq) else {
                break;
            };
            for r in &batch {
                assert!(r.seq > last, "case {case}: seq {} after {last}", r.seq);
                last = r.seq;
            }
            spool.ack(newest).unwrap();
        }
        let next = spool.append(&[result(0)]).unwrap();
        assert!(next > last, "case {case}: new seq {next} not past {last}");
    }
    println!("damaged spools: {opened} opened, {refused} refused");
}
