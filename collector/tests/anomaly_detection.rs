//! Unusual hours found in generated histories: five weeks of hourly p95
//! response times (a daily shape, flatter at the weekend, 8 % noise) and
//! error rates (1 %, with noise). In the last week, six single hours and a
//! 10-hour shift are made unusual: response times 1.8 times the usual,
//! error rates 6–10 %. Precision and recall are over the last week's hours
//! (docs/benchmarks.md §15), and a clean seasonal history has no anomaly.

mod support;

use std::collections::BTreeSet;

use lightbulb_collector::insights::anomaly::{Metric, Settings, detect};
use support::rng::Rng;

const HOUR_MS: i64 = 3_600_000;
const HOURS: i64 = 5 * 168;
/// The first hour of the last week, the one examined.
const FROM: i64 = HOURS - 168;

fn uniform(rng: &mut Rng) -> f64 {
    (rng.next() >> 11) as f64 / (1u64 << 53) as f64
}

fn gauss(rng: &mut Rng) -> f64 {
    let (u, v) = (uniform(rng).max(1e-12), uniform(rng));
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Busy in the day, quiet at night, quieter on the weekend.
fn shape(h: i64) -> f64 {
    let day = ((h % 24) as f64 / 24.0 * std::f64::consts::TAU - std::f64::consts::FRAC_PI_2).sin();
    let weekend = (h / 24) % 7 >= 5;
    1.0 + if weekend { 0.15 } else { 0.4 } * day
}

/// Hours of the last week made unusual: a few spikes and a shift.
fn injected(rng: &mut Rng, spikes: usize, shift: i64) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    while out.len() < spikes {
        out.insert(FROM + rng.below(168 - shift as u64 - 1) as i64);
    }
    let start = FROM + 168 - shift - rng.below(24) as i64;
    out.extend(start..start + shift);
    out
}

fn response_times(rng: &mut Rng, odd: &BTreeSet<i64>) -> Vec<(i64, f64)> {
    (0..HOURS)
        .map(|h| {
            let usual = 120.0 * shape(h) * (1.0 + 0.08 * gauss(rng));
            let v = if odd.contains(&h) { usual * 1.8 } else { usual };
            (h * HOUR_MS, v)
        })
        .collect()
}

fn error_rates(rng: &mut Rng, odd: &BTreeSet<i64>) -> Vec<(i64, f64)> {
    (0..HOURS)
        .map(|h| {
            let usual = (0.01 + 0.004 * gauss(rng)).max(0.0);
            let v = if odd.contains(&h) {
                0.15 + 0.05 * uniform(rng)
            } else {
                usual
            };
            (h * HOUR_MS, v)
        })
        .collect()
}

#[test]
fn injected_spikes_and_shifts_are_found_and_nothing_else() {
    let mut rng = Rng::from_env(0xa11ce);
    let settings = Settings::default();
    for (metric, make) in [
        (
            Metric::ResponseTimeMs,
            response_times as fn(&mut Rng, &BTreeSet<i64>) -> Vec<(i64, f64)>,
        ),
        (Metric::ErrorRate, error_rates),
    ] {
        let (mut found_right, mut found, mut truth) = (0usize, 0usize, 0usize);
        let mut clean_found = 0;
        for _ in 0..20 {
            let odd = injected(&mut rng, 6, 10);
            let series = make(&mut rng, &odd);
            let hits: BTreeSet<i64> = detect(metric, &series, FROM * HOUR_MS, &settings)
                .iter()
                .map(|a| a.start_ms / HOUR_MS)
                .collect();
            found_right += hits.intersection(&odd).count();
            found += hits.len();
            truth += odd.len();
            let clean = make(&mut rng, &BTreeSet::new());
            clean_found += detect(metric, &clean, FROM * HOUR_MS, &settings).len();
        }
        let precision = found_right as f64 / found.max(1) as f64;
        let recall = found_right as f64 / truth as f64;
        println!(
            "{metric:?}: 20 weeks with 16 unusual hours each: precision {precision:.3}, recall {recall:.3}; clean weeks: {clean_found} anomalies"
        );
        assert!(precision >= 0.9, "{metric:?} precision {precision:.3}");
        assert!(recall >= 0.9, "{metric:?} recall {recall:.3}");
        assert_eq!(
            clean_found, 0,
            "{metric:?}: anomalies in clean seasonal weeks"
        );
    }
}
