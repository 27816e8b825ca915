"""SCRUB: teacher-student unlearning with alternating max (forget) and min (retain) steps."""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from torch import nn
from tqdm import tqdm

from zoo.registry import UNLEARNERS
from zoo.unlearning.base import GradientUnlearner, make_optimizer
from zoo.unlearning.projection import build_projector


def distill_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
               temperature: float) -> torch.Tensor:
    """``KL(teacher || student)`` of temperature-softened outputs, times ``T**2``, batch mean."""
    log_s = F.log_softmax(student_logits / temperature, dim=-1)
    p_t = F.softmax(teacher_logits / temperature, dim=-1)
    kl = F.kl_div(log_s, p_t, reduction="sum") / student_logits.shape[0]
    return kl * temperature ** 2


@UNLEARNERS.register_module()
class SCRUB(GradientUnlearner):
    """SCRUB (Kurmanji, Triantafillou, Hayes & Triantafillou, "Towards Unbounded Machine
    Unlearning", NeurIPS 2023).

    The student starts as the trained model and the frozen teacher is a copy of it. Each epoch
    ``< max_steps`` starts with a *max* pass over the forget set (maximise the teacher-student
    KL), then every epoch runs a *min* pass over the retain set minimising
    ``gamma * CE + alpha * KL`` (defaults follow the official code: ``T = 4``,
    ``gamma = 0.99``, ``alpha = 0.001``). The max steps are the forget update and can be
    projected with GU (``projection``).

    Args:
        epochs: SCRUB epochs (``sgda_epochs``).
        max_steps: epochs that include a max pass (``msteps``).
        temperature, gamma, alpha: distillation temperature and loss weights.
    """

    def __init__(self, epochs: int = 4, max_steps: int = 2, lr: float = 0.005,
                 temperature: float = 4.0, gamma: float = 0.99, alpha: float = 0.001,
                 weight_decay: float = 5e-4, **kwargs):
        super().__init__(epochs=epochs, lr=lr, weight_decay=weight_decay, **kwargs)
        self.max_steps, self.temperature = max_steps, temperature
        self.gamma, self.alpha = gamma, alpha
        self._teacher: nn.Module | None = None

    def _teacher_logits(self, inputs):
        with torch.no_grad():
            return self._teacher.logits(inputs)

    def forget_loss(self, model, inputs, labels):
        return -distill_kl(model.logits(inputs), self._teacher_logits(inputs), self.temperature)

    def retain_loss(self, model, inputs, labels):
        logits = model.logits(inputs)
        return (self.gamma * F.cross_entropy(logits, labels)
                + self.alpha * distill_kl(logits, self._teacher_logits(inputs), self.temperature))

    def unlearn(self, model: nn.Module, ctx) -> nn.Module:
        self._teacher = copy.deepcopy(model).eval()
        for p in self._teacher.parameters():
            p.requires_grad_(False)
        params = self.trainable(model)
        opt = make_optimizer(params, self.optimizer, self.lr, self.momentum, self.weight_decay)
        projector = build_projector(self.projection)
        retain_stream = ctx.cycle("retain", model, batch_size=self.batch_size)

        def retain_for_projection():
            model.eval()
            x, y = next(retain_stream)
            loss = F.cross_entropy(model.logits(x), y)
            model.train()
            return loss

        logger = MMLogger.get_current_instance()
        model.train()
        for epoch in range(self.epochs):
            log = {}
            if epoch < self.max_steps:
                for batch in tqdm(ctx.loader("forget", model, batch_size=self.batch_size),
                                  total=ctx.num_batches("forget", self.batch_size),
                                  leave=False, desc=f"SCRUB max {epoch + 1}"):
                    log.update(self.step(model, params, opt, batch, None, projector,
                                         retain_for_projection))
            for batch in tqdm(ctx.loader("retain", model, batch_size=self.batch_size),
                              total=ctx.num_batches("retain", self.batch_size),
                              leave=False, desc=f"SCRUB min {epoch + 1}"):
                log.update(self.step(model, params, opt, None, batch))
            logger.info(f"SCRUB epoch {epoch + 1}/{self.epochs}: "
                        + "  ".join(f"{k} {v:.4f}" for k, v in log.items()))
        model.eval()
        self._teacher = None
        return model
