"""Convert skeleton data sets to one PYSKL / MMAction2 annotation pickle.

Examples::

    uv run tools/data/convert.py msr ../shared/data/msr_action3d msr_xsub.pkl
    uv run tools/data/convert.py ntu nturgb+d_skeletons ntu60_3danno.pkl --ntu 60
    uv run tools/data/convert.py ucla NW-UCLA/all_sqe ucla.pkl
    uv run tools/data/convert.py coco2d my_clips my_clips.pkl

Split keys written: MSR ``xsub_train``/``xsub_val`` (odd subjects train); NTU-60
``xsub_*``/``xview_*``; NTU-120 ``xsub_*``/``xset_*``; NW-UCLA ``train`` (views 1, 2) /
``val`` (view 3); COCO-2D clips the values of the ``split`` column of ``labels.csv`` (or
``all``). Load the result with ``PoseDataset(ann_file, split='xsub_train')``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from zoo.datasets.skeleton import NTURGBD, NWUCLA, COCO2DClips, MSRAction3D, dump_pyskl
from zoo.datasets.skeleton.ntu import is_training

KEEP = ("frame_dir", "label", "keypoint", "keypoint_score", "total_frames", "img_shape",
        "original_shape")
FORMATS = ("msr", "ntu", "ucla", "coco2d")


def _splits(samples: list[dict], rules: dict) -> dict[str, list[str]]:
    """``{prefix_train: [...], prefix_val: [...]}`` from ``rules[prefix](sample) -> bool``."""
    out = {}
    for prefix, is_train in rules.items():
        out[f"{prefix}train"] = [s["frame_dir"] for s in samples if is_train(s)]
        out[f"{prefix}val"] = [s["frame_dir"] for s in samples if not is_train(s)]
    return out


def convert(fmt: str, src: str | Path, out: str | Path, ntu: int = 60) -> dict:
    """Read ``src`` in format ``fmt`` and write the PYSKL pickle ``out``; return its content."""
    src = str(src)
    if fmt == "msr":
        ds = MSRAction3D(src, split="all")
        rules = {"xsub_": lambda s: s["subject"] % 2 == 1}
    elif fmt == "ntu":
        if ntu not in (60, 120):
            raise ValueError(f"--ntu must be 60 or 120, got {ntu}")
        ds = NTURGBD(src, benchmark="xsub" if ntu == 60 else "xsub120", split="all")
        names = ("xsub", "xview") if ntu == 60 else ("xsub120", "xset120")
        rules = {f"{b.replace('120', '')}_": (lambda s, b=b: is_training(s["frame_dir"], b))
                 for b in names}
    elif fmt == "ucla":
        ds = NWUCLA(src, split="all")
        rules = {"": lambda s: s["view"] in ds.train_views}
    elif fmt == "coco2d":
        ds = COCO2DClips(src, split="all")
        split_of = {r["clip"].strip(): (r.get("split") or "all").strip() for r in ds.rows}
        rules = {}
    else:
        raise ValueError(f"unknown format {fmt!r}; use one of {FORMATS}")
    samples = [ds.get_data_info(i) for i in range(len(ds))]
    if fmt == "coco2d":
        split: dict[str, list[str]] = {}
        for s in samples:
            split.setdefault(split_of[s["frame_dir"]], []).append(s["frame_dir"])
    else:
        split = _splits(samples, rules)
    anns = [{k: v for k, v in s.items() if k in KEEP} for s in samples]
    dump_pyskl(out, anns, split)
    return dict(split=split, annotations=anns)


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("format", choices=FORMATS)
    parser.add_argument("src", help="folder of the source files")
    parser.add_argument("out", help="PYSKL pickle to write (atomically)")
    parser.add_argument("--ntu", type=int, default=60, help="NTU-60 or NTU-120 benchmarks")
    args = parser.parse_args(argv)
    data = convert(args.format, args.src, args.out, args.ntu)
    sizes = ", ".join(f"{k}: {len(v)}" for k, v in data["split"].items())
    print(f"wrote {args.out}: {len(data['annotations'])} samples ({sizes})", flush=True)
    return Path(args.out)


if __name__ == "__main__":
    main()
