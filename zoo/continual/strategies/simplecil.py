"""SimpleCIL: class prototypes on a frozen (pretrained) backbone."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.registry import STRATEGIES

from .base import Strategy
from .replay import embed_in_batches


def class_prototypes(features: torch.Tensor, labels: torch.Tensor, classes) -> torch.Tensor:
    """Mean embedding ``[len(classes), D]`` of each class."""
    return torch.stack([features[labels == c].mean(0) for c in classes])


@STRATEGIES.register_module()
class SimpleCIL(Strategy):
    """SimpleCIL (Zhou, Cai, Ye & Zhan, "Revisiting Class-Incremental Learning with
    Pre-Trained Models: Generalizability and Adaptivity are All You Need", IJCV 2024 /
    arXiv 2303.07338; PyCIL-family code LAMDA-PILOT ``models/simplecil.py``).

    The backbone is frozen (its weights come from the config: ``load_from`` or the
    backbone's pretrained ``init_cfg``; no gradient step is taken, ``trains = False`` tells
    the loop to skip the training epochs). After each task the prototype of every new class
    is the mean embedding of its training samples; prediction is the cosine similarity of
    the embedding to the prototypes of all seen classes (the prototype classifier replacing
    the linear head). Prototypes of old classes never change, so nothing is forgotten but
    what new prototypes take over.
    """

    family = "other"
    trains = False

    def __init__(self):
        super().__init__()
        self.prototypes: torch.Tensor | None = None

    def prepare_model(self, model, task):
        for p in model.parameters():
            p.requires_grad_(False)

    def after_task(self, model, task):
        inputs, labels = self.context.collect(self.context.task_dataset(task))
        feats = embed_in_batches(model, inputs)
        start, stop = self.scenario.incremental_range(task)
        new = class_prototypes(feats, labels, range(start, stop))
        self.prototypes = new if self.prototypes is None else torch.cat([self.prototypes, new])

    @torch.no_grad()
    def predict(self, model, inputs):
        if self.prototypes is None:
            raise RuntimeError("SimpleCIL predicts with prototypes, computed at the task end")
        feats = F.normalize(model.embed(inputs), dim=1)
        return feats @ F.normalize(self.prototypes.to(feats), dim=1).T

    def state_dict(self):
        return {} if self.prototypes is None else {"prototypes": self.prototypes.clone()}

    def load_state_dict(self, state, model):
        self.prototypes = state.get("prototypes")
