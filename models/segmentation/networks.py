"""MONAI segmentation networks registered in ``MODELS`` for configs.

``MonaiUNet`` is ``monai.networks.nets.UNet`` (Kerfoot et al. residual U-Net; arguments
``spatial_dims, in_channels, out_channels, channels, strides, num_res_units, ...``) and
``MonaiBasicUNet`` is ``monai.networks.nets.BasicUNet`` (``spatial_dims, in_channels,
out_channels, features`` with six entries).
"""
from __future__ import annotations

from monai.networks.nets import BasicUNet, UNet

from zoo.registry import MODELS

MODELS.register_module(name="MonaiUNet", module=UNet)
MODELS.register_module(name="MonaiBasicUNet", module=BasicUNet)
