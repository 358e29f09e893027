//! Log templates without a model: Drain (He et al., "Drain: An Online Log
//! Parsing Approach with Fixed Depth Tree", ICWS 2017). Each line is split
//! into words; values that are plainly variable (numbers, durations, sizes,
//! long hex ids, UUIDs) are masked first. A fixed-depth tree routes the line
//! by its word count and first words to a few candidate templates; the most
//! similar one takes it if enough words agree, and the words that differ
//! become `<*>`. Otherwise the line starts a template of its own.
//!
//! Words that stay the same across a template's lines stay in it: "connection
//! refused to db:5432" keeps the address while the port is the same.

use std::collections::HashMap;

/// A word that stands for any value.
pub const ANY: &str = "<*>";

/// One template and how many lines it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub words: Vec<String>,
    pub lines: u64,
}

impl Template {
    pub fn text(&self) -> String {
        self.words.join(" ")
    }
}

/// Tuning: Drain's published similarity, and a tree that routes by the
/// first word only (its depth 3), as check messages often name a host or
/// process without digits second ("agent cache heartbeat missed").
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Share of words (not counting `<*>`) a line must have in common
    /// with a template to join it.
    pub similarity: f64,
    /// Leading words the tree routes by.
    pub depth: usize,
    /// Children per tree node; words beyond go to the `<*>` child.
    pub max_children: usize,
    /// Templates kept in all; once full, a new line joins the most similar
    /// of its candidates, however similar, or none if it has none.
    pub max_templates: usize,
    /// Words of a line looked at; the rest are dropped.
    pub max_words: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            similarity: 0.5,
            depth: 3,
            max_children: 100,
            max_templates: 2_000,
            max_words: 64,
        }
    }
}

#[derive(Default)]
struct Node {
    children: HashMap<String, Node>,
    templates: Vec<usize>,
}

/// Learns templates line by line.
#[derive(Default)]
pub struct Drain {
    settings: Settings,
    /// By word count.
    root: HashMap<usize, Node>,
    templates: Vec<Template>,
}

impl Drain {
    pub fn new(settings: Settings) -> Drain {
        Drain {
            settings,
            ..Drain::default()
        }
    }

    pub fn templates(&self) -> &[Template] {
        &self.templates
    }

    /// Adds `line`; the index of the template that took it (none once
    /// `max_templates` are full and no template is near).
    pub fn add(&mut self, line: &str) -> Option<usize> {
        let words = words(line, self.settings.max_words);
        let settings = self.settings;
        let full = self.templates.len() >= settings.max_templates;
        let leaf = leaf(self.root.entry(words.len()).or_default(), &words, &settings);
        let best = best(&self.templates, &leaf.templates, &words);
        let id = match best {
            Some((id, sim)) if sim >= settings.similarity || full => {
                let t = &mut self.templates[id];
                for (have, new) in t.words.iter_mut().zip(&words) {
                    if have != new && have != ANY {
                        *have = ANY.to_string();
                    }
                }
                t.lines += 1;
                id
            }
            _ if full => return None,
            _ => {
                self.templates.push(Template { words, lines: 1 });
                let id = self.templates.len() - 1;
                leaf.templates.push(id);
                id
            }
        };
        Some(id)
    }
}

/// The leaf `words` route to, made on the way if missing.
fn leaf<'a>(mut node: &'a mut Node, words: &[String], settings: &Settings) -> &'a mut Node {
    for word in words.iter().take(settings.depth.saturating_sub(2)) {
        let key = if has_digit(word) { ANY } else { word.as_str() };
        let key =
            if node.children.contains_key(key) || node.children.len() + 1 < settings.max_children {
                key
            } else {
                ANY
            };
        node = node.children.entry(key.to_string()).or_default();
    }
    node
}

/// The most similar of `candidates`: (index, share of equal words);
/// ties go to the template with fewer `<*>`.
fn best(templates: &[Template], candidates: &[usize], words: &[String]) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64, usize)> = None;
    for &id in candidates {
        let t = &templates[id].words;
        let any = t.iter().filter(|w| *w == ANY).count();
        let same = t.iter().zip(words).filter(|(a, b)| a == b).count();
        let sim = if t.is_empty() {
            1.0
        } else {
            same as f64 / t.len() as f64
        };
        if best.is_none_or(|(_, s, a)| sim > s || sim == s && any < a) {
            best = Some((id, sim, any));
        }
    }
    best.map(|(id, sim, _)| (id, sim))
}

/// The words of `line`, plainly variable ones masked as `<*>`.
pub fn words(line: &str, max: usize) -> Vec<String> {
    line.split_whitespace()
        .take(max)
        .map(|w| {
            if variable(w) {
                ANY.to_string()
            } else {
                w.to_string()
            }
        })
        .collect()
}

fn has_digit(w: &str) -> bool {
    w.bytes().any(|b| b.is_ascii_digit())
}

/// A number (with a sign, decimals, a unit like `ms` or `%`, punctuation
/// around it), a long hex id or a UUID.
fn variable(w: &str) -> bool {
    let w = w.trim_matches(|c: char| {
        matches!(
            c,
            ',' | ';' | '(' | ')' | '[' | ']' | '"' | '\'' | '.' | ':'
        )
    });
    if w.is_empty() {
        return false;
    }
    let hex = w.len() >= 8 && w.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') && has_digit(w);
    let digits = w.trim_start_matches(['-', '+']);
    let number_end = digits
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(digits.len());
    let (num, unit) = digits.split_at(number_end);
    let number = !num.is_empty()
        && num.bytes().any(|b| b.is_ascii_digit())
        && unit.len() <= 3
        && unit.bytes().all(|b| b.is_ascii_alphabetic() || b == b'%');
    hex || number
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_are_masked_and_names_are_not() {
        let w = words(
            "took 250ms (3 retries), 12.5% cpu, id 3f2a9c1e77, host db-1:5432",
            64,
        );
        assert_eq!(
            w.join(" "),
            "took <*> <*> retries), <*> cpu, id <*> host db-1:5432"
        );
    }

    #[test]
    fn lines_of_one_template_join_and_differing_words_become_any() {
        let mut d = Drain::new(Settings::default());
        let a = d
            .add("connection refused to db-1:5432 after 3 attempts")
            .unwrap();
        let b = d
            .add("connection refused to db-2:5432 after 5 attempts")
            .unwrap();
        let c = d
            .add("pod web-7f9c OOMKilled: memory limit 512Mi reached")
            .unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            d.templates()[a].text(),
            "connection refused to <*> after <*> attempts"
        );
        assert_eq!(d.templates()[a].lines, 2);
    }

    #[test]
    fn a_full_miner_folds_near_lines_in_and_leaves_the_rest_out() {
        let mut d = Drain::new(Settings {
            max_templates: 1,
            ..Settings::default()
        });
        assert_eq!(d.add("disk full on /var"), Some(0));
        assert_eq!(d.add("disk full on /tmp now"), None);
        assert_eq!(d.add("disk full at /srv"), Some(0));
        assert_eq!(d.templates().len(), 1);
    }
}
