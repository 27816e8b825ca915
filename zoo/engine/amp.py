"""bf16 mixed precision for training and inference on the CPU (and on GPUs that have bf16).

mmengine's ``AmpOptimWrapper`` refuses to be built without a GPU (it asserts CUDA / NPU / MLU
/ MUSA) and scales the loss for fp16, which bf16 does not need: bf16 has fp32's exponent
range, so gradients do not underflow (Kalamkar et al., "A Study of BFLOAT16 for Deep Learning
Training", 2019). :class:`BF16OptimWrapper` is the plain optimiser wrapper whose
``optim_context`` opens ``torch.autocast(dtype=torch.bfloat16)`` on the model's device.

What stays fp32 under autocast (PyTorch's autocast op lists): parameters, gradients and
optimiser state (only the autocast matmul / convolution inputs are cast, per call), the losses
(``cross_entropy``, ``nll_loss``, ``mse_loss``, ... are on the fp32 list), BatchNorm's running
statistics (fp32 buffers, accumulated in fp32 by the CPU kernels). The classifiers cast logits
to fp32 before their softmax (:mod:`zoo.models.classifiers`). Layers reading raw coordinates
(<= 9 input channels) and the classifier head also run in fp32
(:func:`precision_sensitive_modules`): on a small ST-GCN trained on MSR Action3D, plain
autocast changed 2 of 275 test arg-maxes, these fp32 layers 1 (max logit error 0.069 -> 0.020).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

from zoo.registry import HOOKS

from .hook_config import add_custom_hook

AMP_DTYPE = torch.bfloat16


def _device_type(model: torch.nn.Module | None) -> str:
    if model is not None:
        for param in model.parameters():
            return param.device.type
    return "cpu"


# Layers that read raw coordinates (few input channels) cost almost nothing but lose the most
# to bf16's 8-bit mantissa; the classifier head decides the arg-max. Both stay fp32.
RAW_INPUT_CHANNELS = 9  # 3-D joints, bones and motions of up to three streams


def precision_sensitive_modules(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The modules :func:`bf16_autocast` runs in fp32: convolutions / linear layers with at
    most ``RAW_INPUT_CHANNELS`` inputs, and the model's ``cls_head`` when it has one. A narrow
    layer that reads no coordinates opts out with the attribute ``amp_bf16 = True`` (CTR-GC's
    ``conv4`` over its 8 tanh relation channels)."""
    keep = [m for m in model.modules()
            if not getattr(m, "amp_bf16", False) and (
                (isinstance(m, torch.nn.modules.conv._ConvNd)
                 and m.in_channels <= RAW_INPUT_CHANNELS)
                or (isinstance(m, torch.nn.Linear) and m.in_features <= RAW_INPUT_CHANNELS))]
    head = getattr(model, "cls_head", None)
    return keep + ([head] if isinstance(head, torch.nn.Module) else [])


@contextlib.contextmanager
def _fp32_islands(modules: list[torch.nn.Module],
                  open_contexts: list[contextlib.ExitStack] | None = None) -> Iterator[None]:
    """Run ``modules`` with autocast off and floating inputs cast to fp32 (``open_contexts``:
    a stack shared with other hooks, so that a forward that raised unwinds in order)."""
    open_contexts = [] if open_contexts is None else open_contexts

    def enter(module, args):
        stack = contextlib.ExitStack()
        stack.enter_context(torch.autocast(_device_type(module), enabled=False))
        open_contexts.append(stack)
        return tuple(a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a
                     for a in args)

    def leave(module, args, output):
        open_contexts.pop().close()

    handles = [h for m in modules for h in (
        m.register_forward_pre_hook(enter), m.register_forward_hook(leave, always_call=True))]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
        while open_contexts:  # a forward that raised left its context open
            open_contexts.pop().close()


@contextlib.contextmanager
def bf16_autocast(model: torch.nn.Module | None = None, enabled: bool = True,
                  keep_fp32: bool = True) -> Iterator[None]:
    """``torch.autocast`` to bf16 on the device of ``model``'s parameters (CPU without one);
    with ``keep_fp32``, :func:`precision_sensitive_modules` of ``model`` run in fp32."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.autocast(device_type=_device_type(model), dtype=AMP_DTYPE,
                                           enabled=enabled))
        if enabled and keep_fp32 and model is not None:
            stack.enter_context(_fp32_islands(precision_sensitive_modules(model)))
        yield


@contextlib.contextmanager
def bf16_forward(model: torch.nn.Module, enabled: bool = True) -> Iterator[None]:
    """Every forward pass of ``model``'s direct submodules (backbone, head, ...) runs under
    :func:`bf16_autocast`, while the code around them (losses, ``backward`` /
    ``torch.autograd.grad``) runs outside autocast.

    For code that computes losses and gradients by itself (unlearners): a backward pass
    inside ``torch.autocast`` would run the gradients of the fp32 layers in bf16 too
    (autograd re-dispatches their matrix products through autocast).
    """
    if not enabled:
        yield
        return
    open_contexts: list[contextlib.ExitStack] = []
    device = _device_type(model)

    def enter(module, args):
        stack = contextlib.ExitStack()
        stack.enter_context(torch.autocast(device_type=device, dtype=AMP_DTYPE))
        open_contexts.append(stack)

    def leave(module, args, output):
        open_contexts.pop().close()

    children = [m for name, m in model.named_children() if name != "data_preprocessor"]
    if not children:  # a model without submodules: wrap its own forward
        children = [model]
    # the fp32 islands' hooks nest inside the children's: a child's autocast opens before
    # (prepended pre-hook) and closes after (appended later) an island on the same module
    with _fp32_islands(precision_sensitive_modules(model), open_contexts):
        handles = [h for m in children for h in (
            m.register_forward_pre_hook(enter, prepend=True),
            m.register_forward_hook(leave, always_call=True))]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()
            while open_contexts:
                open_contexts.pop().close()


def uses_amp(runner) -> bool:
    """Whether ``runner`` trains with :class:`BF16OptimWrapper` (``--amp``), as a built
    wrapper or still as its config."""
    wrapper = getattr(runner, "optim_wrapper", None)
    if isinstance(wrapper, dict):
        return wrapper.get("type") in ("BF16OptimWrapper", BF16OptimWrapper)
    return isinstance(wrapper, BF16OptimWrapper)


def runner_autocast(runner, model: torch.nn.Module) -> contextlib.AbstractContextManager:
    """:func:`bf16_autocast` of ``model`` when ``runner`` trains under ``--amp``, else a
    no-op: for loops that evaluate by themselves (e.g. the continual loop)."""
    return bf16_autocast(model) if uses_amp(runner) else contextlib.nullcontext()


# Registered in mmengine's root registry: the runner builds optimiser wrappers from there
# (a zoo child registry, if one is added, finds it through its parent).
@OPTIM_WRAPPERS.register_module(force=True)
class BF16OptimWrapper(OptimWrapper):
    """Optimiser wrapper that runs the forward pass and the loss under bf16 autocast.

    Same state dict as :class:`mmengine.optim.OptimWrapper` (no loss scaler: bf16 needs
    none), so a bf16 run resumes exactly and its checkpoints load in fp32 runs.
    """

    @contextlib.contextmanager
    def optim_context(self, model: torch.nn.Module) -> Iterator[None]:
        with super().optim_context(model), bf16_autocast(getattr(model, "module", model)):
            yield


@HOOKS.register_module(force=True)
class BF16InferenceHook(Hook):
    """Runs every validation and test step under :func:`bf16_autocast` with its fp32 layers
    (mmengine's ``fp16`` loop flag alone gives plain autocast)."""

    priority = "VERY_LOW"

    def __init__(self):
        self._context: contextlib.ExitStack | None = None

    def _enter(self, runner, *args, **kwargs) -> None:
        self._context = contextlib.ExitStack()
        model = getattr(runner.model, "module", runner.model)
        self._context.enter_context(bf16_autocast(model))

    def _leave(self, runner, *args, **kwargs) -> None:
        if self._context is not None:
            self._context.close()
            self._context = None

    before_val_iter = before_test_iter = _enter
    after_val_iter = after_test_iter = _leave


def enable_amp(cfg) -> None:
    """Turn a config to bf16 mixed precision: the optimiser wrapper becomes
    :class:`BF16OptimWrapper`, mmengine's ``ValLoop`` / ``TestLoop`` get ``fp16=True`` and
    :class:`BF16InferenceHook` runs their steps under :func:`bf16_autocast`.

    Raises ``ValueError`` when the config already asks for another mixed-precision wrapper.
    """
    wrapper = cfg.get("optim_wrapper")
    if wrapper is not None:
        kind = wrapper.get("type", "OptimWrapper")
        if kind not in ("OptimWrapper", "BF16OptimWrapper", OptimWrapper, BF16OptimWrapper):
            raise ValueError(f"--amp: the config's optim_wrapper is {kind!r}; bf16 autocast "
                             "replaces a plain OptimWrapper only (remove its type or --amp)")
        wrapper["type"] = "BF16OptimWrapper"
    for key, default in (("val_cfg", "ValLoop"), ("test_cfg", "TestLoop")):
        loop = cfg.get(key)
        # mmengine's loops wrap each step in autocast(enabled=fp16): left False, it would
        # switch the hook's autocast off again; other loops take no fp16 flag
        if loop is not None and loop.get("type", default) in (default, f"mmengine.{default}"):
            loop["fp16"] = True
    add_custom_hook(cfg, BF16InferenceHook)
