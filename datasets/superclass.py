"""Super-class relabelling of any classification data set (sub-class forgetting)."""
from __future__ import annotations

import copy
from typing import Sequence

from torch.utils.data import Dataset

from zoo.registry import DATASETS


@DATASETS.register_module()
class SuperclassDataset(Dataset):
    """Relabel a data set with super-classes: the model learns the super-class (``label``)
    and every sample keeps its original class as ``fine_label``, so a sub-class can be
    forgotten while its super-class is still learnt from its siblings (the CIFAR-20 setting
    of the SSD paper, Foster et al., AAAI 2024, and of Chundawat et al., AAAI 2023).

    Args:
        dataset: config (or object) of the wrapped data set; its ``pipeline`` runs after the
            relabelling.
        groups: one list of original class indices per super-class; every class must be in
            exactly one group.
        names: super-class names (default ``"0+1"`` style joins of the original names).
    """

    def __init__(self, dataset, groups: Sequence[Sequence[int]],
                 names: Sequence[str] | None = None):
        self.dataset = DATASETS.build(copy.deepcopy(dataset)) if isinstance(dataset, dict) \
            else dataset
        fine = tuple(self.dataset.metainfo.get("classes", ()))
        flat = [int(c) for g in groups for c in g]
        if not groups or any(len(g) == 0 for g in groups):
            raise ValueError("SuperclassDataset: groups must be non-empty lists of classes")
        if sorted(flat) != list(range(len(fine) or max(flat) + 1)):
            raise ValueError(f"SuperclassDataset: groups {groups} must cover each class "
                             f"0..{(len(fine) or max(flat) + 1) - 1} exactly once")
        self.groups = [list(map(int, g)) for g in groups]
        self.coarse_of = {c: k for k, g in enumerate(self.groups) for c in g}
        if names is not None and len(names) != len(groups):
            raise ValueError(f"SuperclassDataset: {len(names)} names for {len(groups)} groups")
        names = list(names) if names is not None else [
            "+".join(fine[c] if fine else str(c) for c in g) for g in self.groups]
        self.metainfo = dict(classes=tuple(names), fine_classes=fine,
                             groups=[list(g) for g in self.groups])

    def __len__(self) -> int:
        return len(self.dataset)

    def get_data_info(self, idx: int) -> dict:
        info = copy.deepcopy(self.dataset.get_data_info(idx))
        key = "label" if "label" in info else "gt_label"
        fine = int(info[key])
        if fine not in self.coarse_of:
            raise KeyError(f"SuperclassDataset: sample {idx} has class {fine}, in no group")
        info["fine_label"] = fine
        info[key] = self.coarse_of[fine]
        return info

    def __getitem__(self, idx: int):
        return self.dataset.pipeline(self.get_data_info(idx))
