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
position of the class in the scenario's class order). Outputs in the work dir:
``continual_results.json`` (matrices, metrics, scenario, times), ``accuracy_matrix.png``
(class-incremental) and ``accuracy_matrix_task_aware.png`` (:mod:`zoo.continual.results`),
and ``task_<k>.pth`` after each task. Other scenarios (``scenario=dict(type='domain', ...)``,
``dict(type='task', ...)``): :mod:`zoo.continual.domain`, :class:`TaskIncrementalScenario`;
there every task is evaluated after each task and before the first (forward transfer). An
online stream is ``epochs_per_task=1`` with a small batch, ``blurry=f`` blurs the task
boundaries (:mod:`zoo.continual.stream`). After each task the accuracies and metrics go to
the runner's visualizer as scalars (``continual/...``; TensorBoard with a
``TensorboardVisBackend``). Testing: the class-incremental metrics are the result
of the run, so continual configs set ``test_dataloader = None`` and ``tools/train.py`` skips
its final ``runner.test()``. Distributed training (``--launcher pytorch``):
:mod:`zoo.continual.sync`; resuming (``--resume [PATH]``, by the loop, not mmengine):
:mod:`zoo.continual.checkpoint`. Strategies see the loop only through a
:class:`~zoo.continual.context.StrategyContext`.
"""
from __future__ import annotations

import copy
import math
import random
import resource
import sys
import time

import numpy as np
import torch
from mmengine.dist import get_rank, get_world_size, is_main_process
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop, set_random_seed
from torch.utils.data import DataLoader

from zoo.engine.amp import runner_autocast
from zoo.registry import DATASETS, LOOPS, STRATEGIES
from zoo.structures import gather_labels

from . import sync
from .checkpoint import plain, resume_run, save_task_checkpoint, take_over_resume, task_payload
from .context import StrategyContext
from .dataset import (
    ClassIncrementalSubset,
    PackedBatch,
    PackedDataset,
    collate_of,
    evaluation_data,
    loader_like,
)
from .evaluation import (
    metric_row,
    own_task_accuracy,
    predict_scores,
    task_accuracies,
    topk_task_accuracies,
)
from .head import set_num_classes
from .results import AccuracyRecord, write_results
from .scenario import (
    ClassIncrementalScenario,
    build_scenario,
    check_scenario_config,
    dataset_labels,
)
from .stream import StreamDataset, blurry_split


def data_name(dataset) -> str:
    """A data set's class, with the data set it wraps: ``ClassIncrementalSubset(Digits)``."""
    inner = getattr(dataset, "dataset", None)
    name = type(dataset).__name__
    return f"{name}({data_name(inner)})" if inner is not None else name


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (``ru_maxrss`` is KiB on Linux,
    bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2 ** 20 if sys.platform == "darwin" else peak / 2 ** 10


@LOOPS.register_module()
class ContinualTrainLoop(BaseLoop):
    """Class-incremental training loop (see the module docstring).

    Args:
        runner: the mmengine runner.
        dataloader: the ``train_dataloader`` config (its ``dataset`` holds all classes).
        scenario: :class:`ClassIncrementalScenario` arguments (``num_tasks``, ``seed``,
            ``class_order``, ``task_sizes``, ``shuffle``); ``type='task'`` for multi-head
            task-incremental, ``type='domain'`` for domain-incremental
            (:class:`~zoo.continual.domain.DomainIncrementalScenario` arguments).
        strategy: a ``STRATEGIES`` config (``dict(type='FineTune')`` by default).
        epochs_per_task: training epochs of each task.
        eval_dataloader: data for the accuracy matrix; default: ``val_dataloader``'s.
        save_checkpoints: write ``task_<k>.pth`` after each task.
        save_plots: write the accuracy matrices as PNGs at the end (matplotlib's start-up is
            a fixed ~0.3 s that a sweep of many short runs may not want).
        results_file: name of the JSON results in the work dir.
        eval_metric: optional ``METRICS`` config (e.g. ``dict(type='MILMetric')``) computed on
            every seen task after each task from the model's ``mode='predict'`` outputs; its
            numeric results fill one matrix per key (``metric_matrices`` in the results).
        cache_inputs: pass every training and evaluation sample through the pipeline and the
            data preprocessor once and keep the results in memory as tensors
            (:class:`~zoo.continual.dataset.PackedDataset`): an epoch is then a pass of
            tensor indexing, with no per-sample decoding, packing or collation. Only for
            deterministic pipelines (no random augmentation): on the first samples of each
            data set the loop checks that a second pass gives the same inputs and raises
            otherwise. Results are identical to the uncached run (the packing draws no
            random numbers, a cached ``collect`` draws what the uncached one draws, the
            evaluation keeps the uncached order); memory grows by the data set's
            preprocessed size.
        blurry: fraction of every task's training samples deferred to the next task's stream
            (blurry task boundaries, :func:`~zoo.continual.stream.blurry_split`; 0: crisp).
    """

    check_nested_arguments = staticmethod(check_scenario_config)  # for zoo.config_check

    def __init__(self, runner, dataloader, scenario: dict | None = None,
                 strategy: dict | None = None, epochs_per_task: int = 1,
                 eval_dataloader: dict | None = None, save_checkpoints: bool = True,
                 save_plots: bool = True, results_file: str = "continual_results.json",
                 eval_metric: dict | None = None, blurry: float = 0.0,
                 cache_inputs: bool = False):
        self._runner = runner
        self.cache_inputs = bool(cache_inputs)
        self._own: dict[tuple[int, bool], object] = {}  # the tasks' data sets, built once
        self._packs: dict[int, PackedDataset] = {}  # id(own data set, kept by _own) -> pack
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
        # mmengine keeps val_dataloader private until its loop is built (which builds the data)
        if eval_dataloader is None and getattr(runner, "_val_dataloader", None) is None:
            raise ValueError("ContinualTrainLoop evaluates on val_dataloader's data: define "
                             "val_dataloader/val_cfg/val_evaluator or train_cfg.eval_dataloader")
        self._eval_cfg = copy.deepcopy(eval_dataloader)
        self._eval_full, self._eval_batch_size = None, None
        self._labels: dict[int, np.ndarray] = {}
        scenario = dict(scenario or {})
        if scenario.pop("task_datasets", False):  # one task per data set of the sequence
            if scenario:
                raise ValueError(f"scenario task_datasets=True takes no other keys, got "
                                 f"{sorted(scenario)}")
            self.scenario = ClassIncrementalScenario.for_task_datasets(self.train_full)
        else:
            self.scenario = build_scenario(
                scenario, classes=np.unique(self.labels_of(self.train_full)).tolist())
        self.strategy = STRATEGIES.build(strategy or dict(type="FineTune"))
        if self.scenario.multi_head and not vars(type(self.strategy)).get("multi_head_ready"):
            raise ValueError(
                f"strategy {self.strategy.name} does not score samples with their own task's "
                "head (its loss does not call Strategy.logits_for); it cannot run the "
                "multi-head task-incremental scenario (scenario type='task')")
        if not 0.0 <= float(blurry) < 1.0:
            raise ValueError(f"train_cfg.blurry must be in [0, 1), got {blurry}")
        self.blurry = float(blurry)
        self._blurry_parts = None
        self.strategy.setup(StrategyContext(self))
        self.epochs_per_task = int(epochs_per_task)
        self.save_checkpoints, self.save_plots = save_checkpoints, save_plots
        self.results_file = results_file
        self.eval_metric_cfg = copy.deepcopy(eval_metric)
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
        labels = self.labels_of(self.train_full)
        self._task_sizes = [int(np.isin(labels, c).sum()) for c in self.scenario.task_classes] \
            if self.scenario.kind == "class" and not self.blurry \
            else [len(self.task_dataset(t)) for t in range(num_tasks)]
        self._max_iters = sum(self.epochs_per_task * math.ceil(n / self.batch_size)
                              for n in self._task_sizes)
        self.dataloader = self.build_loader(self.task_dataset(0), train=True, seed=self.seed)

        # Optimizer and schedules are rebuilt at each task (the head grows); keep the configs.
        self._optim_cfg = copy.deepcopy(runner.optim_wrapper) \
            if isinstance(runner.optim_wrapper, dict) else None
        self._sched_cfg = copy.deepcopy(runner.param_schedulers) \
            if isinstance(runner.param_schedulers, (dict, list)) else None
        self.record = AccuracyRecord(num_tasks)
        self._resume_from = take_over_resume(runner)  # the loop resumes by itself

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

    def task_dataset(self, task: int, train: bool = True):
        """The data of ``task``: its classes (class- / task-incremental) or its domain; for
        training with ``blurry > 0`` the task's stream (:meth:`stream`)."""
        if train and self.blurry:
            return self.stream(task)
        return self._own_data(task, train)

    def _own_data(self, task: int, train: bool):
        key = (task, train)
        if key not in self._own:
            if self.scenario.kind == "domain":
                source = self.train_full if train else self.eval_full
                self._own[key] = self.scenario.task_dataset(source, task,
                                                            self.labels_of(source))
            else:
                self._own[key] = self.subset(self.scenario.task_classes[task], train)
        return self._own[key]

    def pack(self, dataset) -> PackedDataset:
        """``dataset`` through its pipeline and the model's data preprocessor once, as a
        :class:`PackedDataset` (``cache_inputs``). The tasks' own data sets are packed once per
        run; packing draws no random numbers (the global generators are restored), so the
        training that follows sees the same random streams as without the cache."""
        if isinstance(dataset, PackedDataset):
            return dataset
        if id(dataset) in self._packs:
            return self._packs[id(dataset)]
        if len(dataset) == 0:
            raise ValueError(f"ContinualTrainLoop: cannot cache the empty data set "
                             f"{data_name(dataset)}")
        states = torch.get_rng_state(), np.random.get_state(), random.getstate()
        try:
            head = self._head_batch_inputs(dataset)
            inputs, labels = self._collect(dataset)
        finally:
            torch.set_rng_state(states[0])
            np.random.set_state(states[1])
            random.setstate(states[2])
        if head.shape != inputs[:len(head)].shape or not torch.equal(head, inputs[:len(head)]):
            raise ValueError(
                f"train_cfg.cache_inputs=True needs a deterministic pipeline and data "
                f"preprocessor, but the first samples of {data_name(dataset)} packed twice (as a "
                "training batch, then for the cache) differ: random augmentation? Set "
                "cache_inputs=False for this data")
        packed = PackedDataset(inputs, labels, source=data_name(dataset))
        if any(dataset is own for own in self._own.values()):
            self._packs[id(dataset)] = packed
        return packed

    def _head_batch_inputs(self, dataset) -> torch.Tensor:
        """The first samples of ``dataset`` collated and preprocessed as a training batch (the
        cache's determinism check); raises when the inputs are not one tensor (bags)."""
        collate = collate_of(self._loader_cfg)
        batch = collate([dataset[i] for i in range(min(4, len(dataset)))])
        inputs, _ = self.preprocess(batch, training=True)
        if not torch.is_tensor(inputs):
            raise ValueError(f"train_cfg.cache_inputs=True: the preprocessed inputs of "
                             f"{data_name(dataset)} are a {type(inputs).__name__}, not one "
                             "tensor (bags of instances cannot be cached); set it to False")
        return inputs.cpu()

    def stream(self, task: int) -> StreamDataset:
        """Task ``task``'s training stream with blurry boundaries: its samples but the
        deferred ones, plus those deferred from task ``task - 1``."""
        own = [self._own_data(t, True) for t in range(max(task - 1, 0), task + 1)]
        if self._blurry_parts is None:
            sizes = [len(self._own_data(t, True)) for t in range(self.scenario.num_tasks)]
            self._blurry_parts = blurry_split(sizes, self.blurry, self.seed)
        parts = [(own[-1], self._blurry_parts[task][0], task)]
        if task > 0:
            parts.append((own[0], self._blurry_parts[task - 1][1], task - 1))
        return StreamDataset(parts)

    def tasks_dataset(self, tasks) -> StreamDataset:
        """The (crisp) training data of ``tasks`` as one data set."""
        parts = []
        for t in tasks:
            data = self._own_data(t, True)
            parts.append((data, np.arange(len(data)), t))
        return StreamDataset(parts)

    @property
    def eval_full(self):
        """The full evaluation data set (``eval_dataloader``'s, else ``val_dataloader``'s)."""
        if self._eval_full is None:
            self._eval_full, self._eval_batch_size = evaluation_data(
                self._eval_cfg, self.runner, self.batch_size)
        return self._eval_full

    @property
    def eval_batch_size(self) -> int:
        return self._eval_batch_size if self.eval_full is not None else self.batch_size

    def build_loader(self, dataset, train: bool, seed: int | None = None,
                     batch_size: int | None = None) -> DataLoader:
        """A data loader like ``train_dataloader`` (sampler, workers, collate) over
        ``dataset``; ``train=False`` gives an ordered loader for feature passes/evaluation."""
        return loader_like(self._loader_cfg, dataset, train, self.seed if seed is None else seed,
                           batch_size or self.batch_size)

    def preprocess(self, data_batch, training: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the model's data preprocessor; return inputs and incremental labels (a
        :class:`PackedBatch` is preprocessed already: only moved to the model's device)."""
        if isinstance(data_batch, PackedBatch):
            device = self.model.data_preprocessor.device
            return data_batch.inputs.to(device), data_batch.labels.to(device)
        data = self.model.data_preprocessor(data_batch, training)
        inputs = data["inputs"]
        device = inputs.device if torch.is_tensor(inputs) else inputs[0].device  # MIL: bags
        return inputs, gather_labels(data["data_samples"], device)

    def collect(self, dataset) -> tuple[torch.Tensor, torch.Tensor]:
        """All packed inputs and labels of ``dataset`` (ordered) as two tensors; under
        distributed training every rank reads its shard and gets the gathered whole. With
        ``cache_inputs`` the tensors of :meth:`pack` (not to be modified in place)."""
        if self.cache_inputs:
            packed = self.pack(dataset)
            # the uncached pass reads through a DataLoader, whose iterator draws its base seed
            # from the global generator; opening one here draws it too, so that what runs
            # after a collect (random crops in a training-mode pass, say) gets the random
            # numbers of the uncached run
            iter(self.build_loader(packed, train=False))
            return packed.inputs, packed.labels
        return self._collect(dataset)

    @torch.no_grad()
    def _collect(self, dataset) -> tuple[torch.Tensor, torch.Tensor]:
        inputs, labels = [], []
        for batch in self.build_loader(dataset, train=False):
            x, y = self.preprocess(batch, training=False)
            inputs.append(x.cpu())
            labels.append(y.cpu())
        return (self.gather_ordered(torch.cat(inputs), len(dataset)),
                self.gather_ordered(torch.cat(labels), len(dataset)))

    # distributed helpers (identities in one process; see zoo.continual.sync) -------------
    def gather_ordered(self, local: torch.Tensor, total: int | None = None) -> torch.Tensor:
        """The ranks' rows in the order of the sampler's index list (:mod:`.sync`)."""
        return sync.gather_ordered(local, self.world_size, total)

    def gather_batch(self, *tensors: torch.Tensor | None) -> tuple:
        """The current global training batch, without the samples the sampler repeated to
        pad the last step; ``None`` entries pass through."""
        return sync.gather_step(tensors, self.world_size, self._step_valid)

    def rank_share(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """This rank's part ``[rank::world_size]`` of a minibatch drawn identically on all
        ranks (e.g. a replay batch of ``global_batch_size`` samples)."""
        return sync.rank_share(batch, self.rank, self.world_size)

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

    def _head_width(self, task: int) -> int:
        """Classifier width during ``task``: the strategy's (class-incremental: the head
        grows), else every class of the scenario (one head, or all task heads, from the
        start)."""
        if self.scenario.kind == "class":
            return self.strategy.num_outputs(task)
        return self.scenario.num_classes

    def run(self):
        self.runner.call_hook("before_train")
        start = self._resume() if self._resume_from is not None else 0
        if start == 0 and self.scenario.kind != "class":
            self._evaluate_random_init()
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
        set_num_classes(model, self._head_width(task), head_rng)
        strategy.prepare_model(model, task)
        dataset = strategy.train_dataset(task)
        self.dataloader = self.build_loader(self.pack(dataset) if self.cache_inputs else dataset,
                                            train=True, seed=self.seed + task)
        self._build_optimizer()
        strategy.before_task(model, task)
        self.logger.info(
            f"Continual task {task + 1}/{self.scenario.num_tasks}: "
            f"{self.scenario.describe_task(task)} ({len(self.dataloader.dataset)} training "
            f"samples, strategy {strategy.name})")
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        for _ in range(self.epochs_per_task if strategy.trains else 0):
            self.run_epoch()
        self._seed(100_003 * (task + 1) + 50_021, per_rank=False)
        strategy.after_task(model, task)
        elapsed = time.perf_counter() - start
        with runner_autocast(self.runner, model):  # --amp: bf16 evaluation as in training
            self._evaluate(task)
        self.record.task_times.append(elapsed)
        self.record.task_peak_rss_mb.append(peak_rss_mb())
        self.record.task_peak_cuda_mb.append(
            torch.cuda.max_memory_allocated() / 2 ** 20 if torch.cuda.is_available() else None)
        self._log_scalars(task)
        if self.world_size > 1:
            sync.check_rank_consistency(model.state_dict(), strategy.state_dict(), self.rank,
                                        self.world_size, task)
        if self.save_checkpoints and is_main_process():
            payload = task_payload(model, strategy, self.scenario, self.record, self._epoch,
                                   self._iter, self.seed)
            path = save_task_checkpoint(self.runner.work_dir, task + 1, payload)
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
        if not sync.all_finite(loss, self.world_size):  # every rank stops together
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
                sync.all_reduce_gradients(runner.model, self.world_size, self.task,
                                          self.strategy.name)
                optim_wrapper.step()
                optim_wrapper.zero_grad()
        self.strategy.after_iter(model, inputs, labels)
        runner.call_hook("after_train_iter", batch_idx=idx, data_batch=data_batch,
                         outputs=log_vars)
        self._iter += 1

    # evaluation and results -------------------------------------------------------------
    def _evaluate_random_init(self) -> None:
        """Forward transfer's ``b``: every task's accuracy with the initial model, whose head is
        built exactly as task 1 will build it (same seeds), before any training."""
        self._seed(100_003, per_rank=False)
        set_num_classes(self.model, self._head_width(0), torch.Generator().manual_seed(self.seed))
        self.record.baseline, _ = self._all_task_accuracies()
        self.logger.info("Continual: random-init accuracy on tasks 1..{}: {}".format(
            self.scenario.num_tasks, " ".join(f"{a:.1f}" for a in self.record.baseline)))

    def _all_task_accuracies(self) -> tuple[np.ndarray, np.ndarray]:
        """Top-1 and top-5 accuracy on the evaluation data of every task (domain- and
        task-incremental scenarios)."""
        top1, top5 = [], []
        for j in range(self.scenario.num_tasks):
            scores, labels = self._scores(self.task_dataset(j, train=False))
            top1.append(own_task_accuracy(scores, labels, self.scenario, j))
            top5.append(own_task_accuracy(scores, labels, self.scenario, j, k=5))
        return np.array(top1), np.array(top5)

    def _seen_packed(self, task: int) -> PackedDataset:
        """The evaluation samples of tasks ``0..task`` from their packs, in the order (and so
        the batches) of the uncached evaluation data set: batch composition changes the
        rounding of a network's outputs, and near-ties would then flip."""
        parts = [self._own_data(j, False) for j in range(task + 1)]
        packs = [self.pack(part) for part in parts]
        order = torch.from_numpy(np.argsort(np.concatenate([part.indices for part in parts]),
                                            kind="stable"))
        return PackedDataset(torch.cat([p.inputs for p in packs])[order],
                             torch.cat([p.labels for p in packs])[order], "seen tasks")

    def _scores(self, dataset) -> tuple[torch.Tensor, torch.Tensor]:
        """The strategy's scores and the labels of the samples of ``dataset`` (packed first
        with ``cache_inputs``), gathered over the ranks."""
        dataset = self.pack(dataset) if self.cache_inputs else dataset
        loader = self.build_loader(dataset, train=False, batch_size=self.eval_batch_size)
        scores, labels = predict_scores(self.model, loader, self.preprocess,
                                        self.strategy.predict)
        total = len(dataset)
        return self.gather_ordered(scores, total), self.gather_ordered(labels, total)

    def _log_scalars(self, task: int) -> None:
        """Send the task's accuracies and metrics to the runner's visualisation backends."""
        visualizer = getattr(self.runner, "visualizer", None)
        if visualizer is None or not is_main_process():
            return
        visualizer.add_scalars(self.record.scalars(task), step=task + 1)

    def _evaluate(self, task: int) -> None:
        if self.scenario.kind != "class":
            self._evaluate_every_task(task)
            return
        scores, labels = self._scores(
            self._seen_packed(task) if self.cache_inputs
            else self.subset(self.scenario.classes_up_to(task), train=False))
        cil, til = task_accuracies(scores, labels, self.scenario, task)
        self.record.add_row(task, cil, til)
        self.record.add_top5_row(task, topk_task_accuracies(scores, labels, self.scenario,
                                                            task, k=5))
        row = " ".join(f"{a:.1f}" for a in cil)
        self.logger.info(f"Continual task {task + 1}: accuracy on tasks 1..{task + 1}: {row} "
                         f"(mean {cil.mean():.2f}; task-aware mean {til.mean():.2f})")
        if self.eval_metric_cfg is not None:
            loaders = [self.build_loader(self.subset(classes, train=False), train=False,
                                         batch_size=self.eval_batch_size)
                       for classes in self.scenario.task_classes[:task + 1]]
            self._add_metric_row(task, loaders)

    def _evaluate_every_task(self, task: int) -> None:
        """Domain- / task-incremental: accuracy on every task, also those not trained yet."""
        top1, top5 = self._all_task_accuracies()
        self.record.add_full_row(task, top1)
        if self.scenario.kind == "domain":
            self.record.add_top5_row(task, top5[:task + 1])
        self.logger.info(
            f"Continual task {task + 1}: {self.scenario.kind}-incremental accuracy on tasks "
            f"1..{self.scenario.num_tasks}: " + " ".join(f"{a:.1f}" for a in top1)
            + f" (mean of tasks 1..{task + 1}: {top1[:task + 1].mean():.2f})")
        if self.eval_metric_cfg is not None:
            self._add_metric_row(task, [
                self.build_loader(self.task_dataset(j, train=False), train=False,
                                  batch_size=self.eval_batch_size) for j in range(task + 1)])

    def _add_metric_row(self, task: int, loaders: list) -> None:
        row = metric_row(self.model, self.eval_metric_cfg, loaders)
        self.record.add_metric_row(task, row)
        self.logger.info(f"Continual task {task + 1}: " + "; ".join(
            f"{k} on tasks 1..{task + 1}: " + " ".join(f"{v:.1f}" for v in vals)
            for k, vals in row.items()))

    def metrics(self, task_aware: bool = False, upto: int | None = None) -> dict:
        return self.record.metrics(task_aware, upto)

    def results(self) -> dict:
        """The content of ``continual_results.json``."""
        return self.record.to_results(
            strategy=self.strategy.name,
            strategy_cfg=plain(getattr(self.runner.cfg, "train_cfg", {}).get("strategy")),
            scenario=self.scenario.to_dict(),
            epochs_per_task=self.epochs_per_task,
            batch_size=self.batch_size,
            blurry=self.blurry,
            seed=self.seed)

    def _write_results(self, final: bool) -> None:
        if not is_main_process():
            return
        results = self.results()
        path = write_results(self.runner.work_dir, self.results_file, results,
                             self.record if final and self.save_plots else None,
                             self.strategy.name)
        m = results["metrics"]
        if final and m:
            self.logger.info(
                "Continual results ({}): average accuracy {:.2f}, average incremental accuracy "
                "{:.2f}, forgetting {:.2f}, backward transfer {:.2f} -> {}".format(
                    self.strategy.name, m["average_accuracy"],
                    m["average_incremental_accuracy"], m["forgetting"],
                    m["backward_transfer"], path))

    def _resume(self) -> int:
        """Load the latest (or given) task checkpoint; return the next task index."""
        done, self._epoch, self._iter = resume_run(
            self._resume_from, self.runner.work_dir, self.model, self.strategy, self.scenario,
            self.record, self.logger)
        if done:
            self.task = done - 1
        return done
