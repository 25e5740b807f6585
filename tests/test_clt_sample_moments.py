"""Central sample moments, numpy and torch paths (rgsym.clt.sample_moments)."""
from __future__ import annotations

import numpy as np
import torch

from rgsym.clt.laws import get_law
from rgsym.clt.sample_moments import _central_moments_numpy, _central_moments_torch, central_moments


def _sample(law, n, seed):
    return get_law(law).sample(n, np.random.default_rng(seed))


def test_central_moments_shapes_and_values():
    x = np.array([[1.0, 2.0, 3.0, 6.0]])
    mean, m = central_moments(x, 4)
    assert mean.shape == (1,) and m.shape == (1, 5)
    d = x[0] - 3.0
    np.testing.assert_allclose(m[0], [1, 0, np.mean(d**2), np.mean(d**3), np.mean(d**4)], atol=1e-15)


def test_device_path_agrees_with_the_numpy_path():
    """CUDA tensors take the all-torch path; run that code on the CPU and compare."""
    x = _sample("exponential", 2 * 3000, 9).reshape(2, 3000) + 5.0
    m_np = _central_moments_numpy(x, 16)
    m_t = _central_moments_torch(torch.from_numpy(x), 16)
    np.testing.assert_allclose(m_t[0].numpy(), m_np[0], rtol=1e-14)
    np.testing.assert_allclose(m_t[1].numpy(), m_np[1], rtol=1e-9, atol=1e-12)
