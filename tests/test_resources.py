"""Resource limits: a computation estimated beyond the machine's memory is refused before it starts."""
from __future__ import annotations

import pytest

from rgsym import resources


def test_check_memory_refuses_beyond_the_share_and_names_the_knob(monkeypatch):
    monkeypatch.delenv("RGSYM_ALLOW_LARGE", raising=False)
    total = resources.physical_memory()
    assert total > 2**28  # the machine's memory was read
    assert resources.check_memory(0.1 * total, "a small job", "lower n") == pytest.approx(0.1 * total / 2**30)
    with pytest.raises(ValueError, match=r"a big job would hold about .* GiB, more than 50% .*; lower n, or set "
                                         r"RGSYM_ALLOW_LARGE=1"):
        resources.check_memory(0.6 * total, "a big job", "lower n")


def test_check_memory_goes_ahead_when_asked(monkeypatch):
    monkeypatch.setenv("RGSYM_ALLOW_LARGE", "1")
    assert resources.check_memory(10 * resources.physical_memory(), "a big job", "lower n") > 0
