"""Dark Experience Replay++."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.registry import STRATEGIES

from ..buffers import ReservoirBuffer
from .base import Strategy


def masked_logit_mse(logits: torch.Tensor, stored: torch.Tensor, width: torch.Tensor
                     ) -> torch.Tensor:
    """Mean squared error between current and stored logits over the columns that existed
    when each sample was stored (``width[i]`` columns of row ``i``; the head grows)."""
    cols = min(logits.shape[1], stored.shape[1])
    mask = torch.arange(cols, device=logits.device)[None, :] < width.to(logits.device)[:, None]
    diff = (logits[:, :cols] - stored[:, :cols].to(logits)) ** 2
    return (diff * mask).sum() / mask.sum().clamp_min(1)


@STRATEGIES.register_module()
class DERPP(Strategy):
    """DER++ (Buzzega, Boschini, Porrello, Abati & Calderara, "Dark Experience for General
    Continual Learning: a Strong, Simple Baseline", NeurIPS 2020; official code:
    aimagelab/mammoth, ``models/derpp.py``).

    A reservoir buffer keeps inputs, labels and the logits the network produced for them when
    they were seen. Loss: ``CE(current) + alpha * MSE(f(x'), z') + beta * CE(f(x''), y'')``
    with two independent buffer minibatches ``(x', z')`` and ``(x'', y'')`` (``beta = 0`` is
    DER).

    ``full_head=True`` (default, as the paper and mammoth): the classifier has one output per
    class of the whole scenario from the first task, the cross-entropies run over all of
    them and the stored logits span every class, so the logit match also holds the outputs
    of classes that arrive later at their (low) values on old samples — in class-incremental
    learning this keeps new classes from taking over the stored samples. Predictions use the
    seen classes only (mammoth's ``outputs[:, :n_seen]``). ``full_head=False``: the head
    grows with the tasks and the match covers only the columns that existed when a sample
    was stored (that part of the old-sample constraint is lost).

    ``joint_forward=True`` (default) runs the current batch and both buffer minibatches
    through the network in one forward pass, as Avalanche's DER does; ``False`` makes three
    passes, as mammoth. With batch normalisation the difference matters: in separate passes
    every pass is normalised by its own statistics, so the network can tell buffer batches
    from current ones by their normalisation and fit the small buffer without carrying that
    fit over to the (running-statistics) test pass. With ST-GCN on split MSR Action3D (its
    input BatchNorm included) three passes left the old tasks at 0-8 % accuracy.
    """

    family = "replay"

    def __init__(self, buffer_size: int = 200, alpha: float = 0.1, beta: float = 0.5,
                 replay_batch_size: int | None = None, full_head: bool = True,
                 joint_forward: bool = True):
        super().__init__()
        self.buffer = ReservoirBuffer(buffer_size)
        self.alpha, self.beta = alpha, beta
        self.replay_batch_size = replay_batch_size
        self.full_head = full_head
        self.joint_forward = joint_forward
        self._last_logits = None

    def num_outputs(self, task: int) -> int:
        if self.full_head:
            return self.scenario.num_seen_classes(self.scenario.num_tasks - 1)
        return super().num_outputs(task)

    @torch.no_grad()
    def predict(self, model, inputs):
        return model.logits(inputs)[:, :self.scenario.num_seen_classes(self.task)]

    def _sample(self, device):
        return self.replay_sample(self.buffer, self.replay_batch_size, device)

    def loss(self, model, inputs, labels):
        if self.buffer.is_empty():
            logits = model.logits(inputs)
            self._last_logits = logits.detach()
            return {"loss_cls": F.cross_entropy(logits, labels)}
        der = self._sample(inputs.device)
        derpp = self._sample(inputs.device) if self.beta > 0 else None
        if self.joint_forward:
            parts = [inputs, der["inputs"]] + ([derpp["inputs"]] if derpp else [])
            logits, der_logits, *rest = model.logits(torch.cat(parts)).split(
                [len(p) for p in parts])
            derpp_logits = rest[0] if rest else None
        else:
            logits, der_logits = model.logits(inputs), model.logits(der["inputs"])
            derpp_logits = model.logits(derpp["inputs"]) if derpp else None
        self._last_logits = logits.detach()
        losses = {"loss_cls": F.cross_entropy(logits, labels),
                  "loss_der": self.alpha * masked_logit_mse(der_logits, der["logits"],
                                                            der["logit_width"])}
        if derpp is not None:
            losses["loss_derpp"] = self.beta * F.cross_entropy(derpp_logits, derpp["labels"])
        return losses

    def after_iter(self, model, inputs, labels):
        self.buffer_add(self.buffer, inputs, labels, logits=self._last_logits)

    def state_dict(self):
        return {"buffer": self.buffer.state_dict()}

    def load_state_dict(self, state, model):
        self.buffer.load_state_dict(state["buffer"])
