"""Metrics (registered in ``zoo.registry.METRICS``)."""
from .classification import AccMetric  # noqa: F401
from .detection import CocoDetMetric, coco_map  # noqa: F401
from .dump import DumpPredictions, load_predictions, save_predictions  # noqa: F401
from .mil import MILMetric, binary_auc  # noqa: F401
from .segmentation import SegTopologyMetric  # noqa: F401
