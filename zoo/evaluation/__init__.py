"""Metrics (registered in ``zoo.registry.METRICS``)."""
from zoo.imports import import_submodules

from .classification import AccMetric  # noqa: F401
from .detection import CocoDetMetric, coco_map  # noqa: F401
from .dump import DumpPredictions, load_predictions, save_predictions  # noqa: F401
from .mil import MILMetric, binary_auc  # noqa: F401
from .segmentation import SegTopologyMetric  # noqa: F401

import_submodules(__name__)  # new files register without an edit here
