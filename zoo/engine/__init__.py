"""Hooks, loops, optimiser constructors and I/O that plug into mmengine's runner.

Importing this package changes no global state: the atomic checkpoint backend is installed
by :func:`zoo.engine.atomic_io.install_atomic_backend` (called by
:func:`zoo.runner_utils.load_config`).
"""
from zoo.imports import import_submodules

from .atomic_io import atomic_write_bytes, install_atomic_backend  # noqa: F401
from .checkpoint_keys import CheckpointKeysHook  # noqa: F401
from .det_visualization import DetVisualizationHook, draw_detection_panels  # noqa: F401
from .distributed import GlooSyncBatchNorm, ZooDistributedDataParallel  # noqa: F401
from .hooks import EpochSeedHook  # noqa: F401
from .optim import PerSubmoduleOptimWrapperConstructor  # noqa: F401

import_submodules(__name__)  # new files register without an edit here
