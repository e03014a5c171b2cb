//! Fuzzing with a fixed budget (proptest, so it runs in CI): the parser and
//! validator must never panic, hang or allocate without bound, whatever the
//! input; what they accept must run without panicking.
//!
//! Inputs: arbitrary bytes, and structural mutations of the seed scenarios
//! in tests/fuzz-corpus/. Raise PROPTEST_CASES for a longer local run.

use std::path::Path;

use proptest::prelude::*;
use stratsim::{engine, scenario};

fn corpus() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// Values a mutation may put in place of a value.
const VALUES: &[&str] = &[
    "0",
    "-0.0",
    "1",
    "-1",
    "-1.0000001",
    "1e308",
    "-1e308",
    "1e-320",
    "nan",
    "inf",
    "-inf",
    "1_000_000_000_000_000",
    "9223372036854775807",
    "-9223372036854775808",
    "\"\"",
    "\"core\"",
    "\"innovation\"",
    "\"a\\u0000b\"",
    "[]",
    "[1, 2, 2]",
    "[0]",
    "[1000000]",
    "{}",
    "{ median = 0, dispersion = 0 }",
    "{ rate = 1e300, mean = 1e300, stdev = 1e300 }",
    "true",
    "1979-05-27T07:32:00Z",
    "{ year = -1, min_revenue_multiple = nan }",
];

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    ReplaceValue(usize, usize),
    RenameKey(usize, String),
    Truncate(usize),
    InsertBytes(usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), 0..VALUES.len()).prop_map(|(a, v)| Mutation::ReplaceValue(a, v)),
        (any::<usize>(), "[a-z_]{0,12}").prop_map(|(a, k)| Mutation::RenameKey(a, k)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 0..8))
            .prop_map(|(a, b)| Mutation::InsertBytes(a, b)),
    ]
}

fn apply(text: &str, m: &Mutation) -> Vec<u8> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // An earlier mutation may have emptied the text: one empty line, so
    // that line mutations have a line to work on.
    if lines.is_empty() {
        lines.push(String::new());
    }
    let n = lines.len();
    match m {
        Mutation::DeleteLine(i) => {
            lines.remove(i % n);
        }
        Mutation::DuplicateLine(i) => {
            let l = lines[i % n].clone();
            lines.insert(i % n, l);
        }
        Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
        Mutation::ReplaceValue(i, v) => {
            let l = &mut lines[i % n];
            if let Some((k, _)) = l.split_once('=') {
                *l = format!("{k}= {}", VALUES[*v]);
            }
        }
        Mutation::RenameKey(i, key) => {
            let l = &mut lines[i % n];
            if let Some((_, v)) = l.split_once('=') {
                *l = format!("{key} ={v}");
            }
        }
        Mutation::Truncate(i) => {
            let bytes = text.as_bytes();
            return bytes[..i % (bytes.len() + 1)].to_vec();
        }
        Mutation::InsertBytes(i, b) => {
            let mut bytes = text.as_bytes().to_vec();
            let at = i % (bytes.len() + 1);
            bytes.splice(at..at, b.iter().copied());
            return bytes;
        }
    }
    lines.join("\n").into_bytes()
}

/// Parses, and if accepted runs a few trials of a small enough scenario.
fn exercise(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return; // the binary refuses non-UTF-8 files when reading them
    };
    match scenario::parse(Path::new("fuzz.toml"), text) {
        Err(e) => {
            // Every refusal is an input error with a message.
            assert!(!e.to_string().is_empty());
            assert_eq!(e.exit_code(), 2, "{e}");
        }
        Ok(mut s) => {
            let work = s.steps() * s.units.len() * s.policies.len();
            if work <= 50_000 {
                s.trials = s.trials.min(64);
                let (_, acc) = engine::run(&s, Some(1), &|_| {}).expect("runs");
                assert_eq!(acc.trials, s.trials);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[\\[\\]{}=\",._a-z0-9 \n#-]{0,400}") {
        exercise(text.as_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn mutated_scenarios_never_panic(
        seed in 0usize..1000,
        ms in prop::collection::vec(mutation(), 1..4),
    ) {
        let corpus = corpus();
        let mut bytes = corpus[seed % corpus.len()].clone().into_bytes();
        for m in &ms {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            bytes = apply(&text, m);
        }
        exercise(&bytes);
    }
}

#[test]
fn huge_requests_are_refused_not_run() {
    let base = &corpus()
        .into_iter()
        .find(|t| t.contains("GBM closed form"))
        .unwrap();
    for (find, replace, words) in [
        (
            "trials = 200_000",
            "trials = 1_000_000_000_000_000",
            "trials",
        ),
        ("horizons = [1, 5]", "horizons = [1, 5000]", "horizons"),
        (
            "steps_per_year = 4",
            "steps_per_year = 100000000",
            "steps_per_year",
        ),
    ] {
        let text = base.replacen(find, replace, 1);
        let e = scenario::parse(Path::new("big.toml"), &text).unwrap_err();
        assert!(e.to_string().contains(words), "{e}");
    }
    let text = base.replacen(
        "multiple = { median = 1.0, dispersion = 0.0 }",
        "multiple = { median = 1.0, dispersion = 0.0 }\njumps = { rate = 1e300, mean = 0, stdev = 0 }",
        1,
    );
    let e = scenario::parse(Path::new("rate.toml"), &text).unwrap_err();
    assert!(e.to_string().contains("jumps.rate"), "{e}");
    // A million units: refused after parsing, with a clear message.
    let mut text = base.clone();
    let unit = text[text.find("[[units]]").unwrap()..text.find("[policies").unwrap()].to_string();
    let many: String = (0..1_001)
        .map(|i| unit.replace("\"Only\"", &format!("\"u{i}\"")))
        .collect();
    text = text.replacen(&unit, &many, 1);
    let e = scenario::parse(Path::new("many.toml"), &text).unwrap_err();
    assert!(e.to_string().contains("at most 1000 units"), "{e}");
}

/// Hostile files in place of a scenario (and of a file it extends): a
/// FIFO, a device that never ends, a folder, a file past the size limit.
/// Each is refused at once with an input error; none is read.
#[test]
fn hostile_files_are_refused_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    let huge = dir.path().join("huge.toml");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(stratsim::input::MAX_SCENARIO_BYTES + 1)
        .unwrap();
    let mut targets = vec![
        Path::new("/dev/zero").to_path_buf(),
        Path::new("/dev/urandom").to_path_buf(),
        dir.path().to_path_buf(),
        huge,
    ];
    if made {
        targets.push(fifo);
    }
    for t in targets {
        let start = std::time::Instant::now();
        let e = scenario::load(&t).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        let variant = dir.path().join("variant.toml");
        std::fs::write(&variant, format!("extends = {:?}\n", t.to_str().unwrap())).unwrap();
        let e = scenario::load(&variant).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        assert!(e.to_string().contains("extends"), "{e}");
        assert!(start.elapsed() < std::time::Duration::from_secs(5), "{t:?}");
    }
}

/// A valid partial result (shard 0 of 1 of a small run), its header and
/// its body as JSON.
fn partial() -> (Vec<u8>, serde_json::Value) {
    let mut s =
        scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/one_step.toml"))
            .unwrap();
    s.trials = 2500;
    let dir = tempfile::tempdir().unwrap();
    let spec = stratsim::shard::ShardSpec { index: 0, count: 1 };
    let file = stratsim::shard::run_shard(
        &s,
        "one_step",
        spec,
        Some(1),
        dir.path(),
        Default::default(),
        &|_| {},
    )
    .unwrap();
    let bytes = std::fs::read(file).unwrap();
    let nl = bytes.iter().position(|&b| b == b'\n').unwrap();
    (
        bytes.clone(),
        serde_json::from_slice(&bytes[nl + 1..]).unwrap(),
    )
}

/// Values a forger may put anywhere in a partial's body.
fn forged_value(k: usize) -> serde_json::Value {
    use serde_json::json;
    [
        json!(0),
        json!(-1),
        json!(1),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(9_000_000_000_000_000_000u64),
        json!(1e308),
        json!(-1e308),
        json!(0.5),
        json!("inf"),
        json!("NaN"),
        json!("-inf"),
        json!(""),
        json!([]),
        json!([1, 2, 3]),
        json!({}),
        json!(null),
        json!(true),
    ][k % 18]
        .clone()
}

/// Every leaf (and array) of a JSON value, as JSON pointers.
fn pointers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                pointers(x, format!("{at}/{k}"), out);
            }
        }
        serde_json::Value::Array(a) => {
            out.push(at.clone());
            // Long arrays (sketch counts): a few entries, not all.
            for (i, x) in a.iter().enumerate().take(8) {
                pointers(x, format!("{at}/{i}"), out);
            }
        }
        _ => out.push(at),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// A partial whose body is changed anywhere, checksum recomputed (as a
    /// forger would), is read or refused; it never panics, aborts or
    /// allocates without bound, and what is accepted merges and reports.
    #[test]
    fn forged_partials_never_panic(
        edits in prop::collection::vec((any::<usize>(), 0usize..18), 1..4),
    ) {
        use sha2::{Digest, Sha256};
        thread_local! {
            static BASE: (Vec<u8>, serde_json::Value) = partial();
        }
        let mut body = BASE.with(|b| b.1.clone());
        let mut all = Vec::new();
        pointers(&body, String::new(), &mut all);
        for (at, v) in &edits {
            let p = &all[at % all.len()];
            if let Some(slot) = body.pointer_mut(p) {
                *slot = forged_value(*v);
            }
        }
        // A forger recomputes the scenario's hash too.
        if let Ok(sc) = serde_json::from_value::<stratsim::model::Scenario>(body["scenario"].clone()) {
            body["scenario_hash"] = stratsim::shard::scenario_hash(&sc).into();
        }
        let text = serde_json::to_vec(&body).unwrap();
        let sum: String = Sha256::digest(&text).iter().map(|b| format!("{b:02x}")).collect();
        let mut bytes = format!("stratsim-partial 1 {sum}\n").into_bytes();
        bytes.extend_from_slice(&text);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("shard-0000-of-0001.partial");
        std::fs::write(&f, bytes).unwrap();
        match stratsim::shard::merge(std::slice::from_ref(&f)) {
            Err(e) => prop_assert_eq!(e.exit_code(), 2, "{}", e),
            Ok((total, _, _)) => {
                let plan = stratsim::kernel::Plan::new(&total.scenario);
                let _ = stratsim::results::Summary::new(&total.scenario, &plan, &total.accumulator);
            }
        }
    }
}

/// The one-unit fixture with `from` replaced by `to`.
fn one_unit_with(from: &str, to: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/one_unit.toml");
    let base = std::fs::read_to_string(dir).unwrap();
    let text = base.replacen(from, to, 1);
    assert_ne!(text, base);
    text
}

/// Names of every kind: any text, names around a `!` that may read as a
/// cell reference, formula-like starts, quotes and backslashes, control
/// characters, and long ones.
fn any_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "(?s).{0,24}",
        "[a-zA-Z ]{0,6}![A-Z$]{0,3}[0-9$:]{0,4}",
        "[=+@-][(\\[A-Za-z0-9\\]\"]{0,8}",
        "[a-z\"\\\\. ]{1,10}",
        "[a-z]{0,3}[\t\r\n\u{0}\u{7f}\u{85}][a-z]{0,3}",
        "[a-z]{195,205}",
    ]
}

/// One number of a distribution: ordinary, huge or tiny.
fn any_number() -> impl Strategy<Value = f64> {
    prop_oneof![
        -2.0..2.0f64,
        -1e3..1e3f64,
        prop::sample::select(vec![
            0.0, 1e-300, 1e150, 1e200, 1e307, 1e308, -1e308, 38.0, 27.0
        ]),
        any::<f64>().prop_filter("finite", |x| x.is_finite()),
    ]
}

/// A distribution table with numbers from [`any_number`].
fn any_dist() -> impl Strategy<Value = String> {
    let n = any_number;
    prop_oneof![
        (n(), n(), n()).prop_map(|(a, b, c)| {
            let mut v = [a, b, c];
            v.sort_by(f64::total_cmp);
            format!(
                "{{ dist = \"triangular\", min = {:e}, mode = {:e}, max = {:e} }}",
                v[0], v[1], v[2]
            )
        }),
        (n(), n()).prop_map(|(a, b)| format!(
            "{{ dist = \"uniform\", min = {:e}, max = {:e} }}",
            a.min(b),
            a.max(b)
        )),
        (n(), n()).prop_map(|(m, s)| format!(
            "{{ dist = \"normal\", mean = {m:e}, stdev = {:e}, min = -0.5 }}",
            s.abs()
        )),
        (n(), n()).prop_map(|(m, d)| format!(
            "{{ dist = \"lognormal\", median = {:e}, dispersion = {:e} }}",
            m.abs().max(1e-300),
            d.abs()
        )),
        prop::collection::vec((n(), n()), 1..4).prop_map(|vw| {
            let values: Vec<String> = vw.iter().map(|(v, _)| format!("{v:e}")).collect();
            let weights: Vec<String> = vw
                .iter()
                .map(|(_, w)| format!("{:e}", w.abs().max(1e-300)))
                .collect();
            format!(
                "{{ dist = \"discrete\", values = [{}], weights = [{}] }}",
                values.join(", "),
                weights.join(", ")
            )
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// A name is either refused when read, at its key (control
    /// characters, too long, a spreadsheet reference), or safe in every
    /// sink: read back as written (trimmed, NFC), through a dotted path,
    /// and never starting a formula in a CSV cell.
    #[test]
    fn names_are_refused_at_their_key_or_safe_everywhere(name in any_name()) {
        let text = one_unit_with(
            "name = \"Only Business\"",
            &format!("name = {}", stratsim::format::toml_string(&name)),
        );
        let unsafe_reason = scenario::names::unsafe_reason(&name);
        match scenario::parse(Path::new("n.toml"), &text) {
            Ok(s) => {
                prop_assert!(unsafe_reason.is_none(), "{name:?} accepted: {unsafe_reason:?}");
                let shown = &s.units[0].name;
                prop_assert_eq!(shown, &scenario::names::clean(&name));
                prop_assert!(!shown.chars().any(char::is_control));
                prop_assert!(shown.chars().count() <= scenario::names::MAX_NAME_CHARS);
                let path = format!("units.{}.growth", stratsim::format::path_segment(shown));
                let segs = stratsim::study::segments(&path).unwrap();
                prop_assert_eq!(&segs[1], shown);
                let cell = stratsim::format::csv_field(shown);
                let cell = cell.trim_start_matches('"');
                prop_assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{cell}");
            }
            Err(e) => {
                prop_assert_eq!(e.exit_code(), 2);
                let m = e.to_string();
                prop_assert!(m.contains("units[0].name"), "{m}");
                prop_assert!(
                    unsafe_reason.is_some() || scenario::names::clean(&name).is_empty(),
                    "{name:?} refused: {m}"
                );
            }
        }
    }

    /// A distribution is refused at its key when read, or it draws and
    /// runs without a panic (a figure that overflows is exit 3, never a
    /// crash).
    #[test]
    fn distributions_are_refused_at_their_key_or_run(dist in any_dist(), revenue in any::<bool>()) {
        let (from, key) = if revenue {
            ("revenue = 120.0", "revenue")
        } else {
            ("growth = 0.05", "growth")
        };
        let text = one_unit_with(from, &format!("{key} = {dist}"));
        match scenario::parse(Path::new("d.toml"), &text) {
            Ok(mut s) => {
                let d = s.units[0].uncertain.first().map(|u| u.dist.clone());
                if let Some(d) = d {
                    prop_assert!(d.mean().is_finite() && d.variance().is_finite(), "{dist}");
                }
                s.trials = 64;
                if let Err(e) = engine::run(&s, Some(1), &|_| {}) {
                    prop_assert_eq!(e.exit_code(), 3, "{}", e);
                }
            }
            Err(e) => {
                prop_assert_eq!(e.exit_code(), 2);
                let m = e.to_string();
                prop_assert!(m.contains(&format!("units[0].{key}")), "{m}");
            }
        }
    }
}

/// An `[optimize]` table of random keys and numbers (paths that exist or
/// not, bounds of any size or order, names of any kind).
fn any_optimize() -> impl Strategy<Value = String> {
    let path = prop::sample::select(vec![
        "policies.reset.core.intensity",
        "policies.reset.reinvest_share",
        "policies.reset.recycle_share",
        "policies.reset.innovation.budget",
        "policies.reset.innovation.years",
        "policies.reset.non_core.exit_after",
        "policies.reset.units.\"Quark\".budget",
        "policies.reset.units.\"Taobao & Tmall\".intensity",
        "policies.reset.units.\"Nobody\".intensity",
        "policies.status_quo.core.intensity",
        "units.Quark.growth",
        "policies.reset.core.intensty",
    ]);
    let lever = (path, any_number(), any_number()).prop_map(|(p, a, b)| {
        format!("[[optimize.levers]]\npath = '{p}'\nmin = {a:e}\nmax = {b:e}\n")
    });
    let objective = prop::sample::select(vec![
        "mean",
        "quantile",
        "cvar",
        "prob_beats_baseline",
        "mean_minus_stdev",
        "meen",
    ]);
    (
        any_name(),
        objective,
        prop::sample::select(vec![3u32, 4, 5, 7]),
        prop::collection::vec(lever, 0..4),
        prop::option::of(any_number()),
    )
        .prop_map(|(name, objective, horizon, levers, cap)| {
            let mut t = format!(
                "\n[optimize]\npolicy = \"reset\"\nname = {}\nobjective = \"{objective}\"\nhorizon = {horizon}\n",
                stratsim::format::toml_string(&name)
            );
            t.extend(levers);
            if let Some(c) = cap {
                t.push_str(&format!(
                    "[[optimize.constraints]]\nmeasure = \"investment_pv\"\nmax = {c:e}\n"
                ));
            }
            t
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Any `[optimize]` table is planned or refused at an `optimize.` key
    /// (exit 2), never a panic; a planned one has a clean name and levers
    /// that each move at least one term.
    #[test]
    fn optimize_tables_are_planned_or_refused_at_their_key(table in any_optimize()) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/reset.toml");
        let text = std::fs::read_to_string(&root).unwrap() + &table;
        let loaded = scenario::parse_raw(&root, &text).unwrap();
        let s = loaded.scenario().unwrap();
        match stratsim::optimize::config::plan(&loaded, &s) {
            Ok(p) => {
                prop_assert!(scenario::names::unsafe_reason(&p.name).is_none(), "{}", p.name);
                prop_assert!(!p.levers.is_empty());
                prop_assert!(p.levers.iter().all(|l| !l.targets.is_empty() && l.min < l.max));
            }
            Err(e) => {
                prop_assert_eq!(e.exit_code(), 2);
                let m = e.to_string();
                prop_assert!(m.contains("optimize"), "{m}");
            }
        }
    }
}
