"""``ContinualTrainLoop(cache_inputs=True)``: every sample packed once, the same results."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.runner import Runner
from zoo.datasets.transforms.formatting import PackClsInputs

from zoo.continual.dataset import PackedBatch, PackedDataset
from zoo.registry import TRANSFORMS
from zoo.runner_utils import load_config

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "configs/continual/split_digits/finetune.py")


@TRANSFORMS.register_module(force=True)
class NoisyDigit:
    """Test transform: random noise on the image (a random augmentation)."""

    def __call__(self, results):
        results["img"] = results["img"] + np.random.normal(0, 0.1, results["img"].shape)
        return results


def tiny(work_dir, strategy, cache, **extra):
    options = {
        "model.backbone.channels": (4, 8), "model.cls_head.in_channels": 8,
        "train_cfg.epochs_per_task": 2, "train_cfg.strategy": strategy,
        "train_cfg.cache_inputs": cache, "train_cfg.save_checkpoints": False,
        "train_cfg.save_plots": False, "train_dataloader.batch_size": 48,
        "default_hooks.logger.interval": 1000,
        "experiment_name": f"{Path(work_dir).parent.name}_{Path(work_dir).name}",
        **extra}
    return load_config(CONFIG, options, str(work_dir))


def results(cfg):
    Runner.from_cfg(cfg).train()
    return json.loads((Path(cfg.work_dir) / "continual_results.json").read_text())


@pytest.mark.parametrize("strategy", [
    dict(type="FineTune"),
    dict(type="ER", buffer=dict(type="reservoir", size=40)),  # replay draws
    dict(type="EWC", lambda_=100.0),  # reads the task's data again at the task end
], ids=["FineTune", "ER", "EWC"])
def test_cached_inputs_give_the_results_of_the_uncached_run(tmp_path, monkeypatch, strategy):
    calls = []
    pack = PackClsInputs.__call__

    def counting(self, results):
        calls.append(results["sample_idx"])
        return pack(self, results)

    monkeypatch.setattr(PackClsInputs, "__call__", counting)
    plain = results(tiny(tmp_path / "plain", strategy, cache=False))
    plain_calls = len(calls)
    calls.clear()
    cached = results(tiny(tmp_path / "cached", strategy, cache=True))
    assert cached["accuracy_matrix"] == plain["accuracy_matrix"]
    assert cached["task_aware_accuracy_matrix"] == plain["task_aware_accuracy_matrix"]
    # each training and test sample packed once, plus the 4-sample determinism check of each
    # of the 5 training and 5 test packs; without the cache every epoch packs again
    train, test = 1347, 450
    assert len(calls) == train + test + 10 * 4
    assert plain_calls > 2 * train + test


def test_the_cache_draws_no_random_numbers_and_packs_a_task_once(tmp_path):
    runner = Runner.from_cfg(tiny(tmp_path, dict(type="FineTune"), cache=True))
    loop = runner.train_loop
    data = loop.task_dataset(0)
    state = torch.get_rng_state()
    packed = loop.pack(data)
    assert torch.equal(torch.get_rng_state(), state)
    assert isinstance(packed, PackedDataset) and len(packed) == len(data)
    assert loop.pack(loop.task_dataset(0)) is packed  # the task's data set is built once
    inputs, labels = loop.collect(loop.task_dataset(0))
    assert inputs is packed.inputs and labels is packed.labels
    sample = data[3]
    torch.testing.assert_close(packed.inputs[3], sample["inputs"].float(), rtol=0, atol=0)
    assert int(packed.labels[3]) == int(sample["data_samples"].gt_label)
    batch = next(iter(loop.build_loader(packed, train=True, batch_size=48)))
    assert isinstance(batch, PackedBatch) and batch.inputs.shape == (48, 1, 8, 8)
    assert set(batch.labels.tolist()) <= {0, 1}


def test_a_random_pipeline_is_refused_with_the_data_named(tmp_path):
    cfg = tiny(tmp_path, dict(type="FineTune"), cache=True)
    cfg.train_dataloader.dataset.pipeline = [dict(type="NoisyDigit"),
                                             dict(type="PackClsInputs")]
    with pytest.raises(ValueError, match=r"deterministic.*ClassIncrementalSubset\(Digits\)"):
        Runner.from_cfg(cfg).train()


def test_collect_draws_the_random_numbers_of_the_uncached_collect(tmp_path):
    """A strategy's pass over a task's data (``collect``) reads through a DataLoader without
    the cache, which draws a seed from the global generator; the cached collect draws the
    same, so random numbers used after it (a training-mode crop, say) are those of the
    uncached run. Twice: once packing, once from the cache."""
    after = []
    for name, cache in (("cached", True), ("plain", False)):
        loop = Runner.from_cfg(tiny(tmp_path / name, dict(type="FineTune"), cache=cache)
                               ).train_loop
        torch.manual_seed(5)
        first, _ = loop.collect(loop.task_dataset(1))
        second, _ = loop.collect(loop.task_dataset(1))
        after.append((first, second, torch.rand(4)))
    torch.testing.assert_close(after[0][0], after[1][0], rtol=0, atol=0)
    torch.testing.assert_close(after[0][1], after[1][1], rtol=0, atol=0)
    torch.testing.assert_close(after[0][2], after[1][2], rtol=0, atol=0)
