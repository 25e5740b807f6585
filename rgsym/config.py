"""Run settings shared by every chapter: profiles, devices, seeds.

Every chapter starts with a papermill ``parameters`` cell (``profile``, ``device``, ``seed`` and
its own knobs) followed by :func:`setup_chapter`, which validates all of them *before* any heavy
work and resolves the device.
"""
from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field
from typing import Any

from .validation import as_int, check_choice

from .devices import DEVICES, describe_device, resolve_device  # noqa: F401 -- re-exported

PROFILES = ("smoke", "paper")


def check_profile(profile: str) -> str:
    """Validate a profile name (``'smoke'`` or ``'paper'``)."""
    return check_choice("profile", profile, PROFILES)


def seed_everything(seed: int) -> None:
    """Seed Python, numpy's legacy global state and torch (CPU and CUDA)."""
    import torch

    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class ChapterSettings:
    """What :func:`setup_chapter` returns: validated parameters plus the resolved device."""

    chapter: str
    profile: str
    device: Any
    seed: int
    params: dict = field(default_factory=dict)

    def __getitem__(self, key):
        return self.params[key]


def injected_parameter_names() -> set[str]:
    """Names that papermill injected into the running kernel (the assignments of its ``# Parameters``
    cells in the kernel's input history); empty outside IPython."""
    import ast
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return set()
    names = set()
    for src in shell.user_ns.get("In", []) or []:
        if not isinstance(src, str) or not src.lstrip().startswith("# Parameters"):
            continue
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        names |= {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                  if isinstance(t, ast.Name)}
    return names


def setup_chapter(chapter: str, *, profile: str, device: str, seed: int, **knobs) -> ChapterSettings:
    """Validate a chapter's parameters, pick the device, seed everything and set the figure style.

    ``knobs`` are the chapter's other parameters, all of them: a name that papermill injected but the
    chapter does not declare (a typo such as ``-p stpes 10``) is an error that lists the valid names,
    before any work. Writes the resolved device to the file named by ``$RGSYM_PROVENANCE_FILE`` (set
    by the book pipeline) so that the executed notebook records where it ran.
    """
    declared = {"profile", "device", "seed", *knobs}
    unknown = sorted(injected_parameter_names() - declared)
    if unknown:
        raise ValueError(f"chapter {chapter} has no parameter {', '.join(map(repr, unknown))}; "
                         f"valid parameters are: {', '.join(sorted(declared))}")
    check_profile(profile)
    check_choice("device", device, DEVICES)
    seed = as_int("seed", seed, lo=0, hi=2**63 - 1)
    dev = resolve_device(device)
    print(f"rgsym {chapter}: profile={profile!r}, device={describe_device(dev)}, seed={seed}")
    seed_everything(int(seed))
    from . import plotting

    plotting.use_style()
    path = os.environ.get("RGSYM_PROVENANCE_FILE")
    if path:
        with open(path, "w") as fh:
            json.dump({"device": describe_device(dev), "device_type": dev.type}, fh)
    return ChapterSettings(chapter, profile, dev, int(seed), dict(knobs))

