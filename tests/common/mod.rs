//! Helpers shared by the integration tests: run the real `simulate` binary
//! on real files and read what it wrote.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_simulate"))
}

/// The repository root (where scenarios/ and tests/fixtures/ live).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

/// Runs `simulate` with `args`; returns the output (stdout, stderr, status).
pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("simulate runs")
}

/// Runs a scenario into `out` and returns the parsed summary.json, with
/// neither charts nor workbook (most tests read the figures only; the
/// charts and the workbook take most of a small run's time): a test that
/// reads them calls [`simulate_drawn`].
pub fn simulate(scenario: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut all: Vec<&str> = extra.to_vec();
    for flag in ["--no-charts", "--no-xlsx"] {
        if !all.contains(&flag) {
            all.push(flag);
        }
    }
    simulate_drawn(scenario, out, &all)
}

/// [`simulate`] with every output a plain run writes: charts, workbook,
/// report pages.
pub fn simulate_drawn(scenario: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(
        o.status.success(),
        "simulate {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    read_json(&out.join("summary.json"))
}

pub fn read_json(p: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// The row of (policy, horizon, metric, unit) in a summary.
pub fn row<'a>(
    s: &'a serde_json::Value,
    policy: &str,
    horizon: u64,
    metric: &str,
    unit: Option<&str>,
) -> &'a serde_json::Value {
    s["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["policy"] == policy
                && r["horizon"] == horizon
                && r["metric"] == metric
                && r["unit"].as_str() == unit
        })
        .unwrap_or_else(|| panic!("no row {policy} {horizon} {metric} {unit:?}"))
}

pub fn f(v: &serde_json::Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

/// Decodes a PNG and checks it is big enough and not blank.
pub fn check_png(path: &Path) {
    let file = fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let decoder = png::Decoder::new(std::io::BufReader::new(file));
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("{} is not a PNG: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).expect("PNG decodes");
    let (w, h) = (frame.width, frame.height);
    assert!(
        w >= 1600 && h >= 1000,
        "{} is {w}x{h}, want at least 1600x1000",
        path.display()
    );
    let channels = match frame.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("{}: unexpected colour type {other:?}", path.display()),
    };
    assert_eq!(frame.bit_depth, png::BitDepth::Eight);
    let pixels = &buf[..frame.buffer_size()];
    let mut counts: HashMap<&[u8], usize> = HashMap::new();
    for px in pixels.chunks_exact(channels) {
        *counts.entry(px).or_default() += 1;
    }
    let total = (w * h) as usize;
    let top = counts.values().copied().max().unwrap_or(0);
    assert!(
        counts.len() > 50,
        "{} has only {} colours: blank?",
        path.display(),
        counts.len()
    );
    assert!(
        (top as f64) < 0.97 * total as f64,
        "{}: one colour covers {:.1}% of the pixels: blank?",
        path.display(),
        100.0 * top as f64 / total as f64
    );
}

/// Runs `simulate` with `args` and extra environment variables.
pub fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = bin();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("simulate runs")
}

/// Waits for `child` at most `limit`; kills it and panics past that, so a
/// hang fails the test instead of stalling the suite.
pub fn wait_at_most(
    mut child: std::process::Child,
    limit: std::time::Duration,
) -> (Output, std::time::Duration) {
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            let took = start.elapsed();
            return (child.wait_with_output().expect("output"), took);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("simulate still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scenario of `units` core units and `policies` policies (names u0...,
/// p0...), with `horizons` yearly horizons: for tests of size limits.
pub fn generated_scenario(units: usize, policies: usize, horizons: usize) -> String {
    let hz: Vec<String> = (1..=horizons).map(|h| h.to_string()).collect();
    let mut s = format!(
        "[scenario]\nname = \"generated\"\ncurrency = \"x\"\ntrials = 10000\nseed = 1\nsteps_per_year = 1\nhorizons = [{}]\ndiscount_rate = 0.09\nbaseline = \"p0\"\n",
        hz.join(", ")
    );
    for i in 0..units {
        s.push_str(&format!(
            "[[units]]\nname = \"u{i}\"\nrole = \"core\"\nrevenue = 10.0\ngrowth = 0.05\nvolatility = 0.5\nmargin = 0.2\nmultiple = {{ median = 2.0, dispersion = 0.5 }}\n"
        ));
    }
    for p in 0..policies {
        s.push_str(&format!(
            "[policies.p{p}]\nreinvest_share = 0.5\ncore = {{ intensity = 0.1 }}\n"
        ));
    }
    s
}

/// A tmpfs of `size` mounted on `dir` (an existing folder), unmounted when
/// the value is dropped (so a failing assertion leaves no mount behind);
/// None where this machine cannot mount one (mounting needs root).
pub fn mount_tmpfs(dir: &Path, size: &str) -> Option<Mount> {
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    mounted.then(|| Mount(dir.to_path_buf()))
}

/// A mounted tmpfs; unmounts on drop.
pub struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}
