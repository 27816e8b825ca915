"""Grad-CAM++ class-activation maps for any PyTorch model with a convolutional layer.

Chattopadhyay, Sarkar, Howlader, Balasubramanian, "Grad-CAM++: Generalized Gradient-based
Visual Explanations for Deep Convolutional Networks", WACV 2018 (arXiv 1710.11063).

For the feature maps ``A^k`` of a chosen layer and the class score ``S^c`` (pre-softmax), the
paper takes ``Y^c = exp(S^c)``; its higher derivatives are then powers of the first one and the
pixel weights have the closed form

    alpha_ij^kc = g^2 / (2 g^2 + sum_ab A_ab^k g^3),   g = dS^c / dA_ij^k,

(0 where the denominator is 0), the channel weights are
``w_k^c = sum_ij alpha_ij^kc relu(dY^c / dA_ij^k) = exp(S^c) sum_ij alpha_ij^kc relu(g)``, and the
map is ``relu(sum_k w_k^c A^k)``, upsampled to the input size and scaled to [0, 1] per image.
``exp(S^c)`` is one positive factor per image, so it does not change the normalised map; it is
kept in the returned weights (computed in float64) to follow the paper's formula.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


def gradcam_pp_weights(activations: torch.Tensor, gradients: torch.Tensor,
                       scores: torch.Tensor | None = None) -> torch.Tensor:
    """Grad-CAM++ channel weights ``w_k^c`` [N, K] from activations and first-order gradients
    ``dS^c/dA`` (both [N, K, *spatial]); ``scores`` [N] multiplies by ``exp(S^c)`` (omitted:
    factor 1)."""
    if activations.shape != gradients.shape:
        raise ValueError(f"gradcam_pp_weights: activations {tuple(activations.shape)} and "
                         f"gradients {tuple(gradients.shape)} differ in shape")
    a, g = activations.double(), gradients.double()
    dims = tuple(range(2, a.ndim))
    g2, g3 = g ** 2, g ** 3
    denom = 2 * g2 + a.sum(dim=dims, keepdim=True) * g3
    alpha = torch.where(denom != 0, g2 / torch.where(denom != 0, denom, torch.ones_like(denom)),
                        torch.zeros_like(denom))
    weights = (alpha * F.relu(g)).sum(dim=dims)
    if scores is not None:
        weights = weights * torch.exp(scores.double()).view(-1, 1)
    return weights


def _normalise(cam: torch.Tensor) -> torch.Tensor:
    """Per-image min-max scaling to [0, 1]; a constant map becomes all zeros."""
    flat = cam.flatten(1)
    lo, hi = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    span = hi - lo
    out = torch.where(span > 0, (flat - lo) / torch.where(span > 0, span, torch.ones_like(span)),
                      torch.zeros_like(flat))
    return out.view_as(cam)


class GradCAMPlusPlus:
    """Grad-CAM++ (Chattopadhyay et al., WACV 2018) of one class for any model.

    Args:
        model: a module returning class scores [N, C] (or a tuple / dict holding them; see
            ``output_fn``). Put it in eval mode first so that batch statistics do not mix
            images.
        target_layer: dotted name of the layer whose output feature maps are explained (as in
            ``model.named_modules()``), e.g. ``'backbone.layer4'``.
        output_fn: maps the model output to the score tensor [N, C] (default: the output
            itself, or its first element when it is a tuple / list).

    ``cam = GradCAMPlusPlus(model, 'features')(images, class_index)`` gives [N, H, W] maps in
    [0, 1] at the input's spatial size (bilinear upsampling; trilinear for 3-D inputs).
    """

    def __init__(self, model: nn.Module, target_layer: str,
                 output_fn: Callable | None = None):
        modules = dict(model.named_modules())
        if target_layer not in modules:
            conv_like = [n for n, m in modules.items()
                         if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d))][:10]
            raise KeyError(f"GradCAMPlusPlus: {type(model).__name__} has no layer "
                           f"{target_layer!r} (convolutions: {conv_like})")
        self.model, self.target_layer = model, target_layer
        self.layer = modules[target_layer]
        self.output_fn = output_fn
        self.last_weights: torch.Tensor | None = None
        self.last_scores: torch.Tensor | None = None

    def _scores(self, output) -> torch.Tensor:
        if self.output_fn is not None:
            return self.output_fn(output)
        if isinstance(output, (tuple, list)):
            return output[0]
        return output

    def __call__(self, inputs: torch.Tensor, class_index: int | torch.Tensor,
                 output_size: tuple[int, ...] | None = None) -> torch.Tensor:
        captured: list[torch.Tensor] = []
        handle = self.layer.register_forward_hook(lambda m, i, o: captured.append(o))
        try:
            with torch.enable_grad():
                scores_all = self._scores(self.model(inputs))
                if not captured:
                    raise RuntimeError(f"GradCAMPlusPlus: layer {self.target_layer!r} was not "
                                       "called in the forward pass")
                acts = captured[-1]
                n = scores_all.shape[0]
                idx = torch.as_tensor(class_index, device=scores_all.device).long()
                idx = idx.expand(n) if idx.ndim == 0 else idx
                if idx.shape != (n,) or int(idx.min()) < 0 or int(idx.max()) >= scores_all.shape[1]:
                    raise ValueError(f"GradCAMPlusPlus: class_index {class_index} does not fit "
                                     f"scores of shape {tuple(scores_all.shape)}")
                scores = scores_all.gather(1, idx.view(-1, 1)).squeeze(1)
                # images are independent (eval mode), so d(sum)/dA_i = dS_i/dA_i
                (grads,) = torch.autograd.grad(scores.sum(), acts)
        finally:
            handle.remove()
        acts, grads, scores = acts.detach(), grads.detach(), scores.detach()
        weights = gradcam_pp_weights(acts, grads, scores)
        self.last_weights, self.last_scores = weights, scores
        shape = (-1, weights.shape[1]) + (1,) * (acts.ndim - 2)
        cam = F.relu((weights.view(shape) * acts.double()).sum(1, keepdim=True))
        size = output_size or tuple(inputs.shape[2:])
        if tuple(cam.shape[2:]) != tuple(size):
            mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[len(size)]
            cam = F.interpolate(cam, size=size, mode=mode, align_corners=False)
        return _normalise(cam[:, 0]).to(inputs.dtype if inputs.is_floating_point()
                                        else torch.float32)
