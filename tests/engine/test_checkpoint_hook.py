"""The zoo's CheckpointHook writes a new best checkpoint before it deletes the old one."""
from __future__ import annotations

import logging

import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from zoo.engine.checkpoint_hook import KeepBestCheckpointHook
from zoo.registry import HOOKS, METRICS


class _Points(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(inputs=torch.tensor([float(i)]))


class _Line(BaseModel):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Linear(1, 1)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        x = torch.stack(inputs) if isinstance(inputs, list) else inputs
        out = self.w(x)
        return dict(loss=(out ** 2).mean()) if mode == "loss" else [out]


@METRICS.register_module(force=True)
class _RisingScore(BaseMetric):
    """1, 2, 3, ... at successive evaluations: every validation is a new best."""
    calls = 0

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        type(self).calls += 1
        return dict(score=float(type(self).calls))


def test_registered_under_mmengines_name():
    assert HOOKS.get("CheckpointHook") is KeepBestCheckpointHook


def test_old_best_is_deleted_only_after_the_new_one_is_written(tmp_path, monkeypatch):
    _RisingScore.calls = 0
    seen = []  # best_*.pth files present each time the runner saves a checkpoint
    real_save = Runner.save_checkpoint

    def spy(self, out_dir, filename, *args, **kwargs):
        if filename.startswith("best_"):
            seen.append(sorted(p.name for p in tmp_path.glob("best_*.pth")))
        return real_save(self, out_dir, filename, *args, **kwargs)

    monkeypatch.setattr(Runner, "save_checkpoint", spy)
    loader = dict(dataset=_Points(), batch_size=4, sampler=dict(type="DefaultSampler",
                                                                shuffle=False),
                  collate_fn=dict(type="default_collate"))
    runner = Runner(
        model=_Line(), work_dir=str(tmp_path), default_scope="zoo",
        train_dataloader=loader, val_dataloader=loader,
        val_evaluator=dict(type="_RisingScore"),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=3, val_interval=1), val_cfg=dict(),
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", interval=1,
                                           max_keep_ckpts=1, save_best="score",
                                           rule="greater")),
        log_level=logging.WARNING)
    assert any(isinstance(h, KeepBestCheckpointHook) for h in runner.hooks)
    runner.train()
    # when epoch 2's and epoch 3's bests were written, the previous best was still there
    assert seen == [[], ["best_score_epoch_1.pth"], ["best_score_epoch_2.pth"]]
    assert sorted(p.name for p in tmp_path.glob("best_*.pth")) == ["best_score_epoch_3.pth"]
    # max_keep_ckpts still prunes the periodic checkpoints
    assert sorted(p.name for p in tmp_path.glob("epoch_*.pth")) == ["epoch_3.pth"]
