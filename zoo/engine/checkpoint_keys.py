"""Check that a checkpoint loaded by the runner fits its model, before mmengine copies it."""
from __future__ import annotations

import re

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from zoo.checkpoint import CheckpointMismatchError, compare_state_dict
from zoo.registry import HOOKS


@HOOKS.register_module()
class CheckpointKeysHook(Hook):
    """Refuse (``strict``) or explain a checkpoint whose keys do not fit the runner's model.

    mmengine's ``Runner.load_checkpoint`` copies what fits and only logs the rest, so a wrong
    checkpoint evaluates a half-initialised model. ``tools/test.py`` adds this hook with
    ``strict=True``: missing, unexpected and mis-shaped keys raise
    :class:`~zoo.checkpoint.CheckpointMismatchError` naming them (``num_batches_tracked``
    counters of old checkpoints excepted). With ``strict=False`` (fine-tuning) it only logs
    which keys mmengine will skip. Runs last among ``after_load_checkpoint`` hooks, on the
    state dict they leave.
    """

    priority = "LOWEST"

    def __init__(self, strict: bool = True, source: str | None = None):
        self.strict = strict
        self.source = source

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        state = checkpoint.get("state_dict", checkpoint)
        # the same renaming mmengine applies before copying (Runner.load_checkpoint)
        state = {re.sub(r"^module\.", "", k): v for k, v in state.items()}
        report = compare_state_dict(model.state_dict(), state)
        if not (report.serious_missing or report.unexpected or report.mismatched):
            return
        source = self.source or "checkpoint"
        message = f"{source}: the checkpoint does not fit the model: {report.describe()}"
        if self.strict:
            raise CheckpointMismatchError(
                message + "; evaluating it would report the accuracy of a partly initialised "
                "model (a wrong config or checkpoint?)")
        skipped = ", ".join(k for k, _, _ in report.mismatched)
        runner.logger.warning(message + (f"; the model keeps its own initial values for "
                                         f"{skipped} (fine-tuning to a new head?)"
                                         if skipped else ""))


def add_checkpoint_key_check(cfg, strict: bool, source: str | None = None) -> None:
    """Append :class:`CheckpointKeysHook` to ``cfg.custom_hooks`` (``tools/test.py``: strict;
    ``tools/train.py`` with ``load_from``: explain what fine-tuning skips in the run's log)."""
    cfg.custom_hooks = [*cfg.get("custom_hooks", []),
                        dict(type="CheckpointKeysHook", strict=strict, source=source)]
