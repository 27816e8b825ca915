"""The zoo's registries: mmengine child registries plus the zoo's own.

Every registry has ``locations`` so that building from a config imports the module that
registers the type; a config with ``default_scope = 'zoo'`` is enough to build anything.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
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
                   locations=["zoo.evaluation", "zoo.medical"])
HOOKS = Registry("hook", parent=MMENGINE_HOOKS, scope="zoo",
                 locations=["zoo.engine", "zoo.medical"])
MODEL_WRAPPERS = Registry("model_wrapper", parent=MMENGINE_MODEL_WRAPPERS, scope="zoo",
                          locations=["zoo.engine"])
LOOPS = Registry("loop", parent=MMENGINE_LOOPS, scope="zoo",
                 locations=["zoo.engine", "zoo.continual"])

# Children of the other mmengine roots. Without a "zoo" child, building e.g. the parameter
# scheduler under default_scope="zoo" falls back to the root with a warning per registry (as
# MMAction2's mmaction/registry.py does, one child for every root the configs reach). The
# roots' own entries stay visible through the parent. mmengine's STRATEGIES root (only used by
# FlexibleRunner) has no child: the name is taken by the continual strategies below.
RUNNERS = Registry("runner", parent=MMENGINE_RUNNERS, scope="zoo")
RUNNER_CONSTRUCTORS = Registry("runner constructor", parent=MMENGINE_RUNNER_CONSTRUCTORS,
                               scope="zoo")
DATA_SAMPLERS = Registry("data sampler", parent=MMENGINE_DATA_SAMPLERS, scope="zoo")
WEIGHT_INITIALIZERS = Registry("weight initializer", parent=MMENGINE_WEIGHT_INITIALIZERS,
                               scope="zoo")
OPTIMIZERS = Registry("optimizer", parent=MMENGINE_OPTIMIZERS, scope="zoo")
OPTIM_WRAPPERS = Registry("optim_wrapper", parent=MMENGINE_OPTIM_WRAPPERS, scope="zoo")
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    "optimizer wrapper constructor", parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, scope="zoo",
    locations=["zoo.engine.optim"])
PARAM_SCHEDULERS = Registry("parameter scheduler", parent=MMENGINE_PARAM_SCHEDULERS,
                            scope="zoo")
EVALUATOR = Registry("evaluator", parent=MMENGINE_EVALUATOR, scope="zoo")
TASK_UTILS = Registry("task util", parent=MMENGINE_TASK_UTILS, scope="zoo")
VISUALIZERS = Registry("visualizer", parent=MMENGINE_VISUALIZERS, scope="zoo")
VISBACKENDS = Registry("vis_backend", parent=MMENGINE_VISBACKENDS, scope="zoo")
LOG_PROCESSORS = Registry("log_processor", parent=MMENGINE_LOG_PROCESSORS, scope="zoo")
INFERENCERS = Registry("inferencer", parent=MMENGINE_INFERENCERS, scope="zoo")
# Functions named in configs or looked up by name across layers (e.g. the WSI heat map writer
# that the core MILMetric calls without importing the WSI data family).
FUNCTIONS = Registry("function", parent=MMENGINE_FUNCTIONS, scope="zoo",
                     locations=["zoo.datasets.wsi.heatmap"])

# The zoo's own registries (no mmengine parent): continual strategies, unlearners, attacks,
# converters, pose estimators.
STRATEGIES = Registry("continual strategy", scope="zoo", locations=["zoo.continual.strategies"])
UNLEARNERS = Registry("unlearner", scope="zoo", locations=["zoo.unlearning"])
ATTACKS = Registry("attack", scope="zoo", locations=["zoo.attacks"])
# Checkpoint converters (upstream key names -> the zoo's), named by the hub index; one may also
# sit beside its model in zoo.models (as timm keeps checkpoint_filter_fn in the model file).
CONVERTERS = Registry("converter", scope="zoo", locations=["zoo.converters", "zoo.models"])
POSE_ESTIMATORS = Registry("pose estimator", scope="zoo", locations=["zoo.pose"])

__all__ = [
    "MODELS", "DATASETS", "TRANSFORMS", "METRICS", "HOOKS", "LOOPS", "MODEL_WRAPPERS",
    "STRATEGIES", "UNLEARNERS", "ATTACKS", "CONVERTERS", "POSE_ESTIMATORS",
    "RUNNERS", "RUNNER_CONSTRUCTORS", "DATA_SAMPLERS",
    "WEIGHT_INITIALIZERS", "OPTIMIZERS", "OPTIM_WRAPPERS", "OPTIM_WRAPPER_CONSTRUCTORS",
    "PARAM_SCHEDULERS", "EVALUATOR", "TASK_UTILS", "VISUALIZERS", "VISBACKENDS",
    "LOG_PROCESSORS", "INFERENCERS", "FUNCTIONS",
]
