//! The sheets of every run: Headline, Summary, Units, Unit detail,
//! Revenue path and Unit paths.

use rust_xlsxwriter::{Chart, ChartAxisLabelPosition, ChartType, Worksheet, XlsxError};

use super::*;

/// The Headline sheet: what was run, the headline sentences, each
/// policy's value and gain by year, and charts of the gain and the chance
/// of beating the baseline.
pub(super) fn headline_sheet(ws: &mut Worksheet, name: &str, book: &Book) -> Result<(), XlsxError> {
    let row = headline_intro(ws, book)?;
    // A blank row between the sentences and the table.
    let (first, row) = headline_table(ws, book, row + 1)?;
    headline_charts(ws, name, book, first, row)
}

/// The scenario's name, what was run, and the headline sentences under
/// "At a glance"; returns the row after them.
fn headline_intro(ws: &mut Worksheet, book: &Book) -> Result<u32, XlsxError> {
    let Book { input, f } = *book;
    let s = input.summary;
    let sc = input.scenario;
    let base = &sc.policies[sc.baseline].name;
    let t = tail_label(s.tail);
    ws.write_string_with_format(0, 0, &s.scenario, &f.title)?;
    ws.write_string(
        1,
        0,
        format!(
            "{} trials, seed {}; money in {}, present values at {}% a year; baseline: {base}; VaR and CVaR at {t}%.",
            s.trials,
            s.seed,
            s.currency,
            tail_label(sc.discount_rate)
        ),
    )?;
    ws.write_string_with_format(3, 0, "At a glance", &f.bold)?;
    // Each sentence across the table's width, wrapped.
    let mut row = 4;
    for Sentence { text, .. } in &s.headline {
        ws.merge_range(row, 0, row, 14, text, &f.wrap)?;
        let lines = (text.chars().count() / 190 + 1) as f64;
        ws.set_row_height(row, 15.0 * lines)?;
        row += 1;
    }
    Ok(row)
}

/// From `row`: one row per policy and year with the value's and (but for
/// the baseline) the gain's figures and the chance of beating the
/// baseline. Returns the first data row and the row after the table.
fn headline_table(ws: &mut Worksheet, book: &Book, row: u32) -> Result<(u32, u32), XlsxError> {
    let Book { input, f } = *book;
    let s = input.summary;
    let sc = input.scenario;
    let base = &sc.policies[sc.baseline].name;
    let t = tail_label(s.tail);
    let mut cols = names(&["policy", "year"]);
    cols.extend(band("value"));
    cols.extend([format!("value VaR {t}%"), format!("value CVaR {t}%")]);
    cols.extend(band("gain"));
    cols.extend([
        format!("gain VaR {t}%"),
        format!("gain CVaR {t}%"),
        format!("P(beat {base})"),
    ]);
    let mut row = header(ws, row, &cols, f)?;
    let first = row;
    for p in &sc.policies {
        for &h in &sc.horizons {
            let (Some(v), Some(g)) = (
                s.row(&p.name, h, "value", None),
                s.row(&p.name, h, "delta_value", None),
            ) else {
                continue;
            };
            ws.write_string(row, 0, &p.name)?;
            ws.write_number(row, 1, h)?;
            nums(
                ws,
                row,
                2,
                &[v.mean, v.p5, v.p50, v.p95, v.var, v.cvar],
                &f.money,
            )?;
            if p.name != *base {
                nums(
                    ws,
                    row,
                    8,
                    &[g.mean, g.p5, g.p50, g.p95, g.var, g.cvar],
                    &f.money,
                )?;
                num(
                    ws,
                    row,
                    14,
                    s.prob(&p.name, h).unwrap_or(f64::NAN),
                    &f.share,
                )?;
            }
            row += 1;
        }
    }
    widths(ws, &[(0, 18.0)], 1..cols.len(), 15.0)?;
    Ok((first, row))
}

/// Charts below the table (data from row `first` of sheet `name`, the
/// table ending before `row`): the median gain over the baseline (the
/// median value when the baseline is the only policy) by year, and the
/// chance of beating the baseline.
fn headline_charts(
    ws: &mut Worksheet,
    name: &str,
    book: &Book,
    first: u32,
    row: u32,
) -> Result<(), XlsxError> {
    let s = book.input.summary;
    let sc = book.input.scenario;
    let base = &sc.policies[sc.baseline].name;
    let n_h = sc.horizons.len() as u32;
    let others = sc.policies.len() > 1;
    let mut level = Chart::new(ChartType::Column);
    level.title().set_name(&if others {
        format!("Median gain over {base} ({})", s.currency)
    } else {
        format!("Median value ({})", s.currency)
    });
    let mut beat = Chart::new(ChartType::Line);
    beat.title()
        .set_name(&format!("Share of trials beating {base}"));
    for (p, policy) in sc.policies.iter().enumerate() {
        let r0 = first + p as u32 * n_h;
        let r1 = r0 + n_h - 1;
        if others && p == sc.baseline {
            continue;
        }
        let c = if others { 10 } else { 4 };
        level
            .add_series()
            .set_name(&policy.name)
            .set_categories((name, r0, 1, r1, 1))
            .set_values((name, r0, c, r1, c));
        beat.add_series()
            .set_name(&policy.name)
            .set_categories((name, r0, 1, r1, 1))
            .set_values((name, r0, 14, r1, 14));
    }
    level
        .x_axis()
        .set_name("Year")
        .set_label_position(ChartAxisLabelPosition::Low);
    level
        .y_axis()
        .set_name(&s.currency)
        .set_num_format("#,##0.0");
    beat.x_axis().set_name("Year");
    beat.y_axis().set_num_format("0%").set_min(0);
    let at = row + 2;
    ws.insert_chart(at, 0, &level)?;
    if others {
        ws.insert_chart(at, 6, &beat)?;
    }
    Ok(())
}

pub(super) fn summary_sheet(ws: &mut Worksheet, book: &Book) -> Result<(), XlsxError> {
    let Book { input, f } = *book;
    let s = input.summary;
    let t = tail_label(s.tail);
    let cols = names(&[
        "policy",
        "horizon",
        "metric",
        "unit",
        "mean",
        "stdev",
        "stderr",
        "p5",
        "p25",
        "p50",
        "p75",
        "p95",
        "min",
        "max",
        &format!("VaR {t}%"),
        &format!("CVaR {t}%"),
    ]);
    list_header(ws, &cols, s.rows.len(), f)?;
    for (i, r) in s.rows.iter().enumerate() {
        let row = 1 + i as u32;
        ws.write_string(row, 0, &r.policy)?;
        ws.write_number(row, 1, r.horizon)?;
        ws.write_string(row, 2, r.metric)?;
        if let Some(u) = &r.unit {
            ws.write_string(row, 3, u)?;
        }
        let figures = [
            r.mean, r.stdev, r.stderr, r.p5, r.p25, r.p50, r.p75, r.p95, r.min, r.max, r.var,
            r.cvar,
        ];
        nums(ws, row, 4, &figures, &f.money)?;
    }
    widths(ws, &[(0, 16.0), (2, 13.0), (3, 26.0)], 4..cols.len(), 14.0)?;
    Ok(())
}

/// Each unit's median value at the last horizon, by policy, largest under
/// the baseline first, and how each other policy moves it, with a bar
/// chart of those moves (of the medians themselves when the baseline is
/// the only policy).
pub(super) fn units_sheet(ws: &mut Worksheet, name: &str, book: &Book) -> Result<(), XlsxError> {
    let Book { input, f } = *book;
    let s = input.summary;
    let sc = input.scenario;
    let Some(&last) = sc.horizons.last() else {
        return Ok(());
    };
    let base = &sc.policies[sc.baseline].name;
    let others: Vec<usize> = (0..sc.policies.len())
        .filter(|&p| p != sc.baseline)
        .collect();
    let mut cols = names(&["unit", "role"]);
    for p in &sc.policies {
        cols.push(format!("{} P50 y{last}", p.name));
        cols.push(format!("{} P5", p.name));
        cols.push(format!("{} P95", p.name));
    }
    let moves = cols.len() as u16;
    for &p in &others {
        cols.push(format!("{} P50 - {base} P50", sc.policies[p].name));
    }
    list_header(ws, &cols, sc.units.len(), f)?;
    let median = |u: &str, p: &str| {
        s.row(p, last, "unit_value", Some(u))
            .map_or(f64::NAN, |r| r.p50)
    };
    let mut order: Vec<usize> = (0..sc.units.len()).collect();
    order.sort_by(|&a, &b| {
        median(&sc.units[b].name, base)
            .total_cmp(&median(&sc.units[a].name, base))
            .then(a.cmp(&b))
    });
    for (i, &u) in order.iter().enumerate() {
        let row = 1 + i as u32;
        let unit = &sc.units[u];
        ws.write_string(row, 0, &unit.name)?;
        ws.write_string(row, 1, unit.role.as_str())?;
        for (p, policy) in sc.policies.iter().enumerate() {
            if let Some(r) = s.row(&policy.name, last, "unit_value", Some(&unit.name)) {
                let c = 2 + 3 * p as u16;
                num(ws, row, c, r.p50, &f.money)?;
                num(ws, row, c + 1, r.p5, &f.money)?;
                num(ws, row, c + 2, r.p95, &f.money)?;
            }
        }
        for (k, &p) in others.iter().enumerate() {
            let d = median(&unit.name, &sc.policies[p].name) - median(&unit.name, base);
            num(ws, row, moves + k as u16, d, &f.money)?;
        }
    }
    widths(ws, &[(0, 28.0)], 1..cols.len(), 17.0)?;
    let n = sc.units.len() as u32;
    let mut chart = Chart::new(ChartType::Bar);
    let series: Vec<(String, u16)> = if others.is_empty() {
        chart
            .title()
            .set_name(&format!("Median value of each unit at year {last}"));
        vec![(base.clone(), 2)]
    } else {
        chart.title().set_name(&format!(
            "How each policy moves the units' median value at year {last}, vs {base}"
        ));
        others
            .iter()
            .enumerate()
            .map(|(k, &p)| (sc.policies[p].name.clone(), moves + k as u16))
            .collect()
    };
    for (label, c) in &series {
        chart
            .add_series()
            .set_name(label)
            .set_categories((name, 1, 0, n, 0))
            .set_values((name, 1, *c, n, *c));
    }
    chart
        .x_axis()
        .set_name(&s.currency)
        .set_num_format("#,##0.0");
    // Largest under the baseline at the top, labels clear of the bars.
    chart
        .y_axis()
        .set_reverse()
        .set_label_position(ChartAxisLabelPosition::Low);
    chart.set_width(760);
    chart.set_height(120 + 24 * n.min(60) * series.len().min(4) as u32);
    ws.insert_chart(1, cols.len() as u16 + 1, &chart)?;
    Ok(())
}

/// Every unit figure at every horizon, one row per unit, policy and year.
pub(super) fn unit_detail_sheet(ws: &mut Worksheet, book: &Book) -> Result<(), XlsxError> {
    let Book { input, f } = *book;
    let s = input.summary;
    let sc = input.scenario;
    let mut cols = names(&["unit", "policy", "year"]);
    cols.extend(band("value"));
    cols.extend(names(&["revenue mean", "revenue P50"]));
    list_header(
        ws,
        &cols,
        sc.units.len() * sc.policies.len() * sc.horizons.len(),
        f,
    )?;
    let mut row = 1;
    for unit in &sc.units {
        for p in &sc.policies {
            for &h in &sc.horizons {
                let (Some(v), Some(r)) = (
                    s.row(&p.name, h, "unit_value", Some(&unit.name)),
                    s.row(&p.name, h, "unit_revenue", Some(&unit.name)),
                ) else {
                    continue;
                };
                ws.write_string(row, 0, &unit.name)?;
                ws.write_string(row, 1, &p.name)?;
                ws.write_number(row, 2, h)?;
                nums(
                    ws,
                    row,
                    3,
                    &[v.mean, v.p5, v.p50, v.p95, r.mean, r.p50],
                    &f.money,
                )?;
                row += 1;
            }
        }
    }
    widths(ws, &[(0, 28.0), (1, 16.0)], 3..cols.len(), 14.0)?;
    Ok(())
}

/// Group revenue over time: P5, P50 and P95 per policy, with a chart of
/// the medians.
pub(super) fn revenue_sheet(ws: &mut Worksheet, name: &str, book: &Book) -> Result<(), XlsxError> {
    let Book { input, f } = *book;
    let s = input.summary;
    let sc = input.scenario;
    let mut cols = names(&["year"]);
    for p in &sc.policies {
        cols.push(format!("{} P5", p.name));
        cols.push(format!("{} P50", p.name));
        cols.push(format!("{} P95", p.name));
    }
    let steps = input.layout.path_steps.len();
    list_header(ws, &cols, steps, f)?;
    for (p, policy) in sc.policies.iter().enumerate() {
        let pts = s.revenue_path.iter().filter(|pt| pt.policy == policy.name);
        for (i, pt) in pts.enumerate() {
            let row = 1 + i as u32;
            if p == 0 {
                ws.write_number_with_format(row, 0, pt.t, &f.number)?;
            }
            let c = 1 + 3 * p as u16;
            num(ws, row, c, pt.p5, &f.money)?;
            num(ws, row, c + 1, pt.p50, &f.money)?;
            num(ws, row, c + 2, pt.p95, &f.money)?;
        }
    }
    widths(ws, &[], 0..cols.len(), 15.0)?;
    let n = steps as u32;
    let mut chart = Chart::new(ChartType::Line);
    chart
        .title()
        .set_name(&format!("Median group revenue ({} a year)", s.currency));
    for (p, policy) in sc.policies.iter().enumerate() {
        let c = 2 + 3 * p as u16;
        chart
            .add_series()
            .set_name(&policy.name)
            .set_categories((name, 1, 0, n, 0))
            .set_values((name, 1, c, n, c));
    }
    chart.x_axis().set_name("Years from now");
    chart.y_axis().set_num_format("#,##0");
    ws.insert_chart(1, cols.len() as u16 + 1, &chart)?;
    Ok(())
}

/// Each unit's EBITA and cumulative cash at year ends (when recorded).
pub(super) fn unit_paths_sheet(ws: &mut Worksheet, book: &Book) -> Result<(), XlsxError> {
    let Book { input, f } = *book;
    let sc = input.scenario;
    let cols = names(&[
        "policy", "unit", "figure", "year", "mean", "P5", "P25", "P50", "P75", "P95",
    ]);
    let points = 1 + input.layout.unit_path_steps.len();
    list_header(
        ws,
        &cols,
        sc.policies.len() * sc.units.len() * 2 * points,
        f,
    )?;
    let mut row = 1;
    for (p, policy) in sc.policies.iter().enumerate() {
        for (u, unit) in sc.units.iter().enumerate() {
            for (figure, what) in [
                (UnitFigure::Ebita, "EBITA"),
                (UnitFigure::Cash, "cumulative cash"),
            ] {
                for pt in unit_paths::path(sc, input.layout, input.acc, p, u, figure) {
                    ws.write_string(row, 0, &policy.name)?;
                    ws.write_string(row, 1, &unit.name)?;
                    ws.write_string(row, 2, what)?;
                    ws.write_number(row, 3, pt.t)?;
                    num(ws, row, 4, pt.mean, &f.money)?;
                    nums(ws, row, 5, &pt.quantiles, &f.money)?;
                    row += 1;
                }
            }
        }
    }
    widths(ws, &[(0, 16.0), (1, 28.0), (2, 16.0)], 4..cols.len(), 14.0)?;
    Ok(())
}
