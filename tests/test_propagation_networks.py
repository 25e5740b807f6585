"""Reading Chapter 2's ensembles as plain networks (rgsym.propagation.networks)."""
from __future__ import annotations

import torch

from rgsym import propagation as P
from rgsym.clt import get_law
from rgsym.nets.mlp import EnsembleMLP, MLPConfig

F64 = torch.float64


def test_reads_chapter2_models_with_mixed_members_and_antisymmetrisation():
    cfgs = [MLPConfig(width=4, depth=2, activation="quadratic", symmetry=s, alpha=0.3)
            for s in ("free", "odd", "tied-hidden", "perm-in+odd")]
    cfgs.append(MLPConfig(width=4, depth=2, activation="identity", symmetry="odd"))
    model = EnsembleMLP(cfgs, [0, 1, 2, 3, 4], dtype=F64)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel()), dtype=F64))
    groups = P.as_networks(model)
    x = get_law("uniform").sample((5, 64, 2), torch.Generator().manual_seed(0), dtype=F64)
    with torch.no_grad():
        y = model(x)
    for idx, net in groups:  # antisymmetrised members are exact plain networks of twice the width
        torch.testing.assert_close(P.network_forward(net, x[idx]), y[idx], rtol=1e-12, atol=1e-12)
    inp = P.law_inputs("laplace", 2, 16)
    together = P.propagate(model, inp, 4).kappa
    alone = torch.cat([P.propagate(model.member(i), inp, 4).kappa for i in range(5)])
    torch.testing.assert_close(together, alone, rtol=1e-12, atol=1e-12)
    assert float(together[1, 2].abs()) < 1e-10 and float(together[1, 0].abs()) < 1e-12  # odd: symmetric output
