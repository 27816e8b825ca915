"""Proxy-based contrastive replay (PCR) and its holistic extension (HPCR)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from zoo.losses.contrastive import proxy_contrastive_loss
from zoo.registry import STRATEGIES

from ..buffers import ReservoirBuffer
from ..head import classifier_of
from ._common import TensorAugment
from .base import Strategy


def cosine_logits(features: torch.Tensor, proxies: torch.Tensor, temperature: float
                  ) -> torch.Tensor:
    return F.normalize(features, dim=1) @ F.normalize(proxies, dim=1).T / temperature


@STRATEGIES.register_module()
class PCR(Strategy):
    """PCR (Lin, Zhang, Feng, Li & Ye, "PCR: Proxy-based Contrastive Replay for Online
    Class-Incremental Continual Learning", CVPR 2023; official code FelixHuiweiLin/PCR,
    ``agents/pcr.py``).

    Each step: the current batch and a random reservoir-buffer batch, each with a second
    augmented view, are embedded; the only loss is :func:`proxy_contrastive_loss` over the
    union (temperature 0.09 as the official code; no loss before the buffer holds anything).
    The proxies are the rows of ``cls_head.fc.weight``; prediction is the cosine similarity
    to them. The buffer receives the current batch after each step.
    """

    family = "replay"

    def __init__(self, buffer_size: int = 200, temperature: float = 0.09,
                 replay_batch_size: int | None = None, augment: dict | None = None):
        super().__init__()
        self.buffer = ReservoirBuffer(buffer_size)
        self.temperature = temperature
        self.replay_batch_size = replay_batch_size
        self.augment = TensorAugment(**(augment or {}))

    def _memory(self, device):
        return self.replay_sample(self.buffer, self.replay_batch_size, device)

    def _views(self, inputs, labels, mem):
        parts = [mem["inputs"], self.augment(mem["inputs"]), inputs, self.augment(inputs)]
        labs = [mem["labels"], mem["labels"], labels, labels]
        return torch.cat(parts), torch.cat(labs)

    def contrastive(self, model, x, y) -> tuple[torch.Tensor, torch.Tensor]:
        feats = model.embed(x)
        loss = proxy_contrastive_loss(feats, classifier_of(model).weight, y, self.temperature)
        return loss, feats

    def loss(self, model, inputs, labels):
        if self.buffer.is_empty():  # the official code trains nothing on this step
            return {"loss_pcr": model.logits(inputs).sum() * 0.0}
        x, y = self._views(inputs, labels, self._memory(inputs.device))
        return {"loss_pcr": self.contrastive(model, x, y)[0]}

    def after_iter(self, model, inputs, labels):
        self.buffer_add(self.buffer, inputs, labels)

    @torch.no_grad()
    def predict(self, model, inputs):
        return cosine_logits(model.embed(inputs), classifier_of(model).weight, self.temperature)

    def state_dict(self):
        return {"buffer": self.buffer.state_dict()}

    def load_state_dict(self, state, model):
        self.buffer.load_state_dict(state["buffer"])


@STRATEGIES.register_module()
class HPCR(PCR):
    """HPCR (Lin, Feng, Zhang, Li & Ye, "HPCR: Holistic Proxy-based Contrastive Replay for
    Online Continual Learning", arXiv 2309.15038, 2023; official ``agents/hpcr.py``).

    PCR plus three components:

    * contrastive: anchor-to-sample pairs join the contrast set when the combined batch has
      at least ``sample_pairs_min_batch`` samples (a step function of the batch size; the
      stored official code selects the mode by a flag whose values are not published, so this
      condition is our reading of the paper);
    * temperature: the loss is scaled by ``tau_s`` cycling between ``temp_min`` and
      ``temp_max`` as ``(max - min) (1 - cos(2 pi i / period)) / 2 + min`` with ``i`` the
      step within the epoch (official: period 500, 0.5625..1.8), while the softmax keeps the
      PCR temperature — the two roles of the temperature are decoupled;
    * distillation (from the second task on): ``pcd_alpha * MSE`` between the current logits
      of the buffer samples and those stored with them, over the columns of the classes in
      the batch (proxy-based), and ``scd_beta * KL`` between the stored and the current
      sample-to-sample similarity distributions of the buffer features (sample-based).
    """

    def __init__(self, buffer_size: int = 200, temperature: float = 0.09,
                 temp_min: float = 0.5625, temp_max: float = 1.8, period: int = 500,
                 pcd_alpha: float = 0.1, scd_beta: float = 0.5,
                 sample_pairs_min_batch: int = 64, replay_batch_size: int | None = None,
                 augment: dict | None = None):
        super().__init__(buffer_size, temperature, replay_batch_size, augment)
        self.temp_min, self.temp_max, self.period = temp_min, temp_max, period
        self.pcd_alpha, self.scd_beta = pcd_alpha, scd_beta
        self.sample_pairs_min_batch = sample_pairs_min_batch
        self.step = 0
        self._stash = None

    def tau_s(self, step: int) -> float:
        phase = 0.5 * (1 - math.cos(2 * math.pi * step / self.period))
        return (self.temp_max - self.temp_min) * phase + self.temp_min

    def before_epoch(self, model):
        self.step = 0

    def similarity_distillation(self, features, stored) -> torch.Tensor:
        """KL between the stored and current distributions of each buffer sample's
        similarities to the other buffer samples (HPCR's SCD)."""
        n = len(features)
        eye = torch.eye(n, dtype=torch.bool, device=features.device)
        new = (F.normalize(features, dim=1) @ F.normalize(features, dim=1).T / self.temperature)
        old = (F.normalize(stored, dim=1) @ F.normalize(stored, dim=1).T / self.temperature)
        new = new[~eye].view(n, n - 1)
        old = old[~eye].view(n, n - 1)
        return F.kl_div(F.log_softmax(new, 1), F.softmax(old, 1), reduction="batchmean")

    def loss(self, model, inputs, labels):
        tau = self.tau_s(self.step)
        self.step += 1
        weight = classifier_of(model).weight
        if self.buffer.is_empty():
            feats = model.embed(inputs)
            self._stash = (cosine_logits(feats, weight, self.temperature).detach(),
                           feats.detach())
            return {"loss_pcr": feats.sum() * 0.0}
        mem = self._memory(inputs.device)
        m, b = len(mem["labels"]), len(labels)
        x, y = self._views(inputs, labels, mem)
        feats = model.embed(x)
        current = feats[2 * m:2 * m + b]
        self._stash = (cosine_logits(current, weight, self.temperature).detach(),
                       current.detach())
        pairs = len(y) >= self.sample_pairs_min_batch
        losses = {"loss_pcr": tau * proxy_contrastive_loss(
            feats, weight, y, self.temperature, sample_pairs=pairs)}
        if self.task > 0:
            mem_feats = feats[:2 * m]  # both views of the buffer samples
            mem_logits = cosine_logits(mem_feats, weight, self.temperature)
            stored = torch.cat([mem["logits"], mem["logits"]])
            width = torch.cat([mem["logit_width"], mem["logit_width"]])[:, None]
            cols = torch.unique(y)
            stored = F.pad(stored, (0, max(0, mem_logits.shape[1] - stored.shape[1])))
            valid = (cols[None, :] < width).float()
            diff = (mem_logits[:, cols] - stored[:, cols]) ** 2 * valid
            losses["loss_pcd"] = self.pcd_alpha * diff.sum() / valid.sum().clamp_min(1)
            losses["loss_scd"] = self.scd_beta * self.similarity_distillation(
                mem_feats, torch.cat([mem["features"], mem["features"]]))
        return losses

    def after_iter(self, model, inputs, labels):
        logits, feats = self._stash
        self.buffer_add(self.buffer, inputs, labels, logits=logits, features=feats)
