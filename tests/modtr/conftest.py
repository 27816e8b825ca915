"""Build zoo types by their short names outside a runner (as configs do)."""
from mmengine.registry import init_default_scope

init_default_scope("zoo")
