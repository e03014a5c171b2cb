//! Fuzzing `simulate fit` with a fixed budget (proptest, so it runs in
//! CI): whatever the bytes, reading a history never panics, and whatever
//! it accepts fits and renders without panicking into valid TOML whose
//! loadings keep their squares under 1. Inputs: arbitrary bytes, and
//! well-formed histories with extreme revenue and occasional damage (a
//! dropped, doubled or corrupted row). Raise PROPTEST_CASES for a longer
//! local run.

use std::path::Path;

use proptest::prelude::*;
use stratsim::fit::{self, history, render, Options};

/// Reads, fits (with several factor counts) and renders; checks what
/// comes out.
fn check(bytes: &[u8]) {
    let Ok(h) = history::parse(Path::new("fuzz.csv"), bytes) else {
        return;
    };
    for factors in [None, Some(0), Some(1), Some(2)] {
        let options = Options {
            factors,
            ..Options::default()
        };
        match fit::fit(&h, &options) {
            Ok(f) => {
                let report = render::report(&f);
                let text = render::toml(&f, &report);
                let v: toml::Value =
                    toml::from_str(&text).unwrap_or_else(|e| panic!("invalid TOML ({e}):\n{text}"));
                for u in v
                    .get("units")
                    .and_then(|u| u.as_array())
                    .into_iter()
                    .flatten()
                {
                    if let Some(l) = u.get("loadings").and_then(|l| l.as_table()) {
                        let ss: f64 = l.values().map(|x| x.as_float().unwrap().powi(2)).sum();
                        assert!(ss <= 1.0, "loadings {l:?}");
                    }
                    if let Some(r) = u.get("revenue") {
                        let r = r.as_float().unwrap();
                        assert!(r.is_finite() && r > 0.0);
                    }
                }
            }
            Err(e) => assert_eq!(e.exit_code(), 2, "{e}"),
        }
    }
}

/// A period label in one of the accepted styles, `i` periods after the
/// start.
fn label(style: u8, start: i64, i: i64) -> String {
    match style {
        0 => {
            let q = start + i;
            format!("{}Q{}", q.div_euclid(4), q.rem_euclid(4) + 1)
        }
        1 => {
            let q = start + i;
            format!("Q{} {}", q.rem_euclid(4) + 1, q.div_euclid(4))
        }
        2 => {
            let q = start + i;
            let month = 3 * q.rem_euclid(4) + 3;
            format!("{}-{month:02}-28", q.div_euclid(4))
        }
        3 => format!("{}", start / 4 + i),
        _ => format!("{}-03-31", start / 4 + i),
    }
}

fn revenue() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (1e-3f64..1e6).prop_map(|x| format!("{x}")),
        1 => Just("1e-300".to_string()),
        1 => Just("1e300".to_string()),
        1 => Just("2.2250738585072014e-308".to_string()),
        1 => Just("1".to_string()),
        1 => Just("1.7976931348623157e308".to_string()),
    ]
}

#[derive(Debug, Clone)]
struct Unit {
    name: String,
    start: i64,
    values: Vec<String>,
}

fn unit() -> impl Strategy<Value = Unit> {
    (
        prop_oneof![
            Just("A".to_string()),
            Just("B".to_string()),
            Just("\"Local, Services\"".to_string()),
            Just("Cloud".to_string()),
            "[a-zé ]{1,6}",
        ],
        8000i64..8010,
        prop_oneof![
            // Constant, trending, or wild series.
            (1usize..50).prop_map(|n| vec!["5".to_string(); n]),
            (1usize..50, 0.5f64..2.0).prop_map(|(n, g)| (0..n)
                .map(|i| format!("{}", 10.0 * g.powi(i as i32)))
                .collect()),
            proptest::collection::vec(revenue(), 1..50),
        ],
    )
        .prop_map(|(name, start, values)| Unit {
            name,
            start,
            values,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes);
        // And with a valid header in front.
        let mut with_header = b"period,unit,revenue\n".to_vec();
        with_header.extend_from_slice(&bytes);
        check(&with_header);
    }

    #[test]
    fn histories_with_extreme_values_and_damage_never_panic(
        units in proptest::collection::vec(unit(), 1..6),
        style in 0u8..5,
        damage in proptest::option::of((0usize..500, 0u8..3)),
        rotate in 0usize..1000,
    ) {
        let mut rows = Vec::new();
        for u in &units {
            for (i, v) in u.values.iter().enumerate() {
                rows.push(format!("{},{},{}", label(style, u.start, i as i64), u.name, v));
            }
        }
        if let Some((at, kind)) = damage {
            let at = at % rows.len();
            match kind {
                0 => { rows.remove(at); }
                1 => { let r = rows[at].clone(); rows.push(r); }
                _ => rows[at].push_str(",x"),
            }
        }
        let len = rows.len().max(1);
        rows.rotate_left(rotate % len);
        let text = format!("# fuzz\nperiod,unit,revenue\n{}\n", rows.join("\n"));
        check(text.as_bytes());
    }
}
