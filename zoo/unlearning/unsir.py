"""UNSIR: error-maximising noise for the forgotten classes, then impair and repair."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from torch import nn

from zoo.registry import UNLEARNERS
from zoo.unlearning.base import BaseUnlearner, make_optimizer


def optimise_noise(model: nn.Module, noise: torch.Tensor, label: int, steps: int,
                   lr: float = 0.1, weight: float = 0.1) -> torch.Tensor:
    """Error-maximising noise: Adam on ``noise`` minimising
    ``-CE(model(noise), label) + weight * mean_n ||noise_n||^2`` (model frozen, eval mode)."""
    noise = noise.clone().requires_grad_(True)
    opt = torch.optim.Adam([noise], lr=lr)
    labels = torch.full((noise.shape[0],), label, dtype=torch.long, device=noise.device)
    was_training = model.training
    model.eval()
    for _ in range(steps):
        loss = (-F.cross_entropy(model.logits(noise), labels)
                + weight * noise.pow(2).flatten(1).sum(1).mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    model.train(was_training)
    model.zero_grad(set_to_none=True)
    return noise.detach()


@UNLEARNERS.register_module()
class UNSIR(BaseUnlearner):
    """UNSIR (Tarun, Chundawat, Mandal & Kankanhalli, "Fast Yet Effective Machine
    Unlearning", IEEE TNNLS 2023), for class requests.

    For each forgotten class ``c`` a batch of noise inputs (the model's input shape) is
    optimised to *maximise* the model's error on ``c`` (:func:`optimise_noise`). *Impair*:
    one pass over a random ``retain_fraction`` of the retain set mixed with the noise
    (repeated ``noise_copies`` times) labelled ``c``, cross-entropy, ``lr`` ``impair_lr``.
    *Repair*: one pass over the same retain subset, ``lr`` ``repair_lr``. Defaults follow the
    official code (noise Adam ``lr=0.1`` with weight ``0.1``, impair 0.02 and repair 0.01
    with Adam).

    Args:
        noise_batch: noise inputs per class; noise_steps: their optimisation steps.
        noise_copies: how often the noise batch is repeated in the impair pass.
        retain_fraction: share of the retain set used in both passes (seeded draw).
    """

    def __init__(self, noise_batch: int = 64, noise_steps: int = 5, noise_lr: float = 0.1,
                 noise_weight: float = 0.1, noise_copies: int = 2, impair_lr: float = 0.02,
                 repair_lr: float = 0.01, optimizer: str = "adam", retain_fraction: float = 0.3,
                 batch_size: int | None = None, seed: int = 0):
        if not 0 < retain_fraction <= 1:
            raise ValueError(f"UNSIR retain_fraction must be in (0, 1], got {retain_fraction}")
        self.noise_batch, self.noise_steps, self.noise_lr = noise_batch, noise_steps, noise_lr
        self.noise_weight, self.noise_copies = noise_weight, noise_copies
        self.impair_lr, self.repair_lr, self.optimizer = impair_lr, repair_lr, optimizer
        self.retain_fraction, self.batch_size, self.seed = retain_fraction, batch_size, seed

    def unlearn(self, model: nn.Module, ctx) -> nn.Module:
        classes = sorted(set(ctx.index.labels[ctx.forget_idx].tolist()))
        whole = np.isin(ctx.index.labels, classes)
        if not whole[ctx.retain_idx].sum() == 0:
            raise ValueError("UNSIR forgets whole classes; this request leaves samples of "
                             f"classes {classes} in the retain set")
        x, _ = ctx.batch(ctx.forget_idx[:1], model)
        gen = torch.Generator().manual_seed(self.seed)
        noise, noise_y = [], []
        for c in classes:
            start = torch.randn((self.noise_batch, *x.shape[1:]), generator=gen).to(x)
            n = optimise_noise(model, start, c, self.noise_steps, self.noise_lr,
                               self.noise_weight)
            noise += [n] * self.noise_copies
            noise_y += [c] * (len(n) * self.noise_copies)
        noise = torch.cat(noise)
        noise_y = torch.tensor(noise_y, device=x.device)
        retain = ctx.retain_idx
        keep = max(1, int(round(self.retain_fraction * len(retain))))
        retain = retain[np.sort(ctx.permutation(len(retain))[:keep])]
        bs = self.batch_size or ctx.batch_size
        logger = MMLogger.get_current_instance()
        model.train()
        # impair: retain samples (positions >= 0) and noise rows (negative positions) shuffled
        items = np.r_[retain, -1 - np.arange(len(noise))]
        opt = make_optimizer(model.parameters(), self.optimizer, self.impair_lr)
        self._epoch(model, ctx, opt, items[ctx.permutation(len(items))], bs, noise, noise_y)
        logger.info(f"UNSIR impair: {len(retain)} retain samples, {len(noise)} noise inputs")
        opt = make_optimizer(model.parameters(), self.optimizer, self.repair_lr)
        self._epoch(model, ctx, opt, retain[ctx.permutation(len(retain))], bs, noise, noise_y)
        model.eval()
        return model

    @staticmethod
    def _epoch(model, ctx, opt, items, bs, noise, noise_y) -> None:
        for start in range(0, len(items), bs):
            chunk = items[start:start + bs]
            real, fake = chunk[chunk >= 0], -1 - chunk[chunk < 0]
            xs, ys = [], []
            if len(real):
                xr, yr = ctx.batch(real, model)
                xs.append(xr)
                ys.append(yr)
            if len(fake):
                xs.append(noise[torch.as_tensor(fake)])
                ys.append(noise_y[torch.as_tensor(fake)])
            loss = F.cross_entropy(model.logits(torch.cat(xs)), torch.cat(ys))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
