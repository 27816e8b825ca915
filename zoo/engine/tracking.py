"""Experiment tracking through mmengine's visualisation backends.

``tools/train.py --vis tensorboard`` (or ``mlflow``, ``wandb``; several may be given) puts the
matching ``*VisBackend`` in the config's ``visualizer``; mmengine's ``LoggerHook`` then sends
every logged scalar (loss, lr, validation metrics) to it, under ``WORK_DIR/TIMESTAMP/vis_data``.
The same works without the flag: ``--cfg-options visualizer.vis_backends.0.type=...`` or a
``visualizer`` in the config.

:func:`send_png` forwards a figure the zoo already writes as a PNG (accuracy and confusion
matrices, heat maps, overlays, skeleton sequences) to the tracking backends as an image, at the
runner's current iteration. The local backend is skipped: the PNG is already on disk.
"""
from __future__ import annotations

import importlib.util
import os
from typing import Any, Sequence

# --vis name -> (mmengine backend type, Python module it needs, extra that installs it)
VIS_BACKENDS: dict[str, tuple[str, str | None, str | None]] = {
    "local": ("LocalVisBackend", None, None),
    "tensorboard": ("TensorboardVisBackend", "tensorboard", None),
    "mlflow": ("MLflowVisBackend", "mlflow", "mlflow"),
    "wandb": ("WandbVisBackend", "wandb", "wandb"),
}


def vis_backend_configs(names: Sequence[str], work_dir: str | None = None) -> list[dict]:
    """mmengine ``vis_backends`` entries for ``--vis`` names (the local JSON/PNG one first).

    MLflow logs to ``$MLFLOW_TRACKING_URI`` or else to ``WORK_DIR/mlflow.db`` (SQLite): mlflow 3
    refuses the ``file://.../mlruns`` store that mmengine's backend would default to.
    Raises ``ValueError`` for an unknown name and ``ImportError`` naming the package to install
    when a backend's library is missing.
    """
    configs = [dict(type="LocalVisBackend")]
    for name in names:
        if name not in VIS_BACKENDS:
            raise ValueError(f"--vis {name!r}: unknown backend; choose from "
                             f"{', '.join(VIS_BACKENDS)}")
        backend, module, extra = VIS_BACKENDS[name]
        if module is not None and importlib.util.find_spec(module) is None:
            how = f"uv sync --extra {extra}" if extra else f"uv pip install {module}"
            raise ImportError(f"--vis {name}: the {module!r} package is not installed ({how})")
        if any(c["type"] == backend for c in configs):
            continue
        config = dict(type=backend)
        if name == "mlflow":
            config["tracking_uri"] = os.environ.get("MLFLOW_TRACKING_URI") or (
                "sqlite:///" + os.path.join(os.path.abspath(work_dir or "."), "mlflow.db"))
        configs.append(config)
    return configs


def apply_vis(cfg: Any, names: Sequence[str]) -> Any:
    """Set ``cfg.visualizer`` to send logs to the ``--vis`` backends; returns ``cfg``.

    A visualizer the config already defines keeps its type and other keys; only its
    ``vis_backends`` are replaced.
    """
    if not names:
        return cfg
    visualizer = dict(cfg.get("visualizer") or dict(type="Visualizer", name="visualizer"))
    visualizer["vis_backends"] = vis_backend_configs(names, cfg.get("work_dir"))
    cfg.visualizer = visualizer
    return cfg


def _current_visualizer():
    from mmengine.visualization import Visualizer

    try:
        return Visualizer.get_current_instance()
    except RuntimeError:  # no runner (a stand-alone tool): nothing to send to
        return None


def _current_step() -> int:
    from mmengine.logging import MessageHub

    try:
        return int(MessageHub.get_current_instance().get_info("iter", 0) or 0)
    except (RuntimeError, TypeError, ValueError):
        return 0


def send_png(name: str, png: bytes, step: int | None = None) -> int:
    """Send a PNG to the current visualizer's tracking backends; returns how many took it."""
    visualizer = _current_visualizer()
    if visualizer is None:
        return 0
    from mmengine.visualization import LocalVisBackend

    # The visualizer's own add_image would also write a second PNG through the local backend.
    backends = [b for b in getattr(visualizer, "_vis_backends", {}).values()
                if not isinstance(b, LocalVisBackend)]
    if not backends:
        return 0
    import io

    import numpy as np
    from matplotlib import image as mpl_image

    rgba = mpl_image.imread(io.BytesIO(png), format="png")
    rgb = np.ascontiguousarray((np.clip(rgba[..., :3], 0, 1) * 255).round().astype(np.uint8))
    step = _current_step() if step is None else step
    for backend in backends:
        backend.add_image(name, rgb, step=step)
        # TensorBoard's writer flushes on a timer: a figure should be on disk when sent.
        flush = getattr(getattr(backend, "experiment", None), "flush", None)
        if callable(flush):
            flush()
    return len(backends)
