"""Issue 18 item 7: ``load_from = 'https://...'`` goes through the zoo's safe loader too."""
import io

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from zoo.checkpoint import UnreadableCheckpointError, allow_mmengine_checkpoints


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    allow_mmengine_checkpoints()  # what tools/train.py and tools/test.py do first
    return tmp_path / "torch"


def test_an_error_page_at_a_url_is_named_and_not_kept(server, torch_home):
    url = server.add("/weights/model.pth", b"<html>503 Service Unavailable</html>")
    with pytest.raises(UnreadableCheckpointError) as info:
        CheckpointLoader.load_checkpoint(url)
    message = str(info.value)
    assert message.startswith(f"{url} (downloaded to {torch_home / 'checkpoints/model.pth'}) "
                              "is not a readable checkpoint")
    assert "weights_only" not in message
    assert not (torch_home / "checkpoints/model.pth").exists()


def test_a_checkpoint_at_a_url_loads_and_is_cached(server, torch_home):
    buffer = io.BytesIO()
    torch.save({"state_dict": {"w": torch.arange(3.0)}, "meta": {"epoch": 2}}, buffer)
    url = server.add("/weights/good.pth", buffer.getvalue())
    checkpoint = CheckpointLoader.load_checkpoint(url)
    torch.testing.assert_close(checkpoint["state_dict"]["w"], torch.arange(3.0))
    assert (torch_home / "checkpoints/good.pth").read_bytes() == buffer.getvalue()
    assert CheckpointLoader.load_checkpoint(url)["meta"] == {"epoch": 2}
    assert len(server.requests) == 1  # the second load reads the cache
