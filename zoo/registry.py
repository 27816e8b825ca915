"""The zoo's registries: mmengine child registries plus the zoo's own.

Every registry has ``locations`` so that building from a config imports the module that
registers the type; a config with ``default_scope = 'zoo'`` is enough to build anything.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

MODELS = Registry(
    "model", parent=MMENGINE_MODELS, scope="zoo", locations=["zoo.models", "zoo.losses"]
)
DATASETS = Registry(
    "dataset", parent=MMENGINE_DATASETS, scope="zoo", locations=["zoo.datasets", "zoo.continual"]
)
TRANSFORMS = Registry(
    "transform", parent=MMENGINE_TRANSFORMS, scope="zoo", locations=["zoo.datasets.transforms"]
)
METRICS = Registry("metric", parent=MMENGINE_METRICS, scope="zoo",
                   locations=["zoo.evaluation", "zoo.medical", "zoo.models.mil"])
HOOKS = Registry("hook", parent=MMENGINE_HOOKS, scope="zoo",
                 locations=["zoo.engine", "zoo.models.detection", "zoo.medical"])
MODEL_WRAPPERS = Registry("model_wrapper", parent=MMENGINE_MODEL_WRAPPERS, scope="zoo",
                          locations=["zoo.engine"])
LOOPS = Registry("loop", parent=MMENGINE_LOOPS, scope="zoo",
                 locations=["zoo.engine", "zoo.continual"])

# The zoo's own registries (no mmengine parent): continual strategies, unlearners, attacks,
# converters, pose estimators.
STRATEGIES = Registry("continual strategy", scope="zoo", locations=["zoo.continual.strategies"])
UNLEARNERS = Registry("unlearner", scope="zoo", locations=["zoo.unlearning"])
ATTACKS = Registry("attack", scope="zoo", locations=["zoo.attacks"])
# Checkpoint converters (upstream key names -> the zoo's), named by the hub index.
CONVERTERS = Registry("converter", scope="zoo", locations=["zoo.converters"])
POSE_ESTIMATORS = Registry("pose estimator", scope="zoo", locations=["zoo.pose"])

__all__ = [
    "MODELS", "DATASETS", "TRANSFORMS", "METRICS", "HOOKS", "LOOPS", "MODEL_WRAPPERS",
    "STRATEGIES", "UNLEARNERS", "ATTACKS", "CONVERTERS", "POSE_ESTIMATORS",
]
