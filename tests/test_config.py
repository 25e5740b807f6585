"""Profiles, devices and early validation of chapter parameters."""
from __future__ import annotations

import json

import pytest
import torch

from rgsym.config import PROFILES, check_choice, check_profile, resolve_device, setup_chapter


def test_check_choice_lists_valid_choices():
    assert check_choice("profile", "paper", PROFILES) == "paper"
    with pytest.raises(ValueError, match=r"unknown profile 'fast'; valid choices are: 'smoke', 'paper'"):
        check_profile("fast")


def test_unknown_device_lists_choices():
    with pytest.raises(ValueError, match=r"unknown device 'tpu'; valid choices are: 'auto', 'cpu', 'cuda'"):
        resolve_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        resolve_device("cuda")


def test_auto_takes_the_gpu_if_there_is_one_and_says_which(capsys):
    dev = resolve_device("auto", verbose=True)
    assert dev.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert f"running on {dev.type}" in capsys.readouterr().out


def test_setup_chapter_validates_first_and_records_the_device(tmp_path, monkeypatch, capsys):
    prov = tmp_path / "prov.json"
    monkeypatch.setenv("RGSYM_PROVENANCE_FILE", str(prov))
    with pytest.raises(ValueError, match="valid choices are: 'smoke', 'paper'"):
        setup_chapter("x", profile="fast", device="cpu", seed=0)
    assert not prov.exists()
    with pytest.raises(ValueError, match="seed must be an integer"):
        setup_chapter("x", profile="smoke", device="cpu", seed=0.5)
    s = setup_chapter("x", profile="smoke", device="cpu", seed=3, b=2)
    assert s.device.type == "cpu" and s.seed == 3 and s["b"] == 2
    assert json.loads(prov.read_text())["device_type"] == "cpu"
    assert "profile='smoke'" in capsys.readouterr().out
    # the same seed gives the same numbers
    a = torch.rand(3)
    setup_chapter("x", profile="smoke", device="cpu", seed=3)
    assert torch.equal(a, torch.rand(3))
