"""Issue 18 items 1 and 7: tools/test.py loads strictly; unreadable checkpoints are named
(never torch's ``weights_only=False`` advice); ``--resume`` after a truncated checkpoint names
the previous readable one; fine-tuning still skips a mismatched head and says so."""
from pathlib import Path

import pytest
import torch
from tool_loading import load_tool

from zoo.apis import init_model
from zoo.checkpoint import CheckpointMismatchError, UnreadableCheckpointError, safe_torch_load

REPO = Path(__file__).resolve().parents[2]
SYNTHETIC = str(REPO / "configs/skeleton/stgcn_synthetic.py")
TINY = {
    "model.backbone.base_channels": 8, "model.backbone.num_stages": 3,
    "model.backbone.inflate_stages": [2], "model.backbone.down_stages": [2],
    "model.cls_head.in_channels": 16, "model.cls_head.num_classes": 4,
    "train_dataloader.dataset.num_per_class": 6, "train_dataloader.dataset.num_classes": 4,
    "val_dataloader.dataset.num_per_class": 3, "val_dataloader.dataset.num_classes": 4,
    "test_dataloader.dataset.num_per_class": 3, "test_dataloader.dataset.num_classes": 4,
    "train_dataloader.batch_size": 8, "train_cfg.val_interval": 1,
    "param_scheduler.0.T_max": 4, "default_hooks.logger.interval": 1,
}
TINY_ARGS = [f"{k}={v}".replace(" ", "") for k, v in TINY.items()]


def run_test_tool(tmp_path, checkpoint, *extra):
    return load_tool("test").main([SYNTHETIC, str(checkpoint), "--work-dir", str(tmp_path),
                                   "--cfg-options", *TINY_ARGS, *extra])


@pytest.fixture(scope="module")
def tiny_state():
    torch.manual_seed(0)
    return init_model(SYNTHETIC, cfg_options=TINY).state_dict()


def test_test_tool_refuses_a_checkpoint_with_another_head(tmp_path, tiny_state):
    state = dict(tiny_state)
    state["cls_head.fc.weight"] = state["cls_head.fc.weight"][:3]
    state["cls_head.fc.bias"] = state["cls_head.fc.bias"][:3]
    path = tmp_path / "sliced.pth"
    torch.save({"state_dict": state, "meta": {}}, path)
    with pytest.raises(CheckpointMismatchError) as info:
        run_test_tool(tmp_path, path)
    message = str(info.value)
    assert message.startswith(f"{path}: the checkpoint does not fit the model")
    assert "cls_head.fc.weight has shape (3, 16) in the checkpoint but (4, 16)" in message
    assert "cls_head.fc.bias has shape (3,) in the checkpoint but (4,)" in message


def test_test_tool_refuses_a_checkpoint_sharing_no_key(tmp_path, tiny_state):
    path = tmp_path / "foreign.pth"
    torch.save({"state_dict": {f"net.{k}": v for k, v in tiny_state.items()}}, path)
    with pytest.raises(CheckpointMismatchError) as info:
        run_test_tool(tmp_path, path)
    message = str(info.value)
    serious = [k for k in tiny_state if not k.endswith("num_batches_tracked")]
    assert f"{len(serious)} missing (e.g. ['backbone.A', 'backbone.data_bn.weight'" in message
    assert (f"{len(tiny_state)} unexpected (e.g. ['net.backbone.A', "
            "'net.backbone.data_bn.weight'") in message


def test_test_tool_accepts_the_fitting_checkpoint(tmp_path, tiny_state):
    path = tmp_path / "fits.pth"
    # old checkpoints lack BatchNorm batch counters: tolerated
    torch.save({"state_dict": {k: v for k, v in tiny_state.items()
                               if not k.endswith("num_batches_tracked")}}, path)
    metrics = run_test_tool(tmp_path, path)
    assert set(metrics) >= {"top1"}


@pytest.mark.parametrize("content", [b"", b"<html>404 Not Found</html>", "half"])
def test_unreadable_checkpoint_is_named_without_weights_only_advice(tmp_path, tiny_state,
                                                                   content):
    path = tmp_path / "bad.pth"
    if content == "half":
        torch.save({"state_dict": tiny_state}, path)
        content = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(content)
    with pytest.raises(UnreadableCheckpointError) as info:
        run_test_tool(tmp_path, path)
    assert str(info.value) == f"{path} is not a readable checkpoint (truncated? not a torch file?)"
    assert "weights_only" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_mmengine_loads_local_checkpoints_through_the_safe_loader(tmp_path):
    from mmengine.runner.checkpoint import CheckpointLoader

    from zoo.runner_utils import load_config

    load_config(SYNTHETIC)  # what tools/train.py and tools/test.py do first
    path = tmp_path / "page.pth"
    path.write_bytes(b"<html>")
    with pytest.raises(UnreadableCheckpointError, match="not a readable checkpoint"):
        CheckpointLoader.load_checkpoint(str(path))


def train(work_dir, *cfg_options, resume=None):
    options = [] if resume is None else ["--resume"] + ([] if resume == "auto" else [resume])
    return load_tool("train").main([SYNTHETIC, "--work-dir", str(work_dir), "--no-test",
                                    *options, "--cfg-options", *TINY_ARGS, *cfg_options])


def test_resume_after_a_truncated_checkpoint_names_the_previous_one(tmp_path):
    work = tmp_path / "run"
    train(work, "train_cfg.max_epochs=2", "train_cfg.val_interval=5")
    latest = work / "epoch_2.pth"
    latest.write_bytes(latest.read_bytes()[:5000])  # e.g. copied while it was being written
    with pytest.raises(UnreadableCheckpointError) as info:
        train(work, "train_cfg.max_epochs=3", "train_cfg.val_interval=5", resume="auto")
    assert str(info.value) == (
        f"{latest} is not a readable checkpoint (truncated? not a torch file?); the newest "
        f"readable checkpoint before it is {work / 'epoch_1.pth'}: resume from it with "
        f"`tools/train.py CONFIG --resume {work / 'epoch_1.pth'}`")
    # the offered checkpoint resumes: epoch 2 and 3 are trained again from epoch 1
    train(work, "train_cfg.max_epochs=3", "train_cfg.val_interval=5",
          resume=str(work / "epoch_1.pth"))
    assert safe_torch_load(work / "epoch_3.pth")["meta"]["epoch"] == 3
    assert safe_torch_load(work / "epoch_2.pth")["meta"]["epoch"] == 2


def test_fine_tuning_skips_a_mismatched_head_and_says_so(tmp_path, tiny_state):
    path = tmp_path / "pretrained.pth"
    torch.save({"state_dict": tiny_state}, path)
    work = tmp_path / "tune"
    train(work, "train_cfg.max_epochs=1", f"load_from={path}",
          "model.cls_head.num_classes=3", "train_dataloader.dataset.num_classes=3",
          "val_dataloader.dataset.num_classes=3", "test_dataloader.dataset.num_classes=3")
    tuned = safe_torch_load(work / "epoch_1.pth")["state_dict"]
    assert tuned["cls_head.fc.weight"].shape == (3, 16)
    log = "".join(p.read_text() for p in work.rglob("*.log"))
    assert (f"{path}: the checkpoint does not fit the model: 2 mis-shaped: "
            "cls_head.fc.weight has shape (4, 16) in the checkpoint but (3, 16) in the model, "
            "cls_head.fc.bias has shape (4,) in the checkpoint but (3,) in the model; the model "
            "keeps its own initial values for cls_head.fc.weight, cls_head.fc.bias "
            "(fine-tuning to a new head?)") in log
