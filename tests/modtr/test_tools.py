"""tools/test.py on a ModTr config: metrics and the --show-dir PNGs."""
from pathlib import Path

import torch
from mmengine.config import Config
from tool_loading import load_tool

from zoo.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "configs/modtr/modtr_fcos_scenes.py")
TINY = {
    "model.detector.backbone_channels": [8, 16, 32, 32], "model.detector.fpn_channels": 64,
    "model.detector.min_size": 64, "model.detector.max_size": 64,
    "model.detector_checkpoint": None, "model.translator.encoder_depth": 2,
    "test_dataloader.dataset.num_samples": 3, "test_dataloader.dataset.size": 64,
}


def test_test_py_writes_detection_pngs(tmp_path):
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(TINY)
    model = MODELS.build(cfg.model)
    ckpt = tmp_path / "modtr.pth"
    torch.save({"state_dict": model.state_dict(), "meta": {}}, ckpt)
    options = [f"{k}={v}".replace(" ", "") if v is not None else f"{k}=None"
               for k, v in TINY.items()]
    metrics = load_tool("test").main([CONFIG, str(ckpt), "--work-dir", str(tmp_path / "w"),
                                      "--show-dir", str(tmp_path / "png"), "--show-max", "2",
                                      "--cfg-options", *options])
    assert {"mAP", "mAP_50"} <= set(metrics)
    pngs = sorted((tmp_path / "png").glob("*.png"))
    assert [p.name for p in pngs] == ["0.png", "1.png"]
    import skimage.io

    img = skimage.io.imread(pngs[0])
    assert img.shape[1] > 2.2 * img.shape[0]  # input | translated | detections
