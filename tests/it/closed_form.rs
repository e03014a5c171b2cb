//! Closed-form checks: pure geometric Brownian motion against the lognormal.

use crate::common::*;

/// The standard normal quantiles of the levels we report (p5 .. p95).
const Z: [(&str, f64); 5] = [
    ("p5", -1.6448536269514722),
    ("p25", -0.6744897501960817),
    ("p50", 0.0),
    ("p75", 0.6744897501960817),
    ("p95", 1.6448536269514722),
];

#[test]
fn gbm_revenue_matches_the_lognormal_closed_form() {
    let dir = tempfile::tempdir().unwrap();
    let s = simulate(&fixture("gbm.toml"), dir.path(), &[]);
    assert_eq!(s["trials"], 200_000);
    let (r0, g, sigma) = (100.0f64, 0.06f64, 0.25f64);
    for t in [1u64, 5] {
        let tf = t as f64;
        let mu = r0.ln() + ((1.0 + g).ln() - sigma * sigma / 2.0) * tf;
        let sd = sigma * tf.sqrt();
        let r = row(&s, "hold", t, "revenue", None);
        let mean = r0 * (1.0 + g).powf(tf);
        let rel = |got: f64, want: f64| (got - want).abs() / want.abs();
        assert!(
            rel(f(r, "mean"), mean) < 0.01,
            "t={t} mean {} vs {mean}",
            f(r, "mean")
        );
        for (key, z) in Z {
            let want = (mu + sd * z).exp();
            assert!(
                rel(f(r, key), want) < 0.01,
                "t={t} {key} {} vs {want}",
                f(r, key)
            );
        }
        // Exact lognormal stdev, looser (sampling error of a variance).
        let var = mean * mean * ((sd * sd).exp() - 1.0);
        assert!(rel(f(r, "stdev"), var.sqrt()) < 0.03);
        // With zero margin and no investment, value is just R x M discounted
        // at 0%: the same distribution as revenue.
        let v = row(&s, "hold", t, "value", None);
        assert!(rel(f(v, "mean"), f(r, "mean")) < 1e-12);
    }
}
