r"""The batched-ensemble training engine (Chapter 2; also used by the GNN and training-dynamics chapters).

**What it trains.** Any *ensemble RG module*: a :class:`torch.nn.Module` holding ``E`` independent
members with stacked parameters, with

* ``model.b`` -- the block size :math:`b`,
* ``model.n_members`` -- ``E``,
* ``model.rg_step(s)`` (or, if absent, ``model(s)``) mapping lattice configurations ``s`` of shape
  ``(E, B, N)`` to ``(E, B, N/b)``: member ``e`` sees only ``s[e]``, and no operation mixes members.
* optionally ``model.select(indices)`` (a sub-ensemble), used to evaluate large ensembles in chunks.

:class:`rgsym.nets.mlp.EnsembleMLP` is one; :class:`rgsym.nets.gnn.EnsembleGNN` plugs in the same way.

**Task and loss.** Member ``e`` learns the exact block map
:math:`T_b(s)_j = b^{-1/2}\sum_{i\in j}s_i` on lattices of ``N`` sites drawn i.i.d. from the base
law ``tasks[e]`` (default ``N = b``: one block), by Adam on the mean squared error

.. math:: \mathcal L_e = \frac{1}{B\,N/b}\sum_{\beta=1}^{B}\sum_j
          \big(f_e(s^\beta)_j - T_b(s^\beta)_j\big)^2 .

The ensemble minimises :math:`\sum_e \mathcal L_e` in one batched computation; since the members
share no parameter, each one's gradient and Adam update are its own.

**Data regime** (the book's choice, see :class:`TrainConfig`): every member owns a *finite* training
set of ``n_train`` lattices drawn once from its law with a generator seeded by ``(task, seed)``, and
each step uses a minibatch of ``batch_size`` lattices drawn from it with replacement by a
counter-based hash of ``(task, seed, step)``. A finite set lets large models overfit; the hash makes
the batches of a member independent of the other members and of any global random state, so

* the same seed gives identical numbers on the CPU,
* a member trained alone equals the member trained inside any ensemble,
* logging (``callback``) cannot change the trajectory.

**Divergence.** A member whose minibatch loss is NaN/inf or exceeds ``blowup`` times
:math:`\max(\mathcal L_e(0), 1)` is flagged at that step, its loss is dropped from the objective
from then on, and it is reported in :attr:`TrainResult.diverged` (never averaged in downstream).
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from ..clt.blockmap import block_map
from ..clt.laws import LAWS, get_law
from ..nets.ensemble import rg_step as _rg_step
from ..seeds import stable_seed
from ..validation import as_int, as_optional_int, as_float, check_choice

LR_SCHEDULES = ("constant", "cosine")
DTYPES = ("float32", "float64")
LOG_SCHEDULES = ("log", "linear")


@dataclass(frozen=True)
class TrainConfig:
    r"""How every member is trained (Adam on the MSE to the exact block map).

    ``steps`` Adam steps with learning rate ``lr`` (``lr_schedule='cosine'`` decays it to
    ``lr * lr_final`` by the last step); minibatches of ``batch_size`` lattices drawn with replacement
    from a finite per-member training set of ``n_train`` lattices of ``sites`` sites (``None``:
    one block, ``N = b``). ``blowup`` sets the divergence threshold; ``log_points`` the number of
    logged steps (``log_schedule`` 'log' or 'linear', always including 0 and ``steps``).
    """

    steps: int = 5000
    lr: float = 3e-3
    lr_schedule: str = "cosine"
    lr_final: float = 0.01
    batch_size: int = 256
    n_train: int = 1024
    sites: int | None = None
    dtype: str = "float32"
    blowup: float = 1e3
    log_points: int = 40
    log_schedule: str = "log"

    def __post_init__(self):
        for name in ("steps", "batch_size", "n_train", "log_points"):
            as_int(name, getattr(self, name), lo=0 if name == "steps" else 1)
        as_optional_int("sites", self.sites, lo=1)
        for name in ("lr", "lr_final", "blowup"):
            as_float(name, getattr(self, name), lo=0.0, open_lo=True)
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        check_choice("dtype", self.dtype, DTYPES)
        check_choice("log_schedule", self.log_schedule, LOG_SCHEDULES)

    @property
    def torch_dtype(self) -> torch.dtype:
        return getattr(torch, self.dtype)

    def lr_at(self, step: int) -> float:
        """Learning rate of update ``step`` (0-based)."""
        if self.lr_schedule == "constant" or self.steps <= 1:
            return self.lr
        t = step / (self.steps - 1)
        return self.lr * (self.lr_final + (1 - self.lr_final) * 0.5 * (1 + math.cos(math.pi * t)))

    def key(self) -> dict:
        return asdict(self)


def log_schedule(steps: int, points: int = 40, kind: str = "log") -> list[int]:
    """Sorted distinct steps in ``0..steps`` to log at: ``points`` of them spaced logarithmically
    (or linearly), always including 0 and ``steps``."""
    check_choice("log schedule", kind, LOG_SCHEDULES)
    if steps <= 0:
        return [0]
    if kind == "log":
        grid = np.unique(np.round(np.geomspace(1, steps, max(points - 1, 1))).astype(int))
    else:
        grid = np.unique(np.round(np.linspace(0, steps, max(points, 2))).astype(int))
    return sorted({0, int(steps), *map(int, grid)})


@contextlib.contextmanager
def cpu_threads(n: int | None, device=None):
    """Temporarily set torch's intra-op CPU threads to ``n`` (no-op for ``None`` or a CUDA device).

    The engine's kernels are many small batched products; on the CPU extra threads mostly add
    synchronisation, and on a machine shared with other processes they can slow training down several
    times over. The engine therefore trains with one thread unless told otherwise.
    """
    if n is None or (device is not None and torch.device(device).type != "cpu"):
        yield
        return
    as_int("threads", n, lo=1)
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


# -- data --------------------------------------------------------------------------------------
_MASK = 0x7FFFFFFF


def _mix31(x: torch.Tensor) -> torch.Tensor:
    """A 31-bit integer hash (xor-shift-multiply), elementwise on int64 tensors in [0, 2^31)."""
    x = (((x >> 16) ^ x) * 0x45D9F3B) & _MASK
    x = (((x >> 16) ^ x) * 0x45D9F3B) & _MASK
    return (x >> 16) ^ x


def batch_indices(keys: torch.Tensor, step: int, batch_size: int, n: int, _cols=None) -> torch.Tensor:
    """Minibatch indices ``(E, batch_size)`` in ``[0, n)`` for update ``step``; row ``e`` depends only on
    ``keys[e]`` (the member's 31-bit data key) and ``step``."""
    cols = _cols if _cols is not None else _column_hash(batch_size, keys.device)
    row = _mix31((keys + ((step * 0x9E3779B1) & _MASK)) & _MASK)
    return (_mix31(row[:, None] ^ cols[None, :]) * n) >> 31  # floor(h * n / 2^31), h uniform on [0, 2^31)


def _column_hash(batch_size: int, device) -> torch.Tensor:
    j = torch.arange(batch_size, dtype=torch.int64, device=device)
    return _mix31((j * 0x6A09E667 + 0x3C6EF372) & _MASK)


def member_key(task: str, seed: int, purpose: str = "batches") -> int:
    """The 31-bit key of a member's data stream."""
    return stable_seed(purpose, task, int(seed)) & _MASK


def training_set(task: str, seed: int, n: int, sites: int, dtype=torch.float64) -> torch.Tensor:
    """The finite training set of the member ``(task, seed)``: ``(n, sites)`` i.i.d. draws of the base law
    ``task``, drawn in float64 on the CPU (identical on every device) and cast to ``dtype``."""
    g = torch.Generator().manual_seed(stable_seed("train-set", task, int(seed)))
    return get_law(task).sample((n, sites), g, dtype=torch.float64).to(dtype)


def _check_members(model, tasks, seeds):
    E = getattr(model, "n_members", None)
    if E is None or not hasattr(model, "b"):
        raise TypeError("the model must be an ensemble RG module with attributes n_members and b "
                        "(see rgsym.learn.training)")
    tasks, seeds = list(tasks), [int(s) for s in seeds]
    if len(tasks) != E or len(seeds) != E:
        raise ValueError(f"need one task and one seed per member: E={E}, got {len(tasks)} tasks, {len(seeds)} seeds")
    for t in set(tasks):
        check_choice("task (base law)", t, LAWS)
    return tasks, seeds


# -- results -------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    """What :func:`train_ensemble` returns (the model itself is trained in place).

    ``train_loss``: ``(E, len(log_steps))`` MSE on each member's whole training set at the logged steps;
    ``final_loss``: ``(E,)``; ``diverged``: ``(E,)`` bool; ``diverged_step``: ``(E,)`` (-1 if never);
    ``logs``: one dict per logged step, ``{'step': t, **callback(model, t)}``.
    """

    model: torch.nn.Module
    tasks: list
    seeds: list
    config: TrainConfig
    log_steps: list
    train_loss: np.ndarray
    final_loss: np.ndarray
    diverged: np.ndarray
    diverged_step: np.ndarray
    logs: list = field(default_factory=list)
    wall_time: float = 0.0
    device: str = "cpu"

    @property
    def n_diverged(self) -> int:
        return int(self.diverged.sum())

    @property
    def model_steps_per_s(self) -> float:
        return len(self.tasks) * self.config.steps / max(self.wall_time, 1e-12)


@torch.no_grad()
def _train_set_loss(model, X, Y, chunk: int = 4096) -> torch.Tensor:
    """Per-member MSE ``(E,)`` on the whole training set (evaluated in chunks of lattices)."""
    tot = torch.zeros(X.shape[0], dtype=torch.float64, device=X.device)
    for a in range(0, X.shape[1], chunk):
        err = _rg_step(model, X[:, a:a + chunk]) - Y[:, a:a + chunk]
        tot += (err.double() ** 2).sum((1, 2))
    return tot / (X.shape[1] * Y.shape[2])


def train_ensemble(model: torch.nn.Module, tasks: Sequence[str], seeds: Sequence[int],
                   config: TrainConfig = TrainConfig(), *, device=None,
                   callback: Callable[[torch.nn.Module, int], dict] | None = None,
                   log_steps: Sequence[int] | None = None, progress: bool | None = None,
                   desc: str = "training", threads: int | None = 1, weight_decay=None) -> TrainResult:
    r"""Train every member of an ensemble RG module on its own task, in one batched computation.

    ``tasks[e]`` (a base law of :data:`rgsym.clt.laws.LAWS`) and ``seeds[e]`` fix member ``e``'s
    training set and minibatches (its initial weights are the model's business). The model is moved to
    ``device`` and ``config.dtype`` and trained in place. ``callback(model, step) -> dict`` is called
    under ``torch.no_grad()`` at every logged step (``log_steps``, default :func:`log_schedule`) and must
    not modify the parameters; its outputs are stored in :attr:`TrainResult.logs`. ``progress``: a tqdm
    bar (default: on unless ``$RGSYM_QUIET`` is set). ``threads``: torch CPU threads while training
    (see :func:`cpu_threads`; ``None`` keeps the current setting). ``weight_decay``: L2 decay
    :math:`\tfrac{\lambda_e}{2}\lVert\theta_e\rVert^2` per member, a number or ``(E,)`` values ``>= 0``
    (``None``: none), added to the gradient of every raw parameter before each Adam step (L2 in the
    loss, not AdamW). Identical numbers are guaranteed for the same seed, device and thread count.
    """
    tasks, seeds = _check_members(model, tasks, seeds)
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    decay = _check_decay(weight_decay, len(tasks))
    with cpu_threads(threads, dev):
        return _train(model, tasks, seeds, config, dev, callback, log_steps, progress, desc, decay)


def _check_decay(weight_decay, E: int):
    """``None`` (no decay) or an ``(E,)`` float64 tensor of per-member L2 coefficients ``>= 0``."""
    if weight_decay is None:
        return None
    lam = torch.as_tensor(weight_decay, dtype=torch.float64).flatten()
    if lam.numel() == 1:
        lam = lam.expand(E).clone()
    if lam.numel() != E or not bool(torch.isfinite(lam).all()) or bool((lam < 0).any()):
        raise ValueError(f"weight_decay must be a number or {E} finite values >= 0, got {weight_decay!r}")
    return lam if bool((lam > 0).any()) else None


def _train(model, tasks, seeds, config, dev, callback, log_steps, progress, desc, decay=None) -> TrainResult:
    c = config
    dtype = c.torch_dtype
    model.to(device=dev, dtype=dtype)
    E, b = model.n_members, int(model.b)
    N = c.sites or b
    if N % b:
        raise ValueError(f"training lattices of {N} sites cannot be blocked by b={b}")
    steps = log_schedule(c.steps, c.log_points, c.log_schedule) if log_steps is None else \
        sorted({int(t) for t in log_steps if 0 <= int(t) <= c.steps})
    log_set = set(steps)

    # per-member finite training sets (E, n_train, N) and exact targets (E, n_train, N/b)
    X = torch.stack([training_set(t, s, c.n_train, N) for t, s in zip(tasks, seeds)]).to(device=dev, dtype=dtype)
    Y = block_map(X, b)
    XY = torch.cat([X, Y], -1).reshape(E * c.n_train, N + N // b)  # one row per lattice: sites | exact target
    row0 = (torch.arange(E, device=dev) * c.n_train)[:, None]
    keys = torch.tensor([member_key(t, s) for t, s in zip(tasks, seeds)], dtype=torch.int64, device=dev)
    cols = _column_hash(c.batch_size, dev)

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=c.lr, foreach=True)
    if decay is not None:
        for p in params:
            if p.dim() == 0 or p.shape[0] != E:
                raise ValueError(f"weight decay needs a member axis of size {E}; a parameter has shape {tuple(p.shape)}")
        lams = [decay.to(device=dev, dtype=dtype).view(E, *[1] * (p.dim() - 1)) for p in params]
        bufs = [torch.empty_like(p.detach()) for p in params]
    diverged = torch.zeros(E, dtype=torch.bool, device=dev)
    div_step = torch.full((E,), -1, dtype=torch.int64, device=dev)
    ref = None
    losses, logs = [], []

    from tqdm import tqdm

    if progress is None:
        progress = not os.environ.get("RGSYM_QUIET")

    bar = tqdm(total=c.steps, desc=desc, disable=not progress, leave=False, mininterval=0.5)
    t0 = time.perf_counter()
    for step in range(c.steps + 1):
        if step in log_set:
            model.eval()
            losses.append(_train_set_loss(model, X, Y).cpu())
            if callback is not None:
                with torch.no_grad():
                    out = callback(model, step)
                logs.append({"step": step, **(out or {})})
            model.train()
        if step == c.steps:
            break
        lr = c.lr_at(step)
        for group in opt.param_groups:
            group["lr"] = lr
        idx = batch_indices(keys, step, c.batch_size, c.n_train, cols) + row0
        xyb = XY.index_select(0, idx.view(-1)).view(E, c.batch_size, -1)
        xb, yb = xyb[..., :N], xyb[..., N:]
        per_member = ((_rg_step(model, xb) - yb) ** 2).mean((1, 2))
        with torch.no_grad():
            if ref is None:
                ref = torch.nan_to_num(per_member.detach(), nan=1.0, posinf=1.0).clamp(min=1.0)
            bad = ~torch.isfinite(per_member) | (per_member > c.blowup * ref)
            div_step = torch.where(bad & ~diverged, step, div_step)
            diverged |= bad
        loss = torch.where(diverged, torch.zeros_like(per_member), per_member).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if decay is not None:
            # grad += lam * p through buffers made once (no temporaries per step); addcmul_ would fuse
            # the product into the sum and round differently
            for p, lam, buf in zip(params, lams, bufs):
                torch.mul(lam, p.detach(), out=buf)
                p.grad.add_(buf)
        opt.step()
        bar.update(1)
    wall = time.perf_counter() - t0
    bar.close()

    final = losses[-1] if losses and steps[-1] == c.steps else _train_set_loss(model, X, Y).cpu()
    finite_params = torch.stack([torch.isfinite(p.detach()).reshape(E, -1).all(1)
                                 for p in params if p.dim() and p.shape[0] == E]).all(0)
    bad_end = ~torch.isfinite(final.to(dev)) | ~finite_params
    div_step = torch.where(bad_end & ~diverged, c.steps, div_step)
    diverged |= bad_end
    return TrainResult(
        model=model, tasks=tasks, seeds=seeds, config=c, log_steps=steps,
        train_loss=torch.stack(losses, 1).numpy() if losses else np.zeros((E, 0)),
        final_loss=final.numpy(), diverged=diverged.cpu().numpy(), diverged_step=div_step.cpu().numpy(),
        logs=logs, wall_time=wall, device=str(dev),
    )
