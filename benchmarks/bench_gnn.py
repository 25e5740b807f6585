"""Batched GNN ensemble (rgsym.nets.gnn + the training engine) against a plain per-model PyG loop (issue 5).

    python benchmarks/bench_gnn.py [--device cpu|cuda|auto] [--models 16 64 256] [--steps 100] [--threads 1]

Both sides do the same maths and the same number of Adam steps: the reference lattice GNN is the
shared-weight (standard) GNN with two message-passing layers of width 16, tanh, on the ``block+nn``
graph of rings of 4 sites (b = 2), sum pooling of each block and a linear readout, trained on the MSE
to the exact block sum with minibatches of 128 lattices from a finite set of 512 Gaussian lattices
per model, Adam (lr 3e-3).

* **plain loop**: what one writes with stock PyG: per model a ``torch_geometric.nn.GraphConv``
  (``aggr='add'``) stack applied to a ``torch_geometric.data.Batch`` of the minibatch's lattice graphs
  (``B N`` nodes), ``torch_geometric.utils.scatter`` to pool blocks, a ``Linear`` readout, one
  ``torch.optim.Adam`` per model, Python loops over models and steps;
* **ensemble**: one :class:`rgsym.nets.gnn.EnsembleGNN` holding all models, trained by
  :func:`rgsym.learn.training.train_ensemble` (node features ``(E, B, N, d)`` through one
  ``MessagePassing`` call per layer for all models and lattices).

Throughput is model-steps per second (training loops only, data set-up excluded). The plain loop's
rate does not depend on the number of models, so it runs on ``min(--models, 16)`` models. The two
sides are timed *interleaved*: for every ensemble size, ``--rounds`` rounds each run the plain loop and
the ensemble, in an order that alternates from round to round, and a speed-up is taken within a round;
the result reports its median and range, and is written per device
(``benchmarks/results/bench_gnn_<device>.json``).
Both sides run with the same number of intra-op CPU threads (``--threads``, default 1: on a shared
2-core machine more threads only wait for each other on these tiny tensors).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save_result  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

from rgsym.config import resolve_device  # noqa: E402
from rgsym.nets.gnn import EnsembleGNN  # noqa: E402
from rgsym.nets.gnn_config import GNNConfig  # noqa: E402
from rgsym.nets.graphs import import_pyg, lattice_graph  # noqa: E402
from rgsym.clt.blockmap import block_map  # noqa: E402
from rgsym.learn.training import TrainConfig, train_ensemble, training_set  # noqa: E402

B_SIZE, SITES, WIDTH, DEPTH, BATCH, N_TRAIN, LR = 2, 4, 16, 2, 128, 512, 3e-3
TARGETS = {"cpu": {64: 5.0}, "cuda": {256: 50.0}}


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


class PlainGNN(nn.Module):
    """The reference GNN with stock PyG layers: GraphConv x DEPTH (sum aggregation), tanh, block sum pooling,
    linear readout."""

    def __init__(self, pyg):
        super().__init__()
        dims = [1] + [WIDTH] * DEPTH
        self.convs = nn.ModuleList([pyg.nn.GraphConv(dims[k], dims[k + 1], aggr="add") for k in range(DEPTH)])
        self.readout = nn.Linear(WIDTH, 1)
        self.pyg = pyg

    def forward(self, x, edge_index, cluster, n_clusters):
        h = x
        for conv in self.convs:
            h = torch.tanh(conv(h, edge_index))
        pooled = self.pyg.utils.scatter(h, cluster, dim=0, dim_size=n_clusters, reduce="sum")
        return self.readout(pooled).squeeze(-1)


def plain_loop(n_models: int, steps: int, device) -> float:
    """Model-steps per second of the per-model PyG loop."""
    pyg = import_pyg()
    g = lattice_graph(SITES, B_SIZE, "block+nn")
    data = [pyg.data.Data(edge_index=g.edge_index, num_nodes=SITES) for _ in range(BATCH)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        batch = pyg.data.Batch.from_data_list(data).to(device)
    cluster = (torch.arange(BATCH * SITES, device=device) // B_SIZE)
    n_clusters = BATCH * SITES // B_SIZE
    models, opts, sets, gens = [], [], [], []
    for i in range(n_models):
        torch.manual_seed(i)
        m = PlainGNN(pyg).to(device)
        models.append(m)
        opts.append(torch.optim.Adam(m.parameters(), lr=LR))
        x = training_set("gaussian", i, N_TRAIN, SITES).to(device=device, dtype=torch.float32)
        sets.append((x, block_map(x, B_SIZE)))
        gens.append(torch.Generator(device=device).manual_seed(i))
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        for m, opt, (x, y), gen in zip(models, opts, sets, gens):
            idx = torch.randint(0, N_TRAIN, (BATCH,), generator=gen, device=device)
            xb = x[idx].reshape(-1, 1)
            loss = ((m(xb, batch.edge_index, cluster, n_clusters) - y[idx].reshape(-1)) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    _sync(device)
    return n_models * steps / (time.perf_counter() - t0)


def ensemble(n_models: int, steps: int, device) -> float:
    """Model-steps per second of the batched ensemble with the training engine."""
    cfg = GNNConfig(b=B_SIZE, width=WIDTH, depth=DEPTH, activation="tanh", symmetry="shared", edges="block+nn")
    model = EnsembleGNN(cfg, range(n_models), device=device, context=SITES)
    tc = TrainConfig(steps=steps, lr=LR, lr_schedule="constant", batch_size=BATCH, n_train=N_TRAIN, sites=SITES,
                     log_points=2)
    res = train_ensemble(model, ["gaussian"] * n_models, range(n_models), tc, device=device, progress=False)
    return res.model_steps_per_s


def check_same_maths(device) -> float:
    """Largest difference between the stock-PyG GNN and an EnsembleGNN member carrying its weights."""
    pyg = import_pyg()
    torch.manual_seed(0)
    plain = PlainGNN(pyg).double()
    cfg = GNNConfig(b=B_SIZE, width=WIDTH, depth=DEPTH, activation="tanh", symmetry="shared", edges="block+nn")
    ens = EnsembleGNN(cfg, [0], dtype=torch.float64)
    with torch.no_grad():
        for k, conv in enumerate(plain.convs):  # GraphConv: lin_root(x_i) + lin_rel(sum_j x_j)
            ens.root[k][0] = conv.lin_root.weight
            ens.msg[k][0] = conv.lin_rel.weight
            ens.bias[k][0] = conv.lin_rel.bias
        ens.readout[0] = plain.readout.weight
        ens.out_bias[0] = plain.readout.bias
    s = torch.randn(1, 8, SITES, dtype=torch.float64)
    g = lattice_graph(SITES, B_SIZE, "block+nn")
    data = pyg.data.Batch.from_data_list([pyg.data.Data(edge_index=g.edge_index, num_nodes=SITES)] * 8)
    cluster = torch.arange(8 * SITES) // B_SIZE
    ref = plain(s.reshape(-1, 1), data.edge_index, cluster, 8 * SITES // B_SIZE).reshape(1, 8, SITES // B_SIZE)
    with torch.no_grad():
        return float((ens(s) - ref).abs().max())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--models", type=int, nargs="+", default=[16, 64, 256])
    ap.add_argument("--steps", type=int, default=None, help="ensemble steps (default: 100 on cpu, 500 on cuda)")
    ap.add_argument("--plain-steps", type=int, default=None, help="plain-loop steps (default: 5 on cpu, 20 on cuda)")
    ap.add_argument("--threads", type=int, default=1, help="intra-op CPU threads for both sides")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per ensemble size")
    args = ap.parse_args()
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads)
    gpu = device.type == "cuda"
    steps = args.steps or (500 if gpu else 100)
    plain_steps = args.plain_steps or (20 if gpu else 5)

    diff = check_same_maths(device)
    ensemble(4, 3, device)  # warm-up (imports, allocator, kernels)
    plain_loop(2, 2, device)
    n_plain = min(16, min(args.models))
    print(f"reference GNN: shared GraphConv x{DEPTH}, width {WIDTH}, tanh, rings of {SITES} sites (b={B_SIZE}, "
          f"block+nn), batch {BATCH} lattices, device {device}, {torch.get_num_threads()} thread(s)")
    print(f"same maths: max |EnsembleGNN - stock PyG| = {diff:.1e}")
    print(f"{'models':>7s} {'steps':>6s} {'ensemble/s':>11s} {'plain/s':>9s} {'speed-up (range)':>22s}  target")
    rows = []
    for M in args.models:
        ens_r, plain_r = [], []
        for r in range(args.rounds):
            for side in (("plain", "ens") if r % 2 == 0 else ("ens", "plain")):
                if side == "plain":
                    plain_r.append(plain_loop(n_plain, plain_steps, device))
                else:
                    ens_r.append(ensemble(M, steps, device))
        ratios = [e / p for e, p in zip(ens_r, plain_r)]
        ratio = statistics.median(ratios)
        target = TARGETS[device.type].get(M)
        note = "" if target is None else f">= {target:g}x: {'ok' if ratio >= target else 'MISSED'}"
        rows.append({"models": M, "ensemble_steps": steps, "rounds": args.rounds,
                     "ensemble_model_steps_per_s": round(statistics.median(ens_r), 1),
                     "plain_model_steps_per_s": round(statistics.median(plain_r), 1),
                     "speedup": round(ratio, 2), "speedup_range": [round(min(ratios), 2), round(max(ratios), 2)],
                     "target": note})
        print(f"{M:7d} {steps:6d} {statistics.median(ens_r):11.1f} {statistics.median(plain_r):9.1f} "
              f"{ratio:9.2f}x ({min(ratios):.2f}-{max(ratios):.2f})  {note}", flush=True)
    save_result(f"bench_gnn_{device.type}", {
        "what": "batched GNN ensemble (EnsembleGNN + train_ensemble) vs plain per-model PyG GraphConv loop, "
                "model-steps per second, interleaved rounds",
        "reference_model": f"shared GNN {DEPTH}x{WIDTH} tanh, block+nn rings of {SITES} sites, b={B_SIZE}, "
                           f"batch {BATCH}, n_train {N_TRAIN}, Adam lr {LR}",
        "device": str(device), "threads": torch.get_num_threads(), "same_maths_max_diff": diff,
        "plain_models": n_plain, "plain_steps": plain_steps, "rows": rows,
    })


if __name__ == "__main__":
    main()
