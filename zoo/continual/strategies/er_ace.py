"""Experience replay with asymmetric cross-entropy (ER-ACE)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.registry import STRATEGIES

from .replay import ER


def asymmetric_ce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the classes present in ``labels`` only: the logits of every other
    class are masked out (ER-ACE's loss on incoming data, Caccia et al. 2022, Eq. 4)."""
    present = torch.zeros(logits.shape[1], dtype=torch.bool, device=logits.device)
    present[labels.unique()] = True
    masked = logits.masked_fill(~present, torch.finfo(logits.dtype).min)
    return F.cross_entropy(masked, labels)


@STRATEGIES.register_module()
class ERACE(ER):
    """ER-ACE (Caccia, Aljundi, Asadi, Tuytelaars, Pineau & Belilovsky, "New Insights on
    Reducing Abrupt Representation Change in Online Continual Learning", ICLR 2022; mammoth
    ``models/er_ace.py``).

    The incoming batch's cross-entropy runs over the classes present in that batch only
    (:func:`asymmetric_ce`), so new samples do not push down the logits of old classes; a
    replay minibatch of the reservoir memory gets the ordinary cross-entropy over all seen
    classes; the two losses are added. In the first task (nothing to protect) the incoming
    loss is the plain cross-entropy, as in mammoth. (Mammoth's full-size head also leaves the
    columns of classes not seen yet unmasked; with the zoo's growing head they do not
    exist.)
    """

    family = "replay"

    def __init__(self, buffer: dict | None = None, replay_batch_size: int | None = None):
        super().__init__(buffer or dict(type="reservoir", size=200), replay_batch_size)

    @property
    def name(self) -> str:
        return "ER-ACE"

    def loss(self, model, inputs, labels):
        logits = model.logits(inputs)
        if self.task == 0:
            return {"loss_cls": F.cross_entropy(logits, labels)}
        losses = {"loss_cls": asymmetric_ce(logits, labels)}
        mem = self.replay_batch(inputs.device)
        if mem is not None:
            losses["loss_replay"] = F.cross_entropy(model.logits(mem["inputs"]), mem["labels"])
        return losses
