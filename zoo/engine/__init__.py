"""Hooks, loops and I/O that plug into mmengine's runner."""
from . import amp, atomic_io  # noqa: F401  (amp registers BF16OptimWrapper)
from .checkpoint_keys import CheckpointKeysHook  # noqa: F401
from .distributed import GlooSyncBatchNorm, ZooDistributedDataParallel  # noqa: F401
from .hooks import EpochSeedHook  # noqa: F401
