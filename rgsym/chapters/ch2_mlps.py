r"""Chapter 2 (MLPs learning the RG step): its survey grid and its checks.

* :func:`chapter2_spec`, :func:`resolve_workers` -- the sweep of each profile and how to run it;
* :func:`representation_table`, :func:`tied_bias_check` -- what each architecture can represent
  exactly (:func:`rgsym.nets.exact.exact_layers`) and the closed form
  :math:`2\alpha^2/(1+2\alpha c)^2` of the tied quadratic network's error;
* :func:`cell_stats` -- medians and quartiles over seeds of the survey's cells;
* :func:`headline_numbers` -- the C1 numbers the chapter's prose quotes.

The test of claim C2 runs on the constraint map of :mod:`rgsym.chapters.ch2_constraint`.

Thresholds are the named constants below.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import torch

from ..clt.blockmap import block_map
from ..config import PROFILES
from ..learn.measures import MeasureConfig
from ..learn.mlp_sweep import SweepSpec
from ..learn.sweep import SweepResult, resolve_workers  # noqa: F401 (resolve_workers: the chapter's glue)
from ..learn.training import TrainConfig
from ..nets.exact import exact_layers, from_layers, tied_bias_layers
from ..nets.mlp import SYMMETRIES, MLPConfig
from ..validation import as_optional_int, check_choice

TIED_MC_RTOL = 0.05
"""Relative tolerance of the Monte Carlo check of the tied quadratic network's closed-form error."""
C1_G1 = 1e-2
"""A network "learns the step" (claim C1) when its in-distribution error G1 is below this."""
REPRESENTATION_ACTIVATIONS = ("identity", "relu", "silu", "quadratic", "tanh")
"""Activations of the exact-representation table."""
TIED_BIASES = (0.0, 1.0, 3.0, 10.0, 30.0)
"""Hidden biases :math:`c` of the tied quadratic check."""


# -- the grid ------------------------------------------------------------------------------------
def chapter2_spec(profile: str, *, steps: int | None = None, n_seeds: int | None = None,
                  **overrides) -> SweepSpec:
    """The sweep of Chapter 2 for a profile (``'smoke'`` or ``'paper'``).

    ``steps`` and ``n_seeds`` (``None``: the profile's) override the Adam steps and the number of seeds;
    other keyword arguments override fields of the :class:`SweepSpec`. The spec takes no device: the
    chunks, hence the cache keys, are the same on every device, so that Chapters 3 and 4 load exactly
    the networks Chapter 2 trained, wherever each ran.
    """
    check_choice("profile", profile, PROFILES)
    as_optional_int("steps", steps, lo=1)
    as_optional_int("n_seeds", n_seeds, lo=1)
    if profile == "paper":
        spec = SweepSpec(
            symmetries=("free", "perm-in", "tied-hidden", "odd", "perm-in+odd"),
            activations=("identity", "quadratic", "tanh", "relu", "silu"),
            sizes=((1, 2), (2, 12), (3, 24)),
            seeds=tuple(range(10)),
            train=TrainConfig(steps=5000, lr=3e-3, batch_size=256, n_train=256),
            measures=MeasureConfig(n_eval=4096, L=6, n_flow=4096),
        )
    else:
        spec = SweepSpec(
            symmetries=("free", "perm-in", "tied-hidden", "odd", "perm-in+odd"),
            activations=("identity", "quadratic", "tanh", "relu", "silu"),
            sizes=((1, 2), (2, 8), (3, 16)),
            seeds=(0, 1),
            train=TrainConfig(steps=500, batch_size=128, n_train=256),
            measures=MeasureConfig(n_eval=1024, L=6, n_flow=512),
        )
    if steps is not None:
        overrides.setdefault("train", replace(spec.train, steps=steps))
    if n_seeds is not None:
        overrides.setdefault("seeds", tuple(range(n_seeds)))
    return spec.replace(**overrides) if overrides else spec


# -- analysis of a sweep's table ---------------------------------------------------------------
NONLINEAR = ("quadratic", "tanh", "relu", "gelu", "silu")
"""The nonlinear activations (the identity network is exact everywhere and says nothing about C2)."""


def cell_stats(result: SweepResult, measure: str, by: Sequence[str] = ("task", "symmetry", "activation"),
               activations: Iterable[str] | None = None) -> pd.DataFrame:
    r"""Median and quartiles of ``measure`` over the seeds (and any dimension not in ``by``), diverged
    members left out and counted.

    Returns one row per group: the ``by`` columns, ``median``, ``q25``, ``q75``, ``log10_spread``
    (:math:`\log_{10}(q_{75}/q_{25})`), ``n`` (members used) and ``n_excluded`` (diverged).
    """
    t = result.table[result.table["measure"] == measure]
    if t.empty:
        known = sorted(result.table.measure.unique())
        raise ValueError(f"no measure {measure!r} in this sweep; available: {known[:12]}...")
    if activations is not None:
        t = t[t["activation"].isin(list(activations))]
    by = list(by)
    good = result.valid(t)
    g = good.groupby(by)["value"]
    out = pd.DataFrame({"median": g.median(), "q25": g.quantile(0.25), "q75": g.quantile(0.75), "n": g.size()})
    excl = t[t["diverged"].astype(bool)].groupby(by).size()
    out["n_excluded"] = excl.reindex(out.index).fillna(0).astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["log10_spread"] = np.log10(out["q75"].to_numpy() / out["q25"].to_numpy())
    return out.reset_index()


# -- what each architecture can represent (before any training) ----------------------------------
def representation_table(spec: SweepSpec, gen: torch.Generator, *, width: int = 4, depth: int = 2) -> pd.DataFrame:
    """``max |f - T_b|`` of the exact construction of every (activation, symmetry) pair (the first five
    symmetries), or "no exact construction", on ``2 * N(0, 1)`` blocks drawn from ``gen``
    (20000 blocks, drawn first): rows activation, columns symmetry."""
    b = spec.b
    s_test = torch.randn(1, 20000, b, generator=gen, dtype=torch.float64) * 2
    exact = block_map(s_test, b)[..., 0]
    rows = []
    for act in REPRESENTATION_ACTIVATIONS:
        for sym in SYMMETRIES[:5]:
            cfg = MLPConfig(b=b, width=width, depth=depth, activation=act, symmetry=sym,
                            alpha=spec.alpha if act == "quadratic" else None)
            layers = exact_layers(cfg)
            if layers is None:
                rows.append((act, sym, "no exact construction"))
                continue
            with torch.no_grad():
                err = float((from_layers(cfg, layers)(s_test) - exact).abs().max())
            rows.append((act, sym, f"max |f - T| = {err:.1e}"))
    return pd.DataFrame(rows, columns=["activation", "symmetry", "exact representation"]).pivot(
        index="activation", columns="symmetry", values="exact representation")


def tied_bias_check(spec: SweepSpec, gen: torch.Generator, c_grid: Sequence[float] = TIED_BIASES, *,
                    width: int = 4) -> pd.DataFrame:
    r"""Relative error of the tied quadratic network of :func:`rgsym.nets.exact.tied_bias_layers` for
    each hidden bias ``c`` (Monte Carlo on 200000 Gaussian blocks drawn from ``gen``) against the closed
    form :math:`2\alpha^2/(1+2\alpha c)^2`."""
    b = spec.b
    tied = MLPConfig(b=b, width=width, depth=1, activation="quadratic", symmetry="tied-hidden", alpha=spec.alpha)
    s_g = torch.randn(1, 200000, b, generator=gen, dtype=torch.float64)
    t_g = block_map(s_g, b)[..., 0]
    c_grid = np.array(c_grid)
    tied_err = []
    for c in c_grid:
        with torch.no_grad():
            y = from_layers(tied, tied_bias_layers(tied, c))(s_g)
        tied_err.append(float(((y - t_g) ** 2).mean() / (t_g**2).mean()))
    tied_pred = 2 * spec.alpha**2 / (1 + 2 * spec.alpha * c_grid) ** 2
    return pd.DataFrame({"hidden bias c": c_grid, "relative error (Monte Carlo)": tied_err,
                         "2 alpha^2/(1+2 alpha c)^2": tied_pred})


def tied_check_agrees(table: pd.DataFrame) -> bool:
    """The Monte Carlo errors of :func:`tied_bias_check` agree with the closed form to :data:`TIED_MC_RTOL`."""
    return bool(np.allclose(table["relative error (Monte Carlo)"].tolist(),
                            table["2 alpha^2/(1+2 alpha c)^2"].to_numpy(), rtol=TIED_MC_RTOL))


def parameter_grid(spec: SweepSpec) -> pd.DataFrame:
    """Free parameters per network: rows size (depth x width), columns symmetry."""
    return pd.DataFrame([{"size (depth x width)": f"{d}x{w}",
                          **{sym: MLPConfig(b=spec.b, width=w, depth=d, symmetry=sym).n_params
                             for sym in spec.symmetries}}
                         for d, w in spec.sizes]).set_index("size (depth x width)")


def parameter_range(spec: SweepSpec) -> tuple[int, int]:
    """The fewest and the most free parameters of the grid's (size, symmetry) cells."""
    npars = [MLPConfig(b=spec.b, width=w, depth=d, symmetry=sym).n_params
             for d, w in spec.sizes for sym in spec.symmetries]
    return min(npars), max(npars)


# -- the numbers the prose quotes -----------------------------------------------------------------
def nonlinear(spec: SweepSpec) -> list[str]:
    """The grid's nonlinear activations, in its order."""
    return [a for a in spec.activations if a in NONLINEAR]


def trained_nonlinear(summary: pd.DataFrame, spec: SweepSpec) -> pd.DataFrame:
    """The summary rows of the non-diverged nonlinear networks."""
    return summary[~summary.diverged & summary.activation.isin(nonlinear(spec))]


def headline_numbers(summary: pd.DataFrame, spec: SweepSpec) -> dict:
    """C1 on the survey grid: the fraction of non-diverged nonlinear networks with G1 below :data:`C1_G1`,
    and the best G1."""
    ok = trained_nonlinear(summary, spec)
    return {"c1_frac": float((ok.G1 < C1_G1).mean()), "c1_best": float(ok.G1.min())}
