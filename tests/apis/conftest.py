"""A tiny recogniser trained by tools/train.py on synthetic COCO-17 clips (a COCO2D folder as
tools/data/extract_pose.py writes it), shared by the inference API and demo tests."""
from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
CLASSES = ("raise_arms", "sidestep", "stand")
IMG = (240, 320)  # h, w


def _base_pose() -> np.ndarray:
    """A front-facing COCO-17 person (x, y in pixels) about 150 px tall."""
    xy = [(160, 50), (166, 44), (154, 44), (172, 48), (148, 48), (180, 80), (140, 80),
          (188, 110), (132, 110), (192, 138), (128, 138), (174, 140), (146, 140), (176, 175),
          (144, 175), (178, 205), (142, 205)]
    return np.array(xy, np.float32)


def synthetic_clip(label: int, frames: int, rng: np.random.Generator) -> np.ndarray:
    """``[1, T, 17, 3]`` clip of class ``label``: wrists up and down, a sideways walk, or
    standing still (plus noise and a random placement)."""
    base = _base_pose() + rng.normal(0, 8, 2).astype(np.float32)
    t = np.arange(frames, dtype=np.float32)
    phase = rng.uniform(0, 2 * np.pi)
    kp = np.repeat(base[None], frames, 0)
    if label == 0:
        lift = 45 * (0.5 + 0.5 * np.sin(2 * np.pi * t / 12 + phase))
        kp[:, [7, 8], 1] -= 0.5 * lift[:, None]
        kp[:, [9, 10], 1] -= lift[:, None]
    elif label == 1:
        kp[..., 0] += (40 * np.sin(2 * np.pi * t / 16 + phase))[:, None]
    kp += rng.normal(0, 1.5, kp.shape).astype(np.float32)
    score = np.full((frames, 17, 1), 0.9, np.float32)
    return np.concatenate([kp, score], -1)[None]


def write_coco2d_folder(root: Path, per_class: dict[str, int], frames: int = 24,
                        seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for split, count in per_class.items():
        for label, name in enumerate(CLASSES):
            for i in range(count):
                clip = f"{split}_{name}_{i}"
                np.save(root / f"{clip}.npy", synthetic_clip(label, frames, rng))
                rows.append([clip, name, split, IMG[1], IMG[0]])
    with open(root / "labels.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["clip", "label", "split", "width", "height"])
        writer.writerows(rows)
    return root


def tiny_config(path: Path, data_root: Path) -> Path:
    """configs/skeleton/stgcn_coco2d_custom.py with a small ST-GCN and 2 epochs."""
    base = REPO / "configs" / "skeleton" / "stgcn_coco2d_custom.py"
    loader = f"dict(batch_size=8, dataset=dict(data_root={str(data_root)!r}))"
    path.write_text(f"""_base_ = [{str(base)!r}]
model = dict(
    backbone=dict(_delete_=True, type="STGCN", graph_cfg=dict(layout="coco17",
                  mode="stgcn_spatial"), in_channels=3, base_channels=16, num_stages=2,
                  inflate_stages=(), down_stages=()),
    cls_head=dict(in_channels=16, num_classes=3))
train_dataloader = {loader}
val_dataloader = {loader}
test_dataloader = {loader}
train_cfg = dict(max_epochs=2, val_interval=10)
param_scheduler = [dict(type="CosineAnnealingLR", T_max=2, by_epoch=True, eta_min=1e-4)]
optim_wrapper = dict(optimizer=dict(lr=0.05))
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(interval=1))
""")
    return path


def load_tool(relative: str):
    """A script under tools/ as a module (by file, so that ``tools/test.py`` cannot be
    confused with the standard library's ``test`` package)."""
    path = REPO / "tools" / relative
    spec = importlib.util.spec_from_file_location(f"tool_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> dict:
    """Train the tiny config with tools/train.py; returns paths of data, config, checkpoint."""
    train = load_tool("train.py")
    root = tmp_path_factory.mktemp("coco2d_model")
    data = write_coco2d_folder(root / "clips", {"train": 10, "test": 4})
    config = tiny_config(root / "tiny.py", data)
    work = root / "work"
    train.main([str(config), "--work-dir", str(work), "--no-test"])
    checkpoint = work / "epoch_2.pth"
    assert checkpoint.is_file()
    return dict(data=data, config=config, checkpoint=checkpoint, work=work)
