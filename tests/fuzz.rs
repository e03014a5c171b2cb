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
