"""Replay memories holding packed model inputs as tensors.

* :class:`ReservoirBuffer` — reservoir sampling (Vitter, "Random sampling with a reservoir",
  ACM TOMS 1985): after ``n`` offered samples each one is in the buffer with probability
  ``size / n``; used by ER (Chaudhry et al., "On Tiny Episodic Memories in Continual
  Learning", 2019), DER++ and PCR. Optional per-sample logits (DER) and features (HPCR).
* :class:`HerdingBuffer` — class-balanced memory filled at task ends by herding (Welling,
  "Herding dynamical weights to learn", ICML 2009; iCaRL's Algorithm 4): ``size // C``
  exemplars per class, each class keeps the prefix of its herding order when shrunk.

Everything in ``state_dict()`` is a tensor or a plain number, so a checkpoint holding it
loads with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

_FIELDS = ("inputs", "labels", "logits", "logit_width", "features")


class TensorMemory:
    """Common storage: ``inputs`` [n, ...], ``labels`` [n], optional ``logits`` [n, W] (with
    ``logit_width`` [n], the number of valid columns of each row) and ``features`` [n, D]."""

    def __init__(self, size: int):
        if size <= 0:
            raise ValueError(f"buffer size must be positive, got {size}")
        self.size = int(size)
        self.inputs: torch.Tensor | None = None
        self.labels: torch.Tensor | None = None
        self.logits: torch.Tensor | None = None
        self.logit_width: torch.Tensor | None = None
        self.features: torch.Tensor | None = None

    def __len__(self) -> int:
        return 0 if self.labels is None else len(self.labels)

    def is_empty(self) -> bool:
        return len(self) == 0

    def class_counts(self) -> dict[int, int]:
        if self.is_empty():
            return {}
        values, counts = torch.unique(self.labels, return_counts=True)
        return {int(v): int(c) for v, c in zip(values, counts)}

    def sample(self, n: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """``min(n, len)`` distinct stored samples drawn uniformly."""
        if self.is_empty():
            raise RuntimeError("cannot sample from an empty buffer")
        idx = torch.randperm(len(self), generator=generator)[:n]
        return self.gather(idx)

    def gather(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {}
        for name in _FIELDS:
            value = getattr(self, name)
            if isinstance(value, list):  # bags of different sizes (MIL)
                out[name] = [value[int(i)] for i in idx]
            elif value is not None:
                out[name] = value[idx]
        return out

    @staticmethod
    def _pad_logits(logits: torch.Tensor, width: int) -> torch.Tensor:
        return F.pad(logits, (0, width - logits.shape[1])) if logits.shape[1] < width else logits

    def state_dict(self) -> dict:
        state = {"size": self.size}
        for name in _FIELDS:
            value = getattr(self, name)
            if isinstance(value, list):
                state[name] = [v.detach().cpu().clone() for v in value]
            elif value is not None:
                state[name] = value.detach().cpu().clone()
        return state

    def load_state_dict(self, state: dict) -> None:
        if int(state["size"]) != self.size:
            raise ValueError(f"buffer state holds size {state['size']}, this buffer has "
                             f"size {self.size}")
        for name in _FIELDS:
            setattr(self, name, state.get(name))


class ReservoirBuffer(TensorMemory):
    """Reservoir sampling over the stream of training samples (task-agnostic)."""

    def __init__(self, size: int):
        super().__init__(size)
        self.num_seen = 0

    def _allocate(self, inputs, logits, features) -> None:
        self.inputs = [] if isinstance(inputs, list) else inputs.new_zeros((0, *inputs.shape[1:]))
        self.labels = torch.zeros(0, dtype=torch.long)
        if logits is not None:
            self.logits = logits.new_zeros((0, logits.shape[1]))
            self.logit_width = torch.zeros(0, dtype=torch.long)
        if features is not None:
            self.features = features.new_zeros((0, features.shape[1]))

    def add(self, inputs: torch.Tensor, labels: torch.Tensor, logits: torch.Tensor | None = None,
            features: torch.Tensor | None = None,
            generator: torch.Generator | None = None) -> None:
        """Offer a batch; each sample replaces a random slot with probability size/seen.

        ``inputs`` is a tensor ``[B, ...]`` or a list of tensors of different shapes (MIL
        bags ``[N_i, D]``), stored as a list."""
        if isinstance(inputs, (list, tuple)):
            inputs = [x.detach().cpu() for x in inputs]
        else:
            inputs = inputs.detach().cpu()
        labels = labels.detach().cpu().long()
        logits = None if logits is None else logits.detach().cpu().float()
        features = None if features is None else features.detach().cpu().float()
        if self.inputs is None:
            self._allocate(inputs, logits, features)
        if logits is not None and logits.shape[1] > self.logits.shape[1]:
            self.logits = self._pad_logits(self.logits, logits.shape[1])
        for i in range(len(labels)):
            if len(self) < self.size:
                if isinstance(self.inputs, list):
                    self.inputs.append(inputs[i])
                else:
                    self.inputs = torch.cat([self.inputs, inputs[i:i + 1]])
                self.labels = torch.cat([self.labels, labels[i:i + 1]])
                if logits is not None:
                    row = self._pad_logits(logits[i:i + 1], self.logits.shape[1])
                    self.logits = torch.cat([self.logits, row])
                    self.logit_width = torch.cat(
                        [self.logit_width, torch.tensor([logits.shape[1]])])
                if features is not None:
                    self.features = torch.cat([self.features, features[i:i + 1]])
            else:
                slot = int(torch.randint(0, self.num_seen + 1, (1,), generator=generator))
                if slot < self.size:
                    self.inputs[slot] = inputs[i]
                    self.labels[slot] = labels[i]
                    if logits is not None:
                        self.logits[slot] = self._pad_logits(
                            logits[i:i + 1], self.logits.shape[1])[0]
                        self.logit_width[slot] = logits.shape[1]
                    if features is not None:
                        self.features[slot] = features[i]
            self.num_seen += 1

    def state_dict(self) -> dict:
        return {**super().state_dict(), "num_seen": self.num_seen}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.num_seen = int(state["num_seen"])


def herding_order(features: torch.Tensor, m: int) -> torch.Tensor:
    """Indices of ``m`` samples chosen greedily so the running mean of their L2-normalised
    features stays closest to the class mean (iCaRL, Algorithm 4); no sample twice."""
    feats = F.normalize(features.double(), dim=1)
    mean = feats.mean(0)
    chosen: list[int] = []
    running = torch.zeros_like(mean)
    available = torch.ones(len(feats), dtype=torch.bool)
    for k in range(1, min(m, len(feats)) + 1):
        dist = ((mean - (running + feats) / k) ** 2).sum(1)
        dist[~available] = float("inf")
        best = int(dist.argmin())
        chosen.append(best)
        available[best] = False
        running += feats[best]
    return torch.tensor(chosen, dtype=torch.long)


class HerdingBuffer(TensorMemory):
    """Class-balanced exemplar memory of total ``size`` filled by herding at task ends."""

    def update(self, inputs: torch.Tensor, labels: torch.Tensor, features: torch.Tensor) -> None:
        """Add the classes of ``labels`` (all their samples given with their embeddings) and
        shrink every class to ``size // num_classes`` exemplars."""
        if isinstance(inputs, (list, tuple)):
            raise TypeError("HerdingBuffer stores stacked tensors; lists of differently sized "
                            "inputs (MIL bags) need buffer=dict(type='reservoir')")
        inputs, labels = inputs.detach().cpu(), labels.detach().cpu().long()
        features = features.detach().cpu()
        new_classes = torch.unique(labels).tolist()
        old = self.class_counts()
        overlap = sorted(set(old) & set(new_classes))
        if overlap:
            raise ValueError(f"HerdingBuffer: classes {overlap} are already in the memory")
        per_class = self.size // (len(old) + len(new_classes))
        if per_class == 0:
            raise ValueError(f"HerdingBuffer of size {self.size} cannot hold one exemplar for "
                             f"each of {len(old) + len(new_classes)} classes")
        keep_inputs, keep_labels = [], []
        for c in old:  # stored in herding order: keep the prefix
            idx = torch.nonzero(self.labels == c).flatten()[:per_class]
            keep_inputs.append(self.inputs[idx])
            keep_labels.append(self.labels[idx])
        for c in new_classes:
            idx = torch.nonzero(labels == c).flatten()
            order = idx[herding_order(features[idx], per_class)]
            keep_inputs.append(inputs[order])
            keep_labels.append(labels[order])
        self.inputs = torch.cat(keep_inputs)
        self.labels = torch.cat(keep_labels)


def build_buffer(cfg: dict | TensorMemory) -> TensorMemory:
    """``dict(type='reservoir' | 'herding', size=N)`` -> a buffer."""
    if isinstance(cfg, TensorMemory):
        return cfg
    cfg = dict(cfg)
    kind = cfg.pop("type", "reservoir").lower()
    kinds = {"reservoir": ReservoirBuffer, "herding": HerdingBuffer}
    if kind not in kinds:
        raise ValueError(f"unknown buffer type {kind!r}; use one of {sorted(kinds)}")
    return kinds[kind](**cfg)
