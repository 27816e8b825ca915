"""Medical measurements (RHLV) and metrics; importing registers the metrics."""
from .metrics import HealthiVertMetric  # noqa: F401
from .visualization_hook import HealthiVertVisualizationHook  # noqa: F401
