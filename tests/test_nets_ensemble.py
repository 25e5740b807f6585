"""Helpers shared by MLP and GNN ensembles (rgsym.nets.ensemble), and what ``import rgsym.nets`` loads."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import rgsym.nets
from rgsym.nets.ensemble import apply_runs, check_indices, member_lists, member_modes, runs, uniform, where_members
from rgsym.nets.mlp import MLPConfig


def test_runs_and_apply_runs():
    assert runs(["a", "a", "b", "a"]) == [(0, 2, "a"), (2, 3, "b"), (3, 4, "a")]
    z = torch.linspace(-2, 2, 12).reshape(3, 4)
    out = apply_runs(z, runs([torch.tanh, torch.relu, torch.relu]))
    assert torch.equal(out[0], torch.tanh(z[0])) and torch.equal(out[1:], torch.relu(z[1:]))


def test_masks_members_and_indices():
    m = torch.tensor([True, False])
    assert member_modes({"odd": m, "all": torch.tensor([True, True]), "no": ~torch.tensor([True, True])}) == \
        {"odd": "some", "all": "all", "no": "none"}
    a, b = torch.ones(2, 3), torch.zeros(2, 3)
    assert torch.equal(where_members("some", m, a, b), torch.stack([a[0], b[1]]))
    cfgs, seeds = member_lists(MLPConfig(), 3, MLPConfig)
    assert len(cfgs) == 3 and seeds == (0, 1, 2)
    with pytest.raises(TypeError, match="MLPConfig"):
        member_lists(["x"], [0], MLPConfig)
    with pytest.raises(ValueError, match="one config per seed"):
        member_lists([MLPConfig()], [0, 1], MLPConfig)
    assert check_indices([0, -1], 2) == [0, -1]
    with pytest.raises(IndexError):
        check_indices([2], 2)
    with pytest.raises(ValueError, match="differ in sizes"):
        uniform([1, 2], "sizes")


def test_nets_and_learn_load_torch_geometric_lazily():
    code = ("import sys, rgsym.nets, rgsym.learn; a = 'torch_geometric' in sys.modules; "
            "rgsym.nets.EnsembleGNN; print(a, 'torch_geometric' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]


def test_no_nets_module_imports_pandas_or_torch_geometric_at_import():
    """Top-level imports only (function-level ones run when called): pandas and torch-geometric stay out
    of ``import rgsym.nets`` (rgsym.nets.gnn, imported lazily, needs torch-geometric by design)."""
    root = Path(rgsym.nets.__file__).parent
    for f in root.glob("*.py"):
        for node in ast.parse(f.read_text()).body:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for n in names:
                assert not n.startswith("pandas"), f
                assert not n.startswith("torch_geometric"), f
