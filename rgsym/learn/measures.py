r"""Generalisation measures G1-G3 of a learned RG step (SCIENCE.md §2), for any ensemble RG module.

For a member :math:`f` trained on the base law :math:`p_0` (its *task*) and the exact block map
:math:`T_b`, with the relative mean squared error

.. math:: \varepsilon(f; q) = \frac{E_{s\sim q}\,\|f(s) - T_b(s)\|^2}{E_{s\sim q}\,\|T_b(s)\|^2},

* **G1** :math:`= \varepsilon(f; p_0)` on fresh samples (in distribution);
* **G2** out of distribution: ``G2_law:<q>`` :math:`=\varepsilon(f; q)` for every unseen base law
  :math:`q\ne p_0`, and ``G2_scale:<λ>`` :math:`=\varepsilon(f; \lambda s)` for rescaled inputs
  :math:`\lambda s`, :math:`s\sim p_0`, :math:`\lambda\in\{0.25, 0.5, 2, 4\}` (the exact map is linear,
  so the normalisation by :math:`\lambda^2` makes the scales comparable). ``G2`` is the mean of these
  components, ``G2_laws`` the mean of the unseen laws alone (unit scale) and ``G2_scales`` the mean of
  the rescalings alone (each reported on its own where a verdict needs one kind of shift);
* **G3** successive RG on lattices of :math:`N = b^L` sites drawn from :math:`p_0`: ``G3_sample:<l>``
  :math:`=\varepsilon(f^{\circ l}; p_0^{\otimes N})` of the learned flow against the exact one after
  :math:`l = 1..L` steps; ``G3_kappa<n>:<l>`` :math:`= |k_n(s^{(l)}) - b^{l(1-n/2)}\kappa_n|` for
  :math:`n = 1..4`, with :math:`k_n` the unbiased k-statistic over all sites of level :math:`l` and
  :math:`\kappa_n` the exact cumulant of :math:`p_0`; ``G3_dkappa<n>:<l>`` the same difference against
  the k-statistic of the exact flow on the same samples (free of sampling noise); ``G3_fp`` the distance
  :math:`\sqrt{k_1^2 + (k_2-1)^2 + k_3^2 + k_4^2}` of the learned flow's endpoint (one site per
  lattice) from the Gaussian fixed point of unit variance, and ``G3_fp_exact`` the same for the exact
  flow on the same samples (the sampling-noise floor). ``G3`` is ``G3_sample`` at :math:`l = L`.

Evaluation samples depend only on ``(law, eval_seed)``: every member is scored on the same inputs, and
a member evaluated alone gets the same numbers.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from ..clt.blockmap import block_map
from ..clt.laws import LAWS, get_law, unseen_laws
from ..nets.ensemble import rg_step as _rg_step
from ..seeds import stable_seed
from ..validation import as_int, check_choice
from .training import cpu_threads

SCALES = (0.25, 0.5, 2.0, 4.0)
SUMMARY = ("G1", "G2", "G3", "G3_fp")
"""The headline measures: G1, G2 (mean of its components), G3 (at l = L) and the endpoint distance."""
MEASURE_COLUMNS = ("member", "measure", "family", "law", "scale", "level", "order", "value")


@dataclass(frozen=True)
class MeasureConfig:
    """Sample sizes of the measures: ``n_eval`` blocks per law for G1/G2, ``n_flow`` lattices of
    ``b**L`` sites for G3 (``L >= 1``; the book uses ``L >= 6``), the rescalings, and the seed of the
    evaluation samples."""

    n_eval: int = 4096
    L: int = 6
    n_flow: int = 4096
    scales: tuple = SCALES
    eval_seed: int = 12345
    memory_budget: int = 2**26  # floats held at once while evaluating (sets the member chunk size)

    def __post_init__(self):
        for name in ("n_eval", "L", "n_flow", "memory_budget"):
            as_int(name, getattr(self, name), lo=1)
        if self.n_flow < 4:
            raise ValueError("n_flow must be >= 4 (k-statistics up to order 4 at the endpoint)")
        object.__setattr__(self, "scales", tuple(float(s) for s in self.scales))
        if any(not (math.isfinite(s) and s > 0) for s in self.scales):
            raise ValueError(f"scales must be positive numbers, got {self.scales!r}")

    def key(self) -> dict:
        d = asdict(self)
        d.pop("memory_budget")
        return d


def _kstats4(x: torch.Tensor) -> torch.Tensor:
    """k-statistics k_1..k_4 along the last axis, ``(..., n) -> (..., 4)`` in float64; rows holding a
    non-finite value (a member whose flow blew up) give NaN, silently."""
    from ..clt.estimators import kstats

    x = x.detach().to(torch.float64)
    ok = torch.isfinite(x).all(-1)
    out = torch.full((*x.shape[:-1], 4), float("nan"), dtype=torch.float64, device=x.device)
    if bool(ok.any()):
        with np.errstate(all="ignore"):  # finite but astronomically large flows may overflow x^4
            out[ok] = kstats(x[ok], 4, with_se=False)[0].to(out.device)
    return out


def eval_samples(law: str, shape, eval_seed: int, dtype=torch.float64) -> torch.Tensor:
    """Evaluation draws of ``law`` (float64 on the CPU, then cast), seeded by ``(law, shape, eval_seed)``."""
    g = torch.Generator().manual_seed(stable_seed("eval", law, list(shape), int(eval_seed)))
    return get_law(law).sample(tuple(shape), g, dtype=torch.float64).to(dtype)


def _rel_mse(pred: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """Relative MSE per member: ``pred (E, B, M)`` against ``exact`` ``(B, M)`` or ``(E, B, M)``."""
    err = ((pred.double() - exact.double()) ** 2).flatten(1).mean(1)
    return err / (exact.double() ** 2).mean()


def _chunks(model, size: int):
    E = model.n_members
    if size >= E or not hasattr(model, "select"):
        yield 0, model
        return
    for a in range(0, E, size):
        yield a, model.select(range(a, min(a + size, E)))


def evaluate(model: torch.nn.Module, tasks: Sequence[str], config: MeasureConfig = MeasureConfig(), *,
             device=None, threads: int | None = 1) -> pd.DataFrame:
    r"""All measures for every member of an ensemble RG module, as a tidy table.

    ``tasks[e]`` is the law member ``e`` was trained on. Returns one row per member and measure with
    columns :data:`MEASURE_COLUMNS` (``law``/``scale``/``level``/``order`` are NaN or '' where they do
    not apply). Diverged members give NaN/inf values; filtering them is the caller's job. ``threads``:
    torch CPU threads meanwhile (:func:`rgsym.learn.training.cpu_threads`).
    """
    p = next(model.parameters())
    dev = torch.device(device) if device is not None else p.device
    with cpu_threads(threads, dev), torch.no_grad():
        return _evaluate(model, tasks, config, dev)


def _evaluate(model, tasks, config, dev) -> pd.DataFrame:
    E = model.n_members
    tasks = list(tasks)
    if len(tasks) != E:
        raise ValueError(f"need one task per member: E={E}, got {len(tasks)}")
    for t in set(tasks):
        check_choice("task (base law)", t, LAWS)
    c = config
    b = int(model.b)
    dtype = next(model.parameters()).dtype
    model.to(dev)
    N = b ** c.L
    width = int(getattr(model, "width", 32))
    chunk = max(1, c.memory_budget // (c.n_flow * N * max(width, 8) * 2 // b + 1))

    # shared inputs: every law at scale 1, and each task rescaled
    blocks = {law: eval_samples(law, (c.n_eval, b), c.eval_seed, dtype).to(dev) for law in LAWS}
    lattices = {t: eval_samples(t, (c.n_flow, N), c.eval_seed, dtype).to(dev) for t in sorted(set(tasks))}
    exact_levels = {t: [] for t in lattices}
    for t, s in lattices.items():
        x = s
        for _ in range(c.L):
            x = block_map(x, b)
            exact_levels[t].append(x)
    exact_k = {t: [_kstats4(x.reshape(-1)).cpu() for x in lv] for t, lv in exact_levels.items()}
    kappa = {t: torch.tensor(get_law(t).cumulants(4), dtype=torch.float64) for t in lattices}

    rows = []

    def add(e, measure, family, value, law="", scale=float("nan"), level=-1, order=-1):
        rows.append((e, measure, family, law, scale, level, order, value))

    for start, sub in _chunks(model, chunk):
        Ec = sub.n_members
        ctasks = tasks[start:start + Ec]
        # G1 / G2 on single blocks
        res = {}
        for law, x in blocks.items():
            xin = x.unsqueeze(0).expand(Ec, -1, -1)
            res[(law, 1.0)] = _rel_mse(_rg_step(sub, xin), block_map(x, b)).cpu()
        for t in sorted(set(ctasks)):
            for lam in c.scales:
                x = blocks[t] * lam
                res[(t, lam)] = _rel_mse(_rg_step(sub, x.unsqueeze(0).expand(Ec, -1, -1)), block_map(x, b)).cpu()
        # G3 on lattices: the learned flow of every member from its own task's lattices
        s = torch.stack([lattices[t] for t in ctasks])
        g3 = []
        for lv in range(c.L):
            s = _rg_step(sub, s)
            exact = torch.stack([exact_levels[t][lv] for t in ctasks])
            err = ((s.double() - exact.double()) ** 2).flatten(1).mean(1) / (exact.double() ** 2).flatten(1).mean(1)
            k = _kstats4(s.reshape(Ec, -1)).cpu()
            g3.append((err.cpu(), k))
        for i in range(Ec):
            e, t = start + i, ctasks[i]
            add(e, "G1", "G1", float(res[(t, 1.0)][i]), law=t, scale=1.0)
            laws_, scales_ = [], []
            for law in unseen_laws(t):
                v = float(res[(law, 1.0)][i])
                laws_.append(v)
                add(e, f"G2_law:{law}", "G2", v, law=law, scale=1.0)
            for lam in c.scales:
                v = float(res[(t, lam)][i])
                scales_.append(v)
                add(e, f"G2_scale:{lam:g}", "G2", v, law=t, scale=lam)
            add(e, "G2", "G2", _mean(laws_ + scales_), law=t)
            add(e, "G2_laws", "G2", _mean(laws_), law=t, scale=1.0)
            add(e, "G2_scales", "G2", _mean(scales_), law=t)
            for lv, (err, k) in enumerate(g3, start=1):
                add(e, f"G3_sample:{lv}", "G3", float(err[i]), law=t, level=lv)
                for n in range(1, 5):
                    target = b ** (lv * (1 - n / 2)) * float(kappa[t][n - 1])
                    add(e, f"G3_kappa{n}:{lv}", "G3", float((k[i, n - 1] - target).abs()), law=t, level=lv, order=n)
                    add(e, f"G3_dkappa{n}:{lv}", "G3", float((k[i, n - 1] - exact_k[t][lv - 1][n - 1]).abs()),
                        law=t, level=lv, order=n)
            add(e, "G3", "G3", float(g3[-1][0][i]), law=t, level=c.L)
            kend = g3[-1][1][i]
            add(e, "G3_fp", "G3", _fp_distance(kend), law=t, level=c.L)
            add(e, "G3_fp_exact", "G3", _fp_distance(exact_k[t][-1]), law=t, level=c.L)
    df = pd.DataFrame(rows, columns=list(MEASURE_COLUMNS))
    return df


def _mean(values) -> float:
    return float(torch.tensor(values, dtype=torch.float64).mean())


def _fp_distance(k: torch.Tensor) -> float:
    r""":math:`\sqrt{k_1^2 + (k_2 - 1)^2 + k_3^2 + k_4^2}` from ``k = (k_1..k_4)``."""
    k = k.double()
    return float(torch.sqrt(k[0] ** 2 + (k[1] - 1) ** 2 + k[2] ** 2 + k[3] ** 2))




@torch.no_grad()
def function_slices(model: torch.nn.Module, t: torch.Tensor) -> dict:
    r"""The learned block map along and across the sum direction, for every member.

    With :math:`u = b^{-1/2}\mathbf 1` (the sum direction) and :math:`v = (1, -1, 0, \dots)/\sqrt2`
    (orthogonal to it): ``along`` :math:`= f(t\,u)` (exact: :math:`t`) and ``across``
    :math:`= f(t\,v)` (exact: 0), each of shape ``(E, len(t))``; ``t`` 1-d.
    """
    b, E = int(model.b), model.n_members
    p = next(model.parameters())
    t = torch.as_tensor(t, dtype=p.dtype, device=p.device).reshape(-1)
    u = torch.full((b,), 1 / math.sqrt(b), dtype=p.dtype, device=p.device)
    v = torch.zeros(b, dtype=p.dtype, device=p.device)
    v[0], v[1] = 1 / math.sqrt(2), -1 / math.sqrt(2)
    out = {}
    for name, d in (("along", u), ("across", v)):
        x = (t[:, None] * d[None, :]).unsqueeze(0).expand(E, -1, -1).contiguous()
        out[name] = _rg_step(model, x)[..., 0].cpu()
    out["t"] = t.cpu()
    return out
