"""Continual WSI MIL: one data set per task (TaskSequenceDataset + scenario task_datasets),
the continual loop end to end on tiny feature bags with CoMEL + OWLoRA and ABMIL + ER."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from zoo.datasets.wsi.features import save_bag
from zoo.datasets.wsi.synthetic import save_annotation

import zoo.continual  # noqa: F401
from zoo.checkpoint import safe_torch_load
from zoo.continual import ClassIncrementalScenario, ClassIncrementalSubset
from zoo.continual.dataset import TaskSequenceDataset
from zoo.runner_utils import load_config

from .conftest import synthetic_bags

REPO = Path(__file__).resolve().parents[2]
DIM = 16
TASKS = ("t1", "t2", "t3")


@pytest.fixture(scope="module")
def task_bags(tmp_path_factory):
    """Feature-space bags of three tasks in one folder + labels.csv with a task column.

    Every task is tumour-vs-normal (tumour instances shifted along a fixed direction); the
    tasks differ by a task-specific offset of all instances (a "stain" in feature space)."""
    root = tmp_path_factory.mktemp("wsi_tasks")
    (root / "features").mkdir()
    rows = ["slide_id,label,split,task"]
    for k, task in enumerate(TASKS):
        offset = np.zeros(DIM, np.float32)
        offset[k] = 4.0
        for split, n, seed in (("train", 12, 10 * k), ("test", 8, 10 * k + 1)):
            for i, (x, label, tl) in enumerate(synthetic_bags(n, DIM, seed=seed, shift=6.0)):
                sid = f"{task}_{split}_{i:02d}"
                # tiles in one row, 64 px apart; the annotation mask has one pixel per tile
                coords = torch.stack([torch.arange(len(x)) * 64, torch.zeros(len(x))], 1).long()
                save_bag(root / "features" / f"{sid}.pt",
                         dict(features=x + torch.from_numpy(offset), coords=coords,
                              tile_size0=64))
                save_annotation(root / "annotations" / f"{sid}.npz",
                                tl.numpy().reshape(1, -1).astype(bool), 64)
                rows.append(f"{sid},{label},{split},{task}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def _sequence(root: Path, split: str, tasks=TASKS) -> dict:
    return dict(type="TaskSequenceDataset", task_names=list(tasks), datasets=[
        dict(type="WSIBagDataset", feature_dir=str(root / "features"),
             label_csv=str(root / "labels.csv"), split=split, task=t,
             annotation_dir=str(root / "annotations"), test_mode=split == "test")
        for t in tasks])


def test_task_sequence_builds_tasks_from_separate_datasets(task_bags):
    init_default_scope("zoo")
    seq = TaskSequenceDataset(**{k: v for k, v in _sequence(task_bags, "train").items()
                                 if k != "type"})
    assert len(seq) == 36 and seq.task_num_classes == [2, 2, 2]
    assert seq.metainfo["classes"] == ("t1/0", "t1/1", "t2/0", "t2/1", "t3/0", "t3/1")
    scenario = ClassIncrementalScenario.for_task_datasets(seq)
    assert scenario.task_classes == [[0, 1], [2, 3], [4, 5]]
    # sample 13 = task t2, its second slide (label 1 -> 3), packed by the task's pipeline
    info = seq.get_data_info(13)
    assert (info["task"], info["task_label"], info["label"]) == (1, 1, 3)
    assert info["slide_id"] == "t2_train_01"
    task2 = ClassIncrementalSubset(seq, [2, 3], scenario.class_order)
    assert len(task2) == 12
    item = task2[1]
    assert item["inputs"].shape[1] == DIM and int(item["data_samples"].gt_label) == 3
    assert item["data_samples"].slide_id == "t2_train_01"
    assert item["data_samples"].tile_labels.shape == (item["inputs"].shape[0],)
    with pytest.raises(ValueError, match="task='t9'"):
        TaskSequenceDataset([dict(type="WSIBagDataset", feature_dir=str(task_bags / "features"),
                                  label_csv=str(task_bags / "labels.csv"), task="t9")])
    with pytest.raises(TypeError, match="TaskSequenceDataset"):
        ClassIncrementalScenario.for_task_datasets(seq.datasets[0])


def _cfg(root: Path, work_dir: Path, config: str, tasks=TASKS, epochs: int = 3, **extra):
    cfg = load_config(str(REPO / "configs/wsi/continual" / config), dict(
        {"model.in_dim": DIM, "model.embed_dim": 32, "model.attn_dim": 16,
         "train_cfg.epochs_per_task": epochs, "default_hooks.logger.interval": 1000,
         "experiment_name": work_dir.name}, **extra), str(work_dir))
    cfg.train_dataloader.dataset = _sequence(root, "train", tasks)
    cfg.val_dataloader.dataset = _sequence(root, "test", tasks)
    return cfg


def _run(cfg) -> dict:
    torch.set_num_threads(1)
    Runner.from_cfg(cfg).train()
    return json.loads((Path(cfg.work_dir) / "continual_results.json").read_text())


def test_owlora_three_tasks_end_to_end_and_frozen_earlier_adapters(task_bags, tmp_path):
    cfg = _cfg(task_bags, tmp_path / "owlora", "comel_owlora.py", epochs=6,
               **{"model.num_heads": 4, "model.num_layers": 1, "model.lora_rank": 2,
                  "model.tumour_classes": (1, 3, 5), "optim_wrapper.optimizer.lr": 3e-3})
    res = _run(cfg)
    matrix = np.array(res["accuracy_matrix"], dtype=float)
    assert matrix.shape == (3, 3) and not np.isnan(np.tril(matrix)).any()
    assert np.isnan(matrix[np.triu_indices(3, 1)]).all()
    assert res["strategy"] == "OWLoRA" and res["scenario"]["task_classes"] == [[0, 1], [2, 3],
                                                                               [4, 5]]
    # every task is learnt when it is trained (within the task: chance 50)
    aware = np.array(res["task_aware_accuracy_matrix"], dtype=float)
    assert np.diag(aware).min() >= 75.0, aware
    inst = np.array(res["metric_matrices"]["inst_auc"], dtype=float)
    assert inst.shape == (3, 3) and not np.isnan(np.tril(inst)).any()
    assert np.isfinite(res["metrics"]["forgetting"])
    ck = [safe_torch_load(str(tmp_path / "owlora" / f"task_{k}.pth"))["state_dict"]
          for k in (1, 2, 3)]
    for key, value in ck[0].items():  # task-1 weights: frozen in tasks 2 and 3
        if key in ("quality", "iters"):
            continue
        if key.startswith("classifier."):  # old classes' rows kept (freeze_old_classes)
            for later in ck[1:]:
                torch.testing.assert_close(later[key][:2], value[:2], rtol=0, atol=0, msg=key)
        else:
            for later in ck[1:]:
                assert torch.equal(later[key], value), key
    adapters0 = [k for k in ck[1] if ".adapters.0." in k]
    assert adapters0 and not any(".adapters.1." in k for k in ck[1])
    for key in adapters0:  # the task-2 adapters stay frozen in task 3 ...
        assert torch.equal(ck[2][key], ck[1][key]), key
    # ... while the task-3 adapters learnt, orthogonally to them
    ups = [k for k in ck[2] if ".adapters.1.up" in k]
    assert ups and any(ck[2][k].abs().sum() > 0 for k in ups)
    for key in ups:
        old = ck[2][key.replace(".adapters.1.", ".adapters.0.")]
        assert (ck[2][key].T @ old).abs().max() < 1e-4, key


def test_abmil_replay_two_tasks_end_to_end(task_bags, tmp_path):
    cfg = _cfg(task_bags, tmp_path / "er", "abmil_er.py", tasks=TASKS[:2], epochs=6,
               **{"train_cfg.strategy.buffer.size": 4, "optim_wrapper.optimizer.lr": 2e-3})
    res = _run(cfg)
    matrix = np.array(res["accuracy_matrix"], dtype=float)
    assert res["strategy"] == "ER" and matrix.shape == (2, 2)
    aware = np.array(res["task_aware_accuracy_matrix"], dtype=float)
    assert not np.isnan(np.tril(matrix)).any() and np.diag(aware).min() >= 75.0, aware
    state = safe_torch_load(str(tmp_path / "er" / "task_2.pth"))["strategy"]["buffer"]
    # the memory holds whole bags of different sizes, labels of both tasks
    assert len(state["inputs"]) == 4 and isinstance(state["inputs"], list)
    assert {x.shape[1] for x in state["inputs"]} == {DIM}
    assert set(state["labels"].tolist()) <= {0, 1, 2, 3}


@pytest.mark.parametrize("freeze", [True, False])
def test_finetune_keeps_earlier_classes_rows_fixed_as_the_comel_code(task_bags, tmp_path,
                                                                     freeze):
    """The CoMEL code freezes each earlier task's head for every method (fine-tuning too);
    ``freeze_old_classes=False`` trains those rows."""
    work = tmp_path / f"ft_{freeze}"
    cfg = _cfg(task_bags, work, "comel_bppl_finetune.py", tasks=TASKS[:2], epochs=2,
               **{"model.num_heads": 4, "model.num_layers": 1,
                  "train_cfg.strategy.freeze_old_classes": freeze})
    _run(cfg)
    ck = [safe_torch_load(str(work / f"task_{k}.pth"))["state_dict"] for k in (1, 2)]
    same = all(torch.equal(ck[1][k][:2], ck[0][k]) for k in ("classifier.weight",
                                                           "classifier.bias"))
    assert same is freeze
    assert not torch.equal(ck[1]["classifier.weight"][2:],  # the new rows learnt
                           torch.zeros_like(ck[1]["classifier.weight"][2:]))


def test_mil_replay_puts_replayed_bags_through_the_model_loss():
    """MILReplay (CoMEL + ER of the CoMEL code): the replayed bag goes through the model's
    own loss beside the current one (BPPL included), unlike the generic ER's plain CE."""
    from zoo.models.mil import CoMEL

    from zoo.continual.strategies import MILReplay

    torch.manual_seed(0)
    model = CoMEL(in_dim=DIM, embed_dim=16, num_heads=2, region_size=2, num_layers=1,
                  num_classes=4, attn_dim=8, tumour_classes=(1, 3))
    strategy = MILReplay(buffer=dict(type="reservoir", size=3))
    memory = torch.randn(7, DIM)
    strategy.replay_batch = lambda device: {"inputs": [memory], "labels": torch.tensor([1])}
    seen = {}
    real = model.loss_from_labels

    def record(inputs, labels):
        seen["sizes"], seen["labels"] = [len(x) for x in inputs], labels.tolist()
        return real(inputs, labels)

    model.loss_from_labels = record
    losses = strategy.loss(model, [torch.randn(5, DIM)], torch.tensor([3]))
    assert seen == {"sizes": [5, 7], "labels": [3, 1]}
    assert {"loss_cls", "loss_bppl"} <= set(losses)
    with pytest.raises(ValueError, match="reservoir"):
        MILReplay(buffer=dict(type="herding", size=4))


def test_cached_inputs_are_refused_for_bags_with_the_data_named(task_bags, tmp_path):
    """``train_cfg.cache_inputs`` stores one tensor per data set; bags of different sizes
    cannot be, and the loop says so before training."""
    cfg = _cfg(task_bags, tmp_path / "cache", "abmil_finetune.py", tasks=TASKS[:2], epochs=1,
               **{"train_cfg.cache_inputs": True})
    with pytest.raises(ValueError, match=r"ClassIncrementalSubset\(TaskSequenceDataset\) are a "
                                         r"\w+, not one tensor \(bags of instances cannot"):
        _run(cfg)
