"""Learning without Forgetting."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.registry import STRATEGIES

from ..head import classifier_of
from .base import Strategy, frozen_copy, state_of
from .replay import embed_in_batches


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


def warm_up_new_rows(fc: torch.nn.Linear, features: torch.Tensor, labels: torch.Tensor,
                     start: int, steps: int = 300, lr: float = 0.01, tol: float = 1e-6
                     ) -> float:
    """Fit rows ``start:`` of ``fc`` (the new classes) to fixed ``features`` with the
    cross-entropy among the new classes only (labels shifted by ``start``); every other
    parameter stays as it is. Full-batch Adam until the loss changes by less than ``tol``
    or ``steps`` steps. Returns the final loss."""
    device = fc.weight.device
    features, target = features.to(device), labels.to(device) - start
    if target.min() < 0:
        raise ValueError("warm-up labels must all belong to the new classes (>= start)")
    weight = fc.weight[start:].detach().clone().requires_grad_(True)
    bias = None if fc.bias is None else fc.bias[start:].detach().clone().requires_grad_(True)
    params = [weight] + ([] if bias is None else [bias])
    opt = torch.optim.Adam(params, lr=lr)
    previous = float("inf")
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(F.linear(features, weight, bias), target)
        loss.backward()
        opt.step()
        if abs(previous - loss.item()) < tol:
            break
        previous = loss.item()
    with torch.no_grad():
        fc.weight[start:].copy_(weight)
        if bias is not None:
            fc.bias[start:].copy_(bias)
        return F.cross_entropy(F.linear(features, weight, bias), target).item()


@STRATEGIES.register_module()
class LwF(Strategy):
    """Learning without Forgetting (Li & Hoiem, ECCV 2016 / TPAMI 2018).

    The model of the previous task is kept as a frozen teacher; on the current data the
    student's outputs for the old classes are distilled towards the teacher's with
    temperature ``T`` (the paper uses ``T = 2``), added with weight ``alpha`` to the
    cross-entropy. In the class-incremental setting the old outputs are the first ``K_old``
    columns of the single growing head (as Avalanche's ``LwF``).

    Warm-up (the paper's procedure, Sec. 3, and mammoth's ``models/lwf.py``): before the
    joint training of a new task, the shared weights and the old outputs are frozen and
    only the new outputs (the new rows of ``cls_head.fc``) are trained on the task's data,
    with the cross-entropy among the new classes, towards convergence (here: full-batch Adam
    on the frozen eval-mode embeddings, ``warmup_steps`` steps at most; ``warmup_steps=0``
    turns it off). Without it the randomly initialised new rows send large gradients into
    the shared layers in the first steps of the task.
    """

    family = "regularisation"

    def __init__(self, alpha: float = 1.0, temperature: float = 2.0, warmup_steps: int = 300,
                 warmup_lr: float = 0.01):
        super().__init__()
        self.alpha, self.temperature = alpha, temperature
        self.warmup_steps, self.warmup_lr = warmup_steps, warmup_lr
        self.teacher = None
        self.warmup_loss: float | None = None

    def before_task(self, model, task):
        if self.teacher is None or self.warmup_steps <= 0:
            return
        inputs, labels = self.context.collect(self.context.task_dataset(task))
        start, _ = self.scenario.incremental_range(task)
        self.warmup_loss = warm_up_new_rows(
            classifier_of(model), embed_in_batches(model, inputs), labels, start,
            self.warmup_steps, self.warmup_lr)

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
