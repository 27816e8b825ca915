"""``ContinualTrainLoop``: class-incremental training of any zoo classifier inside mmengine.

Use it as the runner's training loop::

    train_cfg = dict(type='ContinualTrainLoop', epochs_per_task=5,
                     scenario=dict(num_tasks=5, seed=0),
                     strategy=dict(type='EWC', lambda_=100.0))

The loop builds the training data set of ``train_dataloader`` once, splits its classes into
tasks (:class:`~zoo.continual.scenario.ClassIncrementalScenario`) and, for each task: grows
``model.cls_head.fc`` to the classes seen (old rows kept), lets the strategy adapt the model,
rebuilds the optimizer (and ``param_scheduler``, read as a schedule of one task) from the
config, trains ``epochs_per_task`` epochs calling the strategy inside the loss, calls the
strategy at the task end, evaluates all seen tasks on the ``val_dataloader`` data (or
``eval_dataloader``) and fills one row of the accuracy matrix. Labels are incremental (the
position of the class in the scenario's class order).

Outputs in the work dir: ``continual_results.json`` (matrices, metrics, scenario, times),
``accuracy_matrix.png`` (class-incremental) and ``accuracy_matrix_task_aware.png``, and a
checkpoint ``task_<k>.pth`` after each task (see :mod:`zoo.continual.checkpoint`).

Testing: the class-incremental metrics are the result of the run, so continual configs set
``test_dataloader = None`` and ``tools/train.py`` skips its final ``runner.test()``.

Distributed training (``tools/train.py --launcher pytorch``, e.g. two gloo processes): each
rank trains on its shard of every task (mmengine's ``DefaultSampler``) and the loop averages the
gradients over the ranks itself before each optimizer step (the strategies call the unwrapped
model, and the head grows, so DDP's own reducer is not used). Everything a strategy keeps is
the same on all ranks: a replay buffer receives the gathered global batch (in the order a
single process with the ``world_size`` times larger batch would see it) and samples with
:attr:`ContinualTrainLoop.generator`, seeded identically on every rank; a replay minibatch
is drawn globally and each rank trains on its share; task-end passes (herding, Fisher) see
the gathered task data; evaluation scores are gathered before the accuracy matrix is
filled. After every task the loop checks that the weights and the strategy state agree
across ranks, and only rank 0 writes results and checkpoints.

Resuming: with ``cfg.resume`` (``tools/train.py --resume``) the loop takes the resume request
away from mmengine (its epoch checkpoints cannot restore a grown head or a strategy) and
continues from ``last_task_checkpoint`` in the work dir, or from the ``task_<k>.pth`` given
with ``--resume PATH``, at the next task. Each epoch and each task start re-seeds the RNGs
from the run seed, so a resumed run reproduces the uninterrupted one.
"""
from __future__ import annotations

import copy
import json
import math
import time
from functools import partial

import numpy as np
import torch
import torch.distributed as torch_dist
from mmengine.dataset import pseudo_collate, worker_init_fn
from mmengine.dist import get_rank, get_world_size, is_main_process
from mmengine.model import is_model_wrapper
from mmengine.registry import DATA_SAMPLERS, FUNCTIONS
from mmengine.runner import BaseLoop, set_random_seed
from torch.utils.data import DataLoader

from zoo.engine.atomic_io import atomic_write_bytes
from zoo.registry import DATASETS, LOOPS, STRATEGIES
from zoo.structures import gather_labels

from .checkpoint import (
    ContinualCheckpointError,
    find_latest_task_checkpoint,
    load_task_checkpoint,
    save_task_checkpoint,
)
from .dataset import ClassIncrementalSubset
from .evaluation import predict_scores, task_accuracies
from .head import classifier_of, set_num_classes
from .metrics import continual_metrics
from .scenario import ClassIncrementalScenario, dataset_labels


@LOOPS.register_module()
class ContinualTrainLoop(BaseLoop):
    """Class-incremental training loop (see the module docstring).

    Args:
        runner: the mmengine runner.
        dataloader: the ``train_dataloader`` config (its ``dataset`` holds all classes).
        scenario: :class:`ClassIncrementalScenario` arguments (``num_tasks``, ``seed``,
            ``class_order``, ``task_sizes``, ``shuffle``).
        strategy: a ``STRATEGIES`` config (``dict(type='FineTune')`` by default).
        epochs_per_task: training epochs of each task.
        eval_dataloader: data for the accuracy matrix; default: ``val_dataloader``'s.
        save_checkpoints: write ``task_<k>.pth`` after each task.
        results_file: name of the JSON results in the work dir.
        eval_metric: optional ``METRICS`` config (e.g. ``dict(type='MILMetric')``) computed on
            every seen task after each task from the model's ``mode='predict'`` outputs; its
            numeric results fill one matrix per key (``metric_matrices`` in the results).
    """

    def __init__(self, runner, dataloader, scenario: dict | None = None,
                 strategy: dict | None = None, epochs_per_task: int = 1,
                 eval_dataloader: dict | None = None, save_checkpoints: bool = True,
                 results_file: str = "continual_results.json",
                 eval_metric: dict | None = None):
        self._runner = runner
        self.rank, self.world_size = get_rank(), get_world_size()
        if epochs_per_task < 1:
            raise ValueError(f"epochs_per_task must be >= 1, got {epochs_per_task}")
        if isinstance(dataloader, DataLoader):
            self._loader_cfg = dict(batch_size=dataloader.batch_size, num_workers=0,
                                    sampler=dict(type="DefaultSampler", shuffle=True))
            self.train_full = dataloader.dataset
        else:
            self._loader_cfg = copy.deepcopy(dict(dataloader))
            dataset = self._loader_cfg.pop("dataset", None)
            if dataset is None:
                raise ValueError("train_dataloader has no 'dataset'")
            self.train_full = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        if eval_dataloader is None and runner._val_dataloader is None:
            raise ValueError("ContinualTrainLoop evaluates on val_dataloader's data: define "
                             "val_dataloader/val_cfg/val_evaluator or train_cfg.eval_dataloader")
        self._eval_cfg = copy.deepcopy(eval_dataloader)
        self._eval_full = None
        self._labels: dict[int, np.ndarray] = {}
        scenario = dict(scenario or {})
        if scenario.pop("task_datasets", False):  # one task per data set of the sequence
            if scenario:
                raise ValueError(f"scenario task_datasets=True takes no other keys, got "
                                 f"{sorted(scenario)}")
            self.scenario = ClassIncrementalScenario.for_task_datasets(self.train_full)
        else:
            self.scenario = ClassIncrementalScenario(
                classes=np.unique(self.labels_of(self.train_full)).tolist(), **scenario)
        self.strategy = STRATEGIES.build(strategy or dict(type="FineTune"))
        self.strategy.setup(self)
        self.epochs_per_task = int(epochs_per_task)
        self.save_checkpoints = save_checkpoints
        self.results_file = results_file
        self.eval_metric_cfg = copy.deepcopy(eval_metric)
        self.metric_matrices: dict[str, np.ndarray] = {}
        self.seed = runner.seed if runner.seed is not None else 0
        # Random numbers that must agree on all ranks (buffer updates and replay draws):
        # re-seeded from the run seed (never the rank) at every epoch and task end.
        self.generator = torch.Generator()

        num_tasks = self.scenario.num_tasks
        self._max_epochs = num_tasks * self.epochs_per_task
        self._epoch = 0
        self._iter = 0
        self.task = 0
        self.batch_size = int(self._loader_cfg.get("batch_size", 1))  # per process
        self.global_batch_size = self.batch_size * self.world_size
        self._step_valid = self.global_batch_size
        self._task_sizes = self._count_task_samples()
        self._max_iters = sum(self.epochs_per_task * math.ceil(n / self.batch_size)
                              for n in self._task_sizes)
        self.dataloader = self.build_loader(self.task_dataset(0), train=True, seed=self.seed)

        # Optimizer and schedules are rebuilt at each task (the head grows); keep the configs.
        self._optim_cfg = copy.deepcopy(runner.optim_wrapper) \
            if isinstance(runner.optim_wrapper, dict) else None
        self._sched_cfg = copy.deepcopy(runner.param_schedulers) \
            if isinstance(runner.param_schedulers, (dict, list)) else None
        self.matrix = np.full((num_tasks, num_tasks), np.nan)
        self.task_aware_matrix = np.full((num_tasks, num_tasks), np.nan)
        self.task_times: list[float] = []

        # mmengine's resume would load an epoch checkpoint into a model whose head has not
        # grown yet and would not restore the strategy; the loop resumes by itself.
        self._resume_from = None
        if runner._resume:
            self._resume_from = runner._load_from or "auto"
            runner._resume, runner._load_from = False, None

    # mmengine loop protocol ----------------------------------------------------------------
    @property
    def max_epochs(self) -> int:
        return self._max_epochs

    @property
    def max_iters(self) -> int:
        return self._max_iters

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def iter(self) -> int:
        return self._iter

    @property
    def model(self):
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    @property
    def logger(self):
        return self.runner.logger

    # data -----------------------------------------------------------------------------------
    def _count_task_samples(self) -> list[int]:
        labels = self.labels_of(self.train_full)
        return [int(np.isin(labels, classes).sum()) for classes in self.scenario.task_classes]

    def labels_of(self, dataset) -> np.ndarray:
        """Labels of a full data set, read once and cached."""
        key = id(dataset)
        if key not in self._labels:
            self._labels[key] = dataset_labels(dataset)
        return self._labels[key]

    def subset(self, classes, train: bool = True) -> ClassIncrementalSubset:
        """Samples of the given original classes, labels remapped to incremental ones."""
        source = self.train_full if train else self.eval_full
        return ClassIncrementalSubset(source, classes, self.scenario.class_order,
                                      inner_labels=self.labels_of(source))

    def task_dataset(self, task: int, train: bool = True) -> ClassIncrementalSubset:
        return self.subset(self.scenario.task_classes[task], train)

    @property
    def eval_full(self):
        if self._eval_full is None:
            if self._eval_cfg is not None:
                cfg = dict(self._eval_cfg)
                dataset = cfg.pop("dataset")
                self._eval_full = DATASETS.build(dataset) if isinstance(dataset, dict) \
                    else dataset
                self._eval_batch_size = int(cfg.get("batch_size", self.batch_size))
            else:
                val_loader = self.runner.val_loop.dataloader
                self._eval_full = val_loader.dataset
                self._eval_batch_size = int(val_loader.batch_size or self.batch_size)
        return self._eval_full

    def build_loader(self, dataset, train: bool, seed: int | None = None,
                     batch_size: int | None = None) -> DataLoader:
        """A data loader like ``train_dataloader`` (sampler, workers, collate) over
        ``dataset``; ``train=False`` gives an ordered loader for feature passes/evaluation."""
        cfg = copy.deepcopy(self._loader_cfg)
        batch_size = batch_size or cfg.pop("batch_size", self.batch_size)
        cfg.pop("batch_size", None)
        num_workers = int(cfg.pop("num_workers", 0))
        sampler_cfg = cfg.pop("sampler", dict(type="DefaultSampler", shuffle=True))
        if not train:
            sampler_cfg = dict(type="DefaultSampler", shuffle=False)
        seed = self.seed if seed is None else seed
        sampler = DATA_SAMPLERS.build(sampler_cfg, default_args=dict(dataset=dataset, seed=seed))
        collate_cfg = cfg.pop("collate_fn", dict(type="pseudo_collate"))
        collate = FUNCTIONS.get(collate_cfg["type"]) if isinstance(collate_cfg, dict) \
            else collate_cfg
        collate = collate or pseudo_collate
        init_fn = partial(worker_init_fn, num_workers=num_workers, rank=get_rank(), seed=seed) \
            if num_workers > 0 else None
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler,
                          num_workers=num_workers, collate_fn=collate,
                          worker_init_fn=init_fn, drop_last=False,
                          pin_memory=bool(cfg.get("pin_memory", False)))

    def preprocess(self, data_batch, training: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the model's data preprocessor; return inputs and incremental labels."""
        data = self.model.data_preprocessor(data_batch, training)
        inputs = data["inputs"]
        device = inputs.device if torch.is_tensor(inputs) else inputs[0].device  # MIL: bags
        return inputs, gather_labels(data["data_samples"], device)

    @torch.no_grad()
    def collect(self, dataset) -> tuple[torch.Tensor, torch.Tensor]:
        """All packed inputs and labels of ``dataset`` (ordered) as two tensors; under
        distributed training every rank reads its shard and gets the gathered whole."""
        inputs, labels = [], []
        for batch in self.build_loader(dataset, train=False):
            x, y = self.preprocess(batch, training=False)
            inputs.append(x.cpu())
            labels.append(y.cpu())
        return (self.gather_ordered(torch.cat(inputs), len(dataset)),
                self.gather_ordered(torch.cat(labels), len(dataset)))

    # distributed helpers (identities in one process) ------------------------------------
    def gather_ordered(self, local: torch.Tensor, total: int | None = None) -> torch.Tensor:
        """Concatenate the ranks' rows in the order of the underlying index list.

        mmengine's ``DefaultSampler`` gives rank ``r`` the positions ``r, r + w, r + 2w, ...``
        of the (shuffled or ordered) index list, so row ``k`` of rank ``r`` is global row
        ``k * w + r``; every rank holds the same number of rows (the sampler pads at the end).
        ``total`` drops the padding. This is also the order of one process with a ``w``-times
        larger batch within a training step.
        """
        if self.world_size == 1:
            return local if total is None else local[:total]
        parts = [torch.empty_like(local) for _ in range(self.world_size)]
        torch_dist.all_gather(parts, local.contiguous())
        merged = torch.stack(parts, dim=1).reshape(-1, *local.shape[1:])
        return merged if total is None else merged[:total]

    def gather_batch(self, *tensors: torch.Tensor | None) -> tuple:
        """The current global training batch (see :meth:`gather_ordered`), without the
        samples the sampler repeated to pad the last step; ``None`` entries pass through."""
        if self.world_size == 1:
            return tensors
        valid = self._step_valid
        return tuple(None if t is None else self.gather_ordered(t.detach())[:valid]
                     for t in tensors)

    def rank_share(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """This rank's part ``[rank::world_size]`` of a minibatch drawn identically on all
        ranks (e.g. a replay batch of ``global_batch_size`` samples)."""
        if self.world_size == 1:
            return batch
        return {k: v[self.rank::self.world_size] for k, v in batch.items()}

    def _all_reduce_gradients(self) -> None:
        """Average the gradients over the ranks (one flat all-reduce)."""
        params = [p for p in self.runner.model.parameters() if p.grad is not None]
        count = torch.tensor([len(params), sum(p.numel() for p in params)], dtype=torch.long)
        counts = [torch.zeros_like(count) for _ in range(self.world_size)]
        torch_dist.all_gather(counts, count)
        if any(not torch.equal(c, count) for c in counts):
            raise RuntimeError(
                f"ContinualTrainLoop: the ranks computed gradients for different parameters "
                f"(count, size per rank: {[c.tolist() for c in counts]}) in task "
                f"{self.task + 1}; strategy {self.strategy.name} is not rank-consistent")
        if not params:
            return
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        torch_dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        for p in params:
            n = p.numel()
            p.grad.copy_(flat[offset:offset + n].view_as(p.grad))
            offset += n

    def _check_rank_consistency(self) -> None:
        """Raise when the weights or the strategy state differ between ranks."""
        if self.world_size == 1:
            return
        digest = torch.tensor([_digest(self.model.state_dict()),
                               _digest(self.strategy.state_dict())], dtype=torch.float64)
        digests = [torch.zeros_like(digest) for _ in range(self.world_size)]
        torch_dist.all_gather(digests, digest)
        for rank, other in enumerate(digests):
            if not torch.allclose(other, digest, rtol=1e-9, atol=1e-9):
                raise RuntimeError(
                    f"ContinualTrainLoop: after task {self.task + 1} rank {rank} holds other "
                    f"weights/strategy state than rank {self.rank} (digests "
                    f"{other.tolist()} vs {digest.tolist()})")

    # training -------------------------------------------------------------------------------
    def _seed(self, offset: int, per_rank: bool = True) -> None:
        """Seed the global RNGs (``per_rank``: differently on every rank, for augmentation
        and dropout; otherwise identically, for model changes that must agree) and
        :attr:`generator` (always identically on every rank)."""
        set_random_seed(self.seed + offset + (self.rank if per_rank else 0))
        self.generator.manual_seed(self.seed + offset + 7_919)

    def _build_optimizer(self) -> None:
        runner = self.runner
        if self._optim_cfg is None:
            raise ValueError("ContinualTrainLoop rebuilds the optimizer at every task and needs "
                             "optim_wrapper as a config dict")
        runner.optim_wrapper = runner.build_optim_wrapper(copy.deepcopy(self._optim_cfg))
        runner.optim_wrapper.initialize_count_status(runner.model, self._iter, self._max_iters)
        if self._sched_cfg is not None:
            runner.param_schedulers = runner.build_param_scheduler(
                copy.deepcopy(self._sched_cfg))

    def run(self):
        self.runner.call_hook("before_train")
        start = self._resume() if self._resume_from is not None else 0
        for task in range(start, self.scenario.num_tasks):
            self._run_task(task)
        self._write_results(final=True)
        self.runner.call_hook("after_train")
        return self.runner.model

    def _run_task(self, task: int) -> None:
        model, strategy = self.model, self.strategy
        self.task = strategy.task = task
        self._seed(100_003 * (task + 1), per_rank=False)  # new modules agree on all ranks
        head_rng = torch.Generator().manual_seed(self.seed + task)
        set_num_classes(model, strategy.num_outputs(task), head_rng)
        strategy.prepare_model(model, task)
        self.dataloader = self.build_loader(strategy.train_dataset(task), train=True,
                                            seed=self.seed + task)
        self._build_optimizer()
        strategy.before_task(model, task)
        self.logger.info(
            f"Continual task {task + 1}/{self.scenario.num_tasks}: classes "
            f"{self.scenario.task_classes[task]} ({len(self.dataloader.dataset)} training "
            f"samples, strategy {strategy.name})")
        start = time.perf_counter()
        for _ in range(self.epochs_per_task):
            self.run_epoch()
        self._seed(100_003 * (task + 1) + 50_021, per_rank=False)
        strategy.after_task(model, task)
        elapsed = time.perf_counter() - start
        self._evaluate(task)
        self.task_times.append(elapsed)
        self._check_rank_consistency()
        if self.save_checkpoints and is_main_process():
            path = save_task_checkpoint(self.runner.work_dir, task + 1, self._checkpoint())
            self.logger.info(f"Saved continual checkpoint {path}")
        self._write_results(final=False)

    def run_epoch(self) -> None:
        self._seed(self._epoch * 1000)  # the formula of zoo's EpochSeedHook
        self.runner.call_hook("before_train_epoch")
        self.runner.model.train()
        self.strategy.before_epoch(self.model)
        num_samples = len(self.dataloader.dataset)
        for idx, data_batch in enumerate(self.dataloader):
            # samples of this global step that are not the sampler's padding
            self._step_valid = max(0, min(self.global_batch_size,
                                          num_samples - idx * self.global_batch_size))
            self.run_iter(idx, data_batch)
        self.runner.call_hook("after_train_epoch")
        self._epoch += 1

    def run_iter(self, idx: int, data_batch) -> None:
        runner, model = self.runner, self.model
        runner.call_hook("before_train_iter", batch_idx=idx, data_batch=data_batch)
        optim_wrapper = runner.optim_wrapper
        with optim_wrapper.optim_context(runner.model):
            inputs, labels = self.preprocess(data_batch, training=True)
            losses = self.strategy.loss(model, inputs, labels)
        loss, log_vars = model.parse_losses(losses)
        finite = torch.isfinite(loss).detach().cpu().float()
        if self.world_size > 1:  # stop every rank together
            torch_dist.all_reduce(finite, op=torch_dist.ReduceOp.MIN)
        if not bool(finite):
            terms = ", ".join(f"{k}={float(torch.as_tensor(v).detach()):.4g}"
                              for k, v in log_vars.items())
            raise FloatingPointError(
                f"ContinualTrainLoop: non-finite loss in task {self.task + 1}, epoch "
                f"{self._epoch + 1}, step {idx} ({terms}); the strategy's penalty or the "
                "learning rate is too large for this model")
        if self.world_size == 1:
            optim_wrapper.update_params(loss)
        else:
            optim_wrapper.backward(optim_wrapper.scale_loss(loss))
            if optim_wrapper.should_update():
                self._all_reduce_gradients()
                optim_wrapper.step()
                optim_wrapper.zero_grad()
        self.strategy.after_iter(model, inputs, labels)
        runner.call_hook("after_train_iter", batch_idx=idx, data_batch=data_batch,
                         outputs=log_vars)
        self._iter += 1

    # evaluation and results -------------------------------------------------------------
    def _evaluate(self, task: int) -> None:
        seen = self.scenario.classes_up_to(task)
        dataset = self.subset(seen, train=False)
        loader = self.build_loader(dataset, train=False, batch_size=self._eval_batch_size)
        scores, labels = predict_scores(self, self.model, loader)
        scores = self.gather_ordered(scores, len(dataset))
        labels = self.gather_ordered(labels, len(dataset))
        cil, til = task_accuracies(scores, labels, self.scenario, task)
        self.matrix[task, :task + 1] = cil
        self.task_aware_matrix[task, :task + 1] = til
        row = " ".join(f"{a:.1f}" for a in cil)
        self.logger.info(f"Continual task {task + 1}: accuracy on tasks 1..{task + 1}: {row} "
                         f"(mean {cil.mean():.2f}; task-aware mean {til.mean():.2f})")
        if self.eval_metric_cfg is not None:
            from .evaluation import metric_row

            row = metric_row(self, task)
            for key, values in row.items():
                matrix = self.metric_matrices.setdefault(
                    key, np.full((self.scenario.num_tasks,) * 2, np.nan))
                matrix[task, :task + 1] = values
            self.logger.info(f"Continual task {task + 1}: " + "; ".join(
                f"{k} on tasks 1..{task + 1}: " + " ".join(f"{v:.1f}" for v in vals)
                for k, vals in row.items()))

    def metrics(self, task_aware: bool = False, upto: int | None = None) -> dict:
        matrix = self.task_aware_matrix if task_aware else self.matrix
        done = int((~np.isnan(np.diag(matrix))).sum()) if upto is None else upto
        return continual_metrics(matrix, done) if done else {}

    def results(self) -> dict:
        def clean(m):
            return [[None if np.isnan(v) else round(float(v), 4) for v in row] for row in m]

        return dict(
            strategy=self.strategy.name,
            strategy_cfg=_plain(getattr(self.runner.cfg, "train_cfg", {}).get("strategy")),
            scenario=self.scenario.to_dict(),
            epochs_per_task=self.epochs_per_task,
            seed=self.seed,
            accuracy_matrix=clean(self.matrix),
            task_aware_accuracy_matrix=clean(self.task_aware_matrix),
            metrics=self.metrics(),
            task_aware_metrics=self.metrics(task_aware=True),
            task_train_seconds=[round(t, 3) for t in self.task_times],
            metric_matrices={k: clean(m) for k, m in self.metric_matrices.items()},
            metric_definitions=(
                "accuracy in percent; R[i][j] = accuracy on task j after training task i; "
                "average_accuracy = mean_j R[T-1][j]; average_incremental_accuracy = mean_i "
                "mean_{j<=i} R[i][j]; forgetting = mean_{j<T-1} max_{l<T-1} R[l][j]-R[T-1][j]; "
                "backward_transfer = mean_{j<T-1} R[T-1][j]-R[j][j]"),
        )

    def _write_results(self, final: bool) -> None:
        from pathlib import Path

        from zoo.visualization import plot_matrix

        if not is_main_process():
            return
        work_dir = Path(self.runner.work_dir)
        results = self.results()
        atomic_write_bytes(work_dir / self.results_file,
                           json.dumps(results, indent=2).encode())
        if not final:
            return
        names = [f"T{t + 1}" for t in range(self.scenario.num_tasks)]
        for matrix, name, title in ((self.matrix, "accuracy_matrix.png", "class-incremental"),
                                    (self.task_aware_matrix, "accuracy_matrix_task_aware.png",
                                     "task-aware")):
            plot_matrix(matrix, str(work_dir / name), names, names,
                        f"{self.strategy.name}: accuracy (%) {title}",
                        "evaluated task", "after training task", fmt=".1f")
        m = results["metrics"]
        if m:
            self.logger.info(
                "Continual results ({}): average accuracy {:.2f}, average incremental accuracy "
                "{:.2f}, forgetting {:.2f}, backward transfer {:.2f} -> {}".format(
                    self.strategy.name, m["average_accuracy"],
                    m["average_incremental_accuracy"], m["forgetting"],
                    m["backward_transfer"], work_dir / self.results_file))

    # checkpoints ------------------------------------------------------------------------
    def _checkpoint(self) -> dict:
        model = self.model
        return dict(
            meta=dict(epoch=self._epoch, iter=self._iter, seed=self.seed,
                      num_classes=int(classifier_of(model).out_features),
                      strategy=self.strategy.name, **self.scenario.to_dict()),
            state_dict={k: v.detach().cpu() for k, v in model.state_dict().items()},
            strategy=self.strategy.state_dict(),
            results=dict(matrix=torch.from_numpy(self.matrix.copy()),
                         task_aware_matrix=torch.from_numpy(self.task_aware_matrix.copy()),
                         task_times=list(self.task_times)),
        )

    def _resume(self) -> int:
        """Load the latest (or given) task checkpoint; return the next task index."""
        work_dir = self.runner.work_dir
        if self._resume_from == "auto":
            path = find_latest_task_checkpoint(work_dir)
            if path is None:
                self.logger.info(f"No continual task checkpoint in {work_dir}; starting at "
                                 "task 1")
                return 0
        else:
            path = self._resume_from
        ckpt = load_task_checkpoint(path)
        meta = ckpt["meta"]
        mine = self.scenario.to_dict()
        for key in ("class_order", "task_classes"):
            if [*map(_plain, meta[key])] != [*map(_plain, mine[key])]:
                raise ContinualCheckpointError(
                    f"{path} was written for {key} {meta[key]}, the config gives {mine[key]}")
        if meta["strategy"] != self.strategy.name:
            raise ContinualCheckpointError(f"{path} was written by strategy {meta['strategy']}, "
                                           f"the config uses {self.strategy.name}")
        done = int(meta["tasks_done"])
        model = self.model
        set_num_classes(model, int(meta["num_classes"]))
        self.task = self.strategy.task = done - 1
        self.strategy.load_state_dict(ckpt["strategy"], model)
        model.load_state_dict(ckpt["state_dict"])
        results = ckpt["results"]
        self.matrix = results["matrix"].numpy().copy()
        self.task_aware_matrix = results["task_aware_matrix"].numpy().copy()
        self.task_times = [float(t) for t in results["task_times"]]
        self._epoch, self._iter = int(meta["epoch"]), int(meta["iter"])
        self.logger.info(f"Resumed continual run from {path}: {done} task(s) done")
        return done


def _digest(state) -> float:
    """A number that changes with any tensor or number in a (nested) state dict."""
    total = 0.0
    if isinstance(state, dict):
        for i, key in enumerate(sorted(state, key=str)):
            total += (i + 1) * _digest(state[key])
    elif isinstance(state, (list, tuple)):
        for i, value in enumerate(state):
            total += (i + 1) * _digest(value)
    elif torch.is_tensor(state):
        flat = state.detach().double().flatten().cpu()
        weights = torch.arange(1, len(flat) + 1, dtype=torch.float64).remainder(97) + 1
        total += float((flat.nan_to_num() * weights).sum()) + len(flat)
    elif isinstance(state, (int, float)):
        total += float(state)
    return total


def _plain(value):
    """ConfigDict/tuple -> plain dict/list for JSON and comparisons."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
