"""eXtended Dark Experience Replay (X-DER)."""
from __future__ import annotations

import contextlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from zoo.registry import STRATEGIES

from ..buffers import TensorMemory
from ._common import TensorAugment, supcon_loss
from .base import Strategy


def cap_logits(stored: torch.Tensor, current: torch.Tensor, labels: torch.Tensor,
               start: int, stop: int, gamma: float) -> torch.Tensor:
    """X-DER's logit transplant (Boschini et al. 2022, Sec. 4.1; mammoth ``update_logits``):
    a copy of ``stored`` [N, K] whose columns ``start:stop`` are replaced by ``current``'s,
    scaled, in the rows where their maximum exceeds the stored ground-truth logit
    ``stored[i, labels[i]]``, by ``gamma * stored[i, y_i] / max`` (so the transplanted
    classes stay below the true class)."""
    out = stored.clone()
    block = current[:, start:stop].clone().to(out)
    gt = out[torch.arange(len(labels)), labels]
    top = block.max(1).values
    over = top > gt
    block[over] *= (gamma * gt[over] / top[over])[:, None]
    out[:, start:stop] = block
    return out


@contextlib.contextmanager
def frozen_bn_stats(model: nn.Module):
    """Batch norm normalises by batch statistics (train mode) without updating its running
    statistics (mammoth's ``bn_track_stats(model, False)``)."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
           and m.track_running_stats and m.momentum is not None]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.momentum = 0.0  # running = (1 - 0) * running + 0 * batch
    try:
        yield
    finally:
        for m, mom in zip(bns, saved):
            m.momentum = mom


class XDERMemory(TensorMemory):
    """Class-balanced memory filled at task ends with inputs, labels and logits over all the
    scenario's classes, plus a per-slot count of draws in the current task."""

    def __init__(self, size: int):
        super().__init__(size)
        self.draws = torch.zeros(0)

    def replace(self, inputs, labels, logits) -> None:
        self.inputs, self.labels, self.logits = inputs, labels.long(), logits.float()
        self.logit_width = torch.full((len(labels),), logits.shape[1], dtype=torch.long)
        self.draws = torch.zeros(len(labels))

    def state_dict(self) -> dict:
        return {**super().state_dict(), "draws": self.draws.clone()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.draws = state["draws"]


@STRATEGIES.register_module()
class XDER(Strategy):
    """X-DER (Boschini, Bonicelli, Buzzega, Porrello & Calderara, "Class-Incremental
    Continual Learning into the eXtended DER-verse", TPAMI 2022; official code
    aimagelab/mammoth ``models/xder.py``) — the ``xder`` variant (SupCon consistency on the
    future heads), not ``xder_rpc``.

    The head spans every class of the scenario from task 1 (one "head" = the columns of one
    task). During task ``t`` with columns ``[s, e)``:

    * stream loss: cross-entropy of the current batch over the present head only;
    * ``alpha * MSE`` between the outputs and the stored logits (all columns) on a buffer
      minibatch, ``beta * CE`` over the past heads ``[:s]`` on a second one (DER++);
    * future-past logit update: stored samples of past tasks drawn in the step get, with
      probability ``1 / (times drawn this task)``, their stored columns ``[s:]`` replaced by
      the current outputs, scaled below ``gamma`` times their stored true-class logit
      (:func:`cap_logits`); at the task end the whole buffer gets the same update;
    * consistency: SupCon (temperature ``simclr_temp``) on each future head's outputs of
      ``simclr_num_aug`` augmented views of current and buffer samples, weight ``lambd``
      (mammoth's scale: the sum over anchors divided by heads x samples);
    * past constraint ``eta * [max p_past + m - max p_present]_+`` on the softmax over the
      seen classes of the current batch (past side detached), and future constraint
      ``eta * [max o_future + m - max o_own]_+`` on the logits of the current batch and the
      buffer samples (own = the sample's task head).

    Memory (at every task end): each stored class is cut to ``buffer_size // seen`` samples,
    the free slots take random samples of the new classes (class-balanced), stored with the
    current outputs whose past-head columns are capped (:func:`cap_logits`). The task-end
    passes run in train mode with frozen batch-norm statistics, as mammoth.

    Departures: the current batch and both buffer minibatches go through one forward pass
    (as this zoo's DER++, see ``der.py``); the augmentation is the modality-agnostic
    :class:`TensorAugment` (mammoth: strong image augmentation); new samples are a seeded
    random draw per class (mammoth: the first of the loader); later mammoth options
    (``dp_weight``, ``align_bn``) are not included. Under distributed training each rank
    would update the stored logits of its own share only (not supported).
    """

    family = "replay"

    def __init__(self, buffer_size: int = 200, alpha: float = 0.3, beta: float = 0.8,
                 gamma: float = 0.85, lambd: float = 0.1, eta: float = 0.1, m: float = 0.3,
                 simclr_temp: float = 5.0, simclr_batch_size: int = 64,
                 simclr_num_aug: int = 2, replay_batch_size: int | None = None,
                 augment: dict | None = None):
        super().__init__()
        self.buffer = XDERMemory(buffer_size)
        self.alpha, self.beta, self.gamma = float(alpha), float(beta), float(gamma)
        self.lambd, self.eta, self.m = float(lambd), float(eta), float(m)
        self.simclr_temp, self.simclr_batch_size = float(simclr_temp), int(simclr_batch_size)
        self.simclr_num_aug = int(simclr_num_aug)
        self.replay_batch_size = replay_batch_size
        self.augment = TensorAugment(**(augment or {}))

    # head ---------------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return self.scenario.num_seen_classes(self.scenario.num_tasks - 1)

    def num_outputs(self, task):
        return self.num_classes

    @torch.no_grad()
    def predict(self, model, inputs):
        return model.logits(inputs)[:, :self.scenario.num_seen_classes(self.task)]

    def _task_of_label(self, labels: torch.Tensor) -> torch.Tensor:
        table = torch.as_tensor(np.asarray(self.scenario.task_of_incremental_label()))
        return table.to(labels.device)[labels]

    # buffer draws -------------------------------------------------------------------------
    def _draw(self, device) -> dict[str, torch.Tensor]:
        n = self.replay_batch_size or self.context.global_batch_size
        idx = torch.randperm(len(self.buffer), generator=self.context.generator)[:n]
        batch = self.context.rank_share({**self.buffer.gather(idx), "index": idx})
        return {k: v.to(device) for k, v in batch.items()}

    # loss ---------------------------------------------------------------------------------
    def loss(self, model, inputs, labels):
        start, stop = self.scenario.incremental_range(self.task)
        last = self.task == self.scenario.num_tasks - 1
        losses = {}
        buf = None
        if self.buffer.is_empty():
            logits = model.logits(inputs)
        else:
            b1, b2 = self._draw(inputs.device), self._draw(inputs.device)
            parts = [inputs, b1["inputs"], b2["inputs"]]
            logits, out1, out2 = model.logits(torch.cat(parts)).split([len(p) for p in parts])
            losses["loss_der"] = self.alpha * F.mse_loss(out1, b1["logits"])
            losses["loss_derpp"] = self.beta * F.cross_entropy(out2[:, :start], b2["labels"])
            buf = self._merge(b1, b2, out1, out2)
            self._update_future_logits(buf, start)
        losses["loss_cls"] = F.cross_entropy(logits[:, start:stop], labels - start)
        if not last and self.lambd > 0:
            losses["loss_cons"] = self._consistency(model, inputs, labels, stop)
        if self.task > 0:
            chead = torch.softmax(logits[:, :stop], 1)
            gap = chead[:, :start].max(1).values.detach() + self.m \
                - chead[:, start:stop].max(1).values
            losses["loss_past"] = self._hinge(gap)
        if not last:
            bad, good = logits[:, stop:].max(1).values, logits[:, start:stop].max(1).values
            if buf is not None:
                out = buf["outputs"]
                own = self._task_of_label(torch.arange(out.shape[1], device=out.device))[None] \
                    == self._task_of_label(buf["labels"])[:, None]
                bad = torch.cat([bad, out[:, stop:].max(1).values])
                good = torch.cat([good, out.masked_fill(~own, float("-inf")).max(1).values])
            losses["loss_future"] = self._hinge(bad + self.m - good)
        return losses

    def _hinge(self, gap: torch.Tensor) -> torch.Tensor:
        pos = gap > 0
        return self.eta * gap[pos].mean() if pos.any() else gap.sum() * 0.0

    @staticmethod
    def _merge(b1, b2, out1, out2) -> dict[str, torch.Tensor]:
        """The two buffer minibatches joined, each stored sample once (first draw kept)."""
        idx = torch.cat([b1["index"], b2["index"]])
        first = torch.ones(len(idx), dtype=torch.bool, device=idx.device)
        for i in range(1, len(idx)):
            first[i] = not bool((idx[:i] == idx[i]).any())
        return {"index": idx[first],
                "labels": torch.cat([b1["labels"], b2["labels"]])[first],
                "logits": torch.cat([b1["logits"], b2["logits"]])[first],
                "outputs": torch.cat([out1, out2])[first]}

    @torch.no_grad()
    def _update_future_logits(self, buf: dict[str, torch.Tensor], start: int) -> None:
        past = buf["labels"] < start
        idx = buf["index"].cpu()
        self.buffer.draws[idx[past.cpu()]] += 1
        draw = torch.rand(len(idx), generator=self.context.generator)
        chosen = past.cpu() & (draw * self.buffer.draws[idx] < 1)
        if chosen.any():
            sel = idx[chosen]
            self.buffer.logits[sel] = cap_logits(
                self.buffer.logits[sel], buf["outputs"][chosen].detach().cpu(),
                self.buffer.labels[sel], start, self.num_classes, self.gamma)

    def _consistency(self, model, inputs, labels, stop: int) -> torch.Tensor:
        n = self.simclr_batch_size
        x, y = inputs[:n], labels[:n]
        if not self.buffer.is_empty():
            idx = torch.randperm(len(self.buffer), generator=self.context.generator)[:n]
            b = self.buffer.gather(idx)
            x = torch.cat([b["inputs"].to(inputs.device), x])
            y = torch.cat([b["labels"].to(labels.device), y])
        k = self.simclr_num_aug
        with torch.no_grad():
            views = self.augment(x.repeat_interleave(k, 0))
        with frozen_bn_stats(model):
            out = model.logits(views)
        y = y.repeat_interleave(k)
        terms = []
        for head in range(self.task + 1, self.scenario.num_tasks):
            s, e = self.scenario.incremental_range(head)
            terms.append(supcon_loss(F.normalize(out[:, s:e], dim=1), y, self.simclr_temp))
        # mammoth sums over the k * N anchors and divides by heads x N samples
        return self.lambd * k * torch.stack(terms).mean()

    # task end -----------------------------------------------------------------------------
    @torch.no_grad()
    def _outputs(self, model, inputs: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        was_training = model.training
        model.train()
        device = next(model.parameters()).device
        with frozen_bn_stats(model):
            out = torch.cat([model.logits(inputs[i:i + batch_size].to(device)).float().cpu()
                             for i in range(0, len(inputs), batch_size)])
        model.train(was_training)
        return out

    def after_task(self, model, task):
        start, stop = self.scenario.incremental_range(task)
        per_class = self.buffer.size // stop
        keep_x, keep_y, keep_z = [], [], []
        if not self.buffer.is_empty():  # shrink the stored classes (keep the first)
            for c in self.buffer.labels.unique().tolist():
                idx = torch.nonzero(self.buffer.labels == c).flatten()[:per_class]
                keep_x.append(self.buffer.inputs[idx])
                keep_y.append(self.buffer.labels[idx])
                keep_z.append(self.buffer.logits[idx])
        free = self.buffer.size - sum(len(y) for y in keep_y)
        x, y = self.context.collect(self.context.task_dataset(task))
        gen = self.context.generator
        classes = y.unique()
        quota = torch.full((len(classes),), free // len(classes), dtype=torch.long)
        quota[torch.randperm(len(classes), generator=gen)[:free - int(quota.sum())]] += 1
        chosen = torch.cat([
            torch.nonzero(y == c).flatten()[torch.randperm(int((y == c).sum()),
                                                          generator=gen)[:int(q)]]
            for c, q in zip(classes.tolist(), quota)])
        new_x, new_y = x[chosen], y[chosen].long()
        out = self._outputs(model, new_x)
        new_z = cap_logits(out, out, new_y, 0, start, self.gamma) if start > 0 else out
        self.buffer.replace(torch.cat(keep_x + [new_x]), torch.cat(keep_y + [new_y]),
                            torch.cat(keep_z + [new_z]))
        older = self.buffer.labels < start  # samples of earlier tasks: update columns [start:]
        if older.any():
            current = self._outputs(model, self.buffer.inputs[older])
            self.buffer.logits[older] = cap_logits(
                self.buffer.logits[older], current, self.buffer.labels[older], start,
                self.num_classes, self.gamma)

    def state_dict(self):
        return {"buffer": self.buffer.state_dict()}

    def load_state_dict(self, state, model):
        self.buffer.load_state_dict(state["buffer"])
