"""The learned map's flow in cumulant space and its fixed points (rgsym.propagation.flows)."""
from __future__ import annotations

import pytest
import torch

from rgsym import propagation as P
from rgsym.clt import get_law
from rgsym.nets.activations import get_activation

F64 = torch.float64


@pytest.mark.parametrize("b", [2, 3])
def test_exact_map_flow_and_fixed_point(b):
    lin = [(torch.full((1, 1, b), b ** -0.5, dtype=F64), torch.zeros(1, 1, dtype=F64))]
    k0 = torch.tensor([0.1, 1.0, 0.5, 2.0, 0.3, 1.0], dtype=F64)
    flow = P.cumulant_flow(lin, k0, 4, activation="identity")
    torch.testing.assert_close(flow[:, 0], P.exact_flow(k0, b, 4), rtol=1e-12, atol=1e-14)
    fp = P.flow_fixed_point(lin, [0.0, 1.0, 0.0, 0.0], activation="identity")
    assert bool(fp.converged.all())
    lam = sorted(fp.eigenvalues[0].real.tolist())
    assert lam == pytest.approx(sorted(b ** (1 - n / 2) for n in range(1, 5)), rel=1e-10)


def test_free_construction_flows_exactly_and_tied_hidden_drifts():
    s = 2 ** -0.5
    free = [(torch.tensor([[[s, s], [-s, -s]]], dtype=F64), torch.zeros(1, 2, dtype=F64)),
            (torch.tensor([[[0.5, -0.5]]], dtype=F64), torch.zeros(1, 1, dtype=F64))]
    act = get_activation("quadratic", alpha=0.7)
    k0 = torch.tensor([0.0, 1.0, 0.0, 0.0, 0.0, 0.0], dtype=F64)
    uni = torch.tensor(get_law("uniform").cumulants(6), dtype=F64)
    for start in (k0, uni):
        flow = P.cumulant_flow(free, start, 5, activation=act)
        torch.testing.assert_close(flow[:, 0], P.exact_flow(start, 2, 5), rtol=1e-12, atol=1e-13)
    tied = [(torch.tensor([[[s, s], [s, s]]], dtype=F64) / 2, torch.full((1, 2), 0.3, dtype=F64)),
            (torch.tensor([[[1.0, 1.0]]], dtype=F64), torch.zeros(1, 1, dtype=F64))]
    flow = P.cumulant_flow(tied, k0, 5, activation=act)[:, 0]
    assert (flow[1:, 2].abs() > 1e-3).all()  # kappa_3 is injected at every step
    assert abs(float(flow[-1, 0] - flow[1, 0])) > 1e-2  # and the mean drifts
