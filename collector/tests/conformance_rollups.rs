//! The store suite, part two: history buckets, range summaries and
//! retention, on every store (see `conformance.rs`).

mod support;

use lightbulb_collector::store::Store;
use lightbulb_collector::store::rollup::{HOUR_MS, MINUTE_MS, Source, Stats};
use lightbulb_common::Status;
use support::stores::*;

conformance!(
    raw_buckets_and_short_summaries_are_exact,
    rollup_buckets_count_exactly_and_estimate_percentiles,
    summaries_read_the_resolution_their_range_needs,
    retention_hides_old_data_and_expire_removes_it,
);

/// Stats the way the suite expects them, from the values themselves.
fn expected(values: &[(Status, Option<f64>)]) -> Stats {
    let mut agg = lightbulb_collector::store::rollup::RawAgg::default();
    for (s, rt) in values {
        agg.add(*s, *rt, None, None);
    }
    agg.finish()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-9)
}

async fn raw_buckets_and_short_summaries_are_exact(store: &dyn Store) {
    let t = (now() - 2 * HOUR_MS).div_euclid(HOUR_MS) * HOUR_MS;
    let statuses = [
        Status::Ok,
        Status::Ok,
        Status::Degraded,
        Status::Failed,
        Status::Unknown,
    ];
    let mut values = Vec::new();
    let mut rows = Vec::new();
    for i in 0..40u64 {
        let status = statuses[i as usize % statuses.len()];
        let rt = (i % 7 != 0).then_some(i as f64 * 1.5);
        values.push((t + i as i64 * 1_000, status, rt));
        rows.push(seq(i + 1, result("web", t + i as i64 * 1_000, status, rt)));
    }
    store.insert("a", rows).await.unwrap();
    // 10 s buckets over 40 s of results: four full buckets, from raw results.
    let b = store
        .buckets(range("web", t, t + 39_999), 10_000)
        .await
        .unwrap();
    assert_eq!(b.source, Source::Raw);
    assert_eq!(b.buckets.len(), 4);
    for (k, bucket) in b.buckets.iter().enumerate() {
        assert_eq!(bucket.start_ms, t + k as i64 * 10_000);
        let want: Vec<_> = values[k * 10..k * 10 + 10]
            .iter()
            .map(|v| (v.1, v.2))
            .collect();
        assert_stats_exact(&bucket.stats, &expected(&want));
    }
    let s = store.summary(range("web", t, t + HOUR_MS)).await.unwrap();
    assert_eq!(s.source, Source::Raw);
    let all: Vec<_> = values.iter().map(|v| (v.1, v.2)).collect();
    assert_stats_exact(&s.stats, &expected(&all));
    assert_eq!(s.stats.uptime_pct, Some(75.0));
    assert_eq!(s.stats.error_rate, Some(0.2));
    let empty = store
        .summary(range("nobody", t, t + HOUR_MS))
        .await
        .unwrap();
    assert_eq!(empty.stats, Stats::default());
}

fn assert_stats_exact(got: &Stats, want: &Stats) {
    let counts = |s: &Stats| (s.count, s.ok, s.degraded, s.failed, s.other);
    assert_eq!(counts(got), counts(want));
    assert_eq!(
        (got.uptime_pct, got.error_rate),
        (want.uptime_pct, want.error_rate)
    );
    let (g, w) = (
        got.response_time_ms.clone().unwrap(),
        want.response_time_ms.clone().unwrap(),
    );
    assert_eq!(
        (g.min, g.max, g.p50, g.p95, g.p99),
        (w.min, w.max, w.p50, w.p95, w.p99)
    );
    assert!(close(g.avg, w.avg, 1e-9), "avg {} vs {}", g.avg, w.avg);
}

async fn rollup_buckets_count_exactly_and_estimate_percentiles(store: &dyn Store) {
    let t = (now() - 4 * HOUR_MS).div_euclid(HOUR_MS) * HOUR_MS;
    // Two hours, one result every 5 s; response times 1..=720 ms per hour.
    let mut rows = Vec::new();
    for i in 0..1440i64 {
        let status = if i % 10 == 0 {
            Status::Failed
        } else {
            Status::Ok
        };
        let rt = (i % 720 + 1) as f64;
        rows.push(seq(
            i as u64 + 1,
            result("web", t + i * 5_000, status, Some(rt)),
        ));
    }
    store.insert("a", rows).await.unwrap();
    let minutes = store
        .buckets(range("web", t, t + 2 * HOUR_MS - 1), 5 * MINUTE_MS)
        .await
        .unwrap();
    assert_eq!(minutes.source, Source::Minute);
    assert_eq!(minutes.buckets.len(), 24);
    assert!(
        minutes
            .buckets
            .iter()
            .all(|b| b.stats.count == 60 && b.stats.failed == 6)
    );
    let hours = store
        .buckets(range("web", t, t + 2 * HOUR_MS - 1), HOUR_MS)
        .await
        .unwrap();
    assert_eq!(hours.source, Source::Hour);
    assert_eq!(hours.buckets.len(), 2);
    for h in &hours.buckets {
        assert_eq!((h.stats.count, h.stats.failed, h.stats.ok), (720, 72, 648));
        assert_eq!(h.stats.uptime_pct, Some(90.0));
        let rt = h.stats.response_time_ms.clone().unwrap();
        assert_eq!((rt.min, rt.max), (1.0, 720.0));
        assert!(close(rt.avg, 360.5, 1e-9), "avg {}", rt.avg);
        for (got, want) in [(rt.p50, 360.5), (rt.p95, 684.05), (rt.p99, 712.81)] {
            assert!(
                close(got, want, 0.05),
                "percentile {got}, expected about {want}"
            );
        }
    }
}

async fn summaries_read_the_resolution_their_range_needs(store: &dyn Store) {
    let t = (now() - 3 * DAY_MS).div_euclid(HOUR_MS) * HOUR_MS;
    let rows = (0..72i64)
        .map(|h| {
            seq(
                h as u64 + 1,
                result("web", t + h * HOUR_MS, Status::Ok, Some(h as f64)),
            )
        })
        .collect();
    store.insert("a", rows).await.unwrap();
    let day = store.summary(range("web", t, t + DAY_MS)).await.unwrap();
    assert_eq!((day.source, day.stats.count), (Source::Minute, 25));
    let month = store
        .summary(range("web", t - 20 * DAY_MS, t + 10 * DAY_MS))
        .await
        .unwrap();
    assert_eq!((month.source, month.stats.count), (Source::Hour, 72));
    let short = store.summary(range("web", t, t + HOUR_MS)).await.unwrap();
    assert_eq!((short.source, short.stats.count), (Source::Raw, 2));
}

async fn retention_hides_old_data_and_expire_removes_it(store: &dyn Store) {
    let n = now();
    let recent = n - HOUR_MS;
    let raw_old = n - 85 * DAY_MS; // raw still kept (90 d)
    let raw_gone = n - 95 * DAY_MS; // past raw retention, rollups kept
    let rollup_old = n - 300 * DAY_MS; // rollups still kept (365 d)
    let rows = [recent, raw_old, raw_gone, rollup_old]
        .iter()
        .enumerate()
        .map(|(i, ts)| seq(i as u64 + 1, result("web", *ts, Status::Ok, Some(1.0))))
        .collect();
    store.insert("a", rows).await.unwrap();
    let raw = |from: i64| history_total(store, "web", from - DAY_MS, from + DAY_MS);
    let hours = |from: i64| async move {
        store
            .buckets(range("web", from - DAY_MS, from + DAY_MS), HOUR_MS)
            .await
            .unwrap()
            .buckets
            .len()
    };
    assert_eq!(
        (raw(recent).await, raw(raw_old).await, raw(raw_gone).await),
        (1, 1, 0)
    );
    assert_eq!((hours(raw_gone).await, hours(rollup_old).await), (1, 1));
    // Ten days on, the 85-day-old result is past retention: gone from storage.
    store.expire(n + 10 * DAY_MS).await.unwrap();
    assert_eq!((raw(recent).await, raw(raw_old).await), (1, 0));
    assert_eq!(hours(rollup_old).await, 1);
    // 120 days on, the 300-day-old rollup is past retention too (and every
    // raw result is, even today's).
    store.expire(n + 120 * DAY_MS).await.unwrap();
    assert_eq!((hours(rollup_old).await, hours(raw_old).await), (0, 1));
    assert_eq!(raw(recent).await, 0);
}
