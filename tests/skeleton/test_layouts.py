"""Joint layouts in the core module zoo.layouts: named ones, inline dicts, the MediaPipe map."""
import subprocess
import sys

import numpy as np
import pytest
import torch
from zoo.models.skeleton.graph import Graph

from zoo.layouts import LAYOUTS, MEDIAPIPE33_TO_COCO17, get_layout, layout_to_dict


def test_core_layout_module_imports_no_model_code():
    code = "import sys, zoo.layouts; assert not any(m.startswith('zoo.models') for m in " \
           "sys.modules), sorted(m for m in sys.modules if m.startswith('zoo.'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_graph_module_reexports_the_core_layouts():
    from zoo.models.skeleton import graph

    assert graph.LAYOUTS is LAYOUTS and graph.get_layout is get_layout


@pytest.mark.parametrize("name,num,center_name", [
    ("mediapipe33", 33, "nose"), ("hand21", 21, "wrist"), ("openpose25", 25, "neck"),
    ("halpe26", 26, "neck")])
def test_new_layouts_sizes_and_centres(name, num, center_name):
    layout = get_layout(name)
    assert layout.num_joints == num == len(set(layout.joints))
    assert layout.joints[layout.center] == center_name
    children = [c for c, _ in layout.bones]
    assert sorted(children + [layout.center]) == list(range(num))  # one parent per joint


def test_left_right_bones_are_mirrored():
    """Every bone of a left joint has the matching right bone (catches a swapped index)."""
    for name in ("coco17", "mediapipe33", "openpose25", "halpe26"):
        layout = get_layout(name)
        named = {(layout.joints[c], layout.joints[p]) for c, p in layout.bones}
        for child, parent in named:
            mirror = (child.replace("left", "#").replace("right", "left").replace("#", "right"),
                      parent.replace("left", "#").replace("right", "left").replace("#", "right"))
            assert mirror in named, (name, child, parent)


def test_mediapipe_to_coco17_keeps_names():
    mp, coco = get_layout("mediapipe33"), get_layout("coco17")
    assert [mp.joints[i] for i in MEDIAPIPE33_TO_COCO17] == list(coco.joints)
    assert MEDIAPIPE33_TO_COCO17[:3] == (0, 2, 5) and MEDIAPIPE33_TO_COCO17[5:7] == (11, 12)


def test_hand21_fingers_chain_to_the_wrist():
    hand = get_layout("hand21")
    parents = dict(hand.bones)
    assert hand.joints[8] == "index_tip"
    assert [parents[8], parents[7], parents[6], parents[5]] == [7, 6, 5, 0]


def test_inline_layout_builds_the_same_graph_as_the_name():
    coco = get_layout("coco17")
    inline = dict(num_node=17, inward=[list(b) for b in coco.bones], center=coco.center)
    for mode in ("stgcn_spatial", "spatial"):
        np.testing.assert_array_equal(Graph(inline, mode).A, Graph("coco17", mode).A)
    assert get_layout(layout_to_dict("halpe26")) == get_layout("halpe26")


def test_inline_layout_in_a_model_config():
    from mmengine.registry import init_default_scope

    from zoo.registry import MODELS

    init_default_scope("zoo")
    layout = dict(num_node=5, inward=[(1, 0), (2, 1), (3, 0), (4, 3)], center=0)
    model = MODELS.build(dict(
        type="SkeletonRecognizer",
        backbone=dict(type="STGCN", graph_cfg=dict(layout=layout, mode="stgcn_spatial"),
                      in_channels=2, base_channels=8, num_stages=2, inflate_stages=(),
                      down_stages=()),
        cls_head=dict(type="GCNHead", in_channels=8, num_classes=3)))
    out = model(torch.zeros(2, 1, 1, 8, 5, 2), mode="tensor")
    assert out.shape == (2, 3)


@pytest.mark.parametrize("spec,match", [
    (dict(num_node=3, inward=[(1, 0), (3, 1)], center=0), "outside 0..2"),
    (dict(num_node=3, inward=[(1, 0)], center=5), "center 5"),
    (dict(num_node=3, inward=[(1, 0)]), "missing key"),
    (dict(num_node=3, inward=[(1, 0)], center=0, joints=["a"]), "1 joint names"),
])
def test_bad_inline_layout_is_a_clear_error(spec, match):
    with pytest.raises(ValueError, match=match):
        get_layout(spec)
