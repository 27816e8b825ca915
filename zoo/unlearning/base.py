"""Base classes of unlearners.

An unlearner edits a trained model in place so that it forgets the current request of an
:class:`~zoo.unlearning.context.UnlearnContext` (``ctx.forget_idx``) while keeping the retain
set (``ctx.retain_idx``). Gradient-based unlearners split every step into a *forget* objective
and a *retain* objective; the forget gradient can be passed through the geometric-
disentanglement projection (:mod:`zoo.unlearning.projection`) before the two are added.
"""
from __future__ import annotations

import copy
import itertools

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from torch import nn
from tqdm import tqdm

from zoo.unlearning.projection import build_projector


class BaseUnlearner:
    """Interface: ``unlearn(model, ctx)`` edits ``model`` for the current request."""

    #: whether the unlearner needs the retain set (all here do except SSD)
    uses_retain_data = True

    def unlearn(self, model: nn.Module, ctx) -> nn.Module:
        raise NotImplementedError(f"{type(self).__name__} must implement unlearn(model, ctx)")

    def config(self) -> dict:
        """Hyper-parameters (for the report)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}


def ce(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(model.logits(inputs), labels)


def random_init_model(model: nn.Module, cfg=None, seed: int = 0) -> nn.Module:
    """A randomly initialised model of the same architecture as ``model``, in eval mode: the
    config's model freshly built (``zoo.apis.init_model`` without a checkpoint) under a fixed
    seed, or without a config a copy of ``model`` whose modules all run their own
    ``reset_parameters`` / ``reset_running_stats``. Used as the incompetent teacher of
    bad-teacher distillation and as the reference of the ZRF score. The global RNG state is
    restored afterwards."""
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        if cfg is not None:
            from zoo.apis import init_model

            fresh = init_model(cfg)
        else:
            fresh = copy.deepcopy(model)
            for module in fresh.modules():
                if hasattr(module, "reset_running_stats"):
                    module.reset_running_stats()
                if hasattr(module, "reset_parameters"):
                    module.reset_parameters()
    finally:
        torch.random.set_rng_state(state)
    device = next(model.parameters()).device
    return fresh.to(device).eval()


def make_optimizer(params, name: str, lr: float, momentum: float = 0.9,
                   weight_decay: float = 0.0) -> torch.optim.Optimizer:
    if name.lower() == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name.lower() == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; use 'sgd' or 'adam'")


class GradientUnlearner(BaseUnlearner):
    """Epochs of steps that add a forget gradient and a retain gradient.

    Subclasses define :meth:`forget_loss` (``None`` when they have no forget objective) and
    :meth:`retain_loss`. One epoch is one pass over the retain set (``steps='retain'``) or
    over the forget set (``steps='forget'``); the other set is cycled.

    Args:
        epochs: passes.
        lr, optimizer, momentum, weight_decay: optimiser of the update.
        batch_size: batch size of both loaders (default: the config's).
        projection: ``None``, ``True`` or the arguments of
            :class:`~zoo.unlearning.projection.RetainGradientProjector`: execute only the part
            of each forget gradient orthogonal to the retain-gradient subspace (GU).
        steps: ``'retain'`` or ``'forget'`` (what one epoch iterates over).
        max_grad_norm: clip the summed update (``None``: no clipping).
    """

    def __init__(self, epochs: int = 2, lr: float = 0.01, optimizer: str = "sgd",
                 momentum: float = 0.9, weight_decay: float = 0.0, batch_size: int | None = None,
                 projection=None, steps: str = "retain", max_grad_norm: float | None = 5.0):
        if steps not in ("retain", "forget"):
            raise ValueError(f"steps must be 'retain' or 'forget', got {steps!r}")
        self.epochs, self.lr, self.optimizer = epochs, lr, optimizer
        self.momentum, self.weight_decay, self.batch_size = momentum, weight_decay, batch_size
        self.projection, self.steps, self.max_grad_norm = projection, steps, max_grad_norm

    # ---- to override ------------------------------------------------------------------
    def forget_loss(self, model, inputs, labels) -> torch.Tensor | None:
        return None

    def retain_loss(self, model, inputs, labels) -> torch.Tensor | None:
        return ce(model, inputs, labels)

    def trainable(self, model: nn.Module) -> list[nn.Parameter]:
        return [p for p in model.parameters() if p.requires_grad]

    def setup(self, model: nn.Module, ctx) -> None:
        """Called before the first step of a request."""

    def after_step(self, model: nn.Module) -> None:
        """Called after every optimiser step."""

    def before_epoch(self, epoch: int) -> None:
        """Called before every epoch (0-based)."""

    def edit_gradients(self, params: list[nn.Parameter]) -> None:
        """Called once ``p.grad`` holds the summed update, before clipping and the step."""

    def train_mode(self) -> bool:
        return True

    # ---- loop ---------------------------------------------------------------------------
    def unlearn(self, model: nn.Module, ctx) -> nn.Module:
        self.setup(model, ctx)
        params = self.trainable(model)
        opt = make_optimizer(params, self.optimizer, self.lr, self.momentum, self.weight_decay)
        projector = build_projector(self.projection)
        has_forget = type(self).forget_loss is not GradientUnlearner.forget_loss
        if projector is not None and not has_forget:
            raise ValueError(f"{type(self).__name__} has no forget update to project")
        retain_stream = ctx.cycle("retain", model, batch_size=self.batch_size)

        def retain_for_projection():
            was_training = model.training
            model.eval()  # the subspace is measured without touching BN statistics
            x, y = next(retain_stream)
            loss = ce(model, x, y)
            model.train(was_training)
            return loss

        logger = MMLogger.get_current_instance()
        model.train(self.train_mode())
        for epoch in range(self.epochs):
            self.before_epoch(epoch)
            if not self.uses_retain_data:  # forget-only unlearners never load retain data
                main = ctx.loader("forget", model, batch_size=self.batch_size)
                pairs = ((f, None) for f in main)
                total = ctx.num_batches("forget", self.batch_size)
            elif self.steps == "retain" or not has_forget:
                main = ctx.loader("retain", model, batch_size=self.batch_size)
                other = ctx.cycle("forget", model, batch_size=self.batch_size) \
                    if has_forget else itertools.repeat(None)
                pairs = ((f, r) for r, f in zip(main, other))
                total = ctx.num_batches("retain", self.batch_size)
            else:
                main = ctx.loader("forget", model, batch_size=self.batch_size)
                pairs = zip(main, ctx.cycle("retain", model, batch_size=self.batch_size))
                total = ctx.num_batches("forget", self.batch_size)
            last = {}
            for forget_batch, retain_batch in tqdm(pairs, total=total, leave=False,
                                                   desc=f"{type(self).__name__} {epoch + 1}"):
                last = self.step(model, params, opt, forget_batch, retain_batch,
                                 projector, retain_for_projection)
            logger.info(f"{type(self).__name__} epoch {epoch + 1}/{self.epochs}: "
                        + "  ".join(f"{k} {v:.4f}" for k, v in last.items()))
        model.eval()
        return model

    def step(self, model, params, opt, forget_batch, retain_batch, projector=None,
             retain_for_projection=None) -> dict:
        """One update: (projected) forget gradient + retain gradient."""
        opt.zero_grad(set_to_none=True)
        total = [torch.zeros_like(p) for p in params]
        log = {}
        if forget_batch is not None:
            lf = self.forget_loss(model, *forget_batch)
            if lf is not None:
                gf = torch.autograd.grad(lf, params, allow_unused=True)
                gf = [torch.zeros_like(p) if g is None else g for g, p in zip(gf, params)]
                if projector is not None:
                    gf = projector.project(gf, params, retain_for_projection)
                total = [t + g for t, g in zip(total, gf)]
                log["forget_loss"] = float(lf.detach())
        if retain_batch is not None:
            lr_ = self.retain_loss(model, *retain_batch)
            if lr_ is not None:
                gr = torch.autograd.grad(lr_, params, allow_unused=True)
                total = [t if g is None else t + g for t, g in zip(total, gr)]
                log["retain_loss"] = float(lr_.detach())
        for p, g in zip(params, total):
            p.grad = g.detach()
        self.edit_gradients(params)
        if self.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(params, self.max_grad_norm)
        opt.step()
        self.after_step(model)
        return log
