//! The sheets of studies and sections: Sweep, Sensitivity, Funding,
//! Uncertainty and Optimization.

use rust_xlsxwriter::{Chart, ChartAxisLabelPosition, ChartType, Worksheet, XlsxError};

use super::*;

/// Every sweep point (as sweep.csv), then, for the last horizon, a pivot
/// of median value and chance of beating the baseline per point and
/// policy, which the chart draws.
pub(super) fn sweep_sheet(
    ws: &mut Worksheet,
    name: &str,
    st: &Studies,
    book: &Book,
) -> Result<(), XlsxError> {
    let Book { input, f } = *book;
    let sc = input.scenario;
    let mut cols: Vec<String> = st.sweeps.iter().map(|s| s.path.clone()).collect();
    let k = cols.len() as u16;
    cols.extend(names(&[
        "policy",
        "year",
        "value mean",
        "value stderr",
        "value P5",
        "value P50",
        "value P95",
        "gain mean",
        "P(beat baseline)",
    ]));
    let rows: usize = st.points.iter().map(|p| p.headlines.len()).sum();
    list_header(ws, &cols, rows, f)?;
    let mut row = 1;
    for pt in &st.points {
        for h in &pt.headlines {
            for (c, v) in pt.values.iter().enumerate() {
                ws.write_number(row, c as u16, *v)?;
            }
            ws.write_string(row, k, &h.policy)?;
            ws.write_number(row, k + 1, h.horizon)?;
            let figures = [h.mean, h.stderr, h.p5, h.p50, h.p95, h.delta_mean];
            nums(ws, row, k + 2, &figures, &f.money)?;
            num(ws, row, k + 8, h.prob_beats_baseline, &f.share)?;
            row += 1;
        }
    }
    widths(ws, &[], 0..cols.len(), 16.0)?;
    // The pivot: one row per point, per policy median value and P(beat).
    let Some(&last) = sc.horizons.last() else {
        return Ok(());
    };
    let top = row + 2;
    ws.write_string_with_format(
        top - 1,
        0,
        format!("At year {last}, per sweep point"),
        &f.bold,
    )?;
    let mut pivot = vec!["point".to_string()];
    for p in &sc.policies {
        pivot.push(format!("{} value P50", p.name));
    }
    for p in &sc.policies {
        pivot.push(format!("{} P(beat)", p.name));
    }
    header(ws, top, &pivot, f)?;
    let n_p = sc.policies.len() as u16;
    for (i, pt) in st.points.iter().enumerate() {
        let r = top + 1 + i as u32;
        let label: Vec<String> = st
            .sweeps
            .iter()
            .zip(&pt.values)
            .map(|(s, v)| {
                let fmt = values_format(&s.values);
                format!("{}={}", short_path(&s.path), fmt(v))
            })
            .collect();
        ws.write_string(r, 0, label.join(", "))?;
        for (p, policy) in sc.policies.iter().enumerate() {
            if let Some(h) = pt
                .headlines
                .iter()
                .find(|h| h.policy == policy.name && h.horizon == last)
            {
                num(ws, r, 1 + p as u16, h.p50, &f.money)?;
                num(ws, r, 1 + n_p + p as u16, h.prob_beats_baseline, &f.share)?;
            }
        }
    }
    let r0 = top + 1;
    let r1 = top + st.points.len() as u32;
    let mut value = Chart::new(ChartType::Line);
    value
        .title()
        .set_name(&format!("Median value at year {last} across the sweep"));
    let mut beat = Chart::new(ChartType::Line);
    beat.title().set_name(&format!(
        "Share of trials beating the baseline at year {last}"
    ));
    for (p, policy) in sc.policies.iter().enumerate() {
        value
            .add_series()
            .set_name(&policy.name)
            .set_categories((name, r0, 0, r1, 0))
            .set_values((name, r0, 1 + p as u16, r1, 1 + p as u16));
        if p != sc.baseline {
            let c = 1 + n_p + p as u16;
            beat.add_series()
                .set_name(&policy.name)
                .set_categories((name, r0, 0, r1, 0))
                .set_values((name, r0, c, r1, c));
        }
    }
    value.y_axis().set_num_format("#,##0");
    beat.y_axis().set_num_format("0%");
    ws.insert_chart(r1 + 2, 0, &value)?;
    if sc.policies.len() > 1 {
        ws.insert_chart(r1 + 2, 5, &beat)?;
    }
    Ok(())
}

/// The last segment of a dotted path ("policies.reset.innovation.years"
/// -> "years"), for short labels.
fn short_path(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// The sensitivity rows (as sensitivity.csv), with a bar chart of the ten
/// largest moves for the policy the report follows.
pub(super) fn sensitivity_sheet(
    ws: &mut Worksheet,
    name: &str,
    st: &Studies,
    book: &Book,
) -> Result<(), XlsxError> {
    let Book { input, f } = *book;
    let sc = input.scenario;
    let cols = names(&[
        "policy",
        "input",
        "path",
        "step",
        "base",
        "low",
        "high",
        "mean gain (low)",
        "mean gain (base)",
        "mean gain (high)",
        "change when low",
        "change when high",
        "swing",
        "P(beat) low",
        "P(beat) base",
        "P(beat) high",
        "note",
    ]);
    list_header(ws, &cols, st.sensitivity.len(), f)?;
    for (i, r) in st.sensitivity.iter().enumerate() {
        let row = 1 + i as u32;
        ws.write_string(row, 0, &r.policy)?;
        ws.write_string(row, 1, r.label())?;
        ws.write_string(row, 2, &r.path)?;
        ws.write_string(row, 3, r.kind.name())?;
        nums(ws, row, 4, &[r.base, r.low, r.high], &f.number)?;
        let money = [
            r.gain_low,
            r.gain_base,
            r.gain_high,
            r.gain_low - r.gain_base,
            r.gain_high - r.gain_base,
            r.swing(),
        ];
        nums(ws, row, 7, &money, &f.money)?;
        nums(
            ws,
            row,
            13,
            &[r.beat_low, r.beat_base, r.beat_high],
            &f.share,
        )?;
        if let Some(n) = &r.note {
            ws.write_string(row, 16, n)?;
        }
    }
    widths(ws, &[(0, 16.0), (1, 34.0), (2, 26.0)], 3..cols.len(), 15.0)?;
    // Rows come sorted by swing within each policy: the first ten of the
    // followed policy are contiguous.
    let policy = sc
        .policies
        .iter()
        .enumerate()
        .find(|(p, _)| *p != sc.baseline)
        .map_or(&sc.policies[sc.baseline].name, |(_, p)| &p.name);
    let Some(first) = st.sensitivity.iter().position(|r| r.policy == *policy) else {
        return Ok(());
    };
    let count = st.sensitivity[first..]
        .iter()
        .take_while(|r| r.policy == *policy && r.estimated.is_none())
        .count()
        .min(10) as u32;
    if count == 0 {
        return Ok(());
    }
    let r0 = 1 + first as u32;
    let r1 = r0 + count - 1;
    let mut chart = Chart::new(ChartType::Bar);
    chart.title().set_name(&format!(
        "What moves {policy}'s mean gain over {} most ({})",
        sc.policies[sc.baseline].name, input.summary.currency
    ));
    for (c, label) in [(10u16, "input low"), (11, "input high")] {
        chart
            .add_series()
            .set_name(label)
            .set_categories((name, r0, 1, r1, 1))
            .set_values((name, r0, c, r1, c));
    }
    chart
        .y_axis()
        .set_reverse()
        .set_label_position(ChartAxisLabelPosition::Low);
    chart.x_axis().set_num_format("#,##0.0");
    chart.set_width(760);
    chart.set_height(160 + 40 * count);
    ws.insert_chart(1, cols.len() as u16 + 1, &chart)?;
    Ok(())
}

/// The funding study: one row per unit, funded years and horizon, and a
/// chart of each unit's mean gain by funded years at the year the choice
/// is read.
pub(super) fn funding_sheet(
    ws: &mut Worksheet,
    name: &str,
    fs: &crate::results::funding::FundingStudy,
    book: &Book,
) -> Result<(), XlsxError> {
    let f = book.f;
    let cols = names(&[
        "unit",
        "funded years",
        "year",
        "value mean",
        "gain mean",
        "gain stderr",
        "gain P5",
        "gain P95",
        "P(gain > 0)",
        "spend (present value)",
        "gate pass share",
        "group gain mean",
        "best",
    ]);
    list_header(ws, &cols, fs.rows.len(), f)?;
    for (i, r) in fs.rows.iter().enumerate() {
        let row = 1 + i as u32;
        ws.write_string(row, 0, &r.unit)?;
        ws.write_number(row, 1, r.years)?;
        ws.write_number(row, 2, r.horizon)?;
        let [g5, _, _, _, g95] = r.gain.quantiles;
        nums(
            ws,
            row,
            3,
            &[r.value.mean, r.gain.mean, r.gain.stderr, g5, g95],
            &f.money,
        )?;
        num(ws, row, 8, r.prob_gain, &f.share)?;
        num(ws, row, 9, r.spend_pv, &f.money)?;
        if let Some(g) = r.gate_pass {
            num(ws, row, 10, g, &f.share)?;
        }
        num(ws, row, 11, r.group_gain.mean, &f.money)?;
        ws.write_boolean(row, 12, r.best)?;
    }
    widths(ws, &[(0, 22.0)], 1..cols.len(), 14.0)?;
    // The choices, with how sure each is, beside the list.
    let c0 = cols.len() as u16 + 1;
    ws.write_string_with_format(
        0,
        c0,
        format!(
            "Best cycle at year {} (every cycle over), under these assumptions",
            fs.read_at
        ),
        &f.bold,
    )?;
    let head = names(&[
        "unit",
        "best years",
        "runner-up years",
        "P(best beats runner-up)",
        "P(best beats not funding)",
        "toss-up",
    ]);
    for (k, h) in head.iter().enumerate() {
        ws.write_string_with_format(1, c0 + k as u16, h, &f.header)?;
    }
    for (i, c) in fs.choices.iter().enumerate() {
        let row = 2 + i as u32;
        ws.write_string(row, c0, &c.unit)?;
        ws.write_number(row, c0 + 1, c.best)?;
        if let Some(r) = c.runner_up {
            ws.write_number(row, c0 + 2, r)?;
        }
        if let Some(p) = c.over_runner_up {
            num(ws, row, c0 + 3, p, &f.share)?;
        }
        if let Some(p) = c.over_none {
            num(ws, row, c0 + 4, p, &f.share)?;
        }
        ws.write_boolean(row, c0 + 5, c.toss_up())?;
    }
    // A line per unit: mean gain against funded years, at the reading year.
    let mut chart = Chart::new(ChartType::Line);
    chart.title().set_name(&format!(
        "Gain in each unit's own value vs not funding it, at year {} ({})",
        fs.read_at, fs.currency
    ));
    for unit in &fs.units {
        let at: Vec<u32> = fs
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| &r.unit == unit && r.horizon == fs.read_at)
            .map(|(i, _)| 1 + i as u32)
            .collect();
        if let (Some(&r0), Some(&r1)) = (at.first(), at.last()) {
            chart
                .add_series()
                .set_name(unit.as_str())
                .set_categories((name, r0, 1, r1, 1))
                .set_values((name, r0, 4, r1, 4));
        }
    }
    chart.x_axis().set_name("Funded years");
    chart.y_axis().set_name(&fs.currency);
    chart.set_width(720);
    ws.insert_chart(3 + fs.choices.len() as u32, c0, &chart)?;
    Ok(())
}

/// Which uncertain assumption matters: per outcome, every assumption's
/// share of the variance, its correlation with the outcome and its effect,
/// and a bar chart of the first outcome's shares.
pub(super) fn uncertainty_sheet(
    ws: &mut Worksheet,
    name: &str,
    panels: &[crate::results::uncertainty::Panel],
    book: &Book,
) -> Result<(), XlsxError> {
    let f = book.f;
    let cols = names(&[
        "policy",
        "outcome",
        "year",
        "unit",
        "key",
        "distribution",
        "share of variance",
        "correlation",
        "effect per stdev",
    ]);
    let rows: usize = panels.iter().map(|p| p.rows.len()).sum();
    list_header(ws, &cols, rows, f)?;
    let mut row = 1;
    let mut first: Option<(u32, u32)> = None;
    for p in panels {
        let r0 = row;
        for r in &p.rows {
            ws.write_string(row, 0, &p.policy)?;
            ws.write_string(row, 1, p.outcome.name())?;
            ws.write_number(row, 2, p.horizon)?;
            ws.write_string(row, 3, &r.unit)?;
            ws.write_string(row, 4, r.key)?;
            ws.write_string(row, 5, r.dist)?;
            num(ws, row, 6, r.share, &f.share)?;
            num(ws, row, 7, r.correlation, &f.number)?;
            num(ws, row, 8, r.effect, &f.money)?;
            row += 1;
        }
        if first.is_none() && row > r0 {
            first = Some((r0, (row - 1).min(r0 + 9)));
        }
    }
    widths(ws, &[(0, 16.0), (3, 26.0)], 4..cols.len(), 15.0)?;
    if let Some((r0, r1)) = first {
        let mut chart = Chart::new(ChartType::Bar);
        chart.title().set_name(&format!(
            "Share of the variance of {}'s {} explained",
            panels[0].policy,
            panels[0].outcome.name()
        ));
        chart
            .add_series()
            .set_name("share of variance")
            .set_categories((name, r0, 3, r1, 4))
            .set_values((name, r0, 6, r1, 6));
        chart.y_axis().set_reverse();
        chart.x_axis().set_num_format("0%");
        chart.set_width(640);
        ws.insert_chart(1, cols.len() as u16 + 1, &chart)?;
    }
    Ok(())
}

/// A cell's number as a spreadsheet should hold it: "2,816.8 ± 3.2" is
/// 2816.8, "67.5%" is 0.675 (a share); None for text.
fn cell_number(text: &str) -> Option<(f64, bool)> {
    let t = text.trim();
    let first = t.split_whitespace().next()?;
    let (body, share) = match first.strip_suffix('%') {
        Some(b) => (b, true),
        None => (first, false),
    };
    let x: f64 = body.replace([',', '+'], "").parse().ok()?;
    x.is_finite()
        .then_some((if share { x / 100.0 } else { x }, share))
}

/// The tables of report sections from a command above the run (the
/// optimizer's levers, figures and frontier), one after another under
/// their headings, numbers as numbers; a scatter chart of the frontier
/// when there is one.
pub(super) fn sections_sheet(
    ws: &mut Worksheet,
    name: &str,
    blocks: &[Block],
    book: &Book,
) -> Result<(), XlsxError> {
    let f = book.f;
    let mut row = 0u32;
    let mut heading = String::new();
    let mut frontier: Option<(u32, u32)> = None;
    for b in blocks {
        match b {
            Block::Heading(_, h) => heading = h.clone(),
            Block::Table {
                header: head, rows, ..
            } => {
                if !heading.is_empty() {
                    ws.write_string_with_format(row, 0, &heading, &f.bold)?;
                    row += 1;
                }
                row = header(ws, row, head, f)?;
                let r0 = row;
                for cells in rows {
                    for (c, text) in cells.iter().enumerate() {
                        match cell_number(text) {
                            Some((x, true)) => num(ws, row, c as u16, x, &f.share)?,
                            Some((x, false)) if c > 0 => num(ws, row, c as u16, x, &f.number)?,
                            _ => {
                                ws.write_string(row, c as u16, text)?;
                            }
                        }
                    }
                    row += 1;
                }
                if heading.contains("frontier") && head.len() >= 3 && row > r0 {
                    frontier = Some((r0, row - 1));
                }
                row += 1;
            }
            _ => {}
        }
    }
    widths(ws, &[(0, 44.0)], 1..4, 22.0)?;
    if let Some((r0, r1)) = frontier {
        let mut chart = Chart::new(ChartType::ScatterStraightWithMarkers);
        chart
            .title()
            .set_name("Efficient frontier: best mean value for each risk limit");
        chart
            .add_series()
            .set_name("frontier")
            .set_categories((name, r0, 1, r1, 1))
            .set_values((name, r0, 2, r1, 2));
        chart.x_axis().set_name("risk measure");
        chart.y_axis().set_name("mean value");
        chart.set_width(640);
        ws.insert_chart(1, 5, &chart)?;
    }
    Ok(())
}
