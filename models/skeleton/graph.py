"""Skeleton layouts and the adjacency matrices that graph networks use.

A :class:`Graph` knows one joint layout (its joints, its bones as ``(child, parent)`` pairs
pointing towards the centre joint) and builds the adjacency partitions of

* ST-GCN (Yan et al., AAAI 2018, "spatial" strategy): root / centripetal / centrifugal
  subsets, column-normalised, exactly as in the official ``net/utils/graph.py``;
* CTR-GCN (Chen et al., ICCV 2021) and PYSKL ("spatial" mode): identity, inward and outward
  adjacency, each normalised by in-degree.

Layouts (0-based joint indices):

* ``ntu25`` — Kinect v2 / NTU RGB+D 60/120 order.
* ``kinect20`` — Kinect v1 SDK order as in NW-UCLA (0 hip centre, 1 spine, 2 shoulder centre,
  3 head, 4-7 left arm, 8-11 right arm, 12-15 left leg, 16-19 right leg). The MSR Action3D
  reader reorders its files into this layout (see ``zoo.datasets.skeleton.msr_action3d``).
* ``coco17`` — COCO keypoints (nose, eyes, ears, shoulders, elbows, wrists, hips, knees,
  ankles).
* ``openpose18`` — OpenPose COCO-18 (with the neck joint).
* ``ntu25_pyskl`` — the NTU-25 joints with PYSKL's / MMAction2's hand edges (model graphs of
  their ST-GCN checkpoints; data transforms keep using ``ntu25``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Layout:
    """A joint layout: names, bones ``(child, parent)`` 0-based, and the centre joint."""

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    center: int

    @property
    def num_joints(self) -> int:
        return len(self.joints)


def _one_based(pairs):
    return tuple((a - 1, b - 1) for a, b in pairs)


LAYOUTS: dict[str, Layout] = {
    "ntu25": Layout(
        "ntu25",
        (
            "spine_base", "spine_mid", "neck", "head", "left_shoulder", "left_elbow",
            "left_wrist", "left_hand", "right_shoulder", "right_elbow", "right_wrist",
            "right_hand", "left_hip", "left_knee", "left_ankle", "left_foot", "right_hip",
            "right_knee", "right_ankle", "right_foot", "spine_shoulder", "left_hand_tip",
            "left_thumb", "right_hand_tip", "right_thumb",
        ),
        _one_based([
            (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21),
            (10, 9), (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1),
            (18, 17), (19, 18), (20, 19), (22, 23), (23, 8), (24, 25), (25, 12),
        ]),
        center=20,
    ),
    "kinect20": Layout(
        "kinect20",
        (
            "hip_center", "spine", "shoulder_center", "head", "left_shoulder", "left_elbow",
            "left_wrist", "left_hand", "right_shoulder", "right_elbow", "right_wrist",
            "right_hand", "left_hip", "left_knee", "left_ankle", "left_foot", "right_hip",
            "right_knee", "right_ankle", "right_foot",
        ),
        _one_based([
            (1, 2), (2, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3), (10, 9),
            (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17),
            (19, 18), (20, 19),
        ]),
        center=2,
    ),
    "coco17": Layout(
        "coco17",
        (
            "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
            "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
            "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
        ),
        ((15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7), (7, 5),
         (10, 8), (8, 6), (5, 0), (6, 0), (1, 0), (3, 1), (2, 0), (4, 2)),
        center=0,
    ),
    "openpose18": Layout(
        "openpose18",
        (
            "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
            "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
            "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
        ),
        ((4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8), (11, 5),
         (8, 2), (5, 1), (2, 1), (0, 1), (15, 0), (14, 0), (17, 15), (16, 14)),
        center=1,
    ),
}

# PYSKL / MMAction2 1.x ``Graph(layout='nturgb+d')``: the NTU-25 joints, but both hand joints
# (tip and thumb) are linked to the hand joint, ``(22, 8), (23, 8), (24, 12), (25, 12)``
# (1-based), where the official ST-GCN / CTR-GCN graphs chain tip -> thumb -> hand. Their
# ST-GCN checkpoints store the adjacency built from these edges.
LAYOUTS["ntu25_pyskl"] = Layout(
    "ntu25_pyskl", LAYOUTS["ntu25"].joints,
    LAYOUTS["ntu25"].bones[:20] + _one_based([(22, 8), (23, 8), (24, 12), (25, 12)]),
    center=20,
)


def get_layout(name: str) -> Layout:
    """Return the layout called ``name`` (a clear error lists the known ones)."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise KeyError(f"unknown skeleton layout {name!r}; known: {sorted(LAYOUTS)}") from None


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
        layout: a name in :data:`LAYOUTS`.
        mode: ``'stgcn_spatial'`` (ST-GCN spatial partition, 3 subsets) or ``'spatial'``
            (identity / inward / outward, as in CTR-GCN and PYSKL).
        max_hop: neighbourhood radius for ``'stgcn_spatial'``.
    """

    def __init__(self, layout: str = "ntu25", mode: str = "stgcn_spatial", max_hop: int = 1):
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
