#!/usr/bin/env python3
"""Independent numpy reference implementation of the stratsim model contract.

Reads the same TOML scenario files as the Rust engine (MODEL.md) and runs
the model vectorized across trials: every state is an array of shape
[trials_in_chunk, units], and Python loops only over steps and policies.
Trials are processed in chunks (default 10_000) so the simulation state
stays bounded; the per-trial outputs kept for exact quantiles take
8 bytes x trials x reported metrics.

The random streams are numpy's (PCG64 via SeedSequence(seed).spawn, one
child per chunk), NOT the Rust engine's: results agree with the engine only
statistically. A given (seed, trials, chunk size) always gives the same
numbers.

Held units valued by "fade" follow MODEL.md's v3 valuation ("one
future"): base growth on one schedule anchored at t = 0, its capital cost
paid inside the trial, and the held value H = R x A at a horizon, where A
(one number per unit and horizon here: nothing it reads is drawn per trial)
is printed by --held.

Usage:
    python3 benches/reference/stratsim_ref.py SCENARIO [--trials N] [--seed S]
        [--json OUT] [--chunk C] [--quiet] [--held]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import tomllib
from dataclasses import dataclass, field

import numpy as np

ROLES = ("core", "non_core", "innovation")
QUANTILES = (0.05, 0.25, 0.50, 0.75, 0.95)
QNAMES = ("p5", "p25", "p50", "p75", "p95")


class ScenarioError(ValueError):
    pass


# --------------------------------------------------------------------------
# Scenario parsing and validation (MODEL.md "Scenario file")
# --------------------------------------------------------------------------

def _check_keys(table: dict, where: str, required: set[str], optional: set[str]):
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: expected a table")
    for k in table:
        if k not in required and k not in optional:
            raise ScenarioError(f"{where}.{k}: unknown key")
    for k in required:
        if k not in table:
            raise ScenarioError(f"{where}.{k}: missing required key")


def _num(v, where: str, ok=lambda x: True, rule: str = "") -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ScenarioError(f"{where}: expected a number, got {v!r}")
    x = float(v)
    if not math.isfinite(x):
        raise ScenarioError(f"{where}: must be a finite number, got {x}")
    if not ok(x):
        raise ScenarioError(f"{where}: {rule}, got {x}")
    return x


def _int(v, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ScenarioError(f"{where}: expected an integer, got {v!r}")
    return v


def _str(v, where: str) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ScenarioError(f"{where}: expected a non-empty string, got {v!r}")
    return v


def _share(x):
    return 0.0 <= x <= 1.0


def _nonneg(x):
    return x >= 0.0


@dataclass
class Unit:
    name: str
    role: str
    revenue: float
    growth: float
    volatility: float
    margin: float
    target_margin: float
    margin_speed: float
    mult_median: float
    mult_dispersion: float
    loadings: list[float]
    max_uplift: float
    half_saturation: float
    jumps: tuple[float, float, float] | None  # (rate, mean, stdev)
    # Valued by "multiple" (None: v1, R x M when held at a horizon) or by
    # "fade" (v3 one-future DCF): (fade_years, terminal_growth, sales_to_capital).
    fade: tuple[int, float, float] | None = None
    # growth_fade = { from, years } (optional): (from, years).
    growth_fade: tuple[float, float] | None = None


@dataclass
class Terms:
    role: str
    intensity: float = 0.0
    exit: tuple[float, float, float] | None = None  # (after, window, discount)
    budget: float = 0.0
    years: float = 0.0
    gate: tuple[float, float] | None = None  # (year, min_revenue_multiple)


@dataclass
class Policy:
    name: str
    reinvest_share: float
    recycle_share: float
    terms: list[Terms] = field(default_factory=list)


@dataclass
class Scenario:
    name: str
    currency: str
    trials: int
    seed: int
    steps_per_year: int
    horizons: list[int]
    discount_rate: float
    baseline: int
    factors: list[str]
    units: list[Unit]
    policies: list[Policy]


def _gate(g, where):
    _check_keys(g, where, {"year", "min_revenue_multiple"}, set())
    return (
        _num(g["year"], f"{where}.year", _nonneg, "must be >= 0"),
        _num(g["min_revenue_multiple"], f"{where}.min_revenue_multiple", _nonneg, "must be >= 0"),
    )


VALUATION_KEYS = {"method", "fade_years", "terminal_growth", "sales_to_capital"}


def _valuation(t, where: str, rate: float, base: dict) -> dict:
    """MODEL.md valuation keys of one table laid over `base`. terminal_growth
    is only checked for > -1 here; the v3 rule (a x beta < 1) is checked per
    unit valued by "fade" (it involves the unit's jumps)."""
    _check_keys(t, where, set(), VALUATION_KEYS)
    out = dict(base)
    if "method" in t:
        if t["method"] not in ("multiple", "fade"):
            raise ScenarioError(f"{where}.method: unknown method {t['method']!r}")
        out["method"] = t["method"]
    if "fade_years" in t:
        n = _num(t["fade_years"], f"{where}.fade_years",
                 lambda x: x == int(x) and 0 <= x <= 50, "must be a whole number in [0, 50]")
        out["fade_years"] = int(n)
    if "terminal_growth" in t:
        out["terminal_growth"] = _num(t["terminal_growth"], f"{where}.terminal_growth",
                                      lambda x: x > -1, "must be > -1")
    if "sales_to_capital" in t:
        out["sales_to_capital"] = _num(t["sales_to_capital"], f"{where}.sales_to_capital",
                                       lambda x: x > 0, "must be > 0")
    return out


def load_scenario(path: str) -> Scenario:
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    # [[sweep]] and [funding] are studies of the engine's; the reference
    # runs the scenario itself and ignores them.
    _check_keys(raw, "<file>", {"scenario", "units", "policies"},
                {"factors", "valuation", "sweep", "funding"})
    h = raw["scenario"]
    _check_keys(h, "scenario", {"name", "currency", "trials", "seed", "steps_per_year",
                                "horizons", "discount_rate", "baseline"}, set())
    name = _str(h["name"], "scenario.name")
    currency = _str(h["currency"], "scenario.currency")
    trials = _int(h["trials"], "scenario.trials")
    if trials < 1:
        raise ScenarioError("scenario.trials: must be >= 1")
    seed = _int(h["seed"], "scenario.seed")
    if seed < 0:
        raise ScenarioError("scenario.seed: must be a non-negative integer")
    spy = _int(h["steps_per_year"], "scenario.steps_per_year")
    if spy < 1:
        raise ScenarioError("scenario.steps_per_year: must be >= 1")
    if not isinstance(h["horizons"], list) or not h["horizons"]:
        raise ScenarioError("scenario.horizons: must list at least one horizon")
    horizons = []
    for i, y in enumerate(h["horizons"]):
        y = _int(y, f"scenario.horizons[{i}]")
        if y < 1 or y in horizons:
            raise ScenarioError(f"scenario.horizons[{i}]: bad or duplicate horizon {y}")
        horizons.append(y)
    horizons.sort()
    discount_rate = _num(h["discount_rate"], "scenario.discount_rate", lambda x: x > -1, "must be > -1")
    file_val = _valuation(raw.get("valuation", {}), "valuation", discount_rate,
                          {"method": "multiple", "fade_years": 10,
                           "terminal_growth": 0.03, "sales_to_capital": 2.0})

    factors = []
    for i, fct in enumerate(raw.get("factors", [])):
        _check_keys(fct, f"factors[{i}]", {"name"}, set())
        n = _str(fct["name"], f"factors[{i}].name")
        if n in factors:
            raise ScenarioError(f"factors[{i}].name: duplicate factor {n!r}")
        factors.append(n)

    units: list[Unit] = []
    if not isinstance(raw["units"], list) or not raw["units"]:
        raise ScenarioError("units: at least one unit is required")
    for i, u in enumerate(raw["units"]):
        w = f"units[{i}]"
        _check_keys(u, w, {"name", "role", "revenue", "growth", "volatility", "margin", "multiple"},
                    {"target_margin", "margin_speed", "loadings", "response", "jumps", "valuation",
                     "growth_fade"})
        uname = _str(u["name"], f"{w}.name")
        if any(x.name == uname for x in units):
            raise ScenarioError(f"{w}.name: duplicate unit name {uname!r}")
        role = u["role"]
        if role not in ROLES:
            raise ScenarioError(f"{w}.role: unknown role {role!r}")
        margin = _num(u["margin"], f"{w}.margin", lambda x: x <= 1, "must be <= 1")
        m = u["multiple"]
        _check_keys(m, f"{w}.multiple", {"median", "dispersion"}, set())
        lo = [0.0] * len(factors)
        if "loadings" in u:
            if not isinstance(u["loadings"], dict):
                raise ScenarioError(f"{w}.loadings: expected a table")
            for fname, v in u["loadings"].items():
                if fname not in factors:
                    raise ScenarioError(f"{w}.loadings.{fname}: loading on unknown factor")
                lo[factors.index(fname)] = _num(v, f"{w}.loadings.{fname}",
                                                lambda x: -1 <= x <= 1, "must be in [-1, 1]")
            if sum(x * x for x in lo) > 1 + 1e-9:
                raise ScenarioError(f"{w}.loadings: squares sum past 1")
        mu, hs = 0.0, 0.0
        if "response" in u:
            r = u["response"]
            _check_keys(r, f"{w}.response", {"max_uplift", "half_saturation"}, set())
            mu = _num(r["max_uplift"], f"{w}.response.max_uplift", _nonneg, "must be >= 0")
            hs = _num(r["half_saturation"], f"{w}.response.half_saturation", _nonneg, "must be >= 0")
        jumps = None
        if "jumps" in u:
            j = u["jumps"]
            _check_keys(j, f"{w}.jumps", {"rate", "mean", "stdev"}, set())
            jumps = (_num(j["rate"], f"{w}.jumps.rate", _nonneg, "must be >= 0"),
                     _num(j["mean"], f"{w}.jumps.mean"),
                     _num(j["stdev"], f"{w}.jumps.stdev", _nonneg, "must be >= 0"))
        gfade = None
        if "growth_fade" in u:
            gf = u["growth_fade"]
            _check_keys(gf, f"{w}.growth_fade", {"from", "years"}, set())
            gfade = (_num(gf["from"], f"{w}.growth_fade.from", lambda x: x > -1, "must be > -1"),
                     _num(gf["years"], f"{w}.growth_fade.years", lambda x: x > 0, "must be > 0"))
        uval = u.get("valuation", {})
        val = _valuation(uval, f"{w}.valuation", discount_rate, file_val)
        fade = None
        if val["method"] == "fade":
            fade = (val["fade_years"], val["terminal_growth"], val["sales_to_capital"])
            # v3 refusal: a x beta >= 1, a = (1 + g_inf)^dt psi, beta = (1 + r)^-dt.
            dt = 1.0 / spy
            ab = (1.0 + fade[1]) ** dt * jump_psi(jumps, dt) * (1.0 + discount_rate) ** (-dt)
            if not ab < 1.0:
                key = (f"{w}.valuation.terminal_growth" if isinstance(uval, dict) and "terminal_growth" in uval
                       else f"valuation.terminal_growth (unit {uname!r})")
                raise ScenarioError(f"{key}: terminal_growth plus the unit's jumps' expected growth "
                                    f"must stay below the discount rate (a x beta = {ab:.6g} >= 1)")
        units.append(Unit(
            name=uname, role=role, fade=fade, growth_fade=gfade,
            revenue=_num(u["revenue"], f"{w}.revenue", lambda x: x > 0, "must be positive"),
            growth=_num(u["growth"], f"{w}.growth", lambda x: x > -1, "must be > -1"),
            volatility=_num(u["volatility"], f"{w}.volatility", _nonneg, "must be >= 0"),
            margin=margin,
            target_margin=_num(u.get("target_margin", margin), f"{w}.target_margin",
                               lambda x: x <= 1, "must be <= 1"),
            margin_speed=_num(u.get("margin_speed", 0.0), f"{w}.margin_speed",
                              lambda x: 0 <= x <= spy, f"must be in [0, {spy}]"),
            mult_median=_num(m["median"], f"{w}.multiple.median", lambda x: x > 0, "must be positive"),
            mult_dispersion=_num(m["dispersion"], f"{w}.multiple.dispersion", _nonneg, "must be >= 0"),
            loadings=lo, max_uplift=mu, half_saturation=hs, jumps=jumps,
        ))

    if not isinstance(raw["policies"], dict) or not raw["policies"]:
        raise ScenarioError("policies: at least one [policies.NAME] table is required")
    policies: list[Policy] = []
    for pname, p in raw["policies"].items():
        w = f"policies.{pname}"
        _check_keys(p, w, {"reinvest_share"},
                    {"description", "recycle_share", "core", "non_core", "innovation", "units"})
        pol = Policy(
            name=pname,
            reinvest_share=_num(p["reinvest_share"], f"{w}.reinvest_share", _share, "must be in [0, 1]"),
            recycle_share=_num(p.get("recycle_share", 0.0), f"{w}.recycle_share", _share, "must be in [0, 1]"),
        )
        base = {}
        if "core" in p:
            _check_keys(p["core"], f"{w}.core", {"intensity"}, set())
            base["core"] = {"intensity": p["core"]["intensity"]}
        if "non_core" in p:
            _check_keys(p["non_core"], f"{w}.non_core", {"intensity"},
                        {"exit_after", "exit_window", "exit_discount"})
            base["non_core"] = dict(p["non_core"])
        if "innovation" in p:
            _check_keys(p["innovation"], f"{w}.innovation", {"budget", "years"}, {"gate"})
            base["innovation"] = dict(p["innovation"])
        overrides = p.get("units", {})
        if not isinstance(overrides, dict):
            raise ScenarioError(f"{w}.units: expected a table of unit overrides")
        for oname in overrides:
            if not any(u.name == oname for u in units):
                raise ScenarioError(f'{w}.units."{oname}": override names no unit')
        allowed_keys = {"core": {"intensity"},
                        "non_core": {"intensity", "exit_after", "exit_window", "exit_discount"},
                        "innovation": {"budget", "years", "gate"}}
        for u in units:
            ov = dict(overrides.get(u.name, {}))
            ow = f'{w}.units."{u.name}"'
            role = ov.pop("role", u.role)
            if role not in ROLES:
                raise ScenarioError(f"{ow}.role: unknown role {role!r}")
            for k in ov:
                if k not in allowed_keys[role]:
                    raise ScenarioError(f"{ow}.{k}: does not apply to a {role} unit (or unknown key)")
            # The role's policy terms, with the override's keys on top.
            eff = dict(base.get(role, {}))
            eff.update(ov)
            t = Terms(role=role)
            try:
                if role in ("core", "non_core"):
                    t.intensity = _num(eff["intensity"], f"{ow}.intensity", _nonneg, "must be >= 0")
                if role == "non_core" and "exit_after" in eff:
                    t.exit = (_num(eff["exit_after"], f"{ow}.exit_after", _nonneg, "must be >= 0"),
                              _num(eff.get("exit_window", 0.0), f"{ow}.exit_window", _nonneg, "must be >= 0"),
                              _num(eff.get("exit_discount", 0.0), f"{ow}.exit_discount", _share, "must be in [0, 1]"))
                if role == "innovation":
                    t.budget = _num(eff["budget"], f"{ow}.budget", _nonneg, "must be >= 0")
                    t.years = _num(eff["years"], f"{ow}.years", _nonneg, "must be >= 0")
                    if "gate" in eff:
                        t.gate = _gate(eff["gate"], f"{ow}.gate")
            except KeyError as e:
                raise ScenarioError(f"{w}: no `{role}` terms for unit {u.name!r} (missing {e})") from None
            pol.terms.append(t)
        policies.append(pol)
    names = [p.name for p in policies]
    if h["baseline"] not in names:
        raise ScenarioError(f"scenario.baseline: names no policy: {h['baseline']!r}")
    return Scenario(name, currency, trials, seed, spy, horizons, discount_rate,
                    names.index(h["baseline"]), factors, units, policies)


# --------------------------------------------------------------------------
# Simulation (MODEL.md "One trial"), vectorized across trials
# --------------------------------------------------------------------------

def metric_list(sc: Scenario):
    """(metric, unit index or None) in report order (same order as the engine)."""
    nu = len(sc.units)
    return ([("value", None), ("revenue", None), ("ebita", None)]
            + [("unit_value", i) for i in range(nu)]
            + [("unit_revenue", i) for i in range(nu)]
            + [("delta_value", None)])


def jump_psi(jumps, dt: float) -> float:
    """Expected growth factor of one step's jumps: psi = exp(rate dt
    (exp(mean + stdev^2 / 2) - 1)); 1 without jumps."""
    if jumps is None:
        return 1.0
    rate, mean, sd = jumps
    return math.exp(rate * dt * (math.exp(mean + 0.5 * sd * sd) - 1.0))


def base_growth(u: Unit, t: float) -> float:
    """Base growth at step start t (before any uplift).

    b2(t): `growth`, or with growth_fade = { from, years }:
    growth + (from - growth) x max(0, 1 - t / years).
    Units valued by "multiple" grow at b2 (v1). Units valued by "fade" (v3)
    grow at b(t) = g_inf + (b2(t) - g_inf) x max(0, 1 - t / n), b = g_inf
    when n = 0: one schedule anchored at t = 0."""
    b2 = u.growth
    if u.growth_fade is not None:
        frm, yrs = u.growth_fade
        b2 = u.growth + (frm - u.growth) * max(0.0, 1.0 - t / yrs)
    if u.fade is None:
        return b2
    n, g_inf, _ = u.fade
    if n == 0:
        return g_inf
    return g_inf + (b2 - g_inf) * max(0.0, 1.0 - t / n)


def held_factor(u: Unit, K: int, m_K: float, spy: int, r: float) -> float:
    """MODEL.md v3 held value per unit of revenue: H = R_K x A, with

    A = sum_{k >= K} c_k beta^(k - K + 1) / R_K,
    c_k = R_k m_k dt - R_k ((1 + b(t_k))^dt - 1) / s,
    E[R_{k+1}] = R_k (1 + b(t_k))^dt psi, m_{k+1} = m_k + margin_speed (m* - m_k) dt.

    Steps K..L-1 (L = max(n spy, K)) are summed directly; from L on b = g_inf
    and the closed-form tail
    R_L beta^(L-K+1) [(m* dt - c) / (1 - a beta) + (m_L - m*) dt / (1 - a q beta)]
    with a = (1 + g_inf)^dt psi, c = ((1 + g_inf)^dt - 1) / s,
    q = 1 - margin_speed dt. K is the number of steps done (h x spy), m_K the
    margin after them."""
    n, g_inf, s = u.fade
    dt = 1.0 / spy
    beta = (1.0 + r) ** (-dt)
    psi = jump_psi(u.jumps, dt)
    ms, mstar = u.margin_speed, u.target_margin
    L = max(n * spy, K)
    Rk, mk, dk = 1.0, m_K, beta  # R_k / R_K, m_k, beta^(k - K + 1)
    A = 0.0
    for k in range(K, L):
        x = (1.0 + base_growth(u, k * dt)) ** dt
        A += Rk * (mk * dt - (x - 1.0) / s) * dk
        Rk *= x * psi
        mk = mk + ms * (mstar - mk) * dt
        dk *= beta
    x = (1.0 + g_inf) ** dt
    a = x * psi
    c = (x - 1.0) / s
    q = 1.0 - ms * dt
    A += Rk * dk * ((mstar * dt - c) / (1.0 - a * beta) + (mk - mstar) * dt / (1.0 - a * q * beta))
    return A


def margin_path(sc: Scenario, nsteps: int) -> np.ndarray:
    """m at the start of steps 0..nsteps (deterministic: the same in every
    trial), by the recursion the simulation uses."""
    m = np.array([u.margin for u in sc.units])
    tm = np.array([u.target_margin for u in sc.units])
    ms = np.array([u.margin_speed for u in sc.units])
    dt = 1.0 / sc.steps_per_year
    out = [m]
    for _ in range(nsteps):
        m = m + ms * (tm - m) * dt
        out.append(m)
    return np.array(out)


def held_factors(sc: Scenario) -> dict:
    """{(unit index, horizon): (A, m at h)} for every unit valued by "fade".
    Nothing A reads is drawn per trial here, so one number per (unit, horizon)."""
    spy = sc.steps_per_year
    mp = margin_path(sc, max(sc.horizons) * spy)
    out = {}
    for i, u in enumerate(sc.units):
        if u.fade is None:
            continue
        for h in sc.horizons:
            K = h * spy
            out[(i, h)] = (held_factor(u, K, float(mp[K, i]), spy, sc.discount_rate), float(mp[K, i]))
    return out


def simulate_chunk(sc: Scenario, n: int, rng: np.random.Generator) -> np.ndarray:
    """Runs n trials; returns outputs of shape [policies, horizons, metrics, n]."""
    spy = sc.steps_per_year
    dt = 1.0 / spy
    nsteps = max(sc.horizons) * spy
    nu, nf, npol, nh = len(sc.units), len(sc.factors), len(sc.policies), len(sc.horizons)
    mets = metric_list(sc)
    out = np.empty((npol, nh, len(mets), n))

    # Per-unit constants.
    R0 = np.array([u.revenue for u in sc.units])
    m0 = np.array([u.margin for u in sc.units])
    tm = np.array([u.target_margin for u in sc.units])
    ms = np.array([u.margin_speed for u in sc.units])
    # Base growth per step (b2, or the v3 schedule b for fade units) and the
    # growth cost per unit of revenue, ((1 + b)^dt - 1) / s (0 for "multiple").
    bgrowth = np.array([[base_growth(u, k * dt) for u in sc.units] for k in range(nsteps)]).reshape(nsteps, nu)
    inv_s = np.array([0.0 if u.fade is None else 1.0 / u.fade[2] for u in sc.units])
    gcost = np.where(inv_s > 0, ((1.0 + bgrowth) ** dt - 1.0) * inv_s, 0.0)
    is_fade = np.array([u.fade is not None for u in sc.units])
    hf = held_factors(sc)
    vol = np.array([u.volatility for u in sc.units])
    mu = np.array([u.max_uplift for u in sc.units])
    hs = np.array([u.half_saturation for u in sc.units])
    L = np.array([u.loadings for u in sc.units]).reshape(nu, nf)  # [units, factors]
    idio = np.sqrt(np.maximum(0.0, 1.0 - (L ** 2).sum(axis=1)))
    jump_idx = [i for i, u in enumerate(sc.units) if u.jumps is not None and u.jumps[0] > 0]
    j_lam = np.array([sc.units[i].jumps[0] * dt for i in jump_idx])
    j_mean = np.array([sc.units[i].jumps[1] for i in jump_idx])
    j_sd = np.array([sc.units[i].jumps[2] for i in jump_idx])

    # Time grid: t_{k+1} and discount factors (1+r)^-t_{k+1}.
    t_start = np.arange(nsteps) / spy
    t_end = np.arange(1, nsteps + 1) / spy
    disc = (1.0 + sc.discount_rate) ** (-t_end)
    horizon_after = {h * spy - 1: hi for hi, h in enumerate(sc.horizons)}

    # Per-trial draws before the path: multiple and exit-time uniform.
    eta = rng.standard_normal((n, nu))
    U = rng.random((n, nu))
    M = np.array([u.mult_median for u in sc.units]) * np.exp(
        np.array([u.mult_dispersion for u in sc.units]) * eta)

    # Per-policy terms as arrays.
    pols = []
    for p in sc.policies:
        role = np.array([t.role for t in p.terms])
        is_int = (role == "core") | (role == "non_core")
        is_inno = role == "innovation"
        intensity = np.array([t.intensity for t in p.terms])
        budget = np.array([t.budget for t in p.terms])
        years = np.array([t.years for t in p.terms])
        has_exit = np.array([t.exit is not None for t in p.terms])
        tau = np.full((n, nu), np.inf)
        keep = np.zeros(nu)
        for i, t in enumerate(p.terms):
            if t.exit is not None:
                after, window, dsc = t.exit
                tau[:, i] = after + U[:, i] * window
                keep[i] = 1.0 - dsc
        # Gate step per unit: first k with t_{k+1} >= gate.year (-1: none).
        gate_step = np.full(nu, -1)
        gate_min = np.zeros(nu)
        for i, t in enumerate(p.terms):
            if t.role == "innovation" and t.gate is not None:
                ks = np.nonzero(t_end >= t.gate[0])[0]
                if len(ks):
                    gate_step[i] = ks[0]
                    gate_min[i] = t.gate[1]
        pols.append(dict(
            rs=p.reinvest_share, rc=p.recycle_share, is_int=is_int, is_inno=is_inno,
            intensity=intensity, budget=budget, years=years, has_exit=has_exit,
            tau=tau, keep=keep, gate_step=gate_step, gate_min=gate_min,
            R=np.tile(R0, (n, 1)), held=np.ones((n, nu), bool), funded=np.ones((n, nu), bool),
            W=np.zeros(n), dist=np.zeros(n), ucash=np.zeros((n, nu)), uproc=np.zeros((n, nu)),
        ))

    m = m0.copy()  # margins are deterministic: the same in every trial
    for k in range(nsteps):
        # Common random numbers: drawn once per step for every unit, used by every policy.
        F = rng.standard_normal((n, nf))
        eps = rng.standard_normal((n, nu))
        Z = F @ L.T + eps * idio
        shock = -0.5 * vol ** 2 * dt + vol * math.sqrt(dt) * Z
        if jump_idx:
            cnt = rng.poisson(j_lam, size=(n, len(jump_idx)))
            zj = rng.standard_normal((n, len(jump_idx)))
            # sum of cnt iid N(mean, sd) == cnt*mean + sd*sqrt(cnt)*z in law.
            shock[:, jump_idx] += cnt * j_mean + j_sd * np.sqrt(cnt) * zj
        m_next = m + ms * (tm - m) * dt
        for P in pols:
            R, held = P["R"], P["held"]
            # 1. Operating cash (less the growth cost G for fade units, v3).
            op = np.where(held, R * m * dt - R * gcost[k], 0.0)
            # 2. Requested investment.
            req_int = P["intensity"] * R * dt
            inno_on = P["is_inno"] & (t_start[k] < P["years"])
            req_inno = np.where(P["funded"] & inno_on, P["budget"] * dt, 0.0)
            req = np.where(held, np.where(P["is_int"], req_int, req_inno), 0.0)
            # 3. Budget cap and war chest.
            sum_op = op.sum(axis=1)
            sum_req = req.sum(axis=1)
            from_cash = P["rs"] * np.maximum(sum_op, 0.0)
            cap = from_cash + P["W"]
            over = sum_req > cap
            scale = np.where(over, cap / np.where(over, sum_req, 1.0), 1.0)
            inv = req * scale[:, None]
            sum_inv = inv.sum(axis=1)
            w = np.maximum(0.0, sum_inv - from_cash)
            P["W"] = P["W"] - w
            # 4. Growth.
            x = inv / (R * dt)
            with np.errstate(invalid="ignore", divide="ignore"):
                upl = np.where(x > 0, mu * x / (x + hs), 0.0)
            upl = np.nan_to_num(upl, nan=0.0)
            g = bgrowth[k] + upl
            P["ucash"] += (op - inv) * disc[k]
            # ln R += ln(1+g) dt + shock, i.e. R *= (1+g)^dt e^shock (held units only).
            R = np.where(held, R * np.exp(np.log1p(g) * dt + shock), R)
            P["R"] = R
            # 6. Exits (end of the first step with t_{k+1} >= tau).
            ex = held & P["has_exit"] & (t_end[k] >= P["tau"])
            proceeds = np.where(ex, R * M * P["keep"], 0.0)
            sum_p = proceeds.sum(axis=1)
            P["uproc"] += proceeds * disc[k]
            P["held"] = held = held & ~ex
            P["W"] = P["W"] + P["rc"] * sum_p
            # 7. Gates.
            gk = P["gate_step"] == k
            if gk.any():
                fail = (R / R0) < P["gate_min"]
                P["funded"] &= ~(gk & fail)
            # Distribution.
            D = sum_op - sum_inv + w + (1.0 - P["rc"]) * sum_p
            P["dist"] += D * disc[k]
        # 5. Margins (after the step, for every policy alike).
        m = m_next
        if k in horizon_after:
            hi = horizon_after[k]
            h = sc.horizons[hi]
            dfh = (1.0 + sc.discount_rate) ** (-h)
            for pi, P in enumerate(pols):
                R, held = P["R"], P["held"]
                # Held value: R x M ("multiple"), or H = R x A ("fade", v3).
                HV = R * M
                for i in np.nonzero(is_fade)[0]:
                    HV[:, i] = R[:, i] * hf[(i, h)][0]
                RM = np.where(held, HV, 0.0)
                o = out[pi, hi]
                o[0] = P["dist"] + (P["W"] + RM.sum(axis=1)) * dfh
                o[1] = np.where(held, R, 0.0).sum(axis=1)
                o[2] = np.where(held, R * m, 0.0).sum(axis=1)
                uv = P["ucash"] + np.where(held, RM * dfh, P["uproc"])
                o[3:3 + nu] = uv.T
                o[3 + nu:3 + 2 * nu] = np.where(held, R, 0.0).T
            base = out[sc.baseline, hi, 0].copy()
            for pi in range(npol):
                out[pi, hi, -1] = out[pi, hi, 0] - base
    return out


def run(sc: Scenario, trials: int, seed: int, chunk: int = 10_000, progress=False) -> np.ndarray:
    nchunks = (trials + chunk - 1) // chunk
    children = np.random.SeedSequence(seed).spawn(nchunks)
    npol, nh, nm = len(sc.policies), len(sc.horizons), len(metric_list(sc))
    allout = np.empty((npol, nh, nm, trials))
    for c in range(nchunks):
        lo = c * chunk
        hi = min(trials, lo + chunk)
        rng = np.random.Generator(np.random.PCG64(children[c]))
        allout[..., lo:hi] = simulate_chunk(sc, hi - lo, rng)
        if progress:
            print(f"  chunk {c + 1}/{nchunks}", file=sys.stderr)
    return allout


def held_rows(sc: Scenario) -> list[dict]:
    """The per-trial-independent numbers of the v3 valuation, for comparing
    with the engine: per unit valued by "fade" and horizon, the held value per
    unit of revenue A = H / R, the margin at h, the unit's psi, b(0) and b(h)."""
    dt = 1.0 / sc.steps_per_year
    rows = []
    for (i, h), (A, mh) in held_factors(sc).items():
        u = sc.units[i]
        rows.append({"unit": u.name, "horizon": h, "held_per_revenue": A, "margin": mh,
                     "psi": jump_psi(u.jumps, dt), "base_growth_0": base_growth(u, 0.0),
                     "base_growth_h": base_growth(u, float(h))})
    return rows


def summarize(sc: Scenario, out: np.ndarray, trials: int, seed: int) -> dict:
    mets = metric_list(sc)
    rows, extra, pbb = [], [], []
    n = out.shape[-1]
    for pi, p in enumerate(sc.policies):
        for hi, h in enumerate(sc.horizons):
            for mi, (metric, ui) in enumerate(mets):
                x = out[pi, hi, mi]
                mean = float(x.mean())
                sd = float(x.std(ddof=1)) if n > 1 else 0.0
                qs = np.quantile(x, list(QUANTILES) + [q + d for q in QUANTILES for d in (-0.01, 0.01)])
                row = {"policy": p.name, "horizon": h, "metric": metric,
                       "unit": None if ui is None else sc.units[ui].name,
                       "mean": mean, "stdev": sd, "stderr": sd / math.sqrt(n)}
                for name, q in zip(QNAMES, qs[:5]):
                    row[name] = float(q)
                row["min"] = float(x.min())
                row["max"] = float(x.max())
                rows.append(row)
                # Extras for the cross-check (not part of the engine's shape):
                # standard errors of the quantiles, from the local density
                # (Q(p+0.01) - Q(p-0.01)) / 0.02, and of the stdev, from the
                # fourth central moment.
                qse = {}
                for j, (name, q) in enumerate(zip(QNAMES, QUANTILES)):
                    dens_inv = (qs[5 + 2 * j + 1] - qs[5 + 2 * j]) / 0.02
                    qse[name] = float(dens_inv * math.sqrt(q * (1 - q) / n))
                c = x - mean
                m4 = float((c ** 4).mean())
                var = sd * sd
                sd_se = math.sqrt(max(m4 - var * var, 0.0) / n) / (2 * sd) if sd > 0 else 0.0
                extra.append({"quantile_se": qse, "stdev_se": sd_se})
            d = out[pi, hi, -1]
            pbb.append({"policy": p.name, "horizon": h, "p": float((d > 0).mean())})
    return {"scenario": sc.name, "trials": trials, "seed": seed, "currency": sc.currency,
            "rows": rows, "prob_beats_baseline": pbb,
            "reference_extras": extra,
            "reference_held": held_rows(sc),
            "reference_note": "numpy reference (benches/reference/stratsim_ref.py); "
                              "reference_extras[i] belongs to rows[i]; reference_held: "
                              "v3 held value per unit of revenue (H = R x held_per_revenue) "
                              "per unit valued by fade and horizon"}


def print_table(summary: dict):
    rows = summary["rows"]
    pbb = {(r["policy"], r["horizon"]): r["p"] for r in summary["prob_beats_baseline"]}
    print(f'{summary["scenario"]} | {summary["trials"]} trials | seed {summary["seed"]} | '
          f'{summary["currency"]} | numpy reference')
    hdr = f'{"policy":<14}{"yr":>3} {"metric":<12}{"mean":>12}{"stdev":>11}{"p5":>11}{"p50":>11}{"p95":>11}'
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        if r["metric"] in ("value", "revenue", "ebita", "delta_value"):
            print(f'{r["policy"]:<14}{r["horizon"]:>3} {r["metric"]:<12}{r["mean"]:>12.3f}'
                  f'{r["stdev"]:>11.3f}{r["p5"]:>11.3f}{r["p50"]:>11.3f}{r["p95"]:>11.3f}')
    print("prob_beats_baseline:")
    for (p, h), v in pbb.items():
        print(f"  {p:<14}{h:>3}  {v:.4f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("--trials", type=int)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--json", metavar="OUT", help="write a summary.json-shaped file")
    ap.add_argument("--chunk", type=int, default=10_000, help="trials per chunk (default 10000)")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--held", action="store_true",
                    help='print the v3 held value per unit of revenue (A = H / R) of every unit '
                         'valued by "fade" at every horizon, full precision, and the value means')
    a = ap.parse_args(argv)
    try:
        sc = load_scenario(a.scenario)
    except (ScenarioError, tomllib.TOMLDecodeError) as e:
        print(f"error: {a.scenario}: {e}", file=sys.stderr)
        return 2
    trials = a.trials if a.trials is not None else sc.trials
    seed = a.seed if a.seed is not None else sc.seed
    t0 = time.perf_counter()
    out = run(sc, trials, seed, a.chunk)
    t1 = time.perf_counter()
    summary = summarize(sc, out, trials, seed)
    t2 = time.perf_counter()
    if not a.quiet:
        print_table(summary)
        print(f"simulate {t1 - t0:.2f} s, summarize {t2 - t1:.2f} s", file=sys.stderr)
    if a.held:
        print("held value per unit of revenue (v3, A = H / R; per trial independent):")
        print(f'  {"unit":<20}{"yr":>3}{"A":>24}{"margin at h":>24}{"psi":>20}')
        for r in summary["reference_held"]:
            print(f'  {r["unit"]:<20}{r["horizon"]:>3}{r["held_per_revenue"]:>24.17g}'
                  f'{r["margin"]:>24.17g}{r["psi"]:>20.15g}')
        print("value mean per policy and horizon (full precision):")
        for r in summary["rows"]:
            if r["metric"] == "value":
                print(f'  {r["policy"]:<20}{r["horizon"]:>3}{r["mean"]:>24.17g}  stderr {r["stderr"]:.3g}')
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
