"""Skeleton-motion-informed (SMI) gradient (Lu et al., ICCV 2023, "Hard No-Box Adversarial
Attack on Skeleton-Based Human Action Recognition with Skeleton-Motion-Informed Gradient").

Plain gradient attacks treat every coordinate as independent. The SMI gradient models each
joint coordinate as a time-varying autoregressive process of order 2,
``x[t] = a1[t] x[t-1] + a2[t] x[t-2] + noise``, so that moving ``x[t]`` also moves the later
frames, and takes the total derivative (truncated after two frames, as the official code):

    dL/dx[t] = g[t] + (dx[t+1]/dx[t]) g[t+1] + (dx[t+2]/dx[t]) g[t+2],
    dx[t+1]/dx[t] = a1[t+1],    dx[t+2]/dx[t] = a1[t+1] a1[t+2] + a2[t+2],

with ``g = dL/dx`` the plain (per-sample l1-normalised) gradient; ``g`` past the last frame is
zero. At ``t = 0`` the official code takes ``dx[1]/dx[0]`` from an AR(1) fit (an AR(2) has no
coefficient at ``t = 1``); so does :func:`motion_coefficients`.

The official code fits the time-varying AR with R's ``tvReg::tvAR`` (local-linear kernel
estimator). :func:`fit_tvar` is a torch re-implementation of that estimator with an
Epanechnikov kernel and a fixed bandwidth (tvReg picks it by cross-validation) plus a small
ridge term so that constant coordinates do not make the normal equations singular.
"""
from __future__ import annotations

import torch


def _epanechnikov(u: torch.Tensor) -> torch.Tensor:
    return (0.75 * (1 - u**2)).clamp_min(0)


def fit_tvar(y: torch.Tensor, order: int, bandwidth: float = 0.3, ridge: float = 1e-4
             ) -> torch.Tensor:
    """Time-varying AR coefficients of series ``y`` ``[S, T]``.

    Local-linear kernel least squares: at each time ``tau`` minimise
    ``sum_t K((t - tau) / (h T)) (y[t] - sum_k (a_k + b_k (t - tau)/T) y[t-k])^2`` over
    ``t = order .. T-1``, with ``h = bandwidth``.

    Returns ``[S, T - order, order]``: row ``r`` holds ``a_1 .. a_order`` at time
    ``t = r + order``.
    """
    if y.dim() != 2:
        raise ValueError(f"fit_tvar expects [series, T], got {tuple(y.shape)}")
    s_count, length = y.shape
    if length <= order + 1:
        raise ValueError(f"fit_tvar needs more than {order + 1} frames, got {length}")
    y = y.double()
    times = torch.arange(order, length, dtype=y.dtype, device=y.device)  # fitted times
    target = y[:, order:]  # [S, R]
    lags = torch.stack([y[:, order - k:length - k] for k in range(1, order + 1)], -1)  # [S,R,p]
    rel = (times[None, :] - times[:, None]) / length  # [tau, t]
    weights = _epanechnikov(rel / bandwidth)  # [tau, t]
    # design [S, tau, t, 2p]: lags and lags * (t - tau)/T
    design = torch.cat([lags[:, None].expand(-1, len(times), -1, -1),
                        lags[:, None] * rel[None, :, :, None]], -1)
    wd = design * weights[None, :, :, None]
    gram = wd.transpose(-1, -2) @ design  # [S, tau, 2p, 2p]
    rhs = (wd * target[:, None, :, None]).sum(2)  # [S, tau, 2p]
    scale = (lags**2).mean(dim=(1, 2)).clamp_min(1e-12)  # [S]
    eye = torch.eye(2 * order, dtype=y.dtype, device=y.device)
    gram = gram + ridge * scale[:, None, None, None] * weights.sum(-1)[None, :, None, None] * eye
    coef = torch.linalg.solve(gram, rhs.unsqueeze(-1)).squeeze(-1)
    return coef[..., :order].float()


def motion_coefficients(x: torch.Tensor, bandwidth: float = 0.3, ridge: float = 1e-4
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """``dx[t+1]/dx[t]`` and ``dx[t+2]/dx[t]`` of every joint coordinate of ``x``
    ``[..., T, V, C]`` under TV-AR(2) motion, each shaped like ``x`` (zero where the frame
    ``t+1`` resp. ``t+2`` does not exist).

    Non-finite fits (e.g. an all-zero padded person) give zero coefficients, as the
    official code's ``nan -> 0``.
    """
    length = x.shape[-3]
    series = x.movedim(-3, -1).reshape(-1, length)  # [S, T]
    chunks = series.split(1024)  # bounds the [S, tau, t, 2p] design tensors
    ar2 = torch.cat([fit_tvar(c, 2, bandwidth, ridge) for c in chunks])  # row r -> time r+2
    ar1 = torch.cat([fit_tvar(c, 1, bandwidth, ridge) for c in chunks])  # row r -> time r+1
    a1 = series.new_zeros(series.shape)  # a1 at time t (AR(2) lag-1); t=1 from AR(1)
    a2 = series.new_zeros(series.shape)
    a1[:, 2:] = ar2[..., 0]
    a2[:, 2:] = ar2[..., 1]
    a1[:, 1] = ar1[:, 0, 0]
    one = series.new_zeros(series.shape)  # dx[t+1]/dx[t] = a1[t+1]
    two = series.new_zeros(series.shape)  # dx[t+2]/dx[t] = a1[t+1] a1[t+2] + a2[t+2]
    one[:, :-1] = a1[:, 1:]
    two[:, :-2] = a1[:, 1:-1] * a1[:, 2:] + a2[:, 2:]
    one, two = (torch.nan_to_num(c, nan=0.0, posinf=0.0, neginf=0.0) for c in (one, two))
    shape = (*x.shape[:-3], x.shape[-2], x.shape[-1], length)
    return (one.reshape(shape).movedim(-1, -3).contiguous(),
            two.reshape(shape).movedim(-1, -3).contiguous())


def smi_gradient(grad: torch.Tensor, one_step: torch.Tensor, two_step: torch.Tensor
                 ) -> torch.Tensor:
    """``g[t] + one_step[t] g[t+1] + two_step[t] g[t+2]`` along the frame dim (``-3``) of
    ``grad`` ``[..., T, V, C]``; frames past the end contribute zero."""
    nxt = torch.zeros_like(grad)
    nxt2 = torch.zeros_like(grad)
    nxt[..., :-1, :, :] = grad[..., 1:, :, :]
    nxt2[..., :-2, :, :] = grad[..., 2:, :, :]
    return grad + one_step * nxt + two_step * nxt2


def l1_normalise(grad: torch.Tensor, sample_dims: int = 1) -> torch.Tensor:
    """Divide each sample's gradient by its mean absolute value (MI-FGSM / official SMI code);
    the first ``sample_dims`` dims index samples."""
    dims = tuple(range(sample_dims, grad.dim()))
    return grad / grad.abs().mean(dim=dims, keepdim=True).clamp_min(1e-12)
