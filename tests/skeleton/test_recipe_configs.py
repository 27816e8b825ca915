"""Recipe configs of issue 22 (configs/skeleton/recipes): MSR Action3D recipes adapted from
the authors' training recipes, and the published NTU-60 training recipes (no NTU data here:
they are checked to build, pass the config check and run a forward pass)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from zoo.config_check import check_config, read_config
from zoo.registry import MODELS

init_default_scope("zoo")
RECIPES = Path(__file__).resolve().parents[2] / "configs/skeleton/recipes"
MSR = ["ctrgcn_msr3d_xsub.py", "skateformer_msr3d_xsub.py", "stgcn_msr3d_xsub.py",
       "stgcn_pyskl_msr3d_xsub.py", "stgcnpp_msr3d_xsub.py", "ctrgcn_msr3d_xsub_lightaug.py",
       "ensemnn_msr3d_xsub.py"]
NTU = ["stgcn_ntu60_xsub_joint_official.py", "ctrgcn_ntu60_xsub_joint_official.py",
       "skateformer_ntu60_xsub_joint_official.py", "stgcn_pyskl_ntu60_xsub_joint_official.py",
       "stgcnpp_ntu60_xsub_joint_official.py"]
KNOB_KEYS = {"layout": ("layout",), "num_classes": ("num_classes",),
             "clip_len": ("clip_len", "num_frames")}


def test_every_recipe_file_is_tested():
    assert sorted(p.name for p in RECIPES.glob("*.py")) == sorted(MSR + NTU)


def leaves(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaves(v, f"{path}.{k}" if path else str(k))
            if not isinstance(v, (dict, list, tuple)):
                yield f"{path}.{k}" if path else str(k), k, v
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from leaves(v, f"{path}.{i}")


@pytest.mark.parametrize("name", MSR + NTU)
def test_recipe_passes_the_check_and_its_knobs_reach_every_use(name):
    """Config check, schedule as long as the training, and every layout / num_classes /
    clip_len (num_frames) key equal to the top-level knob, so that ``--cfg-options
    layout=... num_classes=... clip_len=...`` (propagated by value) changes all of them."""
    cfg = read_config(RECIPES / name)
    check_config(cfg)
    assert cfg.param_scheduler[-1]["end"] == cfg.train_cfg.max_epochs
    tree = cfg.to_dict()
    for knob, keys in KNOB_KEYS.items():
        assert knob in tree, f"{name}: no top-level {knob}"
        uses = [(p, v) for p, k, v in leaves(tree) if k in keys and p != knob]
        assert uses, f"{name}: nothing uses {knob}"
        # a graph may use PYSKL's variant of the layout (ntu25_pyskl), same joints
        wrong = [(p, v) for p, v in uses if v not in (tree[knob], f"{tree[knob]}_pyskl")]
        assert not wrong, f"{name}: {knob}={tree[knob]!r} but {wrong}"
    if name in NTU:
        published = tree["published"]
        assert published["top1"] > 50 and published["source"] and "NTU" in published["dataset"]


@pytest.mark.parametrize("name", MSR + NTU)
def test_recipe_model_builds_and_gives_one_score_per_class(name):
    cfg = read_config(RECIPES / name)
    model = MODELS.build(cfg.model).eval()
    persons = 1 if name in MSR else 2
    joints = 20 if cfg.layout == "kinect20" else 25
    torch.manual_seed(0)
    with torch.no_grad():
        out = model(torch.randn(1, persons, cfg.clip_len, joints, 3))
    assert out.shape == (1, cfg.num_classes)
    assert torch.isfinite(out).all()


def test_msr_recipe_pipelines_on_a_real_sequence(msr_dir):
    """The training pipeline (crop-resize, rotation, scaling, noise, joint/frame drop) gives
    one 64-frame clip that changes from draw to draw; the test pipeline 10 fixed clips."""
    from zoo.datasets.skeleton.msr_action3d import read_msr_skeleton

    cfg = read_config(RECIPES / "ctrgcn_msr3d_xsub.py")
    joints, conf = read_msr_skeleton(next(iter(sorted(msr_dir.glob("a05_s01_e01_*")))))
    sample = dict(keypoint=joints[None], keypoint_score=conf[None], label=4,
                  total_frames=len(joints), frame_dir="a05_s01_e01")
    train, test = Compose(cfg.train_pipeline), Compose(cfg.test_pipeline)
    np.random.seed(0)
    a = train(dict(sample))["inputs"]
    b = train(dict(sample))["inputs"]
    assert tuple(a.shape) == (1, 1, 64, 20, 3)
    assert not torch.allclose(a, b)
    t1, t2 = test(dict(sample))["inputs"], test(dict(sample))["inputs"]
    assert tuple(t1.shape) == (10, 1, 64, 20, 3) and torch.equal(t1, t2)


def test_ntu_recipe_train_pipeline_on_a_two_person_sample():
    cfg = read_config(RECIPES / "ctrgcn_ntu60_xsub_joint_official.py")
    rng = np.random.default_rng(0)
    kp = rng.normal(size=(2, 90, 25, 3)).astype(np.float32)
    out = Compose(cfg.train_pipeline)(dict(keypoint=kp, total_frames=90, label=3))
    assert tuple(out["inputs"].shape) == (1, 2, 64, 25, 3)


@pytest.mark.parametrize("name,clip_len", [(MSR[0], 32), (MSR[1], 128)])  # SkateFormer: 64 k
def test_msr_recipe_moves_to_another_data_set_with_cfg_options(name, clip_len):
    """``--cfg-options layout=ntu25 num_classes=60 clip_len=T data_root=DIR`` (the top-level
    knobs, propagated by :func:`zoo.config_overrides.apply_cfg_options`) reaches the model,
    the pipelines and the loaders; the model is then an NTU-25, 60-class, T-frame one."""
    from zoo.config_overrides import apply_cfg_options

    cfg = read_config(RECIPES / name)
    apply_cfg_options(cfg, {"layout": "ntu25", "num_classes": 60, "clip_len": clip_len,
                            "data_root": "/data/other"})
    tree = cfg.to_dict()
    for knob, keys in KNOB_KEYS.items():
        values = {v for p, k, v in leaves(tree) if k in keys}
        assert values == {tree[knob]}, (knob, values)
    roots = {v for p, k, v in leaves(tree) if k == "data_root"}
    assert roots == {"/data/other"}
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1, clip_len, 25, 3)).shape == (1, 60)


@pytest.mark.parametrize("name", MSR)
def test_save_best_names_a_metric_the_evaluator_reports(name):
    """CheckpointHook(save_best=KEY) fails after the first validation when KEY is not one of
    the evaluator's keys (it was 'acc/top1'; AccMetric reports 'top1')."""
    from zoo.registry import METRICS

    cfg = read_config(RECIPES / name)
    metric = METRICS.build(cfg.val_evaluator)
    scores = np.eye(cfg.num_classes, dtype=np.float32)[:5]
    keys = metric.compute_metrics([dict(score=s, label=i) for i, s in enumerate(scores)])
    assert cfg.default_hooks.checkpoint.save_best in keys
