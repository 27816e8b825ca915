"""Write ``heatmap.nii.gz`` (Grad-CAM++ of the fractured class) into every spine case folder.

HealthiVert-GAN's HGAM input is ``1 - heat map``; ``HealthiVertPhantomDataset`` reads the
file when it is present. Example (after training the classifier)::

    uv run tools/medical/write_heatmaps.py configs/medical/fracture_classifier_phantom.py \
        $(ls work_dirs/fracture_classifier_phantom/best_*.pth) --straighten \
        work_dirs/spine_phantoms_curved/train_healthy work_dirs/spine_phantoms_curved/val_fractured

Each file is written to a temporary name and renamed; ``--skip-existing`` resumes.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from tqdm import tqdm

from zoo.analysis.grad_cam import GradCAMPlusPlus
from zoo.apis import init_model
from zoo.medical.fracture_heatmap import write_case_heatmap


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", help="fracture classifier config (its heatmap_cfg is used)")
    p.add_argument("checkpoint")
    p.add_argument("roots", nargs="+", help="folders of case_* folders")
    p.add_argument("--slice-divisor", type=float, default=3.0,
                   help="sagittal slices within centre ± LR extent / divisor get a map")
    p.add_argument("--straighten", action="store_true",
                   help="compute on and write into <case>/straightened (spine straightening; "
                        "what HealthiVertPhantomDataset(straighten=True) reads)")
    p.add_argument("--skip-existing", action="store_true")
    p.add_argument("--summary", help="JSON file for the per-case fractured probabilities")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model = init_model(args.config, args.checkpoint).eval()
    hcfg = {"target_layer": "features", "class_index": 1, **model.cfg.get("heatmap_cfg", {})}
    crop = model.cfg.val_dataloader.dataset.get("crop_size", 64)
    cam = GradCAMPlusPlus(model, hcfg["target_layer"], output_fn=None)
    cases = []
    for root in args.roots:
        found = sorted(c for c in Path(root).glob("case_*") if (c / "ct.nii.gz").is_file())
        if not found:
            raise FileNotFoundError(f"{root}: no case_* folders with ct.nii.gz")
        cases += found
    start, summary = time.time(), {}
    for case in tqdm(cases, desc="Grad-CAM++ heat maps"):
        target = case / "straightened" if args.straighten else case
        if args.skip_existing and (target / "heatmap.nii.gz").is_file():
            continue
        summary[str(case)] = write_case_heatmap(cam, case, hcfg["class_index"], crop,
                                                args.slice_divisor, straighten=args.straighten)
    print(f"{len(summary)} heat maps written in {time.time() - start:.0f} s")
    if args.summary:
        from zoo.fileio import atomic_write_text

        atomic_write_text(args.summary, json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    main()
