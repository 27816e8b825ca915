"""Prototype-sample relation distillation (replay-free)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoo.registry import STRATEGIES

from ..head import classifier_of
from ._common import TensorAugment, supcon_loss
from .base import Strategy, frozen_copy, state_of
from .lwf import distillation_kl


def prototype_scores(features: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """``h . w_c / ||w_c||`` for every prototype row (PRD's relation scores)."""
    return features @ F.normalize(prototypes, dim=1).T


def batch_stat_teacher(teacher: nn.Module) -> nn.Module:
    """Put a frozen teacher's batch-norm layers in training mode (normalise with the batch's
    statistics, as the student does) without letting them change their running statistics
    (momentum 0); every other module (dropout) stays in eval mode."""
    teacher.eval()
    for module in teacher.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.train()
            module.momentum = 0.0
    return teacher


@STRATEGIES.register_module()
class PRD(Strategy):
    """Prototype-Sample Relation Distillation (Asadi, Davari, Mudur, Aljundi & Belilovsky,
    "Prototype-Sample Relation Distillation: Towards Replay-Free Continual Learning", ICML
    2023; official code: naderAsadi/Probing-Continual-Learning, ``methods/repe.py``).

    No sample is stored. The representation ``h = model.embed(x)`` is trained with the
    supervised contrastive loss on a projection of two views of the current batch; each class
    has a prototype — the row of ``cls_head.fc.weight`` — pulled towards the (detached)
    features of its class by ``1 - cos(h, w_y)``; and for every old task the distribution of
    the current samples' relations to that task's prototypes (``softmax(h . w / ||w|| / T)``)
    is distilled from the model frozen at the end of the previous task (KL, temperature
    ``T``; the official code uses the cross-entropy, which differs by a constant).
    Classification: cosine similarity to all prototypes.

    Defaults follow the official parser (SupCon temperature 0.2, distillation temperature 2,
    both coefficients 1, projection 512 -> 128). The official code gives the prototypes their
    own parameter group (``prototypes_lr`` 0.01, no momentum, no weight decay), but its
    ``adjust_learning_rate`` sets every group's learning rate to ``--lr`` at the start of each
    epoch, so in effect the prototypes train at the model's learning rate; here they share
    the run's optimizer (a config can give them their own rate with ``paramwise_cfg``).

    Args:
        supcon_temperature: SupCon temperature.
        supcon_base_temperature: the official SupCon loss is multiplied by
            ``supcon_temperature / supcon_base_temperature`` (0.2 / 0.07 = 2.86 with the
            official values), which sets its weight against the two other losses; ``None``
            leaves it unscaled.
        distill_temperature: temperature of the relation distillation.
        prototypes_coef, distill_coef: weights of the prototype and distillation losses.
        projection_dim, projection_hidden: the SupCon projection MLP.
        augment: :class:`TensorAugment` arguments.
        augment_both: augment both SupCon views (the official code draws two random views);
            ``False`` keeps the original input as the first view.
        teacher_bn: ``'batch'``: the teacher's batch norm normalises each batch with its own
            statistics, like the student it is compared with (the official teacher is a copy
            left in training mode); ``'running'``: the teacher is in eval mode, so at the
            start of a task the (identical) student already disagrees with it through batch
            norm alone.
    """

    family = "regularisation"

    def __init__(self, supcon_temperature: float = 0.2,
                 supcon_base_temperature: float | None = 0.07,
                 distill_temperature: float = 2.0,
                 prototypes_coef: float = 1.0, distill_coef: float = 1.0,
                 projection_dim: int = 128, projection_hidden: int = 512,
                 augment: dict | None = None, augment_both: bool = True,
                 teacher_bn: str = "batch"):
        super().__init__()
        if teacher_bn not in ("batch", "running"):
            raise ValueError(f"PRD teacher_bn must be 'batch' or 'running', got {teacher_bn!r}")
        self.supcon_temperature = supcon_temperature
        self.supcon_scale = 1.0 if supcon_base_temperature is None \
            else supcon_temperature / supcon_base_temperature
        self.distill_temperature = distill_temperature
        self.prototypes_coef, self.distill_coef = prototypes_coef, distill_coef
        self.projection_dim, self.projection_hidden = projection_dim, projection_hidden
        self.augment = TensorAugment(**(augment or {}))
        self.augment_both, self.teacher_bn = augment_both, teacher_bn
        self.teacher = None

    def prepare_model(self, model, task):
        if not hasattr(model, "prd_projector"):
            dim = classifier_of(model).in_features
            model.prd_projector = nn.Sequential(
                nn.Linear(dim, self.projection_hidden), nn.ReLU(inplace=True),
                nn.Linear(self.projection_hidden, self.projection_dim)).to(
                    classifier_of(model).weight.device)

    def relation_distillation(self, features, teacher_features, prototypes, old_prototypes
                              ) -> torch.Tensor:
        """Sum over old tasks of the KL between the teacher's and the student's relation
        distributions to that task's prototypes."""
        total = features.new_zeros(())
        for task in range(self.task):
            start, stop = self.scenario.incremental_range(task)
            new = prototype_scores(features, prototypes[start:stop])
            old = prototype_scores(teacher_features, old_prototypes[start:stop])
            total = total + distillation_kl(new, old, self.distill_temperature) \
                / self.distill_temperature ** 2
        return total

    def loss(self, model, inputs, labels):
        first = self.augment(inputs) if self.augment_both else inputs
        views = torch.cat([first, self.augment(inputs)])
        both = torch.cat([labels, labels])
        feats = model.embed(views)
        proj = F.normalize(model.prd_projector(feats), dim=1)
        losses = {"loss_supcon": self.supcon_scale * supcon_loss(proj, both,
                                                                 self.supcon_temperature)}
        protos = classifier_of(model).weight
        cos = F.cosine_similarity(feats.detach(), protos[both], dim=1)
        losses["loss_proto"] = self.prototypes_coef * (1 - cos).mean()
        if self.teacher is not None:
            with torch.no_grad():
                old_feats = self.teacher.embed(views)
            old_protos = classifier_of(self.teacher).weight
            losses["loss_prd"] = self.distill_coef * self.relation_distillation(
                feats, old_feats, protos, old_protos)
        return losses

    def _make_teacher(self, model: nn.Module) -> nn.Module:
        teacher = frozen_copy(model)
        return batch_stat_teacher(teacher) if self.teacher_bn == "batch" else teacher

    def after_task(self, model, task):
        self.teacher = self._make_teacher(model)

    @torch.no_grad()
    def predict(self, model, inputs):
        feats = F.normalize(model.embed(inputs), dim=1)
        return prototype_scores(feats, classifier_of(model).weight)

    def state_dict(self):
        return {} if self.teacher is None else {"teacher": state_of(self.teacher)}

    def load_state_dict(self, state, model):
        self.prepare_model(model, self.task)
        if "teacher" in state:
            self.teacher = self._make_teacher(model)
            self.teacher.load_state_dict(state["teacher"])
