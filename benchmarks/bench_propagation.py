"""Cumulant propagation against Monte Carlo for a trained block-map MLP (issue 4), side by side.

    python benchmarks/bench_propagation.py [--steps 300] [--repeats 20] [--pilot 1000000] [--members 64]

The network: an :class:`rgsym.nets.mlp.EnsembleMLP` ``2 -> 64 -> 64 -> 64 -> 1`` (width 64, depth 3) with
the quadratic activation (alpha 0.5), trained for ``--steps`` Adam steps on the Gaussian task with
:func:`rgsym.learn.training.train_ensemble` (so its weights are those of a learned RG map, not of an
initialisation). Inputs: i.i.d. uniform sites (an unseen law).

* **Propagation**: :func:`rgsym.propagation.propagate` to order 4, exact (the network has degree 8,
  so input cumulants up to order 32 enter); wall time per call, median of ``--repeats`` runs,
  building the input cumulants included. Target: <= 50 ms on the CPU. Its accuracy is checked
  against the independent quadrature route (:func:`propagate` with ``method='quadrature'``).
* **Monte Carlo** reaching a given accuracy: sample blocks, run the network, take k-statistics
  :math:`k_1..k_4` with standard errors (:func:`rgsym.clt.kstats`). A pilot run of
  ``--pilot`` samples is timed and its standard errors give the sample size needed for a standard
  error of ``tol`` :math:`\\times\\sigma^n` on every :math:`\\kappa_n` (:math:`\\sigma^2=\\kappa_2`); the
  time is extrapolated linearly in the sample size (Monte Carlo cost is linear in it). The
  propagation itself is exact to rounding, which no affordable Monte Carlo run reaches.
* **Streamed float32 Monte Carlo** (the strongest Monte Carlo here): :func:`rgsym.propagation.ensembles.measure_cumulants`,
  which draws float32 blocks in chunks of 8,192 through the model and keeps only float64 power sums; it is
  timed like the plain float64 one, and the speed-ups are given against both.
* **Interleaving**: the propagation, the float64 pilot and the streamed float32 pilot are timed in each of
  ``--rounds`` rounds, in an order rotated from round to round; the result reports the median and the range
  of every speed-up over rounds.
* **Ensembles**: the same propagation for ``--members`` trained-like members at once (per-member time).
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

from rgsym import propagation as P  # noqa: E402
from rgsym.clt import get_law, kstats  # noqa: E402
from rgsym.propagation.ensembles import measure_cumulants  # noqa: E402
from rgsym.nets.mlp import EnsembleMLP  # noqa: E402
from rgsym.learn.training import TrainConfig, train_ensemble  # noqa: E402

WIDTH, DEPTH, ORDER, LAW, TARGET_MS = 64, 3, 4, "uniform", 50.0


def trained_model(members: int, steps: int) -> EnsembleMLP:
    model = EnsembleMLP.build(width=WIDTH, depth=DEPTH, activation="quadratic", symmetry="free",
                              seeds=members, dtype=torch.float32)
    train_ensemble(model, ["gaussian"] * members, list(range(members)),
                   TrainConfig(steps=steps, batch_size=256, n_train=1024, lr=1e-3), progress=False)
    return model.double()


def time_propagation(model, repeats: int) -> tuple[float, torch.Tensor]:
    need = P.required_input_order(model, ORDER)
    P.propagate(model, P.law_inputs(LAW, 2, need), ORDER)  # warm-up: index tables are built once
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = P.propagate(model, P.law_inputs(LAW, 2, need), ORDER).kappa
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def monte_carlo(model, n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    with torch.no_grad():
        x = get_law(LAW).sample((1, n, 2), g, dtype=torch.float64)
        y = model(x)
        k, se = kstats(y[0], ORDER)
    return time.perf_counter() - t0, k, se


def streamed_monte_carlo(model, n: int, seed: int = 0):
    t0 = time.perf_counter()
    k, se = measure_cumulants(model, LAW, n, seed=seed, order=ORDER, dtype=torch.float32, chunk=8192)
    return time.perf_counter() - t0, k[0], se[0]


def _summary(values) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300, help="Adam steps of the trained network")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--pilot", type=int, default=1_000_000, help="Monte Carlo pilot sample size")
    ap.add_argument("--members", type=int, default=64, help="ensemble size of the throughput row")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--tol", type=float, nargs="+", default=[1e-2, 1e-3],
                    help="Monte Carlo targets: standard error / sigma^n on every kappa_n")
    args = ap.parse_args()

    model = trained_model(1, args.steps)
    t_prop, kappa = time_propagation(model, args.repeats)
    kq = P.propagate(model, P.law_inputs(LAW, 2, 2 * 17 - 1), ORDER, "quadrature", nodes=17).kappa
    rel_dev = float(((kq - kappa).abs() / kappa[0, 1] ** (torch.arange(1, 5) / 2)).max())

    monte_carlo(model, 10_000)  # warm-up
    streamed_monte_carlo(model, 10_000)
    times = {"propagation": [], "mc64": [], "mc32": []}
    for r in range(args.rounds):
        jobs = [("propagation", lambda: (time_propagation(model, 5)[0],)),
                ("mc64", lambda: monte_carlo(model, args.pilot, seed=r)),
                ("mc32", lambda: streamed_monte_carlo(model, args.pilot, seed=r))]
        jobs = jobs[r % 3:] + jobs[:r % 3]
        for name, job in jobs:
            out = job()
            times[name].append(out[0])
            if name == "mc64":
                k_mc, se_mc = out[1], out[2]
            elif name == "mc32":
                k_32, se_32 = out[1], out[2]
    t_prop = statistics.median(times["propagation"])
    t_mc, t_32 = statistics.median(times["mc64"]), statistics.median(times["mc32"])
    sigma = float(kappa[0, 1]) ** 0.5
    scale = torch.tensor([sigma ** n for n in range(1, ORDER + 1)], dtype=torch.float64)
    z = ((k_mc - kappa[0]).abs() / se_mc).tolist()
    z32 = ((k_32 - kappa[0]).abs() / se_32).tolist()

    print(f"trained MLP 2-{'-'.join([str(WIDTH)] * DEPTH)}-1, quadratic alpha 0.5 ({args.steps} Adam steps), "
          f"inputs: i.i.d. {LAW}, order {ORDER}; {args.rounds} interleaved rounds")
    print(f"propagation (exact, input orders up to {P.required_input_order(model, ORDER)}): "
          f"{1e3 * t_prop:.2f} ms per call (median); target <= {TARGET_MS:g} ms: "
          f"{'ok' if 1e3 * t_prop <= TARGET_MS else 'MISSED'}")
    print(f"  kappa_1..4 = {[f'{v:.6g}' for v in kappa[0].tolist()]}; |exact - quadrature| / sigma^n <= {rel_dev:.1e}")
    print(f"Monte Carlo pilots of {args.pilot} samples: float64 {t_mc:.3f} s, streamed float32 {t_32:.3f} s; "
          f"|MC - exact| / se = {[f'{v:.2f}' for v in z]} (float64), {[f'{v:.2f}' for v in z32]} (float32)")
    rows = [{"method": "propagation (exact)", "samples": None, "seconds": t_prop, "speedup": 1.0,
             "accuracy": f"exact to rounding ({rel_dev:.1e} sigma^n vs quadrature)"}]
    print(f"{'Monte Carlo target':>34s} {'samples needed':>15s} {'seconds':>10s} {'speed-up of propagation (range)':>32s}")
    for label, tt, se in (("float64", times["mc64"], se_mc), ("streamed float32", times["mc32"], se_32)):
        for tol in args.tol:
            need = max(int(args.pilot * float(((se / (tol * scale)) ** 2).max())), 1)
            secs = statistics.median(tt) * need / args.pilot
            sp = _summary([t * need / args.pilot / tp for t, tp in zip(tt, times["propagation"])])
            rows.append({"method": f"Monte Carlo, {label}, se <= {tol:g} sigma^n", "samples": need, "seconds": secs,
                         "speedup": sp["median"], "speedup_range": [sp["min"], sp["max"]],
                         "accuracy": f"{tol:g} sigma^n", "extrapolated": need != args.pilot})
            print(f"{label + ', se <= ' + format(tol, 'g') + ' sigma^n':>34s} {need:15.3g} {secs:10.3g} "
                  f"{sp['median']:14.3g}x ({sp['min']:.3g}-{sp['max']:.3g})")
    rows.append({"method": "Monte Carlo pilot, float64 (measured)", "samples": args.pilot, "seconds": t_mc,
                 "speedup": t_mc / t_prop, "accuracy": f"max se / sigma^n = {float((se_mc / scale).max()):.2e}"})
    rows.append({"method": "Monte Carlo pilot, streamed float32 (measured)", "samples": args.pilot, "seconds": t_32,
                 "speedup": t_32 / t_prop, "accuracy": f"max se / sigma^n = {float((se_32 / scale).max()):.2e}"})

    ens = trained_model(args.members, args.steps)
    t_ens, _ = time_propagation(ens, max(3, args.repeats // 4))
    print(f"ensemble of {args.members} trained members: {1e3 * t_ens:.1f} ms per call, "
          f"{1e3 * t_ens / args.members:.2f} ms per member")
    save_result("bench_propagation", {
        "what": "exact cumulant propagation (order 4) vs Monte Carlo (float64, and streamed float32) reaching a "
                "given accuracy, interleaved rounds",
        "rounds": args.rounds, "streamed_over_float64_mc": _summary([a / b for a, b in zip(times["mc64"], times["mc32"])]),
        "network": f"MLP 2-{WIDTH}x{DEPTH}-1 quadratic alpha 0.5, trained {args.steps} Adam steps on gaussian",
        "inputs": f"iid {LAW}", "order": ORDER,
        "propagation_ms": 1e3 * t_prop, "target_ms": TARGET_MS, "target_met": 1e3 * t_prop <= TARGET_MS,
        "propagation_vs_quadrature_max_dev_sigma_units": rel_dev,
        "kappa": kappa[0].tolist(), "mc_pilot_kstats": k_mc.tolist(), "mc_pilot_se": se_mc.tolist(),
        "mc32_pilot_kstats": k_32.tolist(), "mc32_pilot_se": se_32.tolist(),
        "rows": rows,
        "ensemble": {"members": args.members, "ms_per_call": 1e3 * t_ens, "ms_per_member": 1e3 * t_ens / args.members},
    })


if __name__ == "__main__":
    main()
