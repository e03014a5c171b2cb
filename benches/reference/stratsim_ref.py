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

Usage:
    python3 benches/reference/stratsim_ref.py SCENARIO [--trials N] [--seed S]
        [--json OUT] [--chunk C] [--quiet]
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
    # Held at a horizon: None = revenue x multiple; else the growth-fade DCF
    # (fade_years, terminal_growth, sales_to_capital).
    fade: tuple[int, float, float] | None = None


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
    """MODEL.md v2 valuation keys of one table laid over `base`."""
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
                                      lambda x: -1 < x < rate, "must be > -1 and below discount_rate")
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
                    {"target_margin", "margin_speed", "loadings", "response", "jumps", "valuation"})
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
        val = _valuation(u.get("valuation", {}), f"{w}.valuation", discount_rate, file_val)
        if val["method"] == "fade" and not val["terminal_growth"] < discount_rate:
            raise ScenarioError(f"{w}.valuation.terminal_growth: must be below discount_rate")
        fade = None
        if val["method"] == "fade":
            fade = (val["fade_years"], val["terminal_growth"], val["sales_to_capital"])
        units.append(Unit(
            name=uname, role=role, fade=fade,
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


def fade_value(R, m, g, u: Unit, spy: int, r: float):
    """MODEL.md "Valuation of a unit still held at a horizon (v2)", as written:
    growth fades linearly from g to g_inf over n years, the margin keeps
    drifting to its target (q per year), C_j = R_j m_j - (R_{j+1} - R_j) / s,
    F = sum_{j<=n} C_j (1+r)^-j + C_{n+1} / (r - g_inf) (1+r)^-n.
    R and g are arrays over trials; m is the (deterministic) margin at h."""
    n, g_inf, s = u.fade
    q = (1.0 - u.margin_speed / spy) ** spy

    def g_at(j):
        return np.full_like(g, g_inf) if n == 0 else g + (g_inf - g) * min(j, n) / n

    F = np.zeros_like(R)
    R_j, m_j = R, m
    for j in range(1, n + 2):
        R_j = R_j * (1.0 + g_at(j))
        m_j = u.target_margin + (m_j - u.target_margin) * q
        R_next = R_j * (1.0 + g_at(j + 1))
        C = R_j * m_j - (R_next - R_j) / s
        if j <= n:
            F = F + C * (1.0 + r) ** (-j)
        else:
            F = F + C / (r - g_inf) * (1.0 + r) ** (-n)
    return F


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
    growth = np.array([u.growth for u in sc.units])
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
            g=np.zeros((n, nu)),
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
            # 1. Operating cash.
            op = np.where(held, R * m * dt, 0.0)
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
            g = growth + upl
            P["g"] = g  # the latest step's growth rates, for the fade valuation
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
                # Held value: R x M, or the growth-fade DCF (v2) per unit.
                HV = R * M
                for i, u in enumerate(sc.units):
                    if u.fade is not None:
                        HV[:, i] = fade_value(R[:, i], m[i], P["g"][:, i], u, spy, sc.discount_rate)
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
            "reference_note": "numpy reference (benches/reference/stratsim_ref.py); "
                              "reference_extras[i] belongs to rows[i]"}


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
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
