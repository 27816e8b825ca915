"""The README's main job, shrunk to a few iterations, prints no warning of the zoo's set-up
(and, with ``--vis tensorboard``, writes the loss / accuracy curves to a TensorBoard file):
no "Failed to search registry with scope 'zoo'" fallback (every mmengine root registry the
configs reach has a zoo child) and no FileClient / HardDiskBackend deprecation note."""
from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHRINK = ["train_cfg.max_epochs=2", "train_cfg.val_interval=1",
          "train_dataloader.dataset.num_per_class=2", "val_dataloader.dataset.num_per_class=1",
          "test_dataloader.dataset.num_per_class=1"]


@pytest.fixture(scope="module")
def main_job(tmp_path_factory):
    """The main job, a few iterations, with TensorBoard logging on (``--vis tensorboard``)."""
    work = tmp_path_factory.mktemp("main_job") / "work"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "default"}
    done = subprocess.run(
        [sys.executable, "tools/train.py", "configs/skeleton/stgcn_synthetic.py",
         "--work-dir", str(work), "--vis", "tensorboard", "--cfg-options", *SHRINK],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return done, work


def test_main_job_prints_no_warning(main_job):
    done, work = main_job
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Final test:" in output
    warnings = [line for line in output.splitlines()
                if re.search(r"- WARNING -|Warning:|\bwarn", line, re.IGNORECASE)]
    assert warnings == [], "\n".join(warnings)
    assert list(work.glob("epoch_2.pth")), "no checkpoint written"


def test_tensorboard_event_file_has_the_loss_and_accuracy(main_job):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    done, work = main_job
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    events = sorted(work.glob("*/vis_data/events.out.tfevents.*"))
    assert len(events) == 1, events
    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"loss", "lr", "top1"} <= tags, tags
    losses = [e.value for e in acc.Scalars("loss")]
    assert losses and all(v > 0 and v == v for v in losses)
    top1 = [e.value for e in acc.Scalars("top1")]
    assert len(top1) == 2 and all(0 <= v <= 100 for v in top1)


def test_every_root_registry_has_a_zoo_child():
    import mmengine.registry as roots

    import zoo.registry  # noqa: F401

    names = [n for n in roots.__all__ if n.isupper() and n != "STRATEGIES"]
    assert len(names) >= 20
    missing = [n for n in names if getattr(roots, n)._search_child("zoo") is None]
    assert missing == []


def test_file_client_note_filter_drops_only_those_notes():
    from zoo.engine.quiet_logs import quiet_mmengine_file_client

    logger = logging.getLogger("vszoo-test-quiet")
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger.addHandler(handler)
    quiet_mmengine_file_client(quiet_mmengine_file_client(logger))
    assert len(logger.filters) == 1
    logger.warning('"FileClient" will be deprecated in future. Please use io functions')
    logger.warning('"HardDiskBackend" is the alias of "LocalBackend" and the former ...')
    logger.warning("a real warning")
    assert records == ["a real warning"]


@pytest.mark.parametrize("kind", ["scheduler", "sampler"])
def test_zoo_scope_builds_mmengine_types_without_fallback(kind, caplog):
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    from zoo import registry

    init_default_scope("zoo")
    seen: list[str] = []
    logger = MMLogger.get_current_instance()
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = lambda record: seen.append(record.getMessage())
    logger.addHandler(handler)
    try:
        if kind == "scheduler":
            import torch

            opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
            obj = registry.PARAM_SCHEDULERS.build(dict(type="ConstantLR", optimizer=opt,
                                                       factor=0.5, end=2))
            assert opt.param_groups[0]["lr"] == 0.5
        else:
            obj = registry.DATA_SAMPLERS.build(dict(type="DefaultSampler", dataset=list(range(5)),
                                                    shuffle=False))
            assert list(obj) == [0, 1, 2, 3, 4]
    finally:
        logger.removeHandler(handler)
    assert obj is not None
    assert not [m for m in seen if "Failed to search registry" in m]


def test_checkpoint_carries_the_model_card(main_job, capsys):
    """tools/train.py writes a card into meta['model_card']; `zoo info PATH.pth` prints it."""
    from zoo.cli import main
    from zoo.model_card import checkpoint_card

    done, work = main_job
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert checkpoint_card(work / "epoch_1.pth")["measured_metric"] == \
        "no validation before this checkpoint"
    card = checkpoint_card(work / "epoch_2.pth")
    assert card["config"].endswith("configs/skeleton/stgcn_synthetic.py")
    assert len(card["classes"]) == 10 and all(isinstance(c, str) for c in card["classes"])
    spec = card["input"]
    assert (spec["layout"], spec["joints"], spec["persons"], spec["frames"],
            spec["channels"]) == ("ntu25", 25, 1, 32, 3)
    assert spec["streams"] == ["j"] and card["flops_input"] == [1, 1, 32, 25, 3]
    assert any(step.startswith("GenSkeFeat(") for step in card["pipeline"])
    assert 100_000 < card["params"] < 2_000_000 and card["gflops"] > 0.1
    assert 0 <= card["measured_metric"]["top1"] <= 100  # the validation after epoch 1
    assert card["measured_at"].startswith("validation at epoch 1")
    assert main(["info", str(work / "epoch_2.pth")]) == 0
    out = capsys.readouterr().out
    assert "joints=25" in out and "GenSkeFeat" in out and "measured_metric" in out
