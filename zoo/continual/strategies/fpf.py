"""k-FPF: forgetting-prioritised fine-tuning of the most task-specific modules."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from zoo.registry import STRATEGIES

from ..buffers import ReservoirBuffer
from ..head import classifier_of
from .base import Strategy
from .der import masked_logit_mse

_NORMS = (_BatchNorm, nn.LayerNorm, nn.GroupNorm)
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def parametric_modules(model: nn.Module) -> dict[str, nn.Module]:
    """Modules owning parameters directly (the units FPF chooses from), by name."""
    return {name: m for name, m in model.named_modules()
            if any(True for _ in m.parameters(recurse=False))}


@STRATEGIES.register_module()
class KFPF(Strategy):
    """k-FPF (Zhao, Zhou, Long, Jiang & Zhang, "Does Continual Learning Equally Forget All
    Parameters?", ICML 2023, arXiv 2304.04158).

    Training is plain SGD on the current task (no every-step replay); a reservoir buffer
    collects the stream. ``k`` times over the whole run (every ``max_iters // k`` steps) and,
    with ``at_task_end``, after each task, FPF fine-tunes only the most task-specific modules
    for ``fpf_steps`` steps on buffer minibatches with cross-entropy (k-FPF-CE) plus
    ``kd_alpha`` times the MSE to the logits stored with the samples (k-FPF-KD when > 0).

    Module selection:

    * ``'paper'`` — the modules the paper found most task-specific in class-incremental CNNs:
      normalisation layers, the classifier (``cls_head.fc``) and the first convolution;
    * ``'dynamics'`` — the paper's criterion measured on this run: the ``num_modules``
      parametric modules whose weights moved most between task starts and ends (relative
      L2 change, averaged over tasks), plus the classifier.

    The paper applies FPF regardless of task boundaries; ``at_task_end`` (our addition, on by
    default) gives every evaluation a freshly fine-tuned model.
    """

    family = "replay"

    def __init__(self, buffer_size: int = 200, k: int = 10, fpf_steps: int = 50,
                 fpf_lr: float = 0.05, fpf_batch_size: int | None = None,
                 kd_alpha: float = 0.0, select: str = "paper", num_modules: int = 4,
                 at_task_end: bool = True):
        super().__init__()
        if select not in ("paper", "dynamics"):
            raise ValueError(f"select must be 'paper' or 'dynamics', got {select!r}")
        self.buffer = ReservoirBuffer(buffer_size)
        self.k, self.fpf_steps, self.fpf_lr = k, fpf_steps, fpf_lr
        self.fpf_batch_size, self.kd_alpha = fpf_batch_size, kd_alpha
        self.select, self.num_modules, self.at_task_end = select, num_modules, at_task_end
        self.change_sum: dict[str, float] = {}
        self.change_count = 0
        self._task_start: dict[str, torch.Tensor] = {}
        self._last_logits = None
        self.fpf_calls = 0

    # module choice --------------------------------------------------------------------
    def selected_modules(self, model: nn.Module) -> list[str]:
        modules = parametric_modules(model)
        head = next(n for n, m in modules.items() if m is classifier_of(model))
        if self.select == "paper":
            chosen = [n for n, m in modules.items() if isinstance(m, _NORMS)]
            convs = [n for n, m in modules.items() if isinstance(m, _CONVS)]
            chosen += convs[:1]
        else:
            scores = self.relative_change(model)
            ranked = sorted((n for n in scores if n != head), key=lambda n: -scores[n])
            chosen = ranked[:self.num_modules]
        return sorted(set(chosen) | {head}, key=list(modules).index)

    def _snapshot(self, model) -> dict[str, torch.Tensor]:
        return {n: torch.cat([p.detach().flatten() for p in m.parameters(recurse=False)]).cpu()
                for n, m in parametric_modules(model).items()}

    def relative_change(self, model) -> dict[str, float]:
        """Mean relative weight change per module over finished tasks (or, before any task
        has finished, since the start of the current one)."""
        if self.change_count:
            return {n: s / self.change_count for n, s in self.change_sum.items()}
        now = self._snapshot(model)
        return {n: float((now[n][:len(v)] - v).norm() / v.norm().clamp_min(1e-12))
                for n, v in self._task_start.items() if n in now}

    # training ---------------------------------------------------------------------------
    def before_task(self, model, task):
        self._task_start = self._snapshot(model)

    def loss(self, model, inputs, labels):
        logits = model.logits(inputs)
        self._last_logits = logits.detach()
        return {"loss_cls": F.cross_entropy(logits, labels)}

    def after_iter(self, model, inputs, labels):
        self.buffer_add(self.buffer, inputs, labels, logits=self._last_logits)
        interval = max(1, self.context.max_iters // max(1, self.k))
        if (self.context.iter + 1) % interval == 0:
            self.fpf(model)

    def after_task(self, model, task):
        now = self._snapshot(model)
        for n, v in self._task_start.items():
            if n in now:
                change = float((now[n][:len(v)] - v).norm() / v.norm().clamp_min(1e-12))
                self.change_sum[n] = self.change_sum.get(n, 0.0) + change
        self.change_count += 1
        if self.at_task_end:
            self.fpf(model)

    def fpf(self, model: nn.Module) -> list[str]:
        """Fine-tune the selected modules on buffer minibatches; return their names."""
        if self.buffer.is_empty():
            return []
        names = self.selected_modules(model)
        modules = parametric_modules(model)
        params = [p for n in names for p in modules[n].parameters(recurse=False)]
        chosen_ids = {id(modules[n]) for n in names}
        # frozen normalisation layers keep their running statistics
        frozen_norms = [m for m in model.modules()
                        if isinstance(m, _BatchNorm) and id(m) not in chosen_ids and m.training]
        for m in frozen_norms:
            m.eval()
        device = params[0].device
        batch = self.fpf_batch_size or self.context.global_batch_size
        for _ in range(self.fpf_steps):
            # the same batch on every rank: the update below is not all-reduced
            mem = {k: v.to(device) for k, v in
                   self.buffer.sample(batch, generator=self.context.generator).items()}
            logits = model.logits(mem["inputs"])
            loss = F.cross_entropy(logits, mem["labels"])
            if self.kd_alpha > 0:
                loss = loss + self.kd_alpha * masked_logit_mse(logits, mem["logits"],
                                                               mem["logit_width"])
            grads = torch.autograd.grad(loss, params, allow_unused=True)
            with torch.no_grad():
                for p, g in zip(params, grads):
                    if g is not None:
                        p.sub_(self.fpf_lr * g)
        for m in frozen_norms:
            m.train()
        self.fpf_calls += 1
        return names

    def state_dict(self):
        return {"buffer": self.buffer.state_dict(), "change_sum": dict(self.change_sum),
                "change_count": self.change_count, "fpf_calls": self.fpf_calls}

    def load_state_dict(self, state, model):
        self.buffer.load_state_dict(state["buffer"])
        self.change_sum = {k: float(v) for k, v in state["change_sum"].items()}
        self.change_count = int(state["change_count"])
        self.fpf_calls = int(state["fpf_calls"])
