"""Bias correction (BiC): a two-parameter linear layer on the new classes' logits, fitted on a
held-out validation part of the memory after each task."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from torch.utils.data import ConcatDataset, Subset

from zoo.registry import STRATEGIES

from ..buffers import HerdingBuffer
from ..dataset import MemoryDataset
from .base import Strategy, frozen_copy, state_of
from .lwf import distillation_kl
from .replay import embed_in_batches


def bias_correct(logits: torch.Tensor, alpha, beta, start: int, stop: int) -> torch.Tensor:
    """BiC's bias correction layer (Wu et al. 2019, Eq. 3): columns ``start:stop`` (the
    classes of the latest task) become ``alpha * o + beta``; the other columns pass
    unchanged. Differentiable in ``alpha`` and ``beta``."""
    out = logits.clone()
    out[:, start:stop] = alpha * logits[:, start:stop] + beta
    return out


def fit_bias_correction(logits: torch.Tensor, labels: torch.Tensor, start: int, stop: int,
                        l2: float = 1e-1, max_iter: int = 200) -> tuple[float, float]:
    """The ``(alpha, beta)`` minimising the mean cross-entropy of the corrected ``logits``
    [N, K] of a held-out validation set plus ``l2 * ((alpha - 1)^2 + beta^2)``; the network
    is fixed (BiC's second stage). The objective is convex in ``(alpha, beta)`` (a linear
    map of the logits under a cross-entropy), so it is minimised to convergence with L-BFGS
    from the identity ``(1, 0)``, in float64."""
    z, y = logits.detach().double(), labels.detach().long()
    params = torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([params], lr=1.0, max_iter=max_iter, tolerance_grad=1e-12,
                            tolerance_change=1e-15, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(bias_correct(z, params[0], params[1], start, stop), y) \
            + l2 * ((params[0] - 1) ** 2 + params[1] ** 2)
        loss.backward()
        return loss

    opt.step(closure)
    return float(params[0].detach()), float(params[1].detach())


@STRATEGIES.register_module()
class BiC(Strategy):
    """BiC (Wu, Chen, Wang, Ye, Liu, Guo & Fu, "Large Scale Incremental Learning", CVPR 2019;
    mammoth ``models/bic.py``, PyCIL ``models/bic.py``).

    Memory of ``memory_size`` samples split into a training part (herding exemplars, as
    iCaRL; ``1 - val_fraction`` of it) and a validation part (``val_fraction``, the paper's
    9:1 split), each class-balanced over the classes seen. From every task,
    ``val_size // num_seen_classes`` random samples per new class are held out of training
    (the validation samples of the new classes, the same number per class as the old ones
    keep) and stored in the validation part.

    Stage 1 (training of task ``t``): the task's data without its held-out samples plus the
    training exemplars, loss ``(1 - lam) CE + lam KD`` with ``lam = n_old / n_seen`` (Eq. 5),
    ``KD`` the temperature-``T`` distillation (Eq. 4) of the old classes' outputs from the
    model of the previous task *with its bias correction* (as mammoth's
    ``distill_after_bic``); the KD is the KL divergence (the gradient of the paper's soft
    cross-entropy), without a ``T^2`` factor.

    Stage 2 (after task ``t >= 1``): the network is fixed and the two parameters of the
    correction layer (:func:`bias_correct`: ``alpha o + beta`` on the logits of task ``t``'s
    classes, the old ones unchanged) are fitted by cross-entropy on the validation samples
    of all seen classes (:func:`fit_bias_correction`). Predictions use the corrected logits.

    Departure: the paper and mammoth fit ``(alpha, beta)`` by SGD / Adam from ``(1, 0)`` for
    a fixed number of epochs; here the convex objective is minimised to convergence, with an
    L2 pull of weight ``bias_l2`` towards the identity, which keeps the optimum finite when
    the few validation samples are separable (a fixed small step budget does so implicitly
    in the reference code).
    """

    family = "replay"

    def __init__(self, memory_size: int = 200, val_fraction: float = 0.1,
                 temperature: float = 2.0, bias_l2: float = 1e-1):
        super().__init__()
        if not 0 < val_fraction < 1:
            raise ValueError(f"BiC val_fraction must be in (0, 1), got {val_fraction}")
        self.val_size = max(1, round(val_fraction * memory_size))
        if self.val_size >= memory_size:
            raise ValueError(f"BiC memory_size {memory_size} leaves no training exemplars "
                             f"with val_fraction {val_fraction}")
        self.memory = HerdingBuffer(memory_size - self.val_size)
        self.val_inputs: torch.Tensor | None = None
        self.val_labels: torch.Tensor | None = None
        self.temperature, self.bias_l2 = float(temperature), float(bias_l2)
        self.correction: tuple[float, float, int, int] | None = None  # alpha, beta, start, stop
        self.teacher = None
        self.teacher_correction: tuple[float, float, int, int] | None = None
        self.history: list[tuple[float, float]] = []  # fitted (alpha, beta) per task >= 1

    # data ---------------------------------------------------------------------------------
    def held_out(self, task: int) -> torch.Tensor:
        """Indices (into ``task_dataset(task)``) of the new classes' validation samples:
        ``val_size // num_seen_classes(task)`` per class, drawn with a generator seeded by
        the run seed and the task (the same at training and at the task end)."""
        labels = torch.as_tensor(self.context.task_dataset(task).labels)
        per_class = self.val_size // self.scenario.num_seen_classes(task)
        if per_class == 0:
            raise ValueError(f"BiC: a validation memory of {self.val_size} samples cannot hold "
                             f"one per class for {self.scenario.num_seen_classes(task)} "
                             f"classes; raise memory_size or val_fraction")
        gen = torch.Generator().manual_seed(self.context.seed * 1_000 + task)
        chosen = []
        for c in labels.unique().tolist():
            idx = torch.nonzero(labels == c).flatten()
            if len(idx) <= per_class:
                raise ValueError(f"BiC: class {c} of task {task} has {len(idx)} samples, "
                                 f"too few to hold out {per_class} for validation")
            chosen.append(idx[torch.randperm(len(idx), generator=gen)[:per_class]])
        return torch.cat(chosen).sort().values

    def _split(self, task: int) -> tuple[Subset, Subset]:
        data = self.context.task_dataset(task)
        held = set(self.held_out(task).tolist())
        train = [i for i in range(len(data)) if i not in held]
        return Subset(data, train), Subset(data, sorted(held))

    def train_dataset(self, task):
        train, _ = self._split(task)
        if self.memory.is_empty():
            return train
        return ConcatDataset([train, MemoryDataset(self.memory.inputs, self.memory.labels)])

    # training -----------------------------------------------------------------------------
    @staticmethod
    def _apply(logits: torch.Tensor, correction) -> torch.Tensor:
        if correction is None:
            return logits
        alpha, beta, start, stop = correction
        return bias_correct(logits, alpha, beta, start, stop)

    def loss(self, model, inputs, labels):
        logits = model.logits(inputs)
        ce = F.cross_entropy(logits, labels)
        if self.teacher is None:
            return {"loss_cls": ce}
        with torch.no_grad():
            old = self._apply(self.teacher.logits(inputs), self.teacher_correction)
        lam = old.shape[1] / logits.shape[1]
        kd = distillation_kl(logits[:, :old.shape[1]], old, self.temperature) \
            / self.temperature ** 2
        return {"loss_cls": (1 - lam) * ce, "loss_kd": lam * kd}

    @torch.no_grad()
    def _logits(self, model, inputs: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        out = torch.cat([model.logits(inputs[i:i + batch_size].to(device)).cpu()
                         for i in range(0, len(inputs), batch_size)])
        model.train(was_training)
        return out

    def after_task(self, model, task):
        train, held = self._split(task)
        new_x, new_y = self.context.collect(held)
        self._store_validation(new_x, new_y, self.scenario.num_seen_classes(task))
        if task > 0:  # stage 2: fit the correction of this task's classes, balanced validation
            val_x, val_y = self.val_inputs, self.val_labels
            start, stop = self.scenario.incremental_range(task)
            alpha, beta = fit_bias_correction(self._logits(model, val_x), val_y, start, stop,
                                              self.bias_l2)
            self.correction = (alpha, beta, start, stop)
            self.history.append((alpha, beta))
            MMLogger.get_current_instance().info(
                f"BiC task {task + 1}: bias correction alpha {alpha:.4f}, beta {beta:.4f} "
                f"fitted on {len(val_y)} validation samples")
        inputs, labels = self.context.collect(train)
        self.memory.update(inputs, labels, embed_in_batches(model, inputs))
        self.teacher = frozen_copy(model)
        self.teacher_correction = self.correction

    def _store_validation(self, inputs, labels, num_classes: int) -> None:
        """Shrink every stored class to ``val_size // num_classes`` and add the new ones."""
        per_class = self.val_size // num_classes
        keep_x, keep_y = [], []
        if self.val_labels is not None:
            for c in self.val_labels.unique().tolist():
                idx = torch.nonzero(self.val_labels == c).flatten()[:per_class]
                keep_x.append(self.val_inputs[idx])
                keep_y.append(self.val_labels[idx])
        self.val_inputs = torch.cat(keep_x + [inputs.cpu()])
        self.val_labels = torch.cat(keep_y + [labels.cpu().long()])

    @torch.no_grad()
    def predict(self, model, inputs):
        return self._apply(model.logits(inputs), self.correction)

    # state --------------------------------------------------------------------------------
    def state_dict(self):
        state = {"memory": self.memory.state_dict(),
                 "history": torch.tensor(self.history, dtype=torch.float64).reshape(-1, 2)}
        if self.val_labels is not None:
            state["val_inputs"], state["val_labels"] = self.val_inputs, self.val_labels
        if self.correction is not None:
            state["correction"] = torch.tensor(self.correction, dtype=torch.float64)
        if self.teacher is not None:
            state["teacher"] = state_of(self.teacher)
        return state

    def load_state_dict(self, state, model):
        def corr(t):
            a, b, s, e = t.tolist()
            return float(a), float(b), int(s), int(e)

        self.memory.load_state_dict(state["memory"])
        self.history = [(float(a), float(b)) for a, b in state["history"].tolist()]
        self.val_inputs, self.val_labels = state.get("val_inputs"), state.get("val_labels")
        self.correction = corr(state["correction"]) if "correction" in state else None
        self.teacher_correction = self.correction
        if "teacher" in state:
            self.teacher = frozen_copy(model)
            self.teacher.load_state_dict(state["teacher"])
