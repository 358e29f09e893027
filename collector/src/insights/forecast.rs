//! When a gauge reaches its limit (memory against a pod's limit, RSS
//! against `max_rss`, spool bytes against `max_bytes`, free disk falling to
//! zero): a linear fit and Holt's linear trend over its samples, each with
//! the time the gauge reaches the limit and a 95 % band around it.
//!
//! The linear fit is least squares; its band is where the 95 % prediction
//! interval crosses the limit. Holt's method smooths level and trend (the
//! level's weight picked by the smallest one-step error, the trend's kept
//! small so noise does not steer it); its band comes from the spread of
//! those one-step errors. A trend that is not clearly away from zero (the
//! least-squares slope under two standard errors), or that moves away from
//! the limit, never reaches it, by either method.

use serde::Serialize;

const Z95: f64 = 1.96;
const HOUR_MS: f64 = 3_600_000.0;

/// How the trend was fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ForecastMethod)]
pub enum Method {
    Linear,
    Holt,
}

/// When the gauge reaches the limit, by one method.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Reach {
    pub method: Method,
    /// Change per hour.
    pub slope_per_hour: f64,
    /// Expected time it reaches the limit (ms); none if it does not head there.
    pub at_ms: Option<i64>,
    /// The 95 % band around `at_ms`; `latest_ms` is none when the slow end
    /// never gets there.
    pub earliest_ms: Option<i64>,
    pub latest_ms: Option<i64>,
}

/// Both methods for `samples` (ms, value; at least 4, any order) against
/// `limit`, looking at most `horizon_ms` past the last sample.
pub fn reach(samples: &[(i64, f64)], limit: f64, horizon_ms: i64) -> Option<[Reach; 2]> {
    let mut s: Vec<(f64, f64)> = samples
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|&(t, v)| (t as f64 / HOUR_MS, v))
        .collect();
    if s.len() < 4 {
        return None;
    }
    s.sort_by(|a, b| a.0.total_cmp(&b.0));
    let fit = Fit::of(&s);
    let last = s[s.len() - 1].0;
    let horizon = last + horizon_ms as f64 / HOUR_MS;
    // Heading for the limit: the trend is clear and points at it.
    let up = limit > fit.at(last);
    let heading = fit.slope.abs() > 2.0 * fit.slope_se && (fit.slope > 0.0) == up;
    let when = |method, slope, at: &dyn Fn(f64) -> f64, band: &dyn Fn(f64) -> f64| {
        let mut r = Reach {
            method,
            slope_per_hour: slope,
            at_ms: None,
            earliest_ms: None,
            latest_ms: None,
        };
        if heading {
            let past = |v: f64| if up { v >= limit } else { v <= limit };
            let sign = if up { 1.0 } else { -1.0 };
            let at_h = first(last, horizon, |x| past(at(x)));
            let earliest = first(last, horizon, |x| past(at(x) + sign * band(x)));
            r.at_ms = to_ms(at_h);
            r.earliest_ms = to_ms(earliest.or(at_h));
            r.latest_ms = to_ms(first(last, horizon, |x| past(at(x) - sign * band(x))));
        }
        r
    };
    let linear = when(Method::Linear, fit.slope, &|x| fit.at(x), &|x| fit.band(x));
    let h = Holt::of(&s);
    let holt = when(Method::Holt, h.trend, &|x| h.at(x), &|x| h.band(x));
    Some([linear, holt])
}

fn to_ms(hours: Option<f64>) -> Option<i64> {
    hours.map(|h| (h * HOUR_MS).round() as i64)
}

/// The first hour in (`from`, `to`] where `f` is true, if `f` turns true
/// once and stays so (bisection, to a minute).
fn first(from: f64, to: f64, f: impl Fn(f64) -> bool) -> Option<f64> {
    if !f(to) {
        return None;
    }
    if f(from) {
        return Some(from);
    }
    let (mut lo, mut hi) = (from, to);
    while hi - lo > 1.0 / 60.0 {
        let mid = (lo + hi) / 2.0;
        if f(mid) { hi = mid } else { lo = mid }
    }
    Some(hi)
}

/// The least-squares line through the samples (hours, value).
struct Fit {
    n: f64,
    mx: f64,
    my: f64,
    sxx: f64,
    slope: f64,
    /// Residual standard error.
    se: f64,
    slope_se: f64,
}

impl Fit {
    fn of(s: &[(f64, f64)]) -> Fit {
        let n = s.len() as f64;
        let mx = s.iter().map(|p| p.0).sum::<f64>() / n;
        let my = s.iter().map(|p| p.1).sum::<f64>() / n;
        let sxx: f64 = s.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = s.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        let sse: f64 = s
            .iter()
            .map(|p| (p.1 - my - slope * (p.0 - mx)).powi(2))
            .sum();
        let se = (sse / (n - 2.0)).sqrt();
        let slope_se = if sxx > 0.0 {
            se / sxx.sqrt()
        } else {
            f64::INFINITY
        };
        Fit {
            n,
            mx,
            my,
            sxx,
            slope,
            se,
            slope_se,
        }
    }

    fn at(&self, x: f64) -> f64 {
        self.my + self.slope * (x - self.mx)
    }

    /// Half the 95 % prediction interval at `x`.
    fn band(&self, x: f64) -> f64 {
        Z95 * self.se * (1.0 + 1.0 / self.n + (x - self.mx).powi(2) / self.sxx.max(1e-9)).sqrt()
    }
}

/// Holt's level and trend after the last sample.
struct Holt {
    last: f64,
    step: f64,
    level: f64,
    trend: f64,
    alpha: f64,
    /// Root mean square of the one-step errors.
    rmse: f64,
}

impl Holt {
    fn of(s: &[(f64, f64)]) -> Holt {
        let last = s[s.len() - 1].0;
        let step = ((last - s[0].0) / (s.len() - 1) as f64).max(1e-9);
        let mut best: Option<Holt> = None;
        for alpha in [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9] {
            let (level, trend, mse) = smooth(s, alpha, BETA);
            if best.as_ref().is_none_or(|b| mse.sqrt() < b.rmse) {
                best = Some(Holt {
                    last,
                    step,
                    level,
                    trend,
                    alpha,
                    rmse: mse.sqrt(),
                });
            }
        }
        best.expect("a grid of alphas")
    }

    fn at(&self, x: f64) -> f64 {
        self.level + self.trend * (x - self.last)
    }

    /// Half the 95 % band `x` hours on: the error of a forecast h steps
    /// ahead grows as sqrt(1 + (h-1) alpha^2).
    fn band(&self, x: f64) -> f64 {
        let h = ((x - self.last) / self.step).max(1.0);
        Z95 * self.rmse * (1.0 + (h - 1.0) * self.alpha * self.alpha).sqrt()
    }
}

/// The trend's smoothing: small, so a week of noisy samples does not steer it.
const BETA: f64 = 0.02;

/// Level and trend after the last sample, and the one-step errors' mean
/// square, for smoothing `alpha` and `beta` (steps in hours). The trend
/// starts as the least-squares slope of the first quarter.
fn smooth(s: &[(f64, f64)], alpha: f64, beta: f64) -> (f64, f64, f64) {
    let head = Fit::of(&s[..(s.len() / 4).max(3)]);
    let mut level = head.at(s[0].0);
    let mut trend = head.slope;
    let mut sse = 0.0;
    let mut t = s[0].0;
    for &(x, y) in &s[1..] {
        let dt = (x - t).max(1e-9);
        let predicted = level + trend * dt;
        sse += (y - predicted).powi(2);
        let new_level = alpha * y + (1.0 - alpha) * predicted;
        trend = beta * (new_level - level) / dt + (1.0 - beta) * trend;
        level = new_level;
        t = x;
    }
    (level, trend, sse / (s.len() - 1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gaussian noise of standard deviation `sd` (xorshift, Box-Muller).
    struct Noise(u64);

    impl Noise {
        fn uniform(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }

        fn next(&mut self, sd: f64) -> f64 {
            let (u, v) = (self.uniform().max(1e-12), self.uniform());
            sd * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        }
    }

    /// A week of hourly samples of `f(hour)` plus noise.
    fn week(f: impl Fn(f64) -> f64, sd: f64, seed: u64) -> Vec<(i64, f64)> {
        let mut noise = Noise(seed);
        (0..168)
            .map(|h| ((h as f64 * HOUR_MS) as i64, f(h as f64) + noise.next(sd)))
            .collect()
    }

    const HORIZON: i64 = 90 * 24 * 3_600_000;

    /// Hours from the last sample (hour 167) to the reach, by each method.
    fn hours_left(samples: &[(i64, f64)], limit: f64) -> Vec<Option<f64>> {
        reach(samples, limit, HORIZON)
            .unwrap()
            .iter()
            .map(|r| r.at_ms.map(|t| t as f64 / HOUR_MS - 167.0))
            .collect()
    }

    #[test]
    fn a_rising_noisy_gauge_reaches_its_limit_within_ten_percent() {
        for (sd, seed) in [(10.0, 1), (40.0, 2), (40.0, 3)] {
            let s = week(|h| 200.0 + 2.0 * h, sd, seed);
            // 200 + 2h = 1000 at hour 400: 233 hours after the last sample.
            for (i, left) in hours_left(&s, 1000.0).into_iter().enumerate() {
                let left = left.unwrap_or_else(|| panic!("method {i}, sd {sd}: no reach"));
                println!("rising, sd {sd}, seed {seed}, method {i}: {left:.1} h left (true 233)");
                assert!(
                    (left - 233.0).abs() <= 23.3,
                    "method {i}, sd {sd}: {left:.1} h"
                );
            }
            let linear = reach(&s, 1000.0, HORIZON).unwrap()[0];
            let truth = (400.0 * HOUR_MS) as i64;
            assert!(linear.earliest_ms.unwrap() <= truth && truth <= linear.latest_ms.unwrap());
        }
    }

    #[test]
    fn free_disk_falling_to_zero_is_reached_within_ten_percent() {
        let s = week(|h| 500.0 - 1.5 * h, 15.0, 4);
        // 500 - 1.5h = 0 at hour 333.3.
        for left in hours_left(&s, 0.0) {
            let left = left.unwrap();
            println!("falling: {left:.1} h left (true 166.3)");
            assert!((left - 166.3).abs() <= 16.6, "{left:.1} h");
        }
    }

    #[test]
    fn a_flat_or_receding_gauge_is_not_at_risk() {
        for seed in 5..10 {
            let flat = week(|_| 300.0, 20.0, seed);
            assert_eq!(hours_left(&flat, 1000.0), [None, None], "seed {seed}");
        }
        let receding = week(|h| 800.0 - h, 10.0, 11);
        assert_eq!(hours_left(&receding, 1000.0), [None, None]);
        assert!(
            reach(&flat_three(), 10.0, HORIZON).is_none(),
            "too few samples"
        );
    }

    fn flat_three() -> Vec<(i64, f64)> {
        vec![(0, 1.0), (1, 2.0), (2, 3.0)]
    }
}
