//! summary.xlsx, read back: the sheets, cells equal to summary.json, the
//! native chart parts, frozen headers and the currency's number format;
//! the same bytes on any thread count; `--no-xlsx` writes none.

use crate::common::*;

use std::fs;
use std::io::Read;
use std::path::Path;

use calamine::{open_workbook, Data, Reader, Xlsx};

fn book(path: &Path) -> Xlsx<std::io::BufReader<fs::File>> {
    open_workbook(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The parts of the xlsx (zip) file, by name, as text.
fn parts(path: &Path) -> Vec<(String, String)> {
    let mut zip = zip::ZipArchive::new(fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut text = String::new();
            let _ = f.read_to_string(&mut text);
            (f.name().unwrap().to_string(), text)
        })
        .collect()
}

fn cell(range: &calamine::Range<Data>, row: u32, col: u32) -> Data {
    range.get_value((row, col)).cloned().unwrap_or(Data::Empty)
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        other => panic!("not text: {other:?}"),
    }
}

fn number(d: &Data) -> f64 {
    match d {
        Data::Float(x) => *x,
        Data::Int(x) => *x as f64,
        other => panic!("not a number: {other:?}"),
    }
}

#[test]
fn the_workbook_holds_the_summary_with_native_charts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let args = ["--trials", "3000", "--no-charts"];
    let s = simulate_drawn(&root().join("scenarios/reset.toml"), &out, &args);
    let path = out.join("summary.xlsx");
    let mut wb = book(&path);
    assert_eq!(
        wb.sheet_names(),
        [
            "Headline",
            "Summary",
            "Units",
            "Unit detail",
            "Revenue path"
        ]
    );

    // Summary: every row of summary.json, the same numbers.
    let sum = wb.worksheet_range("Summary").unwrap();
    let rows = s["rows"].as_array().unwrap();
    assert_eq!(sum.height(), 1 + rows.len());
    assert_eq!(text(&cell(&sum, 0, 0)), "policy");
    assert_eq!(text(&cell(&sum, 0, 14)), "VaR 5%");
    assert_eq!(text(&cell(&sum, 0, 15)), "CVaR 5%");
    for (i, r) in rows.iter().enumerate() {
        let row = 1 + i as u32;
        assert_eq!(text(&cell(&sum, row, 0)), r["policy"].as_str().unwrap());
        assert_eq!(number(&cell(&sum, row, 1)), f(r, "horizon"));
        assert_eq!(text(&cell(&sum, row, 2)), r["metric"].as_str().unwrap());
        match r["unit"].as_str() {
            Some(u) => assert_eq!(text(&cell(&sum, row, 3)), u),
            None => assert_eq!(cell(&sum, row, 3), Data::Empty),
        }
        for (c, key) in ["mean", "p5", "p50", "p95", "var", "cvar"]
            .iter()
            .zip([4, 7, 9, 11, 14, 15])
            .map(|(k, c)| (c, k))
        {
            assert_eq!(number(&cell(&sum, row, c)), f(r, key), "row {i} {key}");
        }
    }

    // Headline: the sentences, then the key table.
    let head = wb.worksheet_range("Headline").unwrap();
    assert_eq!(text(&cell(&head, 0, 0)), s["scenario"].as_str().unwrap());
    let sentences = s["headline"].as_array().unwrap();
    for (i, h) in sentences.iter().enumerate() {
        assert_eq!(
            text(&cell(&head, 4 + i as u32, 0)),
            h["text"].as_str().unwrap()
        );
    }
    let table = 4 + sentences.len() as u32 + 1;
    assert_eq!(text(&cell(&head, table, 0)), "policy");
    assert_eq!(text(&cell(&head, table, 14)), "P(beat status_quo)");
    // status_quo 3, 4, 5 then reset 3, 4, 5.
    let reset5 = table + 6;
    assert_eq!(text(&cell(&head, reset5, 0)), "reset");
    assert_eq!(number(&cell(&head, reset5, 1)), 5.0);
    let g = row(&s, "reset", 5, "delta_value", None);
    assert_eq!(number(&cell(&head, reset5, 10)), f(g, "p50"));
    assert_eq!(number(&cell(&head, reset5, 13)), f(g, "cvar"));
    let p = s["prob_beats_baseline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["policy"] == "reset" && x["horizon"] == 5)
        .unwrap();
    assert_eq!(number(&cell(&head, reset5, 14)), f(p, "p"));
    // The baseline has no gain.
    assert_eq!(cell(&head, table + 3, 10), Data::Empty);

    // Units: one row per unit, largest median value under the baseline
    // first.
    let units = wb.worksheet_range("Units").unwrap();
    assert_eq!(units.height(), 1 + 13);
    let first = text(&cell(&units, 1, 0));
    let v = row(&s, "status_quo", 5, "unit_value", Some(&first));
    assert_eq!(number(&cell(&units, 1, 2)), f(v, "p50"));
    let medians: Vec<f64> = (1..=13).map(|r| number(&cell(&units, r, 2))).collect();
    assert!(medians.windows(2).all(|w| w[0] >= w[1]));
    let detail = wb.worksheet_range("Unit detail").unwrap();
    assert_eq!(detail.height(), 1 + 13 * 2 * 3);

    // Native charts: two on Headline, one on Units, one on Revenue path,
    // their series pointing at the sheets' cells.
    let parts = parts(&path);
    let charts: Vec<&(String, String)> = parts
        .iter()
        .filter(|(n, _)| n.starts_with("xl/charts/chart") && n.ends_with(".xml"))
        .collect();
    assert_eq!(
        charts.len(),
        4,
        "{:?}",
        parts.iter().map(|p| &p.0).collect::<Vec<_>>()
    );
    assert!(charts
        .iter()
        .any(|(_, x)| x.contains("<c:barChart>") && x.contains("Headline!$K$")));
    assert!(charts.iter().any(|(_, x)| x.contains("<c:lineChart>")));
    let styles = &parts.iter().find(|(n, _)| n == "xl/styles.xml").unwrap().1;
    assert!(styles.contains("CNY bn"), "currency number format");
    let summary_sheet = &parts
        .iter()
        .find(|(n, _)| n == "xl/worksheets/sheet2.xml")
        .unwrap()
        .1;
    assert!(summary_sheet.contains("state=\"frozen\""));
    assert!(summary_sheet.contains("<autoFilter"));

    // The same bytes from another thread count; none with --no-xlsx.
    let again = dir.path().join("again");
    simulate_drawn(
        &root().join("scenarios/reset.toml"),
        &again,
        &["--trials", "3000", "--no-charts", "--threads", "2"],
    );
    assert_eq!(
        fs::read(&path).unwrap(),
        fs::read(again.join("summary.xlsx")).unwrap()
    );
    let none = dir.path().join("none");
    simulate_drawn(
        &root().join("scenarios/reset.toml"),
        &none,
        &["--trials", "1000", "--no-charts", "--no-xlsx"],
    );
    assert!(!none.join("summary.xlsx").exists());
}

#[test]
fn studies_and_unit_paths_get_their_sheets() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    // One unit under two policies: the sensitivity study measures the
    // gain of the second over the first.
    let file = dir.path().join("two.toml");
    let toml = fs::read_to_string(fixture("one_unit.toml")).unwrap()
        + "\n[policies.spin]\nreinvest_share = 0.6\ncore = { intensity = 0.1 }\n";
    fs::write(&file, toml).unwrap();
    let s = simulate_drawn(
        &file,
        &out,
        &[
            "--trials",
            "400",
            "--sweep",
            "scenario.discount_rate=0.06,0.08,0.1",
            "--sensitivity",
        ],
    );
    let path = out.join("summary.xlsx");
    let mut wb = book(&path);
    assert_eq!(
        wb.sheet_names(),
        [
            "Headline",
            "Summary",
            "Units",
            "Unit detail",
            "Revenue path",
            "Unit paths",
            "Sweep",
            "Sensitivity"
        ]
    );
    let paths = wb.worksheet_range("Unit paths").unwrap();
    // 2 policies x 1 unit x 2 figures x (t = 0 and 2 year ends).
    assert_eq!(paths.height(), 1 + 2 * 6);
    assert_eq!(text(&cell(&paths, 1, 2)), "EBITA");
    assert_eq!(number(&cell(&paths, 1, 7)), 120.0 * 0.15);
    let csv = fs::read_to_string(out.join("unit_paths.csv")).unwrap();
    let year2: Vec<f64> = csv
        .lines()
        .find(|l| l.starts_with("hold,Only Business,ebita,2.0,"))
        .unwrap()
        .split(',')
        .skip(4)
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(number(&cell(&paths, 3, 4)), year2[0]);

    let sweep = wb.worksheet_range("Sweep").unwrap();
    assert_eq!(text(&cell(&sweep, 0, 0)), "scenario.discount_rate");
    assert_eq!(number(&cell(&sweep, 1, 0)), 0.06);
    let csv = fs::read_to_string(out.join("sweep.csv")).unwrap();
    let line: Vec<&str> = csv.lines().nth(2).unwrap().split(',').collect();
    assert_eq!(number(&cell(&sweep, 2, 5)), line[5].parse::<f64>().unwrap());

    let sens = wb.worksheet_range("Sensitivity").unwrap();
    let csv = fs::read_to_string(out.join("sensitivity.csv")).unwrap();
    assert_eq!(sens.height(), csv.lines().count());
    assert_eq!(text(&cell(&sens, 1, 0)), "spin");
    let first: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(text(&cell(&sens, 1, 1)), first[2]);

    let parts = parts(&path);
    let charts = parts
        .iter()
        .filter(|(n, _)| n.starts_with("xl/charts/chart") && n.ends_with(".xml"))
        .count();
    // Headline (value and gain: two policies), Units, Revenue path, Sweep
    // (value and the chance of beating the baseline), Sensitivity.
    assert_eq!(charts, 7);
    assert!(parts
        .iter()
        .any(|(n, x)| n.starts_with("xl/charts/") && x.contains("Sensitivity!$K$")));
    let styles = &parts.iter().find(|(n, _)| n == "xl/styles.xml").unwrap().1;
    assert!(styles.contains("EUR m"));
    let _ = s;
}

/// Every study of a run reaches the workbook: the funding study (its
/// rows, the choices with how sure they are, a native chart), the
/// uncertainty view, and the optimizer's levers and frontier.
#[test]
fn funding_uncertainty_and_the_optimizer_get_their_sheets() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f");
    simulate_drawn(
        &root().join("scenarios/innovation_cycles.toml"),
        &out,
        &["--trials", "2000", "--no-charts"],
    );
    let path = out.join("summary.xlsx");
    let mut wb = book(&path);
    assert!(
        wb.sheet_names().contains(&"Funding".to_string()),
        "{:?}",
        wb.sheet_names()
    );
    let fs_ = wb.worksheet_range("Funding").unwrap();
    assert_eq!(text(&cell(&fs_, 0, 0)), "unit");
    let csv = fs::read_to_string(out.join("funding.csv")).unwrap();
    assert_eq!(fs_.height() as usize, csv.lines().count().max(8));
    // The first data row: 1688, 0 years funded.
    assert_eq!(text(&cell(&fs_, 1, 0)), "1688");
    assert_eq!(number(&cell(&fs_, 1, 1)), 0.0);
    let charts = parts(&path)
        .iter()
        .filter(|(n, _)| n.starts_with("xl/charts/chart"))
        .count();
    assert!(charts >= 4, "{charts} charts");

    let out = dir.path().join("u");
    simulate_drawn(
        &root().join("scenarios/reset_correlated.toml"),
        &out,
        &["--trials", "2000", "--no-charts"],
    );
    let mut wb = book(&out.join("summary.xlsx"));
    let u = wb.worksheet_range("Uncertainty").unwrap();
    assert_eq!(text(&cell(&u, 0, 6)), "share of variance");
    let share = number(&cell(&u, 1, 6));
    assert!((0.0..=1.0).contains(&share), "{share}");

    let out = dir.path().join("o");
    let o = run(&[
        "optimize",
        root()
            .join("scenarios/optimize_reset.toml")
            .to_str()
            .unwrap(),
        "--trials",
        "1000",
        "--evaluations",
        "60",
        "--no-frontier",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut wb = book(&out.join("summary.xlsx"));
    let opt = wb.worksheet_range("Optimization").unwrap();
    // The levers' table: the paths as text, old and optimized as numbers.
    let mut found = false;
    for r in 0..opt.height() as u32 {
        if let Data::String(s) = cell(&opt, r, 0) {
            if s.contains("Taobao & Tmall") {
                number(&cell(&opt, r, 1));
                number(&cell(&opt, r, 2));
                found = true;
            }
        }
    }
    assert!(found, "no lever row");
}
