r"""Chapter 5 (cumulant propagation inside lattice GNNs): the networks it opens, the layer-by-layer
comparison, the order budget of every stage, where truncations first fail, and the verdict on claim C4
with its pass marks as named constants.

Notation as in :mod:`rgsym.propagation.gnn`: points ``h0, z1, h1, ..., out`` of the forward pass,
:math:`z = (\text{pred} - \text{meas})/\text{se}` per node feature and order, and
:math:`S_n = \langle|\gamma_n|\rangle` the size of order :math:`n` at a point (standardised cumulants).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..clt import LAWS, get_law
from ..config import PROFILES
from ..propagation.gnn import (MAX_CLOSURE_DIM, PREDICTORS, _check_member, closure_node_cumulants, compare,
                               default_sites, measure_node_cumulants, predict_node_cumulants, standardised)
from ..resources import check_memory
from ..validation import as_int, as_tuple, check_choice

TRAIN_LAW = "gaussian"
"""The law the opened GNNs were trained on."""
PICKS = {
    "quadratic, shared, block": ("quadratic", "shared", "block"),
    "quadratic, broken, block+nn": ("quadratic", "broken", "block+nn"),
    "tanh, shared, block+nn": ("tanh", "shared", "block+nn"),
    "tanh, broken, block": ("tanh", "broken", "block"),
    "identity, broken, block+nn": ("identity", "broken", "block+nn"),
}
"""The GNNs of Chapter 4 the chapter opens: name -> (activation, symmetry, edges)."""
LINEAR = "identity, broken, block+nn"
"""The linear GNN whose propagation must be exact."""
NODES, N_BATCHES = 8, 32
"""Gauss-rule nodes per site of ``"quadrature"``; batches of the measured standard errors."""
FACTOR = 2.0
"""A stage creates (removes) an order when its size grows (shrinks) by more than this factor."""
Z_FAIL = 3.0
"""A prediction fails at a point when the rms z-score over its features exceeds this."""
RMS_Z_PASS = 2.0
"""Prediction and measurement agree when the rms z-score over all comparisons is below this."""
Z_WITHIN = 3.0
"""A single comparison lies 'within three standard errors'."""
READOUT_REMOVE_SHARE = 0.5
"""The readout must remove orders 3-4 in more than this share of its stages."""
N_MC = {"smoke": 2**15, "paper": 2**16}
N_MC_MIN = 2**10
LAWS_BY_PROFILE = {"smoke": ("gaussian", "bimodal", "exponential"),
                   "paper": ("gaussian", "uniform", "rademacher", "bimodal", "laplace", "exponential")}
"""Default Monte Carlo lattices per network and law, and default laws (training law first)."""


def chapter5_settings(profile: str, n_mc=None, laws=None) -> tuple:
    """``(n_mc, laws)`` of Chapter 5, validated, with the profile's defaults filled in."""
    check_choice("profile", profile, PROFILES)
    n_mc = N_MC[profile] if n_mc is None else as_int("n_mc", n_mc, N_MC_MIN)
    laws = LAWS_BY_PROFILE[profile] if laws is None else as_tuple("laws", laws)
    for law in laws:
        check_choice("base law", law, LAWS)
    from .ch4_gnns import chapter4_specs

    main = chapter4_specs(profile)[0]
    depth, width = main.sizes[-1]
    # 2b sites: the largest lattice propagation.gnn.default_sites opens without a context (block+nn), so the
    # estimate bounds every network of PICKS before any of them is loaded
    check_memory(mc_bytes(n_mc, depth, width, 2 * main.b), f"Chapter 5's Monte Carlo reference (n_mc={n_mc})",
                 "lower n_mc")
    return n_mc, laws


def mc_bytes(n_mc: int, depth: int, width: int, n_sites: int) -> float:
    r"""Peak bytes of :func:`rgsym.propagation.gnn_reference.sample_node_kstats` for ``n_mc`` lattices of
    ``n_sites`` sites through a GNN of ``depth`` x ``width``: every point's features
    (:math:`N(1 + 2DH) + N/b` values per lattice) in float64, held twice (chunks, then joined)."""
    return 2.0 * 8 * n_mc * n_sites * (2 + 2 * depth * width)


N_SEEDS = 3
"""Seeds of every network of :data:`PICKS` examined (Chapter 4's seeds, plus extra ones trained here)."""


def seed_networks(main_spec, *, device=None, seeds: int = N_SEEDS, **run_kw) -> dict:
    """``{(name, seed): GNN}`` for every network of :data:`PICKS` at seeds ``0..seeds-1`` (float64, no context):
    Chapter 4's main sweep where it has the activation and the seed, else a one-configuration sweep of the same settings
    (:func:`rgsym.learn.gnn_sweep.run_gnn_sweep`, cached)."""
    from ..learn.gnn_sweep import run_gnn_sweep
    from ..learn.sweep import member_ids

    seeds = as_int("seeds", seeds, 1, 10)
    depth, width = main_spec.sizes[-1]
    out = {}
    def in_main(a, s):  # Chapter 4's main sweep holds this activation and seed
        return a in main_spec.activations and s in main_spec.seeds

    ids = {(name, s): member_ids(main_spec, activation=a, symmetry=sy, edges=e, task=TRAIN_LAW, seed=s,
                                 size=(depth, width))[0]
           for name, (a, sy, e) in PICKS.items() for s in range(seeds) if in_main(a, s)}
    if ids:
        res = run_gnn_sweep(main_spec, device=device, only=ids.values(), **run_kw)
        out.update({k: res.model([i]).double() for k, i in ids.items()})
    for name, (a, sy, e) in PICKS.items():
        missing = tuple(s for s in range(seeds) if not in_main(a, s))
        if missing:
            spec = main_spec.replace(symmetries=(sy,), edges=(e,), activations=(a,), sizes=((depth, width),),
                                     tasks=(TRAIN_LAW,), seeds=missing)
            res = run_gnn_sweep(spec, device=device, **run_kw)
            for i, s in enumerate(missing):
                out[(name, s)] = res.model([i]).double()
    for m in out.values():
        m.context = None
    return dict(sorted(out.items(), key=lambda kv: (list(PICKS).index(kv[0][0]), kv[0][1])))


def drop_exact_mean(t: pd.DataFrame) -> pd.DataFrame:
    """Leave out the input sites' mean (exactly zero: nothing to test)."""
    return t[~((t.point == "h0") & (t.order == 1))]


def rms(z) -> float:
    """Root-mean-square of z-scores."""
    return float(np.sqrt(np.mean(z ** 2)))


VERDICTS = ("creates", "removes", "keeps")


def order_budget(table: pd.DataFrame, *, value: str = "value", factor: float = 2.0, floor: float = 1e-3) -> pd.DataFrame:
    r"""Which orders each stage of the forward pass creates and which it removes.

    For every order :math:`n\ne2` the size of the order at a point is :math:`S_n=\langle|\gamma_n|\rangle`, the
    mean over the point's features of the standardised cumulant of :func:`standardised`. A stage
    (message passing ``h<k-1> -> z<k>``, activation ``z<k> -> h<k>``, readout ``h<D> -> out``)
    *creates* order :math:`n` when :math:`S_n` grows by more than ``factor`` (or from below ``floor``
    to above it), *removes* it when :math:`S_n` shrinks by more than ``factor`` (or falls below
    ``floor``), and *keeps* it otherwise. Returns one row per member, stage and order with
    ``before``, ``after``, ``ratio`` and ``verdict``.
    """
    if factor <= 1:
        raise ValueError(f"factor must be > 1, got {factor!r}")
    st = standardised(table, value)
    st = st[st["order"] != 2]
    size = st.assign(a=st["std"].abs()).groupby(["member", "step", "point", "order"], sort=True)["a"].mean().reset_index()
    rows = []
    for (member, order), grp in size.groupby(["member", "order"], sort=True):
        grp = grp.sort_values("step")
        pts, vals = grp["point"].tolist(), grp["a"].tolist()
        for (p0, v0), (p1, v1) in zip(zip(pts, vals), zip(pts[1:], vals[1:])):
            kind = "activation" if p1.startswith("h") else ("readout" if p1 == "out" else "message passing")
            small0, small1 = v0 < floor, v1 < floor
            if small0 and small1:
                verdict = "keeps"
            elif small0:
                verdict = "creates"
            elif small1:
                verdict = "removes"
            elif v1 > factor * v0:
                verdict = "creates"
            elif v1 < v0 / factor:
                verdict = "removes"
            else:
                verdict = "keeps"
            rows.append((member, f"{p0}->{p1}", kind, order, v0, v1, v1 / v0 if v0 > 0 else np.inf, verdict))
    return pd.DataFrame(rows, columns=["member", "stage", "kind", "order", "before", "after", "ratio", "verdict"])


def main_predictor(model, member: int = 0) -> str:
    """``'exact'`` for a polynomial activation, ``'quadrature'`` otherwise."""
    return "exact" if model.configs[_check_member(model, member)].act.poly_coeffs is not None else "quadrature"


def layerwise_comparison(model, laws: Sequence[str], *, member: int = 0, order: int = 4, n_samples: int = 2**16,
                         seed: int = 0, predictors: Sequence[str] | None = None, nodes: int = 8,
                         se: str = "batches", n_batches: int = 32) -> pd.DataFrame:
    r"""Predicted against measured node-feature cumulants of one GNN member, for every law of ``laws``
    and every predictor: the main one (:func:`main_predictor`), the Gaussian truncation, and the
    order-4 tensor closure where it applies (polynomial activation, plain network, few features).
    ``nodes``: Gauss-rule nodes per site of ``"quadrature"``; ``se``/``n_batches``: the standard errors
    of :func:`measure_node_cumulants`.

    Returns the rows of :func:`compare` with the columns ``law`` and ``predictor`` added.
    """
    member = _check_member(model, member)
    cfg = model.configs[member]
    if predictors is None:
        predictors = [main_predictor(model, member), "gaussian"]
        n_feat = default_sites(model) * model.width
        if cfg.act.poly_coeffs is not None and not cfg.antisymmetrised and n_feat <= MAX_CLOSURE_DIM:
            predictors.append("closure")
    for p in predictors:
        check_choice("predictor", p, PREDICTORS)
    out = []
    for law in laws:
        meas = measure_node_cumulants(model, law, member=member, order=order, n_samples=n_samples, seed=seed, se=se,
                                      n_batches=n_batches)
        for p in predictors:
            if p == "closure":
                pred = closure_node_cumulants(model, law, member=member, order=order)
            else:
                kw = {"nodes": nodes} if p == "quadrature" else {}
                pred = predict_node_cumulants(model, law, member=member, order=order, method=p, **kw)
            out.append(compare(pred, meas).assign(law=get_law(law).name, predictor=p))
    return pd.concat(out, ignore_index=True)


def first_failures(table: pd.DataFrame, *, threshold: float = 3.0,
                   by: Sequence[str] = ("law", "predictor", "order")) -> pd.DataFrame:
    r"""Where a prediction first fails along the forward pass: for every group (``by``) the first point
    (in forward order) whose root-mean-square z-score over its features exceeds ``threshold``, with that
    score; ``point`` is '' where the prediction holds everywhere."""
    rows = []
    keys = list(by)
    for key, grp in table.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        per = grp.groupby(["step", "point"], sort=True)["z"].apply(lambda z: float(np.sqrt(np.nanmean(np.square(z)))))
        bad = per[per > threshold]
        if len(bad):
            (step, point), val = bad.index[0], float(bad.iloc[0])
        else:
            step, point, val = -1, "", float(per.max()) if len(per) else float("nan")
        rows.append((*key, point, step, val))
    return pd.DataFrame(rows, columns=[*keys, "point", "step", "rms_z"])


# ------------------------------------------------------------------------------------------------
# what the chapter reports (keys are the chapter's glue names) and the verdict on C4
# ------------------------------------------------------------------------------------------------
def heavy_laws(laws) -> list:
    """The laws with positive excess kurtosis (heavy tails)."""
    return [l for l in laws if float(get_law(l).cumulants(4)[3]) > 0]


def main_rows(full: pd.DataFrame, nets: dict) -> pd.DataFrame:
    """The rows of ``full`` (column ``network``) predicted by each network's :func:`main_predictor`."""
    return full[[p == main_predictor(nets[n]) for p, n in zip(full.predictor, full.network)]]


def _main_pred(tabs: dict, nets: dict, name: str, law: str) -> pd.DataFrame:
    t = tabs[name]
    return t[(t.predictor == main_predictor(nets[name])) & (t.law == law)].rename(columns={"pred": "value"})


def budget_laws(laws) -> tuple:
    """The two laws of the order budget: the training law and an unseen heavy-tailed one."""
    return (TRAIN_LAW, "exponential" if "exponential" in laws else laws[-1])


def budget_table(tabs: dict, nets: dict, names, laws) -> pd.DataFrame:
    """:func:`order_budget` (factor :data:`FACTOR`) of the main predictions of every network in ``names``
    on :func:`budget_laws`, with columns ``network`` and ``law``."""
    rows = [order_budget(_main_pred(tabs, nets, name, law), factor=FACTOR).assign(network=name, law=law)
            for name in names for law in budget_laws(laws)]
    return pd.concat(rows, ignore_index=True)


def order_sizes(tabs: dict, nets: dict, names, laws) -> pd.DataFrame:
    """:math:`S_n` per network, law, order and point (orders other than 2) for the plot of the budget."""
    sizes = pd.concat([standardised(_main_pred(tabs, nets, n, law)).assign(network=n, law=law)
                       for n in names for law in budget_laws(laws)], ignore_index=True)
    sizes = sizes[sizes.order != 2].assign(a=lambda d: d["std"].abs())
    return sizes.groupby(["network", "law", "order", "step", "point"])["a"].mean().reset_index()


def budget_summary(budget: pd.DataFrame) -> tuple:
    """``(verdict counts, glue values)`` of an order budget: how often each kind of stage creates, removes or
    keeps orders 3-4 (the criterion on them is :func:`rgsym.chapters.ch5_scaling.division_holds`)."""
    count = budget.groupby(["kind", "order", "verdict"]).size().unstack("verdict", fill_value=0)
    for v in VERDICTS:
        if v not in count.columns:
            count[v] = 0
    act3 = budget[(budget.kind == "activation") & (budget.order.isin([3, 4]))]
    mp3 = budget[(budget.kind == "message passing") & (budget.order.isin([3, 4]))]
    ro = budget[(budget.kind == "readout") & (budget.order.isin([3, 4]))]
    return count[list(VERDICTS)], {
        "act_create": int((act3.verdict == "creates").sum()), "act_n": len(act3),
        "act_remove": int((act3.verdict == "removes").sum()),
        "mp_remove": int((mp3.verdict == "removes").sum()), "mp_create": int((mp3.verdict == "creates").sum()),
        "mp_keep": int((mp3.verdict == "keeps").sum()),
        "mp_n": len(mp3), "ro_remove": int((ro.verdict == "removes").sum()), "ro_n": len(ro),
        "mp_ratio": float(np.exp(np.log(mp3.ratio.replace(np.inf, np.nan)).median())),
        "act_ratio": float(np.exp(np.log(act3.ratio.replace(np.inf, np.nan)).median()))}


def failure_summary(full: pd.DataFrame, heavy: list) -> tuple:
    """``(first failures of the truncations, glue values)`` on the light-tailed laws (threshold :data:`Z_FAIL`)."""
    ff = first_failures(full[~full.law.isin(heavy)], threshold=Z_FAIL, by=("network", "law", "predictor", "order"))
    trunc = ff[ff.predictor.isin(["gaussian", "closure"])]
    g = trunc[trunc.predictor == "gaussian"]
    c = trunc[trunc.predictor == "closure"]
    first_pts = c[c.point != ""].point.value_counts()
    mainff = ff[~ff.predictor.isin(["gaussian", "closure"])]
    return trunc, {
        "gauss_fail_34": int(((g.order >= 3) & (g.point != "")).sum()), "gauss_n_34": int((g.order >= 3).sum()),
        "gauss_fail_12": int(((g.order <= 2) & (g.point != "")).sum()), "gauss_n_12": int((g.order <= 2).sum()),
        "closure_fail": int((c.point != "").sum()), "closure_n": len(c),
        "closure_fail_12": int(((c.order <= 2) & (c.point != "")).sum()),
        "closure_where": first_pts.index[0] if len(first_pts) else "nowhere",
        "main_fail": int((mainff.point != "").sum()), "main_ff_n": len(mainff)}
