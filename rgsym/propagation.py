r"""Cumulant propagation through block-map MLPs (Chapter 3; SCIENCE.md §4).

After K. Fischer et al., *Decomposing neural networks as mappings of correlation functions*,
Phys. Rev. Research 4, 043143 (2022), arXiv:2202.04925: a network maps the cumulants of its input
distribution to the cumulants of its output. For a block map :math:`f:\mathbb R^b\to\mathbb R`
with layers :math:`(W^{(k)}, c^{(k)})` and activation :math:`\phi` (Chapter 2),

.. math:: z^{(1)} = W^{(1)} s + c^{(1)},\quad z^{(k)} = W^{(k)}\phi(z^{(k-1)}) + c^{(k)},\quad
          f(s) = z^{(K)}\in\mathbb R ,

the chapter's notation is: :math:`\kappa_n` the order-:math:`n` cumulant of one input site (i.i.d.
inputs) or :math:`\kappa^{(n)}_{i_1\dots i_n}` the joint cumulant tensor (general inputs), and
:math:`\kappa'_n` the order-:math:`n` cumulant of the output :math:`s' = f(s)`.

**Affine layers** (eq. 3.3) act order by order by multilinear contraction,
:math:`\kappa'^{(n)}_{j_1..j_n} = \sum_{i} W_{j_1 i_1}\cdots W_{j_n i_n}\kappa^{(n)}_{i_1..i_n}`, and
the bias shifts the mean only (:func:`affine_cumulants`).

**Activations** mix orders. Four ways are provided (:data:`METHODS`), the last two for activations that are
not polynomials:

``"exact"`` (polynomial :math:`\phi`, eq. 3.4)
    Exact to any requested order. Output order :math:`n` of a unit :math:`\phi(z)` of degree
    :math:`p` needs input orders up to :math:`pn`; for a whole network of total degree :math:`D`
    the output order :math:`n` needs input cumulants up to :math:`Dn` (:func:`required_input_order`).
    Two implementations derive the combinatorics, none types a formula in:

    * :func:`polynomial_activation_cumulants` works on dense joint cumulant tensors with the
      Leonov-Shiryaev expansion of cumulants of products over connected set partitions
      (:func:`partition_terms`): the Fischer et al. picture, for narrow layers.
    * :func:`propagate` represents every unit as a polynomial in the ``b`` centred block inputs
      (a low-rank representation of all of a layer's cumulant tensors at once, whatever its width)
      and reads the output cumulants from the moments of powers of the output polynomial. This is
      exact, and fast for the widths of Chapter 2 (a width-64, depth-3 network to order 4 takes a
      few milliseconds; ``benchmarks/bench_propagation.py``).

``"gaussian"`` (eq. 3.5)
    Fischer et al.'s Gaussian (second-order) truncation: only mean and covariance are carried;
    before every activation the pre-activations are taken to be jointly Gaussian, so
    :math:`E\phi(z_i) = a^{(i)}_0` and :math:`{\rm Cov}(\phi(z_i),\phi(z_j)) = \sum_{k\ge1} k!\,a_k^{(i)}
    a_k^{(j)}\rho_{ij}^k` (Mehler's formula) with :math:`a_k^{(i)}` the Hermite coefficients of
    :math:`x\mapsto\phi(\mu_i+\sigma_i x)`. Exact for polynomial :math:`\phi` (the series ends);
    truncated at ``hermite_order`` otherwise, with the bound
    :math:`|\Delta{\rm Cov}_{ij}|\le |\rho_{ij}|^{K+1}\sqrt{R_iR_j}` reported. Cumulants
    :math:`n\ge3` are zero by construction.

``"hermite"`` (expanding the activation, eq. 3.6)
    Every unit's activation is replaced by its degree-:math:`K` Hermite expansion around the exact
    mean :math:`\mu_i` and standard deviation :math:`\sigma_i` of its pre-activation,
    :math:`\phi(z)\approx\sum_{k\le K} a_k^{(i)}{\rm He}_k((z-\mu_i)/\sigma_i)` (the best degree-:math:`K`
    polynomial in :math:`L^2` of :math:`N(\mu_i,\sigma_i^2)`), and the network is then propagated
    exactly; ``max_degree`` caps the growth of the degree with depth by least-squares projection
    (eq. 3.6b). Reported: the fraction :math:`R_i/{\rm Var}` of each unit's activation variance the
    truncation leaves out, and (``estimate_error=True``) the change from :math:`K` to :math:`K+2`.
    Reliable only for near-Gaussian, light-tailed inputs and low orders: a polynomial that fits
    :math:`\phi` in the bulk grows without bound in the tails, and the higher output cumulants weigh
    the tails most (the chapter shows where it breaks down).

``"quadrature"`` (expanding the input law, eq. 3.7)
    The law of one site is replaced by the discrete law on :math:`m` atoms that shares its first
    :math:`2m-1` cumulants, its Gauss rule (:func:`gauss_rule`; Gauss-Hermite for Gaussian sites),
    and the network itself is evaluated on the :math:`m^b` product nodes. This equals the expansion
    of :math:`f` in the orthogonal polynomials of the input law to degree :math:`2m-1` per site, so it
    is exact for networks of degree :math:`d` per site (:math:`d = 2^D` for quadratic networks of depth
    :math:`D`) once :math:`2m-1\ge dn`, and converges fast for smooth
    activations (tanh, SiLU, GELU) and more slowly for ReLU; the error is reported as the change
    from :math:`m-1` to :math:`m` nodes. Needs i.i.d. inputs.

Everything works on whole ensembles (a leading member axis ``E``) in float64, reads the weights of
Chapter 2's models directly (``model.layers()``; antisymmetrised members
:math:`f(s)=[g(s)-g(-s)]/2` are rewritten exactly as plain networks of twice the width,
:func:`antisymmetrised_layers`) and is differentiable in the input cumulants, which
:func:`cumulant_flow` and :func:`flow_fixed_point` use for the learned map's flow in cumulant space
(eq. 3.2): disjoint blocks make the sites of the next level i.i.d. again, so one learned step maps the
single-site cumulants :math:`(\kappa_1..\kappa_K)` to new ones. The map closes exactly only with all
orders: :func:`cumulant_map` sets input cumulants above the closure order to zero (differentiable, used
for Jacobians and fixed points near the Gaussian), and :func:`quadrature_flow` carries every level as
its :math:`m`-atom Gauss rule, which stays a genuine law over many steps (eq. 3.8). The functions at
the end (:func:`prediction_table`, :func:`flow_table`, :func:`eigen_table`) apply all of this to a
whole sweep of Chapter 2.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import product
from typing import Sequence

import numpy as np
import torch

from .config import check_choice
from .cumulants import cumulants_to_moments, moments_to_cumulants

METHODS = ("exact", "gaussian", "hermite", "quadrature")
"""The ways of propagating cumulants through a network (module docstring, eqs. 3.4-3.7)."""

GH_NODES = 96
"""Gauss-Hermite nodes used for the one-dimensional Gaussian expectations of an activation."""

MAX_NODES = 24
"""Most nodes per input of the ``quadrature`` method (far from Gaussian, moment-matched Gauss rules lose
accuracy well before this)."""

DTYPE = torch.float64

# ================================================================================================
# Multivariate polynomials in the b block inputs
# ================================================================================================
# A polynomial of total degree <= D in b variables is a vector of coefficients over the monomials
# delta^alpha, |alpha| <= D, in *graded* order (all of degree 0, then degree 1, ...): the basis of
# degree D is a prefix of the basis of every higher degree, so polynomials of different degree
# share indices.


def n_monomials(b: int, degree: int) -> int:
    """Number of monomials of total degree ``<= degree`` in ``b`` variables, :math:`\\binom{D+b}{b}`."""
    return math.comb(degree + b, b)


def _compositions(d: int, b: int):
    if b == 1:
        yield (d,)
        return
    for first in range(d, -1, -1):
        for rest in _compositions(d - first, b - 1):
            yield (first,) + rest


@lru_cache(maxsize=None)
def monomial_basis(b: int, degree: int) -> np.ndarray:
    """Exponents :math:`\\alpha` of the monomials of total degree ``<= degree``: ``(n_monomials, b)``,
    graded order (degree 0 first; within a degree, lexicographically descending)."""
    rows = [c for d in range(degree + 1) for c in _compositions(d, b)]
    return np.asarray(rows, dtype=np.int64).reshape(-1, b)


@lru_cache(maxsize=None)
def _mul_table(b: int, d1: int, d2: int, dmax: int):
    """Index triples ``(ia, ib, ic)`` with :math:`\\alpha_{ia}+\\alpha_{ib}=\\alpha_{ic}`, total degree <= dmax."""
    dout = min(d1 + d2, dmax)
    B1, B2, Bo = monomial_basis(b, d1), monomial_basis(b, d2), monomial_basis(b, dout)
    radix = dout + 1
    weights = radix ** np.arange(b, dtype=np.int64)
    key_out = Bo @ weights
    order = np.argsort(key_out)
    sums = B1[:, None, :] + B2[None, :, :]
    ia, ib = np.nonzero(sums.sum(-1) <= dout)
    keys = sums[ia, ib] @ weights
    ic = order[np.searchsorted(key_out[order], keys)]
    return torch.from_numpy(ia), torch.from_numpy(ib), torch.from_numpy(ic), dout


def poly_mul(a: torch.Tensor, da: int, c: torch.Tensor, dc: int, b: int, dmax: int | None = None):
    """Product of polynomials ``a`` ``(..., n_monomials(b, da))`` and ``c`` ``(..., n_monomials(b, dc))``
    (leading axes broadcast), truncated at total degree ``dmax``. Returns ``(coeffs, degree)``.

    Exact sums of products (no FFT), so vanishing coefficients stay exactly zero."""
    dmax = da + dc if dmax is None else dmax
    ia, ib, ic, dout = _mul_table(b, da, dc, dmax)
    dev = a.device
    ia, ib, ic = ia.to(dev), ib.to(dev), ic.to(dev)
    src = torch.index_select(a, -1, ia) * torch.index_select(c, -1, ib)
    out = torch.zeros(src.shape[:-1] + (n_monomials(b, dout),), dtype=src.dtype, device=dev)
    return out.index_add(-1, ic, src), dout


def _take(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``x[..., idx]`` for an integer index array of any shape (``index_select``: far faster than
    advanced indexing on small tensors)."""
    return torch.index_select(x, -1, idx.reshape(-1)).reshape(x.shape[:-1] + idx.shape)


def poly_expect(p: torch.Tensor, degree: int, moments: torch.Tensor) -> torch.Tensor:
    """:math:`E[p(\\delta)]` from the raw joint moments ``moments`` ``(..., n >= n_monomials(b, degree))``."""
    n = p.shape[-1]
    return (p * moments[..., :n]).sum(-1)


def _poly_pow_list(p, degree, b, kmax):
    """``[p^1, ..., p^kmax]`` with their degrees."""
    out = [(p, degree)]
    for _ in range(kmax - 1):
        q, dq = out[-1]
        out.append(poly_mul(q, dq, p, degree, b))
    return out


# ================================================================================================
# The input law: joint cumulants of the b block inputs
# ================================================================================================


@dataclass
class InputCumulants:
    r"""Joint cumulants of the ``b`` inputs of a block, up to order :attr:`order`.

    ``mean`` ``(E', b)`` and either ``iid`` ``(E', order)`` (i.i.d. inputs: :math:`\kappa_1..\kappa_M`
    of one site) or ``tensors`` (general inputs: ``tensors[n-1]`` is the order-``n`` joint cumulant
    tensor :math:`\kappa^{(n)}` of shape ``(E', b, ..., b)``, ``n = 1..M``). ``E'`` is 1 (shared by all
    members) or the ensemble size. Build with :func:`iid_inputs`, :func:`law_inputs` or
    :func:`tensor_inputs`.
    """

    b: int
    order: int
    mean: torch.Tensor
    iid: torch.Tensor | None = None
    tensors: list | None = None
    source: str = ""
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_members(self) -> int:
        return self.mean.shape[0]

    def cov(self) -> torch.Tensor:
        """Covariance matrix :math:`\\kappa^{(2)}` ``(E', b, b)``."""
        if self.order < 2:
            raise ValueError(f"the covariance needs input cumulants up to order 2; only {self.order} supplied")
        if self.iid is not None:
            eye = torch.eye(self.b, dtype=self.iid.dtype, device=self.iid.device)
            return self.iid[:, 1, None, None] * eye
        return self.tensors[1]

    def moments(self, degree: int, *, need: str = "") -> torch.Tensor:
        r"""Raw joint moments :math:`E[\delta^\alpha]` of the centred inputs :math:`\delta = s - \kappa_1`
        for :math:`|\alpha|\le` ``degree``: ``(E', n_monomials(b, degree))``.

        Moments of order ``m`` need cumulants up to ``m``; asking for more than :attr:`order` is an error.
        """
        if degree > self.order:
            why = f" ({need})" if need else ""
            raise ValueError(
                f"moments up to order {degree} of the inputs are needed{why}, but input cumulants were "
                f"supplied only up to order {self.order} ({self.source or 'given'}); supply cumulants up to "
                f"order {degree}")
        if degree in self._cache:
            return self._cache[degree]
        B = torch.from_numpy(monomial_basis(self.b, degree)).to(self.mean.device)
        if self.iid is not None:
            m1 = iid_raw_moments(self.iid[:, :degree], centred=True)  # (E', degree+1)
            mom = _take(m1, B).prod(-1)  # (E', n, b) -> (E', n)
        else:
            mom = self._moments_general(degree, B)
        self._cache[degree] = mom
        return mom

    def _moments_general(self, degree, B):
        # M(t) = exp(K(t)), K(t) = sum_{2<=|alpha|} kappa_alpha t^alpha / alpha!  (centred inputs)
        E = self.n_members
        n = n_monomials(self.b, degree)
        K = torch.zeros(E, n, dtype=DTYPE, device=self.mean.device)
        fact = torch.tensor([math.prod(math.factorial(int(a)) for a in row) for row in B.cpu().numpy()],
                            dtype=DTYPE, device=self.mean.device)
        Bn = B.cpu().numpy()
        for i, alpha in enumerate(Bn):
            m = int(alpha.sum())
            if m < 2:
                continue
            idx = tuple(k for k in range(self.b) for _ in range(int(alpha[k])))
            K[:, i] = self.tensors[m - 1][(slice(None),) + idx]
        K = K / fact
        M = torch.zeros_like(K)
        M[:, 0] = 1.0
        term = M.clone()
        for j in range(1, degree // 2 + 1):  # K has no terms below degree 2
            term, _ = poly_mul(term, degree, K, degree, self.b, degree)
            M = M + term / math.factorial(j)
        return M * fact


def iid_raw_moments(kappa: torch.Tensor, centred: bool = False) -> torch.Tensor:
    r"""Raw moments :math:`\mu'_0..\mu'_M` of one site from its cumulants ``kappa`` ``(E, M)``, by
    :math:`\mu'_n = \sum_{j=1}^{n}\binom{n-1}{j-1}\kappa_j\mu'_{n-j}` (``centred``: with
    :math:`\kappa_1` set to 0). Returns ``(E, M + 1)``; vectorised over the members, differentiable."""
    k = kappa.clone() if centred else kappa
    if centred:
        k = torch.cat([torch.zeros_like(k[:, :1]), k[:, 1:]], -1)
    M = k.shape[-1]
    C = _binomials(M).to(device=k.device, dtype=k.dtype)
    mu = [torch.ones_like(k[:, 0])]
    for n in range(1, M + 1):
        prev = torch.stack(mu[::-1], -1)  # mu_{n-1}, ..., mu_0
        mu.append((C[n - 1, :n] * k[:, :n] * prev).sum(-1))
    return torch.stack(mu, -1)


@lru_cache(maxsize=None)
def _binomials(M: int) -> torch.Tensor:
    """``C[n-1, j-1] = binom(n-1, j-1)`` for ``1 <= j <= n <= M`` (float64)."""
    return torch.tensor([[math.comb(n - 1, j - 1) if j <= n else 0 for j in range(1, M + 1)]
                         for n in range(1, M + 1)], dtype=DTYPE)


def _as_members(x, name) -> torch.Tensor:
    x = torch.as_tensor(x, dtype=DTYPE)
    if x.dim() == 1:
        x = x.unsqueeze(0)
    if x.dim() != 2:
        raise ValueError(f"{name} must have shape (order,) or (E, order), got {tuple(x.shape)}")
    return x


def iid_inputs(kappa, b: int) -> InputCumulants:
    r"""I.i.d. inputs: ``kappa`` = :math:`(\kappa_1, \dots, \kappa_M)` of one site, shape ``(M,)`` or ``(E, M)``."""
    _check_b(b)
    k = _as_members(kappa, "kappa")
    if k.shape[-1] < 1:
        raise ValueError("kappa must hold at least kappa_1")
    if not torch.isfinite(k).all():
        raise ValueError("input cumulants must be finite")
    if k.shape[-1] >= 2 and (k[:, 1] < 0).any():
        raise ValueError("the input variance kappa_2 must be >= 0")
    mean = k[:, :1].expand(-1, b).clone()
    return InputCumulants(b=b, order=k.shape[-1], mean=mean, iid=k, source="i.i.d. cumulants")


def law_inputs(law, b: int, order: int) -> InputCumulants:
    """I.i.d. inputs from a base law of :mod:`rgsym.distributions` (a name or a law), cumulants up to ``order``."""
    from .distributions import get_law

    law = get_law(law)
    if order > 2 and order >= law.max_order:
        raise ValueError(
            f"input cumulants up to order {order} are needed, but {law.name} has finite cumulants only "
            f"below order {law.max_order:g}; propagate fewer orders or use a shallower network")
    inp = iid_inputs(law.cumulants(order), b)
    inp.source = f"law {law.name}"
    return inp


def tensor_inputs(tensors: Sequence) -> InputCumulants:
    r"""General inputs from their joint cumulant tensors ``[kappa^(1) (b,), kappa^(2) (b, b), ...]``, each
    optionally with a leading member axis (must be symmetric)."""
    tensors = [torch.as_tensor(t, dtype=DTYPE) for t in tensors]
    if not tensors:
        raise ValueError("need at least the mean vector")
    t1 = tensors[0]
    batched = t1.dim() == 2
    out = []
    for n, t in enumerate(tensors, start=1):
        if not batched:
            t = t.unsqueeze(0)
        if t.dim() != n + 1 or len(set(t.shape[1:])) != 1:
            raise ValueError(f"the order-{n} cumulant tensor must have shape (E, b{', b' * (n - 1)}), got {tuple(t.shape)}")
        out.append(t)
    b = out[0].shape[-1]
    _check_b(b)
    for n, t in enumerate(out, start=1):
        if t.shape[-1] != b:
            raise ValueError(f"all cumulant tensors must have dimension b={b}; order {n} has {t.shape[-1]}")
        if n >= 2:
            tt = t.transpose(1, 2)
            if not torch.allclose(t, tt, atol=1e-12, rtol=1e-9):
                raise ValueError(f"the order-{n} cumulant tensor is not symmetric")
    E = max(t.shape[0] for t in out)
    out = [t.expand(E, *t.shape[1:]) for t in out]
    return InputCumulants(b=b, order=len(out), mean=out[0].clone(), tensors=out, source="cumulant tensors")


def _check_b(b):
    if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1:
        raise ValueError(f"b must be a positive integer, got {b!r}")


# ================================================================================================
# Networks
# ================================================================================================


@dataclass
class Network:
    r"""A plain MLP of ``E`` members with one activation: ``layers[k] = (W, c)``, ``W`` ``(E, out, in)``,
    ``c`` ``(E, out)``; :math:`\phi` follows every layer but the last (``out = 1``)."""

    layers: list
    activation: object

    @property
    def b(self) -> int:
        return self.layers[0][0].shape[-1]

    @property
    def n_members(self) -> int:
        return self.layers[0][0].shape[0]


def _poly_coeffs(act) -> tuple | None:
    c = getattr(act, "poly_coeffs", None)
    if c is None:
        return None
    c = [float(x) for x in c]
    while len(c) > 1 and c[-1] == 0.0:
        c.pop()
    return tuple(c)


def _act_name(act) -> str:
    return getattr(act, "name", getattr(act, "__name__", repr(act)))


def antisymmetrised_layers(layers):
    r"""Layers of the plain network of width :math:`2H` that equals :math:`f(s) = [g(s) - g(-s)]/2`
    exactly, where ``layers`` are those of :math:`g`: first layer :math:`[W; -W]`, hidden layers
    block-diagonal, last layer :math:`[W/2, -W/2]` without bias."""
    out = []
    n = len(layers)
    for k, (W, c) in enumerate(layers):
        W, c = W.to(DTYPE), c.to(DTYPE)
        if k == 0 and n == 1:  # a purely affine map: its odd part drops the bias
            out.append((W, torch.zeros_like(c)))
        elif k == 0:
            out.append((torch.cat([W, -W], 1), torch.cat([c, c], 1)))
        elif k == n - 1:
            out.append((torch.cat([W, -W], 2) / 2, torch.zeros_like(c)))
        else:
            Z = torch.zeros_like(W)
            out.append((torch.cat([torch.cat([W, Z], 2), torch.cat([Z, W], 2)], 1), torch.cat([c, c], 1)))
    return out


def as_networks(model, activation=None, antisymmetrised: bool | None = None):
    r"""Normalise a model to a list of ``(member_indices, Network)`` groups, one per activation.

    ``model`` is an ensemble with ``.layers()`` (Chapter 2's :class:`rgsym.models.EnsembleMLP`, whose
    members may differ in activation and antisymmetrisation) or a list of ``(W, c)`` with an
    ``activation`` (an :class:`rgsym.activations.Activation` or a name). Antisymmetrised members are
    rewritten with :func:`antisymmetrised_layers`.
    """
    if hasattr(model, "layers") and callable(model.layers):
        with torch.no_grad():
            layers = [(W.detach().to(DTYPE), c.detach().to(DTYPE)) for W, c in model.layers()]
        acts = list(getattr(model, "member_activations", None) or [model.activation] * layers[0][0].shape[0])
        anti = list(getattr(model, "member_antisymmetrised", None)
                    or [bool(getattr(model, "antisymmetrised", False))] * len(acts))
        if activation is not None or antisymmetrised is not None:
            raise ValueError("activation/antisymmetrised are read from the model; do not pass them")
    else:
        layers = [(torch.as_tensor(W, dtype=DTYPE), torch.as_tensor(c, dtype=DTYPE)) for W, c in model]
        if activation is None:
            raise ValueError("pass the activation with a list of layers")
        if isinstance(activation, str):
            from .activations import get_activation

            activation = get_activation(activation)
        E = layers[0][0].shape[0]
        acts = [activation] * E
        anti = [bool(antisymmetrised)] * E
    _check_layers(layers)
    groups = {}
    for i, (a, s) in enumerate(zip(acts, anti)):
        groups.setdefault((_act_key(a), s), (a, s, []))[2].append(i)
    out = []
    for a, s, idx in groups.values():
        t = torch.tensor(idx)
        sub = [(W[t], c[t]) for W, c in layers] if len(idx) != len(acts) else layers
        if s:
            sub = antisymmetrised_layers(sub)
        out.append((idx, Network(sub, a)))
    return out


def _act_key(a):
    return (_act_name(a), float(getattr(a, "alpha", 0.0) or 0.0), _poly_coeffs(a))


def _check_layers(layers):
    if not layers:
        raise ValueError("a network needs at least one layer")
    E = layers[0][0].shape[0]
    prev = layers[0][0].shape[-1]
    for k, (W, c) in enumerate(layers):
        if W.dim() != 3 or c.dim() != 2 or W.shape[0] != E or c.shape[0] != E:
            raise ValueError(f"layer {k}: expected W (E, out, in) and c (E, out), got {tuple(W.shape)}, {tuple(c.shape)}")
        if W.shape[-1] != prev or c.shape[-1] != W.shape[1]:
            raise ValueError(f"layer {k}: shapes do not chain ({tuple(W.shape)} after width {prev})")
        prev = W.shape[1]
    if prev != 1:
        raise ValueError(f"the last layer must have one output (a block map), got {prev}")


# ================================================================================================
# Hermite expansions of an activation around a Gaussian
# ================================================================================================


@lru_cache(maxsize=None)
def _gauss_hermite(n: int):
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return torch.from_numpy(x), torch.from_numpy(w / w.sum())


@lru_cache(maxsize=None)
def _hermite_values(n: int, K: int):
    """``He_k(x_q)`` at the Gauss-Hermite nodes, ``(K+1, n)``."""
    x, _ = _gauss_hermite(n)
    H = [torch.ones_like(x), x.clone()]
    for k in range(1, K):
        H.append(x * H[k] - k * H[k - 1])
    return torch.stack(H[: K + 1])


def hermite_coefficients(activation, mean: torch.Tensor, std: torch.Tensor, order: int, nodes: int = GH_NODES):
    r"""Hermite coefficients of :math:`x\mapsto\phi(\mu + \sigma x)` under :math:`x\sim N(0,1)`:
    :math:`\phi(\mu+\sigma x) = \sum_k a_k{\rm He}_k(x)`, :math:`a_k = E[\phi\,{\rm He}_k]/k!` (eq. 3.6).

    ``mean``, ``std`` of any shape ``S``; returns ``(a, var)``: ``a`` ``S + (order+1,)`` and the exact
    Gaussian variance :math:`{\rm Var}\,\phi(\mu+\sigma x)` ``S`` (``nodes``-point Gauss-Hermite
    quadrature, exact for polynomials of degree < 2 ``nodes``)."""
    x, w = _gauss_hermite(nodes)
    x, w = x.to(mean.device), w.to(mean.device)
    H = _hermite_values(nodes, order).to(mean.device)
    fact = torch.tensor([math.factorial(k) for k in range(order + 1)], dtype=DTYPE, device=mean.device)
    y = activation(mean.unsqueeze(-1) + std.unsqueeze(-1) * x)  # S + (nodes,)
    a = torch.einsum("...q,kq->...k", y * w, H) / fact
    ey = (y * w).sum(-1)
    var = ((y - ey.unsqueeze(-1)) ** 2 * w).sum(-1)
    return a, var


# ================================================================================================
# Propagation
# ================================================================================================


@dataclass
class Propagation:
    r"""Output cumulants predicted by :func:`propagate`.

    ``kappa`` ``(E, order)``: :math:`\kappa'_1..\kappa'_{\rm order}` of :math:`f(s)` per member.
    ``error`` ``(E, order)`` or ``None``: the estimated truncation error (``hermite`` with
    ``estimate_error=True``: :math:`|\kappa'(K+2)-\kappa'(K)|`; ``gaussian``: the bound on the
    output variance from the Mehler truncation of the last activation, zero for polynomial
    activations; it does not include the error of dropping cumulants of order >= 3). ``residual``
    ``(E, n_hidden)`` or ``None``: per hidden layer, the largest fraction of a unit's activation
    variance left out by the Hermite truncation. ``input_order``: the input cumulant order used.
    """

    kappa: torch.Tensor
    method: str
    order: int
    input_order: int
    error: torch.Tensor | None = None
    residual: torch.Tensor | None = None
    info: dict = field(default_factory=dict)


def _check_order(order):
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise ValueError(f"order must be an integer >= 1, got {order!r}")
    return int(order)


def _plan(net: Network, method: str, hermite_order: int, max_degree: int | None, order: int):
    """Degrees of the pre-activations of every layer and the input cumulant order needed.

    ``exact``: degree multiplies by the activation's degree ``p`` at every hidden layer; output order
    ``n`` needs ``D n``. ``hermite``: by ``K``, capped at ``max_degree`` by projection (which needs
    moments up to ``P + K d``); the unit means/variances need twice each pre-activation degree."""
    if method == "exact":
        coeffs = _poly_coeffs(net.activation)
        if coeffs is None:
            raise ValueError(
                f"method 'exact' needs a polynomial activation, got {_act_name(net.activation)!r}; valid "
                f"methods for it are 'gaussian', 'hermite' and 'quadrature'")
        p = max(len(coeffs) - 1, 1)
    else:
        p = _hermite_degree(net, hermite_order)
    degs, need, d = [], 1, 1
    n_layers = len(net.layers)
    for k in range(n_layers):
        degs.append(d)
        if k == n_layers - 1:
            break
        if method == "hermite":
            need = max(need, 2 * d)
        d_act = d * p
        if method == "hermite" and max_degree is not None and d_act > max_degree:
            need = max(need, max_degree + d_act, 2 * max_degree)
            d_act = max_degree
        d = d_act
    need = max(need, degs[-1] * order)
    return degs, need


def _hermite_degree(net: Network, K: int) -> int:
    """The Hermite expansion of a polynomial activation of degree ``p <= K`` ends at ``p``."""
    coeffs = _poly_coeffs(net.activation)
    return min(K, max(len(coeffs) - 1, 1)) if coeffs is not None else K


def required_input_order(model, order: int, method: str = "exact", *, hermite_order: int = 5,
                         max_degree: int | None = None, nodes: int = 8, activation=None,
                         antisymmetrised=None) -> int:
    r"""Highest input cumulant order that :func:`propagate` needs for output order ``order``.

    ``exact``: a network of total polynomial degree :math:`D` needs :math:`D\cdot n`; ``hermite``:
    the same with the degree of the Hermite-expanded network (capped at ``max_degree``), and at least
    twice the degree of every pre-activation; ``quadrature``: :math:`2m-1`; ``gaussian``: 2."""
    order = _check_order(order)
    check_choice("method", method, METHODS)
    if method == "gaussian":
        return 2
    if method == "quadrature":
        return max(2 * _check_int("nodes", nodes, 1, MAX_NODES) - 1, 2)
    need = 1
    for _, net in as_networks(model, activation, antisymmetrised):
        need = max(need, _plan(net, method, hermite_order, max_degree, order)[1])
    return need


def propagate(model, inputs: InputCumulants, order: int = 4, method: str = "exact", *,
              activation=None, antisymmetrised: bool | None = None, hermite_order: int = 5,
              max_degree: int | None = None, nodes: int = 8, estimate_error: bool = False) -> Propagation:
    r"""Output cumulants :math:`\kappa'_1..\kappa'_{\rm order}` of the block map ``model`` for ``inputs``.

    ``model``: an ensemble with ``.layers()`` (Chapter 2) or a list of ``(W, c)`` plus ``activation``;
    ``inputs``: an :class:`InputCumulants` (``(E', ...)`` with ``E'`` 1 or ``E``); ``method`` one of
    :data:`METHODS` (module docstring).

    * ``hermite``: ``hermite_order`` :math:`K` of the activation's expansion and ``max_degree``
      :math:`P`: a unit whose polynomial in the inputs would exceed degree :math:`P` is replaced by
      its least-squares projection onto degree :math:`\le P` under the input law (eq. 3.6b).
    * ``quadrature``: ``nodes`` :math:`m` per input of the moment-matched Gauss rule (needs input
      cumulants up to :math:`2m-1`; i.i.d. inputs).
    * ``estimate_error=True``: ``error`` holds the change of the result with the truncation order
      (``hermite``: :math:`|\kappa'(K+2)-\kappa'(K)|`, two orders as odd and even terms alternate; ``quadrature``: :math:`|\kappa'(m)-\kappa'(m-1)|`);
      ``gaussian`` always reports its bound.

    Raises a ``ValueError`` before any heavy work when the method does not apply or the inputs lack
    the orders needed (:func:`required_input_order`). Returns a :class:`Propagation`, ``kappa`` ``(E, order)``.
    """
    order = _check_order(order)
    check_choice("method", method, METHODS)
    if not isinstance(inputs, InputCumulants):
        raise TypeError("inputs must be an InputCumulants (use iid_inputs, law_inputs or tensor_inputs)")
    _check_int("hermite_order", hermite_order, 1)
    _check_int("nodes", nodes, 1, MAX_NODES)
    if max_degree is not None:
        _check_int("max_degree", max_degree, 1)
    groups = as_networks(model, activation, antisymmetrised)
    E = sum(len(i) for i, _ in groups)
    if inputs.n_members not in (1, E):
        raise ValueError(f"inputs hold {inputs.n_members} members; the model has {E}")
    b = groups[0][1].b
    if inputs.b != b:
        raise ValueError(f"the model takes blocks of b={b} inputs; the input cumulants are for b={inputs.b}")
    if method == "quadrature":
        if inputs.iid is None:
            raise ValueError("method 'quadrature' needs i.i.d. inputs (a product rule); for general cumulant "
                             "tensors use 'exact' or 'gaussian'")
        need = max(2 * nodes - 1, 2)
    elif method == "gaussian":
        need = 2
    else:
        orders = [hermite_order, hermite_order + 2] if (estimate_error and method == "hermite") else [hermite_order]
        need = max(_plan(net, method, K, max_degree, order)[1] for _, net in groups for K in orders)
    if need > inputs.order:
        raise ValueError(
            f"output cumulants up to order {order} with method {method!r} need input cumulants up to order "
            f"{need}, but only {inputs.order} were supplied ({inputs.source or 'given'})")

    dev = inputs.mean.device
    kappa = torch.zeros(E, order, dtype=DTYPE, device=dev)
    error = torch.zeros(E, order, dtype=DTYPE, device=dev) if (method == "gaussian" or estimate_error) else None
    n_hidden = len(groups[0][1].layers) - 1
    residual = torch.zeros(E, n_hidden, dtype=DTYPE, device=dev) if method in ("hermite", "gaussian") else None
    for idx, net in groups:
        t = torch.tensor(idx, device=dev)
        sub = _select_inputs(inputs, t, E)
        net = Network([(W.to(dev), c.to(dev)) for W, c in net.layers], net.activation)
        if method == "gaussian":
            k, err, res = _propagate_gaussian(net, sub, order, hermite_order)
            error[t] = err
        elif method == "quadrature":
            k = _propagate_quadrature(net, sub, order, nodes)
            res = None
            if estimate_error:
                error[t] = (k - _propagate_quadrature(net, sub, order, nodes - 1)).abs() if nodes > 1 \
                    else torch.full_like(k, float("inf"))
        else:
            k, res = _propagate_poly(net, sub, order, method, hermite_order, max_degree)
            if estimate_error:
                if method == "hermite":
                    k2, _ = _propagate_poly(net, sub, order, method, hermite_order + 2, max_degree)
                    error[t] = (k2 - k).abs()
                else:
                    error[t] = 0.0
        kappa[t] = k
        if residual is not None and res is not None:
            residual[t] = res
    info = {"exact": {}, "gaussian": {"hermite_order": hermite_order},
            "hermite": {"hermite_order": hermite_order, "max_degree": max_degree},
            "quadrature": {"nodes": nodes}}[method]
    return Propagation(kappa=kappa, method=method, order=order, input_order=need, error=error,
                       residual=residual, info=info)


def _check_int(name, val, lo, hi=None):
    if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < lo or (hi is not None and val > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be an integer {rng}, got {val!r}")
    return int(val)


def _select_inputs(inputs: InputCumulants, t, E) -> InputCumulants:
    if inputs.n_members == 1 or len(t) == E and bool((t == torch.arange(E, device=t.device)).all()):
        return inputs
    return InputCumulants(b=inputs.b, order=inputs.order, mean=inputs.mean[t],
                          iid=None if inputs.iid is None else inputs.iid[t],
                          tensors=None if inputs.tensors is None else [x[t] for x in inputs.tensors],
                          source=inputs.source)


def _first_layer(W, c, mean):
    """Pre-activations of the first layer as polynomials of degree 1 in the centred inputs."""
    const = c + torch.einsum("eoi,ei->eo", W, mean.expand(W.shape[0], -1))
    return torch.cat([const.unsqueeze(-1), W], -1)  # (E, out, 1 + b): constant, then delta_1..delta_b


def _apply_poly(z, dz, coeffs, b):
    """:math:`\\sum_k c_k z^k` by Horner's rule; ``z`` ``(..., n)``, returns ``(y, degree)``."""
    p = len(coeffs) - 1
    y = torch.zeros_like(z[..., :1]) + coeffs[p]
    dy = 0
    for k in range(p - 1, -1, -1):
        y, dy = poly_mul(y, dy, z, dz, b)
        y = y.clone()
        y[..., 0] = y[..., 0] + coeffs[k]
    return y, dy


def _hermite_poly(z, dz, act, K, b, moments):
    """Degree-K Hermite expansion of ``act`` around each unit's exact mean/std (eq. 3.6)."""
    mean = poly_expect(z, dz, moments)
    zc = z.clone()
    zc[..., 0] = zc[..., 0] - mean
    z2, d2 = poly_mul(zc, dz, zc, dz, b)
    var = poly_expect(z2, d2, moments).clamp_min(0.0)
    std = var.sqrt()
    a, vphi = hermite_coefficients(act, mean, std, K)
    x = zc / std.clamp_min(1e-7).unsqueeze(-1)
    # y = sum_k a_k He_k(x) via the three-term recurrence on polynomials
    H_prev = torch.zeros_like(x[..., :1]) + 1.0
    y = a[..., 0:1] * H_prev
    H, dH = x, dz
    for k in range(1, K + 1):
        y = _padd(y, a[..., k:k + 1] * H)
        if k < K:
            xH, dxH = poly_mul(x, dz, H, dH, b)
            H, H_prev, dH = _padd(xH, -k * H_prev), H, dxH
    fact = torch.tensor([math.factorial(k) for k in range(K + 1)], dtype=DTYPE, device=z.device)
    captured = (a[..., 1:] ** 2 * fact[1:]).sum(-1)
    resid = torch.where(vphi > 0, (1 - captured / vphi.clamp_min(1e-300)).clamp_min(0.0), torch.zeros_like(vphi))
    return y, dz * K, resid


def _padd(p, q):
    """Sum of two polynomials of possibly different degree (graded bases share their prefix)."""
    if p.shape[-1] < q.shape[-1]:
        p, q = q, p
    out = p.clone()
    out[..., : q.shape[-1]] = out[..., : q.shape[-1]] + q
    return out


@lru_cache(maxsize=None)
def _sum_index(b: int, d1: int, d2: int) -> torch.Tensor:
    """``(n_monomials(b, d1), n_monomials(b, d2))`` indices of :math:`\alpha+\beta` in the degree-``d1+d2`` basis."""
    B1, B2, Bo = monomial_basis(b, d1), monomial_basis(b, d2), monomial_basis(b, d1 + d2)
    weights = (d1 + d2 + 1) ** np.arange(b, dtype=np.int64)
    key_out = Bo @ weights
    order = np.argsort(key_out)
    keys = (B1[:, None, :] + B2[None, :, :]) @ weights
    return torch.from_numpy(order[np.searchsorted(key_out[order], keys)])


def project_degree(y: torch.Tensor, dy: int, P: int, b: int, moments: torch.Tensor, rcond: float = 1e-12):
    r"""Least-squares projection of polynomials ``y`` ``(E, U, n_monomials(b, dy))`` onto total degree
    ``<= P`` under the input law (eq. 3.6b): :math:`\hat y = \arg\min_{\deg q\le P} E[(y-q)^2]`,
    from the normal equations :math:`G\hat y = r`, :math:`G_{\alpha\beta}=E[\delta^{\alpha+\beta}]`,
    :math:`r_\alpha = E[\delta^\alpha y]`, solved by a diagonally scaled pseudo-inverse (degenerate
    laws such as :math:`\pm1` spins have singular :math:`G`). ``moments`` ``(E', >= n_monomials(b, P + dy))``."""
    G = _take(moments, _sum_index(b, P, P).to(moments.device))  # (E', nP, nP)
    M = _take(moments, _sum_index(b, P, dy).to(moments.device))  # (E', nP, ny)
    r = torch.einsum("eun,ean->eua", y, M.expand(y.shape[0], -1, -1))
    d = torch.diagonal(G, dim1=-2, dim2=-1).clamp_min(1e-300).rsqrt()
    Gs = G * d.unsqueeze(-1) * d.unsqueeze(-2)
    evals, evecs = torch.linalg.eigh(Gs)
    keep = evals > rcond * evals.amax(-1, keepdim=True)
    inv = torch.where(keep, 1.0 / torch.where(keep, evals, torch.ones_like(evals)), torch.zeros_like(evals))
    Gp = (evecs * inv.unsqueeze(-2)) @ evecs.transpose(-1, -2)
    Gp = Gp * d.unsqueeze(-1) * d.unsqueeze(-2)  # (E', nP, nP)
    return torch.einsum("eab,eub->eua", Gp.expand(y.shape[0], -1, -1), r)


def _propagate_poly(net: Network, inputs: InputCumulants, order: int, method: str, K: int,
                    max_degree: int | None):
    b = net.b
    _, need = _plan(net, method, K, max_degree, order)
    K = _hermite_degree(net, K)
    moments = inputs.moments(need)
    coeffs = _poly_coeffs(net.activation)
    residuals = []
    W, c = net.layers[0]
    z, dz = _first_layer(W, c, inputs.mean), 1
    for W, c in net.layers[1:]:
        if method == "exact":
            h, dh = _apply_poly(z, dz, coeffs, b)
        else:
            h, dh, res = _hermite_poly(z, dz, net.activation, K, b, moments)
            residuals.append(res.max(-1).values)
            if max_degree is not None and dh > max_degree:
                h, dh = project_degree(h, dh, max_degree, b, moments), max_degree
        z = torch.einsum("eoi,ein->eon", W, h)
        z = z.clone()
        z[..., 0] = z[..., 0] + c
        dz = dh
    f = z[:, 0, :]
    res = torch.stack(residuals, -1) if residuals else None
    return output_cumulants(f, dz, b, moments, order), res


def output_cumulants(f: torch.Tensor, degree: int, b: int, moments: torch.Tensor, order: int) -> torch.Tensor:
    r"""Cumulants :math:`\kappa_1..\kappa_{\rm order}` of :math:`f(\delta)` for a polynomial ``f``
    ``(E, n_monomials(b, degree))``: central moments :math:`E[(f-Ef)^k]` from the powers of the centred
    polynomial and the input moments, then the moment-cumulant recursion. Returns ``(E, order)``."""
    mean = poly_expect(f, degree, moments)
    fc = f.clone()
    fc[..., 0] = fc[..., 0] - mean
    central = [torch.zeros_like(mean)]
    if order >= 2:
        for p, dp in _poly_pow_list(fc, degree, b, order)[1:]:
            central.append(poly_expect(p, dp, moments))
    kappa = moments_to_cumulants(central)
    kappa[0] = mean
    return torch.stack(kappa, -1)


# -- the Gaussian truncation ----------------------------------------------------------------------


def gaussian_activation(activation, mean: torch.Tensor, cov: torch.Tensor, hermite_order: int | None = None,
                        nodes: int = GH_NODES):
    r"""Mean and covariance of :math:`\phi(z)` for jointly Gaussian :math:`z\sim N(\mu,\Sigma)`
    (eq. 3.5, Mehler's formula), ``mean`` ``(E, H)``, ``cov`` ``(E, H, H)``.

    Polynomial :math:`\phi` of degree :math:`p`: exact (the series ends at :math:`k=p`). Otherwise the
    series is cut at ``hermite_order`` :math:`K` and the diagonal is the exact Gaussian variance.
    Returns ``(mean', cov', bound)`` with ``bound`` ``(E, H, H)`` the truncation bound
    :math:`|\rho_{ij}|^{K+1}\sqrt{R_iR_j}` (zero on the diagonal and for polynomials)."""
    coeffs = _poly_coeffs(activation)
    K = len(coeffs) - 1 if coeffs is not None else (9 if hermite_order is None else int(hermite_order))
    if coeffs is not None:
        nodes = max(nodes, K + 2)
    var = torch.diagonal(cov, dim1=-2, dim2=-1).clamp_min(0.0)
    std = var.sqrt()
    a, vphi = hermite_coefficients(activation, mean, std, K, nodes)
    s = std.clamp_min(1e-150)
    rho = (cov / (s.unsqueeze(-1) * s.unsqueeze(-2))).clamp(-1.0, 1.0)
    fact = torch.tensor([math.factorial(k) for k in range(K + 1)], dtype=DTYPE, device=mean.device)
    out = torch.zeros_like(cov)
    rk = torch.ones_like(rho)
    for k in range(1, K + 1):
        rk = rk * rho
        out = out + fact[k] * a[..., k].unsqueeze(-1) * a[..., k].unsqueeze(-2) * rk
    eye = torch.eye(cov.shape[-1], dtype=torch.bool, device=cov.device)
    out = torch.where(eye, torch.diag_embed(vphi), out)
    R = (vphi - (a[..., 1:] ** 2 * fact[1:]).sum(-1)).clamp_min(0.0)
    if coeffs is not None:
        R = torch.zeros_like(R)
    bound = rho.abs() ** (K + 1) * (R.unsqueeze(-1) * R.unsqueeze(-2)).sqrt()
    bound = torch.where(eye, torch.zeros_like(bound), bound)
    resid = torch.where(vphi > 0, R / vphi.clamp_min(1e-300), torch.zeros_like(vphi))
    return a[..., 0], out, bound, resid


def _propagate_gaussian(net: Network, inputs: InputCumulants, order: int, K: int):
    mean = inputs.mean
    E = net.n_members
    cov = inputs.cov() if inputs.order >= 2 else torch.zeros(1, net.b, net.b, dtype=DTYPE, device=mean.device)
    mean, cov = mean.expand(E, -1), cov.expand(E, -1, -1)
    bound = None
    residuals = []
    for k, (W, c) in enumerate(net.layers):
        if k > 0:
            mean, cov, bound, res = gaussian_activation(net.activation, mean, cov, K)
            residuals.append(res.max(-1).values)
        mean = torch.einsum("eoi,ei->eo", W, mean) + c
        cov = W @ cov @ W.transpose(1, 2)
    kappa = torch.zeros(E, order, dtype=DTYPE, device=mean.device)
    kappa[:, 0] = mean[:, 0]
    if order >= 2:
        kappa[:, 1] = cov[:, 0, 0]
    err = torch.zeros_like(kappa)
    if order >= 2 and bound is not None:
        # the last activation's Mehler truncation, carried through the output layer
        v = net.layers[-1][0].abs()
        err[:, 1] = (v @ bound @ v.transpose(1, 2))[:, 0, 0]
    res = torch.stack(residuals, -1) if residuals else None
    return kappa, err, res


# -- moment-matched Gauss quadrature ------------------------------------------------------------


def gauss_rule(kappa, nodes: int, tol: float = 1e-10):
    r"""The ``nodes``-point Gauss rule of a one-dimensional law given by its cumulants (eq. 3.7).

    ``kappa`` ``(E, M)`` (or ``(M,)``), :math:`M\ge 2m-1`. The law is standardised, its modified moments
    :math:`\nu_k = E[{\rm He}_k(x)]`, :math:`k < 2m`, feed the modified Chebyshev algorithm (Gautschi)
    for the recurrence coefficients of its orthogonal polynomials, and the Golub-Welsch eigenproblem
    gives nodes and weights: the discrete law with :math:`m` atoms whose first :math:`2m-1` moments are
    those of the law (Gauss-Hermite nodes for a Gaussian). Where the moments stop being those of a
    law with more support points (e.g. :math:`\pm1` spins have two), the extra nodes get weight zero.
    Differentiable in ``kappa``. Returns ``(x, w)``, each ``(E, m)``.
    """
    m = _check_int("nodes", nodes, 1, MAX_NODES)
    kappa = _as_members(kappa, "kappa")
    if kappa.shape[-1] < max(2 * m - 1, 2):
        raise ValueError(f"a {m}-point Gauss rule needs cumulants up to order {max(2 * m - 1, 2)}, "
                         f"got {kappa.shape[-1]}")
    mu, var = kappa[:, 0], kappa[:, 1]
    if (var < 0).any():
        raise ValueError("the variance kappa_2 must be >= 0")
    sig = var.clamp_min(0.0).sqrt()
    ss = torch.where(sig > 0, sig, torch.ones_like(sig))
    nmom = 2 * m
    # modified moments nu_k = E[He_k(x)] of the standardised law: sum_k nu_k t^k / k! = exp(K(t) - t^2/2),
    # i.e. the moments of the cumulant sequence (0, 0, lambda_3, lambda_4, ...) -- no cancellation, and
    # exactly zero for a Gaussian
    lam = [torch.zeros_like(mu), torch.zeros_like(mu)]
    lam += [torch.where(sig > 0, kappa[:, n - 1] / ss ** n, torch.zeros_like(mu)) if n <= kappa.shape[-1]
            else torch.zeros_like(mu) for n in range(3, nmom)]
    nu = [torch.ones_like(mu)] + list(cumulants_to_moments(lam))
    bcoef = [float(k) for k in range(nmom)]  # He recurrence: He_{k+1} = x He_k - k He_{k-1}
    zero = torch.zeros_like(mu)
    alpha, beta = [nu[1] / nu[0]], [nu[0]]
    s2, s1 = [zero] * nmom, list(nu)
    alive = sig > 0
    for k in range(1, m):
        cur = [zero] * nmom
        for l in range(k, nmom - k):
            cur[l] = s1[l + 1] - alpha[k - 1] * s1[l] - beta[k - 1] * s2[l] + bcoef[l] * s1[l - 1]
        den_prev = torch.where(alive, s1[k - 1], torch.ones_like(mu))
        bk = cur[k] / den_prev
        ok = alive & (bk > tol)
        den = torch.where(ok, cur[k], torch.ones_like(mu))
        ak = cur[k + 1] / den - s1[k] / den_prev
        alpha.append(torch.where(ok, ak, zero))
        beta.append(torch.where(ok, bk, zero))
        alive = ok
        s2, s1 = s1, cur
    A = torch.stack(alpha, -1)
    if m > 1:
        off = torch.stack(beta[1:], -1).clamp_min(0.0).sqrt()
        J = torch.diag_embed(A) + torch.diag_embed(off, 1) + torch.diag_embed(off, -1)
    else:
        J = torch.diag_embed(A)
    ev, V = torch.linalg.eigh(J)
    w = V[:, 0, :] ** 2
    x = mu.unsqueeze(-1) + sig.unsqueeze(-1) * ev
    # a degenerate law (zero variance) is one atom at the mean
    point = torch.zeros_like(w)
    point[:, 0] = 1.0
    w = torch.where((sig > 0).unsqueeze(-1), w, point)
    return x, w


def network_forward(net: Network, x: torch.Tensor) -> torch.Tensor:
    """The plain network on blocks ``x`` ``(E, B, b)`` -> ``(E, B)`` (float64)."""
    h = x
    last = len(net.layers) - 1
    for k, (W, c) in enumerate(net.layers):
        h = torch.baddbmm(c.unsqueeze(1), h, W.transpose(1, 2))
        if k < last:
            h = net.activation(h)
    return h[..., 0]


def _propagate_quadrature(net: Network, inputs: InputCumulants, order: int, m: int):
    r"""Eq. (3.7): output cumulants from the product Gauss rule of the i.i.d. inputs (:math:`m^b` points)."""
    E, b = net.n_members, net.b
    x, w = gauss_rule(inputs.iid[:, : 2 * m - 1] if inputs.order >= 2 * m - 1 else inputs.iid, m)
    x, w = x.expand(E, -1), w.expand(E, -1)
    grid = torch.cartesian_prod(*[torch.arange(m, device=x.device)] * b).reshape(-1, b)
    pts = _take(x, grid)  # (E, m^b, b)
    wt = _take(w, grid).prod(-1)  # (E, m^b)
    f = network_forward(net, pts)
    mean = (wt * f).sum(-1)
    fc = f - mean.unsqueeze(-1)
    central = [torch.zeros_like(mean)] + [(wt * fc ** k).sum(-1) for k in range(2, order + 1)]
    kappa = moments_to_cumulants(central)
    kappa[0] = mean
    return torch.stack(kappa, -1)


# -- dense joint cumulant tensors (Fischer et al.'s picture) ------------------------------------


def affine_cumulants(kappas: Sequence[torch.Tensor], W: torch.Tensor, c: torch.Tensor | None = None):
    r"""Eq. (3.3): joint cumulant tensors of :math:`z = Ws + c` from those of :math:`s`.

    ``kappas[n-1]``: ``(E, d, ..., d)`` (``n`` axes of size ``d``), ``W`` ``(E, o, d)``, ``c`` ``(E, o)``.
    Order ``n`` is contracted with ``W`` on each of its ``n`` indices; the bias shifts the mean only."""
    W = torch.as_tensor(W, dtype=DTYPE)
    out = []
    for n, k in enumerate(kappas, start=1):
        k = torch.as_tensor(k, dtype=DTYPE)
        for axis in range(1, n + 1):
            k = torch.movedim(_contract_last(W, torch.movedim(k, axis, -1)), -1, axis)
        out.append(k)
    if c is not None and out:
        out[0] = out[0] + torch.as_tensor(c, dtype=DTYPE)
    return out


def _contract_last(W, k):
    """Contract the last axis of ``k`` ``(E, ..., d)`` with ``W`` ``(E, o, d)`` -> ``(E, ..., o)``."""
    E = max(W.shape[0], k.shape[0])
    W, k = W.expand(E, -1, -1), k.expand(E, *k.shape[1:])
    return torch.einsum("eoi,e...i->e...o", W, k)


@lru_cache(maxsize=None)
def _set_partitions(n: int):
    """All set partitions of ``range(n)`` as tuples of blocks (tuples), by restricted growth strings."""
    out = []

    def rec(i, labels, m):
        if i == n:
            blocks = [[] for _ in range(m)]
            for a, l in enumerate(labels):
                blocks[l].append(a)
            out.append(tuple(tuple(bl) for bl in blocks))
            return
        for l in range(m + 1):
            labels.append(l)
            rec(i + 1, labels, max(m, l + 1))
            labels.pop()

    rec(0, [], 0)
    return tuple(out)


@lru_cache(maxsize=None)
def partition_terms(powers: tuple) -> tuple:
    r"""Leonov-Shiryaev expansion of the joint cumulant of products,
    :math:`\kappa(z_{1}^{p_1},\dots,z_{n}^{p_n}) = \sum_{\pi}\prod_{B\in\pi}\kappa(z_{g(a)}: a\in B)`,
    over the set partitions :math:`\pi` of the :math:`\sum p_k` factors that connect all :math:`n`
    groups (:math:`\pi\vee\sigma = \hat 1`).

    Returns ``((signature, count), ...)`` where a ``signature`` is a sorted tuple of blocks, each a sorted
    tuple of the group labels ``0..n-1`` of its factors (e.g. ``((0, 1), (0, 1))`` is
    :math:`\kappa_2(z_0,z_1)^2`)."""
    atoms = [g for g, p in enumerate(powers) for _ in range(p)]
    n = len(powers)
    counts: dict = {}
    for part in _set_partitions(len(atoms)):
        # connectivity of groups through the blocks (union-find)
        parent = list(range(n))

        def find(x):
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for bl in part:
            gs = [atoms[a] for a in bl]
            for g in gs[1:]:
                ra, rb = find(gs[0]), find(g)
                if ra != rb:
                    parent[ra] = rb
        if len({find(g) for g in range(n)}) != 1:
            continue
        sig = tuple(sorted(tuple(sorted(atoms[a] for a in bl)) for bl in part))
        counts[sig] = counts.get(sig, 0) + 1
    return tuple(sorted(counts.items()))


MAX_PARTITION_ATOMS = 10


def polynomial_activation_cumulants(kappas: Sequence[torch.Tensor], coeffs: Sequence[float], order: int):
    r"""Eq. (3.4) on dense tensors: joint cumulant tensors of :math:`y_i = \sum_p c_p z_i^p` up to
    ``order`` from those of :math:`z` (``kappas[n-1]`` ``(E, d, ..., d)``), exactly.

    Output order :math:`n` needs input orders up to :math:`pn` (a ``ValueError`` otherwise). The
    combinatorics come from :func:`partition_terms`; cost grows like :math:`d^n`, so this is for
    narrow layers (the chapter's illustration, tests); :func:`propagate` handles wide networks."""
    order = _check_order(order)
    coeffs = [float(x) for x in coeffs]
    while len(coeffs) > 1 and coeffs[-1] == 0.0:
        coeffs.pop()
    p = len(coeffs) - 1
    if p * order > len(kappas):
        raise ValueError(f"output order {order} of a degree-{p} activation needs input cumulant tensors up to "
                         f"order {p * order}; only {len(kappas)} supplied")
    if p * order > MAX_PARTITION_ATOMS:
        raise ValueError(f"dense propagation is limited to {MAX_PARTITION_ATOMS} factors (degree x order); "
                         f"got {p * order}: use propagate() for higher orders")
    kappas = [torch.as_tensor(k, dtype=DTYPE) for k in kappas]
    letters = "abcdefghij"
    out = []
    for n in range(1, order + 1):
        total = torch.zeros_like(kappas[n - 1]) if n <= len(kappas) else None
        if n == 1:
            total = torch.zeros_like(kappas[0]) + coeffs[0]
        terms: dict = {}
        for powers in product(range(1, p + 1), repeat=n):
            cprod = math.prod(coeffs[q] for q in powers)
            if cprod == 0.0:
                continue
            for sig, cnt in partition_terms(powers):
                terms[sig] = terms.get(sig, 0.0) + cprod * cnt
        for sig, coef in terms.items():
            ops = [kappas[len(bl) - 1] for bl in sig]
            subs = ",".join("Z" + "".join(letters[g] for g in bl) for bl in sig) + "->Z" + letters[:n]
            total = total + coef * torch.einsum(subs, *ops)
        out.append(total)
    return out


# ================================================================================================
# The learned map's flow in cumulant space
# ================================================================================================


_NET_KW = ("activation", "antisymmetrised")
_ORDER_KW = ("hermite_order", "max_degree", "nodes", "activation", "antisymmetrised")


def cumulant_map(model, kappa: torch.Tensor, method: str = "exact", *, closure: int | None = None,
                 **kw) -> torch.Tensor:
    r"""One step of the learned RG map in cumulant space (eq. 3.2):
    :math:`\kappa\mapsto\kappa' = F(\kappa)`, ``kappa`` ``(E, K)`` or ``(K,)`` the cumulants
    :math:`\kappa_1..\kappa_K` of i.i.d. inputs, returns ``(E, K)``.

    The blocks of a lattice are disjoint, so after one learned step the new sites are again i.i.d.
    and the map closes on the sequence of single-site cumulants -- exactly only with all orders.
    Here input cumulants above ``closure`` (default ``K``) are set to zero (the order-``K`` closure;
    ``closure=2`` is the Gaussian closure). Keyword arguments go to :func:`propagate`. For strongly
    nonlinear maps the truncated sequence can stop being the cumulants of any law (negative variances
    follow); :func:`quadrature_flow` is the robust alternative for iterating many steps."""
    kappa = _as_members(kappa, "kappa")
    K = kappa.shape[-1]
    closure = K if closure is None else _check_int("closure", closure, 1, K)
    need = max(required_input_order(model, K, method, **{k: v for k, v in kw.items() if k in _ORDER_KW}), K)
    pad = torch.zeros(kappa.shape[0], need - closure, dtype=DTYPE, device=kappa.device)
    full = torch.cat([kappa[:, :closure], pad], -1)
    b = as_networks(model, **{k: v for k, v in kw.items() if k in _NET_KW})[0][1].b
    return propagate(model, iid_inputs(full, b), K, method, **kw).kappa


def cumulant_flow(model, kappa0, steps: int, method: str = "exact", **kw) -> torch.Tensor:
    r"""Iterate :func:`cumulant_map` ``steps`` times from ``kappa0`` ``(K,)`` or ``(E, K)``:
    returns ``(steps + 1, E, K)``, the predicted :math:`\kappa_n` after ``l = 0..steps`` learned RG steps."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    E = sum(len(i) for i, _ in as_networks(model, **{k: v for k, v in kw.items() if k in _NET_KW}))
    k = _as_members(kappa0, "kappa0").expand(E, -1).clone()
    out = [k]
    for _ in range(int(steps)):
        k = cumulant_map(model, k, method, **kw)
        out.append(k)
    return torch.stack(out)


def exact_flow(kappa0, b: int, steps: int) -> torch.Tensor:
    r"""The exact CLT flow :math:`\kappa_n(l) = b^{l(1-n/2)}\kappa_n` for ``l = 0..steps``: ``(steps+1, ..., K)``."""
    k = torch.as_tensor(kappa0, dtype=DTYPE)
    n = torch.arange(1, k.shape[-1] + 1, dtype=DTYPE)
    lam = float(b) ** (1 - n / 2)
    return torch.stack([k * lam ** l for l in range(int(steps) + 1)])


def flow_jacobian(model, kappa, method: str = "exact", **kw) -> torch.Tensor:
    r""":math:`\partial\kappa'_m/\partial\kappa_n` of :func:`cumulant_map` at ``kappa`` ``(E, K)``: ``(E, K, K)``.
    At a fixed point its eigenvalues are the learned map's RG eigenvalues (exact map:
    :math:`b^{1-n/2}`)."""
    return _map_and_jacobian(model, kappa, method, **kw)[1]


def _map_and_jacobian(model, kappa, method: str = "exact", **kw) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`cumulant_map` at ``kappa`` and its Jacobian from one forward pass: ``((E, K), (E, K, K))``."""
    E = sum(len(i) for i, _ in as_networks(model, **{k: v for k, v in kw.items() if k in _NET_KW}))
    k = _as_members(kappa, "kappa").detach().expand(E, -1).clone().requires_grad_(True)
    out = cumulant_map(model, k, method, **kw)
    rows = []
    for m in range(out.shape[-1]):
        (g,) = torch.autograd.grad(out[:, m].sum(), k, retain_graph=m < out.shape[-1] - 1, allow_unused=True)
        rows.append(torch.zeros_like(k) if g is None else g)
    return out.detach(), torch.stack(rows, 1).detach()


@dataclass
class FixedPoint:
    """Result of :func:`flow_fixed_point`: ``kappa`` ``(E, K)``, ``converged`` ``(E,)``, ``residual`` ``(E,)``,
    ``eigenvalues`` ``(E, K)`` of the flow's Jacobian there (complex), ``iterations``."""

    kappa: torch.Tensor
    converged: torch.Tensor
    residual: torch.Tensor
    eigenvalues: torch.Tensor
    iterations: int


def flow_fixed_point(model, kappa_start, method: str = "exact", *, tol: float = 1e-10, max_iter: int = 60,
                     fix_variance: bool = False, **kw) -> FixedPoint:
    r"""A fixed point :math:`\kappa^* = F(\kappa^*)` of the learned map's cumulant flow, by damped Newton
    from ``kappa_start`` ``(K,)`` or ``(E, K)`` (the Gaussian fixed point :math:`(0, 1, 0, \dots)` is
    the natural start).

    The exact map has a line of Gaussian fixed points (:math:`\kappa_2` marginal); a learned map
    generally keeps one point of it or none. ``fix_variance=True`` solves instead for the fixed
    point of every order except the variance, holding :math:`\kappa_2` at its start value (the
    learned map's closest analogue of the Gaussian point at that variance)."""
    E = sum(len(i) for i, _ in as_networks(model, **{k: v for k, v in kw.items() if k in _NET_KW}))
    k = _as_members(kappa_start, "kappa_start").expand(E, -1).clone()
    K = k.shape[-1]
    free = torch.ones(K, dtype=torch.bool)
    if fix_variance and K >= 2:
        free[1] = False
    fi = torch.nonzero(free).flatten()
    converged = torch.zeros(E, dtype=torch.bool)
    res = torch.full((E,), float("inf"), dtype=DTYPE)
    it = 0
    for it in range(1, max_iter + 1):
        F, J = _map_and_jacobian(model, k, method, **kw)
        G = (F - k)[:, fi]
        res = G.abs().amax(-1)
        converged = res < tol * (1 + k.abs().amax(-1))
        if bool(converged.all()):
            break
        J = J[:, fi][:, :, fi] - torch.eye(len(fi), dtype=DTYPE)
        try:
            step = torch.linalg.solve(J, -G.unsqueeze(-1)).squeeze(-1)
        except RuntimeError:
            step = torch.linalg.lstsq(J, -G.unsqueeze(-1)).solution.squeeze(-1)
        step = torch.nan_to_num(step)
        scale = (1.0 / step.abs().amax(-1).clamp_min(1.0)).unsqueeze(-1)  # damp huge steps
        step = torch.where(converged.unsqueeze(-1), torch.zeros_like(step), step * scale)
        k = k.clone()
        k[:, fi] = k[:, fi] + step
        if K >= 2:
            k[:, 1] = k[:, 1].clamp_min(0.0)
        if not torch.isfinite(k).all():
            break
    eig = torch.linalg.eigvals(flow_jacobian(model, k, method, **kw)) if torch.isfinite(k).all() else \
        torch.full((E, K), complex("nan"), dtype=torch.complex128)
    return FixedPoint(kappa=k, converged=converged, residual=res, eigenvalues=eig, iterations=it)


# ================================================================================================
# Trained ensembles: predictions per member (Chapter 3)
# ================================================================================================


def _groups_with_models(model):
    """``[(member_indices, sub_model, activation)]``, one per activation/antisymmetrisation group; the
    sub-model is ``model.select(indices)`` for an ensemble and sliced layers otherwise."""
    out = []
    for idx, net in as_networks(model):
        sub = model.select(idx) if len(idx) != getattr(model, "n_members", len(idx)) else model
        out.append((idx, sub, net.activation))
    return out


@dataclass
class MemberPrediction:
    """Per-member predictions of :func:`predict_cumulants`: ``kappa`` and ``error`` ``(E, order)``,
    ``methods`` (one name per member: ``'exact'`` or ``'quadrature(m)'``)."""

    kappa: torch.Tensor
    error: torch.Tensor
    methods: list


def predict_cumulants(model, law, order: int = 4, *, nodes: int = 10) -> MemberPrediction:
    r"""Output cumulants of every member of a trained ensemble for i.i.d. sites of ``law`` (eq. 3.4/3.7).

    Polynomial activations are propagated exactly when the law has finite cumulants up to the order
    needed (error 0); otherwise, and for every other activation, the ``nodes``-point moment-matched
    rule is used (fewer nodes where the law's cumulants run out, e.g. Student-t), with the error
    estimated as the change from :math:`m-1` to :math:`m` nodes."""
    from .distributions import get_law

    law = get_law(law)
    order = _check_order(order)
    E = getattr(model, "n_members", None) or as_networks(model)[0][1].n_members
    kappa = torch.zeros(E, order, dtype=DTYPE)
    error = torch.zeros(E, order, dtype=DTYPE)
    methods = [""] * E
    for idx, sub, act in _groups_with_models(model):
        t = torch.tensor(idx)
        b = as_networks(sub)[0][1].b
        need = required_input_order(sub, order) if _poly_coeffs(act) is not None else math.inf
        if need < law.max_order:
            pr = propagate(sub, law_inputs(law, b, need), order)
            name = "exact"
        else:
            m = min(nodes, MAX_NODES, int(law.max_order // 2) if math.isfinite(law.max_order) else nodes)
            m = max(m, 2)
            pr = propagate(sub, law_inputs(law, b, 2 * m - 1), order, "quadrature", nodes=m, estimate_error=True)
            name = f"quadrature({m})"
        kappa[t] = pr.kappa.cpu()
        if pr.error is not None:
            error[t] = pr.error.cpu()
        for i in idx:
            methods[i] = name
    return MemberPrediction(kappa, error, methods)


def gaussian_truncation(model, law, *, hermite_order: int = 9) -> torch.Tensor:
    r"""Fischer et al.'s Gaussian truncation (eq. 3.5) for every member and i.i.d. sites of ``law``:
    ``(E, 2)`` predicted :math:`(\kappa'_1, \kappa'_2)` (it predicts :math:`\kappa'_{n\ge3} = 0`)."""
    from .distributions import get_law

    law = get_law(law)
    b = as_networks(model)[0][1].b
    return propagate(model, law_inputs(law, b, 2), 2, "gaussian", hermite_order=hermite_order).kappa


def measure_cumulants(model, law, n_samples: int = 200_000, *, seed: int = 0, order: int = 4,
                      dtype=torch.float32):
    r"""Monte Carlo reference: k-statistics :math:`k_1..k_{\rm order}` and their standard errors of every
    member's output on ``n_samples`` i.i.d. blocks of ``law``, drawn independently for every member (so
    that the members' errors are independent; the network runs in ``dtype``, the k-statistics in
    float64). Returns ``(k, se)``, each ``(E, order)``."""
    from .cumulants import kstats
    from .distributions import get_law

    _check_int("n_samples", n_samples, order)
    g = torch.Generator().manual_seed(int(seed))
    groups = as_networks(model)
    b = groups[0][1].b
    E = sum(len(i) for i, _ in groups)
    x = get_law(law).sample((E, n_samples, b), g, dtype=DTYPE).to(dtype)
    y = torch.empty(E, n_samples, dtype=dtype)
    with torch.no_grad():
        if isinstance(model, torch.nn.Module):  # the trained model itself, not its rewriting as plain layers
            y = copy.deepcopy(model).to(dtype)(x)
        else:
            for idx, net in groups:
                low = Network([(W.to(dtype), c.to(dtype)) for W, c in net.layers], net.activation)
                y[idx] = network_forward(low, x[idx])
    return kstats(y.to(DTYPE), order)


def discrete_gauss_rule(y: torch.Tensor, v: torch.Tensor, nodes: int, tol: float = 1e-12):
    r"""The ``nodes``-point Gauss rule of a discrete law (atoms ``y``, weights ``v``, each ``(E, N)``), by the
    Stieltjes/Lanczos procedure on orthonormal polynomials (stable, unlike moments): the law on
    :math:`m` atoms sharing the first :math:`2m-1` moments of the given one. Where the law has fewer
    than :math:`m` distinct atoms the extra nodes get weight zero. Returns ``(x, w)``, each ``(E, m)``."""
    m = _check_int("nodes", nodes, 1, MAX_NODES)
    tot = v.sum(-1, keepdim=True)
    v = v / tot
    q_prev = torch.zeros_like(y)
    q = torch.ones_like(y)
    b_prev = torch.zeros_like(y[:, 0])
    alive = torch.ones_like(b_prev, dtype=torch.bool)
    A, B = [], []
    for k in range(m):
        a_k = (v * y * q * q).sum(-1)
        A.append(torch.where(alive, a_k, torch.zeros_like(a_k)))
        if k == m - 1:
            break
        r = (y - a_k.unsqueeze(-1)) * q - b_prev.unsqueeze(-1) * q_prev
        # one step of re-orthogonalisation against q keeps the recurrence accurate
        r = r - (v * r * q).sum(-1, keepdim=True) * q
        b_k = (v * r * r).sum(-1).clamp_min(0.0).sqrt()
        ok = alive & (b_k > tol * (1 + y.abs().amax(-1)))
        B.append(torch.where(ok, b_k, torch.zeros_like(b_k)))
        q_prev, q = q, torch.where(ok.unsqueeze(-1), r / torch.where(ok, b_k, torch.ones_like(b_k)).unsqueeze(-1),
                                   torch.zeros_like(r))
        b_prev = torch.where(ok, b_k, torch.zeros_like(b_k))
        alive = ok
    J = torch.diag_embed(torch.stack(A, -1))
    if m > 1:
        off = torch.stack(B, -1)
        J = J + torch.diag_embed(off, 1) + torch.diag_embed(off, -1)
    ev, V = torch.linalg.eigh(J)
    return ev, V[:, 0, :] ** 2


def quadrature_flow(model, law, steps: int, *, nodes: int = 10, order: int = 4, activation=None,
                    antisymmetrised: bool | None = None):
    r"""The learned flow in cumulant space with the moment-matched closure (eq. 3.8), for any activation.

    The law of a site is held as its :math:`m`-atom Gauss rule (:func:`gauss_rule` for the base law).
    One learned step maps :math:`b` independent sites to the discrete law of :math:`f` on the
    :math:`m^b` product atoms (exact), which is compressed back to :math:`m` atoms that keep its first
    :math:`2m-1` moments (:func:`discrete_gauss_rule`). Every state is a genuine probability law, so
    the closure cannot produce negative variances, and the first step is exact for polynomial
    networks once :math:`2m-1\ge Dn`. ``model`` as in :func:`propagate` (``activation`` with a list of
    layers). Returns the cumulants :math:`\kappa_1..\kappa_{\rm order}` of every level,
    ``(steps + 1, E, order)`` (level 0: the base law's own)."""
    from .distributions import get_law

    law = get_law(law)
    m = _check_int("nodes", nodes, 1, MAX_NODES)
    _check_int("steps", steps, 0)
    if math.isfinite(law.max_order):
        m = min(m, int(law.max_order // 2))
    groups = as_networks(model, activation, antisymmetrised)
    E = sum(len(i) for i, _ in groups)
    out = torch.zeros(int(steps) + 1, E, order, dtype=DTYPE)
    out[0] = torch.as_tensor(law.cumulants(order), dtype=DTYPE)
    b = groups[0][1].b
    grid = torch.cartesian_prod(*[torch.arange(m)] * b).reshape(-1, b)
    for idx, net in groups:
        x, w = gauss_rule(law.cumulants(2 * m - 1), m)
        x, w = x.expand(len(idx), -1), w.expand(len(idx), -1)
        for level in range(1, int(steps) + 1):
            y = network_forward(net, _take(x, grid))
            wt = _take(w, grid).prod(-1)
            mean = (wt * y).sum(-1)
            yc = y - mean.unsqueeze(-1)
            central = [torch.zeros_like(mean)] + [(wt * yc ** k).sum(-1) for k in range(2, order + 1)]
            kap = moments_to_cumulants(central)
            kap[0] = mean
            out[level, idx] = torch.stack(kap, -1)
            x, w = discrete_gauss_rule(y, wt, m)
    return out


def predict_flow(model, law, steps: int, *, nodes: int = 10, order: int = 4):
    r"""The learned flow's cumulants from i.i.d. sites of ``law``, :math:`\kappa_n(l)` for
    ``l = 0..steps``: :func:`quadrature_flow` (``(steps + 1, E, order)``)."""
    return quadrature_flow(model, law, steps, nodes=nodes, order=order)


def measure_flow(model, law, steps: int, n_lattices: int = 1024, *, seed: int = 0, order: int = 4):
    r"""Monte Carlo reference for :func:`predict_flow`: lattices of :math:`b^{\rm steps}` i.i.d. sites of
    ``law`` run through the learned flow (``model.flow``), k-statistics over all sites of each level.
    Returns ``(k, se)``, each ``(steps + 1, E, order)``."""
    from .cumulants import kstats
    from .distributions import get_law

    b = int(model.b)
    g = torch.Generator().manual_seed(int(seed))
    E = model.n_members
    s = get_law(law).sample((1, n_lattices, b ** int(steps)), g, dtype=DTYPE).expand(E, -1, -1)
    ks, ses = [], []

    with torch.no_grad(), np.errstate(all="ignore"):  # a diverging flow gives inf/nan, reported as such
        levels = [s] + copy.deepcopy(model).double().flow(s, int(steps))
        for lv in levels:
            k, se = kstats(lv.reshape(E, -1), order)
            ks.append(k)
            ses.append(se)
    return torch.stack(ks), torch.stack(ses)


def learned_eigenvalues(model, b: int | None = None, *, state: int = 4, nodes: int = 6) -> torch.Tensor:
    r"""Eigenvalues of the learned map's cumulant flow linearised at the Gaussian point
    :math:`(0, 1, 0, \dots)` (eq. 3.2), sorted by modulus, ``(E, state)`` complex; the exact map has
    :math:`b^{1-n/2}`, :math:`n = 1..`\ ``state``. Non-polynomial members use the ``nodes``-point rule
    (state padded to :math:`2m-1`, then the leading ``state`` x ``state`` block is used)."""
    E = getattr(model, "n_members", None) or as_networks(model)[0][1].n_members
    out = torch.zeros(E, state, dtype=torch.complex128)
    for idx, sub, act in _groups_with_models(model):
        if _poly_coeffs(act) is not None:
            K, kw = state, {"method": "exact"}
        else:
            K, kw = max(state, 2 * nodes - 1), {"method": "quadrature", "nodes": nodes}
        g = torch.zeros(K, dtype=DTYPE)
        g[1] = 1.0
        J = flow_jacobian(sub, g, **kw)[:, :state, :state]
        ev = torch.linalg.eigvals(J)
        order = torch.argsort(ev.abs(), dim=-1, descending=True)
        out[idx] = torch.gather(ev, -1, order)
    return out


# ================================================================================================
# Chapter 3 on a whole sweep of Chapter 2 (tidy tables)
# ================================================================================================

CHAPTER3_PROFILES = {
    "smoke": {"n_mc": 10_000, "n_flow_mc": 2048, "nodes": 8},
    "paper": {"n_mc": 100_000, "n_flow_mc": 8192, "nodes": 10},
}
"""Monte Carlo sample sizes and quadrature nodes of Chapter 3 per profile."""


@dataclass(frozen=True)
class Chapter3Settings:
    """Resolved knobs of Chapter 3 (see :func:`chapter3_settings`)."""

    profile: str
    n_mc: int
    n_flow_mc: int
    nodes: int
    laws: tuple
    flow_law: str


def chapter3_settings(profile: str, *, n_mc: int | None = None, nodes: int | None = None, laws=None,
                      flow_law: str | None = None) -> Chapter3Settings:
    """Validate Chapter 3's knobs and fill in the profile's defaults: ``n_mc`` Monte Carlo blocks per law,
    ``nodes`` of the moment-matched rule, ``laws`` the unseen input laws (default: every law that no task
    trains on), ``flow_law`` the law the representative flows start from (default ``'uniform'``)."""
    from .config import PROFILES
    from .distributions import LAWS, TRAIN_LAWS

    check_choice("profile", profile, PROFILES)
    d = CHAPTER3_PROFILES[profile]
    n_mc = d["n_mc"] if n_mc is None else _check_int("n_mc", n_mc, 1000)
    nodes = d["nodes"] if nodes is None else _check_int("nodes", nodes, 2, MAX_NODES)
    if laws is None:
        laws = tuple(l for l in LAWS if l not in TRAIN_LAWS)
    laws = tuple(laws) if not isinstance(laws, str) else (laws,)
    if not laws:
        raise ValueError("laws must name at least one base law")
    for l in laws:
        check_choice("base law", l, LAWS)
    flow_law = "uniform" if flow_law is None else flow_law
    check_choice("flow_law", flow_law, LAWS)
    return Chapter3Settings(profile, n_mc, d["n_flow_mc"], nodes, laws, flow_law)


def _size_groups(result):
    """Valid (non-diverged) members of a sweep grouped by tensor shape: ``[(member_ids, model)]``."""
    mem = result.members[~result.members["diverged"].astype(bool)]
    out = []
    for _, g in mem.groupby(["depth", "width"], sort=True):
        ids = g["member_id"].tolist()
        out.append((ids, result.model(ids)))
    return out


def prediction_table(result, laws, *, n_mc: int, nodes: int = 10, seed: int = 0):
    """Predicted (:func:`predict_cumulants`, plus the Gaussian truncation) against measured
    (:func:`measure_cumulants`) output cumulants of every valid member of a Chapter 2 sweep, for every
    law in ``laws``. A tidy ``pandas.DataFrame``: one row per member, law and order ``n = 1..4``."""
    import pandas as pd

    from .distributions import get_law

    rows = []
    mem = result.members.set_index("member_id")
    for ids, model in _size_groups(result):
        for law in laws:
            pr = predict_cumulants(model, law, 4, nodes=nodes)
            gt = gaussian_truncation(model, law)
            k, se = measure_cumulants(model, law, n_mc, seed=seed)
            kin = get_law(law).cumulants(4)
            for i, mid in enumerate(ids):
                m = mem.loc[mid]
                for n in range(1, 5):
                    rows.append({
                        "member_id": mid, "size": m["size"], "depth": int(m["depth"]), "activation": m["activation"],
                        "symmetry": m["symmetry"], "task": m["task"], "seed": int(m["seed"]), "law": law,
                        "law_kurtosis": float(kin[3]), "order": n, "method": pr.methods[i],
                        "predicted": float(pr.kappa[i, n - 1]), "pred_error": float(pr.error[i, n - 1]),
                        "gaussian": float(gt[i, n - 1]) if n <= 2 else 0.0,
                        "measured": float(k[i, n - 1]), "se": float(se[i, n - 1]),
                        "variance": float(pr.kappa[i, 1])})
    t = pd.DataFrame(rows)
    # the floor keeps constant-output members (dead ReLU units: zero variance, se = 0) finite
    floor = 1e-9 * (1.0 + t["measured"].abs())
    t["z"] = (t["predicted"] - t["measured"]).abs() / np.sqrt(t["se"] ** 2 + t["pred_error"] ** 2 + floor ** 2)
    return t


def flow_table(result, *, nodes: int = 10, steps: int | None = None):
    """The predicted learned flow (:func:`quadrature_flow`) of every valid member of a Chapter 2 sweep,
    started from its own task's law, against the exact flow and Chapter 2's measured deviations
    (``G3_kappa<n>:<l>`` and ``G3_dkappa<n>:<l>``). One row per member, level ``l = 1..L`` and order."""
    import pandas as pd

    from .distributions import get_law

    L = int(result.spec.measures.L if steps is None else steps)
    b = int(result.spec.b)
    meas = result.table[result.table["family"] == "G3"]
    meas = meas[meas["measure"].str.startswith(("G3_kappa", "G3_dkappa"))]
    lookup = {(r.member_id, r.measure): r.value for r in meas.itertuples()}
    mem = result.members.set_index("member_id")
    rows = []
    for ids, model in _size_groups(result):
        tasks = [mem.loc[i, "task"] for i in ids]
        for task in sorted(set(tasks)):
            sel = [j for j, t in enumerate(tasks) if t == task]
            sub = model.select(sel)
            fl = quadrature_flow(sub, task, L, nodes=nodes)
            kin = get_law(task).cumulants(4)
            for jj, j in enumerate(sel):
                mid = ids[j]
                m = mem.loc[mid]
                for level in range(1, L + 1):
                    for n in range(1, 5):
                        exact = b ** (level * (1 - n / 2)) * float(kin[n - 1])
                        pred = float(fl[level, jj, n - 1])
                        rows.append({
                            "member_id": mid, "size": m["size"], "depth": int(m["depth"]),
                            "activation": m["activation"], "symmetry": m["symmetry"], "task": task,
                            "seed": int(m["seed"]), "level": level, "order": n, "predicted": pred,
                            "exact": exact, "predicted_dev": abs(pred - exact),
                            "measured_dev": lookup.get((mid, f"G3_kappa{n}:{level}"), float("nan")),
                            "measured_ddev": lookup.get((mid, f"G3_dkappa{n}:{level}"), float("nan"))})
    return pd.DataFrame(rows)


def eigen_table(result, *, state: int = 4, nodes: int = 6):
    """Eigenvalues of every valid member's cumulant flow at the Gaussian point (:func:`learned_eigenvalues`)
    against the exact :math:`b^{1-n/2}`: one row per member and ``n = 1..state`` (moduli, sorted)."""
    import pandas as pd

    b = int(result.spec.b)
    mem = result.members.set_index("member_id")
    rows = []
    for ids, model in _size_groups(result):
        ev = learned_eigenvalues(model, state=state, nodes=nodes)
        for i, mid in enumerate(ids):
            m = mem.loc[mid]
            for n in range(1, state + 1):
                rows.append({"member_id": mid, "size": m["size"], "activation": m["activation"],
                             "symmetry": m["symmetry"], "task": m["task"], "n": n,
                             "eigenvalue": float(ev[i, n - 1].abs()), "exact": b ** (1 - n / 2)})
    return pd.DataFrame(rows)


def method_comparison(model, laws, *, hermite_orders=(3, 5), nodes: int = 10, n_mc: int = 100_000,
                      seed: int = 0, order: int = 4):
    """Every way of predicting the output cumulants of ``model`` (all members) side by side with Monte
    Carlo, per law: the Gaussian truncation, the Hermite expansion of the activation at each of
    ``hermite_orders``, the moment-matched rule, and exact propagation where the activation is a
    polynomial. A tidy ``pandas.DataFrame`` with ``member, law, method, order, value, mc, se, z``; a
    method that cannot be evaluated (too many input orders for the law) is left out."""
    import pandas as pd

    from .distributions import get_law

    rows = []
    groups = as_networks(model)
    b = groups[0][1].b
    for law in laws:
        lw = get_law(law)
        k, se = measure_cumulants(model, law, n_mc, seed=seed, order=order)
        preds = {"gaussian": propagate(model, law_inputs(lw, b, 2), 2, "gaussian").kappa}
        for K in hermite_orders:
            need = required_input_order(model, order, "hermite", hermite_order=K)
            if need < lw.max_order:
                preds[f"hermite(K={K})"] = propagate(model, law_inputs(lw, b, need), order, "hermite",
                                                     hermite_order=K).kappa
        m = min(nodes, int(lw.max_order // 2)) if math.isfinite(lw.max_order) else nodes
        preds[f"quadrature(m={m})"] = propagate(model, law_inputs(lw, b, 2 * m - 1), order, "quadrature",
                                                nodes=m).kappa
        if all(_poly_coeffs(net.activation) is not None for _, net in groups):
            need = required_input_order(model, order)
            if need < lw.max_order:
                preds["exact"] = propagate(model, law_inputs(lw, b, need), order).kappa
        for name, kap in preds.items():
            for e in range(kap.shape[0]):
                for n in range(1, order + 1):
                    val = float(kap[e, n - 1]) if n <= kap.shape[1] else 0.0
                    rows.append({"member": e, "law": law, "method": name, "order": n, "value": val,
                                 "mc": float(k[e, n - 1]), "se": float(se[e, n - 1])})
    t = pd.DataFrame(rows)
    t["z"] = (t["value"] - t["mc"]).abs() / t["se"].clip(lower=1e-300)
    return t
