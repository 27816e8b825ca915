"""Test-time PNGs of HealthiVert-GAN: input slice, real slice, synthesis and height profiles."""
from __future__ import annotations

import os.path as osp
from collections import defaultdict

import numpy as np
from mmengine.hooks import Hook

from zoo.registry import HOOKS

from .healthivert_eval import plot_healthivert_demo


@HOOKS.register_module()
class HealthiVertVisualizationHook(Hook):
    """Writes one PNG per tested vertebra (its centre sagittal slice), up to ``max_images``:
    the band input, the real (fractured) slice, the synthesised pseudo-healthy slice and the
    column-height profiles. ``tools/test.py --show-dir DIR`` adds it."""

    priority = "LOW"

    def __init__(self, out_dir: str, max_images: int = 8):
        self.out_dir, self.max_images = out_dir, max_images
        self._slices: dict[tuple, list[tuple[dict, np.ndarray]]] = defaultdict(list)

    def before_test_epoch(self, runner) -> None:
        self._slices.clear()

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        inputs = data_batch["inputs"]
        for i, pred in enumerate(outputs):
            key = (int(pred["case_id"]), int(pred["label"]))
            if key not in self._slices and len(self._slices) >= self.max_images:
                continue
            pred = dict(pred, masked=inputs["masked"][i, 0].cpu().numpy())
            self._slices[key].append((pred, inputs["real"][i, 0].cpu().numpy()))

    def after_test_epoch(self, runner, metrics=None) -> None:
        import os

        os.makedirs(self.out_dir, exist_ok=True)
        for (case, label), items in sorted(self._slices.items()):
            centre = np.mean([p["slice_index"] for p, _ in items])
            pred, real = min(items, key=lambda it: abs(it[0]["slice_index"] - centre))
            loss = np.asarray(pred.get("true_loss", []), float)
            planted = (" (planted loss " + ", ".join(f"{v:.0%}" for v in loss) + ")"
                       if loss.size else "")
            plot_healthivert_demo(
                pred, real, osp.join(self.out_dir, f"case{case:04d}_vertebra{label}.png"),
                title=f"case {case}, vertebra {label}, grade {int(pred.get('grade', -1))}"
                      f"{planted}")
        runner.logger.info(f"HealthiVert PNGs of {len(self._slices)} vertebrae -> {self.out_dir}")
