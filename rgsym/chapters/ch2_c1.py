r"""Chapter 2's pre-registered verdict on claim C1: trained MLPs perform the RG step.

**The test** (:func:`verdict_c1`), fixed before the numbers. For every nonlinear activation and training
law, take the free networks of the largest size of the constraint map (:mod:`rgsym.chapters.ch2_constraint`;
the most expressive learner, fixed in advance rather than picked as the best), and their in-distribution
error G1 over seeds. The case **holds** when the upper end of the 90 % seed-bootstrap interval of the
median G1 is below ``C1_G1``. The **control** is the same networks untrained, at their initial weights,
scored on the same samples: where the control's median is not above ``C1_G1`` the threshold certifies
nothing, and the case fails. C1 is supported when every case holds. The margin is
:math:`\log_{10}` of ``C1_G1`` over the largest upper end (decades; positive passes).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from ..clt.blockmap import block_map
from ..learn.measures import eval_samples
from ..learn.sweep import SweepResult
from ..nets.ensemble import rg_step
from ..nets.mlp import EnsembleMLP
from ..verdicts import Verdict, decide
from .ch2_constraint import map_table, size_order

C1_G1 = 1e-2
"""A case holds when the 90 % upper bound of the seed-median G1 is below this relative error."""
N_BOOT = 2000
"""Seed-bootstrap resamples."""

C1_STATEMENT = "MLPs can be trained to perform the real-space RG step (the CLT block map), for every activation."
C1_TEST = ("Per nonlinear activation and training law, the free networks of the largest size: the 90 % seed-bootstrap "
           "upper bound of their median G1 is below C1_G1, while the same networks untrained have a median G1 above "
           "C1_G1. Supported when every case holds.")


@torch.no_grad()
def initial_g1(result: SweepResult, member_ids) -> np.ndarray:
    """G1 of the given members of a sweep at their *initial* weights (untrained, same seeds), on the
    evaluation samples of the trained networks: ``(len(member_ids),)``."""
    spec = result.spec
    members = spec.members()
    c = spec.measures
    out = []
    for mid in member_ids:
        m = members[int(mid)]
        net = EnsembleMLP([m.config], [m.seed], dtype=spec.train.torch_dtype)
        x = eval_samples(m.task, (c.n_eval, spec.b), c.eval_seed, spec.train.torch_dtype)
        pred = rg_step(net, x.unsqueeze(0)).double()
        exact = block_map(x, spec.b).double()
        out.append(float(((pred[0] - exact) ** 2).mean() / (exact ** 2).mean()))
    return np.array(out)


def c1_cases(result: SweepResult, *, n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    """One row per (activation, training law): ``size``, ``median`` G1 of the trained free networks of
    the largest size, its 90 % seed-bootstrap interval ``lo``/``hi``, ``control`` (median G1 of the same
    networks untrained), ``n`` (networks scored) and ``n_excluded`` (diverged or non-finite)."""
    t = map_table(result, "G1")
    largest = size_order(result.spec)[-1]
    t = t[(t.facet == "free") & (t.level == 0) & (t["size"] == largest)]
    rng = np.random.default_rng(seed)
    rows = []
    for (act, task), d in t.groupby(["activation", "task"]):
        ok = d[~d.excluded]
        v = ok.value.to_numpy(dtype=float)
        boots = np.median(v[rng.integers(0, len(v), (n_boot, len(v)))], 1) if len(v) else np.array([math.nan])
        lo, hi = np.quantile(boots, [0.05, 0.95])
        ctrl = float(np.median(initial_g1(result, d.member_id)))
        rows.append({"activation": act, "task": task, "size": largest, "median": float(np.median(v)) if len(v)
                     else math.nan, "lo": float(lo), "hi": float(hi), "control": ctrl, "n": len(v),
                     "n_excluded": int(d.excluded.sum())})
    return pd.DataFrame(rows)


def verdict_c1(result: SweepResult, *, n_boot: int = N_BOOT, seed: int = 0) -> Verdict:
    """The verdict on C1 (module docstring), with ``C1_G1`` halved and doubled; the interval is the range,
    over cases, of the upper bounds (the deciding quantities)."""
    cases = c1_cases(result, n_boot=n_boot, seed=seed)

    def test(C1_G1):
        ok = (cases.hi < C1_G1) & (cases.control > C1_G1)
        worst = float(cases.hi.max())
        return bool(ok.all() and len(cases)), float(math.log10(C1_G1 / worst)) if worst > 0 else math.inf

    n_ok = int(((cases.hi < C1_G1) & (cases.control > C1_G1)).sum())
    notes = (f"{n_ok} of {len(cases)} cases hold; control (untrained) median G1 from {cases.control.min():.2g} to "
             f"{cases.control.max():.2g}; interval: the smallest and largest 90 % upper bound over the cases")
    return decide("C1", C1_STATEMENT, C1_TEST, "G1 of the largest free MLPs, median over seeds", test,
                  {"C1_G1": C1_G1}, interval=(float(cases.hi.min()), float(cases.hi.max())), figure="",
                  notes=notes)
