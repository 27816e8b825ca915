"""Feasible sets of skeleton attacks: l-inf budget, fixed bone lengths, bounded acceleration.

All functions take joint coordinates ``[..., T, V, C]`` (any leading dims, e.g. the
``[N, clips, M, T, V, C]`` input of :class:`~zoo.models.classifiers.SkeletonRecognizer`).

Bone lengths are restored root-outwards (the layout's centre joint first, then each bone
``(child, parent)`` of :mod:`zoo.models.skeleton.graph` once its parent is placed): the child
goes to the parent's new position plus the original length along a direction between the
original bone and the adversarial one. With the blend weight ``s = 1`` this is the projection
of the adversarial child onto the sphere around its new parent; ``s = 0`` gives the original
frame back, so a feasible ``s`` always exists and the largest one on a grid is kept
(per frame for the l-inf budget, per sequence when the acceleration bound is on too).
"""
from __future__ import annotations

from functools import lru_cache

import torch

from zoo.layouts import get_layout

# Blend weights tried by the bone-length projection, largest first; 0 always fits.
BLEND_GRID = (1.0, 0.75, 0.5, 0.35, 0.25, 0.15, 0.1, 0.05, 0.02, 0.0)


@lru_cache(maxsize=None)
def bone_order(layout: str) -> tuple[int, tuple[tuple[int, int], ...]]:
    """The layout's centre joint and its bones ``(child, parent)`` sorted root-outwards."""
    spec = get_layout(layout)
    children: dict[int, list[int]] = {}
    for child, parent in spec.bones:
        children.setdefault(parent, []).append(child)
    order, frontier, seen = [], [spec.center], {spec.center}
    while frontier:
        parent = frontier.pop(0)
        for child in children.get(parent, []):
            if child in seen:
                raise ValueError(f"layout {layout!r}: joint {child} has two parents")
            seen.add(child)
            order.append((child, parent))
            frontier.append(child)
    if len(seen) != spec.num_joints:
        missing = sorted(set(range(spec.num_joints)) - seen)
        raise ValueError(f"layout {layout!r}: joints {missing} are not connected to the centre")
    return spec.center, tuple(order)


def bone_lengths(x: torch.Tensor, layout: str) -> torch.Tensor:
    """Lengths ``[..., T, B]`` of the layout's bones (in :func:`bone_order`)."""
    _, order = bone_order(layout)
    child = torch.tensor([c for c, _ in order], device=x.device)
    parent = torch.tensor([p for _, p in order], device=x.device)
    return (x[..., child, :] - x[..., parent, :]).norm(dim=-1)


def acceleration(x: torch.Tensor) -> torch.Tensor:
    """Second temporal difference ``x[t+1] - 2 x[t] + x[t-1]``, shape ``[..., T-2, V, C]``."""
    if x.shape[-3] < 3:
        return x.new_zeros(*x.shape[:-3], 0, *x.shape[-2:])
    return x[..., 2:, :, :] - 2 * x[..., 1:-1, :, :] + x[..., :-2, :, :]


def acceleration_deviation(x_adv: torch.Tensor, x_ref: torch.Tensor) -> torch.Tensor:
    """Per-joint Euclidean norm of the change of acceleration, ``[..., T-2, V]``."""
    return acceleration(x_adv - x_ref).norm(dim=-1)


def valid_frames(x: torch.Tensor) -> torch.Tensor:
    """``[..., T]`` mask of frames that are not all-zero padding."""
    return x.abs().flatten(-2).sum(-1) > 0


def project_linf(x_adv: torch.Tensor, x_ref: torch.Tensor, eps: float) -> torch.Tensor:
    """Clip ``x_adv`` into the l-inf ball of radius ``eps`` around ``x_ref``; padding frames
    (all-zero in ``x_ref``) are left untouched."""
    out = x_ref + (x_adv - x_ref).clamp(-eps, eps)
    keep = valid_frames(x_ref)[..., None, None]
    return torch.where(keep, out, x_ref)


def _rebuild(x_adv: torch.Tensor, x_ref: torch.Tensor, s: torch.Tensor, layout: str
             ) -> torch.Tensor:
    """Skeletons with the original bone lengths, blending adversarial and original bone
    directions with weight ``s`` (broadcastable to ``[..., T]``)."""
    center, order = bone_order(layout)
    s = s[..., None]  # [..., T, 1]
    out = [None] * x_ref.shape[-2]
    out[center] = x_ref[..., center, :] + s * (x_adv[..., center, :] - x_ref[..., center, :])
    for child, parent in order:
        ref_bone = x_ref[..., child, :] - x_ref[..., parent, :]
        length = ref_bone.norm(dim=-1, keepdim=True)
        ref_dir = ref_bone / length.clamp_min(1e-12)
        adv_vec = x_adv[..., child, :] - out[parent]
        adv_dir = adv_vec / adv_vec.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        mix = (1 - s) * ref_dir + s * adv_dir
        norm = mix.norm(dim=-1, keepdim=True)
        direction = torch.where(norm > 1e-6, mix / norm.clamp_min(1e-12), ref_dir)
        out[child] = out[parent] + length * direction
    return torch.stack(out, dim=-2)


def _largest_feasible(candidates: torch.Tensor, feasible: torch.Tensor) -> torch.Tensor:
    """Pick, along dim 0 (ordered largest blend first), the first feasible candidate.

    ``feasible`` has the shape of ``candidates`` without the trailing ``V, C`` dims; the last
    candidate (blend 0) must be feasible everywhere."""
    feasible = feasible.clone()
    feasible[-1] = True
    first = feasible.float().argmax(0)  # first True
    index = first[None, ..., None, None].expand(1, *candidates.shape[1:])
    return candidates.gather(0, index)[0]


def project_bones(x_adv: torch.Tensor, x_ref: torch.Tensor, layout: str,
                  eps: float | None = None) -> torch.Tensor:
    """Restore the bone lengths of ``x_ref`` in ``x_adv`` (root-outwards, see module doc).

    With ``eps`` the largest blend weight of :data:`BLEND_GRID` keeping each frame inside the
    l-inf ball of ``x_ref`` is used, so both constraints hold at once.
    """
    keep = valid_frames(x_ref)
    x_adv = torch.where(keep[..., None, None], x_adv, x_ref)
    if eps is None:
        return _rebuild(x_adv, x_ref, torch.ones_like(keep, dtype=x_ref.dtype), layout)
    grid = torch.tensor(BLEND_GRID, dtype=x_ref.dtype, device=x_ref.device)
    s = grid.view(-1, *([1] * keep.dim())).expand(-1, *keep.shape)
    candidates = _rebuild(x_adv.unsqueeze(0), x_ref.unsqueeze(0), s, layout)
    linf = (candidates - x_ref).abs().amax(dim=(-2, -1))
    return _largest_feasible(candidates, linf <= eps * (1 + 1e-5) + 1e-7)


@lru_cache(maxsize=None)
def _accel_pseudo_inverse(frames: int) -> torch.Tensor:
    """``D^T (D D^T)^-1`` of the second-difference operator ``D`` ``[T-2, T]`` (float64)."""
    d = torch.zeros(frames - 2, frames, dtype=torch.float64)
    for t in range(frames - 2):
        d[t, t], d[t, t + 1], d[t, t + 2] = 1.0, -2.0, 1.0
    return d.T @ torch.linalg.inv(d @ d.T)


def smooth_acceleration(delta: torch.Tensor, max_accel: float) -> torch.Tensor:
    """Smallest (l2) change of the perturbation ``delta`` ``[..., T, V, C]`` whose
    acceleration equals ``delta``'s acceleration clipped (per joint, Euclidean) to
    ``max_accel``: ``delta - D^T (D D^T)^-1 (D delta - clip(D delta))``."""
    frames = delta.shape[-3]
    if frames < 3:
        return delta
    acc = acceleration(delta)
    norm = acc.norm(dim=-1, keepdim=True)
    excess = acc - acc * (max_accel / norm.clamp_min(1e-12)).clamp(max=1.0)
    pinv = _accel_pseudo_inverse(frames).to(delta)
    return delta - torch.einsum("ts,...svc->...tvc", pinv, excess)


def project_acceleration(x_adv: torch.Tensor, x_ref: torch.Tensor, max_accel: float,
                         layout: str | None = None, eps: float | None = None) -> torch.Tensor:
    """Make sure no joint's acceleration changes by more than ``max_accel`` (Euclidean,
    coordinate units per frame^2), keeping the l-inf budget ``eps`` and, with ``layout``, the
    bone lengths of ``x_ref``.

    First the perturbation is smoothed (:func:`smooth_acceleration` alternated with the l-inf
    clip, three rounds); then the bound is guaranteed per sequence: without ``layout`` by
    scaling the perturbation with the exact largest factor <= 1, with ``layout`` by re-imposing
    the bone lengths and blending bone directions with the largest weight of
    :data:`BLEND_GRID` that satisfies all constraints (weight 0 = the clean sequence).
    """
    keep = valid_frames(x_ref)[..., None, None]
    delta = x_adv - x_ref
    for _ in range(3):
        delta = smooth_acceleration(delta, max_accel)
        if eps is not None:
            delta = delta.clamp(-eps, eps)
        delta = torch.where(keep, delta, torch.zeros_like(delta))
    if layout is None:
        dev = acceleration_deviation(x_ref + delta, x_ref)
        worst = dev.flatten(-2).amax(-1) if dev.numel() else dev.new_zeros(dev.shape[:-2])
        scale = (max_accel / worst.clamp_min(1e-12)).clamp(max=1.0)
        return x_ref + scale[..., None, None, None] * delta
    x_adv = project_bones(x_ref + delta, x_ref, layout, eps)
    grid = torch.tensor(BLEND_GRID, dtype=x_ref.dtype, device=x_ref.device)
    lead = x_ref.shape[:-3]
    frames = x_ref.shape[-3]
    s = grid.view(-1, *([1] * (len(lead) + 1))).expand(-1, *lead, frames)
    candidates = _rebuild(x_adv.unsqueeze(0), x_ref.unsqueeze(0), s, layout)
    dev = acceleration_deviation(candidates, x_ref.unsqueeze(0))
    ok = dev.flatten(-2).amax(-1) <= max_accel * (1 + 1e-5) + 1e-7 if dev.numel() \
        else torch.ones(candidates.shape[:-3], dtype=torch.bool, device=x_ref.device)
    if eps is not None:
        linf = (candidates - x_ref).abs().amax(dim=(-3, -2, -1))
        ok = ok & (linf <= eps * (1 + 1e-5) + 1e-7)
    ok = ok[..., None].expand(*ok.shape, frames)
    return _largest_feasible(candidates, ok)


class SkeletonConstraints:
    """The feasible set of an attack: l-inf ball ``eps`` around the clean input, optionally
    fixed bone lengths (``layout`` given and ``keep_bones``) and a bound ``max_accel`` on the
    change of joint acceleration. ``__call__`` projects an adversarial input onto it."""

    def __init__(self, eps: float, layout: str | None = None, keep_bones: bool = False,
                 max_accel: float | None = None):
        if eps < 0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        if keep_bones and layout is None:
            raise ValueError("keep_bones=True needs the skeleton layout (e.g. 'kinect20')")
        if max_accel is not None and max_accel < 0:
            raise ValueError(f"max_accel must be >= 0, got {max_accel}")
        if layout is not None:
            bone_order(layout)  # validates the name
        self.eps = eps
        self.layout = layout
        self.keep_bones = keep_bones
        self.max_accel = max_accel

    def __call__(self, x_adv: torch.Tensor, x_ref: torch.Tensor) -> torch.Tensor:
        x = project_linf(x_adv, x_ref, self.eps)
        if self.keep_bones:
            x = project_bones(x, x_ref, self.layout, self.eps)
        if self.max_accel is not None:
            x = project_acceleration(x, x_ref, self.max_accel,
                                     self.layout if self.keep_bones else None, self.eps)
        return x
