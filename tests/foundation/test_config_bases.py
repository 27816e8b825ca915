"""The MSR Action3D recipes built on configs/_base_/datasets and _base_/schedules resolve to the
pipelines and schedules they always had (tools/analysis/config_diff.py compared them with the
configs before the bases existed: identical but for an unused top-level ``stream`` in the
Ensem-NN config)."""
import importlib.util
from pathlib import Path

from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("config_diff",
                                              REPO / "tools/analysis/config_diff.py")
config_diff = importlib.util.module_from_spec(spec)
spec.loader.exec_module(config_diff)


def cfg(name: str) -> dict:
    return Config.fromfile(str(REPO / "configs" / name)).to_dict()


def steps(pipeline):
    return [s["type"] for s in pipeline]


BASE_TRAIN = ["PreNormalize3D", "GenSkeFeat", "RandomRot", "RandomScale", "UniformSampleFrames",
              "PoseDecode", "FormatGCNInput", "PackSkeletonInputs"]


def test_stream_recipes_change_only_the_stream():
    joint = cfg("skeleton/stgcn_msr3d_xsub.py")
    assert steps(joint["train_dataloader"]["dataset"]["pipeline"]) == BASE_TRAIN
    for stream in ("b", "jm", "bm"):
        other = cfg(f"skeleton/stgcn_msr3d_xsub_{stream}.py")
        diff = config_diff.differences(joint, other)
        assert sorted(diff) == sorted([
            f"stream[0]: 'j' -> '{stream}'",
            f"train_pipeline[1].feats[0]: 'j' -> '{stream}'",
            f"test_pipeline[1].feats[0]: 'j' -> '{stream}'",
            f"train_dataloader.dataset.pipeline[1].feats[0]: 'j' -> '{stream}'",
            f"val_dataloader.dataset.pipeline[1].feats[0]: 'j' -> '{stream}'",
            f"test_dataloader.dataset.pipeline[1].feats[0]: 'j' -> '{stream}'"]), stream


def test_recipes_keep_their_own_changes():
    ctr = cfg("skeleton/ctrgcn_msr3d_xsub.py")
    assert ctr["train_dataloader"]["dataset"]["pipeline"][2] == dict(type="RandomRot", theta=0.3)
    assert ctr["train_cfg"] == dict(type="EpochBasedTrainLoop", max_epochs=25, val_interval=25)
    skate = cfg("skeleton/skateformer_msr3d_xsub.py")
    assert [s.get("clip_len") for s in skate["val_dataloader"]["dataset"]["pipeline"]
            if s["type"] == "UniformSampleFrames"] == [64]
    assert skate["optim_wrapper"] == dict(optimizer=dict(type="AdamW", lr=1e-3,
                                                         weight_decay=0.1))
    ens = cfg("skeleton/cnn1d_ensemble_msr3d_xsub.py")
    assert "GenSkeFeat" not in steps(ens["train_dataloader"]["dataset"]["pipeline"])
    assert ens["param_scheduler"][1]["T_max"] == 37
    cont = cfg("continual/split_msr3d/finetune_val.py")
    inner = cont["val_dataloader"]["dataset"]
    assert inner["type"] == "SampleFilter" and inner["values"] == [7, 9]
    sampling = [s for s in inner["dataset"]["pipeline"] if s["type"] == "UniformSampleFrames"]
    assert sampling == [dict(type="UniformSampleFrames", clip_len=32, num_clips=1,
                             test_mode=True)]


def test_config_diff_reports_changed_added_and_removed_keys():
    old = dict(a=1, p=[dict(type="X", k=1)], gone=2)
    new = dict(a=1, p=[dict(type="X", k=3)], added=4)
    assert config_diff.differences(old, new) == [
        "added: only in the new config (4)", "gone: only in the old config (2)",
        "p[0].k: 1 -> 3"]
    assert config_diff.differences(old, old) == []
