"""What ``tools/train.py`` adds to a built mmengine runner (kept out of the tool)."""
from __future__ import annotations

from .model_card_hook import ModelCardHook
from .quiet_logs import quiet_mmengine_file_client


def finish_runner_setup(runner) -> None:
    """Quiet mmengine's own file-client notes; write a model card into every checkpoint."""
    quiet_mmengine_file_client(runner.logger)
    if not any(isinstance(h, ModelCardHook) for h in runner.hooks):
        runner.register_hook(ModelCardHook(), priority="LOW")
