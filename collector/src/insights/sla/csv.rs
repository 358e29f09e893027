//! The SLA report as CSV.

use super::SlaReport;
use crate::catalog::csv::line;

/// A header line, then one line per service.
pub fn render(report: &SlaReport) -> String {
    let head = [
        "service_id",
        "label",
        "service_type",
        "objective_pct",
        "uptime_pct",
        "up",
        "down",
        "not_judged",
        "in_maintenance",
        "budget",
        "budget_used_pct",
        "burn_rate",
        "met",
        "incidents",
        "mttr_ms",
        "mtbf_ms",
    ];
    let mut out = line(&head.map(String::from));
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for r in &report.services {
        let c = &r.counts;
        out.push_str(&line(&[
            r.service_id.clone(),
            r.label.clone(),
            r.service_type.clone(),
            r.objective_pct.to_string(),
            opt(r.uptime_pct),
            c.up.to_string(),
            c.down.to_string(),
            c.not_judged.to_string(),
            c.in_maintenance.to_string(),
            r.budget.to_string(),
            opt(r.budget_used_pct),
            opt(r.burn_rate),
            r.met.map(|m| m.to_string()).unwrap_or_default(),
            c.incidents.to_string(),
            r.mttr_ms.map(|v| v.to_string()).unwrap_or_default(),
            r.mtbf_ms.map(|v| v.to_string()).unwrap_or_default(),
        ]));
    }
    out
}
