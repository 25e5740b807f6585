"""The public API: every re-exported name resolves, heavy modules load lazily, report/plot helpers."""
import subprocess
import sys

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

import rgsym  # noqa: E402
from rgsym.plotting import stamp, use_style  # noqa: E402
from rgsym.report import plain, verdict  # noqa: E402


def test_every_public_name_resolves():
    for name in rgsym.__all__:
        assert getattr(rgsym, name) is not None, name


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        rgsym.nope


def test_import_rgsym_does_not_load_torch_geometric_or_sympy():
    code = "import sys, rgsym; print('torch_geometric' in sys.modules, 'sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_plain_turns_scalars_into_python_numbers():
    assert type(plain(np.float64(0.25))) is float and plain(np.float64(0.25)) == 0.25
    assert type(plain(np.int64(3))) is int
    assert type(plain(torch.tensor(2.5))) is float
    arr = np.arange(3)
    assert plain(arr) is arr  # arrays stay arrays
    assert plain("x") == "x"
    assert f"{plain(np.float32(1 / 3)):.3f}" == "0.333"


def test_verdict_words():
    assert verdict(True) == "supported" and verdict(np.bool_(False)) == "not supported"


def test_stamp_reserves_room_under_the_axes():
    import matplotlib.pyplot as plt

    use_style()
    fig, ax = plt.subplots()
    ax.set_xlabel("x label")
    stamp(fig, "a long parameter stamp " * 20)
    fig.canvas.draw()
    text = fig.texts[-1]
    assert "\n" in text.get_text()  # wrapped to the figure width
    stamp_top = text.get_window_extent().y1
    label_bottom = ax.xaxis.label.get_window_extent().y0
    assert stamp_top <= label_bottom + 1.0
    plt.close(fig)
