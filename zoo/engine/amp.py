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
to fp32 before their softmax (:mod:`zoo.models.classifiers`).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

AMP_DTYPE = torch.bfloat16


def _device_type(model: torch.nn.Module | None) -> str:
    if model is not None:
        for param in model.parameters():
            return param.device.type
    return "cpu"


@contextlib.contextmanager
def bf16_autocast(model: torch.nn.Module | None = None, enabled: bool = True) -> Iterator[None]:
    """``torch.autocast`` to bf16 on the device of ``model``'s parameters (CPU without one)."""
    with torch.autocast(device_type=_device_type(model), dtype=AMP_DTYPE, enabled=enabled):
        yield


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
        with super().optim_context(model), bf16_autocast(model):
            yield


def enable_amp(cfg) -> None:
    """Turn a config to bf16 mixed precision: the optimiser wrapper becomes
    :class:`BF16OptimWrapper` and the validation / test loops run under autocast (mmengine's
    ``fp16`` loop flag, which is bf16 on the CPU).

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
        # other loops (the zoo's continual ones) take no fp16 flag
        if loop is not None and loop.get("type", default) in (default, f"mmengine.{default}"):
            loop["fp16"] = True
