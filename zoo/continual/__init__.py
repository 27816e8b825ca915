"""Class-, task- (multi-head) and domain-incremental learning on any zoo classifier through
mmengine's runner.

``ClassIncrementalScenario`` splits classes into tasks, ``ClassIncrementalSubset`` (a
registered data set wrapper) selects and relabels them, ``ContinualTrainLoop`` (a registered
loop) trains the tasks in order with a ``STRATEGIES`` strategy and keeps the accuracy matrix,
from which :mod:`zoo.continual.metrics` computes the standard metrics.
"""
from . import strategies  # noqa: F401
from .buffers import HerdingBuffer, ReservoirBuffer, herding_order  # noqa: F401
from .checkpoint import find_latest_task_checkpoint, load_task_checkpoint, save_task_checkpoint  # noqa: F401
from .dataset import ClassIncrementalSubset, MemoryDataset, SampleFilter  # noqa: F401
from .domain import DomainIncrementalScenario  # noqa: F401
from .head import expand_linear, set_num_classes  # noqa: F401
from .loop import ContinualTrainLoop  # noqa: F401
from .metrics import continual_metrics  # noqa: F401
from .scenario import ClassIncrementalScenario, TaskIncrementalScenario, dataset_labels  # noqa: F401
