"""HaLP: MoCo with hallucinated latent positives."""
from __future__ import annotations

import torch

from zoo.registry import MODELS

from .latent_positives import hallucinate_positives, spherical_kmeans
from .moco import SkeletonMoCo


@MODELS.register_module()
class HaLP(SkeletonMoCo):
    """HaLP pre-training (Shah, Roy, Shah, Mishra, Jacobs, Cherian & Chellappa,
    "HaLP: Hallucinating Latent Positives for Skeleton-based Self-Supervised Learning of
    Actions", CVPR 2023; official code anshulbshah/HaLP, ``moco/builder_single_modality_
    halp.py``, ``moco/generator.py``, ``pretrain_moco_single_modality.py``).

    The MoCo model of :class:`SkeletonMoCo` plus, once the queue has been filled twice
    (``2 * queue_size + 1`` keys seen, as the official warm-up), ``num_prototypes``
    prototypes: spherical k-means of the newest ``prototype_keys`` queue entries, refitted
    every ``update_every`` steps after the keys are enqueued. Each step then hallucinates
    ``num_positives`` positives per key (``latent_positives.hallucinate_positives``:
    along the great circle from the key towards another prototype, at most the closed-form
    ``lambda_max`` that keeps it in the key's own cluster) and adds ``HaLPLoss`` (weight
    ``mu``) pulling the query towards those whose nearest prototype is still the key's.

    ``hallucinate=False`` is exactly :class:`SkeletonMoCo` (the same losses, updates and
    queue). Prototypes, the step count and the keys seen are buffers, so a resumed run
    continues where it stopped.
    """

    def __init__(self, backbone: dict, feat_channels: int | None = None,
                 feature_dim: int = 128, hidden_dim: int | None = None,
                 queue_size: int = 16384, momentum: float = 0.999,
                 loss: dict | None = None, halp_loss: dict | None = None,
                 hallucinate: bool = True, num_prototypes: int = 20,
                 prototype_keys: int = 256, update_every: int = 10,
                 num_positives: int = 100, num_targets: int = 20, skip_closest: int = 1,
                 step_range: tuple[float, float] = (0.2, 1.0), warmup_keys: int | None = None,
                 data_preprocessor: dict | None = None, init_cfg: dict | None = None):
        super().__init__(backbone, feat_channels=feat_channels, feature_dim=feature_dim,
                         hidden_dim=hidden_dim, queue_size=queue_size, momentum=momentum,
                         loss=loss, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if min(prototype_keys, queue_size) < num_prototypes:
            raise ValueError(f"HaLP: prototype_keys={prototype_keys} (capped by queue_size="
                             f"{queue_size}) must be >= num_prototypes={num_prototypes}")
        lo, hi = step_range
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f"HaLP: step_range {step_range} must satisfy 0 <= lo <= hi <= 1 "
                             f"(fractions of lambda_max)")
        self.halp_loss = MODELS.build(halp_loss or dict(type="HaLPLoss", temperature=0.07,
                                                        loss_weight=2.0))
        self.hallucinate = hallucinate
        self.num_prototypes, self.prototype_keys = num_prototypes, prototype_keys
        self.update_every, self.num_positives = update_every, num_positives
        self.num_targets, self.skip_closest = num_targets, skip_closest
        self.step_range = (float(lo), float(hi))
        self.warmup_keys = 2 * queue_size + 1 if warmup_keys is None else warmup_keys
        self.register_buffer("prototypes", torch.zeros(num_prototypes, feature_dim))
        self.register_buffer("prototypes_ready", torch.zeros(1, dtype=torch.bool))
        self.register_buffer("keys_seen", torch.zeros(1, dtype=torch.long))
        self.register_buffer("step", torch.zeros(1, dtype=torch.long))

    @torch.no_grad()
    def update_prototypes(self) -> None:
        """Spherical k-means of the newest ``prototype_keys`` keys into the prototypes."""
        keys = self.newest_keys(self.prototype_keys).float()
        self.prototypes.copy_(spherical_kmeans(keys, self.num_prototypes))
        self.prototypes_ready.fill_(True)

    def loss(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        if (self.hallucinate and not bool(self.prototypes_ready)
                and int(self.keys_seen) >= self.warmup_keys):
            self.update_prototypes()  # the official first fit, before the step
        q, k = self.encode_pair(inputs)
        losses = {"loss_infonce": self.loss_fn(q, k, self.queue.clone().detach())}
        if self.hallucinate:
            if bool(self.prototypes_ready):
                positives, keep, _, _ = hallucinate_positives(
                    k, self.prototypes.clone(), self.num_positives, self.step_range,
                    self.skip_closest, self.num_targets)
                losses["loss_halp"] = self.halp_loss(q, positives, keep)
            else:
                losses["loss_halp"] = q.sum() * 0.0
        self.enqueue(k)
        self.keys_seen += len(k)
        self.step += 1
        if (self.hallucinate and bool(self.prototypes_ready)
                and int(self.step) % self.update_every == 0):
            self.update_prototypes()
        return losses
