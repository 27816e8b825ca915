"""Bad-teacher knowledge distillation: a competent and an incompetent teacher."""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from torch import nn

from zoo.registry import UNLEARNERS
from zoo.unlearning.base import BaseUnlearner, make_optimizer, random_init_model


def bad_teacher_loss(student_logits: torch.Tensor, good_logits: torch.Tensor,
                     bad_logits: torch.Tensor, is_forget: torch.Tensor,
                     temperature: float = 1.0) -> torch.Tensor:
    """``KL(t || s)`` per sample, batch mean, where the target ``t`` is the bad teacher's
    softened output for forget samples and the good teacher's for the others, and ``s`` the
    student's (the loss of Chundawat et al.; upstream averages over every element instead of
    over samples, which only rescales it by the class count)."""
    flag = is_forget.to(student_logits.dtype).unsqueeze(1)
    target = (flag * F.softmax(bad_logits / temperature, 1)
              + (1 - flag) * F.softmax(good_logits / temperature, 1))
    log_s = F.log_softmax(student_logits / temperature, 1)
    return F.kl_div(log_s, target, reduction="batchmean")


@UNLEARNERS.register_module()
class BadTeacher(BaseUnlearner):
    """Bad-teacher distillation (Chundawat, Tarun, Mandal & Kankanhalli, "Can Bad Teaching
    Induce Forgetting? Unlearning in Deep Networks Using an Incompetent Teacher", AAAI 2023).

    The student starts as the trained model. The *competent* teacher is a frozen copy of it,
    the *incompetent* teacher a randomly initialised model of the same architecture
    (:func:`~zoo.unlearning.base.random_init_model`). On a shuffled mix of the forget set and
    a random ``retain_fraction`` of the retain set, the student minimises the KL divergence to
    the incompetent teacher's outputs on forget samples and to the competent teacher's on
    retain samples (:func:`bad_teacher_loss`). Defaults follow the official code: one
    epoch, Adam, ``lr = 1e-4``, ``T = 1``, 30 % of the retain set.

    Args:
        epochs, lr, optimizer, batch_size: the distillation.
        temperature: KL temperature.
        retain_fraction: share of the retain set used (drawn once per request, seeded).
        seed: seed of the incompetent teacher's initialisation.
    """

    def __init__(self, epochs: int = 1, lr: float = 1e-4, optimizer: str = "adam",
                 batch_size: int | None = None, temperature: float = 1.0,
                 retain_fraction: float = 0.3, seed: int = 0):
        if not 0 < retain_fraction <= 1:
            raise ValueError(f"BadTeacher retain_fraction must be in (0, 1], "
                             f"got {retain_fraction}")
        self.epochs, self.lr, self.optimizer, self.batch_size = epochs, lr, optimizer, batch_size
        self.temperature, self.retain_fraction, self.seed = temperature, retain_fraction, seed

    def unlearn(self, model: nn.Module, ctx) -> nn.Module:
        good = copy.deepcopy(model).eval()
        bad = random_init_model(model, ctx.cfg, self.seed)
        for p in [*good.parameters(), *bad.parameters()]:
            p.requires_grad_(False)
        retain = ctx.retain_idx
        n_retain = max(1, int(round(self.retain_fraction * len(retain))))
        retain = retain[np.sort(ctx.permutation(len(retain))[:n_retain])]
        idx = np.concatenate([ctx.forget_idx, retain])
        flags = np.r_[np.ones(len(ctx.forget_idx), bool), np.zeros(len(retain), bool)]
        params = [p for p in model.parameters() if p.requires_grad]
        opt = make_optimizer(params, self.optimizer, self.lr)
        bs = self.batch_size or ctx.batch_size
        logger = MMLogger.get_current_instance()
        model.train()
        for epoch in range(self.epochs):
            order = ctx.permutation(len(idx))
            losses = []
            for start in range(0, len(order), bs):
                pick = order[start:start + bs]
                inputs, _ = ctx.batch(idx[pick], model)
                is_forget = torch.as_tensor(flags[pick], device=inputs.device)
                with torch.no_grad():
                    good_logits, bad_logits = good.logits(inputs), bad.logits(inputs)
                loss = bad_teacher_loss(model.logits(inputs), good_logits, bad_logits,
                                        is_forget, self.temperature)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
            logger.info(f"BadTeacher epoch {epoch + 1}/{self.epochs}: "
                        f"loss {np.mean(losses):.4f}")
        model.eval()
        return model
