"""Devices: which one a run uses, and how provenance names it.

Kept apart from :mod:`rgsym.config` (which also sets the figure style) so that the training engines,
which record the device as provenance, do not carry the plotting code in their cache keys: a cached
network is invalidated exactly when code it depends on changes.
"""
from __future__ import annotations

import os

from .validation import check_choice

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str = "auto", *, verbose: bool = False):
    """Turn ``'auto'``, ``'cpu'`` or ``'cuda'`` into a :class:`torch.device`.

    ``'auto'`` takes the GPU when CUDA is available and the CPU otherwise; ``'cuda'`` on a machine
    without CUDA is an error (rather than a silent fall-back to the CPU).
    """
    check_choice("device", device, DEVICES)
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "device='cuda' was requested but CUDA is not available on this machine "
            f"(torch {torch.__version__}); use device='cpu' or device='auto'"
        )
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if verbose:
        print(f"rgsym: running on {describe_device(dev)}")
    return dev


def describe_device(dev) -> str:
    """A human-readable name for a torch device (the GPU model for CUDA)."""
    import torch

    dev = torch.device(dev)
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    return f"cpu ({os.cpu_count()} logical cores, {torch.get_num_threads()} torch threads)"
