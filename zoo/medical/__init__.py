"""Medical measurements (RHLV) and metrics; importing registers the metrics."""
from .metrics import HealthiVertMetric  # noqa: F401
