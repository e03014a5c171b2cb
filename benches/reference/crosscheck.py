#!/usr/bin/env python3
"""Statistical cross-check of the Rust engine against the numpy reference.

Runs `target/release/simulate` and `stratsim_ref.py` on the same scenario
with the same number of trials (their random streams differ, so the two
runs are independent samples) and compares every summary row:

  mean       |diff| <= K * sqrt(se_rust^2 + se_ref^2)                + eps
  p5,p50,p95 |diff| <= K * sqrt(2) * se_q + 0.005 * |q_rust|          + eps
             (se_q from the reference's local density; 0.5% is the
              engine's documented quantile-sketch error)
  stdev      |diff| <= K * sqrt(2) * se_sd                           + eps
             (se_sd from the reference's fourth moment)
  prob_beats_baseline  |diff| <= K * sqrt(2 p (1-p) / n) + 1/n
  eps = 1e-9 * (1 + |value|)       (rows that are exactly constant)

with K = 4 by default. Prints the worst rows (|diff| / tolerance) and exits
non-zero if any row fails or the two runs do not report the same rows.

Usage:
    python3 benches/reference/crosscheck.py SCENARIO [--trials N] [--seed S]
        [--k 4] [--no-build] [--top 15] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BINARY = os.path.join(REPO, "target", "release", "simulate")
REF = os.path.join(HERE, "stratsim_ref.py")


def run_rust(scenario, trials, seed, outdir):
    base = [BINARY, scenario, "--trials", str(trials), "--seed", str(seed), "--out", outdir]
    t0 = time.perf_counter()
    p = subprocess.run(base + ["--no-charts"], capture_output=True, text=True)
    if p.returncode != 0 and "no-charts" in (p.stderr + p.stdout):
        # Older binaries have no --no-charts flag.
        t0 = time.perf_counter()
        p = subprocess.run(base, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"simulate failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    with open(os.path.join(outdir, "summary.json")) as f:
        return json.load(f), dt


def run_ref(scenario, trials, seed, out_json):
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, REF, scenario, "--trials", str(trials), "--seed", str(seed),
                        "--json", out_json, "--quiet"], capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"reference failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    with open(out_json) as f:
        return json.load(f), dt


def key(r):
    return (r["policy"], r["horizon"], r["metric"], r["unit"])


def compare(rust, ref, K):
    """Returns (checks, problems): checks are dicts with ratio = |diff| / tol."""
    n_r, n_n = rust["trials"], ref["trials"]
    rrows = {key(r): r for r in rust["rows"]}
    nrows = {key(r): (r, ref["reference_extras"][i]) for i, r in enumerate(ref["rows"])}
    problems = []
    for k in rrows.keys() - nrows.keys():
        problems.append(f"row only in the Rust summary: {k}")
    for k in nrows.keys() - rrows.keys():
        problems.append(f"row only in the reference: {k}")
    checks = []

    def add(k, stat, a, b, tol):
        eps = 1e-9 * (1.0 + max(abs(a), abs(b)))
        tol = tol + eps
        diff = a - b
        checks.append({"key": k, "stat": stat, "rust": a, "ref": b, "diff": diff,
                       "tol": tol, "ratio": abs(diff) / tol})

    for k, r in rrows.items():
        if k not in nrows:
            continue
        n, x = nrows[k]
        add(k, "mean", r["mean"], n["mean"], K * math.hypot(r["stderr"], n["stderr"]))
        for q in ("p5", "p50", "p95"):
            add(k, q, r[q], n[q], K * math.sqrt(2) * x["quantile_se"][q] + 0.005 * abs(r[q]))
        add(k, "stdev", r["stdev"], n["stdev"], K * math.sqrt(2) * x["stdev_se"])
    rp = {(p["policy"], p["horizon"]): p["p"] for p in rust["prob_beats_baseline"]}
    npb = {(p["policy"], p["horizon"]): p["p"] for p in ref["prob_beats_baseline"]}
    for k in rp.keys() | npb.keys():
        if k not in rp or k not in npb:
            problems.append(f"prob_beats_baseline row missing on one side: {k}")
            continue
        p = 0.5 * (rp[k] + npb[k])
        se = math.sqrt(p * (1 - p) / n_r + p * (1 - p) / n_n)
        add((k[0], k[1], "prob_beats_baseline", None), "p", rp[k], npb[k],
            K * se + 1.0 / min(n_r, n_n))
    return checks, problems


def main(argv=None):
    ap = argparse.ArgumentParser(description="Cross-check the Rust engine against the numpy reference.")
    ap.add_argument("scenario")
    ap.add_argument("--trials", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--k", type=float, default=4.0, help="tolerance in standard errors (default 4)")
    ap.add_argument("--top", type=int, default=15, help="worst rows to print")
    ap.add_argument("--no-build", action="store_true", help="skip cargo build --release")
    ap.add_argument("--keep", metavar="DIR", help="keep both summaries in DIR")
    a = ap.parse_args(argv)
    scenario = os.path.abspath(a.scenario)

    if not a.no_build:
        b = subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO)
        if b.returncode != 0:
            sys.exit("cargo build --release failed")
    work = a.keep or tempfile.mkdtemp(prefix="stratsim-xcheck-")
    os.makedirs(work, exist_ok=True)
    rust, t_rust = run_rust(scenario, a.trials, a.seed, os.path.join(work, "rust"))
    ref, t_ref = run_ref(scenario, a.trials, a.seed + 1, os.path.join(work, "reference.json"))

    checks, problems = compare(rust, ref, a.k)
    checks.sort(key=lambda c: -c["ratio"])
    fails = [c for c in checks if c["ratio"] > 1.0]
    print(f"{os.path.relpath(scenario)}: {a.trials} trials; simulate {t_rust:.1f} s, "
          f"reference {t_ref:.1f} s; {len(checks)} checks, K = {a.k:g}")
    print(f'{"policy":<12}{"yr":>3} {"metric":<20}{"unit":<24}{"stat":<6}'
          f'{"rust":>13}{"ref":>13}{"diff":>11}{"tol":>10}{"ratio":>7}')
    for c in checks[:a.top]:
        pol, h, met, unit = c["key"]
        print(f'{pol:<12}{h:>3} {met:<20}{(unit or "-")[:23]:<24}{c["stat"]:<6}'
              f'{c["rust"]:>13.4f}{c["ref"]:>13.4f}{c["diff"]:>11.4f}{c["tol"]:>10.4f}'
              f'{c["ratio"]:>7.2f}{"  FAIL" if c["ratio"] > 1 else ""}')
    for p in problems:
        print("PROBLEM:", p)
    if a.keep:
        print(f"summaries kept in {work}")
    if fails or problems:
        print(f"FAILED: {len(fails)} of {len(checks)} checks out of tolerance, {len(problems)} problems")
        return 1
    print(f"OK: all {len(checks)} checks within tolerance (worst ratio {checks[0]['ratio']:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
