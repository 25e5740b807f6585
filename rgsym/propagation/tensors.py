r"""The dense tensor picture of Fischer et al.: joint cumulant tensors through affine layers and
polynomial activations (eqs. 3.3-3.4, ``eq-c3-affine`` and ``eq-c3-leonov``; Chapter 5's order-:math:`K`
closure, eq. P3).

``kappas[n-1]`` is the order-:math:`n` joint cumulant tensor :math:`\kappa^{(n)}` of a layer's units,
``(E, d, ..., d)`` with :math:`n` axes of size :math:`d`. An affine layer contracts every index with
:math:`W` (:func:`affine_cumulants`, eq. 3.3, ``eq-c3-affine``); a polynomial activation mixes orders by
the Leonov-Shiryaev expansion (:func:`rgsym.propagation.partitions.activation_terms`), exactly
(:func:`polynomial_activation_cumulants`, eq. 3.4, ``eq-c3-leonov``) or with every cumulant above order
:math:`K` dropped (:func:`truncated_activation_cumulants`, eq. P3). Cost grows like :math:`d^n`: this is for
narrow layers; :func:`rgsym.propagation.propagate` handles wide networks.
"""
from __future__ import annotations

from typing import Sequence

import torch

from ..validation import as_int
from .partitions import activation_terms
from .polynomials import DTYPE

MAX_PARTITION_ATOMS = 10
"""Most factors (activation degree x output order) the dense expansion enumerates partitions of."""


def affine_cumulants(kappas: Sequence[torch.Tensor], W: torch.Tensor, c: torch.Tensor | None = None):
    r"""Eq. (3.3) (``eq-c3-affine``): joint cumulant tensors of :math:`z = Ws + c` from those of
    :math:`s`.

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


def _trimmed(coeffs) -> list:
    coeffs = [float(x) for x in coeffs]
    while len(coeffs) > 1 and coeffs[-1] == 0.0:
        coeffs.pop()
    return coeffs


def _activation_tensors(kappas, coeffs, order: int, closure: int | None):
    """Output tensors of orders ``1..order`` from :func:`activation_terms` (``closure``: see there)."""
    letters = "abcdefghij"
    out = []
    for n in range(1, order + 1):
        total = torch.zeros_like(kappas[0]) + coeffs[0] if n == 1 else None
        for sig, coef in activation_terms(coeffs, n, closure).items():
            subs = ",".join("Z" + "".join(letters[g] for g in bl) for bl in sig) + "->Z" + letters[:n]
            term = coef * torch.einsum(subs, *[kappas[len(bl) - 1] for bl in sig])
            total = term if total is None else total + term
        if total is None:
            shape = kappas[0].shape[:1] + kappas[0].shape[1:] * n
            total = torch.zeros(shape, dtype=kappas[0].dtype, device=kappas[0].device)
        out.append(total)
    return out


def polynomial_activation_cumulants(kappas: Sequence[torch.Tensor], coeffs: Sequence[float], order: int):
    r"""Eq. (3.4) (``eq-c3-leonov``) on dense tensors: joint cumulant tensors of
    :math:`y_i = \sum_p c_p z_i^p` up to ``order`` from those of :math:`z` (``kappas[n-1]``
    ``(E, d, ..., d)``), exactly.

    Output order :math:`n` needs input orders up to :math:`pn` (a ``ValueError`` otherwise). The
    combinatorics come from :func:`rgsym.propagation.partitions.partition_terms`; cost grows like
    :math:`d^n`, so this is for narrow layers (the chapter's illustration, tests);
    :func:`rgsym.propagation.propagate` handles wide networks."""
    order = as_int("order", order, 1)
    coeffs = _trimmed(coeffs)
    p = len(coeffs) - 1
    if p * order > len(kappas):
        raise ValueError(f"output order {order} of a degree-{p} activation needs input cumulant tensors up to "
                         f"order {p * order}; only {len(kappas)} supplied")
    if p * order > MAX_PARTITION_ATOMS:
        raise ValueError(f"dense propagation is limited to {MAX_PARTITION_ATOMS} factors (degree x order); "
                         f"got {p * order}: use propagate() for higher orders")
    kappas = [torch.as_tensor(k, dtype=DTYPE) for k in kappas]
    return _activation_tensors(kappas, coeffs, order, None)


def truncated_activation_cumulants(kappas: Sequence[torch.Tensor], coeffs: Sequence[float], order: int):
    r"""Joint cumulant tensors of :math:`y_a=\sum_p c_p z_a^p` up to ``order`` from those of :math:`z`
    given up to order :math:`K` = ``len(kappas)``, **treating every cumulant of order** :math:`>K`
    **as zero** (the closure; eq. P3). With :math:`pn\le K` for every output order :math:`n` the
    result is exact and equals :func:`polynomial_activation_cumulants`.

    ``kappas[n-1]``: ``(E, d, ..., d)``; returns the list of output tensors, orders ``1..order``.
    """
    K = len(kappas)
    if K < 1:
        raise ValueError("need at least the mean vector")
    coeffs = _trimmed(coeffs)
    p = len(coeffs) - 1
    if p * order > MAX_PARTITION_ATOMS:
        raise ValueError(f"the closure is limited to {MAX_PARTITION_ATOMS} factors (degree x order); got {p * order}")
    return _activation_tensors(kappas, coeffs, order, K)
