"""Skeleton layouts and the adjacency matrices that graph networks use.

A :class:`Graph` knows one joint layout (its joints, its bones as ``(child, parent)`` pairs
pointing towards the centre joint) and builds the adjacency partitions of

* ST-GCN (Yan et al., AAAI 2018, "spatial" strategy): root / centripetal / centrifugal
  subsets, column-normalised, exactly as in the official ``net/utils/graph.py``;
* CTR-GCN (Chen et al., ICCV 2021) and PYSKL ("spatial" mode): identity, inward and outward
  adjacency, each normalised by in-degree.

The joint layouts themselves live in the core module :mod:`zoo.layouts` (re-exported here);
``layout`` may be a name or an inline ``dict(num_node=..., inward=[...], center=...)``.
"""
from __future__ import annotations

import numpy as np

from zoo.layouts import LAYOUTS, Layout, LayoutSpec, get_layout

__all__ = ["LAYOUTS", "Layout", "Graph", "get_layout", "hop_distance", "normalize_digraph"]


def hop_distance(num_nodes: int, edges, max_hop: int = 1) -> np.ndarray:
    """Shortest-path hop count between joints, ``inf`` beyond ``max_hop``."""
    adj = np.zeros((num_nodes, num_nodes))
    for i, j in edges:
        adj[i, j] = adj[j, i] = 1
    dist = np.full((num_nodes, num_nodes), np.inf)
    powers = [np.linalg.matrix_power(adj + np.eye(num_nodes), d) for d in range(max_hop + 1)]
    reach = np.stack(powers) > 0
    for d in range(max_hop, -1, -1):
        dist[reach[d]] = d
    return dist


def normalize_digraph(adj: np.ndarray) -> np.ndarray:
    """``A D^-1``: divide each column by its sum (ST-GCN's and CTR-GCN's normalisation)."""
    col = adj.sum(0)
    inv = np.zeros_like(col)
    nz = col > 0
    inv[nz] = 1.0 / col[nz]
    return adj @ np.diag(inv)


class Graph:
    """Adjacency partitions of a skeleton layout.

    Args:
        layout: a name in :data:`LAYOUTS` or an inline
            ``dict(num_node=..., inward=[(child, parent), ...], center=...)``.
        mode: ``'stgcn_spatial'`` (ST-GCN spatial partition, 3 subsets) or ``'spatial'``
            (identity / inward / outward, as in CTR-GCN and PYSKL).
        max_hop: neighbourhood radius for ``'stgcn_spatial'``.
    """

    def __init__(self, layout: LayoutSpec = "ntu25", mode: str = "stgcn_spatial", max_hop: int = 1):
        self.layout = get_layout(layout)
        self.mode = mode
        self.num_nodes = self.layout.num_joints
        self.inward = list(self.layout.bones)
        self.outward = [(j, i) for i, j in self.inward]
        self.self_links = [(i, i) for i in range(self.num_nodes)]
        if mode == "stgcn_spatial":
            self.A = self._stgcn_spatial(max_hop)
        elif mode == "spatial":
            self.A = self._inward_outward()
        else:
            raise ValueError(f"unknown graph mode {mode!r}; use 'stgcn_spatial' or 'spatial'")

    def _edge_matrix(self, edges) -> np.ndarray:
        adj = np.zeros((self.num_nodes, self.num_nodes))
        for i, j in edges:
            adj[j, i] = 1
        return adj

    def _inward_outward(self) -> np.ndarray:
        eye = self._edge_matrix(self.self_links)
        inward = normalize_digraph(self._edge_matrix(self.inward))
        outward = normalize_digraph(self._edge_matrix(self.outward))
        return np.stack((eye, inward, outward)).astype(np.float32)

    def _stgcn_spatial(self, max_hop: int) -> np.ndarray:
        n, center = self.num_nodes, self.layout.center
        hop = hop_distance(n, self.self_links + self.inward, max_hop)
        adjacency = np.zeros((n, n))
        adjacency[hop <= max_hop] = 1
        norm = normalize_digraph(adjacency)
        partitions = []
        for h in range(max_hop + 1):
            root, close, further = (np.zeros((n, n)) for _ in range(3))
            for i in range(n):
                for j in range(n):
                    if hop[j, i] != h:
                        continue
                    if hop[j, center] == hop[i, center]:
                        root[j, i] = norm[j, i]
                    elif hop[j, center] > hop[i, center]:
                        close[j, i] = norm[j, i]
                    else:
                        further[j, i] = norm[j, i]
            if h == 0:
                partitions.append(root)
            else:
                partitions += [root + close, further]
        return np.stack(partitions).astype(np.float32)
