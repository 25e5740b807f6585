r"""Central sample moments along the last axis, numpy or torch, in float64 (Chapter 1).

For a sample :math:`x_1..x_N` the central sample moments are :math:`m_r=\frac1N\sum_i(x_i-\bar x)^r`:
everything :mod:`.estimators` evaluates (the k-statistics and their errors) is a polynomial in them.
Every function takes numpy arrays or torch tensors (any leading shape; the sample runs along the last
axis) and returns the same kind, computed in float64 (torch: on the input's device).
"""
from __future__ import annotations

import math
import sys

import numpy as np


def is_torch(x) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def validated(x):
    """Validate ``x`` (real, at least one axis); numpy input becomes an array (not yet converted:
    :func:`central_moments` converts block by block)."""
    if is_torch(x):
        if x.is_complex():
            raise TypeError("k-statistics need real data, got a complex tensor")
    else:
        x = np.asarray(x)
        if np.iscomplexobj(x) or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
            raise TypeError(f"k-statistics need real numeric data, got dtype {x.dtype}")
    if x.ndim == 0:
        raise ValueError("k-statistics need at least one axis (the sample axis, the last one)")
    return x


_CHUNK = 1 << 16
"""Elements per block in the numpy accumulation (cache-sized blocks; one pass over memory)."""


def central_moments(x, rmax: int):
    r"""Mean :math:`\bar x` and central sample moments :math:`m_r=\frac1N\sum_i(x_i-\bar x)^r`.

    ``x``: shape ``(..., N)`` (numpy or torch). Returns ``(mean, m)`` with ``mean`` of shape ``(...)``
    and ``m`` of shape ``(..., rmax + 1)`` (``m[..., 0] = 1``, ``m[..., 1] = 0``), float64, same kind as
    ``x``. Two passes: the mean, then all power sums of :math:`d_i=x_i-\bar x` together; the
    rounding left in :math:`\sum_i d_i` is removed exactly by the binomial shift
    :math:`\sum(d-c)^r=\sum_j\binom rj(-c)^{r-j}\sum d^j`. CPU tensors are computed through numpy
    (zero-copy) in cache-sized blocks; CUDA tensors stay on their device.
    """
    rmax = int(rmax)
    x = validated(x)
    if is_torch(x):
        import torch

        if x.device.type == "cpu":
            if x.dtype == torch.bfloat16:  # numpy has no bfloat16
                x = x.to(torch.float32)
            mean, m = _central_moments_numpy(x.detach().numpy(), rmax)
            return torch.from_numpy(mean), torch.from_numpy(m)
        return _central_moments_torch(x.detach().to(torch.float64), rmax)
    return _central_moments_numpy(x, rmax)


def _shift_sums(S, N: int, rmax: int):
    """Power sums of d about the refined mean (c = S_1 / N): binomial shift, then divide by N."""
    c = S[..., 1] / N
    m = [S[..., 0] / N, S[..., 0] * 0.0]
    for r in range(2, rmax + 1):
        total = S[..., r] * 1.0
        for j in range(0, r):
            total = total + math.comb(r, j) * (-c) ** (r - j) * S[..., j]
        m.append(total / N)
    return m


def _central_moments_numpy(x: np.ndarray, rmax: int):
    N = x.shape[-1]
    if N < 1:
        raise ValueError("need at least one value along the last axis")
    mean = x.mean(-1, dtype=np.float64, keepdims=True)
    lead = x.shape[:-1]
    S = np.zeros(lead + (max(rmax, 1) + 1,))
    S[..., 0] = N
    width = max(1, _CHUNK // max(1, math.prod(lead)))
    for start in range(0, N, width):
        d = x[..., start:start + width].astype(np.float64) - mean
        S[..., 1] += d.sum(-1)
        if rmax >= 2:
            p = d * d
            S[..., 2] += p.sum(-1)
            for r in range(3, rmax + 1):
                p *= d
                S[..., r] += p.sum(-1)
    m = _shift_sums(S, N, rmax)
    mean = np.asarray(mean[..., 0] + S[..., 1] / N)
    return mean, np.stack(m[: rmax + 1], axis=-1)


def _central_moments_torch(x, rmax: int):
    import torch

    N = x.shape[-1]
    if N < 1:
        raise ValueError("need at least one value along the last axis")
    mean = x.mean(-1, keepdim=True)
    d = x - mean
    cols = [torch.full_like(mean[..., 0], float(N)), d.sum(-1)]
    if rmax >= 2:
        p = d * d
        cols.append(p.sum(-1))
        for _ in range(3, rmax + 1):
            p *= d
            cols.append(p.sum(-1))
    S = torch.stack(cols, -1)
    m = _shift_sums(S, N, rmax)
    return mean[..., 0] + S[..., 1] / N, torch.stack(m[: rmax + 1], -1)


def stack(cols):
    """Stack same-shaped arrays/tensors on a new last axis."""
    if is_torch(cols[0]):
        import torch

        return torch.stack(cols, -1)
    return np.stack(cols, axis=-1)


def finish(out):
    """numpy 0-d arrays become numpy scalars (like scipy); tensors stay tensors."""
    if not is_torch(out) and isinstance(out, np.ndarray) and out.ndim == 0:
        return out[()]
    return out
