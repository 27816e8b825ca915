"""HealthiVert-GAN demo figure: input slice, synthesised healthy slice and height profiles.

Example::

    uv run tools/medical/healthivert_demo.py configs/medical/healthivert_phantom.py \
        work_dirs/healthivert_phantom/iter_1200.pth --case 3 --out healthivert_demo.png

``--data-root`` is a folder of ``case_0000``-style folders (``ct.nii.gz``, ``label.nii.gz``,
``meta.json`` naming ``target_label``; ``healthy_label.nii.gz`` optional); by default the
config's test phantoms. The centre sagittal slice of the case's target vertebra is drawn and
its RHLV (over all central slices) is printed.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch
from zoo.datasets.medical.healthivert_dataset import HealthiVertPhantomDataset

from zoo.medical.healthivert_eval import load_healthivert, plot_healthivert_demo, predict_dataset
from zoo.medical.metrics import aggregate_vertebrae
from zoo.medical.rhlv import SECTIONS


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description="HealthiVert-GAN demo PNG")
    p.add_argument("config")
    p.add_argument("checkpoint")
    p.add_argument("--data-root",
                   help="folder of case_0000, case_0001, ... folders (default: test set)")
    p.add_argument("--case", type=int, default=0, help="index of the case in the folder")
    p.add_argument("--out", default="healthivert_demo.png")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model, cfg = load_healthivert(args.config, args.checkpoint)
    data_cfg = cfg.test_dataloader.dataset
    dataset = HealthiVertPhantomDataset(args.data_root or data_cfg.data_root, num_cases=0,
                                        targets="target", crop_size=data_cfg.crop_size,
                                        band=data_cfg.band)
    keep = [i for i in range(len(dataset)) if dataset.get_data_info(i)["case_id"] == args.case]
    if not keep:
        raise IndexError(f"{dataset.data_root}: no case with index {args.case}")
    subset = torch.utils.data.Subset(dataset, keep)
    preds = predict_dataset(model, subset, progress=False)
    row = aggregate_vertebrae(preds)[0]
    slices = [pr["slice_index"] for pr in preds]
    centre = int(np.argmin(np.abs(np.array(slices) - np.mean(slices))))
    real = dataset.get_data_info(keep[centre])["real"][0]
    rhlv = ", ".join(f"{s} {row['rhlv_syn'][s]:.0%}" for s in SECTIONS)
    plot_healthivert_demo(preds[centre], real, args.out,
                          title=f"case {args.case}, vertebra {row['label']}: RHLV {rhlv}")
    print(f"RHLV (synthesised vs original): {rhlv}")
    print("planted section loss: " + ", ".join(
        f"{s} {v:.0%}" for s, v in zip(SECTIONS, row["true_loss"])))
    print(f"Figure written to {args.out}")
    return row


if __name__ == "__main__":
    main()
