"""Learning without Forgetting."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.registry import STRATEGIES

from .base import Strategy, frozen_copy, state_of


def distillation_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                    temperature: float) -> torch.Tensor:
    """``T^2 * KL(softmax(teacher/T) || softmax(student/T))``, batch mean.

    Zero exactly when the two logit rows agree up to a constant; the ``T^2`` factor keeps the
    gradient scale independent of ``T`` (Hinton et al., "Distilling the knowledge in a neural
    network", 2015).
    """
    log_p = F.log_softmax(student_logits / temperature, dim=1)
    q = F.softmax(teacher_logits / temperature, dim=1)
    return F.kl_div(log_p, q, reduction="batchmean") * temperature ** 2


@STRATEGIES.register_module()
class LwF(Strategy):
    """Learning without Forgetting (Li & Hoiem, ECCV 2016 / TPAMI 2018).

    The model of the previous task is kept as a frozen teacher; on the current data the
    student's outputs for the old classes are distilled towards the teacher's with
    temperature ``T`` (the paper uses ``T = 2``), added with weight ``alpha`` to the
    cross-entropy. In the class-incremental setting the old outputs are the first ``K_old``
    columns of the single growing head (as Avalanche's ``LwF``).
    """

    def __init__(self, alpha: float = 1.0, temperature: float = 2.0):
        super().__init__()
        self.alpha, self.temperature = alpha, temperature
        self.teacher = None

    def loss(self, model, inputs, labels):
        logits = model.logits(inputs)
        losses = {"loss_cls": F.cross_entropy(logits, labels)}
        if self.teacher is not None:
            with torch.no_grad():
                old = self.teacher.logits(inputs)
            losses["loss_lwf"] = self.alpha * distillation_kl(
                logits[:, :old.shape[1]], old, self.temperature)
        return losses

    def after_task(self, model, task):
        self.teacher = frozen_copy(model)

    def state_dict(self):
        return {} if self.teacher is None else {"teacher": state_of(self.teacher)}

    def load_state_dict(self, state, model):
        if "teacher" in state:
            self.teacher = frozen_copy(model)
            self.teacher.load_state_dict(state["teacher"])
