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


# every name ``rgsym`` exported before the reorganisation into subpackages (issue 9): users' code keeps working
PUBLIC_BEFORE_REORGANISATION = """
PROFILES DEVICES check_choice resolve_device seed_everything setup_chapter LAWS TRAIN_LAWS get_law unseen_laws
moments_to_cumulants cumulants_to_moments kstat kstat_se kstats skewness excess_kurtosis block_map rg_flow
check_lattice sample_lattice exact_cumulant_flow fit_exponent ACTIVATIONS get_activation SYMMETRIES MLPConfig
EnsembleMLP exact_layers from_layers TrainConfig train_ensemble log_schedule MeasureConfig evaluate
function_slices SweepSpec run_sweep chapter2_spec cell_stats c2_verdict cache_dir METHODS propagate iid_inputs
law_inputs tensor_inputs required_input_order affine_cumulants polynomial_activation_cumulants gauss_rule
cumulant_map cumulant_flow exact_flow flow_fixed_point GNNConfig EnsembleGNN GNNSweepSpec run_gnn_sweep
chapter4_specs lattice_graph graph_hierarchy predict_node_cumulants measure_node_cumulants SymmetryLogger
symmetry_measures BreakingSpec run_breaking chapter6_spec c5_verdict
""".split()


def test_every_name_exported_before_the_reorganisation_still_is():
    assert not set(PUBLIC_BEFORE_REORGANISATION) - set(rgsym.__all__)
    assert rgsym.kstat is rgsym.clt.kstat and rgsym.c2_verdict is rgsym.chapters.ch2_constraint.verdict_c2
    assert isinstance(rgsym.__version__, str) and rgsym.__version__
    # the old module names still resolve, to the modules that hold that code now
    assert rgsym.sweeps.SweepSpec is rgsym.SweepSpec and rgsym.rg.block_map is rgsym.block_map


def test_import_rgsym_loads_no_heavy_dependency():
    code = ("import sys, rgsym; print(*(m in sys.modules for m in "
            "('torch', 'pandas', 'sympy', 'torch_geometric', 'matplotlib')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"] * 5


def test_nothing_inside_rgsym_imports_rgsym_itself_or_a_higher_layer():
    from pathlib import Path

    from rgsym.codehash import CodeIndex

    layers = ["validation", "resources", "seeds", "devices", "codehash", "plotting", "report", "verdicts", "config", "clt", "nets", "learn",
              "propagation", "symmetry", "chapters", "pipeline"]
    pkg = Path(rgsym.__file__).parent
    idx = CodeIndex(pkg)
    bad = []
    for f in pkg.rglob("*.py"):
        parts = f.relative_to(pkg.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name == "rgsym":
            continue
        for dep in idx.direct_imports(name):
            if dep == "rgsym" or layers.index(dep.split(".")[1]) > layers.index(name.split(".")[1]):
                bad.append(f"{name} -> {dep}")
    assert not bad


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
