"""Object detection data (ModTr family): generated RGB / IR scenes, COCO-style IR reader."""
from . import datasets, transforms  # noqa: F401
from .datasets import (  # noqa: F401
    CocoIRDetection,
    DetAnnotationError,
    SyntheticIRScenes,
    parse_coco,
    write_scenes_coco,
)
from .scenes import CLASSES, make_scene, rgb_to_ir  # noqa: F401
from .structures import DetDataSample, make_instances  # noqa: F401
