"""init_recognizer with a zoo index name: config and checkpoint from the index (served from
127.0.0.1); such upstream checkpoints carry no meta['inference'], so classes must be given."""
import io
from pathlib import Path

import numpy as np
import pytest
import torch

from zoo.apis import InferenceMetaError, inference_skeleton, init_model, init_recognizer

from .helpers import sha256

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def tiny_config(tmp_path) -> Path:
    path = tmp_path / "tiny_coco2d.py"
    base = REPO / "configs" / "skeleton" / "stgcn_coco2d_custom.py"
    path.write_text(f"""_base_ = [{str(base)!r}]
model = dict(
    backbone=dict(_delete_=True, type="STGCN", graph_cfg=dict(layout="coco17",
                  mode="stgcn_spatial"), in_channels=3, base_channels=8, num_stages=1,
                  inflate_stages=(), down_stages=()),
    cls_head=dict(in_channels=8, num_classes=2))
""")
    return path


def test_zoo_name_gives_config_and_checkpoint(tiny_config, server, cache, add_entry):
    torch.manual_seed(0)
    model = init_model(tiny_config)
    buf = io.BytesIO()
    torch.save({"state_dict": model.state_dict()}, buf)
    data = buf.getvalue()
    url = server.add("/ckpt/tiny.pth", data)
    add_entry(name="tiny_coco2d", urls=(url,), sha256=sha256(data), config=str(tiny_config),
              num_classes=2)
    with pytest.raises(InferenceMetaError, match=r"zoo://tiny_coco2d: no classes .*classes="):
        init_recognizer("tiny_coco2d")
    rec = init_recognizer("zoo://tiny_coco2d", classes=["wave", "jump"])
    for key, value in model.state_dict().items():
        assert torch.equal(rec.state_dict()[key], value), key
    # the test pipeline comes from the entry's config (2-D: x, y, score, image size)
    assert rec.inference_meta["test_pipeline"][0]["type"] == "PreNormalize2D"
    clip = np.random.default_rng(0).uniform(0, 100, (1, 20, 17, 3)).astype(np.float32)
    top = inference_skeleton(rec, clip, topk=5, img_shape=(100, 100))
    assert [c for c, _ in top] in (["wave", "jump"], ["jump", "wave"])
    assert top[0][1] >= top[1][1] and abs(top[0][1] + top[1][1] - 1) < 1e-5
