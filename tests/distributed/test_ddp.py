"""Two gloo processes with batch b train like one process with batch 2b."""
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from zoo.checkpoint import safe_torch_load

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "configs/skeleton/stgcn_synthetic.py")
# Deterministic data (fixed frames, no rotation) and no dropout, so the only difference
# between the runs is how the batch is split over processes.
DETERMINISTIC = [
    "model.backbone.base_channels=8", "model.backbone.num_stages=3",
    "model.backbone.inflate_stages=[2]", "model.backbone.down_stages=[2]",
    "model.cls_head.in_channels=16", "model.cls_head.num_classes=4", "model.cls_head.dropout=0",
    "train_dataloader.dataset.num_per_class=6", "train_dataloader.dataset.num_classes=4",
    "val_dataloader.dataset.num_per_class=4", "val_dataloader.dataset.num_classes=4",
    "test_dataloader.dataset.num_per_class=4", "test_dataloader.dataset.num_classes=4",
    "train_dataloader.dataset.pipeline.2.theta=0",
    "train_dataloader.dataset.pipeline.3.test_mode=True",
    "train_dataloader.sampler.seed=0", "train_cfg.max_epochs=3", "train_cfg.val_interval=3",
    "param_scheduler.0.T_max=3",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(launcher_args, train_args, work_dir, batch_size, *options):
    cmd = [sys.executable, *launcher_args, "tools/train.py", CONFIG, "--work-dir", str(work_dir),
           *train_args, "--cfg-options", *DETERMINISTIC,
           f"train_dataloader.batch_size={batch_size}", *options]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    match = re.search(r"Final test: mean_class_acc: ([\d.]+)\s+top1: ([\d.]+)", out.stdout)
    assert match, out.stdout[-2000:]
    return float(match.group(2)), safe_torch_load(work_dir / "epoch_3.pth")["state_dict"]


def test_two_gloo_processes_match_one_process_with_double_batch(tmp_path):
    single_top1, single = run([], [], tmp_path / "one", batch_size=16)
    torchrun = ["-m", "torch.distributed.run", "--nproc_per_node=2",
                f"--master_port={free_port()}"]
    multi_top1, multi = run(torchrun, ["--launcher", "pytorch"], tmp_path / "two", batch_size=8)
    assert single.keys() == multi.keys()
    for key in single:
        assert_within_tolerance(multi[key], single[key], key)
    assert single_top1 == pytest.approx(multi_top1, abs=1e-6)
    # control: the same single-process run with another shuffling seed (same data, batch and
    # schedule, only the batches' make-up differs) is outside the tolerance
    _, reshuffled = run([], [], tmp_path / "control", 16, "train_dataloader.sampler.seed=1")
    outside = []
    for key in single:
        try:
            assert_within_tolerance(reshuffled[key], single[key], key)
        except AssertionError:
            outside.append(key)
    assert len(outside) > len(single) // 2, outside


def assert_within_tolerance(actual, expected, key):
    torch.testing.assert_close(actual.float(), expected.float(), atol=2e-4, rtol=1e-3, msg=key)


def test_close_process_group_ends_the_group_and_is_a_no_op_without_one():
    # in a child process, so that this test process keeps no process-group state
    code = (
        "import torch.distributed as dist\n"
        "from zoo.engine.distributed import close_process_group\n"
        "close_process_group()\n"  # no group yet: nothing to do
        f"dist.init_process_group('gloo', init_method='tcp://127.0.0.1:{free_port()}', "
        "rank=0, world_size=1)\n"
        "assert dist.is_initialized()\n"
        "close_process_group()\n"
        "assert not dist.is_initialized()\n"
        "print('closed')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         timeout=120)
    assert out.returncode == 0 and "closed" in out.stdout, out.stderr[-2000:]
