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

from ..validation import check_choice


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
    ``x``. Two passes: the mean, then all power sums of :math:`d_i=x_i-\bar x` together
    (:func:`power_sums`); the rounding left in :math:`\sum_i d_i` is removed exactly by the binomial
    shift :math:`\sum(d-c)^r=\sum_j\binom rj(-c)^{r-j}\sum d^j` (:func:`moments_from_sums`). CPU tensors
    are computed through numpy (zero-copy) in cache-sized blocks; CUDA tensors stay on their device.
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


def power_sums(x, rmax: int, centre=0.0, *, blocks: str = "samples"):
    r"""Power sums :math:`S_r=\sum_i(x_i-c)^r`, ``r = 0..max(rmax, 1)``, along the last axis, in float64.

    ``x``: shape ``(..., N)``, numpy or torch; ``centre``: :math:`c`, a number or (numpy, torch) an
    array of shape ``(..., 1)``. Returns shape ``(..., max(rmax, 1) + 1)`` (``S[..., 0] = N``), the same
    kind as ``x`` (CPU tensors go through numpy, zero-copy; CUDA tensors stay on their device). numpy
    input is converted block by block (cache-sized): ``blocks="samples"`` accumulates over blocks of the
    last axis, ``blocks="rows"`` sums whole rows, in blocks of the first axis (a number ``centre`` only).
    """
    check_choice("power-sum blocks", blocks, ("samples", "rows"))
    x = validated(x)
    rmax = int(rmax)
    if is_torch(x):
        import torch

        if x.device.type != "cpu":
            d = x.detach().to(torch.float64) - centre
            cols = [torch.full_like(d[..., 0], float(d.shape[-1]))] + _block_sums(d, rmax)
            return torch.stack(cols, -1)
        if x.dtype == torch.bfloat16:  # numpy has no bfloat16
            x = x.to(torch.float32)
        c = centre.detach().numpy() if is_torch(centre) else centre
        return torch.from_numpy(power_sums(x.detach().numpy(), rmax, c, blocks=blocks))
    N = x.shape[-1]
    S = np.zeros(x.shape[:-1] + (max(rmax, 1) + 1,))
    S[..., 0] = N
    if blocks == "rows":
        if np.ndim(centre):
            raise ValueError("power_sums(blocks='rows') takes a single number as centre")
        rows = max(1, _CHUNK // max(math.prod(x.shape[1:]), 1))
        for start in range(0, x.shape[0], rows):
            d = x[start:start + rows].astype(np.float64) - centre
            for r, col in enumerate(_block_sums(d, rmax), 1):
                S[start:start + rows, ..., r] = col
        return S
    width = max(1, _CHUNK // max(1, math.prod(x.shape[:-1])))
    for start in range(0, N, width):
        d = x[..., start:start + width].astype(np.float64) - centre
        for r, col in enumerate(_block_sums(d, rmax), 1):
            S[..., r] += col
    return S


def _block_sums(d, rmax: int) -> list:
    """``[sum d, sum d^2, .., sum d^rmax]`` along the last axis (at least ``sum d``), powers by repeated
    products in place."""
    cols = [d.sum(-1)]
    if rmax >= 2:
        p = d * d
        cols.append(p.sum(-1))
        for _ in range(3, rmax + 1):
            p *= d
            cols.append(p.sum(-1))
    return cols


def moments_from_sums(S, centre=0.0, *, N=None):
    r"""Mean and central moments from power sums about ``centre``: ``S`` of shape ``(..., R + 1)``
    (numpy or torch) with ``S[..., 0]`` the sample size (or ``N``, the same for all). Returns
    ``(mean, m)``, shapes ``(...)`` and ``(..., R + 1)``; the binomial shift to the sample's own mean is
    exact (:func:`central_moments`)."""
    if not is_torch(S):
        S = np.asarray(S, dtype=np.float64)
        centre = np.asarray(centre, dtype=np.float64)
    if N is None:
        N = S[..., 0]
    m = stack(_shift_sums(S, N, S.shape[-1] - 1))
    return centre + S[..., 1] / N, m


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
    mean, m = moments_from_sums(power_sums(x, rmax, mean), mean[..., 0], N=N)
    return np.asarray(mean), m[..., : rmax + 1]


def _central_moments_torch(x, rmax: int):
    N = x.shape[-1]
    if N < 1:
        raise ValueError("need at least one value along the last axis")
    mean = x.mean(-1, keepdim=True)
    mean, m = moments_from_sums(power_sums(x, rmax, mean), mean[..., 0], N=N)
    return mean, m[..., : rmax + 1]


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
