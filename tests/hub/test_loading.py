"""Safe loading: pickles outside the allow-list are refused, wrappers are unwrapped."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from zoo.checkpoint import UnsafeCheckpointError
from zoo.hub import api
from zoo.hub.loading import CheckpointFormatError, extract_state_dict, load_state_dict_file

from .helpers import sha256


class Payload:
    """Pickles as a call to ``os.system``: what a malicious checkpoint would carry."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class Custom:
    """An arbitrary user class: not tensors, not on the allow-list."""

    value = 3


def test_code_execution_pickle_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "x": Payload(marker)}, path)
    with pytest.raises(UnsafeCheckpointError) as info:
        load_state_dict_file(path)
    message = str(info.value)
    assert str(path) in message and "system" in message
    assert not marker.exists()


def test_object_outside_the_allow_list_is_named(tmp_path):
    path = tmp_path / "custom.pth"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "meta": Custom()}, path)
    with pytest.raises(UnsafeCheckpointError, match=r"custom\.pth.*Custom"):
        load_state_dict_file(path)


def test_refused_pickle_through_the_index(cache, server, add_entry, tmp_path):
    path = tmp_path / "c.pth"
    torch.save({"meta": Custom(), "state_dict": {"w": torch.zeros(2)}}, path)
    data = path.read_bytes()
    add_entry(name="t_evil", urls=(server.add("/c.pth", data),), sha256=sha256(data))
    with pytest.raises(UnsafeCheckpointError, match="t_evil.pth"):
        api.load_pretrained("t_evil")


def test_mmengine_checkpoint_contents_are_allowed(tmp_path):
    from mmengine.logging import HistoryBuffer

    from zoo.checkpoint import allow_mmengine_checkpoints

    allow_mmengine_checkpoints()  # as the tools do before saving
    buffer = HistoryBuffer()
    buffer.update(0.5)
    path = tmp_path / "epoch_1.pth"
    torch.save({"meta": {"epoch": 1, "seed": np.int64(3), "lr": np.array([0.1])},
                "message_hub": {"log_scalars": {"loss": buffer}},
                "state_dict": {"module.backbone.w": torch.ones(3)},
                "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]}}, path)
    state = load_state_dict_file(path)
    assert list(state) == ["backbone.w"]  # unwrapped, DataParallel prefix removed


def test_unwrapping_rules():
    w = torch.zeros(1)
    assert extract_state_dict({"a": w}) == {"a": w}
    assert extract_state_dict({"model": {"state_dict": {"a": w}}}) == {"a": w}
    assert extract_state_dict({"module.a": w, "module.b": w}) == {"a": w, "b": w}
    assert list(extract_state_dict({"module.a": w, "b": w})) == ["module.a", "b"]
    with pytest.raises(CheckpointFormatError, match="'epoch' holds a int"):
        extract_state_dict({"a": w, "epoch": 3}, source="f.pth")
    with pytest.raises(CheckpointFormatError, match="got Tensor"):
        extract_state_dict(w)


def test_safetensors_files(tmp_path):
    path = tmp_path / "m.safetensors"
    save_file({"a": torch.arange(4.0)}, str(path))
    torch.testing.assert_close(load_state_dict_file(path)["a"], torch.arange(4.0))
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json")
    with pytest.raises(CheckpointFormatError, match="bad.safetensors"):
        load_state_dict_file(bad)


def test_safe_load_keeps_the_process_wide_allow_list(tmp_path):
    """safe_torch_load must not take away what allow_mmengine_checkpoints() allowed for the
    whole process (torch's safe_globals context removes its entries on exit), or a later
    mmengine ``load_from``/resume fails on HistoryBuffer."""
    from mmengine.logging.history_buffer import HistoryBuffer

    from zoo.checkpoint import allow_mmengine_checkpoints, safe_torch_load

    allow_mmengine_checkpoints()
    path = tmp_path / "w.pth"
    torch.save({"w": torch.ones(2)}, path)
    assert torch.equal(safe_torch_load(path)["w"], torch.ones(2))
    assert HistoryBuffer in torch.serialization.get_safe_globals()
    buffer = HistoryBuffer()
    buffer.update(1.0)
    torch.save({"message_hub": buffer}, tmp_path / "hub.pth")
    assert isinstance(torch.load(tmp_path / "hub.pth", weights_only=True)["message_hub"],
                      HistoryBuffer)
