"""Batched-ensemble training engine against a plain per-model PyTorch loop (issue 3), side by side.

    python benchmarks/bench_engine.py [--device cpu|cuda|auto] [--models 160 1600] [--steps 100]

Both sides do the same maths and the same number of Adam steps: the reference block-map MLP
``2 -> 32 -> 32 -> 1`` with tanh, MSE against the exact block sum, minibatches of 256 drawn from a
finite training set of 1024 Gaussian blocks per model, Adam (lr 3e-3). The plain loop is what one
would write without the engine: one ``nn.Sequential`` and one ``torch.optim.Adam`` per model, a
Python loop over models and steps. The engine is :func:`rgsym.learn.training.train_ensemble` on an
:class:`rgsym.nets.mlp.EnsembleMLP`. Throughput is model-steps per second (models x steps / wall time
of the training loops; data set-up excluded on both sides).

Both sides run with the same number of torch CPU threads (``--threads``, default 1: the engine's
default, see :func:`rgsym.learn.training.cpu_threads`).

Targets: >= 5x the plain loop with 160 models on 2 CPU cores; on an H100 >= 150x with 160 models and
>= 1e6 model-steps/s with 1600 models. The plain loop's rate does not depend on the number of models,
so it is measured on at most 160 models and compared with every engine point.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save_result  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

from rgsym.config import resolve_device  # noqa: E402
from rgsym.nets.mlp import EnsembleMLP, MLPConfig  # noqa: E402
from rgsym.clt.blockmap import block_map  # noqa: E402
from rgsym.learn.training import TrainConfig, train_ensemble, training_set  # noqa: E402

WIDTH, DEPTH, BATCH, N_TRAIN, LR = 32, 2, 256, 1024, 3e-3
TARGETS = {"cpu": {160: 5.0}, "cuda": {160: 150.0}}
TARGET_RATE_GPU_1600 = 1e6


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def plain_loop(n_models: int, steps: int, device) -> float:
    """Model-steps per second of the per-model loop (one model, one optimiser at a time)."""
    models, opts, data, gens = [], [], [], []
    for i in range(n_models):
        torch.manual_seed(i)
        layers = [nn.Linear(2, WIDTH), nn.Tanh()]
        for _ in range(DEPTH - 1):
            layers += [nn.Linear(WIDTH, WIDTH), nn.Tanh()]
        m = nn.Sequential(*layers, nn.Linear(WIDTH, 1)).to(device)
        models.append(m)
        opts.append(torch.optim.Adam(m.parameters(), lr=LR))
        x = training_set("gaussian", i, N_TRAIN, 2).to(device=device, dtype=torch.float32)
        data.append((x, block_map(x, 2)))
        gens.append(torch.Generator(device=device).manual_seed(i))
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        for m, opt, (x, y), g in zip(models, opts, data, gens):
            idx = torch.randint(0, N_TRAIN, (BATCH,), generator=g, device=device)
            loss = ((m(x[idx]) - y[idx]) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    _sync(device)
    return n_models * steps / (time.perf_counter() - t0)


def engine(n_models: int, steps: int, device, threads=None) -> float:
    """Model-steps per second of the batched-ensemble engine."""
    model = EnsembleMLP(MLPConfig(width=WIDTH, depth=DEPTH, activation="tanh"), range(n_models), device=device)
    cfg = TrainConfig(steps=steps, lr=LR, lr_schedule="constant", batch_size=BATCH, n_train=N_TRAIN, log_points=2)
    res = train_ensemble(model, ["gaussian"] * n_models, range(n_models), cfg, device=device, progress=False,
                         log_steps=[], threads=threads)  # no logging inside the timed loop
    return res.model_steps_per_s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--models", type=int, nargs="+", default=[160, 1600])
    ap.add_argument("--steps", type=int, default=None, help="engine steps (default: 200 on cpu, 1000 on cuda)")
    ap.add_argument("--plain-steps", type=int, default=None, help="plain-loop steps (default: 10 on cpu, 20 on cuda)")
    ap.add_argument("--repeats", type=int, default=2, help="best of this many runs per point")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads for both sides (default 1, the engine's own default)")
    args = ap.parse_args()
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads)
    gpu = device.type == "cuda"
    steps = args.steps or (1000 if gpu else 200)
    plain_steps = args.plain_steps or (20 if gpu else 10)

    engine(8, 5, device)  # warm-up (imports, allocator, kernels)
    plain_loop(2, 2, device)
    n_plain = min(160, min(args.models))
    plain = max(plain_loop(n_plain, plain_steps, device) for _ in range(args.repeats))
    rows = []
    print(f"reference MLP 2-{WIDTH}-{WIDTH}-1 tanh, batch {BATCH}, device {device}, {args.threads} torch thread(s)")
    print(f"plain per-model loop ({n_plain} models x {plain_steps} steps): {plain:10.0f} model-steps/s")
    print(f"{'models':>7s} {'engine steps':>12s} {'model-steps/s':>14s} {'speed-up':>9s}  target")
    for M in args.models:
        # scale the steps down for large ensembles on the CPU so the default run stays short
        s = steps if gpu else max(10, steps * 160 // M)
        rate = max(engine(M, s, device, args.threads) for _ in range(args.repeats))
        ratio = rate / plain
        target = TARGETS[device.type].get(M)
        note = ""
        if target is not None:
            note = f">= {target:g}x: {'ok' if ratio >= target else 'MISSED'}"
        if gpu and M == 1600:
            note = f">= {TARGET_RATE_GPU_1600:.0e}/s: {'ok' if rate >= TARGET_RATE_GPU_1600 else 'MISSED'}"
        rows.append({"models": M, "engine_steps": s, "engine_model_steps_per_s": round(rate, 1),
                     "plain_model_steps_per_s": round(plain, 1), "speedup": round(ratio, 2), "target": note})
        print(f"{M:7d} {s:12d} {rate:14.0f} {ratio:8.1f}x  {note}")
    save_result("bench_engine", {
        "what": "batched-ensemble engine vs plain per-model PyTorch loop, model-steps per second",
        "reference_model": f"MLP 2-{WIDTH}-{WIDTH}-1 tanh, batch {BATCH}, n_train {N_TRAIN}, Adam lr {LR}",
        "device": str(device), "threads": args.threads, "plain_models": n_plain, "plain_steps": plain_steps,
        "rows": rows,
    })


if __name__ == "__main__":
    main()
