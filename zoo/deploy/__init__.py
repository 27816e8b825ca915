"""Inference-time transforms and export: BatchNorm folding, ONNX export."""
from .fuse import find_conv_bn_pairs, fuse_for_inference

__all__ = ["find_conv_bn_pairs", "fuse_for_inference"]
