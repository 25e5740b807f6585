r"""Claim C3 on the trained networks of Chapter 2: the tied-hidden networks' error floor, their cumulant
drift, and the verdict, with its pass marks as named constants.

Per trained network (:func:`tied_table`): the measured :math:`G_1` of Chapter 2, the weight norm
:math:`\|\theta\|`, the predicted drift :math:`|\Delta\kappa_n(L)| = |\kappa_n^{\rm pred}(L) - b^{L(1-n/2)}\kappa_n|`
(:func:`rgsym.chapters.ch3_tables.flow_table`) and the end point :math:`\kappa_4(L)`; for the one-layer
tied-hidden quadratic networks also the floor of :mod:`rgsym.propagation.floors` (eqs. 3.12-3.14) and the
exact :math:`G_1` (Gauss rule, exact for the polynomial). The test (:func:`c3_verdict`) compares every
tied-hidden network with the free network of the same size, task and seed.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..clt import get_law
from ..propagation.floors import exact_g1, g1_floor, kappa3_floor, norm_floor, tied_parameters, v_min, weight_norm
from ..propagation.networks import as_networks
from ..verdicts import bootstrap, decide

FAIL_FACTOR = 10.0
"""A constrained net *fails* when its G1 is, in the median over (size, task, seed), this many times the free net's."""
DRIFT_FACTOR = 2.0
"""The even part *drifts* the flow when the median tied/free ratio of :math:`|\\Delta\\kappa_3(L)|` is at least this."""
FLOOR_GAP = 3.0
"""Trained one-layer tied quadratic nets sit *at their floor* when the median exact G1 / floor is at most this."""
NUM_FLOOR = 1e-9
"""Drifts below this (the closure's numerical floor) are ties: both sides are set to it."""
FLOW_BLOWUP = 1e3
r"""A predicted flow whose :math:`|\Delta\kappa_3(L)|` exceeds this has blown up (deep free quadratic nets
reach 1e150): its cumulants no longer describe a distribution near the Gaussian line, so such a pair is left
out of the drift comparison, counted in the verdict's notes, and never compared."""
FLOOR_RTOL = 1e-9
"""The floor holds for a net when its exact G1 >= floor x (1 - FLOOR_RTOL) (float64 rounding)."""
CONTROL = "identity"
"""The control activation: tied-hidden identity nets represent the map, so the failure test must not pass for them."""
N_BOOT = 2000


def strict_min(values) -> float:
    r"""The smallest of the parts' margins, NaN when there is none or any part is NaN (a part that cannot be
    evaluated fails its verdict; Python's ``min`` would drop a NaN depending on where it stands)."""
    v = np.asarray(list(values), dtype=float)
    if v.size == 0 or np.isnan(v).any():
        return float("nan")
    return float(v.min())


def member_norms(model) -> np.ndarray:
    r""":math:`\|\theta\|` of every member from the model's own effective layers (``model.layers()``, before the
    rewriting of antisymmetrised members as a network of twice the width), ``(E,)``."""
    with torch.no_grad():
        return weight_norm([(W.detach(), c.detach()) for W, c in model.layers()]).numpy()


def tied_table(res, flow_tab, *, alpha: float):
    """One row per valid member: identity columns, ``G1`` (Chapter 2), ``norm``, the predicted drifts
    ``dk3``, ``dk4`` and end point ``k4_L`` at the last level, and for one-layer tied-hidden quadratic nets
    ``r``, ``G1_exact``, ``floor`` (own parameters, eq. 3.12, ``eq-c3-floor``), ``floor_norm`` (eq. 3.13,
    ``eq-c3-normfloor``) and, on Gaussian tasks, ``k3_one`` (exact one-step skewness) with its floor
    ``k3_floor`` (eq. 3.14, ``eq-c3-k3floor``)."""
    import pandas as pd

    from ..propagation.ensembles import predict_cumulants

    b = int(res.spec.b)
    mem = res.members[~res.members["diverged"].astype(bool)].copy().reset_index(drop=True)
    g1 = res.table[res.table["measure"] == "G1"].set_index("member_id")["value"]
    mem["G1"] = mem["member_id"].map(g1)
    L = int(flow_tab["level"].max())
    fl = flow_tab[flow_tab["level"] == L]
    for n, col in ((3, "dk3"), (4, "dk4")):
        mem[col] = mem["member_id"].map(fl[fl["order"] == n].set_index("member_id")["predicted_dev"])
    mem["k4_L"] = mem["member_id"].map(fl[fl["order"] == 4].set_index("member_id")["predicted"])
    for col in ("norm", "r", "G1_exact", "floor", "floor_norm", "k3_one", "k3_floor"):
        mem[col] = np.nan
    idx = pd.Index(mem["member_id"])
    for _, g in mem.groupby(["depth", "width"]):
        ids = g["member_id"].tolist()
        mem.iloc[idx.get_indexer(ids), mem.columns.get_loc("norm")] = member_norms(res.model(ids))
        sel = g[(g["symmetry"] == "tied-hidden") & (g["activation"] == "quadratic") & (g["depth"] == 1)]
        if not len(sel):
            continue
        sub = res.model(sel["member_id"].tolist())
        (_, net), = as_networks(sub)
        p = tied_parameters(net.layers, alpha)
        tasks = sel["task"].tolist()
        rows = idx.get_indexer(sel["member_id"])
        vm = np.array([v_min(get_law(t).cumulant(4), b) for t in tasks])
        mem.iloc[rows, mem.columns.get_loc("r")] = p["r"].numpy()
        mem.iloc[rows, mem.columns.get_loc("floor")] = [g1_floor(r, v)[()] for r, v in zip(p["r"].numpy(), vm)]
        mem.iloc[rows, mem.columns.get_loc("floor_norm")] = [norm_floor(n, p["H"], alpha, v)[()]
                                                               for n, v in zip(p["norm"].numpy(), vm)]
        for t in sorted(set(tasks)):
            j = [k for k, tt in enumerate(tasks) if tt == t]
            lay = [(W[j], c[j]) for W, c in net.layers]
            mem.iloc[rows[j], mem.columns.get_loc("G1_exact")] = exact_g1(lay, net.activation, t, b)
            if t == "gaussian":
                k3 = predict_cumulants(sub.select(j), "gaussian", 3).kappa[:, 2].numpy()
                mem.iloc[rows[j], mem.columns.get_loc("k3_one")] = k3
        gm = (mem.iloc[rows]["task"] == "gaussian").to_numpy()
        kf = kappa3_floor(p["r"].numpy(), mem.iloc[rows]["G1_exact"].to_numpy())
        mem.iloc[rows[gm], mem.columns.get_loc("k3_floor")] = kf[gm]
    return mem


def floor_summary(tab) -> dict:
    """The floor's agreement with the trained one-layer tied quadratic nets: how many, how many respect it
    (exact G1 >= floor within :data:`FLOOR_RTOL`), the median and range of log10(G1_exact / floor) and of the
    measured G1 / exact G1, and the one-step skewness against its floor."""
    t = tab[np.isfinite(tab["floor"])]
    if not len(t):
        return {"n_floor": 0, "floor_ok": True, "n_floor_ok": 0, "gap_med": float("nan"), "gap_max": float("nan"),
                "mc_ratio_med": float("nan"), "k3_ok": True, "n_k3": 0}
    ok = t["G1_exact"] >= t["floor"] * (1 - FLOOR_RTOL)
    gap = np.log10(t["G1_exact"] / t["floor"])
    k = t[np.isfinite(t["k3_floor"])]
    k3_ok = bool((k["k3_one"].abs() >= k["k3_floor"] * (1 - FLOOR_RTOL)).all())
    return {"n_floor": int(len(t)), "floor_ok": bool(ok.all()), "n_floor_ok": int(ok.sum()),
            "gap_med": float(gap.median()), "gap_max": float(gap.max()),
            "mc_ratio_med": float((t["G1"] / t["G1_exact"]).median()), "k3_ok": k3_ok, "n_k3": int(len(k))}


def drift_table(tab):
    """Median drifts ``dk3``, ``dk4``, end point ``k4_L`` and ``G1`` per activation and symmetry, over the
    networks whose predicted flow did not blow up (:data:`FLOW_BLOWUP`); ``n_blown_up`` counts the others."""
    ok = tab["dk3"].abs() <= FLOW_BLOWUP
    med = tab[ok].groupby(["activation", "symmetry"])[["G1", "dk3", "dk4", "k4_L"]].median()
    med["n_blown_up"] = (~ok).groupby([tab["activation"], tab["symmetry"]]).sum().reindex(med.index).fillna(0).astype(int)
    return med


def _pairs(tab, activation) -> dict:
    """Tied-hidden and free nets of one activation matched on (size, task, seed): ``{key: (log10 G1 ratio,
    log10 drift ratio, log10 exact G1 / floor or NaN)}``."""
    key = ["size", "task", "seed"]
    t = tab[tab["activation"] == activation]
    tied = t[t["symmetry"] == "tied-hidden"].set_index(key)
    free = t[t["symmetry"] == "free"].set_index(key)
    out = {}
    for k in tied.index.intersection(free.index):
        a, f = tied.loc[k], free.loc[k]
        finite = np.isfinite(a["dk3"]) and np.isfinite(f["dk3"]) and max(a["dk3"], f["dk3"]) <= FLOW_BLOWUP
        d = math.log10(max(a["dk3"], NUM_FLOOR) / max(f["dk3"], NUM_FLOOR)) if finite else float("nan")
        fl = math.log10(a["G1_exact"] / a["floor"]) if np.isfinite(a["floor"]) and a["floor"] > 0 else float("nan")
        out[k] = (math.log10(a["G1"] / f["G1"]), d, fl)
    return out


def _criteria(rows, activation, FAIL_FACTOR, DRIFT_FACTOR, FLOOR_GAP):
    r"""``(holds, margin in decades)`` of one activation on matched pairs ``rows`` (a list of
    :func:`_pairs` values; module docstring)."""
    if not rows:
        return False, float("nan")
    x = np.asarray(rows, dtype=float)

    def med(col):  # a column with no finite value (e.g. every flow blew up) gives NaN: the part fails
        v = col[np.isfinite(col)]
        return float(np.median(v)) if v.size else float("nan")

    parts = [med(x[:, 0]) - math.log10(FAIL_FACTOR), med(x[:, 1]) - math.log10(DRIFT_FACTOR)]
    if activation == "quadratic" and np.isfinite(x[:, 2]).any():
        parts.append(math.log10(FLOOR_GAP) - med(x[:, 2]))
    m = strict_min(parts)
    return bool(m >= 0), m


def c3_verdict(tab, preconditions: dict, *, seed: int = 0):
    r"""Claim C3 on trained networks: ``(overall Verdict, {activation: Verdict})``.

    For each non-control activation, on tied-hidden/free pairs matched on (size, task, seed): the tied nets
    fail (median G1 ratio >= :data:`FAIL_FACTOR`), drift in :math:`\kappa_3` (median ratio >=
    :data:`DRIFT_FACTOR`), and for the quadratic activation sit at their floor (median exact G1 / floor <=
    :data:`FLOOR_GAP`); the margin is the smallest of these, in decades. Overall: every activation holds,
    the control (:data:`CONTROL`) does not pass the failure test, and every precondition holds. Interval:
    :func:`rgsym.verdicts.bootstrap` of the overall margin over the (size, task, seed) keys."""
    acts = [a for a in sorted(tab["activation"].unique()) if a != CONTROL]
    pairs = {a: _pairs(tab, a) for a in acts + ([CONTROL] if CONTROL in set(tab["activation"]) else [])}
    pre_ok = all(bool(v) for v in preconditions.values())
    keys = sorted(set().union(*[set(p) for p in pairs.values()]))

    def margins(units, FAIL_FACTOR, DRIFT_FACTOR, FLOOR_GAP):
        ms = [_criteria([pairs[a][k] for k in units if k in pairs[a]], a, FAIL_FACTOR, DRIFT_FACTOR, FLOOR_GAP)[1]
              for a in acts]
        ctrl = [pairs[CONTROL][k][0] for k in units if CONTROL in pairs and k in pairs[CONTROL]]
        if ctrl:
            ms.append(math.log10(FAIL_FACTOR) - float(np.median(ctrl)))
        return ms

    def overall(FAIL_FACTOR, DRIFT_FACTOR, FLOOR_GAP):
        ms = margins(keys, FAIL_FACTOR, DRIFT_FACTOR, FLOOR_GAP)
        m = strict_min(ms)
        return bool(pre_ok and np.isfinite(m) and m >= 0), m

    th = {"FAIL_FACTOR": FAIL_FACTOR, "DRIFT_FACTOR": DRIFT_FACTOR, "FLOOR_GAP": FLOOR_GAP}
    iv = bootstrap(keys, lambda u: strict_min(margins(u, **th)), n_boot=N_BOOT, seed=seed) if keys else None
    test = ("for every activation but the control, the tied-hidden nets' median G1 over (size, task, seed) is "
            "at least FAIL_FACTOR times the free nets', their median |Delta kappa_3(L)| at least DRIFT_FACTOR "
            "times (drifts below NUM_FLOOR tie), and for the quadratic one-layer nets the median exact G1 is "
            "within FLOOR_GAP of the floor their own weights force; the identity control must not pass the "
            "G1 test; the tool checks are preconditions")
    blown = {a: sum(1 for r in pairs[a].values() if not np.isfinite(r[1])) for a in acts}
    notes = ("preconditions: " + ", ".join(f"{k} {'holds' if v else 'FAILS'}" for k, v in preconditions.items())
             + "; pairs left out of the drift comparison (a blown-up or undefined flow): "
             + ", ".join(f"{a} {n}" for a, n in blown.items()))
    v = decide("C3", "trained constrained (tied-hidden) MLPs fail in the way the cumulant algebra predicts",
               test, "smallest log10 margin of the G1 ratio, the drift ratio and the floor gap (decades)",
               overall, th, interval=iv, figure="fig-c3-floor", notes=notes)
    pieces = {}
    for a in acts:
        rows = pairs[a]
        f = (lambda rows, a: lambda FAIL_FACTOR, DRIFT_FACTOR, FLOOR_GAP: _criteria(
            list(rows.values()), a, FAIL_FACTOR, DRIFT_FACTOR, FLOOR_GAP))(rows, a)
        ivs = bootstrap(list(rows.values()), lambda u, a=a: _criteria(u, a, **th)[1], n_boot=N_BOOT,
                        seed=seed) if rows else None
        pieces[a] = decide(f"C3:{a}", f"trained tied-hidden {a} MLPs fail as the algebra predicts", test,
                           "smallest log10 margin (decades)", f, th, interval=ivs, figure="fig-c3-floor")
    return v, pieces
