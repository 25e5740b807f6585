"""Per-member predictions of trained ensembles (rgsym.propagation.ensembles) against closed forms and
Monte Carlo."""
from __future__ import annotations

import torch

from rgsym import propagation as P
from rgsym.clt import get_law
from rgsym.nets.mlp import EnsembleMLP

F64 = torch.float64


def test_linear_members_are_predicted_exactly():
    m = EnsembleMLP.build(width=3, depth=1, activation="identity", seeds=2, dtype=F64)
    layers = [(W.detach(), c.detach()) for W, c in m.layers()]
    A = layers[1][0] @ layers[0][0]  # (E, 1, b): the member is an affine map s -> A s + c
    c = (layers[1][0] @ layers[0][1].unsqueeze(-1)).squeeze(-1) + layers[1][1]
    kin = torch.tensor(get_law("laplace").cumulants(4), dtype=F64)
    pred = P.predict_cumulants(m, "laplace", 4)
    assert pred.methods == ["exact", "exact"] and (pred.error < 1e-12 * (1 + pred.kappa.abs())).all()  # rounding bound
    for n in range(1, 5):
        want = (A[:, 0, :] ** n).sum(-1) * kin[n - 1] + (c[:, 0] if n == 1 else 0.0)
        torch.testing.assert_close(pred.kappa[:, n - 1], want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(P.gaussian_truncation(m, "laplace"), pred.kappa[:, :2], rtol=1e-12, atol=1e-12)
    k, se = P.measure_cumulants(m, "laplace", 100_000, seed=1)
    assert ((k - pred.kappa).abs() <= 5 * se + 1e-6).all()


def test_non_polynomial_members_use_the_rule_and_eigenvalues_are_sorted():
    m = EnsembleMLP.build(width=4, depth=1, activation="tanh", seeds=2, dtype=F64)
    pred = P.predict_cumulants(m, "student_t", 4, nodes=8)
    assert pred.methods == ["quadrature(5)"] * 2  # the law's finite cumulants cap m
    ev = P.learned_eigenvalues(m, state=4, nodes=4).abs()
    assert ev.shape == (2, 4) and (ev[:, :-1] >= ev[:, 1:]).all()
