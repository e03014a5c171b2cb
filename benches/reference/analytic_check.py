#!/usr/bin/env python3
"""Checks unit_revenue means in a summary.json of analytic.toml against closed forms.

With the budget cap never binding, g = growth + max_uplift x / (x + half_saturation)
at x = intensity, and E[R_T] = R0 (1 + g)^T exp(rate T (exp(mean + stdev^2 / 2) - 1))
(the volatility term is compensated, jumps are not).

    target/release/simulate benches/reference/analytic.toml --trials 2000000 --out /tmp/an
    python3 benches/reference/analytic_check.py /tmp/an/summary.json
    python3 benches/reference/stratsim_ref.py benches/reference/analytic.toml \
        --trials 2000000 --json /tmp/an.json && python3 benches/reference/analytic_check.py /tmp/an.json
"""
import json
import math
import os
import sys
import tomllib

K = 4.0


def main(path, scenario=os.path.join(os.path.dirname(os.path.abspath(__file__)), "analytic.toml")):
    with open(scenario, "rb") as f:
        sc = tomllib.load(f)
    x = sc["policies"]["p"]["core"]["intensity"]
    units = {u["name"]: u for u in sc["units"]}
    with open(path) as f:
        summary = json.load(f)
    bad = 0
    for r in summary["rows"]:
        if r["metric"] != "unit_revenue":
            continue
        u, T = units[r["unit"]], r["horizon"]
        resp = u.get("response", {"max_uplift": 0.0, "half_saturation": 1.0})
        g = u["growth"] + resp["max_uplift"] * x / (x + resp["half_saturation"])
        j = u.get("jumps", {"rate": 0.0, "mean": 0.0, "stdev": 0.0})
        e = u["revenue"] * (1 + g) ** T * math.exp(
            j["rate"] * T * (math.exp(j["mean"] + j["stdev"] ** 2 / 2) - 1))
        tol = K * r["stderr"] + 1e-9 * e
        ok = abs(r["mean"] - e) <= tol
        bad += not ok
        print(f'{r["horizon"]:>2} {r["unit"]:<6}{r["mean"]:>12.4f}{e:>12.4f}'
              f'  z={(r["mean"] - e) / r["stderr"] if r["stderr"] else 0:6.2f}{"" if ok else "  FAIL"}')
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
