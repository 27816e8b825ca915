"""--vis / visualizer set-up and the figures the zoo draws reaching TensorBoard as images."""
from __future__ import annotations

import numpy as np
import pytest
from mmengine.config import Config

from zoo.engine.tracking import apply_vis, send_png, vis_backend_configs


def test_vis_names_map_to_mmengine_backends(monkeypatch):
    assert [c["type"] for c in vis_backend_configs(["tensorboard"])] == \
        ["LocalVisBackend", "TensorboardVisBackend"]
    with pytest.raises(ValueError, match="--vis 'tensorbord': unknown backend"):
        vis_backend_configs(["tensorbord"])
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(ImportError, match="'wandb' package is not installed.*--extra wandb"):
        vis_backend_configs(["wandb"])


def test_apply_vis_keeps_the_configs_visualizer_and_no_flag_changes_nothing():
    cfg = Config(dict(visualizer=dict(type="Visualizer", name="v", line_width=3)))
    assert "vis_backends" not in apply_vis(cfg, []).visualizer
    apply_vis(cfg, ["tensorboard"])
    assert cfg.visualizer.line_width == 3 and cfg.visualizer.name == "v"
    assert [b["type"] for b in cfg.visualizer.vis_backends] == \
        ["LocalVisBackend", "TensorboardVisBackend"]
    plain = Config(dict(model=dict(type="X")))
    apply_vis(plain, [])
    assert "visualizer" not in plain


def test_zoo_figures_are_sent_to_tensorboard_as_images(tmp_path):
    from mmengine.logging import MessageHub
    from mmengine.visualization import Visualizer
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from zoo.visualization import plot_matrix

    visualizer = Visualizer.get_instance(
        "vszoo-test-tracking", save_dir=str(tmp_path / "vis"),
        vis_backends=[dict(type="LocalVisBackend"), dict(type="TensorboardVisBackend")])
    try:
        MessageHub.get_instance("vszoo-test-tracking-hub").update_info("iter", 7)
        plot_matrix(np.array([[90.0, np.nan], [40.0, 80.0]]), str(tmp_path / "accuracy_matrix.png"),
                    ["T1", "T2"], ["T1", "T2"], "accuracy", fmt=".1f")
        assert (tmp_path / "accuracy_matrix.png").is_file()
        # the local backend is skipped (the PNG is already on disk): no second copy
        assert not list((tmp_path / "vis").rglob("vis_image"))
        events = list((tmp_path / "vis").rglob("events.out.tfevents.*"))
        assert len(events) == 1
        acc = EventAccumulator(str(events[0].parent), size_guidance={"images": 0})
        acc.Reload()
        assert acc.Tags()["images"] == ["accuracy_matrix"]
        (image,) = acc.Images("accuracy_matrix")
        assert image.step == 7 and image.width > 100 and image.height > 100
        assert send_png("again", (tmp_path / "accuracy_matrix.png").read_bytes(), step=8) == 1
    finally:  # later tests in this process must not write into this test's event file
        visualizer.close()
        Visualizer._instance_dict.pop("vszoo-test-tracking", None)
        MessageHub._instance_dict.pop("vszoo-test-tracking-hub", None)


def test_mlflow_logs_to_a_sqlite_file_in_the_work_dir(monkeypatch, tmp_path):
    """mlflow 3 refuses mmengine's default file:// store; the zoo points it at WORK_DIR."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if name == "mlflow" else real(name, *a))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = apply_vis(Config(dict(work_dir=str(tmp_path))), ["mlflow"])
    (mlflow,) = [b for b in cfg.visualizer.vis_backends if b["type"] == "MLflowVisBackend"]
    assert mlflow["tracking_uri"] == f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://server:5000")
    assert vis_backend_configs(["mlflow"])[1]["tracking_uri"] == "http://server:5000"
