"""tools/unlearn.py: edited checkpoint + report, clear errors, input never touched."""
import hashlib
import importlib.util
import json
from pathlib import Path

import pytest
import torch

from zoo.apis import init_model
from zoo.checkpoint import safe_torch_load
from zoo.unlearning.requests import ForgetRequestError

REPO = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location("unlearn_tool", REPO / "tools/unlearn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_tool_writes_checkpoint_and_report(trained, digits_cfg, tmp_path):
    _, _, ckpt = trained
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(str(i) for i in range(0, 200, 10)))
    digest = _digest(ckpt)
    report = _tool().main([
        "configs/image/smallcnn_digits.py", "--checkpoint", str(ckpt), "--forget-ids",
        str(ids), "--unlearner", "SSD", "--unlearner-options", "alpha=10",
        "--out", str(tmp_path / "out")])
    assert _digest(ckpt) == digest
    saved = json.loads((tmp_path / "out/report.json").read_text())
    assert saved["forget_samples"] == 20 and saved["metrics"]["forget_acc"] is not None
    assert report["unlearner"]["type"] == "SSD"
    state = safe_torch_load(tmp_path / "out/unlearned.pth")["state_dict"]
    model = init_model(digits_cfg)
    model.load_state_dict(state)  # strict: the config's model loads it unchanged


def test_tool_errors_and_interrupted_run(trained, tmp_path, monkeypatch):
    _, _, ckpt = trained
    tool = _tool()
    out = tmp_path / "out"
    with pytest.raises(ForgetRequestError, match="forget class 12 does not exist"):
        tool.main(["configs/image/smallcnn_digits.py", "--checkpoint", str(ckpt),
                   "--forget-classes", "12", "--unlearner", "SSD", "--out", str(out)])
    with pytest.raises(KeyError, match="unknown unlearner 'Nope'"):
        tool.main(["configs/image/smallcnn_digits.py", "--checkpoint", str(ckpt),
                   "--forget-classes", "1", "--unlearner", "Nope", "--out", str(out)])
    digest = _digest(ckpt)
    import zoo.unlearning.ssd as ssd

    def boom(*args, **kwargs):
        raise KeyboardInterrupt("interrupted")

    monkeypatch.setattr(ssd, "dampen", boom)
    with pytest.raises(KeyboardInterrupt):
        tool.main(["configs/image/smallcnn_digits.py", "--checkpoint", str(ckpt),
                   "--forget-classes", "1", "--unlearner", "SSD", "--out", str(out)])
    assert _digest(ckpt) == digest
    assert not (out / "unlearned.pth").exists()
    assert not list(out.glob("*.tmp")) if out.exists() else True
    assert torch.is_tensor(safe_torch_load(ckpt)["state_dict"]["cls_head.fc.weight"])
