"""Write test predictions (scores, labels, sample ids) to an ``.npz`` file, atomically."""
from __future__ import annotations

import io
import zipfile
from typing import Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from zoo.fileio import atomic_write_bytes
from zoo.registry import METRICS


def save_predictions(path: str, scores: np.ndarray, labels: np.ndarray, ids: Sequence[str],
                     classes: Sequence[str] = ()) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, scores=scores.astype(np.float32), labels=labels.astype(np.int64),
             ids=np.asarray(list(ids), dtype=str), classes=np.asarray(list(classes), dtype=str))
    atomic_write_bytes(path, buffer.getvalue())


PREDICTION_KEYS = ("scores", "labels", "ids")


class PredictionsFileError(ValueError):
    """A file is not a predictions ``.npz`` written by ``tools/test.py --dump``."""


def load_predictions(path: str) -> dict[str, np.ndarray]:
    """Read a predictions file written by :class:`DumpPredictions` (no pickle allowed).

    Raises :class:`PredictionsFileError` naming the file when it is not such an ``.npz``
    (another format, a plain ``.npy``, a pickle, or an archive without scores/labels/ids).
    """
    what = ("is not a predictions file (an .npz with scores, labels and ids, written by "
            "`tools/test.py CONFIG CKPT --dump FILE.npz`)")
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"predictions file {path} does not exist") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile):
        # numpy's own text suggests allow_pickle=True, which must never be used on a file
        # of unknown origin.
        with open(path, "rb") as f:
            head = f.read(12)
        reason = ("it holds a pickle (never loaded)" if head[:1] == b"\x80"
                  else f"it is not an .npz archive (starts with {head!r})")
        raise PredictionsFileError(f"{path} {what}; {reason}") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise PredictionsFileError(f"{path} {what}; it is a single .npy array")
    try:
        with data:
            missing = [k for k in PREDICTION_KEYS if k not in data.files]
            if missing:
                raise PredictionsFileError(f"{path} {what}; it lacks {missing} (holds "
                                           f"{sorted(data.files)})")
            return {k: data[k] for k in data.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        if isinstance(exc, PredictionsFileError):
            raise
        reason = "an array holds pickled objects" if "allow_pickle" in str(exc) \
            else f"{type(exc).__name__}: {exc}"
        raise PredictionsFileError(f"{path} {what}; {reason}") from None


@METRICS.register_module()
class DumpPredictions(BaseMetric):
    """Save every sample's class scores, label and id to ``out_file`` (``.npz``).

    ``tools/ensemble.py`` fuses such files; ``tools/test.py --dump`` adds this metric.
    """

    def __init__(self, out_file: str, collect_device: str = "cpu"):
        super().__init__(collect_device=collect_device)
        if not out_file.endswith(".npz"):
            raise ValueError(f"DumpPredictions writes .npz files, got {out_file!r}")
        self.out_file = out_file

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append((
                torch.as_tensor(sample["pred_score"]).float().cpu().numpy(),
                int(torch.as_tensor(sample["gt_label"]).reshape(-1)[0]) if "gt_label" in sample
                else -1,
                str(sample.get("frame_dir", sample.get("sample_idx", len(self.results)))),
            ))

    def compute_metrics(self, results: list) -> dict:
        scores = np.stack([r[0] for r in results])
        labels = np.array([r[1] for r in results])
        classes = (self.dataset_meta or {}).get("classes", ())
        save_predictions(self.out_file, scores, labels, [r[2] for r in results], classes)
        return {}
