"""Batched-ensemble training engine against the alternatives a competent user would write, interleaved.

    python benchmarks/bench_engine.py [--device cpu|cuda|auto] [--models 160 1600] [--rounds 5]

Every method trains the same reference ensemble: ``M`` block-map MLPs ``2 -> 32 -> 32 -> 1`` with tanh,
MSE against the exact block sum on minibatches of 256 drawn from a finite training set of 1024
Gaussian blocks per model, Adam (lr 3e-3, constant). The methods:

* ``rgsym engine``: :func:`rgsym.learn.training.train_ensemble` on an :class:`rgsym.nets.mlp.EnsembleMLP`;
* ``torch.func vmap``: ``stack_module_state`` of ``M`` ``nn.Sequential`` models, ``vmap(grad(...))``
  over ``functional_call``, one foreach Adam over the stacked parameters (the PyTorch tutorial's
  model-ensembling recipe);
* ``bmm ensemble``: a hand-written stacked MLP (``baddbmm`` per layer, autograd) with one fused Adam
  (foreach where fused is not available), about 40 lines;
* ``naive loop``: one ``nn.Sequential`` and one Adam per model, a Python loop over models (timed on at
  most 160 models: its rate does not depend on ``M``).

The methods are timed *interleaved*: in each of ``--rounds`` rounds every method runs ``--steps`` Adam
steps, in an order rotated from round to round, all in this one process; a ratio is the engine's rate
over a method's rate *within a round*, and the result reports the median ratio and its range over
rounds. The *practical limit* is the machine's single-precision GEMM rate, measured here on one
``1024 x 1024`` sgemm at the same thread count; the engine's share of it counts the multiply-adds of
the forward and backward passes (``3 x B x sum_k d_k d_{k+1}`` per model-step).

Targets (issue 14, 2 CPU cores, 160 models): >= 2x torch.func vmap, and >= 25 % of the sgemm rate.
On a GPU: >= 150x the naive loop at 160 models, >= 1e6 model-steps/s at 1600.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save_result  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

from rgsym.clt.blockmap import block_map  # noqa: E402
from rgsym.config import resolve_device  # noqa: E402
from rgsym.learn.training import TrainConfig, train_ensemble, training_set  # noqa: E402
from rgsym.nets.mlp import EnsembleMLP, MLPConfig  # noqa: E402

WIDTH, DEPTH, BATCH, N_TRAIN, LR = 32, 2, 256, 1024, 3e-3
DIMS = [2] + [WIDTH] * DEPTH + [1]
TARGETS = {"cpu": {"torch.func vmap": 2.0, "sgemm_share": 0.25}, "cuda": {"naive loop": 150.0}}
TARGET_RATE_GPU_1600 = 1e6
METHODS = ("rgsym engine", "torch.func vmap", "bmm ensemble", "naive loop")


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _data(M, device):
    x = torch.stack([training_set("gaussian", i, N_TRAIN, 2) for i in range(M)]).to(device=device, dtype=torch.float32)
    return x, block_map(x, 2)


def _sequential(seed, device):
    torch.manual_seed(seed)
    layers = []
    for k in range(len(DIMS) - 1):
        layers.append(nn.Linear(DIMS[k], DIMS[k + 1]))
        if k < len(DIMS) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers).to(device)


def _batches(M, device, seed=0):
    g = torch.Generator(device=device).manual_seed(seed)
    return lambda: torch.randint(0, N_TRAIN, (M, BATCH), generator=g, device=device)


class Engine:
    """The rgsym engine, continuing from the weights the last round left (a fresh ``train_ensemble`` per
    round: Adam restarts, which does not change the rate; its ``wall_time`` is the training loop only,
    set-up excluded, as for the other methods)."""

    def __init__(self, M, device):
        self.M, self.device = M, device
        self.model = EnsembleMLP(MLPConfig(width=WIDTH, depth=DEPTH, activation="tanh"), range(M), device=device)

    def run(self, steps):
        cfg = TrainConfig(steps=steps, lr=LR, lr_schedule="constant", batch_size=BATCH, n_train=N_TRAIN, log_points=2)
        res = train_ensemble(self.model, ["gaussian"] * self.M, range(self.M), cfg, device=self.device,
                             progress=False, log_steps=[], threads=None)
        return res.wall_time


class FuncVmap:
    def __init__(self, M, device):
        from torch.func import functional_call, grad, stack_module_state, vmap

        models = [_sequential(i, device) for i in range(M)]
        params, _ = stack_module_state(models)
        self.params = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        base = _sequential(0, "meta")

        def loss(p, x, y):
            return ((functional_call(base, p, (x,)) - y) ** 2).mean()

        self.step_grad = vmap(grad(loss))
        self.opt = torch.optim.Adam(list(self.params.values()), lr=LR, foreach=True)
        self.x, self.y = _data(M, device)
        self.draw, self.device = _batches(M, device), device
        self.rows = torch.arange(M, device=device)[:, None]

    def run(self, steps):
        _sync(self.device)
        t0 = time.perf_counter()
        for _ in range(steps):
            idx = self.draw()
            xb, yb = self.x[self.rows, idx], self.y[self.rows, idx]
            grads = self.step_grad(self.params, xb, yb)
            for k, p in self.params.items():
                p.grad = grads[k]
            self.opt.step()
        _sync(self.device)
        return time.perf_counter() - t0


class BmmEnsemble:
    def __init__(self, M, device):
        g = torch.Generator().manual_seed(0)
        self.W, self.c = [], []
        for k in range(len(DIMS) - 1):
            bound = DIMS[k] ** -0.5
            self.W.append(((torch.rand(M, DIMS[k + 1], DIMS[k], generator=g) * 2 - 1) * bound).to(device).requires_grad_())
            self.c.append(((torch.rand(M, 1, DIMS[k + 1], generator=g) * 2 - 1) * bound).to(device).requires_grad_())
        params = self.W + self.c
        try:
            self.opt = torch.optim.Adam(params, lr=LR, fused=True)
            self.fused = True
        except (RuntimeError, TypeError):
            self.opt = torch.optim.Adam(params, lr=LR, foreach=True)
            self.fused = False
        self.x, self.y = _data(M, device)
        self.draw, self.device = _batches(M, device), device
        self.rows = torch.arange(M, device=device)[:, None]

    def run(self, steps):
        _sync(self.device)
        t0 = time.perf_counter()
        last = len(self.W) - 1
        for _ in range(steps):
            idx = self.draw()
            h, yb = self.x[self.rows, idx], self.y[self.rows, idx]
            for k, (W, c) in enumerate(zip(self.W, self.c)):
                h = torch.baddbmm(c, h, W.transpose(1, 2))
                if k < last:
                    h = torch.tanh(h)
            loss = ((h - yb) ** 2).mean((1, 2)).sum()
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
        _sync(self.device)
        return time.perf_counter() - t0


class NaiveLoop:
    def __init__(self, M, device):
        self.models = [_sequential(i, device) for i in range(M)]
        self.opts = [torch.optim.Adam(m.parameters(), lr=LR) for m in self.models]
        self.x, self.y = _data(M, device)
        self.draw, self.device = _batches(M, device), device

    def run(self, steps):
        _sync(self.device)
        t0 = time.perf_counter()
        for _ in range(steps):
            idx = self.draw()
            for i, (m, opt) in enumerate(zip(self.models, self.opts)):
                loss = ((m(self.x[i, idx[i]]) - self.y[i, idx[i]]) ** 2).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        _sync(self.device)
        return time.perf_counter() - t0


CLASSES = {"rgsym engine": Engine, "torch.func vmap": FuncVmap, "bmm ensemble": BmmEnsemble, "naive loop": NaiveLoop}


def sgemm_rate(device, n=1024, reps=20) -> float:
    """Multiply-adds per second of one ``n x n`` float32 matrix product (the practical limit)."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    for _ in range(3):
        a @ b
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    _sync(device)
    return reps * n**3 / (time.perf_counter() - t0)


def macs_per_model_step() -> float:
    """Multiply-adds of one model's forward and backward pass (forward, input gradient, weight gradient)."""
    return 3.0 * BATCH * sum(DIMS[k] * DIMS[k + 1] for k in range(len(DIMS) - 1))


def measure(M: int, steps: int, naive_steps: int, rounds: int, device) -> dict:
    """Interleaved rounds: per method, the model-steps/s of every round; per round, the engine's ratios."""
    n_naive = min(M, 160)
    objs = {name: cls(n_naive if name == "naive loop" else M, device) for name, cls in CLASSES.items()}
    for name, o in objs.items():  # warm-up: allocator, kernels, vmap tracing
        o.run(2)
    rates = {name: [] for name in objs}
    order = list(objs)
    for r in range(rounds):
        for name in order[r % len(order):] + order[:r % len(order)]:
            n, s = (n_naive, naive_steps) if name == "naive loop" else (M, steps)
            rates[name].append(n * s / objs[name].run(s))
    eng = rates["rgsym engine"]
    ratios = {name: [e / v for e, v in zip(eng, rates[name])] for name in objs if name != "rgsym engine"}
    return {"models": M, "steps": steps, "naive_models": n_naive, "naive_steps": naive_steps, "rates": rates,
            "ratios": ratios, "bmm_fused_adam": objs["bmm ensemble"].fused}


def _spread(v):
    return {"median": statistics.median(v), "min": min(v), "max": max(v)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--models", type=int, nargs="+", default=[160, 1600])
    ap.add_argument("--steps", type=int, default=None, help="steps per round (default: 100 at 160 models on cpu, "
                                                            "scaled down for larger ensembles; 500 on cuda)")
    ap.add_argument("--naive-steps", type=int, default=None, help="naive-loop steps per round (default 5 cpu, 20 cuda)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads for every method (default 1)")
    args = ap.parse_args()
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads)
    gpu = device.type == "cuda"
    naive_steps = args.naive_steps or (20 if gpu else 5)
    peak = sgemm_rate(device)
    macs = macs_per_model_step()
    print(f"reference MLP {'-'.join(map(str, DIMS))} tanh, batch {BATCH}, device {device}, {args.threads} thread(s); "
          f"sgemm {peak / 1e9:.1f} G multiply-adds/s")
    rows = []
    for M in args.models:
        steps = args.steps or (500 if gpu else max(10, 100 * 160 // M))
        m = measure(M, steps, naive_steps, args.rounds, device)
        eng = _spread(m["rates"]["rgsym engine"])
        share = eng["median"] * macs / peak
        row = {"models": M, "steps_per_round": steps, "rounds": args.rounds,
               "rates": {k: _spread(v) for k, v in m["rates"].items()},
               "engine_over": {k: _spread(v) for k, v in m["ratios"].items()},
               "sgemm_share": share, "bmm_fused_adam": m["bmm_fused_adam"], "targets": {}}
        tg = TARGETS[device.type]
        for k, t in tg.items():
            if k == "sgemm_share":
                row["targets"][k] = {"target": t, "met": share >= t} if M == 160 else None
            elif M == 160:
                row["targets"][k] = {"target": t, "met": row["engine_over"][k]["median"] >= t}
        if gpu and M == 1600:
            row["targets"]["rate_1600"] = {"target": TARGET_RATE_GPU_1600, "met": eng["median"] >= TARGET_RATE_GPU_1600}
        row["targets"] = {k: v for k, v in row["targets"].items() if v is not None}
        rows.append(row)
        print(f"{M} models, {args.rounds} interleaved rounds of {steps} steps:")
        for k, v in row["rates"].items():
            print(f"  {k:16s} {v['median']:12.0f} model-steps/s  (range {v['min']:.0f}-{v['max']:.0f})")
        for k, v in row["engine_over"].items():
            print(f"  engine / {k:16s} {v['median']:6.2f}x  (range {v['min']:.2f}-{v['max']:.2f})")
        print(f"  engine at {100 * share:.1f} % of the sgemm rate; targets: {row['targets']}")
    save_result(f"bench_engine_{device.type}", {
        "what": "batched-ensemble engine against torch.func vmap, a hand-written bmm ensemble and a naive per-model "
                "loop, interleaved rounds in one process, model-steps per second",
        "reference_model": f"MLP {'-'.join(map(str, DIMS))} tanh, batch {BATCH}, n_train {N_TRAIN}, Adam lr {LR}",
        "device": str(device), "threads": args.threads, "sgemm_macs_per_s": peak,
        "macs_per_model_step": macs, "rows": rows,
    })


if __name__ == "__main__":
    main()
