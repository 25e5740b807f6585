"""Cost of symmetry logging during training (issue 6): the training engine with and without the
Chapter 6 callback (rgsym.symmetry.logger.SymmetryLogger) at the default logarithmic schedule, side
by side in one run.

    python benchmarks/bench_logging.py [--steps 2000] [--repeats 2] [--reference] [--device cpu] [--threads 1]

Target: logging costs at most 20% extra training time. Two measurements, side by side:

* A/B: the same training with and without the callback (both log the engine's own train loss at the
  same steps, so the difference is the callback alone); runs alternate and each takes the best of
  ``--repeats`` (robust to other jobs on a shared machine);
* in-run: the time spent inside the callback divided by the rest of the same logged run (insensitive
  to load that varies between runs).

Ensembles: the one of Chapter 6 (width 8, one hidden layer, six activations x two symmetries x 10
seeds); with ``--reference`` also the engine's reference MLP (160 members, 2 hidden layers of width
32). The default 2000 steps are shorter than the engine's default 5000 with the same 40 logged
points, so the measured fraction is an upper bound for the default training length.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save_result  # noqa: E402

import torch  # noqa: E402

from rgsym.config import resolve_device  # noqa: E402
from rgsym.learn.training import TrainConfig, log_schedule, train_ensemble  # noqa: E402
from rgsym.nets.activations import ACTIVATIONS  # noqa: E402
from rgsym.nets.mlp import EnsembleMLP, MLPConfig  # noqa: E402
from rgsym.symmetry.logger import SymmetryLogger  # noqa: E402

TARGET = 0.20


class TimedLogger:
    """Wraps a callback and adds up the wall time spent inside it."""

    def __init__(self, fn):
        self.fn, self.seconds = fn, 0.0

    def __call__(self, model, step):
        t0 = time.perf_counter()
        out = self.fn(model, step)
        self.seconds += time.perf_counter() - t0
        return out


def ensembles(reference: bool):
    ch6 = [MLPConfig(width=8, depth=1, activation=a, symmetry=s)
           for a in ACTIVATIONS for s in ("free", "tied-hidden") for _ in range(10)]
    out = {f"chapter 6 ({len(ch6)} x 1x8, mixed activations)": ch6}
    if reference:
        out["reference (160 x 2x32 tanh)"] = [MLPConfig(width=32, depth=2, activation="tanh", symmetry="free")] * 160
    return out


def time_run(configs, cfg, device, callback):
    model = EnsembleMLP(configs, range(len(configs)), device=device)
    tasks = ["gaussian"] * len(configs)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    train_ensemble(model, tasks, range(len(configs)), cfg, device=device, callback=callback, progress=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--reference", action="store_true", help="also the engine's 160 x 2x32 reference ensemble")
    ap.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (1: steady timings on a shared machine; the ratio is what counts)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    cfg = TrainConfig(steps=args.steps)
    n_logged = len(log_schedule(cfg.steps, cfg.log_points, cfg.log_schedule))
    rows = []
    print(f"{'ensemble':42s} {'plain s':>8s} {'logged s':>9s} {'A/B extra':>10s} {'in-run':>7s}"
          f"  target <= {TARGET:.0%}")
    for name, configs in ensembles(args.reference).items():
        logger = SymmetryLogger(b=2, task="gaussian")
        time_run(configs, TrainConfig(steps=20), device, logger)  # warm-up
        plain, logged, inrun = [], [], []
        for _ in range(args.repeats):
            plain.append(time_run(configs, cfg, device, None))
            timed = TimedLogger(logger)
            total = time_run(configs, cfg, device, timed)
            logged.append(total)
            inrun.append(timed.seconds / (total - timed.seconds))
        p, q = min(plain), min(logged)
        extra, share = q / p - 1, min(inrun)
        ok = share <= TARGET and extra <= TARGET
        rows.append({"ensemble": name, "members": len(configs), "steps": cfg.steps, "logged_steps": n_logged,
                     "plain_s": round(p, 3), "logged_s": round(q, 3), "extra_fraction": round(extra, 4),
                     "in_run_extra_fraction": round(share, 4),
                     "all_plain_s": [round(t, 3) for t in plain], "all_logged_s": [round(t, 3) for t in logged],
                     "all_in_run": [round(t, 4) for t in inrun], "meets_target": ok})
        print(f"{name:42s} {p:8.2f} {q:9.2f} {extra:10.1%} {share:7.1%}  {'ok' if ok else 'MISSED'}")
    save_result("bench_logging", {
        "what": "extra training time of symmetry logging (SymmetryLogger) at the default log schedule",
        "target_extra_fraction": TARGET, "device": str(device), "threads": args.threads, "train_config": cfg.key(),
        "logger": {"n_eval": 1024, "ood_laws": "all unseen"}, "rows": rows,
    })


if __name__ == "__main__":
    main()
