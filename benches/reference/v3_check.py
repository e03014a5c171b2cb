#!/usr/bin/env python3
"""Self-checks of the reference's v3 valuation (MODEL.md, "Valuation of a unit
still held at a horizon (v3: one future)"), on scenarios written here as TOML
text and run through stratsim_ref's own loader and simulation.

  a. H = R x A against a brute-force sum of c_k over 400 years (relative
     error < 1e-7): margin drift, fade_years 0 and > 0, horizons before and
     after the fade, growth_fade, jumps (psi != 1, both signs).
  b. Growth at the cost of capital creates no value: constant margin m,
     s = ((1 + r)^dt - 1) / (m dt), no randomness, zero intensity: every
     unit's value (and the scenario's value) is R_0 beta (m dt + 1 / s) at
     every horizon, for flat, fast, spiking, growth_fade and shrinking
     growth (1e-9 relative).
  c. Tower property without randomness: a unit growing 15% a year, zero
     spend: value at horizons 1..15 equal to 1e-12 relative (constant
     margin, margin drift, fade_years 0, a growth_fade), and equal to a
     brute-force 400-year discounted sum of its cash from t = 0 (1e-9).
  d. Tower property with volatility, a factor, jumps, an innovation budget
     and gate decided by year a, an exit before a (recycle_share 0): the
     paired mean of V_h - V_a, and of each fade unit's unit_value, within 4
     standard errors of 0 (50,000 trials).
  e. Refusal a x beta >= 1 (terminal_growth = r; positive jumps), and
     acceptance where negative jumps bring a x beta below 1 or the unit is
     valued by "multiple".
  f. v1 unchanged: a unit valued by "multiple" (and a file without
     [valuation]) against a hand-written v1 sum, 1e-12.

Prints PASS/FAIL per check, exits 1 on any failure. numpy only, about a second.

    python3 benches/reference/v3_check.py
"""

from __future__ import annotations

import math
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stratsim_ref as ref  # noqa: E402

FAILS = []
TMP = tempfile.mkdtemp(prefix="v3_check_")


def report(name: str, ok: bool, detail: str):
    print(f'{"PASS" if ok else "FAIL"}  {name}: {detail}')
    if not ok:
        FAILS.append(name)


def load(text: str, name: str) -> ref.Scenario:
    path = os.path.join(TMP, name + ".toml")
    with open(path, "w") as f:
        f.write(text)
    return ref.load_scenario(path)


def header(name, horizons, r=0.09, spy=4, trials=3, seed=1, baseline="hold"):
    return f'''[scenario]
name = "{name}"
currency = "x"
trials = {trials}
seed = {seed}
steps_per_year = {spy}
horizons = {list(horizons)}
discount_rate = {r}
baseline = "{baseline}"
'''


def unit(name, role="core", revenue=100.0, growth=0.15, vol=0.0, margin=0.2, target=None,
         speed=0.0, median=2.0, disp=0.0, extra=""):
    target = margin if target is None else target
    return f'''
[[units]]
name = "{name}"
role = "{role}"
revenue = {revenue}
growth = {growth}
volatility = {vol}
margin = {margin}
target_margin = {target}
margin_speed = {speed}
multiple = {{ median = {median}, dispersion = {disp} }}
{extra}
'''


ZERO_POLICY = '''
[policies.hold]
reinvest_share = 0.5
core = { intensity = 0.0 }
'''


def metric_index(sc, metric, unit_index=None):
    return ref.metric_list(sc).index((metric, unit_index))


# --------------------------------------------------------------------------
# Written from MODEL.md's words separately from stratsim_ref (the point is to
# disagree if either transcription is wrong).
# --------------------------------------------------------------------------

def b_of_t(t, growth, n, g_inf, gf=None):
    b2 = growth if gf is None else growth + (gf[0] - growth) * max(0.0, 1.0 - t / gf[1])
    if n == 0:
        return g_inf
    return g_inf + (b2 - g_inf) * max(0.0, 1.0 - t / n)


def brute_cash(R0, m0, k0, kend, spy, r, growth, n, g_inf, s, mstar, speed, psi, gf=None):
    """sum_{k0 <= k < kend} c_k (1 + r)^-((k - k0 + 1) dt), from R_{k0} = R0, m_{k0} = m0."""
    dt = 1.0 / spy
    R, m, tot = R0, m0, 0.0
    for k in range(k0, kend):
        b = b_of_t(k * dt, growth, n, g_inf, gf)
        c = R * m * dt - R * ((1.0 + b) ** dt - 1.0) / s
        tot += c * (1.0 + r) ** (-(k - k0 + 1) * dt)
        R = R * (1.0 + b) ** dt * psi
        m = m + speed * (mstar - m) * dt
    return tot


def psi_of(rate, mean, sd, dt):
    return math.exp(rate * dt * (math.exp(mean + sd * sd / 2.0) - 1.0))


# --------------------------------------------------------------------------

def check_a():
    r, spy = 0.10, 4
    dt = 1.0 / spy
    cases = [
        # name, growth, margin, target, speed, n, g_inf, s, jumps, growth_fade
        ("drift, n=10", 0.15, 0.10, 0.25, 0.5, 10, 0.03, 2.0, None, None),
        ("drift, n=0", 0.15, 0.10, 0.25, 0.5, 0, 0.03, 2.0, None, None),
        ("drift, n=10, jumps down", 0.20, 0.05, 0.30, 1.0, 10, 0.04, 1.5, (0.3, -0.10, 0.05), None),
        ("n=5, jumps up", 0.30, 0.25, 0.15, 0.3, 5, 0.02, 1.2, (0.2, 0.10, 0.05), None),
        ("n=0, jumps up, drift", 0.0, -0.2, 0.2, 2.0, 0, 0.0, 0.8, (0.4, 0.05, 0.10), None),
        ("n=7, growth_fade, shrinking", -0.05, 0.15, 0.12, 0.2, 7, -0.01, 3.0, None, (0.6, 3.0)),
    ]
    horizons = [1, 3, 5, 7, 12]
    text = header("a", horizons, r=r, spy=spy)
    for i, (nm, g, m, tm, sp, n, gi, s, j, gf) in enumerate(cases):
        extra = f'valuation = {{ method = "fade", fade_years = {n}, terminal_growth = {gi}, sales_to_capital = {s} }}\n'
        if j:
            extra += f"jumps = {{ rate = {j[0]}, mean = {j[1]}, stdev = {j[2]} }}\n"
        if gf:
            extra += f"growth_fade = {{ from = {gf[0]}, years = {gf[1]} }}\n"
        text += unit(f"u{i}", growth=g, margin=m, target=tm, speed=sp, extra=extra)
    sc = load(text + ZERO_POLICY, "a")
    worst = 0.0
    for i, (nm, g, m, tm, sp, n, gi, s, j, gf) in enumerate(cases):
        psi = psi_of(*j, dt) if j else 1.0
        for h in horizons:
            K = h * spy
            mK = m
            for _ in range(K):
                mK = mK + sp * (tm - mK) * dt
            A = ref.held_factor(sc.units[i], K, mK, spy, r)
            R = 137.0
            bf = brute_cash(R, mK, K, K + 400 * spy, spy, r, g, n, gi, s, tm, sp, psi, gf)
            err = abs(R * A - bf) / abs(bf)
            worst = max(worst, err)
            if err >= 1e-7:
                print(f"      {nm}, h={h}: H={R * A!r} brute={bf!r} rel={err:.2e}")
    report("a. H vs 400-year brute force", worst < 1e-7,
           f"{len(cases)} units x {len(horizons)} horizons, worst relative error {worst:.2e} (< 1e-7)")


def check_b():
    r, spy = 0.09, 4
    dt = 1.0 / spy
    beta = (1.0 + r) ** (-dt)
    horizons = [1, 2, 3, 5, 8, 12]
    cases = [  # name, revenue, growth, margin, fade_years, growth_fade
        ("flat 0%", 100.0, 0.0, 0.20, 10, None),
        ("fast 25%", 50.0, 0.25, 0.15, 10, None),
        ("spike 60%, fade 2y", 10.0, 0.6, 0.30, 2, None),
        ("growth_fade 53%->25%", 30.0, 0.25, 0.10, 6, (0.53, 3.0)),
        ("shrinking -10%", 80.0, -0.10, 0.05, 4, None),
        ("Gordon n=0", 20.0, 0.4, 0.25, 0, None),
    ]
    text = header("b", horizons, r=r, spy=spy)
    text += '[valuation]\nmethod = "fade"\nterminal_growth = 0.03\n'
    for i, (nm, R0, g, m, n, gf) in enumerate(cases):
        s = ((1.0 + r) ** dt - 1.0) / (m * dt)
        extra = f"valuation = {{ fade_years = {n}, sales_to_capital = {s!r} }}\n"
        if gf:
            extra += f"growth_fade = {{ from = {gf[0]}, years = {gf[1]} }}\n"
        # A zero-budget innovation unit too: it is unfunded all along.
        text += unit(f"u{i}", role="innovation" if i == 2 else "core", revenue=R0, growth=g,
                     margin=m, extra=extra)
    text += ZERO_POLICY + "innovation = { budget = 0.0, years = 0 }\n"
    sc = load(text, "b")
    out = ref.run(sc, 3, 1)
    worst, total = 0.0, 0.0
    for i, (nm, R0, g, m, n, gf) in enumerate(cases):
        s = ((1.0 + r) ** dt - 1.0) / (m * dt)
        want = R0 * beta * (m * dt + 1.0 / s)
        total += want
        got = out[0, :, metric_index(sc, "unit_value", i), :]
        err = float(np.max(np.abs(got - want))) / abs(want)
        worst = max(worst, err)
        if err >= 1e-9:
            print(f"      {nm}: want {want!r}, got {got[:, 0]}")
    got = out[0, :, metric_index(sc, "value"), :]
    err = float(np.max(np.abs(got - total))) / abs(total)
    worst = max(worst, err)
    report("b. growth at the cost of capital creates no value", worst < 1e-9,
           f"{len(cases)} units x {len(horizons)} horizons, unit values and value = R_0 beta (m dt + 1/s), "
           f"worst relative error {worst:.2e} (< 1e-9)")


def check_c():
    r, spy = 0.09, 4
    horizons = list(range(1, 16))
    cases = [  # name, margin, target, speed, fade_years, growth_fade, sales_to_capital
        ("const margin, n=10", 0.2, 0.2, 0.0, 10, None, 2.0),
        ("margin drift 0.1->0.25, n=10", 0.1, 0.25, 0.5, 10, None, 2.0),
        ("margin drift, n=0", 0.1, 0.25, 0.5, 0, None, 2.0),
        ("margin drift, n=6, growth_fade", 0.3, 0.15, 1.5, 6, (0.5, 4.0), 1.3),
    ]
    worst_t, worst_b = 0.0, 0.0
    for ci, (nm, m, tm, sp, n, gf, s) in enumerate(cases):
        extra = ""
        if gf:
            extra = f"growth_fade = {{ from = {gf[0]}, years = {gf[1]} }}\n"
        text = (header("c", horizons, r=r, spy=spy)
                + f'[valuation]\nmethod = "fade"\nfade_years = {n}\nterminal_growth = 0.03\n'
                  f'sales_to_capital = {s}\n'
                + unit("u", growth=0.15, margin=m, target=tm, speed=sp, extra=extra) + ZERO_POLICY)
        sc = load(text, f"c{ci}")
        out = ref.run(sc, 2, 1)
        v = out[0, :, metric_index(sc, "value"), 0]
        spread = float((v.max() - v.min()) / abs(v.mean()))
        bf = brute_cash(100.0, m, 0, 400 * spy, spy, r, 0.15, n, 0.03, s, tm, sp, 1.0, gf)
        eb = float(np.max(np.abs(v - bf)) / abs(bf))
        worst_t, worst_b = max(worst_t, spread), max(worst_b, eb)
        flag = "" if spread < 1e-12 and eb < 1e-9 else "   <-- FAIL"
        print(f"      {nm:<34} V_1 = {v[0]:.12g}, V_15 = {v[-1]:.12g}, spread {spread:.1e}, "
              f"vs brute force {eb:.1e}{flag}")
    report("c. tower property, deterministic (horizons 1..15)", worst_t < 1e-12 and worst_b < 1e-9,
           f"max (V_max - V_min) / V = {worst_t:.2e} (< 1e-12); vs 400-year brute force "
           f"{worst_b:.2e} (< 1e-9)")


def check_d(trials=50_000):
    horizons = [1, 2, 3, 5]
    a_idx = 1  # a = 2 years: the policy decides nothing after it
    text = header("d", horizons, r=0.08, spy=4, trials=trials, seed=7)
    text += '''[valuation]
method = "fade"
fade_years = 6
terminal_growth = 0.02
sales_to_capital = 1.5

[[factors]]
name = "demand"
'''
    text += unit("Core", growth=0.06, vol=0.15, margin=0.18, target=0.22, speed=0.5, disp=0.2,
                 extra='loadings = { demand = 0.6 }\njumps = { rate = 0.3, mean = -0.10, stdev = 0.05 }\n'
                       'response = { max_uplift = 0.05, half_saturation = 0.1 }\n')
    text += unit("Star", revenue=20.0, growth=0.25, vol=0.30, margin=0.05, target=0.2, speed=0.8,
                 extra='loadings = { demand = 0.4 }\njumps = { rate = 0.5, mean = 0.10, stdev = 0.10 }\n'
                       'growth_fade = { from = 0.6, years = 2 }\nvaluation = { fade_years = 3 }\n')
    text += unit("Venture", role="innovation", revenue=3.0, growth=0.10, vol=0.4, margin=-0.3,
                 target=0.1, speed=0.4,
                 extra='response = { max_uplift = 0.5, half_saturation = 1.0 }\n'
                       'valuation = { fade_years = 0, terminal_growth = 0.01, sales_to_capital = 1.0 }\n')
    text += unit("Holding", role="non_core", revenue=40.0, growth=-0.02, vol=0.1, margin=0.03,
                 median=0.5, disp=0.3, extra='valuation = { method = "multiple" }\n')
    text += '''
[policies.hold]
reinvest_share = 0.6
recycle_share = 0.0
core = { intensity = 0.0 }
non_core = { intensity = 0.0, exit_after = 0.5, exit_window = 1.25, exit_discount = 0.1 }
innovation = { budget = 1.5, years = 2, gate = { year = 1, min_revenue_multiple = 1.05 } }
'''
    sc = load(text, "d")
    out = ref.run(sc, trials, sc.seed)
    n = out.shape[-1]
    worst, lines = 0.0, []
    targets = [("value", None)] + [("unit_value", i) for i, u in enumerate(sc.units) if u.fade is not None]
    for metric, ui in targets:
        mi = metric_index(sc, metric, ui)
        for hi in range(a_idx + 1, len(horizons)):
            d = out[0, hi, mi] - out[0, a_idx, mi]
            se = float(d.std(ddof=1) / math.sqrt(n))
            z = float(d.mean()) / se if se > 0 else 0.0
            worst = max(worst, abs(z))
            nm = metric if ui is None else f"{metric} {sc.units[ui].name}"
            lines.append(f"      {nm:<22} V_{horizons[hi]} - V_2: mean {d.mean():+.4f}, "
                         f"stderr {se:.4f}, z {z:+.2f}")
    print("\n".join(lines))
    report("d. tower property, statistical", worst < 4.0,
           f"{n} trials, {len(lines)} paired differences, max |z| = {worst:.2f} (< 4)")


def check_e():
    def try_load(text, name):
        try:
            load(text, name)
            return None
        except ref.ScenarioError as e:
            return str(e)

    base = header("e", [1], r=0.09)
    refused = [
        ("terminal_growth = r", '[valuation]\nmethod = "fade"\nterminal_growth = 0.09\n' + unit("u")),
        ("positive jumps", '[valuation]\nmethod = "fade"\nterminal_growth = 0.03\n'
         + unit("u", extra="jumps = { rate = 0.3, mean = 0.25, stdev = 0.15 }")),
    ]
    accepted = [
        ("negative jumps, g_inf = r", '[valuation]\nmethod = "fade"\nterminal_growth = 0.09\n'
         + unit("u", extra="jumps = { rate = 1.0, mean = -0.10, stdev = 0.0 }")),
        ("multiple, g_inf > r", '[valuation]\nmethod = "multiple"\nterminal_growth = 0.2\n' + unit("u")),
    ]
    ok = True
    msgs = []
    for nm, t in refused:
        e = try_load(base + t + ZERO_POLICY, "e")
        good = e is not None and "must stay below the discount rate" in e
        ok &= good
        msgs.append(f"{nm}: {'refused' if e else 'ACCEPTED'}")
    for nm, t in accepted:
        e = try_load(base + t + ZERO_POLICY, "e")
        ok &= e is None
        msgs.append(f"{nm}: {'accepted' if e is None else 'REFUSED: ' + e}")
    report("e. refusal a x beta >= 1", ok, "; ".join(msgs))


def check_f():
    r, spy = 0.09, 4
    dt = 1.0 / spy
    horizons = [1, 3, 6]
    g, m, tm, sp, M, x = 0.15, 0.1, 0.25, 0.5, 2.5, 0.08
    body = unit("u", growth=g, margin=m, target=tm, speed=sp, median=M,
                extra="response = { max_uplift = 0.05, half_saturation = 0.1 }\n")
    pol = '\n[policies.hold]\nreinvest_share = 1.0\ncore = { intensity = 0.08 }\n'
    worst = 0.0
    for nm, val in (("no [valuation]", ""),
                    ('method = "multiple"', '[valuation]\nmethod = "multiple"\nterminal_growth = 0.02\n'
                                            'sales_to_capital = 0.5\n')):
        sc = load(header("f", horizons, r=r, spy=spy) + val + body + pol, "f")
        out = ref.run(sc, 2, 1)
        geff = g + 0.05 * x / (x + 0.1)
        R, mm, V, k = 100.0, m, 0.0, 0
        for hi, h in enumerate(horizons):
            while k < h * spy:
                V += (R * mm * dt - x * R * dt) * (1.0 + r) ** (-(k + 1) * dt)
                R *= (1.0 + geff) ** dt
                mm = mm + sp * (tm - mm) * dt
                k += 1
            want = V + R * M * (1.0 + r) ** (-h)
            for metric in ("value", "unit_value"):
                got = out[0, hi, metric_index(sc, metric, None if metric == "value" else 0), 0]
                worst = max(worst, abs(got - want) / abs(want))
    report("f. v1 unchanged (multiple, no [valuation])", worst < 1e-12,
           f"against a hand-written v1 sum, worst relative error {worst:.2e} (< 1e-12)")


def main():
    check_a()
    check_b()
    check_c()
    check_d()
    check_e()
    check_f()
    print(f"{'FAIL' if FAILS else 'PASS'}: {6 - len(FAILS)} of 6 checks passed"
          + (f" (failed: {', '.join(FAILS)})" if FAILS else ""))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
