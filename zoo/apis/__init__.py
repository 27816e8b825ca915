"""The one way to get a trained model: build it from a config and load its checkpoint;
prediction for one skeleton input (``init_recognizer`` / ``inference_skeleton``)."""
from .inference import InferenceMetaError, inference_skeleton, init_recognizer
from .model import init_model, load_checkpoint, load_config_file

__all__ = ["init_model", "load_checkpoint", "load_config_file", "init_recognizer",
           "inference_skeleton", "InferenceMetaError"]
