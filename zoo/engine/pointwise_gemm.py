"""1x1 convolutions as batched matrix products during training: ``--pointwise-gemm``.

On this CPU oneDNN's NCHW 1x1 convolution is slower than the equivalent batched matrix product
in bf16, forward and backward (:mod:`zoo.ops.pointwise_gemm`); the skeleton GCNs are full of
1x1 convolutions (CTR-GCN's bf16 training step: ``benchmarks/results/skeleton_speed_modes.md``).
The values are the same function to rounding; a run's numbers change in the last bits, so the
option is off unless asked for. Checkpoints keep their keys (the parameters are the same
objects)."""
from __future__ import annotations

from mmengine.hooks import Hook

from zoo.ops.pointwise_gemm import pointwise_as_gemm
from zoo.registry import HOOKS

from .hook_config import add_custom_hook


@HOOKS.register_module()
class PointwiseGemmHook(Hook):
    """Swaps the runner's model's 1x1 convolutions for
    :class:`~zoo.ops.pointwise_gemm.PointwiseGemmConv2d` (same parameter objects, so an
    optimiser built on them keeps working). Applied before each run and again before every
    training epoch, so that modules a continual strategy adds between epochs are swapped too.
    """

    priority = "VERY_HIGH"

    def before_run(self, runner) -> None:
        names = pointwise_as_gemm(runner.model)
        if names:
            runner.logger.info(f"PointwiseGemmHook: {len(names)} 1x1 convolutions run as "
                               "batched matrix products")

    before_train_epoch = before_run


def enable_pointwise_gemm(cfg) -> None:
    """Add :class:`PointwiseGemmHook` to ``cfg.custom_hooks`` (once)."""
    add_custom_hook(cfg, PointwiseGemmHook)
