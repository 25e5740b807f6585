"""The k-statistics as exact formulas: power sums, exact unbiasedness and variance (rgsym.clt.kstat_formulas)."""
from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from rgsym.clt.conversions import moments_to_cumulants
from rgsym.clt.kstat_formulas import augmented_sum, kstat_from_power_sums, kstat_variance, power_product


def test_augmented_sums_and_their_inverse():
    # A_(a,b) = S_a S_b - S_(a+b); and the product of power sums expands back
    assert augmented_sum((2, 1)) == {(2, 1): 1, (3,): -1}
    assert power_product((2, 1)) == {(2, 1): 1, (3,): 1}
    # brute force on a small sample: sum over distinct ordered index tuples
    xs = [Fraction(v) for v in (2, -1, 3, 5, -4)]
    S = {r: sum(v**r for v in xs) for r in range(0, 9)}
    for parts in [(3, 1), (2, 2, 1), (1, 1, 1, 1), (4, 2, 1)]:
        direct = sum(
            math.prod(xs[i] ** a for i, a in zip(idx, parts))
            for idx in itertools.permutations(range(len(xs)), len(parts))
        )
        via = sum(c * math.prod(S[r] for r in mono) for mono, c in augmented_sum(parts).items())
        assert via == direct


def _three_point_law(values, weights):
    total = sum(weights)
    probs = [Fraction(w, total) for w in weights]
    return [Fraction(v) for v in values], probs


def _enumerate(values, probs, N):
    """Yield (probability, power sums S_0..S_2N) over all count vectors of N draws."""
    for counts in itertools.product(range(N + 1), repeat=len(values) - 1):
        last = N - sum(counts)
        if last < 0:
            continue
        counts = counts + (last,)
        weight = Fraction(math.factorial(N))
        for c, p in zip(counts, probs):
            weight *= p**c / math.factorial(c)
        S = [sum(c * v**r for c, v in zip(counts, values)) for r in range(2 * N + 1)]
        yield weight, S


@given(
    values=st.lists(st.integers(-3, 3), min_size=3, max_size=3, unique=True),
    weights=st.lists(st.integers(1, 5), min_size=3, max_size=3),
    n=st.integers(1, 8),
    extra=st.integers(0, 2),
)
@settings(derandomize=True, deadline=None, max_examples=20)
def test_kstats_are_exactly_unbiased_and_their_variance_exact(values, weights, n, extra):
    """Exhaustive enumeration of all samples of a 3-point law, in exact rational arithmetic:
    E[k_n] = kappa_n (eq. K1-K3) and E[k_n^2] - kappa_n^2 = eq. K7."""
    vals, probs = _three_point_law(values, weights)
    N = n + extra
    raw = [sum(p * v**r for p, v in zip(probs, vals)) for r in range(1, 2 * n + 1)]
    kappa_n = moments_to_cumulants(raw[:n])[-1]
    mean = raw[0]
    central = [sum(p * (v - mean) ** r for p, v in zip(probs, vals)) for r in range(0, 2 * n + 1)]
    e1 = e2 = Fraction(0)
    for w, S in _enumerate(vals, probs, N):
        kn = kstat_from_power_sums(S, n, N)
        e1 += w * kn
        e2 += w * kn * kn
    assert e1 == kappa_n
    assert e2 - kappa_n**2 == kstat_variance(central, n, N)


@pytest.mark.parametrize("n", [6, 7, 8])
def test_highest_orders_unbiased_on_a_skewed_law(n):
    vals, probs = _three_point_law([-1, 0, 3], [2, 3, 1])
    raw = [sum(p * v**r for p, v in zip(probs, vals)) for r in range(1, n + 1)]
    expectation = sum(w * kstat_from_power_sums(S, n, n) for w, S in _enumerate(vals, probs, n))
    assert expectation == moments_to_cumulants(raw)[-1] != 0
