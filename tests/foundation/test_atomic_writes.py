"""Atomic writes (zoo.fileio): the umask is followed (issue 18 item 10), and a process killed
while it writes leaves the previous file intact and no orphan after the next run (issue 18,
"kill a run while it writes a checkpoint")."""
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from zoo.checkpoint import safe_torch_load
from zoo.fileio import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    atomic_writer,
    remove_orphaned_temporaries,
)

REPO = Path(__file__).resolve().parents[2]
SYNTHETIC = str(REPO / "configs/skeleton/stgcn_synthetic.py")


@pytest.fixture
def umask():
    def set_mask(mask):
        os.umask(mask)

    old = os.umask(0o022)
    yield set_mask
    os.umask(old)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_written_files_follow_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    atomic_write_bytes(tmp_path / "a.bin", b"x")
    atomic_write_text(tmp_path / "b.json", "{}")
    with atomic_path(tmp_path / "c.npz") as tmp:
        tmp.write_bytes(b"y")
    for name in ("a.bin", "b.json", "c.npz"):
        assert (tmp_path / name).stat().st_mode & 0o777 == mode, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.json", "c.npz"]


def test_mmengine_checkpoints_and_dumps_follow_the_umask(tmp_path, umask):
    from mmengine.runner.checkpoint import save_checkpoint

    from zoo.engine.atomic_io import install_atomic_backend

    install_atomic_backend()  # explicit: importing zoo.engine changes nothing (issue 19)
    umask(0o022)
    save_checkpoint({"state_dict": {"w": torch.ones(2)}}, str(tmp_path / "epoch_1.pth"))
    assert (tmp_path / "epoch_1.pth").stat().st_mode & 0o777 == 0o644


def test_an_error_inside_the_writer_keeps_the_old_file(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_writer(target, "w") as f:
            f.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_the_writer_refuses_other_modes(tmp_path):
    with pytest.raises(ValueError, match="mode must be 'wb' or 'w'"):
        with atomic_writer(tmp_path / "x", "a"):
            pass


# --- killed mid-write -------------------------------------------------------------------------

STALLED_WRITER = """
import os, sys, time
import zoo.fileio as fileio
target = sys.argv[1]
def stall(fd):  # the data are in the temporary file, the rename has not happened
    print("WRITING", flush=True)
    time.sleep(120)
os.fsync = stall
fileio.atomic_write_bytes(target, b"new" * 100000)
"""


def wait_for(process, marker: str, timeout: float = 120.0) -> None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"the child ended before {marker!r}: "
                                 f"{process.stderr.read()[-2000:]}")
        if line.strip() == marker:
            return
    raise AssertionError(f"no {marker!r} within {timeout} s")


def test_kill_during_a_write_keeps_the_old_file_and_the_orphan_is_removed(tmp_path):
    target = tmp_path / "latest.pth"
    target.write_bytes(b"old checkpoint")
    child = subprocess.Popen([sys.executable, "-c", STALLED_WRITER, str(target)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(child, "WRITING")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert target.read_bytes() == b"old checkpoint"
    orphans = [p for p in tmp_path.iterdir() if p != target]
    assert len(orphans) == 1 and f".{child.pid}." in orphans[0].name  # SIGKILL cannot clean up
    # a temporary file of a live writer is never touched
    live = subprocess.Popen([sys.executable, "-c", STALLED_WRITER, str(tmp_path / "other.pth")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(live, "WRITING")
        atomic_write_bytes(target, b"next checkpoint")  # the next write sweeps the folder
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names[-1] == "latest.pth" and len(names) == 2
        assert names[0].startswith(".other.pth.") and f".{live.pid}." in names[0]
    finally:
        live.kill()
        live.wait()
    assert target.read_bytes() == b"next checkpoint"
    assert [p.name for p in remove_orphaned_temporaries(tmp_path)] == [names[0]]
    assert [p.name for p in tmp_path.iterdir()] == ["latest.pth"]


STALLED_RUN = """
import os, sys, time
from mmengine.hooks import Hook
from zoo.registry import HOOKS

@HOOKS.register_module()
class StallInSecondCheckpoint(Hook):
    def before_save_checkpoint(self, runner, checkpoint):
        if runner.epoch + 1 == 2:
            def stall(fd):
                print("WRITING", flush=True)
                time.sleep(120)
            os.fsync = stall

import importlib.util
spec = importlib.util.spec_from_file_location("train", sys.argv[1])
train = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train)
train.main(sys.argv[2:])
"""

TINY = [
    "model.backbone.base_channels=8", "model.backbone.num_stages=3",
    "model.backbone.inflate_stages=[2]", "model.backbone.down_stages=[2]",
    "model.cls_head.in_channels=16", "model.cls_head.num_classes=4",
    "train_dataloader.dataset.num_per_class=6", "train_dataloader.dataset.num_classes=4",
    "val_dataloader.dataset.num_per_class=3", "val_dataloader.dataset.num_classes=4",
    "test_dataloader.dataset.num_per_class=3", "test_dataloader.dataset.num_classes=4",
    "train_dataloader.batch_size=8", "train_cfg.val_interval=5", "train_cfg.max_epochs=2",
    "param_scheduler.0.T_max=2", "default_hooks.logger.interval=1",
]


@pytest.mark.slow  # two tiny training runs in two processes: about 25 s
def test_training_killed_while_writing_a_checkpoint_resumes_cleanly(tmp_path):
    config = tmp_path / "stalling.py"
    config.write_text(f"_base_ = [{SYNTHETIC!r}]\n"
                      "custom_hooks = [dict(type='StallInSecondCheckpoint')]\n")
    work = tmp_path / "work"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    child = subprocess.Popen(
        [sys.executable, "-c", STALLED_RUN, str(REPO / "tools/train.py"), str(config),
         "--work-dir", str(work), "--no-test", "--cfg-options", *TINY],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        wait_for(child, "WRITING")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    first = work / "epoch_1.pth"
    assert safe_torch_load(first)["meta"]["epoch"] == 1  # the previous checkpoint is whole
    assert not (work / "epoch_2.pth").exists()
    assert (work / "last_checkpoint").read_text() == str(first)
    assert [p.name for p in work.glob(".epoch_2.pth.*.tmp*")], sorted(os.listdir(work))
    # the next run in the work dir removes it and resumes from epoch 1
    spec = importlib.util.spec_from_file_location("tool_train", REPO / "tools/train.py")
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    train.main([SYNTHETIC, "--work-dir", str(work), "--no-test", "--resume",
                "--cfg-options", *TINY])
    assert safe_torch_load(work / "epoch_2.pth")["meta"]["epoch"] == 2
    assert not [p for p in work.rglob("*") if ".tmp" in p.name]
