"""Moments <-> cumulants and the partition combinatorics of eq. K1 (rgsym.clt.conversions)."""
from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import given, settings, strategies as st

from rgsym.clt.conversions import (cumulant_in_moments, cumulants_to_moments, falling_factorial,
                                   integer_partitions, moments_to_cumulants, set_partition_count)


def test_gaussian_moments_give_only_a_variance():
    # raw moments of N(0, 1): 0, 1, 0, 3, 0, 15, 0, 105
    assert moments_to_cumulants([0, 1, 0, 3, 0, 15, 0, 105]) == [0, 1, 0, 0, 0, 0, 0, 0]


def test_poisson_cumulants_are_all_lambda():
    # Poisson(lam): every cumulant equals lam; raw moments are Touchard polynomials
    lam = Fraction(3, 2)
    mu = cumulants_to_moments([lam] * 6)
    assert mu[:3] == [lam, lam + lam**2, lam + 3 * lam**2 + lam**3]
    assert moments_to_cumulants(mu) == [lam] * 6


@given(st.lists(st.fractions(min_value=-5, max_value=5, max_denominator=7), min_size=1, max_size=8))
@settings(deadline=None, max_examples=40)
def test_moment_cumulant_round_trip(kappas):
    assert moments_to_cumulants(cumulants_to_moments(kappas)) == kappas


def test_integer_partitions_in_reverse_lexicographic_order():
    assert list(integer_partitions(0)) == [()]
    assert list(integer_partitions(4)) == [(4,), (3, 1), (2, 2), (2, 1, 1), (1, 1, 1, 1)]
    assert [len(list(integer_partitions(n))) for n in range(1, 11)] == [1, 2, 3, 5, 7, 11, 15, 22, 30, 42]


def test_set_partition_counts_sum_to_bell_numbers():
    bell = [1, 1, 2, 5, 15, 52, 203, 877, 4140]
    for n in range(1, 9):
        assert sum(set_partition_count(lam) for lam in integer_partitions(n)) == bell[n]


def test_cumulant_in_moments_and_falling_factorial():
    # kappa_4 = mu'_4 - 4 mu'_3 mu'_1 - 3 mu'_2^2 + 12 mu'_2 mu'_1^2 - 6 mu'_1^4
    assert cumulant_in_moments(4) == {(4,): 1, (3, 1): -4, (2, 2): -3, (2, 1, 1): 12, (1, 1, 1, 1): -6}
    assert falling_factorial(7, 3) == 7 * 6 * 5 and falling_factorial(5, 0) == 1
    assert falling_factorial(3, 5) == 0 == math.prod(3 - i for i in range(5))
