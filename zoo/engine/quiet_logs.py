"""Drop the two deprecation notes that mmengine 0.10 logs about its own file client.

``CheckpointHook.before_train`` and ``mmengine.runner.checkpoint.save_checkpoint`` call
``FileClient.infer_client`` unconditionally (kept "to avoid breaking backward compatibility"
until mmengine 1.0) and then write through ``get_file_backend`` — the non-deprecated API, whose
``local`` backend the zoo replaces with an atomic one (:mod:`zoo.engine.atomic_io`). The zoo
never builds a ``FileClient`` itself; the notes ("FileClient will be deprecated", "HardDiskBackend
is the alias of LocalBackend") are noise a user cannot act on, so this filter removes exactly
those two messages and nothing else.
"""
from __future__ import annotations

import logging

_MMENGINE_INTERNAL_NOTES = (
    '"FileClient" will be deprecated in future',
    '"HardDiskBackend" is the alias of "LocalBackend"',
)


class MMEngineFileClientNoteFilter(logging.Filter):
    """Rejects mmengine's FileClient / HardDiskBackend deprecation records."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(message.startswith(note) for note in _MMENGINE_INTERNAL_NOTES)


def quiet_mmengine_file_client(logger: logging.Logger) -> logging.Logger:
    """Attach the filter to ``logger`` (the runner's ``MMLogger``) once; returns the logger."""
    if not any(isinstance(f, MMEngineFileClientNoteFilter) for f in logger.filters):
        logger.addFilter(MMEngineFileClientNoteFilter())
    return logger
