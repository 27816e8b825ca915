"""Weight aligning (WA) of the classifier after each task."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import ConcatDataset

from zoo.registry import STRATEGIES

from ..buffers import HerdingBuffer
from ..dataset import MemoryDataset
from ..head import classifier_of
from .base import Strategy, frozen_copy, state_of
from .lwf import distillation_kl
from .replay import embed_in_batches


@torch.no_grad()
def align_weights(fc: torch.nn.Linear, num_old: int) -> float:
    """Scale the rows of the new classes (``num_old:``) by ``gamma = mean ||w_old|| / mean
    ||w_new||`` (Zhao et al. 2020, Eq. 6-7); returns ``gamma``. Biases are left as they
    are (PyCIL's ``weight_align`` does the same)."""
    norms = fc.weight.norm(dim=1)
    gamma = float(norms[:num_old].mean() / norms[num_old:].mean())
    fc.weight[num_old:] *= gamma
    return gamma


@STRATEGIES.register_module()
class WA(Strategy):
    """WA (Zhao, Xiao, Gan, Zhang & Xia, "Maintaining Discrimination and Fairness in Class
    Incremental Learning", CVPR 2020; PyCIL ``models/wa.py``).

    Training on the new data plus a herding exemplar memory of ``memory_size`` samples (as
    iCaRL) with ``(1 - lam) CE + lam KD``, ``KD`` the temperature-``T`` distillation of the
    old classes' outputs from the model of the previous task and ``lam = K_old / K_seen``
    (PyCIL's weighting); after each task from the second on, the norms of the new classes'
    weight rows are aligned to the old ones' (:func:`align_weights`). The KD term is the
    KL divergence (the gradient of PyCIL's soft cross-entropy), without the ``T^2`` factor.
    The paper's positive clipping of the weights is not applied.
    """

    family = "replay"

    def __init__(self, memory_size: int = 200, temperature: float = 2.0):
        super().__init__()
        self.memory = HerdingBuffer(memory_size)
        self.temperature = float(temperature)
        self.teacher = None
        self.gammas: list[float] = []

    def train_dataset(self, task):
        data = self.context.task_dataset(task)
        if self.memory.is_empty():
            return data
        return ConcatDataset([data, MemoryDataset(self.memory.inputs, self.memory.labels)])

    def loss(self, model, inputs, labels):
        logits = model.logits(inputs)
        ce = F.cross_entropy(logits, labels)
        if self.teacher is None:
            return {"loss_cls": ce}
        with torch.no_grad():
            old = self.teacher.logits(inputs)
        lam = old.shape[1] / logits.shape[1]
        kd = distillation_kl(logits[:, :old.shape[1]], old, self.temperature) \
            / self.temperature ** 2
        return {"loss_cls": (1 - lam) * ce, "loss_kd": lam * kd}

    def after_task(self, model, task):
        if task > 0:
            start, _ = self.scenario.incremental_range(task)
            self.gammas.append(align_weights(classifier_of(model), start))
        inputs, labels = self.context.collect(self.context.task_dataset(task))
        self.memory.update(inputs, labels, embed_in_batches(model, inputs))
        self.teacher = frozen_copy(model)

    def state_dict(self):
        state = {"memory": self.memory.state_dict(), "gammas": list(self.gammas)}
        if self.teacher is not None:
            state["teacher"] = state_of(self.teacher)
        return state

    def load_state_dict(self, state, model):
        self.memory.load_state_dict(state["memory"])
        self.gammas = [float(g) for g in state["gammas"]]
        if "teacher" in state:
            self.teacher = frozen_copy(model)
            self.teacher.load_state_dict(state["teacher"])
