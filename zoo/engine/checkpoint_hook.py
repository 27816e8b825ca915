"""mmengine's ``CheckpointHook`` with a best checkpoint that is never missing.

mmengine's ``_save_best_checkpoint`` deletes the previous ``best_*.pth`` and only then writes
the new one; a run killed between the two (or a disk-full error in the write) is left with no
best checkpoint at all, although the validation that chose it is over. This hook defers every
deletion made while saving a best checkpoint until the new file is written (atomically, see
:mod:`zoo.engine.atomic_io`), so at any moment the folder holds the old or the new best.

It is registered in the zoo's hook registry under mmengine's name, so every config with
``default_scope = "zoo"`` and ``type="CheckpointHook"`` gets it; all options are mmengine's.
"""
from __future__ import annotations

from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook

from zoo.registry import HOOKS


@HOOKS.register_module(name="CheckpointHook")
class KeepBestCheckpointHook(MMEngineCheckpointHook):
    """``CheckpointHook`` whose best checkpoint is replaced write-then-delete: the previous
    ``best_*.pth`` is removed only after the new one exists."""

    def _save_best_checkpoint(self, runner, metrics) -> None:
        backend = self.file_backend
        deferred: list[tuple[str, object]] = []
        # instance attributes shadow the backend's methods for the duration of the save
        backend.remove = lambda path: deferred.append(("remove", path))
        backend.rmtree = lambda path: deferred.append(("rmtree", path))
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            del backend.remove, backend.rmtree
        kept = {str(p) for p in [getattr(self, "best_ckpt_path", None),
                                 *getattr(self, "best_ckpt_path_dict", {}).values()] if p}
        for action, path in deferred:
            if str(path) not in kept:
                getattr(backend, action)(path)
