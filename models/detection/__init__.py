"""Object detection across modalities: ModTr (Medeiros et al., ECCV 2024) - a translator that
adapts infrared images to a frozen torchvision RGB detector."""
# The visualisation hook moved to the engine package (core); re-exported for old imports.
from zoo.engine.det_visualization import (  # noqa: F401
    DetVisualizationHook,
    draw_detection_panels,
)

from . import detectors, fusion, translator  # noqa: F401
from .detectors import (  # noqa: F401
    DetDataPreprocessor,
    ModTrDetector,
    TorchvisionDetector,
    detector_state,
)
from .fusion import FUSIONS, ModTrFusion, fuse  # noqa: F401
from .torchvision_detectors import (  # noqa: F401
    build_torchvision_detector,
    freeze,
    load_detector_weights,
    loss_mode,
)
from .translator import ModTrTranslator  # noqa: F401
