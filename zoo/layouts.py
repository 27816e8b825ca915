"""Joint layouts of skeleton data: joint names, bones and the centre joint.

A core module (no torch, no model code): readers, transforms, pose estimators, visualisation
and the graph networks of :mod:`zoo.models.skeleton.graph` all take their layout from here.

Named layouts (0-based joint indices; bones are ``(child, parent)`` pairs pointing towards the
centre joint, one per joint but the centre, so every layout is a tree):

* ``ntu25`` — Kinect v2 / NTU RGB+D 60/120 order.
* ``kinect20`` — Kinect v1 SDK order as in NW-UCLA (0 hip centre, 1 spine, 2 shoulder centre,
  3 head, 4-7 left arm, 8-11 right arm, 12-15 left leg, 16-19 right leg). The MSR Action3D
  reader reorders its files into this layout (see ``zoo.datasets.skeleton.msr_action3d``).
* ``coco17`` — COCO keypoints (nose, eyes, ears, shoulders, elbows, wrists, hips, knees,
  ankles), as HRNet / RTMPose / Keypoint R-CNN output.
* ``openpose18`` — OpenPose COCO-18 (with the neck joint).
* ``openpose25`` — OpenPose BODY_25 (neck, mid-hip and six foot points); bones are
  OpenPose's BODY_25 limb pairs, which already form a tree.
* ``halpe26`` — AlphaPose Halpe-26 body (COCO-17 + head, neck, hip and six foot points);
  AlphaPose draws the face apart from the body, the zoo links the nose to the neck.
* ``mediapipe33`` — MediaPipe Pose / BlazePose landmarks; bones are MediaPipe's
  ``POSE_CONNECTIONS`` reduced to a tree rooted at the nose (the mouth corners and the inner
  hand/foot points hang off their nearest joint). :data:`MEDIAPIPE33_TO_COCO17` picks the
  COCO-17 joints out of it.
* ``hand21`` — MediaPipe Hands / OpenPose hand (wrist, then four joints per finger from
  thumb to little finger), for gesture data.
* ``ntu25_pyskl`` — the NTU-25 joints with PYSKL's / MMAction2's hand edges (model graphs of
  their ST-GCN checkpoints; data transforms keep using ``ntu25``).

A layout can also be given inline wherever a name is accepted, in PYSKL's terms::

    layout = dict(num_node=5, inward=[(1, 0), (2, 1), (3, 0), (4, 3)], center=0)

(``joints`` and ``name`` are optional keys).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class Layout:
    """A joint layout: names, bones ``(child, parent)`` 0-based, and the centre joint."""

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    center: int

    @property
    def num_joints(self) -> int:
        return len(self.joints)


LayoutSpec = Union[str, Layout, Mapping]


def _one_based(pairs):
    return tuple((a - 1, b - 1) for a, b in pairs)


_COCO17_JOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)

LAYOUTS: dict[str, Layout] = {
    "ntu25": Layout(
        "ntu25",
        (
            "spine_base", "spine_mid", "neck", "head", "left_shoulder", "left_elbow",
            "left_wrist", "left_hand", "right_shoulder", "right_elbow", "right_wrist",
            "right_hand", "left_hip", "left_knee", "left_ankle", "left_foot", "right_hip",
            "right_knee", "right_ankle", "right_foot", "spine_shoulder", "left_hand_tip",
            "left_thumb", "right_hand_tip", "right_thumb",
        ),
        _one_based([
            (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21),
            (10, 9), (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1),
            (18, 17), (19, 18), (20, 19), (22, 23), (23, 8), (24, 25), (25, 12),
        ]),
        center=20,
    ),
    "kinect20": Layout(
        "kinect20",
        (
            "hip_center", "spine", "shoulder_center", "head", "left_shoulder", "left_elbow",
            "left_wrist", "left_hand", "right_shoulder", "right_elbow", "right_wrist",
            "right_hand", "left_hip", "left_knee", "left_ankle", "left_foot", "right_hip",
            "right_knee", "right_ankle", "right_foot",
        ),
        _one_based([
            (1, 2), (2, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3), (10, 9),
            (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17),
            (19, 18), (20, 19),
        ]),
        center=2,
    ),
    "coco17": Layout(
        "coco17", _COCO17_JOINTS,
        ((15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7), (7, 5),
         (10, 8), (8, 6), (5, 0), (6, 0), (1, 0), (3, 1), (2, 0), (4, 2)),
        center=0,
    ),
    "openpose18": Layout(
        "openpose18",
        (
            "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
            "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
            "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
        ),
        ((4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8), (11, 5),
         (8, 2), (5, 1), (2, 1), (0, 1), (15, 0), (14, 0), (17, 15), (16, 14)),
        center=1,
    ),
    "openpose25": Layout(
        "openpose25",
        (
            "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
            "left_elbow", "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle",
            "left_hip", "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear",
            "left_ear", "left_big_toe", "left_small_toe", "left_heel", "right_big_toe",
            "right_small_toe", "right_heel",
        ),
        ((0, 1), (2, 1), (5, 1), (8, 1), (3, 2), (4, 3), (6, 5), (7, 6), (9, 8), (10, 9),
         (11, 10), (12, 8), (13, 12), (14, 13), (15, 0), (17, 15), (16, 0), (18, 16),
         (19, 14), (20, 19), (21, 14), (22, 11), (23, 22), (24, 11)),
        center=1,
    ),
    "halpe26": Layout(
        "halpe26",
        _COCO17_JOINTS + (
            "head", "neck", "hip", "left_big_toe", "right_big_toe", "left_small_toe",
            "right_small_toe", "left_heel", "right_heel",
        ),
        ((0, 18), (1, 0), (2, 0), (3, 1), (4, 2), (5, 18), (6, 18), (7, 5), (9, 7), (8, 6),
         (10, 8), (17, 18), (19, 18), (11, 19), (12, 19), (13, 11), (14, 12), (15, 13),
         (16, 14), (24, 15), (25, 16), (20, 24), (22, 24), (21, 25), (23, 25)),
        center=18,
    ),
    "mediapipe33": Layout(
        "mediapipe33",
        (
            "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner",
            "right_eye", "right_eye_outer", "left_ear", "right_ear", "mouth_left",
            "mouth_right", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
            "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index",
            "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee",
            "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
            "left_foot_index", "right_foot_index",
        ),
        ((1, 0), (2, 1), (3, 2), (7, 3), (4, 0), (5, 4), (6, 5), (8, 6), (9, 0), (10, 0),
         (11, 0), (12, 0), (13, 11), (15, 13), (17, 15), (19, 15), (21, 15), (14, 12),
         (16, 14), (18, 16), (20, 16), (22, 16), (23, 11), (24, 12), (25, 23), (27, 25),
         (29, 27), (31, 27), (26, 24), (28, 26), (30, 28), (32, 28)),
        center=0,
    ),
    "hand21": Layout(
        "hand21",
        ("wrist",) + tuple(f"{finger}_{part}" for finger, parts in (
            ("thumb", ("cmc", "mcp", "ip", "tip")), ("index", ("mcp", "pip", "dip", "tip")),
            ("middle", ("mcp", "pip", "dip", "tip")), ("ring", ("mcp", "pip", "dip", "tip")),
            ("pinky", ("mcp", "pip", "dip", "tip"))) for part in parts),
        tuple((base + k, base + k - 1 if k else 0) for base in (1, 5, 9, 13, 17)
              for k in range(4)),
        center=0,
    ),
}

# PYSKL / MMAction2 1.x ``Graph(layout='nturgb+d')``: the NTU-25 joints, but both hand joints
# (tip and thumb) are linked to the hand joint, ``(22, 8), (23, 8), (24, 12), (25, 12)``
# (1-based), where the official ST-GCN / CTR-GCN graphs chain tip -> thumb -> hand. Their
# ST-GCN checkpoints store the adjacency built from these edges.
LAYOUTS["ntu25_pyskl"] = Layout(
    "ntu25_pyskl", LAYOUTS["ntu25"].joints,
    LAYOUTS["ntu25"].bones[:20] + _one_based([(22, 8), (23, 8), (24, 12), (25, 12)]),
    center=20,
)

#: Index in ``mediapipe33`` of each ``coco17`` joint (same names, same left/right).
MEDIAPIPE33_TO_COCO17: tuple[int, ...] = tuple(
    LAYOUTS["mediapipe33"].joints.index(name) for name in _COCO17_JOINTS)


def layout_from_dict(spec: Mapping, source: str = "inline layout") -> Layout:
    """Build a :class:`Layout` from ``dict(num_node, inward, center[, joints, name])``.

    ``inward`` are ``(child, parent)`` pairs towards ``center`` (PYSKL's ``inward`` list).
    Raises ``ValueError`` naming the bad key.
    """
    missing = [k for k in ("num_node", "inward", "center") if k not in spec]
    if missing:
        raise ValueError(f"{source}: missing key(s) {missing}; an inline layout is "
                         "dict(num_node=V, inward=[(child, parent), ...], center=C)")
    unknown = set(spec) - {"num_node", "inward", "center", "joints", "name"}
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {sorted(unknown)}")
    num = int(spec["num_node"])
    center = int(spec["center"])
    try:
        bones = tuple((int(a), int(b)) for a, b in spec["inward"])
    except (TypeError, ValueError):
        raise ValueError(f"{source}: 'inward' must be a list of (child, parent) index pairs, "
                         f"got {spec['inward']!r}") from None
    bad = [pair for pair in bones if not all(0 <= j < num for j in pair)]
    if num < 1 or bad:
        raise ValueError(f"{source}: bones {bad} use joints outside 0..{num - 1}")
    if not 0 <= center < num:
        raise ValueError(f"{source}: center {center} is outside 0..{num - 1}")
    joints = tuple(spec.get("joints") or (f"joint_{i}" for i in range(num)))
    if len(joints) != num:
        raise ValueError(f"{source}: {len(joints)} joint names for num_node={num}")
    return Layout(str(spec.get("name", f"custom{num}")), joints, bones, center)


def get_layout(layout: LayoutSpec) -> Layout:
    """The layout named ``layout``, or built from an inline dict, or ``layout`` itself.

    An unknown name raises a ``KeyError`` that lists the known ones.
    """
    if isinstance(layout, Layout):
        return layout
    if isinstance(layout, Mapping):
        return layout_from_dict(layout)
    try:
        return LAYOUTS[layout]
    except (KeyError, TypeError):
        raise KeyError(f"unknown skeleton layout {layout!r}; known: {sorted(LAYOUTS)} "
                       "or an inline dict(num_node=..., inward=[...], center=...)") from None


def layout_name(layout: LayoutSpec) -> str:
    """The name of a layout given by name, inline dict or :class:`Layout`."""
    return get_layout(layout).name


def layout_to_dict(layout: LayoutSpec) -> dict:
    """A plain dict (inline form) of any layout, e.g. to store it in a checkpoint's meta."""
    spec = get_layout(layout)
    return dict(name=spec.name, num_node=spec.num_joints, inward=[list(b) for b in spec.bones],
                center=spec.center, joints=list(spec.joints))


def joint_indices(layout: LayoutSpec, names: Sequence[str]) -> list[int]:
    """Indices of the joints called ``names`` (a ``KeyError`` names the missing one)."""
    spec = get_layout(layout)
    out = []
    for name in names:
        if name not in spec.joints:
            raise KeyError(f"layout {spec.name!r} has no joint {name!r}")
        out.append(spec.joints.index(name))
    return out
