r"""Chapter 2's constraint map and its pre-registered verdict on claim C2.

Claim C2: networks that are too constrained and networks that are too complex both generalise
poorly, and the best lie in between. Constraint and size are kept apart as two axes:

* **constraint level** :math:`\ell = \log_2(H/g)` of hidden units tied in :math:`g` groups
  (:attr:`rgsym.nets.mlp.MLPConfig.groups`): :math:`\ell = 0` is free, :math:`\ell = \log_2 H` is
  ``tied-hidden``; crossed with the *facets* ``perm-in`` and ``odd`` on or off;
* **size**: the grid's (depth, width), ordered by the free network's parameter count.

Classes that are linear by construction (:func:`rgsym.nets.expressivity.linear_by_construction`) contain
the exact map and are left out of the grid: they are references, not points.

**The test** (:func:`map_test`), one *case* per (activation, training law, facet, measure) with at least
three sizes and three constraint levels: score each cell (size, level) by the median of the measure over
seeds, floored at the numerical floor (:func:`numerical_floors`, ``FLOOR_FACTOR`` times the exact map's
own error in the training dtype); cells within one floor of the lowest score tie, and all tied cells
form the *argmin set*. The case **holds** when the argmin set of the full data touches no end of either
axis (smallest or largest size; free or fully tied) and, over ``N_BOOT`` seed-bootstrap resamples, the
share of argmin sets touching any one end is at most ``END_TAIL`` (so the 90 % interval of the argmin
excludes both ends of each axis, for ``END_TAIL = 0.05``). Its margin is ``END_TAIL`` minus the largest
such share (the full-data argmin counts as a share of 1 at an end it touches).

**The verdict** (:func:`verdict_c2`): C2 is supported on a measure when the test holds in at least
``HOLD_SHARE`` of the testable cases and a *control* -- the same test on the same cells with the
members' values shuffled across cells, which has no structure -- holds in at most ``NULL_MAX`` of them.
The headline measure is :data:`HEADLINE_MEASURE` (unseen laws at unit scale); the others are verdicts
of their own.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import replace
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from ..config import PROFILES
from ..learn.measures import MeasureConfig, evaluate
from ..learn.mlp_sweep import SweepSpec
from ..learn.sweep import SweepResult
from ..clt.blockmap import block_map
from ..learn.training import TrainConfig, training_set
from ..nets.exact import exact_layers, from_layers
from ..nets.expressivity import linear_by_construction
from ..nets.mlp import SYMMETRIES, MLPConfig, join_flags
from ..validation import as_optional_int, check_choice
from ..verdicts import Verdict, decide

MAP_MEASURES = ("G2_laws", "G2_scales", "G3")
"""The measures of the map, each judged on its own: unseen laws at unit scale, rescaled inputs, successive RG."""
HEADLINE_MEASURE = "G2_laws"
"""The measure of the headline verdict (generalisation to laws never seen in training)."""
FACETS = ("free", "perm-in", "odd", "perm-in+odd")
"""The symmetry facets crossed with the graded tying."""
FLOOR_FACTOR = 10.0
"""The numerical floor is this many times the exact map's own error in the training dtype."""
END_TAIL = 0.05
"""Largest bootstrap share of argmins allowed at any one end of an axis (0.05: a 90 % interval)."""
HOLD_SHARE = 0.5
"""C2 is supported on a measure when the test holds in at least this share of testable cases."""
NULL_MAX = 0.1
"""... and the shuffled control holds in at most this share."""
N_BOOT = 1000
"""Seed-bootstrap resamples of a case."""
N_NULL = 20
"""Shuffles of the control per case."""
MIN_AXIS = 3
"""A case is testable with at least this many sizes and constraint levels (an axis needs an interior)."""

C2_STATEMENT = ("Networks that are too constrained and networks that are too complex both generalise poorly; "
                "the best lie in between.")
C2_TEST = ("Per (activation, training law, facet) with >= MIN_AXIS sizes and levels: the cell (size, constraint "
           "level) with the lowest seed-median error, floored at FLOOR_FACTOR x the exact map's error with ties "
           "within one floor, is interior on both axes, and at most END_TAIL of N_BOOT seed resamples put it at "
           "any one end. Supported when this holds in >= HOLD_SHARE of the testable cases while the same test on "
           "values shuffled across cells holds in <= NULL_MAX.")


# -- the grid ------------------------------------------------------------------------------------
def constraint_map_spec(profile: str, *, steps: int | None = None, n_seeds: int | None = None,
                        **overrides) -> SweepSpec:
    """The graded-constraint sweep of Chapter 2 for a profile: every facet x tied groups
    :math:`g = 1, 2, \\dots, H` x size x nonlinear activation x training law x seed, linear-by-construction
    classes left out. ``steps``/``n_seeds`` (``None``: the profile's) and other :class:`SweepSpec` fields
    override."""
    check_choice("profile", profile, PROFILES)
    as_optional_int("steps", steps, lo=1)
    as_optional_int("n_seeds", n_seeds, lo=1)
    common = dict(symmetries=FACETS, activations=("quadratic", "tanh", "relu", "silu"), groups="graded",
                  linear_classes=False)
    if profile == "paper":
        spec = SweepSpec(sizes=((1, 2), (1, 4), (1, 8), (1, 16), (1, 32), (2, 32)), seeds=tuple(range(10)),
                         train=TrainConfig(steps=3000, lr=3e-3, batch_size=128, n_train=256),
                         measures=MeasureConfig(n_eval=4096, L=6, n_flow=2048), **common)
    else:
        spec = SweepSpec(sizes=((1, 2), (1, 4), (1, 8), (2, 8)), seeds=(0, 1, 2),
                         train=TrainConfig(steps=300, batch_size=64, n_train=256),
                         measures=MeasureConfig(n_eval=512, L=6, n_flow=256), **common)
    if steps is not None:
        overrides.setdefault("train", replace(spec.train, steps=steps))
    if n_seeds is not None:
        overrides.setdefault("seeds", tuple(range(n_seeds)))
    return spec.replace(**overrides) if overrides else spec


def size_order(spec: SweepSpec) -> list[str]:
    """The grid's size labels (``'DxW'``) ordered by the free network's parameter count."""
    cfgs = [MLPConfig(b=spec.b, depth=d, width=w) for d, w in spec.sizes]
    return [c.size_label for c in sorted(cfgs, key=lambda c: c.n_params)]


def numerical_floors(spec, factor: float = 1.0, measures: Sequence[str] = MAP_MEASURES) -> dict:
    """``factor`` times the error of the exact map itself in the training dtype, per measure (default
    :data:`MAP_MEASURES`; the largest over the training laws): a one-unit identity network with the exact
    weights, scored by the same measures on the same inputs as the trained networks. ``spec``: any sweep
    spec (MLP or GNN) with ``b``, ``tasks``, ``train`` and ``measures``."""
    cfg = MLPConfig(b=spec.b, width=1, depth=1, activation="identity")
    model = from_layers(cfg, exact_layers(cfg), dtype=spec.train.torch_dtype)
    out = {m: 0.0 for m in measures}
    for task in spec.tasks:
        t = evaluate(model, [task], spec.measures)
        for m in measures:
            out[m] = max(out[m], float(t.loc[t.measure == m, "value"].iloc[0]))
    return {m: factor * v for m, v in out.items()}


# -- the map's table -----------------------------------------------------------------------------
def facet_of(symmetry: str) -> str:
    """The facet of a symmetry name: the constraints other than the tying (``'perm-in+tied-hidden'`` -> ``'perm-in'``)."""
    check_choice("symmetry", symmetry, SYMMETRIES)
    return join_flags(set(symmetry.split("+")) - {"tied-hidden", "free"})


def map_table(result: SweepResult, measure: str) -> pd.DataFrame:
    """One row per member of a graded sweep for ``measure``: ``member_id, activation, task, facet, size, size_idx, width,
    groups, level, level_max, n_params, seed, value, excluded`` (``excluded``: diverged, or a non-finite value;
    such members are counted, never scored) and ``contains_exact`` (the class holds weights that *are*
    :math:`T_b`, :func:`rgsym.nets.exact.exact_layers`, without being linear by construction: e.g. ReLU or the
    quadratic with two or more groups, which can hold a mirror pair of units)."""
    t = result.table[result.table["measure"] == measure]
    if t.empty:
        raise ValueError(f"no measure {measure!r} in this sweep; the map's measures are {MAP_MEASURES}")
    order = size_order(result.spec)
    d = t[["member_id", "activation", "task", "symmetry", "size", "width", "groups", "n_params", "seed", "value", "diverged"]].copy()
    d["facet"] = [facet_of(s) for s in d.symmetry]
    d["size_idx"] = [order.index(z) for z in d["size"]]
    d["level"] = np.log2(d["width"] / d["groups"]).round().astype(int)
    d["level_max"] = np.log2(d["width"]).round().astype(int)
    d["excluded"] = d["diverged"].astype(bool) | ~np.isfinite(d["value"].astype(float))
    b, alpha = result.spec.b, result.spec.alpha
    known = {}
    for key in set(zip(d.activation, d.symmetry, d["size"], d.width, d.groups)):
        act, sym, size, width, g = key
        cfg = MLPConfig(b=b, width=int(width), depth=int(size.split("x")[0]), activation=act, symmetry=sym,
                        alpha=alpha if act == "quadratic" else None, groups=int(g))
        known[key] = exact_layers(cfg) is not None
    d["contains_exact"] = [known[k] for k in zip(d.activation, d.symmetry, d["size"], d.width, d.groups)]
    return d.drop(columns=["symmetry", "diverged"]).reset_index(drop=True)


# -- the test of one case ------------------------------------------------------------------------
def _cells(case: pd.DataFrame, seeds: Sequence[int]):
    """Cells of one case: keys ``(size_idx, level)``, the top level present per size, values ``(n_cells, n_seeds)`` (NaN where
    a seed is missing or excluded)."""
    ok = case[~case.excluded]
    keys = sorted({(int(a), int(b)) for a, b in zip(case.size_idx, case.level)})
    lmax = {}  # the most constrained level present at each size: the tied end of its axis
    for a, lv in keys:
        lmax[a] = max(lmax.get(a, 0), lv)
    pos = {s: i for i, s in enumerate(seeds)}
    V = np.full((len(keys), len(seeds)), np.nan)
    idx = {k: i for i, k in enumerate(keys)}
    for a, b, s, v in zip(ok.size_idx, ok.level, ok.seed, ok.value):
        V[idx[(int(a), int(b))], pos[int(s)]] = float(v)
    return keys, lmax, V


def _ends(keys, lmax) -> np.ndarray:
    """``(n_cells, 4)``: whether each cell sits at (the case's smallest size, its largest size, free, fully tied)."""
    sidx = np.array([k[0] for k in keys])
    lev = np.array([k[1] for k in keys])
    top = np.array([lmax[k[0]] for k in keys])
    return np.stack([sidx == sidx.min(), sidx == sidx.max(), lev == 0, lev == top], -1)


def argmin_set(med: np.ndarray, floor: float) -> np.ndarray:
    """Cells within one floor of the lowest floored score (NaN cells never win), ``med (..., n_cells)`` ->
    bool of the same shape."""
    score = np.where(np.isfinite(med), np.maximum(med, floor), np.inf)
    best = score.min(-1, keepdims=True)
    return np.isfinite(score) & (score <= best + floor)


def interior_test(V: np.ndarray, ends: np.ndarray, floor: float, *, end_tail: float = END_TAIL,
                  boot_idx: np.ndarray) -> dict:
    """The core of the test on any axes: ``V`` ``(n_cells, n_seeds)`` values (NaN: missing), ``ends``
    ``(n_cells, n_ends)`` which cell sits at which end, ``boot_idx`` ``(n_boot, n_seeds)`` seed resamples.
    Holds when the full-data argmin set (:func:`argmin_set` of the seed medians) touches no end and each
    end is touched by at most ``end_tail`` of the resamples' argmin sets. Returns ``holds``, ``margin``
    (``end_tail`` minus the largest share, an end the full data touch counting 1), ``point`` (the argmin
    mask), ``p_ends`` and ``interior_boot`` ``(n_boot,)``."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN cell in a resample: it never wins
        point = argmin_set(np.nanmedian(V, -1), floor)
        touch0 = (point[:, None] & ends).any(0)
        med_b = np.nanmedian(V[:, boot_idx], -1).T  # (n_boot, n_cells)
        touch_b = (argmin_set(med_b, floor)[..., None] & ends).any(-2)  # (n_boot, n_ends)
    p = touch_b.mean(0)
    return {"holds": bool(not touch0.any() and (p <= end_tail).all()),
            "margin": float(end_tail - np.where(touch0, 1.0, p).max()), "point": point,
            "p_ends": [float(x) for x in p], "interior_boot": ~touch_b.any(-1)}


def map_test(case: pd.DataFrame, seeds: Sequence[int], floor: float, *, end_tail: float = END_TAIL,
             n_boot: int = N_BOOT, rng: np.random.Generator | None = None, boot_idx: np.ndarray | None = None) -> dict:
    """The pre-registered test of one case (rows of :func:`map_table` for one activation, law, facet,
    measure), by :func:`interior_test` on the (size, level) cells. ``boot_idx`` ``(n_boot, n_seeds)``: the
    seed resamples (shared across cases so that a resample means the same seeds everywhere; drawn from
    ``rng`` if absent).

    Returns ``testable``, ``holds``, ``margin``, ``argmin`` (the full-data argmin cells as
    ``[(size_idx, level), ...]``), ``p_ends`` (bootstrap share touching each end: smallest size, largest
    size, free, tied), ``interior_boot`` ``(n_boot,)`` (whether each resample's argmin set is interior) and
    ``n_cells``.
    """
    keys, lmax, V = _cells(case, seeds)
    sizes = {k[0] for k in keys}
    levels = {a: sum(1 for k in keys if k[0] == a) for a in sizes}
    testable = len(sizes) >= MIN_AXIS and max(levels.values()) >= MIN_AXIS
    out = {"testable": bool(testable), "n_cells": len(keys), "holds": None, "margin": math.nan, "argmin": [],
           "p_ends": [math.nan] * 4, "interior_boot": None}
    if not testable or not np.isfinite(V).any():
        out["testable"] = False
        return out
    if boot_idx is None:
        rng = rng or np.random.default_rng(0)
        boot_idx = rng.integers(0, V.shape[1], (n_boot, V.shape[1]))
    r = interior_test(V, _ends(keys, lmax), floor, end_tail=end_tail, boot_idx=boot_idx)
    out.update(holds=r["holds"], margin=r["margin"], argmin=[keys[i] for i in np.flatnonzero(r["point"])],
               p_ends=r["p_ends"], interior_boot=r["interior_boot"])
    return out


def shuffled(case: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The control: the same cells and seeds with the values permuted across all members of the case."""
    c = case.copy()
    ok = ~c.excluded.to_numpy()
    vals = c.loc[ok, "value"].to_numpy().copy()
    rng.shuffle(vals)
    c.loc[ok, "value"] = vals
    return c


# -- all cases, and the verdict ------------------------------------------------------------------
def map_cases(result: SweepResult, floors: dict, *, measures: Sequence[str] = MAP_MEASURES,
              end_tail: float = END_TAIL, floor_factor: float = FLOOR_FACTOR, n_boot: int = N_BOOT,
              n_null: int = N_NULL, seed: int = 0) -> pd.DataFrame:
    """The test of every (measure, activation, training law, facet) case, with its control.

    ``floors``: the exact map's error per measure (:func:`numerical_floors` with factor 1); the floor
    used is ``floor_factor`` times it. Returns one row per case: ``measure, activation, task, facet,
    testable, holds, margin, argmin_exact`` (an argmin cell contains :math:`T_b` exactly), ``argmin``
    (``'DxW g=G'`` cells), ``p_small, p_large, p_free, p_tied`` (bootstrap
    shares at each end), ``null_share`` (share of ``n_null`` shuffles that hold), ``n_cells``, ``n_members``,
    ``n_excluded``, and ``interior_boot`` (per resample, for :func:`share_interval`).
    """
    spec = result.spec
    seeds = list(spec.seeds)
    order = size_order(spec)
    rng = np.random.default_rng(seed)
    boot_idx = rng.integers(0, len(seeds), (n_boot, len(seeds)))
    rows = []
    for measure in measures:
        tab = map_table(result, measure)
        floor = floor_factor * floors[measure]
        for (act, task, facet), case in tab.groupby(["activation", "task", "facet"], sort=False):
            r = map_test(case, seeds, floor, end_tail=end_tail, boot_idx=boot_idx)
            null = []
            if r["testable"]:
                nrng = np.random.default_rng([seed, len(rows)])
                for _ in range(n_null):
                    null.append(bool(map_test(shuffled(case, nrng), seeds, floor, end_tail=end_tail,
                                              boot_idx=boot_idx[: max(50, n_boot // 5)])["holds"]))
            width = dict(zip(case.size_idx, case.width))
            exact = {(a, lv) for a, lv, e in zip(case.size_idx, case.level, case.contains_exact) if e}
            rows.append({"measure": measure, "activation": act, "task": task, "facet": facet,
                         "testable": r["testable"], "holds": r["holds"], "margin": r["margin"],
                         "argmin_exact": any(tuple(map(int, c)) in exact for c in r["argmin"]),
                         "argmin": ", ".join(f"{order[a]} g={width[a] // 2**lv}" for a, lv in r["argmin"]),
                         "p_small": r["p_ends"][0], "p_large": r["p_ends"][1], "p_free": r["p_ends"][2],
                         "p_tied": r["p_ends"][3], "null_share": float(np.mean(null)) if null else math.nan,
                         "n_cells": r["n_cells"], "n_members": int((~case.excluded).sum()),
                         "n_excluded": int(case.excluded.sum()), "interior_boot": r["interior_boot"]})
    return pd.DataFrame(rows)


def share_interval(cases: pd.DataFrame, level: float = 0.9) -> tuple[float, float]:
    """Percentile interval, over the shared seed resamples, of the share of testable cases whose argmin is
    interior on both axes."""
    t = cases[cases.testable.astype(bool)]
    if t.empty:
        return (math.nan, math.nan)
    share = np.stack(list(t.interior_boot)).mean(0)
    lo, hi = np.quantile(share, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def summarise(cases: pd.DataFrame, measure: str) -> dict:
    """``n_testable``, ``n_hold``, ``share`` and ``null_share`` (mean over cases) of one measure."""
    t = cases[(cases.measure == measure) & cases.testable.astype(bool)]
    n = len(t)
    return {"n_testable": n, "n_hold": int(t.holds.astype(bool).sum()),
            "share": float(t.holds.astype(bool).mean()) if n else math.nan,
            "null_share": float(t.null_share.mean()) if n else math.nan}


def verdict_c2(result: SweepResult, floors: dict, measure: str = HEADLINE_MEASURE, *, seed: int = 0,
               n_boot: int = N_BOOT, n_null: int = N_NULL, claim: str = "C2") -> Verdict:
    """The verdict on C2 for one measure (module docstring), with each threshold halved and doubled; the
    interval is the 90 % seed-bootstrap interval of the share of testable cases whose argmin is interior."""
    check_choice("measure", measure, MAP_MEASURES)
    memo = {}

    def cases_at(end_tail, floor_factor):
        k = (end_tail, floor_factor)
        if k not in memo:
            memo[k] = map_cases(result, floors, measures=(measure,), end_tail=end_tail, floor_factor=floor_factor,
                                n_boot=n_boot, n_null=n_null, seed=seed)
        return memo[k]

    def test(END_TAIL, FLOOR_FACTOR, HOLD_SHARE, NULL_MAX):
        s = summarise(cases_at(END_TAIL, FLOOR_FACTOR), measure)
        if not s["n_testable"]:
            return False, math.nan
        margin = min(s["share"] - HOLD_SHARE, NULL_MAX - s["null_share"])
        return bool(s["share"] >= HOLD_SHARE and s["null_share"] <= NULL_MAX), float(margin)

    thr = {"END_TAIL": END_TAIL, "FLOOR_FACTOR": FLOOR_FACTOR, "HOLD_SHARE": HOLD_SHARE, "NULL_MAX": NULL_MAX}
    base = cases_at(END_TAIL, FLOOR_FACTOR)
    s = summarise(base, measure)
    notes = (f"{s['n_hold']} of {s['n_testable']} testable cases hold on {measure}; the shuffled control holds in "
             f"{s['null_share']:.2f} of them on average; interval: 90 % bootstrap over the {len(result.spec.seeds)} "
             f"seeds of the share of cases with an interior argmin")
    return decide(claim, C2_STATEMENT, C2_TEST, f"{measure} over (size, constraint level)", test, thr,
                  interval=share_interval(base), figure="fig-c2-map", notes=notes)


c2_verdict = verdict_c2
"""The name under which earlier versions exported the C2 test (now :func:`verdict_c2` on the constraint map)."""


# -- the numbers around the verdict --------------------------------------------------------------
def map_stats(table: pd.DataFrame) -> pd.DataFrame:
    """Median and quartiles over seeds per cell of a :func:`map_table`: ``activation, task, facet, size,
    size_idx, width, groups, level, level_max, n_params, contains_exact, median, q25, q75, n, n_excluded``."""
    keys = ["activation", "task", "facet", "size", "size_idx", "width", "groups", "level", "level_max", "n_params",
            "contains_exact"]
    ok = table[~table.excluded]
    g = ok.groupby(keys)["value"]
    out = pd.DataFrame({"median": g.median(), "q25": g.quantile(0.25), "q75": g.quantile(0.75), "n": g.size()})
    excl = table[table.excluded].groupby(keys).size()
    out["n_excluded"] = excl.reindex(out.index).fillna(0).astype(int)
    return out.reset_index()


def overfit_table(result: SweepResult, *, n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    r"""The overfitting gap :math:`G_1/\varepsilon_{\rm train}`: the relative error on fresh samples of the
    training law over the relative error on the member's own finite training set (its final training loss
    divided by :math:`E\|T_b(s)\|^2` over that set) per (activation, task, facet, size, level): the median over seeds
    and its 90 % seed-bootstrap interval. A ratio above 1 is overfitting."""
    t = map_table(result, "G1")
    train = result.members.set_index("member_id")["final_train_loss"]
    spec = result.spec
    norm = {}  # E ||T_b(s)||^2 over each member's own training set: the training loss as a relative error
    for task, seed_ in set(zip(t.task, t.seed)):
        x = training_set(task, int(seed_), spec.train.n_train, spec.train.sites or spec.b)
        norm[(task, seed_)] = float(block_map(x, spec.b).pow(2).mean())
    rel_train = train.loc[t.member_id].to_numpy() / np.array([norm[k] for k in zip(t.task, t.seed)])
    t["ratio"] = t["value"].to_numpy() / rel_train
    t = t[~t.excluded & np.isfinite(t.ratio)]
    rng = np.random.default_rng(seed)
    rows = []
    for key, d in t.groupby(["activation", "task", "facet", "size", "size_idx", "n_params", "level", "level_max"]):
        r = d.ratio.to_numpy()
        boots = np.median(r[rng.integers(0, len(r), (n_boot, len(r)))], 1)
        lo, hi = np.quantile(boots, [0.05, 0.95])
        rows.append((*key, float(np.median(r)), float(lo), float(hi), len(r)))
    cols = ["activation", "task", "facet", "size", "size_idx", "n_params", "level", "level_max", "median", "lo", "hi", "n"]
    return pd.DataFrame(rows, columns=cols)


def linear_class_table(activations: Sequence[str], *, depths: Sequence[int] = (1, 2, 3), width: int = 4,
                       b: int = 2) -> pd.DataFrame:
    """Which (activation, symmetry, depth) classes are linear by construction: rows activation, columns
    ``'symmetry, D=depth'``, entries ``'linear'`` or ``''``."""
    rows = {}
    for act in activations:
        rows[act] = {f"{sym}, D={d}": ("linear" if linear_by_construction(
            MLPConfig(b=b, width=width, depth=d, activation=act, symmetry=sym))[0] else "")
            for sym in SYMMETRIES for d in depths}
    return pd.DataFrame(rows).T


def numerical_check(activations: Sequence[str], *, depths: Sequence[int] = (1, 2, 3), width: int = 4,
                    b: int = 2, n_seeds: int = 6) -> pd.DataFrame:
    """The algebra against the numbers: for every (activation, symmetry, depth), the largest nonlinear
    variance fraction over ``n_seeds`` random float64 members (:func:`rgsym.nets.expressivity.nonlinear_fraction`)
    and whether it agrees with :func:`~rgsym.nets.expressivity.linear_by_construction`."""
    from ..nets.expressivity import LINEAR_FRACTION, nonlinear_fraction
    from ..nets.mlp import EnsembleMLP

    rows = []
    for act in activations:
        for sym in SYMMETRIES:
            for d in depths:
                cfg = MLPConfig(b=b, width=width, depth=d, activation=act, symmetry=sym)
                lin = linear_by_construction(cfg)[0]
                frac = float(nonlinear_fraction(EnsembleMLP([cfg] * n_seeds, list(range(n_seeds)),
                                                            dtype=torch.float64)).max())
                rows.append({"activation": act, "symmetry": sym, "depth": d, "linear (algebra)": lin,
                             "max nonlinear fraction": frac, "agrees": lin == (frac < LINEAR_FRACTION)})
    return pd.DataFrame(rows)
