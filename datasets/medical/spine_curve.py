"""Spine centre lines: 3-D curves parameterised by arc length, with one fixed local frame.

Used by the curved spine phantoms (``spine_phantom``: the planted curve) and by the spine
straightening of HealthiVert-GAN's pre-processing (Zhang et al., JBHI 2025;
``spine_straighten``: the curve fitted to the vertebra centroids), so both describe a point by
the same local coordinates ``(s, a, b)``:

* ``s``: arc length along the centre line (mm, increasing inferior -> superior);
* ``a``: offset along ``e1``, the left-right axis made perpendicular to the tangent;
* ``b``: offset along ``e2 = t x e1``, which points anterior.

A point is ``c(s) + a e1(s) + b e2(s)``. Positions are millimetres along the RAS voxel axes
(axis 0 left->right, 1 posterior->anterior, 2 inferior->superior). For a vertical line the
frame is the voxel axes themselves, so straightening a straight spine changes nothing.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def curve_frames(tangents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(e1, e2)`` for unit tangents ``[N, 3]`` (see module doc)."""
    t = np.asarray(tangents, np.float64)
    e1 = np.zeros_like(t)
    e1[:, 0] = 1.0
    e1 -= (t @ np.array([1.0, 0.0, 0.0]))[:, None] * t
    norm = np.linalg.norm(e1, axis=1, keepdims=True)
    if (norm < 0.1).any():
        raise ValueError("centre line: the tangent runs nearly left-right; a spine centre line "
                         "must run roughly inferior-superior")
    e1 /= norm
    return e1, np.cross(t, e1)


class CentreLine:
    """A densely sampled curve ``[N, 3]`` (mm, inferior end first) with arc length and frames.

    Between samples, positions and frames are interpolated linearly in ``s``; keep the samples
    dense (<= 0.5 mm) for sub-voxel accuracy.
    """

    def __init__(self, points: np.ndarray):
        p = np.asarray(points, np.float64)
        if p.ndim != 2 or p.shape[1] != 3 or len(p) < 2:
            raise ValueError(f"centre line: expected points of shape [N >= 2, 3], got {p.shape}")
        steps = np.linalg.norm(np.diff(p, axis=0), axis=1)
        if (steps <= 0).any():
            raise ValueError("centre line: consecutive points coincide")
        self.points = p
        self.s = np.concatenate([[0.0], np.cumsum(steps)])
        t = np.gradient(p, self.s, axis=0)
        self.tangents = t / np.linalg.norm(t, axis=1, keepdims=True)
        if (self.tangents[:, 2] <= 0.3).any():
            raise ValueError("centre line: the curve must run inferior -> superior (tangent "
                             "within ~70 degrees of the superior axis)")
        self.e1, self.e2 = curve_frames(self.tangents)
        self._tree = cKDTree(p)

    @property
    def length(self) -> float:
        return float(self.s[-1])

    def _interp(self, values: np.ndarray, s: np.ndarray, unit: bool) -> np.ndarray:
        s = np.asarray(s, np.float64)
        out = np.stack([np.interp(s, self.s, values[:, k]) for k in range(3)], axis=-1)
        if unit:
            out /= np.linalg.norm(out, axis=-1, keepdims=True)
        return out

    def point(self, s) -> np.ndarray:
        return self._interp(self.points, s, unit=False)

    def frame(self, s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(t, e1, e2)`` at arc lengths ``s`` (each ``[..., 3]``)."""
        t = self._interp(self.tangents, s, unit=True)
        e1, e2 = curve_frames(t.reshape(-1, 3))
        return t, e1.reshape(t.shape), e2.reshape(t.shape)

    def s_at_z(self, z) -> np.ndarray:
        """Arc length where the curve crosses height ``z`` (mm along axis 2; z is monotonic)."""
        return np.interp(z, self.points[:, 2], self.s)

    def to_world(self, s, a, b) -> np.ndarray:
        """Positions ``[..., 3]`` of local coordinates (broadcast against each other)."""
        s, a, b = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (s, a, b)))
        _, e1, e2 = self.frame(s)
        return self.point(s) + a[..., None] * e1 + b[..., None] * e2

    def to_local(self, points: np.ndarray, refine: int = 2):
        """Local ``(s, a, b)`` of positions ``[..., 3]``: the foot of the perpendicular on the
        curve. ``s`` is NaN where the foot falls beyond either end of the curve."""
        p = np.asarray(points, np.float64)
        flat = p.reshape(-1, 3)
        _, idx = self._tree.query(flat)
        s = self.s[idx]
        for _ in range(refine):  # Newton-like step along the tangent
            t = self._interp(self.tangents, s, unit=True)
            s = s + np.einsum("ij,ij->i", flat - self.point(s), t)
        outside = (s < self.s[0]) | (s > self.s[-1])
        t, e1, e2 = self.frame(np.clip(s, self.s[0], self.s[-1]))
        d = flat - self.point(np.clip(s, self.s[0], self.s[-1]))
        a, b = np.einsum("ij,ij->i", d, e1), np.einsum("ij,ij->i", d, e2)
        s[outside] = np.nan
        shape = p.shape[:-1]
        return s.reshape(shape), a.reshape(shape), b.reshape(shape)
