"""Experience replay with a reservoir or a class-balanced herding memory."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoo.registry import STRATEGIES

from ..buffers import HerdingBuffer, ReservoirBuffer, build_buffer
from .base import Strategy


@torch.no_grad()
def embed_in_batches(model: nn.Module, inputs: torch.Tensor, batch_size: int = 256
                     ) -> torch.Tensor:
    """``model.embed`` of stored inputs in eval mode (restores the previous mode)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = [model.embed(inputs[i:i + batch_size].to(device)).cpu()
           for i in range(0, len(inputs), batch_size)]
    model.train(was_training)
    return torch.cat(out)


@STRATEGIES.register_module()
class ER(Strategy):
    """Experience replay (Chaudhry et al., "On Tiny Episodic Memories in Continual Learning",
    arXiv 1902.10486, 2019; Rolnick et al., NeurIPS 2019).

    Every step a minibatch of ``replay_batch_size`` memory samples (default: the global
    batch size) is concatenated to the current batch and one cross-entropy is taken over
    both. Memory:

    * ``buffer=dict(type='reservoir', size=N)`` — reservoir sampling of the stream, updated
      after each step with the current batch;
    * ``buffer=dict(type='herding', size=N)`` — class-balanced, ``N // classes`` exemplars per
      class chosen by herding on the embeddings at each task end (iCaRL's selection).
    """

    family = "replay"
    multi_head_ready = True

    def __init__(self, buffer: dict | None = None, replay_batch_size: int | None = None):
        super().__init__()
        self.buffer = build_buffer(buffer or dict(type="reservoir", size=200))
        self.replay_batch_size = replay_batch_size

    @property
    def name(self) -> str:
        return "ER-herding" if isinstance(self.buffer, HerdingBuffer) else "ER"

    def replay_batch(self, device) -> dict[str, torch.Tensor] | None:
        if self.buffer.is_empty():
            return None
        batch = self.replay_sample(self.buffer, self.replay_batch_size)
        return {k: [x.to(device) for x in v] if isinstance(v, list) else v.to(device)
                for k, v in batch.items()}

    def loss(self, model, inputs, labels):
        mem = self.replay_batch(inputs.device if torch.is_tensor(inputs) else inputs[0].device)
        if mem is not None:
            inputs = list(inputs) + list(mem["inputs"]) if isinstance(inputs, list) \
                else torch.cat([inputs, mem["inputs"]])  # MIL bags are lists
            labels = torch.cat([labels, mem["labels"]])
        return {"loss_cls": F.cross_entropy(self.logits_for(model, inputs, labels), labels)}

    def after_iter(self, model, inputs, labels):
        if isinstance(self.buffer, ReservoirBuffer):
            self.buffer_add(self.buffer, inputs, labels)

    def after_task(self, model, task):
        if isinstance(self.buffer, HerdingBuffer):
            inputs, labels = self.context.collect(self.context.task_dataset(task))
            self.buffer.update(inputs, labels, embed_in_batches(model, inputs))

    def state_dict(self):
        return {"buffer": self.buffer.state_dict()}

    def load_state_dict(self, state, model):
        self.buffer.load_state_dict(state["buffer"])
