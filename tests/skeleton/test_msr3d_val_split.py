"""The MSR Action3D validation protocol (configs/_base_/datasets/msr3d_xsub_val.py, issue 22):
held-out *training* subjects validate, checked on the real file names in
``../shared/data/msr_action3d`` (skipped without it, failed under CI=true)."""
from __future__ import annotations

from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from zoo.registry import DATASETS

init_default_scope("zoo")
CONFIG = Path(__file__).resolve().parents[2] / "configs/_base_/datasets/msr3d_xsub_val.py"


def subjects_of(dataset) -> set[int]:
    """Subjects read back from the file names (``aAA_sSS_eEE``) of every sample."""
    from zoo.datasets.skeleton.msr_action3d import parse_msr_name

    return {parse_msr_name(Path(dataset.get_data_info(i)["frame_dir"] + ".txt"))[1]
            for i in range(len(dataset))}


def build(loader_cfg, msr_dir: Path, with_pipeline: bool = False):
    cfg = loader_cfg.dataset.to_dict()
    inner = cfg["dataset"] if cfg["type"] == "SampleFilter" else cfg
    inner["data_root"] = str(msr_dir)
    if not with_pipeline:
        cfg.pop("pipeline", None)
        inner.pop("pipeline", None)
    return DATASETS.build(cfg)


@pytest.fixture(scope="module")
def splits(msr_dir):
    cfg = Config.fromfile(CONFIG)
    return {name: build(cfg[f"{name}_dataloader"], msr_dir)
            for name in ("train", "val", "test")}


def test_validation_subjects_are_held_out_training_subjects(splits, msr_dir):
    files = sorted(msr_dir.glob("a*_s*_e*_skeleton3D.txt"))
    from zoo.datasets.skeleton.msr_action3d import parse_msr_name

    all_subjects = {parse_msr_name(f)[1] for f in files}
    assert all_subjects == set(range(1, 11))
    train, val, test = (subjects_of(splits[k]) for k in ("train", "val", "test"))
    assert train and val and test
    assert not val & test, "validation uses a test subject"
    assert not val & train, "validation subjects are also trained on"
    assert not train & test
    assert test == {s for s in all_subjects if s % 2 == 0}  # the cross-subject test split
    assert train | val == {s for s in all_subjects if s % 2 == 1}  # no training subject lost
    # samples, not only subjects: no file is in two splits
    names = {k: {splits[k].get_data_info(i)["frame_dir"] for i in range(len(splits[k]))}
             for k in splits}
    assert not names["val"] & names["test"] and not names["val"] & names["train"]
    assert len(splits["val"]) >= 40  # a usable validation set (one subject: ~57 sequences)


def test_final_run_override_trains_on_every_training_subject(msr_dir):
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict({"train_dataloader.dataset.values": [1, 3, 5, 7, 9]})
    assert subjects_of(build(cfg.train_dataloader, msr_dir)) == {1, 3, 5, 7, 9}


def test_wrapped_loader_takes_the_recipe_pipeline(msr_dir):
    """A recipe sets ``train_dataloader.dataset.pipeline`` as for the unwrapped data set;
    SampleFilter hands it to the inner one (a packed 32-frame Kinect-20 clip comes out)."""
    cfg = Config.fromfile(CONFIG)
    sample = build(cfg.val_dataloader, msr_dir, with_pipeline=True)[0]
    assert tuple(sample["inputs"].shape) == (10, 1, 32, 20, 3)
    assert sample["data_samples"].gt_label is not None


def test_sample_filter_pipeline_needs_a_config():
    from zoo.continual.dataset import SampleFilter

    with pytest.raises(TypeError, match="pipeline= needs the inner data set as a config"):
        SampleFilter([dict(subject=1)], key="subject", values=[1], pipeline=[])
