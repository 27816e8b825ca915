"""``tools/train.py --amp`` on a continual config: training and the loop's own evaluation run
in bf16, and the accuracy matrix stays close to the fp32 run's (issue 21)."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import torch
from mmengine.hooks import Hook

from zoo.registry import HOOKS

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "configs/continual/split_digits/er.py")


@HOOKS.register_module(force=True)
class RecordBackboneDtype(Hook):
    """Records ``(dtype of the backbone output, training mode)`` of every forward (test only)."""

    seen: set = set()

    def before_train(self, runner):
        def record(module, args, out):
            RecordBackboneDtype.seen.add((out.dtype, module.training))

        runner.model.backbone.register_forward_hook(record)


def run(work_dir: Path, *extra: str) -> dict:
    spec = importlib.util.spec_from_file_location("tool_train", REPO / "tools/train.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    RecordBackboneDtype.seen = set()
    work_dir.mkdir()
    config = work_dir / "amp_probe.py"
    config.write_text(f"_base_ = [{CONFIG!r}]\n"
                      "custom_hooks = [dict(type='RecordBackboneDtype')]\n")
    tool.main([str(config), "--work-dir", str(work_dir), *extra, "--cfg-options",
               "train_cfg.epochs_per_task=2", "default_hooks.logger.interval=1000",
               f"experiment_name={work_dir.name}"])
    return json.loads((work_dir / "continual_results.json").read_text())


def test_amp_reaches_continual_training_and_evaluation(tmp_path):
    fp32 = run(tmp_path / "fp32")
    assert RecordBackboneDtype.seen == {(torch.float32, True), (torch.float32, False)}
    bf16 = run(tmp_path / "bf16", "--amp")
    # the training forwards and the evaluation after each task ran in bf16 (ER has no
    # teacher: every eval-mode forward is the loop's evaluation)
    assert RecordBackboneDtype.seen == {(torch.bfloat16, True), (torch.bfloat16, False)}, \
        RecordBackboneDtype.seen
    a = np.array(fp32["accuracy_matrix"], dtype=float)  # None above the diagonal
    b = np.array(bf16["accuracy_matrix"], dtype=float)
    # a real task (split digits, 5 tasks, ER): every entry of the class-incremental matrix
    # within 6 points of fp32, the average accuracy within 3
    print("max matrix difference", np.nanmax(np.abs(a - b)))
    assert np.nanmax(np.abs(a - b)) <= 6.0, (a, b)
    assert abs(fp32["metrics"]["average_accuracy"] - bf16["metrics"]["average_accuracy"]) <= 3.0
    assert bf16["metrics"]["average_accuracy"] > 30.0  # it learned (chance: 10 %)
