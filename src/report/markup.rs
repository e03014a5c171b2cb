//! The report as blocks (headings, paragraphs, lists, tables, images)
//! and how each is written in Markdown (report.md) and HTML
//! (report.html), so the two files always say the same thing. What the
//! report says is `document`'s; the funding, uncertainty and optimizer
//! sections add their blocks here too.

use std::fmt::Write;

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
