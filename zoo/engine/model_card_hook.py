"""Writes the run's model card into every checkpoint's ``meta['model_card']``."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from zoo.registry import HOOKS


@HOOKS.register_module()
class ModelCardHook(Hook):
    """Puts :func:`zoo.model_card.config_card` of the run (classes from the training set's
    metainfo, input spec, pipeline, params, GFLOPs) plus the metrics of the latest validation
    before the save into
    ``checkpoint['meta']['model_card']``; ``zoo info PATH.pth`` prints it. The card is built
    once, before training (FLOPs counted on one random clip in eval mode)."""

    priority = "LOW"

    def __init__(self):
        self.card: dict | None = None
        self.last_val: tuple[dict, int, int] | None = None

    def before_train(self, runner) -> None:
        from zoo.model_card import config_card

        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        classes = None
        try:
            metainfo = runner.train_dataloader.dataset.metainfo
            classes = list(metainfo.get("classes") or []) or None
        except (AttributeError, TypeError):
            pass
        try:
            self.card = config_card(runner.cfg, model, classes)
        except (ValueError, RuntimeError, KeyError, TypeError) as exc:
            runner.logger.info(f"model card without complexity: {exc}")
            self.card = {"config": runner.cfg.filename, "classes": classes}

    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        if metrics:
            self.last_val = ({k: float(v) for k, v in metrics.items()
                              if isinstance(v, (int, float))}, runner.epoch, runner.iter)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.card is None:
            return
        card = dict(self.card)
        if self.last_val is None:
            card["measured_metric"] = "no validation before this checkpoint"
        else:
            metrics, epoch, it = self.last_val
            card["measured_metric"] = metrics
            card["measured_at"] = f"validation at epoch {epoch}, iteration {it}"
        checkpoint.setdefault("meta", {})["model_card"] = card
