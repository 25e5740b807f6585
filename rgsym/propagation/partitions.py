r"""The Leonov-Shiryaev expansion: joint cumulants of products over connected set partitions (eq. 3.4,
``eq-c3-leonov``).

For a polynomial activation :math:`y = \sum_p c_p z^p`,

.. math:: \kappa(y_{a_1},\dots,y_{a_n}) = \sum_{p_1..p_n} c_{p_1}\cdots c_{p_n}\,
          \kappa(z_{a_1}^{p_1},\dots,z_{a_n}^{p_n}),\qquad
          \kappa(z_{1}^{p_1},\dots,z_{n}^{p_n}) = \sum_{\pi}\prod_{B\in\pi}\kappa(z_{g(a)}: a\in B),

the inner sum over the set partitions :math:`\pi` of the :math:`\sum p_k` factors that connect all
:math:`n` groups (:func:`partition_terms`). :func:`activation_terms` is the ONE loop that collects
these terms for output order :math:`n`, optionally under an order-:math:`K` closure (every cumulant
of order :math:`>K` dropped, eq. P3 of Chapter 5); its coefficients may be floats (the dense tensor
picture, :mod:`.tensors`, and Chapter 5's closure) or sympy expressions (:mod:`.analytic`).
"""
from __future__ import annotations

import math
from functools import lru_cache
from itertools import product


@lru_cache(maxsize=None)
def _set_partitions(n: int) -> tuple:
    """All set partitions of ``range(n)`` as tuples of blocks (tuples); sympy's enumeration, imported
    here so that importing :mod:`rgsym.propagation` does not load sympy."""
    from sympy.utilities.iterables import multiset_partitions

    if n == 0:
        return ((),)
    return tuple(tuple(tuple(bl) for bl in part) for part in multiset_partitions(list(range(n))))


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


def activation_terms(coeffs, n: int, closure: int | None = None, *, prod=math.prod, zero=0.0) -> dict:
    r"""The terms of the order-``n`` joint cumulant of :math:`y = \sum_p c_p z^p` (``coeffs`` =
    :math:`c_0..c_p`) in the cumulants of :math:`z`: ``{signature: coefficient}`` with signatures as in
    :func:`partition_terms`, the coefficient :math:`\sum c_{p_1}\cdots c_{p_n}\times` (count).

    ``closure`` :math:`K`: signatures holding a cumulant of order :math:`>K` are dropped (eq. P3).
    ``prod`` multiplies coefficients (``math.prod`` for floats; ``lambda c: sympy.Mul(*c)`` for
    symbols), ``zero`` starts each sum. The constant :math:`c_0` (the mean's offset) is not included."""
    p = len(coeffs) - 1
    terms: dict = {}
    for powers in product(range(1, p + 1), repeat=n):
        cprod = prod(coeffs[q] for q in powers)
        if cprod == 0:
            continue
        for sig, cnt in partition_terms(powers):
            if closure is not None and max(len(bl) for bl in sig) > closure:
                continue  # a cumulant above the closure order: dropped
            terms[sig] = terms.get(sig, zero) + cprod * cnt
    return terms
