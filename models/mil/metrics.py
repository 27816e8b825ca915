"""Moved to :mod:`zoo.evaluation.mil` (metrics live in the core evaluation package)."""
from zoo.evaluation.mil import MILMetric, binary_auc  # noqa: F401
