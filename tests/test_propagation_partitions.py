"""The Leonov-Shiryaev expansion (rgsym.propagation.partitions): counts and the closure."""
from __future__ import annotations


import pytest
import sympy as sp

from rgsym.propagation.partitions import _set_partitions, activation_terms, partition_terms


@pytest.mark.parametrize("n", range(1, 9))
def test_set_partitions_are_counted_by_the_bell_numbers(n):
    parts = _set_partitions(n)
    assert len(parts) == sp.bell(n) and len(set(parts)) == len(parts)
    assert all(sorted(a for bl in p for a in bl) == list(range(n)) for p in parts)


def test_partition_terms_of_known_products():
    # kappa(z, z) = kappa_2; kappa(z^2) = kappa_2 + kappa_1^2 (one group: every partition connects)
    assert partition_terms((1, 1)) == ((((0, 1),), 1),)
    assert dict(partition_terms((2,))) == {((0,), (0,)): 1, ((0, 0),): 1}
    # Var(z^2) = kappa_4 + 4 k1 k3 + 2 k2^2 + 4 k1^2 k2: connected partitions of {a, a', b, b'}
    t = dict(partition_terms((2, 2)))
    assert t[((0, 0, 1, 1),)] == 1 and t[((0,), (0, 1, 1))] + t[((0, 0, 1), (1,))] == 4
    assert t[((0, 1), (0, 1))] == 2 and t[((0,), (0, 1), (1,))] == 4 and ((0, 0), (1, 1)) not in t
    # the number of connected partitions of n singletons is the number of partitions with one block
    assert partition_terms((1,) * 4) == ((((0, 1, 2, 3),), 1),)


def test_activation_terms_closure_and_symbols():
    coeffs = [0.0, 1.0, 0.5]
    full, closed = activation_terms(coeffs, 2), activation_terms(coeffs, 2, closure=2)
    assert set(closed) == {s for s in full if max(map(len, s)) <= 2} and len(closed) < len(full)
    a = sp.Symbol("a")
    sym = activation_terms([0, 1, a], 2, prod=lambda c: sp.Mul(*c), zero=sp.Integer(0))
    assert sym.keys() == full.keys()
    assert all(float(sym[s].subs(a, 0.5)) == pytest.approx(full[s]) for s in full)
    assert activation_terms([1.0, 0.0, 0.0], 3) == {}
