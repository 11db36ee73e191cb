"""Randomly wired networks (RWNN; Xie et al. 2019), the family of "distinct but similar" architectures
Shoshan et al. 2023 uses for its ES/RSS and standard-protocol experiments (§4.2.2, §4.2.3: 64 graphs from WS(2, 0.25)).

Each stage is a DAG from a Watts-Strogatz graph WS(k, p) on ``nodes`` nodes, oriented from lower to
higher node index. A node sums its inputs with learnt sigmoid weights and applies ReLU, a separable
3x3 convolution and batch norm; nodes without predecessors read the stage input (with the stage's
stride), and the stage output is the mean of the nodes without successors. Three stages at widths w,
2w, 4w suit 8-32 px inputs. The graphs depend only on ``graph_seed``, so an architecture is
reproducible from its seed and independent of the training seed.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from synthval.classifiers.registry import register_classifier


def watts_strogatz(nodes: int, k: int, p: float, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Edges (i < j) of a Watts-Strogatz graph: a ring lattice where every node links to its ``k / 2``
    neighbours on each side, then each lattice edge (i, i + j) is rewired with probability ``p`` to
    (i, r) for a uniform r that is neither i nor already linked to i (Watts & Strogatz 1998)."""
    if k % 2 or not 2 <= k < nodes:
        raise ValueError(f"WS needs an even k with 2 <= k < nodes, got k={k}, nodes={nodes}")
    adjacent: list[set[int]] = [set() for _ in range(nodes)]
    for i in range(nodes):
        for j in range(1, k // 2 + 1):
            adjacent[i].add((i + j) % nodes)
            adjacent[(i + j) % nodes].add(i)
    for j in range(1, k // 2 + 1):
        for i in range(nodes):
            target = (i + j) % nodes
            if rng.random() < p and target in adjacent[i]:
                choices = [r for r in range(nodes) if r != i and r not in adjacent[i]]
                if choices:
                    new = int(rng.choice(choices))
                    adjacent[i].discard(target)
                    adjacent[target].discard(i)
                    adjacent[i].add(new)
                    adjacent[new].add(i)
    return sorted({(min(a, b), max(a, b)) for a in range(nodes) for b in adjacent[a]})


class _Node(nn.Module):
    def __init__(self, fan_in: int, cin: int, cout: int, stride: int):
        super().__init__()
        self.mix = nn.Parameter(torch.zeros(fan_in)) if fan_in > 1 else None
        self.op = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),
            nn.Conv2d(cin, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        if self.mix is None:
            return self.op(inputs[0])
        w = torch.sigmoid(self.mix)
        return self.op(sum(w[i] * x for i, x in enumerate(inputs)))


class _RandomStage(nn.Module):
    def __init__(self, edges: list[tuple[int, int]], nodes: int, cin: int, cout: int, stride: int):
        super().__init__()
        self.preds = [[a for a, b in edges if b == n] for n in range(nodes)]
        self.outputs = [n for n in range(nodes) if not any(a == n for a, _ in edges)]
        self.nodes = nn.ModuleList(
            _Node(len(p), cout, cout, 1) if p else _Node(1, cin, cout, stride) for p in self.preds
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: list[torch.Tensor] = []
        for node, preds in zip(self.nodes, self.preds, strict=True):
            out.append(node([out[p] for p in preds] if preds else [x]))
        return torch.stack([out[n] for n in self.outputs]).mean(0)


class RandWire(nn.Module):
    def __init__(
        self,
        num_classes: int,
        in_chans: int,
        graph_seed: int,
        nodes: int = 8,
        k: int = 2,
        p: float = 0.25,
        width: int = 16,
    ):
        super().__init__()
        rng = np.random.default_rng(graph_seed)
        self.graphs = [watts_strogatz(nodes, k, p, rng) for _ in range(3)]
        self.stem = nn.Sequential(nn.Conv2d(in_chans, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width))
        widths = (width, 2 * width, 4 * width)
        cins = (width, width, 2 * width)
        self.stages = nn.Sequential(
            *(
                _RandomStage(g, nodes, ci, co, 1 if s == 0 else 2)
                for s, (g, ci, co) in enumerate(zip(self.graphs, cins, widths, strict=True))
            )
        )
        self.head = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(4 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.head(self.stages(self.stem(x))))


@register_classifier("rwnn")
def rwnn(
    num_classes: int,
    in_chans: int,
    image_size: int,
    graph_seed: int = 0,
    nodes: int = 8,
    k: int = 2,
    p: float = 0.25,
    width: int = 16,
) -> nn.Module:
    return RandWire(num_classes, in_chans, graph_seed, nodes, k, p, width)
