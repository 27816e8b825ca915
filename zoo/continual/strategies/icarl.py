"""iCaRL: incremental classifier and representation learning."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import ConcatDataset

from zoo.registry import STRATEGIES

from ..buffers import HerdingBuffer
from ..dataset import MemoryDataset
from .base import Strategy, frozen_copy, state_of
from .replay import embed_in_batches


def nearest_mean_scores(features: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    """Negative squared distance of L2-normalised ``features [N, D]`` to class ``means
    [K, D]`` (already normalised): the arg-max is iCaRL's nearest-mean-of-exemplars class."""
    feats = F.normalize(features, dim=1)
    return -torch.cdist(feats, means.to(feats)) ** 2


@STRATEGIES.register_module()
class ICaRL(Strategy):
    """iCaRL (Rebuffi, Kolesnikov, Sperl & Lampert, CVPR 2017).

    * Memory: ``memory_size`` exemplars in total, ``memory_size // classes`` per class,
      chosen by herding on L2-normalised embeddings (Algorithm 4) and shrunk by keeping the
      prefix of each class's herding order (Algorithm 5).
    * Training set of task ``t``: the new data plus all exemplars (Algorithm 3).
    * Loss: sigmoid binary cross-entropy over all seen classes; new classes get one-hot
      targets, old classes the sigmoid outputs of the model frozen at the end of the previous
      task (distillation).
    * Classification: nearest mean of exemplars (Algorithm 1) — the class mean of the
      normalised exemplar embeddings, re-normalised.
    """

    family = "replay"

    def __init__(self, memory_size: int = 200):
        super().__init__()
        self.memory = HerdingBuffer(memory_size)
        self.teacher = None
        self.class_means: torch.Tensor | None = None

    def train_dataset(self, task):
        data = self.context.task_dataset(task)
        if self.memory.is_empty():
            return data
        return ConcatDataset([data, MemoryDataset(self.memory.inputs, self.memory.labels)])

    def loss(self, model, inputs, labels):
        logits = model.logits(inputs)
        targets = F.one_hot(labels, logits.shape[1]).float()
        if self.teacher is not None:
            with torch.no_grad():
                old = torch.sigmoid(self.teacher.logits(inputs))
            targets[:, :old.shape[1]] = old
        return {"loss_icarl": F.binary_cross_entropy_with_logits(logits, targets)}

    def after_task(self, model, task):
        inputs, labels = self.context.collect(self.context.task_dataset(task))
        self.memory.update(inputs, labels, embed_in_batches(model, inputs))
        self.class_means = self.compute_means(model)
        self.teacher = frozen_copy(model)

    def compute_means(self, model) -> torch.Tensor:
        feats = F.normalize(embed_in_batches(model, self.memory.inputs), dim=1)
        num_classes = int(self.memory.labels.max()) + 1
        means = torch.stack([feats[self.memory.labels == c].mean(0)
                             for c in range(num_classes)])
        return F.normalize(means, dim=1)

    @torch.no_grad()
    def predict(self, model, inputs):
        if self.class_means is None:
            raise RuntimeError("iCaRL predicts with class means, computed at the task end")
        return nearest_mean_scores(model.embed(inputs), self.class_means)

    def state_dict(self):
        state = {"memory": self.memory.state_dict()}
        if self.teacher is not None:
            state["teacher"] = state_of(self.teacher)
            state["class_means"] = self.class_means.clone()
        return state

    def load_state_dict(self, state, model):
        self.memory.load_state_dict(state["memory"])
        if "teacher" in state:
            self.teacher = frozen_copy(model)
            self.teacher.load_state_dict(state["teacher"])
            self.class_means = state["class_means"]
