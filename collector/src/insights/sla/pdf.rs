//! The SLA report as a PDF: A4 pages of monospaced text (the standard
//! Courier fonts every reader has, so nothing is embedded), written
//! directly; a table needs no layout engine.

use super::SlaReport;

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 40.0;
const SIZE: f32 = 8.5;
const LEADING: f32 = 11.0;
const LINES_PER_PAGE: usize = 68;

/// One line of text, bold or not.
type Line = (bool, String);

pub fn render(report: &SlaReport) -> Vec<u8> {
    let mut lines: Vec<Line> = vec![
        (true, "lightbulb SLA report".into()),
        (false, format!("{} to {}", report.from, report.to)),
        (false, String::new()),
    ];
    lines.extend(
        wrap(&report.method.statement, 100)
            .into_iter()
            .map(|l| (false, l)),
    );
    let s = &report.summary;
    lines.push((false, String::new()));
    lines.push((
        false,
        format!(
            "{} services: {} met their objective, {} missed it, {} without data.",
            s.services, s.met, s.missed, s.no_data
        ),
    ));
    if !s.worst.is_empty() {
        lines.push((false, format!("Lowest uptime: {}", s.worst.join(", "))));
    }
    if !s.most_incidents.is_empty() {
        let most = s.most_incidents.join(", ");
        lines.push((false, format!("Most incidents: {most}")));
    }
    lines.push((false, String::new()));
    let header = format!(
        "{:<34} {:>9} {:>9} {:>8} {:>8} {:>8} {:>7} {:>5} {:>5}",
        "service", "uptime %", "target %", "up", "down", "budget%", "burn", "inc.", "met"
    );
    lines.push((true, header));
    let pct =
        |v: Option<f64>, places: usize| v.map_or("-".to_string(), |v| format!("{v:.places$}"));
    for r in &report.services {
        lines.push((
            false,
            format!(
                "{:<34} {:>9} {:>9} {:>8} {:>8} {:>8} {:>7} {:>5} {:>5}",
                cut(&r.service_id, 34),
                pct(r.uptime_pct, 3),
                format!("{}", r.objective_pct),
                r.counts.up,
                r.counts.down,
                pct(r.budget_used_pct, 1),
                pct(r.burn_rate, 2),
                r.counts.incidents,
                match r.met {
                    Some(true) => "yes",
                    Some(false) => "NO",
                    None => "-",
                }
            ),
        ));
    }
    document(&lines)
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let head: String = s.chars().take(n - 1).collect();
        format!("{head}~")
    }
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    for word in text.split_whitespace() {
        let last = out.last_mut().expect("one line");
        if !last.is_empty() && last.len() + 1 + word.len() > width {
            out.push(word.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    out
}

/// Text as a PDF string literal: ASCII, with `\`, `(` and `)` escaped.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('(');
    for c in text.chars() {
        match c {
            '\\' | '(' | ')' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push(')');
    out
}

/// A PDF of `lines`, `LINES_PER_PAGE` to a page.
fn document(lines: &[Line]) -> Vec<u8> {
    let pages: Vec<&[Line]> = lines.chunks(LINES_PER_PAGE).collect();
    // Objects: 1 catalog, 2 page tree, 3 and 4 fonts, then a page and its
    // content for each page.
    let mut objects: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            (0..pages.len())
                .map(|i| format!("{} 0 R", 5 + 2 * i))
                .collect::<Vec<_>>()
                .join(" "),
            pages.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>".into(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Courier-Bold >>".into(),
    ];
    for (i, page) in pages.iter().enumerate() {
        let mut content = String::new();
        let mut y = HEIGHT - MARGIN;
        for (bold, text) in page.iter() {
            let font = if *bold { "F2" } else { "F1" };
            content.push_str(&format!(
                "BT /{font} {SIZE} Tf {MARGIN} {y:.1} Td {} Tj ET\n",
                literal(text)
            ));
            y -= LEADING;
        }
        content.push_str(&format!(
            "BT /F1 7 Tf {:.1} {:.1} Td {} Tj ET\n",
            WIDTH - MARGIN - 60.0,
            MARGIN / 2.0,
            literal(&format!("page {} of {}", i + 1, pages.len()))
        ));
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {WIDTH} {HEIGHT}] \
             /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
            6 + 2 * i
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ));
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_kept_ascii() {
        assert_eq!(literal(r"a (b) \c é"), r"(a \(b\) \\c ?)");
    }

    #[test]
    fn the_cross_reference_table_points_at_each_object() {
        let lines: Vec<Line> = (0..150).map(|i| (i == 0, format!("line {i}"))).collect();
        let pdf = document(&lines);
        let text = String::from_utf8(pdf.clone()).unwrap();
        // Three pages: catalog, tree, two fonts, then a page and a content each.
        assert!(text.contains("/Count 3"));
        let xref = text.rfind("\nxref\n").unwrap() + 1;
        for (i, line) in text[xref..].lines().skip(3).take(10).enumerate() {
            let at: usize = line[..10].parse().unwrap();
            assert!(
                text[at..].starts_with(&format!("{} 0 obj", i + 1)),
                "{line}"
            );
        }
        let start: usize = text
            .trim_end()
            .lines()
            .rev()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(start, xref);
    }
}
