//! `report.md` and `report.html`: the headline table and every chart with a
//! sentence on how to read it, for people who will not open summary.json.
//!
//! The document is built once as a list of blocks and rendered twice, so the
//! two files always say the same thing. The HTML is self-contained (inline
//! style, no scripts) and references the PNGs beside it.

use std::fmt::Write;

use super::charts::Figure;
use super::Input;
use crate::format::{money, number, signed_money, tail_label, trim_num, values_format};
use crate::model::Metric;
use crate::results::Studies;

/// One block of the report.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    Heading(u8, String),
    Para(String),
    List(Vec<String>),
    Table {
        header: Vec<String>,
        /// Columns from this index on are right-aligned (numbers).
        numeric_from: usize,
        rows: Vec<Vec<String>>,
    },
    Image {
        file: String,
        alt: String,
    },
}

/// The whole report.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    pub title: String,
    pub blocks: Vec<Block>,
}

impl Document {
    /// The report of a run; `figures` are the charts drawn (empty when
    /// charts were skipped).
    pub fn new(input: &Input, figures: &[Figure]) -> Document {
        let sc = input.scenario;
        let s = input.summary;
        let base = input.policy(input.baseline()).to_string();
        let years: Vec<String> = sc.horizons.iter().map(|h| h.to_string()).collect();
        let mut blocks = vec![Block::Para(format!(
            "{} trials, seed {}; money in {}, present values discounted at {}% a year; horizons: year {}; baseline policy: {}.",
            number(s.trials as f64, 0),
            s.seed,
            s.currency,
            trim_num(100.0 * sc.discount_rate),
            years.join(", "),
            base
        ))];
        if !s.headline.is_empty() {
            blocks.push(Block::Heading(2, "At a glance".into()));
            blocks.push(Block::List(
                s.headline.iter().map(|h| h.text.clone()).collect(),
            ));
        }
        blocks.push(Block::Heading(2, "Policies".into()));
        blocks.push(Block::List(
            sc.policies
                .iter()
                .map(|p| {
                    if p.description.is_empty() {
                        p.name.clone()
                    } else {
                        format!("{}: {}", p.name, p.description)
                    }
                })
                .collect(),
        ));
        blocks.push(Block::Heading(2, "Headline".into()));
        blocks.push(headline(input));
        blocks.push(Block::Para(format!(
            "Value: present value at the horizon of distributions to the group plus the war chest and the held units' value, in {}. P5/P50/P95: 5th, 50th and 95th percentiles over trials. CVaR{t}: the mean of the worst {t}% of trials (VaR{t}, the level they fall below, is P{t}). Δ: mean same-trial difference from {base}, with its VaR{t} and CVaR{t}; P(beat): share of trials in which the policy's value exceeds {base}'s.",
            s.currency,
            t = tail_label(s.tail)
        )));
        blocks.extend(input.sections.iter().cloned());
        blocks.extend(super::uncertainty::report_blocks(input));
        if let Some(st) = input.studies {
            if let Some(f) = &st.funding {
                blocks.extend(super::funding::report_blocks(f));
            }
            blocks.extend(studies(input, st));
        }
        blocks.push(Block::Heading(2, "Charts".into()));
        if figures.is_empty() {
            blocks.push(Block::Para(
                "Charts were not drawn for this run (--no-charts); run again without that flag to get them.".into(),
            ));
        }
        for f in figures {
            // The chart draws its own title: the page names the file, not
            // the title a second time above the picture.
            blocks.push(Block::Heading(3, f.file.clone()));
            blocks.push(Block::Image {
                file: f.file.clone(),
                alt: f.title.clone(),
            });
            blocks.push(Block::Para(f.how_to_read.clone()));
        }
        Document {
            title: s.scenario.clone(),
            blocks,
        }
    }

    /// The report as Markdown (report.md).
    pub fn markdown(&self) -> String {
        let mut out = Markdown(format!("# {}\n\n", md_text(&self.title)));
        self.render(&mut out);
        out.0
    }

    /// The report as a self-contained HTML page (report.html).
    pub fn html(&self) -> String {
        let mut out =
            String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        let _ = writeln!(out, "<title>{}</title>", esc(&self.title));
        out.push_str(
            "<style>\n\
             body{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;color:#222;max-width:1200px;margin:2em auto;padding:0 1em;line-height:1.45}\n\
             table{border-collapse:collapse;font-size:0.9em;margin:1em 0}\n\
             th,td{border-bottom:1px solid #ddd;padding:0.3em 0.7em;text-align:left}\n\
             th{background:#f4f4f4}\n\
             td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\n\
             img{max-width:100%;height:auto;border:1px solid #ddd}\n\
             h3{margin-top:2em}\n\
             </style>\n</head>\n<body>\n",
        );
        let _ = writeln!(out, "<h1>{}</h1>", esc(&self.title));
        let mut out = Html(out);
        self.render(&mut out);
        out.0.push_str("</body>\n</html>\n");
        out.0
    }

    /// Every block, in order, in `markup`.
    fn render(&self, markup: &mut dyn Markup) {
        for b in &self.blocks {
            match b {
                Block::Heading(level, t) => markup.heading(*level, t),
                Block::Para(t) => markup.para(t),
                Block::List(items) => markup.list(items),
                Block::Table {
                    header,
                    numeric_from,
                    rows,
                } => markup.table(header, *numeric_from, rows),
                Block::Image { file, alt } => markup.image(file, alt),
            }
        }
    }
}

/// How each kind of block is written in one format.
trait Markup {
    fn heading(&mut self, level: u8, text: &str);
    fn para(&mut self, text: &str);
    fn list(&mut self, items: &[String]);
    /// Columns from `numeric_from` on are right-aligned.
    fn table(&mut self, header: &[String], numeric_from: usize, rows: &[Vec<String>]);
    fn image(&mut self, file: &str, alt: &str);
}

/// report.md, as it is written.
struct Markdown(String);

impl Markup for Markdown {
    fn heading(&mut self, level: u8, text: &str) {
        let _ = writeln!(self.0, "{} {}\n", "#".repeat(level as usize), md_text(text));
    }
    fn para(&mut self, text: &str) {
        let _ = writeln!(self.0, "{}\n", md_text(text));
    }
    fn list(&mut self, items: &[String]) {
        for i in items {
            let _ = writeln!(self.0, "- {}", md_text(i));
        }
        self.0.push('\n');
    }
    fn table(&mut self, header: &[String], numeric_from: usize, rows: &[Vec<String>]) {
        let cells = |r: &[String]| {
            let v: Vec<String> = r.iter().map(|c| md_cell(c)).collect();
            format!("| {} |\n", v.join(" | "))
        };
        self.0.push_str(&cells(header));
        let rule: Vec<&str> = (0..header.len())
            .map(|i| if i >= numeric_from { "---:" } else { "---" })
            .collect();
        let _ = writeln!(self.0, "| {} |", rule.join(" | "));
        for r in rows {
            self.0.push_str(&cells(r));
        }
        self.0.push('\n');
    }
    fn image(&mut self, file: &str, alt: &str) {
        let alt = alt.replace(['[', ']'], "");
        let _ = writeln!(self.0, "![{alt}]({file})\n");
    }
}

/// report.html's body, as it is written.
struct Html(String);

impl Markup for Html {
    fn heading(&mut self, level: u8, text: &str) {
        let _ = writeln!(self.0, "<h{level}>{}</h{level}>", esc(text));
    }
    fn para(&mut self, text: &str) {
        let _ = writeln!(self.0, "<p>{}</p>", esc(text));
    }
    fn list(&mut self, items: &[String]) {
        self.0.push_str("<ul>\n");
        for i in items {
            let _ = writeln!(self.0, "<li>{}</li>", esc(i));
        }
        self.0.push_str("</ul>\n");
    }
    fn table(&mut self, header: &[String], numeric_from: usize, rows: &[Vec<String>]) {
        let class = |i: usize| {
            if i >= numeric_from {
                " class=\"n\""
            } else {
                ""
            }
        };
        self.0.push_str("<table>\n<thead><tr>");
        for (i, h) in header.iter().enumerate() {
            let _ = write!(self.0, "<th{}>{}</th>", class(i), esc(h));
        }
        self.0.push_str("</tr></thead>\n<tbody>\n");
        for r in rows {
            self.0.push_str("<tr>");
            for (i, c) in r.iter().enumerate() {
                let _ = write!(self.0, "<td{}>{}</td>", class(i), esc(c));
            }
            self.0.push_str("</tr>\n");
        }
        self.0.push_str("</tbody>\n</table>\n");
    }
    fn image(&mut self, file: &str, alt: &str) {
        let _ = writeln!(
            self.0,
            "<p><a href=\"{0}\"><img src=\"{0}\" alt=\"{1}\"></a></p>",
            esc(file),
            esc(alt)
        );
    }
}

/// A change of the mean gain, or "skipped" for a step that did not run.
fn change(x: f64) -> String {
    if x.is_nan() {
        "skipped".to_string()
    } else {
        crate::format::signed(x)
    }
}

/// What the sweep and sensitivity studies ran and where their figures are.
fn studies(input: &Input, st: &Studies) -> Vec<Block> {
    let mut items = Vec::new();
    let years = input.years(input.last());
    if st.has_sweep() {
        let what: Vec<String> = st
            .sweeps
            .iter()
            .map(|s| {
                let f = values_format(&s.values);
                let v: Vec<String> = s.values.iter().map(&f).collect();
                format!("{} = {}", s.path, v.join(", "))
            })
            .collect();
        items.push(format!(
            "Sweep: {} ({} runs on the same random draws as the base run); value P5/P50/P95, the paired gain over the baseline (mean, its 95% band, median) and the chance of beating it per point, policy and horizon in sweep.csv.",
            what.join(" × "),
            st.points.len()
        ));
    }
    if st.has_sensitivity() {
        let base = input.policy(input.baseline());
        let inputs = st
            .sensitivity
            .iter()
            .filter(|r| r.policy == input.policy(input.studied()))
            .count();
        items.push(format!(
            "Sensitivity of the decision: {inputs} inputs (every unit's assumptions, every policy's levers, the discount rate) moved down and up one at a time ({}), on the same random draws; each policy's mean gain over {base} and its chance of beating it at year {years}, per input, in sensitivity.csv, ranked by how far the mean gain moves.",
            st.sensitivity_steps.describe()
        ));
        for p in &input.scenario.policies {
            let rows: Vec<&crate::results::Sensitivity> = st
                .sensitivity
                .iter()
                .filter(|r| r.policy == p.name && r.swing() > 0.0)
                .take(5)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let top: Vec<String> = rows
                .iter()
                .map(|r| {
                    let beat = |p: f64| {
                        if p.is_nan() {
                            "skipped".to_string()
                        } else {
                            crate::format::share(p)
                        }
                    };
                    format!(
                        "{} ({} / {}: {} / {}, P(beat) {} / {})",
                        r.label(),
                        r.show(r.low),
                        r.show(r.high),
                        change(r.gain_low - r.gain_base),
                        change(r.gain_high - r.gain_base),
                        beat(r.beat_low),
                        beat(r.beat_high)
                    )
                })
                .collect();
            items.push(format!(
                "What moves the mean gain of {} over {base} most ({} change at the input low / high, and the chance of beating {base} there; base run: {}, {}): {}.",
                p.name,
                input.currency(),
                crate::format::signed(rows[0].gain_base),
                crate::format::share(rows[0].beat_base),
                top.join("; ")
            ));
        }
        let skipped = st
            .sensitivity
            .iter()
            .filter(|r| r.policy == input.policy(input.studied()) && r.note.is_some())
            .count();
        if skipped > 0 {
            items.push(format!(
                "{skipped} input{} had a step the scenario refuses (a margin above 100%, a terminal growth at the discount rate); such a step is skipped, not clamped, and the note column of sensitivity.csv says which and why.",
                if skipped == 1 { "" } else { "s" },
            ));
        }
    }
    if items.is_empty() {
        return Vec::new();
    }
    vec![Block::Heading(2, "Studies".into()), Block::List(items)]
}

/// The headline table: per policy and horizon, value, revenue and the
/// comparison with the baseline (the figures of summary.json).
fn headline(input: &Input) -> Block {
    let base = input.baseline();
    let t = tail_label(input.summary.tail);
    let header = [
        "policy",
        "year",
        "value (mean)",
        "± s.e.",
        "P5",
        "P50",
        "P95",
        &format!("CVaR{t}"),
        "revenue (mean)",
        "Δ vs baseline",
        &format!("Δ VaR{t}"),
        &format!("Δ CVaR{t}"),
        "P(beat)",
    ]
    .map(String::from)
    .to_vec();
    let mut rows = Vec::new();
    for (p, policy) in input.scenario.policies.iter().enumerate() {
        for (h, &years) in input.scenario.horizons.iter().enumerate() {
            let v = input.stats(p, h, Metric::Value);
            let r = input.stats(p, h, Metric::Revenue);
            let row = |m: &str| input.summary.row(&policy.name, years, m, None);
            let cvar = row("value").map_or("-".into(), |r| money(r.cvar));
            let (d_var, d_cvar) = match row("delta_value") {
                Some(r) if p != base => (signed_money(r.var), signed_money(r.cvar)),
                _ => ("-".to_string(), "-".to_string()),
            };
            let (delta, prob) = if p == base {
                ("-".to_string(), "-".to_string())
            } else {
                let d = input.stats(p, h, Metric::DeltaValue);
                let pr = input
                    .summary
                    .prob(&policy.name, years)
                    .map(|x| format!("{:.1}%", 100.0 * x))
                    .unwrap_or_else(|| "-".into());
                (signed_money(d.mean), pr)
            };
            let name = if p == base {
                format!("{} (baseline)", policy.name)
            } else {
                policy.name.clone()
            };
            rows.push(vec![
                name,
                years.to_string(),
                money(v.mean),
                money(v.stderr),
                money(v.quantiles[0]),
                money(v.quantiles[2]),
                money(v.quantiles[4]),
                cvar,
                money(r.mean),
                delta,
                d_var,
                d_cvar,
                prob,
            ]);
        }
    }
    Block::Table {
        header,
        numeric_from: 1,
        rows,
    }
}

/// Escapes what Markdown would otherwise read as markup in free text.
fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn md_cell(s: &str) -> String {
    md_text(s).replace('|', "\\|").replace('\n', " ")
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Document {
        Document {
            title: "A & B <test>".into(),
            blocks: vec![
                Block::Table {
                    header: vec!["policy".into(), "value".into()],
                    numeric_from: 1,
                    rows: vec![vec!["a|b".into(), "1,234".into()]],
                },
                Block::Image {
                    file: "value_cdf.png".into(),
                    alt: "CDF [x]".into(),
                },
            ],
        }
    }

    #[test]
    fn markdown_escapes_and_references_images() {
        let md = doc().markdown();
        assert!(md.starts_with("# A & B \\<test\\>\n"));
        assert!(md.contains("| a\\|b | 1,234 |"));
        assert!(md.contains("| --- | ---: |"));
        assert!(md.contains("![CDF x](value_cdf.png)"));
    }

    #[test]
    fn html_escapes_and_references_images() {
        let html = doc().html();
        assert!(html.contains("<h1>A &amp; B &lt;test&gt;</h1>"));
        assert!(html.contains("<img src=\"value_cdf.png\""));
        assert!(html.contains("<td class=\"n\">1,234</td>"));
        assert!(!html.contains("<script"));
    }
}
