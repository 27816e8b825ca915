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
    own learning rate (0.01); here they share the run's optimizer.
    """

    def __init__(self, supcon_temperature: float = 0.2, distill_temperature: float = 2.0,
                 prototypes_coef: float = 1.0, distill_coef: float = 1.0,
                 projection_dim: int = 128, projection_hidden: int = 512,
                 augment: dict | None = None):
        super().__init__()
        self.supcon_temperature = supcon_temperature
        self.distill_temperature = distill_temperature
        self.prototypes_coef, self.distill_coef = prototypes_coef, distill_coef
        self.projection_dim, self.projection_hidden = projection_dim, projection_hidden
        self.augment = TensorAugment(**(augment or {}))
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
        views = torch.cat([inputs, self.augment(inputs)])
        both = torch.cat([labels, labels])
        feats = model.embed(views)
        proj = F.normalize(model.prd_projector(feats), dim=1)
        losses = {"loss_supcon": supcon_loss(proj, both, self.supcon_temperature)}
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

    def after_task(self, model, task):
        self.teacher = frozen_copy(model)

    @torch.no_grad()
    def predict(self, model, inputs):
        feats = F.normalize(model.embed(inputs), dim=1)
        return prototype_scores(feats, classifier_of(model).weight)

    def state_dict(self):
        return {} if self.teacher is None else {"teacher": state_of(self.teacher)}

    def load_state_dict(self, state, model):
        self.prepare_model(model, self.task)
        if "teacher" in state:
            self.teacher = frozen_copy(model)
            self.teacher.load_state_dict(state["teacher"])
