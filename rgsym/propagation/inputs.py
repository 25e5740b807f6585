r"""The input law of a block: joint cumulants of its ``b`` inputs (Chapter 3).

Notation: :math:`\kappa_n` the order-:math:`n` cumulant of one input site (i.i.d. inputs) or
:math:`\kappa^{(n)}_{i_1\dots i_n}` the joint cumulant tensor (general inputs). An
:class:`InputCumulants` holds either, up to an order :math:`M`, and supplies the raw joint moments
:math:`E[\delta^\alpha]` of the centred inputs that the polynomial methods (eqs. 3.4, 3.6,
``eq-c3-leonov``, ``eq-c3-hermite``) need.
Build one with :func:`iid_inputs` (cumulants of one site), :func:`law_inputs` (a base law of
Chapter 1) or :func:`tensor_inputs` (joint cumulant tensors).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import torch

from ..clt import get_law
from ..validation import as_int
from .polynomials import DTYPE, _take, monomial_basis, n_monomials, poly_mul


U_ROUND = 2.0 ** -53
"""The unit roundoff of float64."""


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

    def moment_errors(self, degree: int) -> torch.Tensor:
        r"""A float64 rounding bound on :meth:`moments` ``(E', n_monomials(b, degree))``.

        The one-site moments come from the cumulants by the recursion of :func:`iid_raw_moments`, whose
        terms can be far larger than the moment they sum to (the high cumulants of :math:`\pm1` spins grow
        like tangent numbers): the bound is :math:`(n + 2)\,u\,\bar\mu_n` with :math:`\bar\mu_n` the same
        recursion on :math:`|\kappa_j|` and :math:`u = 2^{-53}`; joint moments multiply the one-site
        bounds. Zero for general cumulant tensors (not estimated)."""
        if self.iid is None:
            return torch.zeros_like(self.moments(degree))
        key = ("err", degree)
        if key in self._cache:
            return self._cache[key]
        B = torch.from_numpy(monomial_basis(self.b, degree)).to(self.mean.device)
        k = self.iid[:, :degree].detach().abs()
        mu = iid_raw_moments(self.iid[:, :degree].detach(), centred=True).abs()
        mbar = iid_raw_moments(k, centred=True)
        n = torch.arange(degree + 1, dtype=DTYPE, device=k.device)
        e1 = (n + 2) * U_ROUND * mbar
        e1[:, :2] = 0.0  # mu_0 = 1 and mu_1 = 0 exactly
        err = (_take(mu + e1, B).prod(-1) - _take(mu, B).prod(-1)).clamp_min(0.0)
        self._cache[key] = err
        return err

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
    r"""I.i.d. inputs: ``kappa`` = :math:`(\kappa_1, \dots, \kappa_M)` of one site, shape ``(M,)`` or ``(E, M)``
    (``b`` an integer >= 1)."""
    b = as_int("b", b, 1)
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
    """I.i.d. inputs from a base law of :mod:`rgsym.clt.laws` (a name or a law), cumulants up to ``order``."""
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
    b = as_int("b", out[0].shape[-1], 1)
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
