"""End-to-end runs of tools/train.py and tools/test.py on tiny configs."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from tool_loading import load_tool

from zoo.checkpoint import UnsafeCheckpointError, safe_torch_load
from zoo.config_check import ConfigError
from zoo.registry import HOOKS

REPO = Path(__file__).resolve().parents[2]
SYNTHETIC = str(REPO / "configs/skeleton/stgcn_synthetic.py")


TINY = [
    "model.backbone.base_channels=8", "model.backbone.num_stages=3",
    "model.backbone.inflate_stages=[2]", "model.backbone.down_stages=[2]",
    "model.cls_head.in_channels=16", "model.cls_head.num_classes=4",
    "train_dataloader.dataset.num_per_class=6", "train_dataloader.dataset.num_classes=4",
    "val_dataloader.dataset.num_per_class=3", "val_dataloader.dataset.num_classes=4",
    "test_dataloader.dataset.num_per_class=3", "test_dataloader.dataset.num_classes=4",
    "train_dataloader.batch_size=8", "train_cfg.val_interval=1",
    "param_scheduler.0.T_max=4", "default_hooks.logger.interval=1",
]


def train(work_dir, *extra):
    return load_tool("train").main([SYNTHETIC, "--work-dir", str(work_dir), "--cfg-options",
                                    *TINY, *extra])


def weights(path):
    return safe_torch_load(path)["state_dict"]


class SimulatedCrash(RuntimeError):
    pass


@HOOKS.register_module(force=True)
class CrashAfterEpoch(Hook):
    """Kills the run after the checkpoint of ``epoch`` is written (test only)."""

    priority = "LOWEST"

    def __init__(self, epoch):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch:  # the loop counts epochs from 0 here
            raise SimulatedCrash(f"killed after epoch {self.epoch}")


def test_resume_gives_the_same_weights_and_metrics(tmp_path):
    full = train(tmp_path / "full", "train_cfg.max_epochs=4", "experiment_name=full")
    crashing = tmp_path / "crashing.py"
    crashing.write_text(f"_base_ = [{SYNTHETIC!r}]\ncustom_hooks = [dict(type='EpochSeedHook'), "
                        "dict(type='CrashAfterEpoch', epoch=2)]\n")
    with pytest.raises(SimulatedCrash):
        load_tool("train").main([str(crashing), "--work-dir", str(tmp_path / "part"),
                                 "--cfg-options", *TINY, "train_cfg.max_epochs=4",
                                 "experiment_name=part"])
    assert (tmp_path / "part/epoch_2.pth").exists()
    assert not (tmp_path / "part/epoch_3.pth").exists()
    resumed = load_tool("train").main([
        SYNTHETIC, "--work-dir", str(tmp_path / "part"), "--resume",
        "--cfg-options", *TINY, "train_cfg.max_epochs=4", "experiment_name=resumed"])
    a, b = weights(tmp_path / "full/epoch_4.pth"), weights(tmp_path / "part/epoch_4.pth")
    assert a.keys() == b.keys()
    for key in a:  # bit-identical, as the README says
        assert torch.equal(a[key], b[key]), key
    assert full == resumed


def test_test_tool_dumps_predictions_and_draws_confusion(tmp_path):
    train(tmp_path, "train_cfg.max_epochs=1", "experiment_name=one", "--no-test")
    dump, png = tmp_path / "preds.npz", tmp_path / "confusion.png"
    metrics = load_tool("test").main([
        SYNTHETIC, str(tmp_path / "epoch_1.pth"), "--work-dir", str(tmp_path),
        "--dump", str(dump), "--confusion", str(png), "--num-clips", "2",
        "--cfg-options", *TINY, "experiment_name=test"])
    from zoo.evaluation import load_predictions
    preds = load_predictions(str(dump))
    assert preds["scores"].shape == (12, 4)
    # the reported top-1 is the accuracy of the dumped scores on the 3 x 4 test clips
    assert sorted(preds["labels"].tolist()) == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3
    correct = preds["scores"].argmax(1) == preds["labels"]
    assert metrics["top1"] == pytest.approx(100 * correct.mean(), abs=1e-6)
    per_class = [correct[preds["labels"] == c].mean() for c in range(4)]
    assert metrics["mean_class_acc"] == pytest.approx(100 * np.mean(per_class), abs=1e-6)
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_unknown_model_type_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"model.backbone.type: 'STGCNN' is not a registered "
                                          r"model; did you mean STGCN"):
        train(tmp_path, "model.backbone.type=STGCNN")


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.py does not exist"):
        load_tool("train").main([str(tmp_path / "nope.py")])


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_checkpoint_with_foreign_pickle_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {}, "payload": Evil()}, path)
    with pytest.raises(UnsafeCheckpointError, match=r"evil.pth: refused to load a pickled object "
                       r"outside the allow-list \(.*print\)"):
        safe_torch_load(path)


def test_checkpoints_are_written_atomically(tmp_path, monkeypatch):
    from mmengine.fileio import get_file_backend

    from zoo.engine.atomic_io import install_atomic_backend

    install_atomic_backend()  # explicit since importing zoo.engine changes nothing (issue 19)
    backend = get_file_backend(str(tmp_path / "x.pth"))
    target = tmp_path / "x.pth"
    target.write_bytes(b"old")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError):
        backend.put(b"new contents", target)
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]
