"""Hooks, loops and I/O that plug into mmengine's runner."""
from . import atomic_io  # noqa: F401
from .checkpoint_keys import CheckpointKeysHook  # noqa: F401
from .distributed import GlooSyncBatchNorm, ZooDistributedDataParallel  # noqa: F401
from .hooks import EpochSeedHook  # noqa: F401
