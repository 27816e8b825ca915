"""The one way to get a trained model: build it from a config and load its checkpoint."""
from .model import init_model, load_checkpoint, load_config_file

__all__ = ["init_model", "load_checkpoint", "load_config_file"]
