"""Which memory format a tensor is stored in (for kernels that take another path on NHWC)."""
from __future__ import annotations

import torch


def stored_channels_last(x: torch.Tensor) -> bool:
    """Whether ``x`` is stored channels last and not also contiguous (a tensor with one
    channel or one position is contiguous in both formats; it counts as NCHW)."""
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
