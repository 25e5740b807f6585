"""The one plain forward pass (rgsym.nets.forward): a hand computation, and EnsembleMLP uses it."""
import torch

from rgsym.nets.forward import plain_forward
from rgsym.nets.mlp import EnsembleMLP, MLPConfig


def test_plain_forward_by_hand():
    g = torch.Generator().manual_seed(0)
    E, B, b, H = 3, 5, 2, 4
    W1, c1 = torch.randn(E, H, b, generator=g, dtype=torch.float64), torch.randn(E, H, generator=g, dtype=torch.float64)
    W2, c2 = torch.randn(E, 1, H, generator=g, dtype=torch.float64), torch.randn(E, 1, generator=g, dtype=torch.float64)
    x = torch.randn(E, B, b, generator=g, dtype=torch.float64)
    out = plain_forward([(W1, c1), (W2, c2)], x, torch.tanh)
    assert out.shape == (E, B)
    for e in range(E):
        h = torch.tanh(x[e] @ W1[e].T + c1[e])
        assert torch.allclose(out[e], (h @ W2[e].T + c2[e])[:, 0], atol=1e-14)


def test_ensemble_network_is_plain_forward():
    cfgs = [MLPConfig(width=3, depth=2, activation=a) for a in ("tanh", "relu", "tanh")]
    m = EnsembleMLP(cfgs, [0, 1, 2], dtype=torch.float64)
    x = torch.randn(3, 7, 2, dtype=torch.float64)
    acts = [c.act for c in cfgs]
    ref = torch.stack([plain_forward([(W[e:e + 1], c[e:e + 1]) for W, c in m.layers()], x[e:e + 1], acts[e])[0]
                       for e in range(3)])
    assert torch.equal(m.network(x), ref)
