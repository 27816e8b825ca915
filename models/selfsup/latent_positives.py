"""HaLP's latent positives (Shah et al., "HaLP: Hallucinating Latent Positives for
Skeleton-based Self-Supervised Learning of Actions", CVPR 2023; official code
anshulbshah/HaLP, ``moco/generator.py`` and ``moco/builder_single_modality_halp.py``):
prototypes of the key queue (spherical k-means) and positives hallucinated from an anchor
towards another prototype along the great circle. All points are L2-normalised vectors.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def slerp(start: torch.Tensor, end: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Point at fraction ``t`` of the geodesic from ``start`` to ``end`` (unit vectors
    ``[N, D]``, ``t [N]``): ``sin((1 - t) w) / sin w * start + sin(t w) / sin w * end`` with
    ``w = arccos(start . end)``; ``start`` where ``w`` is 0."""
    cos = (start * end).sum(-1).clamp(-1.0, 1.0)
    omega = torch.acos(cos)
    sin = torch.sin(omega)
    small = sin < 1e-6
    safe = torch.where(small, torch.ones_like(sin), sin)
    a = torch.where(small, 1.0 - t, torch.sin((1.0 - t) * omega) / safe)
    b = torch.where(small, t, torch.sin(t * omega) / safe)
    return a.unsqueeze(-1) * start + b.unsqueeze(-1) * end


def max_positive_step(anchor: torch.Tensor, own: torch.Tensor, target: torch.Tensor
                      ) -> torch.Tensor:
    """HaLP's closed-form ``lambda_max`` (paper Sec. 3.3; ``max_t`` in the official
    ``generate_positives_using_mixup``): the largest fraction of the geodesic from ``anchor``
    towards the prototype ``target`` at which the point is still at least as close to the
    anchor's own (nearest) prototype ``own`` as to ``target`` (``z . own >= z . target``),
    so it stays a positive of the anchor's cluster.

    With ``w = arccos(anchor . target)``, ``a = anchor . (own - target)`` and
    ``c = 1 - own . target`` the boundary is at angle ``atan2(a sin w, c + a cos w)`` from the
    anchor, i.e. ``lambda_max = atan(sin w / (K + cos w)) / w`` with ``K = c / a`` as the
    official code writes it. ``atan2`` keeps the root in ``[0, w]`` also when
    ``K + cos w < 0`` (there the official ``atan`` gives a negative step).
    """
    cos = (anchor * target).sum(-1).clamp(-1.0, 1.0)
    omega = torch.acos(cos)
    a = (anchor * (own - target)).sum(-1).clamp_min(0.0)  # >= 0 as `own` is the nearest
    c = 1.0 - (own * target).sum(-1)
    angle = torch.atan2(a * torch.sin(omega), c + a * cos)
    return torch.where(omega > 1e-6, angle / omega.clamp_min(1e-6), torch.zeros_like(omega))


def hallucinate_positives(anchor: torch.Tensor, prototypes: torch.Tensor, num_positives: int,
                          step_range: tuple[float, float] = (0.2, 1.0),
                          skip_closest: int = 1, num_targets: int = 20,
                          generator: torch.Generator | None = None
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """HaLP's positive generation for unit ``anchor [N, D]`` (the keys) and unit
    ``prototypes [P, D]``: for each anchor, ``num_positives`` times, pick a target prototype
    uniformly among its ``num_targets`` most similar after skipping the ``skip_closest``
    nearest (the nearest is its own), draw ``lambda = u * lambda_max`` with ``u`` uniform in
    ``step_range`` (official ``lambda_pos = 0.8``: ``u`` in ``[0.2, 1]``) and move the anchor
    that far along the great circle towards the target (:func:`slerp`).

    Returns ``positives [N, num_positives, D]`` (unit), ``keep [N, num_positives]`` — the
    official ``good_positives_mask``: the positive's nearest prototype is still the anchor's
    (``lambda_max`` guards only against the chosen target; another prototype can come closer)
    —, the steps ``lambda [N, num_positives]`` and the target prototypes' indices.
    """
    n, d = anchor.shape
    p = len(prototypes)
    if p < skip_closest + 1:
        raise ValueError(f"HaLP needs more than skip_closest={skip_closest} prototypes, got {p}")
    sim = anchor @ prototypes.T
    order = sim.argsort(dim=1, descending=True)
    own = prototypes[order[:, 0]]
    candidates = order[:, skip_closest:skip_closest + num_targets]
    pick = torch.randint(candidates.shape[1], (n, num_positives), generator=generator,
                         device=anchor.device)
    target_idx = candidates.gather(1, pick)
    target = prototypes[target_idx]                                   # [N, G, D]
    start = anchor[:, None].expand(n, num_positives, d)
    own_g = own[:, None].expand(n, num_positives, d)
    lam_max = max_positive_step(start, own_g, target)
    lo, hi = step_range
    u = torch.rand(n, num_positives, generator=generator, device=anchor.device)
    lam = (lo + (hi - lo) * u) * lam_max
    positives = F.normalize(slerp(start, target, lam), dim=-1)
    keep = (positives @ prototypes.T).argmax(-1) == order[:, :1]
    return positives, keep, lam, target_idx


def spherical_kmeans(points: torch.Tensor, k: int, iters: int = 30, tol: float = 1e-3,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """``k`` unit centroids of unit ``points [N, D]`` (HaLP's prototypes; the official code
    runs geomstats' ``RiemannianKMeans`` with k-means++ initialisation). k-means++ seeding on
    the angular distance, then assignment by cosine similarity and the normalised mean of each
    cluster (spherical k-means; an empty cluster keeps its centroid) until no centroid moves
    by more than ``tol`` in cosine distance."""
    n = len(points)
    if n < k:
        raise ValueError(f"k-means of {n} queue entries into {k} prototypes: need >= {k}")
    first = torch.randint(n, (1,), generator=generator, device=points.device)
    centroids = [points[first[0]]]
    dist = torch.full((n,), float("inf"), device=points.device)
    for _ in range(1, k):
        ang = torch.acos((points @ centroids[-1]).clamp(-1.0, 1.0))
        dist = torch.minimum(dist, ang ** 2)
        weights = dist if dist.sum() > 0 else torch.ones_like(dist)
        idx = torch.multinomial(weights, 1, generator=generator)
        centroids.append(points[idx[0]])
    c = torch.stack(centroids)
    for _ in range(iters):
        assign = (points @ c.T).argmax(1)
        sums = torch.zeros_like(c).index_add_(0, assign, points)
        counts = torch.bincount(assign, minlength=k)
        new = torch.where((counts > 0)[:, None], F.normalize(sums, dim=1), c)
        shift = (1.0 - (new * c).sum(1)).max()
        c = new
        if shift < tol:
            break
    return c
