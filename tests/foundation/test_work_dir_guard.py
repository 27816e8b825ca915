"""tools/train.py refuses to train into a work dir holding another run unless asked to resume
or to move it aside (issue 18 item 3); an empty training split is named (item 10)."""
import importlib.util
from pathlib import Path

import pytest
from zoo.datasets.skeleton.base import EmptySplitError

from zoo.work_dir import WorkDirInUseError, guard_work_dir

REPO = Path(__file__).resolve().parents[2]
SYNTHETIC = str(REPO / "configs/skeleton/stgcn_synthetic.py")
TINY = [
    "model.backbone.base_channels=8", "model.backbone.num_stages=3",
    "model.backbone.inflate_stages=[2]", "model.backbone.down_stages=[2]",
    "model.cls_head.in_channels=16", "model.cls_head.num_classes=4",
    "train_dataloader.dataset.num_per_class=4", "train_dataloader.dataset.num_classes=4",
    "val_dataloader.dataset.num_per_class=2", "val_dataloader.dataset.num_classes=4",
    "test_dataloader.dataset.num_per_class=2", "test_dataloader.dataset.num_classes=4",
    "train_dataloader.batch_size=8", "param_scheduler.0.T_max=2",
]


def train_tool():
    spec = importlib.util.spec_from_file_location("tool_train", REPO / "tools/train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train(work_dir, epochs, *flags, options=()):
    return train_tool().main([SYNTHETIC, "--work-dir", str(work_dir), "--no-test", *flags,
                              "--cfg-options", *TINY, f"train_cfg.max_epochs={epochs}",
                              "train_cfg.val_interval=10", *options])


def test_second_run_is_refused_then_moved_aside_on_request(tmp_path):
    work_dir = tmp_path / "run"
    train(work_dir, 2)
    before = {p.name: p.read_bytes() for p in work_dir.glob("*.pth")}
    assert set(before) == {"epoch_1.pth", "epoch_2.pth"}

    with pytest.raises(WorkDirInUseError) as info:
        train(work_dir, 1)
    message = str(info.value)
    assert str(work_dir) in message and "--resume" in message and "--move-old-run" in message
    assert {p.name: p.read_bytes() for p in work_dir.glob("*.pth")} == before  # untouched

    train(work_dir, 1, "--move-old-run")
    old = [p for p in tmp_path.iterdir() if p.name.startswith("run_old_")]
    assert len(old) == 1
    assert {p.name: p.read_bytes() for p in old[0].glob("*.pth")} == before
    assert sorted(p.name for p in work_dir.glob("*.pth")) == ["epoch_1.pth"]
    assert (work_dir / "last_checkpoint").read_text().strip().endswith("run/epoch_1.pth")
    assert (work_dir / "epoch_1.pth").read_bytes() != before["epoch_1.pth"]


def test_resume_and_fresh_folders_pass(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "epoch_3.pth").write_bytes(b"x")
    assert guard_work_dir(tmp_path / "a", resume=True) is None
    with pytest.raises(ValueError, match="pass one of them"):
        guard_work_dir(tmp_path / "a", resume=True, move_old_run=True)
    assert guard_work_dir(tmp_path / "missing", resume=False) is None
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "20261206_010101").mkdir()  # logs only: no run to protect
    assert guard_work_dir(tmp_path / "b", resume=False) is None
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "last_task_checkpoint").write_text("task_2.pth")
    with pytest.raises(WorkDirInUseError, match="last_task_checkpoint"):
        guard_work_dir(tmp_path / "c", resume=False)
    assert guard_work_dir(tmp_path / "c", resume=False, move_old_run=True, rank=1) is None
    assert (tmp_path / "c" / "last_task_checkpoint").exists()  # only rank 0 moves


def test_empty_training_split_stops_before_mmengine(tmp_path):
    with pytest.raises(EmptySplitError, match=r"SyntheticSkeletonActions: split='train'.* "
                                              "selects no samples"):
        train(tmp_path / "empty", 1, options=["train_dataloader.dataset.num_per_class=0"])
