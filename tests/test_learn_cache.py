"""rgsym.learn.cache: durable writes with a checksum, and a cache that heals from corrupt files."""
import os
import warnings

import pytest
import torch

from rgsym.learn import cache
from rgsym.learn.measures import MeasureConfig
from rgsym.learn.mlp_sweep import SweepSpec, run_sweep
from rgsym.learn.training import TrainConfig


@pytest.fixture()
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RGSYM_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_round_trip_and_checksum(fresh_cache):
    store = cache.Store("t")
    obj = {"a": torch.arange(5.0), "b": [1, 2]}
    store.put("k", obj)
    assert "k" in store and torch.equal(store.get("k")["a"], obj["a"])
    raw = store.file("k").read_bytes()
    assert raw.startswith(cache.MAGIC)
    # one flipped payload byte is caught by the checksum
    flipped = bytearray(raw)
    flipped[-20] ^= 0xFF
    store.file("k").write_bytes(bytes(flipped))
    with pytest.raises(cache.CorruptEntry, match="checksum"):
        cache.load(store.file("k"))


CORRUPTIONS = {
    "truncated": lambda b: b[: len(b) // 2],
    "zero-length": lambda b: b"",
    "zeroed": lambda b: bytes(len(b)),
}


@pytest.mark.parametrize("how", list(CORRUPTIONS))
def test_a_corrupt_chunk_is_named_quarantined_and_recomputed(fresh_cache, how):
    spec = SweepSpec(symmetries=("free",), activations=("tanh",), sizes=((1, 2),), tasks=("gaussian",),
                     seeds=(0, 1), train=TrainConfig(steps=10, batch_size=16, n_train=32),
                     measures=MeasureConfig(n_eval=64, L=2, n_flow=16))
    first = run_sweep(spec, progress=False)
    files = sorted((fresh_cache / "mlp-sweeps").glob("*.pt"))
    assert len(files) == 1
    files[0].write_bytes(CORRUPTIONS[how](files[0].read_bytes()))
    with pytest.warns(cache.CacheWarning, match=files[0].name):
        again = run_sweep(spec, progress=False)
    assert again.n_trained == 1 and again.n_cached == 0
    assert list(again.table["value"].fillna(-1)) == list(first.table["value"].fillna(-1))
    assert len(list((fresh_cache / "mlp-sweeps" / "quarantine").glob("*.pt"))) == 1
    # healed: the next run loads it without a word
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run_sweep(spec, progress=False).n_cached == 1


def test_writes_leave_no_temporary_file_behind(fresh_cache, monkeypatch):
    store = cache.Store("t")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        store.put("k", {"x": 1})
    assert not list((fresh_cache / "t").glob(".tmp-*"))
