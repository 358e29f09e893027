//! CSV as RFC 4180 has it (commas, quoted fields with doubled quotes and
//! line breaks), enough for importing and exporting the catalog.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::catalog::model::Catalog;

/// Rows of fields; blank lines are skipped.
pub fn parse(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                line += 1;
                row.push(std::mem::take(&mut field));
                if !(row.len() == 1 && row[0].is_empty()) {
                    rows.push(std::mem::take(&mut row));
                }
                row.clear();
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(format!("line {line}: a quoted field is not closed"));
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

/// One CSV line (with its line break), quoting where needed.
pub fn line(fields: &[String]) -> String {
    let mut out = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

/// CSV columns of services; `labels` is `key=value;key=value`, the configs JSON.
pub const SERVICE_COLUMNS: [&str; 7] = [
    "service_id",
    "label",
    "service_type",
    "enabled",
    "labels",
    "status_config",
    "metric_config",
];
pub const RELATION_COLUMNS: [&str; 5] = [
    "relation_id",
    "source_service_id",
    "target_service_id",
    "relation_type",
    "enabled",
];

/// Objects from CSV rows under a header row; cells become the JSON the
/// admin API takes (booleans, `labels`, configs parsed).
pub fn from_csv(text: &str, columns: &[&str]) -> Result<Vec<Map<String, Value>>, String> {
    let mut rows = parse(text)?.into_iter();
    let header = rows
        .next()
        .ok_or("the CSV is empty; it needs a header row")?;
    if let Some(bad) = header.iter().find(|h| !columns.contains(&h.as_str())) {
        return Err(format!(
            "unknown column `{bad}`; columns are {}",
            columns.join(", ")
        ));
    }
    rows.enumerate()
        .map(|(n, row)| {
            if row.len() != header.len() {
                return Err(format!(
                    "row {}: {} fields, the header has {}",
                    n + 2,
                    row.len(),
                    header.len()
                ));
            }
            let mut obj = Map::new();
            for (h, cell) in header.iter().zip(row) {
                if cell.is_empty() {
                    continue;
                }
                let value = match h.as_str() {
                    "enabled" => match cell.as_str() {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        other => Value::String(other.to_string()),
                    },
                    "labels" => Value::Object(
                        cell.split(';')
                            .filter(|p| !p.is_empty())
                            .map(|p| {
                                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                                (k.trim().to_string(), Value::String(v.trim().to_string()))
                            })
                            .collect(),
                    ),
                    "status_config" | "metric_config" => serde_json::from_str(&cell)
                        .map_err(|e| format!("row {}: `{h}` is not JSON: {e}", n + 2))?,
                    _ => Value::String(cell),
                };
                obj.insert(h.clone(), value);
            }
            Ok(obj)
        })
        .collect()
}

/// Services or relations as CSV, header first.
pub fn to_csv(catalog: &Catalog, services: bool) -> String {
    let mut out = String::new();
    let columns: &[&str] = if services {
        &SERVICE_COLUMNS
    } else {
        &RELATION_COLUMNS
    };
    out.push_str(&super::csv::line(
        &columns.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
    ));
    if services {
        for s in catalog.services.values() {
            let labels: BTreeMap<&String, &String> = s.labels.iter().collect();
            let labels = labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(";");
            let metric = if s.metric_config.is_null() {
                String::new()
            } else {
                s.metric_config.to_string()
            };
            out.push_str(&super::csv::line(&[
                s.service_id.clone(),
                s.label.clone(),
                s.service_type.to_string(),
                s.enabled.to_string(),
                labels,
                s.status_config.to_string(),
                metric,
            ]));
        }
    } else {
        for r in catalog.relations.values() {
            out.push_str(&super::csv::line(&[
                r.relation_id.clone(),
                r.source_service_id.clone(),
                r.target_service_id.clone(),
                r.relation_type.to_string(),
                r.enabled.to_string(),
            ]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_round_trip() {
        let fields: Vec<String> = ["a", "b,c", "say \"hi\"", "two\nlines", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let text = format!("{}{}", line(&fields), line(&["x".to_string()]));
        assert_eq!(parse(&text).unwrap(), vec![fields, vec!["x".to_string()]]);
        assert_eq!(parse("a,b\n\nc,d").unwrap().len(), 2);
        assert!(parse("\"open").unwrap_err().contains("line 1"));
    }
}
