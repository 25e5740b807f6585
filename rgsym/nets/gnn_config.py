r"""The architecture of one lattice GNN of Chapter 4 (eqs. G1-G2): its weight symmetries, depth, width,
activation and edges, validated, with its free-parameter count. The ensemble that runs these
configurations is :class:`rgsym.nets.gnn.EnsembleGNN`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..validation import as_int, check_choice
from .activations import Activation, get_activation
from .graphs import EDGE_VARIANTS, n_edge_types

GNN_SYMMETRIES = ("shared", "broken", "shared+odd", "broken+odd")
"""Weight-symmetry variants of the GNNs, from the standard equivariant GNN to broken and odd ones."""

MAX_GNN_DEPTH = 4


@dataclass(frozen=True)
class GNNConfig:
    r"""Architecture of one lattice GNN (eqs. G1-G2).

    ``width`` :math:`H\in[1, 1024]`, ``depth`` :math:`D\in[1, 4]` message-passing layers, ``edges``
    one of :data:`~rgsym.nets.graphs.EDGE_VARIANTS`, ``symmetry`` one of :data:`GNN_SYMMETRIES`;
    ``alpha`` is used by the quadratic activation only.
    """

    b: int = 2
    width: int = 8
    depth: int = 1
    activation: str = "tanh"
    symmetry: str = "shared"
    edges: str = "block"
    alpha: float | None = None

    def __post_init__(self):
        as_int("block size b", self.b, 2, 64)
        as_int("width", self.width, 1, 1024)
        as_int("depth", self.depth, 1, MAX_GNN_DEPTH)
        check_choice("GNN symmetry", self.symmetry, GNN_SYMMETRIES)
        check_choice("edge variant", self.edges, EDGE_VARIANTS)
        object.__setattr__(self, "alpha", get_activation(self.activation, self.alpha).alpha)

    @property
    def act(self) -> Activation:
        return get_activation(self.activation, self.alpha if self.activation == "quadratic" else None)

    @property
    def weights(self) -> str:
        """``'shared'`` or ``'broken'``."""
        return self.symmetry.split("+")[0]

    @property
    def odd(self) -> bool:
        return self.symmetry.endswith("+odd")

    @property
    def antisymmetrised(self) -> bool:
        """True when the member is odd by antisymmetrisation :math:`f(s)=[g(s)-g(-s)]/2`."""
        return self.odd and not self.act.is_odd

    @property
    def n_edge_types(self) -> int:
        return n_edge_types(self.b, self.edges)

    @property
    def dims(self) -> list[int]:
        return [1] + [self.width] * self.depth

    @property
    def n_params(self) -> int:
        """Number of independent parameters under the symmetry constraints."""
        P = 1 if self.weights == "shared" else self.b
        T = 1 if self.weights == "shared" else self.n_edge_types
        d = self.dims
        n = sum((P + T) * d[k + 1] * d[k] for k in range(self.depth)) + P * self.width
        if not self.odd:
            n += sum(P * d[k + 1] for k in range(self.depth)) + 1
        return n

    @property
    def size_label(self) -> str:
        return f"{self.depth}x{self.width}"

    @property
    def label(self) -> str:
        return f"GNN {self.symmetry} {self.edges} {self.act.label} {self.size_label}"

    def key(self) -> dict:
        """The configuration as plain data (for hashing and tables)."""
        return {"model": "gnn", "b": self.b, "width": self.width, "depth": self.depth,
                "activation": self.activation, "alpha": self.alpha, "symmetry": self.symmetry,
                "edges": self.edges}

    def replace(self, **changes) -> "GNNConfig":
        return replace(self, **changes)
