"""Skeleton format readers: PYSKL pickle, NTU .skeleton, NW-UCLA json, COCO-17 2-D clips,
and tools/data/convert.py."""
import importlib.util
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from zoo.datasets.skeleton import (
    NTURGBD,
    NWUCLA,
    COCO2DClips,
    MSRAction3D,
    PoseDataset,
    PreNormalize2D,
    SkeletonFormatError,
    dump_pyskl,
    load_pyskl,
    parse_ntu_name,
    read_ntu_skeleton,
    read_ucla_json,
)
from zoo.datasets.skeleton.ntu import is_training

from zoo.registry import DATASETS

REPO = Path(__file__).resolve().parents[2]


def load_convert():
    spec = importlib.util.spec_from_file_location("tool_convert",
                                                  REPO / "tools" / "data" / "convert.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ann(name, label, m=2, t=5, v=25, c=3, seed=0, score=True):
    rng = np.random.default_rng(seed)
    ann = dict(frame_dir=name, label=label, total_frames=t,
               keypoint=rng.normal(size=(m, t, v, c)).astype(np.float32))
    if score:
        ann["keypoint_score"] = rng.uniform(size=(m, t, v)).astype(np.float32)
    return ann


# ---------------------------------------------------------------- PYSKL pickle

def test_pyskl_write_read_roundtrip_and_dataset(tmp_path):
    anns = [_ann(f"S001C001P00{i}R001A001", i % 3, seed=i) for i in range(1, 6)]
    split = {"xsub_train": [a["frame_dir"] for a in anns[:3]],
             "xsub_val": [a["frame_dir"] for a in anns[3:]]}
    path = dump_pyskl(tmp_path / "ntu.pkl", anns, split)
    assert [p.name for p in tmp_path.iterdir()] == ["ntu.pkl"]  # no temporary left behind
    data = load_pyskl(path)
    assert data["split"] == split
    for a, b in zip(anns, data["annotations"]):
        assert a["frame_dir"] == b["frame_dir"] and a["label"] == b["label"]
        np.testing.assert_array_equal(a["keypoint"], b["keypoint"])
        np.testing.assert_array_equal(a["keypoint_score"], b["keypoint_score"])
    # A plain pickle of the same dict (what PYSKL/mmcv write: protocol 2) reads too.
    with open(tmp_path / "p2.pkl", "wb") as f:
        pickle.dump(dict(split=split, annotations=anns), f, protocol=2)
    assert len(load_pyskl(tmp_path / "p2.pkl")["annotations"]) == 5

    ds = DATASETS.build(dict(type="PoseDataset", ann_file=str(path), split="xsub_val"))
    assert isinstance(ds, PoseDataset) and len(ds) == 2
    assert ds.metainfo["layout"] == "ntu25"
    assert ds[0]["frame_dir"] == anns[3]["frame_dir"]
    assert len(PoseDataset(str(path))) == 5
    with pytest.raises(KeyError, match="xview_train"):
        PoseDataset(str(path), split="xview_train")


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pyskl_reader_refuses_arbitrary_objects(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "bad.pkl"
    with open(bad, "wb") as f:
        pickle.dump(dict(split={}, annotations=[_Payload(marker)]), f)
    with pytest.raises(SkeletonFormatError, match=r"bad\.pkl.*global '.*open' is not allowed"):
        load_pyskl(bad)
    assert not marker.exists()


def test_pyskl_bad_content_is_named(tmp_path):
    a = _ann("clip_a", 0)
    del a["label"]
    with pytest.raises(SkeletonFormatError, match=r"annotations\[0\] \(clip_a\) lacks.*label"):
        dump_pyskl(tmp_path / "x.pkl", [a], {})
    b = _ann("clip_b", 0)
    b["keypoint_score"] = b["keypoint_score"][:, :2]
    with pytest.raises(SkeletonFormatError, match="keypoint_score shape"):
        dump_pyskl(tmp_path / "x.pkl", [b], {})
    with pytest.raises(SkeletonFormatError, match="unknown frame_dir"):
        dump_pyskl(tmp_path / "x.pkl", [_ann("c", 0)], {"train": ["c", "nope"]})
    assert not (tmp_path / "x.pkl").exists()
    (tmp_path / "trunc.pkl").write_bytes(pickle.dumps({"annotations": []})[:-3])
    with pytest.raises(SkeletonFormatError, match="trunc.pkl"):
        load_pyskl(tmp_path / "trunc.pkl")


# ---------------------------------------------------------------- NTU .skeleton

def _joint_line(xyz, state):
    # x y z depthX depthY colorX colorY orientationW orientationX orientationY orientationZ state
    return (f"{xyz[0]:.7f} {xyz[1]:.7f} {xyz[2]:.7f} 270.1 200.2 1000.5 550.5 "
            f"0.1 0.2 0.3 0.9 {state}")


def write_ntu(path, frames):
    """``frames``: list of lists of (bodyID, joints [25, 3], states [25])."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for body_id, joints, states in bodies:
            lines.append(f"{body_id} 0 1 1 1 1 0 0.05 -0.02 2")
            lines.append("25")
            lines += [_joint_line(j, s) for j, s in zip(joints, states)]
    Path(path).write_text("\r\n".join(lines) + "\r\n")  # the real files use CRLF


def _body(rng, t, amplitude, offset):
    base = rng.normal(size=(25, 3)) * 0.2 + offset
    wave = np.sin(np.linspace(0, 3, t))[:, None, None] * amplitude
    return base[None] + wave * rng.normal(size=(1, 25, 3))


def test_ntu_reader_keeps_the_two_most_active_bodies(tmp_path):
    rng = np.random.default_rng(0)
    t = 6
    calm = _body(rng, t, 0.01, 0.0)      # nearly still
    busy = _body(rng, t, 0.5, 1.0)       # most active
    mid = _body(rng, t, 0.2, -1.0)       # second
    states = np.full(25, 2)
    states[3] = 1
    frames = []
    for f in range(t):
        if f == 2:
            frames.append([])  # a frame without bodies is dropped
            continue
        bodies = [("72057594037931101", calm[f], states), ("72057594037931102", busy[f], states)]
        if f >= 3:
            bodies.append(("72057594037931103", mid[f], states))
        frames.append(bodies)
    path = tmp_path / "S001C002P003R001A050.skeleton"
    write_ntu(path, frames)
    out = read_ntu_skeleton(path)
    assert out["keypoint"].shape == (2, t - 1, 25, 3)
    assert out["missing_frames"] == 1 and out["total_frames"] == t - 1
    assert out["num_bodies"] == 3
    kept = [f for f in range(t) if f != 2]
    np.testing.assert_allclose(out["keypoint"][0], busy[kept], atol=1e-6)
    # "mid" appears from frame 3 on (valid index 2): zeros before
    assert not out["keypoint"][1, :2].any()
    np.testing.assert_allclose(out["keypoint"][1, 2:], mid[3:], atol=1e-6)
    assert out["keypoint_score"][0, 0, 3] == 0.5 and out["keypoint_score"][0, 0, 0] == 1.0
    assert not out["keypoint_score"][1, :2].any()


def test_ntu_reader_errors_name_file_and_line(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "S001C001P001R001A001.skeleton"
    write_ntu(path, [[("1", rng.normal(size=(25, 3)), np.full(25, 2))]] * 2)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-5]))
    with pytest.raises(SkeletonFormatError, match=r"S001C001P001R001A001\.skeleton.*ends early"):
        read_ntu_skeleton(path)
    bad = list(lines)
    bad[5] = "1.0 2.0 oops"
    path.write_text("\n".join(bad))
    with pytest.raises(SkeletonFormatError, match=r"line 6: expected 12 values"):
        read_ntu_skeleton(path)
    path.write_text("2\n0\n0\n")
    with pytest.raises(SkeletonFormatError, match="none of its 2 frames holds a body"):
        read_ntu_skeleton(path)


def test_ntu_splits_from_names(tmp_path):
    assert parse_ntu_name("S017C003P020R002A120.skeleton") == dict(
        setup=17, camera=3, subject=20, replication=2, action=120)
    assert is_training("S001C001P001R001A001", "xsub")
    assert not is_training("S001C001P003R001A001", "xsub")
    assert not is_training("S001C001P001R001A001", "xview")
    assert is_training("S001C002P003R001A001", "xview")
    assert is_training("S018C001P045R001A100", "xsub120")
    assert not is_training("S018C001P044R001A100", "xsub120")
    assert is_training("S018C001P044R001A100", "xset120")
    assert not is_training("S017C001P045R001A100", "xset120")
    with pytest.raises(SkeletonFormatError, match="SsssCcccPpppRrrrAaaa"):
        parse_ntu_name("clip.skeleton")
    rng = np.random.default_rng(2)
    for name in ("S001C001P001R001A001", "S001C002P003R001A002", "S001C003P002R001A061"):
        write_ntu(tmp_path / f"{name}.skeleton",
                  [[("7", rng.normal(size=(25, 3)), np.full(25, 2))]] * 3)
    train = NTURGBD(str(tmp_path), benchmark="xsub", split="train")
    test = NTURGBD(str(tmp_path), benchmark="xsub", split="test")
    assert [s["frame_dir"] for s in train] == ["S001C001P001R001A001", "S001C003P002R001A061"][:1]
    assert [s["frame_dir"] for s in test] == ["S001C002P003R001A002"]  # A061 is NTU-120 only
    assert test[0]["label"] == 1
    assert len(NTURGBD(str(tmp_path), benchmark="xsub120", split="all")) == 3


# ---------------------------------------------------------------- NW-UCLA json

def write_ucla(folder, name, t=4, seed=0):
    rng = np.random.default_rng(seed)
    data = {"file_name": name, "skeletons": rng.normal(size=(t, 20, 3)).round(4).tolist()}
    (Path(folder) / f"{name}.json").write_text(json.dumps(data))
    return np.asarray(data["skeletons"], dtype=np.float32)


def test_nw_ucla_reader_labels_views_and_split(tmp_path):
    names = ["a01_s01_e00_v01", "a08_s02_e01_v02", "a12_s03_e02_v03", "a11_s04_e00_v03"]
    arrays = [write_ucla(tmp_path, n, t=3 + i, seed=i) for i, n in enumerate(names)]
    s = read_ucla_json(tmp_path / f"{names[1]}.json")
    assert s["label"] == 6 and s["view"] == 2 and s["keypoint"].shape == (1, 4, 20, 3)
    np.testing.assert_array_equal(s["keypoint"][0], arrays[1])
    train = NWUCLA(str(tmp_path), split="train")
    test = NWUCLA(str(tmp_path), split="test")
    assert sorted(x["frame_dir"] for x in train) == names[:2]
    assert sorted(x["label"] for x in test) == [8, 9]
    assert train.metainfo["layout"] == "kinect20" and len(train.metainfo["classes"]) == 10


def test_nw_ucla_bad_files_are_named(tmp_path):
    write_ucla(tmp_path, "a07_s01_e00_v01")
    with pytest.raises(SkeletonFormatError, match=r"a07_s01_e00_v01\.json.*a07 is not one"):
        read_ucla_json(tmp_path / "a07_s01_e00_v01.json")
    (tmp_path / "x.json").write_text(json.dumps({"file_name": "a01_s01_e00_v01",
                                                 "skeletons": [[[0, 0, 0]] * 19]}))
    with pytest.raises(SkeletonFormatError, match=r"x\.json.*\[T\]\[20\]\[3\]"):
        read_ucla_json(tmp_path / "x.json")


def test_nw_ucla_non_utf8_byte_is_named(tmp_path):
    write_ucla(tmp_path, "a01_s01_e00_v01")
    path = tmp_path / "a01_s01_e00_v01.json"
    data = path.read_bytes()
    path.write_bytes(data[:10] + b"\xff" + data[10:])
    with pytest.raises(SkeletonFormatError, match=r"a01_s01_e00_v01\.json: is not UTF-8 text "
                                                  r".*byte 0xff at offset 10"):
        read_ucla_json(path)
    with pytest.raises(SkeletonFormatError, match=r"a01_s01_e00_v01\.json"):
        NWUCLA(str(tmp_path), split="train")


# ---------------------------------------------------------------- COCO-17 2-D clips

def make_coco_folder(folder):
    folder = Path(folder)
    rng = np.random.default_rng(3)
    a = rng.uniform(0, 640, size=(2, 5, 17, 3)).astype(np.float32)
    a[..., 1] = rng.uniform(0, 480, size=(2, 5, 17))
    a[..., 2] = rng.uniform(0.2, 1.0, size=(2, 5, 17))
    a[1, 4] = 0  # second person missing in the last frame
    np.save(folder / "jump_001.npy", a)
    b = rng.uniform(0, 480, size=(7, 17, 3)).round(3)
    (folder / "wave_002.json").write_text(json.dumps({"keypoints": b.tolist(),
                                                      "img_shape": [480, 640]}))
    (folder / "labels.csv").write_text("clip,label,split,width,height\n"
                                       "jump_001,jump,train,640,480\n"
                                       "wave_002,wave,test,,\n")
    return a, b


def test_coco2d_clips_and_normalisation(tmp_path):
    a, b = make_coco_folder(tmp_path)
    train = COCO2DClips(str(tmp_path), split="train")
    test = COCO2DClips(str(tmp_path), split="test")
    assert train.metainfo["classes"] == ("jump", "wave") and train.metainfo["layout"] == "coco17"
    s = train[0]
    assert s["keypoint"].shape == (2, 5, 17, 2) and s["keypoint_score"].shape == (2, 5, 17)
    assert s["img_shape"] == (480, 640) and s["label"] == 0
    np.testing.assert_array_equal(s["keypoint"], a[..., :2])
    t = test[0]
    assert t["keypoint"].shape == (1, 7, 17, 2) and t["label"] == 1
    np.testing.assert_allclose(t["keypoint_score"][0], b[..., 2], rtol=1e-6)
    out = PreNormalize2D()(dict(s))
    x, y = a[0, 0, 0, :2]
    np.testing.assert_allclose(out["keypoint"][0, 0, 0], [(x - 320) / 320, (y - 240) / 240],
                               rtol=1e-5)
    assert not out["keypoint"][1, 4].any()  # missing person stays zero
    assert np.abs(out["keypoint"]).max() <= 1.0
    with pytest.raises(ValueError, match="img_shape"):
        PreNormalize2D(img_shape=None)({"keypoint": np.zeros((1, 1, 17, 2))})


def test_coco2d_missing_clip_is_named(tmp_path):
    make_coco_folder(tmp_path)
    (tmp_path / "labels.csv").write_text("clip,label\nghost,0\n")
    with pytest.raises(SkeletonFormatError, match=r"labels\.csv.*line 2: no ghost\.npy"):
        COCO2DClips(str(tmp_path), split="all")
    np.save(tmp_path / "bad.npy", np.zeros((5, 17, 2)))
    (tmp_path / "labels.csv").write_text("clip,label\nbad,0\n")
    with pytest.raises(SkeletonFormatError, match=r"bad\.npy.*\[M, T, 17, 3\]"):
        COCO2DClips(str(tmp_path), split="all")


# ---------------------------------------------------------------- tools/data/convert.py

def test_convert_msr_roundtrip(msr_dir, tmp_path):
    convert = load_convert()
    out = convert.main(["msr", str(msr_dir), str(tmp_path / "msr.pkl")])
    data = load_pyskl(out)
    ref = MSRAction3D(str(msr_dir), split="all")
    assert len(data["annotations"]) == len(ref) == 566
    for i in (0, 100, len(ref) - 1):
        want, got = ref.get_data_info(i), data["annotations"][i]
        assert got["frame_dir"] == want["frame_dir"] and got["label"] == want["label"]
        np.testing.assert_array_equal(got["keypoint"], want["keypoint"])
        np.testing.assert_array_equal(got["keypoint_score"], want["keypoint_score"])
    train = PoseDataset(str(out), split="xsub_train", layout="kinect20")
    val = PoseDataset(str(out), split="xsub_val", layout="kinect20")
    assert (len(train), len(val)) == (291, 275)
    names = {ref.get_data_info(i)["frame_dir"] for i in range(len(ref))
             if ref.get_data_info(i)["subject"] % 2 == 1}
    assert {train.get_data_info(i)["frame_dir"] for i in range(len(train))} == names


def test_convert_ntu_ucla_coco2d(tmp_path):
    convert = load_convert()
    rng = np.random.default_rng(4)
    ntu = tmp_path / "ntu"
    ntu.mkdir()
    for name in ("S001C001P001R001A001", "S001C002P003R001A002"):
        write_ntu(ntu / f"{name}.skeleton",
                  [[("7", rng.normal(size=(25, 3)), np.full(25, 2))]] * 3)
    data = load_pyskl(convert.main(["ntu", str(ntu), str(tmp_path / "ntu.pkl")]))
    assert data["split"]["xsub_train"] == ["S001C001P001R001A001"]
    assert data["split"]["xview_train"] == ["S001C002P003R001A002"]
    ref = read_ntu_skeleton(ntu / "S001C002P003R001A002.skeleton")
    np.testing.assert_array_equal(data["annotations"][1]["keypoint"], ref["keypoint"])

    ucla = tmp_path / "ucla"
    ucla.mkdir()
    write_ucla(ucla, "a01_s01_e00_v01")
    write_ucla(ucla, "a02_s01_e00_v03", seed=1)
    data = load_pyskl(convert.main(["ucla", str(ucla), str(tmp_path / "ucla.pkl")]))
    assert data["split"] == {"train": ["a01_s01_e00_v01"], "val": ["a02_s01_e00_v03"]}

    coco = tmp_path / "coco"
    coco.mkdir()
    a, _ = make_coco_folder(coco)
    out = convert.main(["coco2d", str(coco), str(tmp_path / "coco.pkl")])
    data = load_pyskl(out)
    assert data["split"] == {"train": ["jump_001"], "test": ["wave_002"]}
    np.testing.assert_array_equal(data["annotations"][0]["keypoint"], a[..., :2])
    assert tuple(data["annotations"][0]["img_shape"]) == (480, 640)
    ds = PoseDataset(str(out), split="train", classes=("jump", "wave"))
    assert ds.metainfo["layout"] == "coco17"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
