# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # MLPs learning the RG step: symmetry against expressivity
#
# Chapter 1 fixed the target: the block map $T_b(s)_j = b^{-1/2}\sum_{i\in j} s_i$, an exact
# real-space RG step whose only fixed point with unit variance is the Gaussian. Here small
# multilayer perceptrons $f_\theta:\mathbb R^b\to\mathbb R$ learn it from samples, one block at a
# time, and we ask which of them *generalise*. Ashworth, Caso and Liò {cite:p}`ashworth2025symmetry` report that
# networks can be trained to perform such a step (claim C1) and that weight symmetry and expressivity
# pull against each other: networks that are too constrained and networks that are too complex both
# generalise badly, and the good ones sit in between (claim C2). This chapter trains two grids: a
# survey over symmetries, activations and three sizes (which Chapters 3 and 4 reuse), and a *constraint
# map* in which the degree of constraint and the size are separate axes, on which the chapter states a
# test of C2 before it shows the results.
#
# **Networks.** Layer sizes $[b, H, \dots, H, 1]$ with $D$ hidden layers of width $H$ and an
# activation $\phi$ after each hidden layer. Five weight symmetries are built into the
# parameterisation, so they hold exactly at every step of training:
# `free`; `perm-in` (first-layer weights equal across the $b$ inputs of a block, the map's own
# permutation symmetry); `tied-hidden` (all hidden units of a layer identical, the fully symmetric
# point of hidden-unit permutations, which gradient descent can never leave); `odd` (no biases, and
# the network antisymmetrised, $f(s) = [g(s) - g(-s)]/2$, where $\phi$ is not odd, so that
# $f(-s) = -f(s)$ exactly, the map's $\mathbb Z_2$ symmetry); and `perm-in+odd`. The activations are
# the identity, the quadratic $\phi(z) = z + \alpha z^2$, $\tanh$, ReLU and SiLU.
#
# **Training.** Every network is trained by Adam on the mean squared error to the exact block sum.
# Our data regime (a choice of this book): each network owns a *finite* training set of $n_{\rm train}$
# blocks drawn once from its training law (Gaussian or uniform), and each step draws a minibatch from
# it with replacement, so that a large network can overfit. All networks of the grid, configurations
# times seeds, train as stacked ensembles in one batched computation (`rgsym.learn.training`).
#
# **Measures** (`rgsym.learn.measures`). With the relative error
# $\varepsilon(f;q) = E_q\|f(s)-T_b(s)\|^2 / E_q\|T_b(s)\|^2$:
# G1 is $\varepsilon$ on fresh samples of the training law; G2 the mean of $\varepsilon$ over the six
# unseen base laws plus the other training law, and over inputs rescaled by
# $\lambda\in\{0.25, 0.5, 2, 4\}$ (the exact map is linear). The two kinds of shift measure different
# things, so the constraint map reports them apart: **G2-laws**, the mean over the unseen laws at unit
# scale, and **G2-scale**, the mean over the rescalings. G3 is the error of the learned flow
# $f^{\circ l}$ against $T_b^l$ on lattices of $N=b^L$ sites, per sample and in the cumulants
# $\kappa_1..\kappa_4$, which the exact flow sends to $b^{l(1-n/2)}\kappa_n$.

# %% tags=["remove-input"]
# On Colab or a bare kernel, install the companion package (an executed page names the exact commit
# that made it, at the address in _config.yml); locally this does nothing.
import importlib.util, subprocess, sys
RGSYM_SOURCE = "rgsym"
if importlib.util.find_spec("rgsym") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", RGSYM_SOURCE])

# %% tags=["parameters"]
profile = "smoke"  # "smoke": CPU in minutes; "paper": the full grids
device = "auto"    # "auto", "cpu" or "cuda"
seed = 0
steps = None            # Adam steps per network; None: the profile's (smoke 500, paper 5000)
n_seeds = None          # seeds per configuration; None: the profile's (smoke 2, paper 10)
workers = None          # parallel training processes on the CPU; None: one per core (1 on a GPU)
rep_activation = "silu"  # activation of the representative networks in the successive-RG figure
map_task = "gaussian"    # training law shown in the constraint-map figures (the verdict covers both)

# %%
import time

from rgsym.chapters import ch2_constraint as cmap
from rgsym.chapters import ch2_mlps as ch2
from rgsym.config import setup_chapter
from rgsym.learn import estimates as est
from rgsym.validation import check_choice

S = setup_chapter("02_mlps", profile=profile, device=device, seed=seed, steps=steps, n_seeds=n_seeds,
                  workers=workers, rep_activation=rep_activation, map_task=map_task)
spec = ch2.chapter2_spec(profile, steps=steps, n_seeds=n_seeds)  # validates the knobs
map_spec = cmap.constraint_map_spec(profile, steps=steps, n_seeds=n_seeds)
workers = ch2.resolve_workers(workers, S.device)
check_choice("rep_activation", rep_activation, spec.activations)
check_choice("map_task", map_task, map_spec.tasks)
print("survey:", spec.describe())
print("constraint map:", map_spec.describe())
est.announce(est.estimate_sweep(spec, "the survey", workers=workers),
             est.estimate_sweep(map_spec, "the constraint map", workers=workers))  # before any training

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import display

from rgsym.learn.measures import function_slices
from rgsym.learn.mlp_sweep import run_sweep
from rgsym.plotting import finish
from rgsym.report import glue, verdict

b, L = spec.b, spec.measures.L
glue("b", b); glue("L", L); glue("N", b**L)
glue("n_steps", spec.train.steps); glue("batch", spec.train.batch_size); glue("n_train", spec.train.n_train)
glue("n_seeds", len(spec.seeds)); glue("n_members", len(spec.members())); glue("alpha", spec.alpha)
glue("lr", spec.train.lr)
npar_min, npar_max = ch2.parameter_range(spec)
glue("sizes_text", ", ".join(f"{d}x{w}" for d, w in spec.sizes)); glue("n_sizes", len(spec.sizes))
_ = glue("npar_min", npar_min), glue("npar_max", npar_max)

# %% [markdown]
# ## What each architecture can represent
#
# Before any training, some facts follow from algebra alone (Chapter 3 derives them in full).
#
# * **Identity.** $f$ is then affine; $w = b^{-1/2}\mathbf 1$ copied to every unit and averaged out
#   by the following layers is exactly $T_b$, and it respects every one of the constraints.
# * **ReLU and the quadratic** are not odd. The linear function is recovered only by pairing a unit
#   with its mirror image: $z = \mathrm{relu}(z) - \mathrm{relu}(-z)$ and
#   $z = [\phi(z) - \phi(-z)]/2$ for $\phi(z) = z+\alpha z^2$. Two hidden units with opposite signs
#   are needed, and `tied-hidden`, which makes all units equal, forbids them. The same holds for SiLU
#   and GELU, whose odd part is linear as well, $\phi(z) - \phi(-z) = z$ ({eq}`eq-c2-oddpart` below),
#   so a mirror pair of SiLU units is exact too.
# * **Tied quadratic units.** With all $H$ units equal,
#   $f(s) = Hv\,\phi(z+c) + c_0 = Hv(1+2\alpha c)\,z + Hv\alpha\,z^2 + \text{const}$,
#   $z = b^{-1/2}\sum_i s_i$. The $z^2$ term vanishes only with $v = 0$, which kills the linear
#   term too, so the map is never exact. Holding the linear coefficient at one leaves
#   $\alpha z^2/(1+2\alpha c)$: relative error $2\alpha^2/(1+2\alpha c)^2$ on Gaussian $z$, which
#   decays only as the bias $c$ grows. The even term that remains injects skewness and kurtosis into
#   the output and shifts its mean (a bias can cancel the shift at one input variance only), and
#   iterating the map compounds both.
# * **Tied ReLU units** are exact only where $z > -c$; a large bias moves the kink away from the data
#   but not from rescaled or heavy-tailed inputs.
# * `odd` **networks** with a non-odd activation are antisymmetrised, which builds the mirror pair in:
#   a single ReLU unit already gives $[\mathrm{relu}(z) - \mathrm{relu}(-z)]/2 = z/2$.
#
# The next cell checks each statement numerically with the explicit weights of
# `rgsym.nets.exact_layers` and `tied_bias_layers`.

# %%
gen = torch.Generator().manual_seed(S.seed)
display(ch2.representation_table(spec, gen))  # draws the test blocks first ...
tied = ch2.tied_bias_check(spec, gen)  # ... then the Gaussian blocks of the tied check
display(tied)
tied_err = tied["relative error (Monte Carlo)"]
glue("tied_err_c0", tied_err.iloc[0]); glue("tied_err_c30", tied_err.iloc[-1])
_ = glue("tied_mc_ok", verdict(ch2.tied_check_agrees(tied), "agrees", "disagrees"))

# %% [markdown]
# The tied quadratic network with bias $c=0$ misses the map by a relative error of
# {glue:text}`tied_err_c0:.3f`, and still by {glue:text}`tied_err_c30:.2e` at $c=30$; the Monte
# Carlo estimate {glue:text}`tied_mc_ok` with the closed form. Whether training finds such large
# biases, and what the remaining even part does under iteration, is what the sweep measures.
#
# ## Classes that are linear by construction
#
# Some constraints leave a class that holds *only* linear maps, which then contains $T_b$ without having
# to learn it; such a class is a reference, not a constrained learner. Two identities decide it.
# Every activation splits into an even and an odd part, and for ReLU, SiLU, GELU and the quadratic the
# odd part is linear:
#
# ```{math}
# :label: eq-c2-oddpart
# \phi(z) - \phi(-z) = 2\phi'(0)\,z .
# ```
#
# An `odd` network with one bias-free hidden layer is antisymmetrised,
# $f(s) = \sum_h v_h[\phi(w_h\cdot s) - \phi(-w_h\cdot s)]/2$, so by {eq}`eq-c2-oddpart` it is
# $\phi'(0)\sum_h v_h\, w_h\cdot s$: linear, whatever the weights. ReLU is also positively homogeneous,
#
# ```{math}
# :label: eq-c2-homogeneous
# \phi(cz) = c\,\phi(z)\qquad (c > 0),
# ```
#
# so where the first layer sees the block only through one scalar $y$ (`perm-in`: $y\propto\sum_i s_i$;
# all units tied: $y = w\cdot s$) a bias-free ReLU network is $g(y) = g(1)\,y^+ + g(-1)\,y^-$ at any
# depth, and its odd part $\tfrac12[g(1) - g(-1)]\,y$ is linear again. `rgsym.nets.linear_by_construction`
# reads these properties off each activation's symbolic form with sympy (never off its name) and applies
# them to a configuration; the table marks the classes it finds linear. The check below it draws random
# members of every class in float64 and measures the share of their output variance that no affine map
# explains.

# %%
from rgsym.nets.expressivity import LINEAR_FRACTION

display(cmap.linear_class_table(spec.activations))
check = cmap.numerical_check(spec.activations)
lin_rows, nl_rows = check[check["linear (algebra)"]], check[~check["linear (algebra)"]]
glue("lin_n_classes", len(lin_rows)); glue("lin_n_all", len(check))
glue("lin_worst", float(lin_rows["max nonlinear fraction"].max()))
glue("nl_least", float(nl_rows["max nonlinear fraction"].min()))
glue("lin_tol", LINEAR_FRACTION)
_ = glue("lin_agree", verdict(bool(check.agrees.all()), "agrees", "disagrees"))

# %% [markdown]
# Of {glue:text}`lin_n_all` (activation, symmetry, depth) classes, {glue:text}`lin_n_classes` are
# linear by construction. Their random members leave at most a fraction {glue:text}`lin_worst:.1e` of
# the variance unexplained by an affine fit; the nonlinear classes leave at least
# {glue:text}`nl_least:.1e` (largest over six members); with the threshold {glue:text}`lin_tol:.0e`
# the numerical check {glue:text}`lin_agree` with the algebra in every class. In the survey grid below these classes
# are kept and marked; the constraint map leaves them out.
#
# ## The survey grid
#
# The grid below is this book's choice, sized so that the `paper` profile trains on two CPU cores in
# well under half an hour: every combination of the five symmetries, the five activations, the
# sizes {glue:text}`sizes_text` (depth x width; from {glue:text}`npar_min` to
# {glue:text}`npar_max` free parameters, against {glue:text}`n_train` training blocks per network),
# two training laws and {glue:text}`n_seeds` seeds, each trained for {glue:text}`n_steps` Adam steps
# (learning rate {glue:text}`lr`, cosine decay) on
# minibatches of {glue:text}`batch` from {glue:text}`n_train` training blocks;
# {glue:text}`n_members` networks in all, $\alpha =$ {glue:text}`alpha` for the quadratic. G3 uses
# $L =$ {glue:text}`L` steps on lattices of $N =$ {glue:text}`N` sites.

# %%
print("free parameters per network (rows: size, columns: symmetry):")
display(ch2.parameter_grid(spec))

t0 = time.perf_counter()
res = run_sweep(spec, device=S.device, workers=workers)
elapsed = time.perf_counter() - t0
train_s = sum(p["provenance"]["total_seconds"] for p in res.payloads.values())
cpu_s = sum(p["provenance"].get("cpu_seconds", float("nan")) for p in res.payloads.values())
print(f"{res.n_trained} chunks trained, {res.n_cached} loaded from the cache (rgsym.learn.cache_dir()), "
      f"{elapsed:.1f} s here with {workers} worker process(es), one torch thread each; training + measuring "
      f"took {train_s:.0f} s ({cpu_s:.0f} CPU-seconds) on {res.members.device.iloc[0].split(' (')[0]}")
n_div = res.n_diverged
glue("n_diverged", n_div)
glue("train_seconds", train_s)
summary = res.summary()
stamp_grid = (f"b={b}, L={L}, {len(spec.seeds)} seeds, {spec.train.steps} steps, batch {spec.train.batch_size}, "
              f"n_train={spec.train.n_train}; diverged, left out: {n_div}")

# %% [markdown]
# {glue:text}`n_diverged` networks diverged (loss NaN, infinite or more than a thousand times its
# initial value); they are left out of every figure and average below, and each figure states how
# many.
#
# ## Generalisation over symmetry and activation
#
# Each cell of {numref}`fig-c2-heatmap` is the median over seeds and sizes; the number under it is the
# spread over seeds and sizes, half the interquartile range in decades ($\pm$ in $\log_{10}$). Pooled
# over sizes and over classes that are and are not linear by construction, it describes the survey and
# decides nothing; the constraint map further down separates size from constraint.

# %% mystnb={"figure": {"name": "fig-c2-heatmap", "caption": "Median out-of-distribution error G2 (top row) and successive-RG error G3 after $L$ = {glue:text}`L` steps (bottom row) for every symmetry (rows of a panel) and activation (columns), one column of panels per training law; each cell pools the {glue:text}`n_seeds` seeds and the {glue:text}`n_sizes` sizes of its configuration, with the {glue:text}`n_diverged` diverged networks of the grid left out. The upper number in a cell is that median, the lower one half the interquartile range of the pool in decades; there are no other error bars. The colour is $\\log_{10}$ of the median on a fixed scale from $-12$ to $1$, so every median below $10^{-12}$ gets the same colour."}}
def heat(ax, measure, task):
    st = ch2.cell_stats(res, measure, by=("task", "symmetry", "activation"))
    st = st[st.task == task]
    grid_ = dict(index=spec.symmetries, columns=spec.activations)
    med = st.pivot(index="symmetry", columns="activation", values="median").reindex(**grid_)
    spr = st.pivot(index="symmetry", columns="activation", values="log10_spread").reindex(**grid_)
    vals = np.log10(np.clip(med.to_numpy(dtype=float), 1e-16, None))
    im = ax.imshow(vals, cmap="viridis_r", vmin=-12, vmax=1, aspect="auto")
    for i in range(vals.shape[0]):
        for j in range(vals.shape[1]):
            m, sp = med.iat[i, j], spr.iat[i, j]
            if np.isfinite(m):
                ax.text(j, i, f"{m:.0e}\n±{0.5 * sp:.1f}" if np.isfinite(sp) else f"{m:.0e}", ha="center", va="center",
                        fontsize=6.5, color="white" if vals[i, j] > -5 else "black")
    ax.set_xticks(range(len(spec.activations)), spec.activations, rotation=30)
    ax.set_yticks(range(len(spec.symmetries)), spec.symmetries)
    ax.set_xlabel("activation")
    ax.set_ylabel("symmetry")
    ax.set_title(f"{measure if measure != 'G3' else f'G3 (l = L = {L})'}, trained on {task}")
    return im


fig, axes = plt.subplots(2, len(spec.tasks), figsize=(9.5, 7.2))
for col, task in enumerate(spec.tasks):
    for row, measure in enumerate(("G2", "G3")):
        im = heat(axes[row, col], measure, task)
fig.colorbar(im, ax=axes, shrink=0.6, label=r"$\log_{10}$ median relative error")
fig.suptitle("Out-of-distribution (G2) and successive-RG (G3) error: median over seeds and sizes")
finish(fig, stamp_grid)


# %% [markdown]
# ## Successive RG steps
#
# A learned step that is slightly wrong may still flow to the Gaussian fixed point, or may drift away
# from it. For the representative activation (here {glue:text}`rep_act`), the middle size and every
# symmetry, the left panels of {numref}`fig-c2-flow` show the per-sample error of the learned flow after $l$ steps and the
# right panels how far its fourth cumulant is from the exact flow's on the same lattices
# ($|k_4^{\rm learned} - k_4^{\rm exact}|$); lines are medians over seeds, bands the interquartile
# range.

# %% mystnb={"figure": {"name": "fig-c2-flow", "caption": "The learned flow against the exact one for the {glue:text}`rep_act` networks of the middle size (of {glue:text}`sizes_text`), every symmetry (colour), one row per training law: the per-sample relative error after $l$ steps (left) and $|k_4 - k_4^{\\rm exact}|$, the fourth k-statistic of the learned flow minus that of the exact flow on the same lattices of $N$ = {glue:text}`N` sites (right), for $l$ from 1 to {glue:text}`L`. Lines are medians over the {glue:text}`n_seeds` seeds, bands their interquartile range; diverged networks are left out (their number is stamped under the figure)."}}
sym_colours = dict(zip(spec.symmetries, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
mid = spec.sizes[len(spec.sizes) // 2]
mid_label = f"{mid[0]}x{mid[1]}"
glue("rep_act", rep_activation)
tab = res.valid()
sel = tab[(tab.activation == rep_activation) & (tab["size"] == mid_label)]
fig, axes = plt.subplots(len(spec.tasks), 2, figsize=(9.5, 7.0), sharex=True)
levels = np.arange(1, L + 1)
for row, task in enumerate(spec.tasks):
    for col, (prefix, lab) in enumerate((("G3_sample", "per-sample relative error"),
                                        ("G3_dkappa4", r"$|k_4 - k_4^{\rm exact}|$"))):
        ax = axes[row, col]
        for sym in spec.symmetries:
            d = sel[(sel.task == task) & (sel.symmetry == sym) & sel.measure.str.startswith(prefix + ":")]
            q = d.groupby("level")["value"].quantile([0.25, 0.5, 0.75]).unstack()
            if q.empty:
                continue
            ax.plot(q.index, q[0.5], marker="o", color=sym_colours[sym], label=sym)
            ax.fill_between(q.index, q[0.25], q[0.75], color=sym_colours[sym], alpha=0.15)
        ax.set_yscale("log"); ax.set_xlabel("RG step $l$"); ax.set_ylabel(lab)
        ax.set_title(f"{lab}, trained on {task}")
handles, labels = axes[0, 0].get_legend_handles_labels()
fig.legend(handles, labels, title="symmetry", loc="lower center", ncol=len(labels), fontsize=8,
           bbox_to_anchor=(0.5, 0.04))
rep_members = res.members[(res.members.activation == rep_activation) & (res.members["size"] == mid_label)]
n_left = int(rep_members.diverged.sum())
fig.suptitle(f"Learned flow against the exact one: {rep_activation}, size {mid_label}")
finish(fig, stamp_grid.split(";")[0] + f"; {rep_activation} {mid_label}; diverged, left out: {n_left}", bottom=0.13)


# %% [markdown]
# ## C1 on the survey grid
#
# The survey also answers the first question, whether these networks learn the step at all.

# %%
h = ch2.headline_numbers(summary, spec)
glue("c1_frac", h["c1_frac"]); _ = glue("c1_best", h["c1_best"])

# %% [markdown]
# A fraction {glue:text}`c1_frac:.2f` of the trained networks with a nonlinear activation (some of
# them linear by construction) reach an in-distribution error G1 below $10^{-2}$, the best
# {glue:text}`c1_best:.1e`. This pools very different classes and is descriptive; the verdict on C1
# below is a test on the constraint map.
#
# ## A test of C2 on a graded constraint axis
#
# **Design.** Claim C2 speaks of constraint and of complexity as two things, so the constraint map keeps
# them apart. The constraint is graded: the $H$ hidden units of every hidden layer are tied in $g$ groups
# of $H/g$ identical units ($g = 1, 2, 4, \dots, H$; `rgsym.nets.MLPConfig.groups`), from free ($g = H$)
# to fully tied ($g = 1$, the survey's `tied-hidden`), and the constraint level is
# $\ell = \log_2(H/g)$. This axis is crossed with the facets `perm-in` and `odd`, each on or off, and
# with the sizes {glue:text}`map_sizes` (depth x width, {glue:text}`map_npar_min` to
# {glue:text}`map_npar_max` free parameters), the nonlinear activations, both training laws and
# {glue:text}`map_n_seeds` seeds: {glue:text}`map_n_members` networks, each trained for
# {glue:text}`map_steps` Adam steps on minibatches of {glue:text}`map_batch` from its own
# {glue:text}`map_n_train` training blocks. The classes that are linear by construction are left out.
#
# **The test, fixed before the results** (`rgsym.chapters.ch2_constraint`). A *case* is one activation,
# training law, facet and measure (G2-laws, G2-scale or G3) with at least {glue:text}`min_axis` sizes and
# {glue:text}`min_axis` constraint levels. Each cell (size, level) is scored by its median over seeds.
# Scores below the numerical floor, {glue:text}`floor_factor:g` times the error of the exact map itself
# in float32 (G2-laws {glue:text}`floor_G2_laws:.1e`, G2-scale {glue:text}`floor_G2_scales:.1e`, G3
# {glue:text}`floor_G3:.1e`), are raised to it, and cells within one floor of the best tie: all of them
# form the argmin set, so a difference below the floor never wins. The case *holds* when the argmin set
# touches no end of either axis (the smallest or largest size; free or fully tied) and, over
# {glue:text}`n_boot` bootstrap resamples of the seeds, at most a share {glue:text}`end_tail:g` of the
# argmin sets touches any one end (for {glue:text}`end_tail:g`, the 90 % interval of the argmin excludes
# both ends). As a **control**, the same test runs on the same cells with the networks' values shuffled
# across cells, {glue:text}`n_null` times per case: it has no structure and should almost never hold.
# **C2 is supported** on a measure when the test holds in at least a share {glue:text}`hold_share:g` of
# the testable cases and the control in at most {glue:text}`null_max:g`. The headline verdict uses
# G2-laws, generalisation to laws never seen in training; G2-scale and G3 are verdicts of their own.
# Each threshold is also halved and doubled.

# %%
glue("map_sizes", ", ".join(cmap.size_order(map_spec))); glue("map_n_seeds", len(map_spec.seeds))
glue("map_task", map_task)
map_npar = [c.n_params for c in map_spec.configs()]
glue("map_npar_min", min(map_npar)); glue("map_npar_max", max(map_npar))
glue("map_n_members", len(map_spec.members())); glue("map_steps", map_spec.train.steps)
glue("map_batch", map_spec.train.batch_size); glue("map_n_train", map_spec.train.n_train)
glue("min_axis", cmap.MIN_AXIS); glue("floor_factor", cmap.FLOOR_FACTOR); glue("end_tail", cmap.END_TAIL)
glue("n_boot", cmap.N_BOOT); glue("n_null", cmap.N_NULL); glue("hold_share", cmap.HOLD_SHARE)
glue("null_max", cmap.NULL_MAX)
exact_err = cmap.numerical_floors(map_spec)  # the exact map's own error in the training dtype
floors = {m: cmap.FLOOR_FACTOR * v for m, v in exact_err.items()}
for m, v in floors.items():
    glue(f"floor_{m}", v)

t0 = time.perf_counter()
mres = run_sweep(map_spec, device=S.device, workers=workers)
map_elapsed = time.perf_counter() - t0
map_train_s = sum(p["provenance"]["total_seconds"] for p in mres.payloads.values())
print(f"constraint map: {mres.n_trained} chunks trained, {mres.n_cached} loaded from the cache, {map_elapsed:.1f} s "
      f"here; training + measuring took {map_train_s:.0f} s")
glue("map_n_diverged", mres.n_diverged)
stamp_map = (f"b={b}, {len(map_spec.seeds)} seeds, {map_spec.train.steps} steps, batch {map_spec.train.batch_size}, "
             f"n_train={map_spec.train.n_train}; diverged, left out: {mres.n_diverged}")

# %% [markdown]
# ## Verdict on claim C1
#
# **The test, fixed before the results** (`rgsym.chapters.ch2_c1`): for every nonlinear activation and
# training law, the free networks of the largest size of the map ({glue:text}`c1_size`, fixed in
# advance rather than picked as the best) learn the step when the upper end of the 90 % seed-bootstrap
# interval of their median in-distribution error G1 is below {glue:text}`c1_thr:g`. The **control** is the
# same networks untrained, at their initial weights, on the same samples: unless it lies above the
# threshold, the threshold certifies nothing. C1 is supported when every case holds.

# %%
from rgsym.chapters import ch2_c1

glue("c1_size", cmap.size_order(map_spec)[-1]); glue("c1_thr", ch2_c1.C1_G1)
c1_cases = ch2_c1.c1_cases(mres, seed=seed)
display(c1_cases)
v1 = ch2_c1.verdict_c1(mres, seed=seed)
glue("verdict_C1", v1.record())
glue("c1", v1.word); glue("c1_margin", v1.margin); glue("c1_sens", v1.sensitivity_text())
glue("c1_hi_min", v1.interval[0]); glue("c1_hi_max", v1.interval[1])
glue("c1_n_hold", int(((c1_cases.hi < ch2_c1.C1_G1) & (c1_cases.control > ch2_c1.C1_G1)).sum()))
glue("c1_n_cases", len(c1_cases))
glue("c1_ctrl_min", float(c1_cases.control.min()))
_ = glue("c1_worst", c1_cases.loc[c1_cases.hi.idxmax(), ["activation", "task"]].str.cat(sep=" on "))

# %% [markdown]
# **Verdict:** claim C1 is **{glue:text}`c1`** by these runs: {glue:text}`c1_n_hold` of
# {glue:text}`c1_n_cases` cases hold; the 90 % upper bounds of the median G1 run from
# {glue:text}`c1_hi_min:.1e` to {glue:text}`c1_hi_max:.1e` (the largest for {glue:text}`c1_worst`), a
# margin of {glue:text}`c1_margin:.2f` decades below the threshold, while the untrained control lies at
# {glue:text}`c1_ctrl_min:.2f` or above. Its sensitivity: {glue:text}`c1_sens`.

# %% mystnb={"figure": {"name": "fig-c2-map", "caption": "The constraint map on G2-laws (the relative error on the unseen laws at unit scale) for networks trained on the {glue:text}`map_task` law: one row per activation, one column per facet; within a panel the horizontal axis is the constraint level $\\ell = \\log_2(H/g)$ (0: free; right end of each line: fully tied) and each line is one size. Lines are medians over the {glue:text}`map_n_seeds` seeds, bands their interquartile range; the dashed grey line is the numerical floor (named in the corner instead where it lies more than three decades below the data). Hollow markers are cells whose class contains $T_b$ exactly without being linear (explicit weights, `rgsym.nets.exact_layers`: ReLU, SiLU and the quadratic with two or more groups); training may or may not find them. Black stars mark the full-data argmin set of the case; a panel titled 'not testable' has fewer than {glue:text}`min_axis` sizes (the other sizes are linear by construction there and left out). The {glue:text}`map_n_diverged` diverged networks are left out and counted in the stamp."}}
facet_names = list(cmap.FACETS)
acts_map = list(map_spec.activations)
order = cmap.size_order(map_spec)
size_colours = dict(zip(order, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
tables = {m: cmap.map_table(mres, m) for m in cmap.MAP_MEASURES}
stats = {m: cmap.map_stats(t) for m, t in tables.items()}
cases = cmap.map_cases(mres, exact_err)


def map_panel(ax, measure, act, facet, task, legend=False):
    st = stats[measure]
    d = st[(st.activation == act) & (st.facet == facet) & (st.task == task)]
    for size in order:
        z = d[d["size"] == size].sort_values("level")
        if z.empty:
            continue
        ax.plot(z.level, z["median"], marker="o", ms=3, color=size_colours[size], label=size)
        e = z[z.contains_exact]
        ax.scatter(e.level, e["median"], s=22, facecolors="white", edgecolors=size_colours[size], zorder=4, lw=1.2)
        ax.fill_between(z.level, z.q25, z.q75, color=size_colours[size], alpha=0.15, lw=0)
    lo = d.q25[d.q25 > 0].min() if (d.q25 > 0).any() else floors[measure]
    if d.empty:
        pass
    elif floors[measure] >= lo / 1e3:
        ax.axhline(floors[measure], color="0.5", ls="--", lw=1)
    else:  # far below the data: named, not drawn, so that the data keep the panel
        ax.text(0.98, 0.03, f"floor {floors[measure]:.0e} (below)", transform=ax.transAxes, ha="right",
                va="bottom", fontsize=6, color="0.4")
    if d.empty:
        ax.text(0.5, 0.5, "every size linear by construction:\ncontains $T_b$ (not trained)", transform=ax.transAxes,
                ha="center", va="center", fontsize=7, color="0.3")
        ax.set_yticks([])
    row = cases[(cases.measure == measure) & (cases.activation == act) & (cases.facet == facet) & (cases.task == task)]
    title = f"{act}, {facet}"
    if len(row) and row.testable.iloc[0]:
        for cell in row.argmin.iloc[0].split(", "):
            size, g = cell.split(" g=")
            z = d[(d["size"] == size) & (d.groups == int(g))]
            ax.plot(z.level, z["median"], marker="*", ms=11, color="black", ls="none", zorder=5)
        title += f": {'holds' if row.holds.iloc[0] else 'fails'}"
    else:
        title += ": not testable"
    if not d.empty:
        ax.set_yscale("log")
    ax.set_title(title, fontsize=8)
    if legend:
        ax.legend(title="size", fontsize=6, title_fontsize=7, ncol=2)


fig, axes = plt.subplots(len(acts_map), len(facet_names), figsize=(11, 2.4 * len(acts_map)), sharex=True)
for i, act in enumerate(acts_map):
    for j, facet in enumerate(facet_names):
        map_panel(axes[i, j], "G2_laws", act, facet, map_task, legend=(i == 0 and j == 0))
for ax in axes[-1]:
    ax.set_xlabel(r"constraint level $\ell = \log_2(H/g)$")
for ax in axes[:, 0]:
    ax.set_ylabel("G2-laws")
fig.suptitle(f"Constraint map, G2-laws, trained on {map_task}: median over seeds (bands: IQR)")
finish(fig, stamp_map + f"; trained on {map_task}")

# %% [markdown]
# {numref}`fig-c2-map-other` shows the two other measures on the free and the `perm-in` facets, where
# every size is a nonlinear class.

# %% mystnb={"figure": {"name": "fig-c2-map-other", "caption": "The constraint map on G2-scale (the relative error on rescaled inputs, top two rows) and on G3 (successive RG after $L$ = {glue:text}`L` steps, bottom two rows), for the free and the `perm-in` facets and every activation (columns), trained on the {glue:text}`map_task` law. As in {numref}`fig-c2-map`: the horizontal axis is the constraint level, one line per size, medians over the {glue:text}`map_n_seeds` seeds with interquartile bands, the dashed line the numerical floor of the measure (or its value in the corner), hollow markers the cells that contain $T_b$ exactly, stars the argmin set, and the panel title the outcome of the case."}}
fig, axes = plt.subplots(4, len(acts_map), figsize=(11, 9.6), sharex=True)
for r, (measure, facet) in enumerate([(m, f) for m in ("G2_scales", "G3") for f in ("free", "perm-in")]):
    for j, act in enumerate(acts_map):
        map_panel(axes[r, j], measure, act, facet, map_task, legend=(r == 0 and j == 0))
        axes[r, j].set_title(f"{measure.replace('_scales', '-scale')}: " + axes[r, j].get_title(), fontsize=8)
    axes[r, 0].set_ylabel(measure.replace("_scales", "-scale"))
for ax in axes[-1]:
    ax.set_xlabel(r"constraint level $\ell$")
fig.suptitle(f"Constraint map, G2-scale and G3, trained on {map_task}")
finish(fig, stamp_map + f"; trained on {map_task}")

# %% [markdown]
# ## Verdict on claim C2
#
# Every case, with its argmin, the bootstrap shares of argmins at each end (smallest size, largest size,
# free, fully tied) and the share of shuffled controls that pass. The margin is `END_TAIL` minus the
# largest end share, an end that the full-data argmin touches counting as 1 (so $-0.95$ means the argmin
# itself sits at an end).

# %%
show = cases[cases.testable.astype(bool)].drop(columns=["interior_boot", "testable"])
with pd.option_context("display.max_rows", 200, "display.width", 200):
    display(show.round(3))
verdicts_c2 = {m: cmap.verdict_c2(mres, exact_err, m, seed=seed) for m in cmap.MAP_MEASURES}
v = verdicts_c2[cmap.HEADLINE_MEASURE]
glue("verdict_C2", v.record())
glue("c2", v.word); glue("c2_margin", v.margin); glue("c2_sens", v.sensitivity_text())
glue("c2_lo", v.interval[0]); glue("c2_hi", v.interval[1])
for m, vm in verdicts_c2.items():
    sm = cmap.summarise(cases, m)
    glue(f"c2_word_{m}", vm.word); glue(f"c2_hold_{m}", sm["n_hold"]); glue(f"c2_n_{m}", sm["n_testable"])
    glue(f"c2_null_{m}", sm["null_share"]); glue(f"c2_margin_{m}", vm.margin)
    glue(f"c2_sens_{m}", vm.sensitivity_text())
display(pd.DataFrame({m: vm.sensitivity for m, vm in verdicts_c2.items()}))
free_cases = cases[cases.testable.astype(bool) & (cases.measure == cmap.HEADLINE_MEASURE)]
ends = free_cases[["p_small", "p_large", "p_free", "p_tied"]].mean()
held = cases[cases.testable.astype(bool) & cases.holds.fillna(False).astype(bool)]
glue("c2_n_held_all", len(held)); glue("c2_n_held_exact", int(held.argmin_exact.sum()))
glue("c2_n_cases_all", int(cases.testable.astype(bool).sum()))
glue("c2_end_most", {"p_small": "the smallest size", "p_large": "the largest size", "p_free": "the free end",
                     "p_tied": "the fully tied end"}[ends.idxmax()])
_ = glue("c2_end_share", float(ends.max()))

# %% [markdown]
# **Verdict:** on G2-laws, claim C2 is **{glue:text}`c2`** by these runs: the test holds in
# {glue:text}`c2_hold_G2_laws` of {glue:text}`c2_n_G2_laws` testable cases (margin
# {glue:text}`c2_margin:.2f` against the required share; 90 % seed-bootstrap interval of the share of
# cases with an interior argmin {glue:text}`c2_lo:.2f` to {glue:text}`c2_hi:.2f`), while the shuffled
# control holds in a share {glue:text}`c2_null_G2_laws:.2f`. Its sensitivity: {glue:text}`c2_sens`.
# Averaged over the cases, the argmin lands most often at {glue:text}`c2_end_most` (in a share
# {glue:text}`c2_end_share:.2f` of the resamples).
#
# One feature of the map shapes every reading of it. For every activation whose odd part is linear
# ({eq}`eq-c2-oddpart`: ReLU, SiLU and the quadratic here), every free or `perm-in` cell with at least
# two groups *contains* the exact map without being linear: two groups of units can hold a mirror pair,
# such as $z = \mathrm{relu}(z) - \mathrm{relu}(-z)$ (the hollow markers). Where training finds those
# weights the error falls to the floor, so an optimum there reflects what the optimiser finds more than
# a trade-off between constraint and complexity. Over all three measures, {glue:text}`c2_n_held_all` of
# the {glue:text}`c2_n_cases_all` testable cases hold, and in {glue:text}`c2_n_held_exact` of those the
# argmin is such a cell.
#
# The other measures are verdicts of their own: on G2-scale C2 is **{glue:text}`c2_word_G2_scales`**
# ({glue:text}`c2_hold_G2_scales` of {glue:text}`c2_n_G2_scales` cases, control
# {glue:text}`c2_null_G2_scales:.2f`; {glue:text}`c2_sens_G2_scales`), and on G3
# **{glue:text}`c2_word_G3`** ({glue:text}`c2_hold_G3` of {glue:text}`c2_n_G3` cases, control
# {glue:text}`c2_null_G3:.2f`; {glue:text}`c2_sens_G3`).
#
# ## Overfitting: training error against G1
#
# A network that is too complex for its {glue:text}`map_n_train` training blocks should fit them better
# than fresh blocks of the same law. {numref}`fig-c2-overfit` shows that gap, $G_1$ over the final
# training loss, for the free networks ($\ell = 0$) and the fully tied ones against their size.

# %% mystnb={"figure": {"name": "fig-c2-overfit", "caption": "The overfitting gap: the in-distribution error G1 on fresh blocks divided by the final loss on the network's own {glue:text}`map_n_train` training blocks, against the number of free parameters, for the free ($\\ell = 0$, solid) and the fully tied (dashed) networks of the free facet, one panel per activation, one colour per training law. Points are medians over the {glue:text}`map_n_seeds` seeds, error bars their 90 % seed-bootstrap interval; the dotted line at 1 is no gap. Above 1, the network fits its training set better than the law."}}
over = cmap.overfit_table(mres, seed=seed)
fig, axes = plt.subplots(1, len(acts_map), figsize=(11, 3.4), sharey=True)
task_colours = dict(zip(map_spec.tasks, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
for ax, act in zip(axes, acts_map):
    for task in map_spec.tasks:
        for which, ls in (("free", "-"), ("tied", "--")):
            d = over[(over.activation == act) & (over.task == task) & (over.facet == "free")]
            d = d[d.level == 0] if which == "free" else d[d.level == d.level_max]
            d = d.sort_values("n_params")
            ax.errorbar(d.n_params, d["median"], yerr=[d["median"] - d.lo, d.hi - d["median"]], ls=ls, marker="o",
                        ms=3, capsize=2, color=task_colours[task], label=f"{which}, {task}")
    ax.axhline(1.0, color="0.5", ls=":", lw=1)
    ax.set_xscale("log"); ax.set_yscale("log")
    ax.set_xlabel("free parameters"); ax.set_title(act)
axes[0].set_ylabel(r"$G_1$ / training loss")
axes[0].legend(fontsize=6)
fig.suptitle("Overfitting gap of the free and the fully tied networks")
finish(fig, stamp_map)
big = over[(over.facet == "free") & (over.level == 0) & (over.size_idx == over.size_idx.max())]
small = over[(over.facet == "free") & (over.level == 0) & (over.size_idx == 0)]
glue("gap_big_lo", float(big["median"].min())); glue("gap_big_hi", float(big["median"].max()))
glue("gap_small_lo", float(small["median"].min())); _ = glue("gap_small_hi", float(small["median"].max()))

# %% [markdown]
# For the largest free networks the median gap runs from {glue:text}`gap_big_lo:.2g` to
# {glue:text}`gap_big_hi:.2g` across activations and laws, against {glue:text}`gap_small_lo:.2g` to
# {glue:text}`gap_small_hi:.2g` for the smallest.
#
# ## The learned function at the optimum and at the ends
#
# Along the sum direction $s = t\,(1,\dots,1)/\sqrt b$ the exact map is $T_b(s) = t$; across it, along
# $s = t\,(1,-1,0,\dots)/\sqrt2$, it is zero. {numref}`fig-c2-slices` shows, for the free facet and each
# activation, how far three cells of the map are from both: the G2-laws argmin, the largest free network
# and the largest fully tied one.

# %% mystnb={"figure": {"name": "fig-c2-slices", "caption": "Error of the learned map along the sum direction, $|f(t\\,u) - t|$ with $u = (1,\\dots,1)/\\sqrt b$ (top), and across it, $|f(t\\,v)|$ with $v = (1,-1,0,\\dots)/\\sqrt2$ (bottom, exact 0), for $-8 \\le t \\le 8$, one column per activation, for networks of the free facet trained on the {glue:text}`map_task` law: the cell with the lowest median G2-laws (the argmin of its case, first if tied), the largest free and the largest fully tied cell. Lines are medians over the cell's {glue:text}`map_n_seeds` seeds, bands their interquartile range; the dotted line is float32 rounding, $2^{-23}\\max(1, |t|)$; the grey region $|t| \\le \\sqrt{3b}$ is the reach of a uniform training block along the sum direction."}}
t = torch.linspace(-8, 8, 161, dtype=torch.float64)
fig, axes = plt.subplots(2, len(acts_map), figsize=(11, 5.6), sharex=True, sharey="row")
largest = order[-1]
for j, act in enumerate(acts_map):
    st = stats["G2_laws"]
    d = st[(st.activation == act) & (st.facet == "free") & (st.task == map_task)]
    best = d.loc[d["median"].idxmin()]
    picks = [("argmin", best["size"], int(best.groups)), ("largest free", largest, int(d[d["size"] == largest].groups.max())),
             ("largest tied", largest, 1)]
    for k, (label, size, g) in enumerate(picks):
        ids = [int(i) for i in mres.members[(mres.members.activation == act) & (mres.members["size"] == size)
                                            & (mres.members.groups == g) & (mres.members.task == map_task)
                                            & (mres.members.symmetry.map(cmap.facet_of) == "free")
                                            & ~mres.members.diverged].member_id]
        if not ids:
            continue
        sl = function_slices(mres.model(ids).double(), t)
        col = plt.rcParams["axes.prop_cycle"].by_key()["color"][k]
        for r, err in enumerate(((sl["along"] - t).abs(), sl["across"].abs())):
            q = np.quantile(err.numpy(), [0.25, 0.5, 0.75], axis=0)
            axes[r, j].plot(t, q[1], color=col, label=f"{label}: {size} g={g}")
            axes[r, j].fill_between(t, q[0], q[2], color=col, alpha=0.15, lw=0)
    for r in range(2):
        axes[r, j].plot(t, 2.0**-23 * np.maximum(1, t.abs().numpy()), color="0.5", ls=":", lw=1)
        axes[r, j].axvspan(-math.sqrt(3 * b), math.sqrt(3 * b), color="0.92", zorder=-1)
        axes[r, j].set_yscale("log")
    axes[0, j].set_title(act); axes[0, j].legend(fontsize=6)
    axes[1, j].set_xlabel("$t$")
axes[0, 0].set_ylabel(r"$|f(tu) - t|$"); axes[1, 0].set_ylabel(r"$|f(tv)|$")
fig.suptitle(f"The learned map at the G2-laws optimum and at the ends of the axes (free facet, {map_task})")
finish(fig, stamp_map + f"; trained on {map_task}")
