"""Top-level config knobs given with --cfg-options reach the keys that copied them (issue 18
item 2), relative data roots are explained, and empty splits are named (item 10)."""
from pathlib import Path

import numpy as np
import pytest
from zoo.datasets.skeleton.base import EmptySplitError

from zoo.config_overrides import ConfigOverrideError
from zoo.registry import DATASETS
from zoo.runner_utils import load_config

REPO = Path(__file__).resolve().parents[2]
MSR = str(REPO / "configs/skeleton/stgcn_msr3d_xsub.py")
MSR_B = str(REPO / "configs/skeleton/stgcn_msr3d_xsub_b.py")
SKATE = str(REPO / "configs/skeleton/skateformer_msr3d_xsub.py")
SYNTHETIC = str(REPO / "configs/skeleton/stgcn_synthetic.py")


def write_msr(folder: Path, names, frames: int = 6, seed: int = 0) -> Path:
    """Valid MSR Action3D files (``x y z confidence``, 20 lines per frame)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name in names:
        rows = np.concatenate([rng.uniform(0.1, 2.0, (frames * 20, 3)),
                               np.ones((frames * 20, 1))], axis=1)
        (folder / name).write_text("\n".join(" ".join(f"{v:.4f}" for v in r) for r in rows))
    return folder


def build(cfg, which="train_dataloader"):
    return DATASETS.build(dict(cfg[which]["dataset"], pipeline=[]))


def test_data_root_reaches_the_dataloaders(tmp_path):
    root = write_msr(tmp_path / "my_msr", ["a01_s01_e01_skeleton3D.txt",
                                           "a02_s03_e01_skeleton3D.txt",
                                           "a02_s02_e01_skeleton3D.txt"])
    cfg = load_config(MSR_B, {"data_root": str(root)}, str(tmp_path / "wd"))
    for which in ("train_dataloader", "val_dataloader", "test_dataloader"):
        assert cfg[which]["dataset"]["data_root"] == str(root)
    train, test = build(cfg), build(cfg, "test_dataloader")
    assert sorted(s["frame_dir"] for s in train.data_list) == [
        "a01_s01_e01_skeleton3D", "a02_s03_e01_skeleton3D"]
    assert [s["frame_dir"] for s in test.data_list] == ["a02_s02_e01_skeleton3D"]


def test_an_explicit_nested_key_wins_over_the_knob(tmp_path):
    cfg = load_config(MSR, {"data_root": "/data/a", "val_dataloader.dataset.data_root": "/b"},
                      str(tmp_path / "wd"))
    assert cfg.train_dataloader.dataset.data_root == "/data/a"
    assert cfg.val_dataloader.dataset.data_root == "/b"


def test_clip_len_and_layout_reach_pipelines_and_model(tmp_path):
    cfg = load_config(SKATE, {"clip_len": 48}, str(tmp_path / "wd"))
    assert cfg.model.backbone.num_frames == 48
    lens = [step["clip_len"] for which in ("train_dataloader", "test_dataloader")
            for step in cfg[which]["dataset"]["pipeline"] if "clip_len" in step]
    assert lens == [48, 48]
    cfg = load_config(MSR, {"layout": "ntu25"}, str(tmp_path / "wd"))
    assert cfg.model.backbone.graph_cfg.layout == "ntu25"
    layouts = {step["layout"] for step in cfg.train_dataloader.dataset.pipeline
               if "layout" in step}
    assert layouts == {"ntu25"}


def test_stream_reaches_every_pipeline_of_a_recipe(tmp_path):
    """``stream=[b]`` turns a joint-stream recipe (its validation twin included) into the bone
    stream, as the hand-written configs/skeleton/stgcn_msr3d_xsub_b.py does."""
    recipe = str(REPO / "configs/skeleton/recipes/stgcn_msr3d_xsub.py")
    cfg = load_config(recipe, {"stream": ["b"]}, str(tmp_path / "wd"))
    feats = [step["feats"] for which in ("train_dataloader", "val_dataloader", "test_dataloader")
             for step in cfg[which]["dataset"]["pipeline"] if step["type"] == "GenSkeFeat"]
    assert feats == [["b"], ["b"], ["b"]]
    hand = load_config(MSR_B, None, str(tmp_path / "wd2"))
    knob = load_config(MSR, {"stream": ["b"]}, str(tmp_path / "wd3"))
    assert knob.train_dataloader.dataset.pipeline == hand.train_dataloader.dataset.pipeline
    assert knob.test_dataloader.dataset.pipeline == hand.test_dataloader.dataset.pipeline


def test_wsi_data_root_reaches_paths_built_from_it(tmp_path):
    cfg = load_config(str(REPO / "configs/wsi/abmil_synthetic.py"), {"data_root": "/d/wsi"},
                      str(tmp_path / "wd"))
    assert cfg.train_dataloader.dataset.feature_dir == "/d/wsi/features"
    assert cfg.test_dataloader.dataset.label_csv == "/d/wsi/slides/labels.csv"


def test_a_knob_the_config_does_not_use_is_refused_with_the_keys_to_set(tmp_path):
    with pytest.raises(ConfigOverrideError, match=r"num_classes=5.*stgcn_synthetic.py defines "
                                                  r"no top-level `num_classes`.*"
                                                  r"model\.cls_head\.num_classes="):
        load_config(SYNTHETIC, {"num_classes": 5}, str(tmp_path / "wd"))
    with pytest.raises(ConfigOverrideError, match="data_root"):
        load_config(SYNTHETIC, {"data_root": "/x"}, str(tmp_path / "wd"))


def test_relative_data_root_error_names_the_absolute_path_tried(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(MSR, {"data_root": "nowhere/msr"}, str(tmp_path / "wd"))
    with pytest.raises(FileNotFoundError) as info:
        build(cfg)
    message = str(info.value)
    assert "'nowhere/msr'" in message
    assert f"relative to the working directory {tmp_path}" in message
    assert str(tmp_path / "nowhere" / "msr") in message


def test_empty_training_split_names_the_data_set_and_filter(tmp_path):
    root = write_msr(tmp_path / "even_only", ["a01_s02_e01_skeleton3D.txt"])
    cfg = load_config(MSR, {"data_root": str(root)}, str(tmp_path / "wd"))
    with pytest.raises(EmptySplitError, match=r"MSRAction3D: split='train' \(odd subjects "
                                              r"train, even test\) selects no samples in "
                                              rf"data_root '{root}'"):
        build(cfg)
    cfg.train_dataloader.dataset.split = "test"
    cfg.train_dataloader.dataset.actions = [5]
    with pytest.raises(EmptySplitError, match=r"actions=\[5\]"):
        build(cfg)


def test_hub_build_model_propagates_knobs_too():
    from zoo.hub.api import build_model

    model = build_model("skateformer_nwucla_joint", pretrained=False, config=SKATE,
                        cfg_options={"clip_len": 48,
                                     "model.backbone.temporal_embedding": "learned"})
    embedding = model.backbone.embedding.joint_person_temporal_embedding
    assert embedding.shape[2] == 48  # num_frames=clip_len in the config
