r"""Every symmetry measure of an ensemble at once, and the logging callback of Chapter 6.

:func:`symmetry_measures` gathers the parameter-space measures (6.1)-(6.4), (6.8) of
:mod:`.parameters` (for an MLP, from ``model.layers()``; for a GNN, (6.9) from ``model.effective()``)
and the function-space measures (6.5)-(6.7) of :mod:`.functions` (from ``model(x)``), one value per
member, with :func:`model_facts` reading each member's activation and odd construction.

:class:`SymmetryLogger` is the callback ``fn(model, step) -> dict`` handed to the training engine
:func:`rgsym.learn.training.train_ensemble`, which calls it at the steps of its logarithmic schedule
(:func:`rgsym.learn.training.log_schedule`: step 0 and 40 points evenly spaced in :math:`\log t`, by
default). It draws its evaluation blocks from its own generator, runs under ``torch.no_grad`` and
never touches the global random state, so logging leaves the training trajectory unchanged. Besides
the symmetry measures it logs the errors :data:`ERROR_MEASURES` against the exact map
:math:`T_b(s) = b^{-1/2}\sum_i s_i`.
"""
from __future__ import annotations

from typing import Sequence

import torch

from ..clt.laws import LAWS, get_law, unseen_laws
from ..validation import as_float, as_int, check_choice
from .functions import _call, _function_measures
from .gnn_parameters import gnn_shared_distance, gnn_theta_norm
from .parameters import REL_TOL, check_layers, parameter_distances, relative

__all__ = ["ERROR_MEASURES", "model_facts", "symmetry_measures", "SymmetryLogger"]

ERROR_MEASURES = ("test_mse", "ood_mse")
"""The errors logged with the measures: in distribution (the task law) and on the unseen laws."""


def model_facts(model):
    """``(layers, E, activations, antisymmetrised)`` of an ensemble model, per member.

    ``layers`` is ``model.layers()`` or None for models without it (a GNN, say); the activations
    come from ``model.member_activations``, the members' ``model.configs`` or ``model.activation``, and
    the odd construction likewise from ``member_antisymmetrised``, ``configs`` or ``antisymmetrised``.
    """
    layers = model.layers() if hasattr(model, "layers") else None
    if layers is not None:
        E = check_layers(layers)
    else:
        E = getattr(model, "n_members", None) or getattr(model, "E", None)
        if E is None:
            raise ValueError("the model has neither .layers() nor an ensemble size (.n_members)")
    configs = getattr(model, "configs", None)
    acts = getattr(model, "member_activations", None)
    anti = getattr(model, "member_antisymmetrised", None)
    if acts is None and configs is not None and all(hasattr(c, "act") for c in configs):
        acts = [c.act for c in configs]
    if anti is None and configs is not None and all(hasattr(c, "antisymmetrised") for c in configs):
        anti = [c.antisymmetrised for c in configs]
    if acts is None:
        act = getattr(model, "activation", None)
        acts = None if act is None else [act] * E
    if anti is None:
        anti = [bool(getattr(model, "antisymmetrised", False))] * E
    return layers, int(E), (None if acts is None else list(acts)), [bool(a) for a in anti]


def symmetry_measures(model, s: torch.Tensor, tol: float = 0.05, *, exact_map: bool = False,
                      rel_tol: float = REL_TOL) -> dict:
    r"""Every measure (6.1)-(6.8) for an ensemble ``model`` on evaluation blocks ``s`` ``(B, b)``.

    ``model(x)`` maps blocks ``(E, B, b)`` to ``(E, B)`` (or ``(E, B, 1)``: a lattice model such as a
    GNN applied to one block). Parameter-space measures need ``model.layers()`` (the effective
    ``(W, c)`` list of an MLP); a GNN (with ``model.effective()``) gets ``d_shared`` (6.9), its
    ``theta_norm`` and the scale-free ``r_shared`` = :math:`\Delta_{\rm shared}/\lVert\theta\rVert` instead.
    With ``exact_map=True`` the error ``test_mse`` against :math:`b^{-1/2}\sum_i s_i` on the same
    blocks is added. Returns a dict of ``(E,)`` tensors (NaN where a measure is undefined).
    """
    with torch.no_grad():
        layers, E, acts, anti = model_facts(model)
        out, y = _function_measures(model, s, E)
        if exact_map:
            out["test_mse"] = (y - s.sum(dim=1) * s.shape[1] ** -0.5).square().mean(dim=1)
        if layers is not None:
            out.update(parameter_distances(layers, acts, anti, tol, rel_tol))
        elif hasattr(model, "effective"):
            eff = model.effective()
            out["d_shared"] = gnn_shared_distance(eff)
            out["theta_norm"] = gnn_theta_norm(eff)
            out["r_shared"] = relative(out["d_shared"], out["theta_norm"])
    return out


class SymmetryLogger:
    r"""The logging callback for the training engine: ``logger(model, step) -> dict``.

    At each logged step it returns the symmetry measures (6.1)-(6.8) of every member, plus the
    in-distribution test error ``test_mse`` (on ``n_eval`` blocks of the task law) and the
    out-of-distribution error ``ood_mse`` (``n_eval`` blocks pooled evenly over ``ood_laws``, by
    default every law not trained on), both against the exact map :math:`b^{-1/2}\sum_i s_i`. The
    evaluation blocks are drawn once, from a private generator seeded with ``seed``, so the numbers
    are comparable across steps and logging never consumes the training random stream.

    Values are returned as float64 numpy arrays of shape ``(E,)`` (one per member).
    """

    def __init__(self, b: int = 2, task: str = "gaussian", n_eval: int = 1024, seed: int = 20251016,
                 tol: float = 0.05, ood_laws: Sequence[str] | None = None):
        b = as_int("block size b", b, lo=2)
        check_choice("task law", task, LAWS)
        n_eval = as_int("n_eval", n_eval, lo=8)
        as_float("tol", tol, lo=0.0, finite=False)
        ood = tuple(unseen_laws(task) if ood_laws is None else ood_laws)
        for law in ood:
            check_choice("out-of-distribution law", law, LAWS)
        self.b, self.task, self.n_eval, self.seed, self.tol, self.ood_laws = b, task, n_eval, int(seed), tol, ood
        gen = torch.Generator().manual_seed(self.seed)
        self._s = get_law(task).sample((self.n_eval, self.b), gen, dtype=torch.float64)
        if ood:
            per = -(-self.n_eval // len(ood))
            self._s_ood = torch.cat([get_law(l).sample((per, self.b), gen, dtype=torch.float64) for l in ood])
        else:
            self._s_ood = None
        self._cache = {}

    def blocks(self, dtype=torch.float64, device="cpu", ood: bool = False) -> torch.Tensor:
        """The evaluation blocks ``(n_eval, b)`` in the model's dtype and device (cached)."""
        key = (dtype, str(device), ood)
        if key not in self._cache:
            src = self._s_ood if ood else self._s
            self._cache[key] = src.to(dtype=dtype, device=device)
        return self._cache[key]

    def __call__(self, model, step: int) -> dict:
        ref = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
        dtype = ref.dtype if ref is not None else torch.float64
        device = ref.device if ref is not None else "cpu"
        with torch.no_grad():
            out = symmetry_measures(model, self.blocks(dtype, device), self.tol, exact_map=True)
            if self._s_ood is not None:
                so = self.blocks(dtype, device, ood=True)
                E = out["even"].shape[0]
                yo = _call(model, so.unsqueeze(0).expand(E, *so.shape))
                out["ood_mse"] = (yo - self.b ** -0.5 * so.sum(dim=1)).square().mean(dim=1)
        return {k: v.detach().to("cpu", torch.float64).numpy() for k, v in out.items()}
