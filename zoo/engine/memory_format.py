"""Channels-last (NHWC / NDHWC) weights for convolutional models: ``--channels-last``.

oneDNN, which runs PyTorch's CPU convolutions, computes a convolution in channels-last memory
when its input or its weight is channels last, and pooling, BatchNorm and activations then
follow that layout. The NCHW kernels of small feature maps are slow: a split-digits SmallCNN
training step (128 samples of 8x8, one thread) takes 11.6 ms with NCHW weights and 7.7 ms
with channels-last ones (``benchmarks/results/continual_hot_paths.md``); NCHW max pooling
alone was a fifth of the step. The values are the same function to rounding; the results of
a run change in the last bits, so the option is off unless asked for."""
from __future__ import annotations

import torch
from mmengine.hooks import Hook

from zoo.registry import HOOKS

from .hook_config import add_custom_hook


def _to_channels_last(tensor: torch.Tensor) -> torch.Tensor:
    # ``.to``, not ``.contiguous``: a tensor with one channel (a first convolution's weight
    # over a grey image) is contiguous in both formats, and ``.contiguous`` keeps its NCHW
    # strides, from which oneDNN infers NCHW: that layer and the pooling after it would stay
    # in the slow layout
    if tensor.dim() == 4:
        return tensor.to(memory_format=torch.channels_last)
    if tensor.dim() == 5:
        return tensor.to(memory_format=torch.channels_last_3d)
    return tensor


def channels_last_(model: torch.nn.Module) -> int:
    """Store every 4-D parameter / buffer of ``model`` channels last (5-D: channels last 3-D),
    in place: the parameter objects stay the same, so an optimiser built on them keeps working.
    Returns how many tensors changed their strides."""
    moved = 0
    for tensor in (*model.parameters(), *model.buffers()):
        if tensor.dim() in (4, 5):
            converted = _to_channels_last(tensor)
            if converted.stride() != tensor.stride():
                tensor.data = converted
                moved += 1
    return moved


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Keeps the runner's model in channels-last memory (:func:`channels_last_`).

    Applied before each run (``Runner.train`` / ``val`` / ``test`` all start with
    ``before_run``) and again before every training epoch, so that modules a loop or a
    continual strategy adds between epochs (CLR's task convolutions, say) are converted too;
    a model already channels last is left untouched.
    """

    priority = "VERY_HIGH"

    def before_run(self, runner) -> None:
        moved = channels_last_(runner.model)
        if moved:
            runner.logger.info(f"ChannelsLastHook: {moved} weight tensors stored channels last")

    before_train_epoch = before_run


def enable_channels_last(cfg) -> None:
    """Add :class:`ChannelsLastHook` to ``cfg.custom_hooks`` (once)."""
    add_custom_hook(cfg, ChannelsLastHook)
