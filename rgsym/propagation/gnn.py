r"""Cumulant propagation through message passing, layer by layer inside lattice GNNs (Chapter 5).

Notation (Chapter 5). On a lattice of :math:`N` sites a GNN of depth :math:`D` (eqs. G1-G2 of
:mod:`rgsym.nets.gnn`) has node features :math:`h^{(k)}\in\mathbb R^{N d_k}`, flattened node-major
(index :math:`i\,d_k+\mu`). Every affine part is a matrix (:meth:`rgsym.nets.gnn.EnsembleGNN.linear_maps`):

.. math::
   :label: gnn-affine

   z^{(k)} = \mathcal A_k\,h^{(k-1)} + c_k ,\qquad
   \mathcal A_k = \sum_p D_p\otimes R^{(k)}_p + \sum_t A^{(t)}\otimes M^{(k)}_t
   \qquad\text{(eq. P1)}

with :math:`D_p` the projector on the sites at block position :math:`p` and :math:`A^{(t)}` the
adjacency of the type-:math:`t` edges: sum aggregation is linear in the node features. So the
joint cumulant tensors of the node features transform like those of an affine layer, with the
adjacency inside the contraction,

.. math:: \kappa^{(n)}_{a_1..a_n}(z^{(k)}) = \sum_{b_1..b_n}(\mathcal A_k)_{a_1b_1}\cdots(\mathcal A_k)_{a_nb_n}
          \,\kappa^{(n)}_{b_1..b_n}(h^{(k-1)}) \quad(n\ge2)\qquad\text{(eq. P2)}

(:func:`rgsym.propagation.tensors.affine_cumulants`); the node-wise activation
:math:`h^{(k)}=\phi(z^{(k)})` mixes orders exactly as in an MLP, and pooling plus readout
:math:`s'_J = P_J h^{(D)} + c_{\rm out}` is linear again. The whole GNN is therefore an MLP on the
:math:`N` i.i.d. sites with structured weight matrices, and every predictor of
:mod:`rgsym.propagation` applies to it.

**Predicted cumulants of one node feature.** For the feature :math:`x` at a point of the forward pass
(:data:`POINTS`: the input sites ``h0``, the pre-activations ``z<k>``, the activations ``h<k>`` and
the coarse spins ``out``) the network up to that point, followed by a one-hot readout of
:math:`x`, is a block map :math:`\mathbb R^N\to\mathbb R`; all features of a point are propagated
at once as the members of one ensemble (:func:`predict_node_cumulants`) with

* ``"exact"`` (polynomial :math:`\phi`): exact to every order;
* ``"quadrature"`` (any :math:`\phi`): the input law replaced by its moment-matched Gauss rule, exact
  for polynomial networks once enough nodes are used, converging for smooth :math:`\phi`;
* ``"hermite"``: the activation replaced by its Hermite expansion around each unit's Gaussian;
* ``"gaussian"``: Fischer et al.'s second-order truncation (orders :math:`\ge3` are zero).

**The truncated tensor picture** (:func:`closure_node_cumulants`, eq. P3; the activation step is
:func:`rgsym.propagation.tensors.truncated_activation_cumulants`): the joint cumulant tensors
of all node features, orders :math:`1..K`, are carried through the layers with eq. P2 and, for a
polynomial activation, the Leonov-Shiryaev expansion of
:func:`rgsym.propagation.partitions.activation_terms` with its closure, dropping every input cumulant of order :math:`>K` at every
layer (the order-:math:`K` closure). Where it disagrees with ``"exact"`` the truncation fails.

**Measured cumulants** (:func:`measure_node_cumulants`): unbiased k-statistics with their standard
errors over Monte Carlo lattices, from the GNN's own forward pass
(:meth:`rgsym.nets.gnn.EnsembleGNN.features`).

Every table is tidy: one row per member, point, node, channel and order.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from ..clt import get_law
from ..validation import as_int, check_choice
from .inputs import law_inputs
from .methods import propagate, required_input_order
from .networks import antisymmetrised_layers
from .tensors import affine_cumulants, truncated_activation_cumulants

PREDICTORS = ("exact", "quadrature", "hermite", "gaussian", "closure")
"""Ways of predicting node-feature cumulants (the first four from :mod:`rgsym.propagation`)."""

COLUMNS = ("member", "point", "step", "layer", "node", "channel", "order", "value")
MAX_CLOSURE_DIM = 40
"""Largest number of node features (``N * width``) the dense order-4 tensor picture accepts."""


def points(depth: int) -> list[str]:
    """The points of the forward pass of a depth-``depth`` GNN: ``['h0', 'z1', 'h1', ..., 'zD', 'hD', 'out']``."""
    return ["h0"] + [f"{x}{k}" for k in range(1, depth + 1) for x in ("z", "h")] + ["out"]


POINTS = tuple(points(4))
"""All point names up to depth 4 (input, pre-activations, activations, coarse spins)."""


def _point_layer(point: str, depth: int) -> int:
    if point == "out":
        return depth + 1
    return int(point[1:])


def default_sites(model) -> int:
    """The lattice on which a GNN is analysed: its training context if set, else one block
    (``"block"``: blocks are independent, so one block is exact) or two (``"block+nn"``)."""
    if getattr(model, "context", None):
        return int(model.context)
    return model.b if model.edges == "block" else 2 * model.b


def _check_member(model, member):
    return as_int("member", member, 0, model.n_members - 1)


def _check_points(model, which) -> list[str]:
    valid = points(model.depth)
    if which is None:
        return valid
    which = [which] if isinstance(which, str) else list(which)
    for p in which:
        check_choice("point", p, valid)
    return which


def feature_networks(model, member: int, point: str, n_sites: int | None = None):
    r"""The block maps that read every feature of ``point`` of ``member``: a list of layers
    ``[(W, c)]`` with ``W`` ``(F, out, in)`` for the ``F`` features of the point (one feature per
    ensemble member; :math:`\phi` after every layer but the last), and the ``(node, channel)`` of each.

    ``h0``: one-hot rows on the sites; ``z<k>``: layers :math:`1..k-1` then the rows of
    :math:`(\mathcal A_k, c_k)`; ``h<k>``: layers :math:`1..k` then one-hot rows; ``out``: all layers
    then the rows of the readout (one per coarse site). Antisymmetrised members are *not* rewritten
    here (see :func:`predict_node_cumulants`).
    """
    member = _check_member(model, member)
    (point,) = _check_points(model, point)
    n = default_sites(model) if n_sites is None else int(n_sites)
    maps = model.linear_maps(n)
    layers = [(A[member], c[member]) for A, c in maps["layers"]]
    P, c_out = maps["readout"]
    P, c_out = P[member], c_out[member]
    dt = P.dtype

    def rows(W, c):  # (F, in), (F,) -> (F, 1, in), (F, 1)
        return W.unsqueeze(1), c.unsqueeze(1)

    def rep(W, c, F):
        return W.unsqueeze(0).expand(F, -1, -1), c.unsqueeze(0).expand(F, -1)

    if point == "h0":
        F = n
        chain = [rows(torch.eye(n, dtype=dt), torch.zeros(n, dtype=dt))]
        where = [(i, 0) for i in range(n)]
    elif point == "out":
        F = P.shape[0]
        chain = [rep(W, c, F) for W, c in layers] + [rows(P, c_out)]
        where = [(J, 0) for J in range(F)]
    else:
        k = int(point[1:])
        width = layers[k - 1][0].shape[0] // n
        F = n * width
        where = [(i, mu) for i in range(n) for mu in range(width)]
        if point[0] == "z":
            chain = [rep(W, c, F) for W, c in layers[:k - 1]] + [rows(*layers[k - 1])]
        else:
            chain = [rep(W, c, F) for W, c in layers[:k]] + [rows(torch.eye(F, dtype=dt), torch.zeros(F, dtype=dt))]
    return chain, where


def _rows(member, point, depth, where, values: torch.Tensor, extra: dict | None = None) -> list:
    step = points(depth).index(point)
    layer = _point_layer(point, depth)
    out = []
    for f, (node, ch) in enumerate(where):
        for n in range(values.shape[1]):
            row = [member, point, step, layer, node, ch, n + 1, float(values[f, n])]
            if extra is not None:
                row += [float(v[f, n]) for v in extra.values()]
            out.append(row)
    return out


def predict_node_cumulants(model, law, *, member: int = 0, order: int = 4, method: str = "exact",
                           which=None, n_sites: int | None = None, **kw) -> pd.DataFrame:
    r"""Predicted cumulants :math:`\kappa_1..\kappa_{\rm order}` of every node feature at every point
    (``which``: a subset of :func:`points`) of one GNN member, for i.i.d. sites from ``law``.

    ``method``: one of :data:`PREDICTORS` except ``"closure"`` (see :func:`closure_node_cumulants`);
    extra keywords go to :func:`rgsym.propagation.propagate` (``hermite_order``, ``nodes``, ...).
    For an antisymmetrised member the features are those of the plain network :math:`g` and the
    ``out`` point is that of :math:`f(s)=[g(s)-g(-s)]/2`. Returns a tidy table with columns
    :data:`COLUMNS` (``value`` = the predicted cumulant).
    """
    check_choice("predictor", method, PREDICTORS[:-1])
    order = as_int("order", order, 1, 8)
    member = _check_member(model, member)
    pts = _check_points(model, which)
    law = get_law(law)
    n = default_sites(model) if n_sites is None else int(n_sites)
    cfg = model.configs[member]
    plan_kw = {k: v for k, v in kw.items() if k in ("hermite_order", "max_degree", "nodes")}
    rows = []
    for point in pts:
        chain, where = feature_networks(model, member, point, n)
        if point == "out" and cfg.antisymmetrised:
            chain = antisymmetrised_layers(chain)
        # a purely affine chain (h0, z1) is propagated exactly by every method but 'gaussian' (methods._plan)
        need = required_input_order(chain, order, method, activation=cfg.act, **plan_kw)
        res = propagate(chain, law_inputs(law, n, need), order, method, activation=cfg.act, **kw)
        rows += _rows(member, point, model.depth, where, res.kappa)
    return pd.DataFrame(rows, columns=list(COLUMNS))


# ------------------------------------------------------------------------------------------------
# the dense tensor picture with an order-K closure (eq. P3)
# ------------------------------------------------------------------------------------------------
def _diagonal(k: torch.Tensor) -> torch.Tensor:
    """``(E, d, ..., d)`` -> ``(E, d)``: the entries with all indices equal (marginal cumulants)."""
    n = k.dim() - 1
    if n == 1:
        return k
    return torch.einsum("Z" + "a" * n + "->Za", k)


def iid_tensors(kappa: Sequence[float], n_sites: int, *, dtype=torch.float64) -> list[torch.Tensor]:
    r"""Joint cumulant tensors of ``n_sites`` i.i.d. sites with single-site cumulants ``kappa``:
    :math:`\kappa^{(n)}_{i_1..i_n}=\kappa_n[i_1=\dots=i_n]`, each with a member axis of size 1."""
    out = []
    for n, kn in enumerate(kappa, start=1):
        t = torch.zeros((1,) + (n_sites,) * n, dtype=dtype)
        idx = torch.arange(n_sites)
        t[(slice(None),) + (idx,) * n] = float(kn)
        out.append(t)
    return out


def closure_node_cumulants(model, law, *, member: int = 0, order: int = 4, closure: int = 4,
                           n_sites: int | None = None) -> pd.DataFrame:
    r"""Node-feature cumulants from the dense tensor picture with an order-``closure`` closure (eq. P3).

    The joint cumulant tensors of all ``N d`` node features, orders ``1..closure``, go through
    eq. P2 at every message-passing layer and through the polynomial activation with
    :func:`truncated_activation_cumulants`; readout and pooling are eq. P2 again. Needs a polynomial
    activation, a member that is not antisymmetrised, and at most :data:`MAX_CLOSURE_DIM` features.
    Returns the marginal (diagonal) cumulants, orders ``1..min(order, closure)``, as a tidy table.
    """
    order = as_int("order", order, 1, 8)
    closure = as_int("closure", closure, 1, 4)
    member = _check_member(model, member)
    cfg = model.configs[member]
    if cfg.act.poly_coeffs is None:
        raise ValueError(f"the tensor closure needs a polynomial activation (identity or quadratic), got {cfg.activation!r}")
    if cfg.antisymmetrised:
        raise ValueError("the tensor closure takes plain networks; this member is antisymmetrised")
    n = default_sites(model) if n_sites is None else int(n_sites)
    dim = n * model.width
    if dim > MAX_CLOSURE_DIM:
        raise ValueError(f"{n} sites x width {model.width} = {dim} node features; the dense order-{closure} "
                         f"tensors allow at most {MAX_CLOSURE_DIM} (use fewer sites or a narrower GNN)")
    law = get_law(law)
    maps = model.linear_maps(n)
    order_out = min(order, closure)
    kap = iid_tensors(law.cumulants(closure), n)
    depth = model.depth
    rows = _rows(member, "h0", depth, [(i, 0) for i in range(n)],
                 torch.stack([_diagonal(k)[0] for k in kap[:order_out]], -1))
    coeffs = cfg.act.poly_coeffs
    for k, (A, c) in enumerate(maps["layers"], start=1):
        width = A.shape[1] // n
        where = [(i, mu) for i in range(n) for mu in range(width)]
        kap = affine_cumulants(kap, A[member:member + 1], c[member:member + 1])
        rows += _rows(member, f"z{k}", depth, where, torch.stack([_diagonal(x)[0] for x in kap[:order_out]], -1))
        kap = truncated_activation_cumulants(kap, coeffs, closure)
        rows += _rows(member, f"h{k}", depth, where, torch.stack([_diagonal(x)[0] for x in kap[:order_out]], -1))
    P, c_out = maps["readout"]
    kap = affine_cumulants(kap, P[member:member + 1], c_out[member:member + 1])
    rows += _rows(member, "out", depth, [(J, 0) for J in range(P.shape[1])],
                  torch.stack([_diagonal(x)[0] for x in kap[:order_out]], -1))
    return pd.DataFrame(rows, columns=list(COLUMNS))


# ------------------------------------------------------------------------------------------------
# Monte Carlo
# ------------------------------------------------------------------------------------------------
def mc_lattices(law, n_samples: int, n_sites: int, seed: int = 0) -> torch.Tensor:
    """``(n_samples, n_sites)`` i.i.d. float64 draws of ``law``, seeded by ``(law, n_sites, seed)`` only."""
    from ..seeds import stable_seed

    law = get_law(law)
    g = torch.Generator().manual_seed(stable_seed("gnn-propagation-mc", law.name, int(n_sites), int(seed)))
    return law.sample((int(n_samples), int(n_sites)), g, dtype=torch.float64)


GNN_SE_METHODS = ("delta", "batches")
"""Standard errors of measured node-feature cumulants (:func:`measure_node_cumulants`): the delta method
(``rgsym.clt.kstats(..., method="delta")``), or the spread over batches."""


@torch.no_grad()
def measure_node_cumulants(model, law, *, member: int = 0, order: int = 4, n_samples: int = 2**16,
                           seed: int = 0, which=None, n_sites: int | None = None, chunk: int = 2**15,
                           se: str = "delta", n_batches: int = 32) -> pd.DataFrame:
    r"""Measured cumulants of every node feature: unbiased k-statistics :math:`k_1..k_{\rm order}` and
    their standard errors over ``n_samples`` Monte Carlo lattices of ``n_sites`` i.i.d. sites from ``law``.

    The features are those of :meth:`rgsym.nets.gnn.EnsembleGNN.features` (the plain network :math:`g`;
    computed by :func:`rgsym.propagation.gnn_reference.dense_features`, checked against it),
    ``out`` is the member's learned step :math:`f(s)` (antisymmetrised where the member is).
    ``se``: ``"delta"`` (the delta-method error, :func:`rgsym.clt.kstats` with ``method="delta"``, from
    sample moments up to order ``2 order``) or ``"batches"`` (the spread of the k-statistics of ``n_batches`` equal
    batches over :math:`\sqrt{n_\text{batches}}`). Both rest on sample moments and come out far too small
    on heavy-tailed features; the exact error is :func:`rgsym.propagation.gnn_reference.exact_kstat_se`. Returns the tidy table of :data:`COLUMNS` plus ``se``.
    """
    from ..clt import kstats
    order = as_int("order", order, 1, 8)
    member = _check_member(model, member)
    pts = _check_points(model, which)
    as_int("n_samples", n_samples, 2 * order)
    check_choice("standard-error method", se, GNN_SE_METHODS)
    as_int("n_batches", n_batches, 2)
    if se == "batches" and n_samples // n_batches < 2 * order:
        raise ValueError(f"n_samples={n_samples} gives batches of fewer than {2 * order} lattices")
    n = default_sites(model) if n_sites is None else int(n_sites)
    from .gnn_reference import dense_features

    s_all = mc_lattices(law, n_samples, n, seed)
    cols: dict = {p: [] for p in pts}
    for a in range(0, n_samples, chunk):
        f = dense_features(model, s_all[a:a + chunk], member=member, check=a == 0)
        for p in pts:
            width = 1 if p in ("h0", "out") else f[p].shape[1] // n
            cols[p].append(f[p].reshape(f[p].shape[0], -1, width))
    rows = []
    for p in pts:
        x = torch.cat(cols[p], 0)  # (n_samples, nodes, channels)
        nodes, ch = x.shape[1], x.shape[2]
        flat = x.reshape(x.shape[0], nodes * ch).T
        if se == "delta":
            k, err = kstats(flat, order, method="delta")
        else:
            k, _ = kstats(flat, order, with_se=False)
            m = flat.shape[1] // n_batches
            kb, _ = kstats(flat[:, :m * n_batches].reshape(flat.shape[0], n_batches, m), order, with_se=False)
            err = kb.std(1) / math.sqrt(n_batches)
        where = [(i, mu) for i in range(nodes) for mu in range(ch)]
        rows += _rows(member, p, model.depth, where, k, {"se": err})
    return pd.DataFrame(rows, columns=list(COLUMNS) + ["se"])


# ------------------------------------------------------------------------------------------------
# comparison with the measurement
# ------------------------------------------------------------------------------------------------
KEYS = ["member", "point", "step", "layer", "node", "channel", "order"]


def compare(predicted: pd.DataFrame, measured: pd.DataFrame) -> pd.DataFrame:
    r"""Predicted against measured cumulants, row by row: adds ``pred``, ``meas``, ``se``,
    ``z`` :math:`=(\text{pred}-\text{meas})/\text{se}` and ``rel`` :math:`=|\text{pred}-\text{meas}|/
    \max(|\text{meas}|, \text{se})` (only rows present in both tables)."""
    p = predicted.rename(columns={"value": "pred"})
    m = measured.rename(columns={"value": "meas"})
    out = p.merge(m, on=KEYS, how="inner")
    se = out["se"].where(out["se"] > 0, np.nan)
    out["z"] = (out["pred"] - out["meas"]) / se
    out["rel"] = (out["pred"] - out["meas"]).abs() / np.maximum(out["meas"].abs(), out["se"])
    return out


def agreement(table: pd.DataFrame, by: Sequence[str] = ("point", "order")) -> pd.DataFrame:
    r"""Summary of :func:`compare`: per group the number of features, the root-mean-square z-score
    (about 1 when prediction and measurement agree within the Monte Carlo error), the largest
    :math:`|z|`, the median relative error and the fraction of features with :math:`|z|<3`."""
    g = table.groupby(list(by), sort=False)
    out = g.agg(n=("z", "size"), rms_z=("z", lambda z: float(np.sqrt(np.nanmean(np.square(z))))),
                max_abs_z=("z", lambda z: float(np.nanmax(np.abs(z)))), median_rel=("rel", "median"),
                frac_within_3se=("z", lambda z: float(np.mean(np.abs(z) < 3))))
    return out.reset_index()


def standardised(table: pd.DataFrame, value: str = "value") -> pd.DataFrame:
    r"""Standardised cumulants of every feature: :math:`\kappa_1/\sqrt{\kappa_2}` (the mean in units of the
    width), :math:`\gamma_n=\kappa_n/\kappa_2^{n/2}` for :math:`n\ge3` (skewness, excess kurtosis), and
    :math:`\kappa_2` itself for ``order == 2``; column ``std`` (NaN where :math:`\kappa_2\le0`)."""
    wide = table.pivot_table(index=[k for k in KEYS if k != "order"], columns="order", values=value).reset_index()
    rows = []
    for o in sorted(c for c in wide.columns if isinstance(c, (int, np.integer))):
        k2 = wide[2] if 2 in wide.columns else np.nan
        pos = k2 > 0
        val = wide[o] if o == 2 else (wide[o] / np.sqrt(k2) if o == 1 else wide[o] / k2 ** (o / 2))
        part = wide[[k for k in KEYS if k != "order"]].copy()
        part["order"] = o
        part["std"] = np.where(pos, val, np.nan)
        rows.append(part)
    return pd.concat(rows, ignore_index=True)
