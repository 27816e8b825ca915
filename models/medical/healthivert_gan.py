"""HealthiVert-GAN as an mmengine model with its own GAN ``train_step``.

Zhang et al., "HealthiVert-GAN: A Novel Framework of Pseudo-Healthy Vertebral Image Synthesis
for Interpretable Compression Fracture Grading", IEEE JBHI 2025 (arXiv 2503.05990).

One iteration (as in the official ``optimize_parameters``): generate; update the three
PatchGANs on (real, detached fake); update the generator with

* GAN: sum of the three non-saturating (vanilla) terms / 6;
* masked L1: mean of fine and coarse composite L1 x ``l1`` (200) x (pixels / band pixels) x 2;
* Dice of the fine segmentation vs the real target mask x 15 (EEM/segmentation);
* Dice of the coarse segmentation vs the adjacent healthy vertebrae x 10;
* edge MSE between Sobel maps of the thresholded generated and the real target masks x 800
  (EEM; see ``edge_mask``);
* SHRM height: mean relative error of both stages' heights x 40 each.

A composite keeps the real tissue outside the synthesised vertebra: its ``h`` rows
(``h = max(ceil(predicted height), visible height)``) come from the generator, the rows above
and below from the real crop shifted apart by ``h - visible height``.

Deliberate differences from the official code, for the reasons given:
* the mask discriminator sees the *soft* (sigmoid) fine segmentation; the official code
  thresholds it first, so that term sends no gradient to the generator;
* the L1 area factor uses (pixels / band pixels) of the whole batch; the official factor
  divides the per-image area by the mask count of the whole batch (weight shrinks with batch).

Multi-process training: ``model_wrapper_cfg = dict(type='zoo.ZooSeparateDistributedDataParallel')``
(one DDP for the generator, one for the three discriminators; see
:mod:`zoo.engine.distributed`). With band masks of equal area in every image (as the phantom
data set makes them), ``k`` processes with batch ``b`` compute the gradients of one process
with batch ``k * b``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapperDict

from zoo.engine.distributed import unwrap
from zoo.registry import MODELS

from .healthivert_nets import HealthiVertGenerator, Sobel, TripleDiscriminator

DEFAULT_WEIGHTS = dict(gan=1.0 / 6.0, l1=200.0, dice_fine=15.0, dice_coarse=10.0, edge=800.0,
                       height=40.0)


def dice_coefficient(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Mean over the batch of (2 sum(p t) + eps) / (sum p + sum t + eps)."""
    p, t = pred.flatten(1), target.flatten(1)
    return ((2 * (p * t).sum(1) + eps) / (p.sum(1) + t.sum(1) + eps)).mean()


def fit_rows_to_spans(seg: torch.Tensor, image: torch.Tensor, spans: list[tuple]
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Resample each sample's synthesised vertebra (rows where ``seg > 0.5``) and the image
    rows beside it onto its span ``[top, bottom)`` (seg: nearest, image: linear, along the
    rows only), so the vertebra is exactly the span's height (the segmentation is cleared
    outside the span); samples with no foreground are left as they are. ``seg``, ``image``:
    [N, 1, H, W]."""
    seg, image = seg.clone(), image.clone()
    for i, (top, bottom) in enumerate(spans):
        rows = torch.nonzero((seg[i, 0] > 0.5).any(dim=1)).flatten()
        if rows.numel() == 0 or bottom <= top:
            continue
        r0, r1 = int(rows[0]), int(rows[-1]) + 1
        size = (bottom - top, seg.shape[-1])
        fitted = F.interpolate(seg[i:i + 1, :, r0:r1], size=size, mode="nearest")[0]
        seg[i].zero_()
        seg[i, :, top:bottom] = fitted
        image[i, :, top:bottom] = F.interpolate(image[i:i + 1, :, r0:r1], size=size,
                                                mode="bilinear", align_corners=True)[0]
    return seg, image


def composite(generated: torch.Tensor, real: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor,
              heights: list[int], fill: float = -1.0) -> tuple[torch.Tensor, list[tuple]]:
    """Rows ``[top, top + h)`` from ``generated``; real rows above / below shifted apart."""
    out, spans = [], []
    size = real.shape[-2]
    for i, h in enumerate(heights):
        a, b = int(x1[i]), int(x2[i])
        visible = b - a + 1
        diff = h - visible
        top = max(a - diff // 2, 0)
        bottom = min(top + h, size)
        upper = real[i, :, diff // 2:a] if a > diff // 2 else real[i, :, :0]
        upper = upper[:, upper.shape[1] - top:] if upper.shape[1] > top else upper
        lower = real[i, :, b + 1:b + 1 + size - bottom]
        parts = [torch.full_like(real[i, :, :top - upper.shape[1]], fill), upper,
                 generated[i, :, top:bottom], lower]
        img = torch.cat(parts, dim=1)
        if img.shape[1] < size:
            img = torch.cat([img, torch.full_like(real[i, :, :size - img.shape[1]], fill)], 1)
        out.append(img)
        spans.append((top, bottom))
    return torch.stack(out), spans


@MODELS.register_module()
class HealthiVertGAN(BaseModel):
    """Pseudo-healthy vertebra synthesis GAN (coarse-to-fine generator + three PatchGANs).

    Args:
        generator: kwargs of :class:`HealthiVertGenerator` (``ngf``, ``dilations``, ...).
        discriminator: kwargs of :class:`TripleDiscriminator` (``ndf``, ``n_layers``).
        max_height: pixels that a height of 1.0 means (the band height).
        local_width: width in pixels of the central strip seen by the local discriminator
            (70 of 256 in the paper).
        loss_weights: overrides of ``DEFAULT_WEIGHTS``.
        edge_mask: ``'hard'`` (default, as the official code): the edge loss compares the
            Sobel map of the thresholded fine segmentation, so it is a logged agreement
            measure that sends no gradient (the clipped Sobel of a binary mask is flat
            almost everywhere). ``'soft'``: the Sobel map of the sigmoid output, the paper's
            wording; at the paper's weight (800) it pins the segmentation to a flat map —
            on the phantom config the fine Dice loss stayed at 12.0 of 15 for 300 iterations,
            against 1.2 after 400 with ``'hard'``.
        use_heatmap: feed ``1 - heat map`` (HGAM) to the generator; ``False`` feeds a constant
            1 (a heat map of 0) instead, the "without HGAM" ablation.
        use_position: feed the 2.5-D slice-position channel; ``False`` feeds a constant 0
            (every slice looks central), the "without position channel" ablation.
        neighbour_height: a zoo option, not the paper's: give the SHRM heads the adjacent
            vertebrae's mean height on the slice (``inputs["neighbour_height"]``, rows, from
            the data set) as a prior they correct (:class:`HeightHead`); with
            ``generator=dict(prior_channel=True)`` the prior is also an input channel of both
            generator stages. Off by default.
        fit_height: a zoo option for prediction, not the paper's: the synthesised vertebra is
            resampled onto the SHRM span (:func:`fit_rows_to_spans`), so its height is the
            predicted one; the official inference keeps the segmentation's own rows inside
            the span, which truncates a taller one but leaves a shorter one short. Off by
            default; training is unaffected.
    """

    def __init__(self, generator: dict | None = None, discriminator: dict | None = None,
                 max_height: int = 24, local_width: int = 18, loss_weights: dict | None = None,
                 edge_mask: str = "hard", use_heatmap: bool = True, use_position: bool = True,
                 neighbour_height: bool = False, fit_height: bool = False,
                 data_preprocessor: dict | None = None, init_cfg: dict | None = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.generator = HealthiVertGenerator(**(generator or {}))
        self.discriminator = TripleDiscriminator(**(discriminator or {}))
        self.sobel = Sobel()
        self.max_height, self.local_width = max_height, local_width
        self.w = {**DEFAULT_WEIGHTS, **(loss_weights or {})}
        if edge_mask not in ("hard", "soft"):
            raise ValueError(f"HealthiVertGAN: edge_mask must be 'hard' or 'soft', got "
                             f"{edge_mask!r}")
        self.edge_mask = edge_mask
        self.use_heatmap, self.use_position = bool(use_heatmap), bool(use_position)
        self.neighbour_height, self.fit_height = bool(neighbour_height), bool(fit_height)

    def generator_inputs(self, inputs: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """The attention (``1 - heat map``) and slice-position inputs after the ablation
        switches."""
        attention, ratio = inputs["attention"], inputs["slice_ratio"]
        if not self.use_heatmap:
            attention = torch.ones_like(attention)
        if not self.use_position:
            ratio = torch.zeros_like(ratio)
        return attention, ratio

    # ------------------------------------------------------------------ generation
    def generate(self, inputs: dict) -> dict:
        attention, ratio = self.generator_inputs(inputs)
        prior = None
        if self.neighbour_height:
            if "neighbour_height" not in inputs:
                raise KeyError("HealthiVertGAN(neighbour_height=True) needs "
                               "inputs['neighbour_height'] (HealthiVertPhantomDataset gives it)")
            prior = inputs["neighbour_height"] / self.max_height
        out = self.generator(inputs["masked"], inputs["mask"], attention, ratio, prior)
        out["coarse_height_px"] = out["coarse_height"] * self.max_height
        out["fine_height_px"] = out["fine_height"] * self.max_height
        vis = inputs["height"]
        for stage in ("coarse", "fine"):
            hs = [max(math.ceil(float(p)), int(v))
                  for p, v in zip(out[f"{stage}_height_px"].detach(), vis)]
            out[f"{stage}_heights"] = hs
            out[f"{stage}_composite"], out[f"{stage}_spans"] = composite(
                out[f"{stage}_image"], inputs["real"], inputs["x1"], inputs["x2"], hs)
        strip = torch.zeros_like(inputs["mask"])
        c = strip.shape[-1] // 2
        strip[..., c - self.local_width // 2:c + (self.local_width + 1) // 2] = 1
        out["local_region"] = inputs["mask"] * strip
        return out

    # ------------------------------------------------------------------ losses
    @staticmethod
    def _gan(logits: torch.Tensor, real: bool) -> torch.Tensor:
        target = torch.ones_like(logits) if real else torch.zeros_like(logits)
        return F.binary_cross_entropy_with_logits(logits, target)

    def _d_pairs(self, inputs: dict, out: dict, detach: bool):
        """``(name, real, fake)`` inputs of the three discriminators."""
        fake_ct, fake_mask = out["fine_composite"], out["fine_seg"]
        if detach:
            fake_ct, fake_mask = fake_ct.detach(), fake_mask.detach()
        local = out["local_region"]
        return [("ct", inputs["real"], fake_ct), ("mask", inputs["real_mask"], fake_mask),
                ("local", inputs["real"] * local, fake_ct * local)]

    def discriminator_losses(self, inputs: dict, out: dict) -> dict:
        # through self.discriminator (under DDP its wrapper, which averages the D gradients)
        d = self.discriminator
        return {f"loss_d_{name}": 0.5 * (self._gan(d(real, name), True) +
                                         self._gan(d(fake, name), False))
                for name, real, fake in self._d_pairs(inputs, out, detach=True)}

    def _edge_mask(self, seg: torch.Tensor) -> torch.Tensor:
        return seg if self.edge_mask == "soft" else (seg > 0.5).to(seg).detach()

    def generator_losses(self, inputs: dict, out: dict) -> dict:
        w = self.w
        # the generator step needs no discriminator gradients: call the unwrapped network, so
        # that a DDP wrapper around it does not wait for gradients that never come
        d = unwrap(self.discriminator)
        gan = sum(self._gan(d(fake, name), True)
                  for name, _, fake in self._d_pairs(inputs, out, False))
        mask = inputs["mask"]
        area = mask.numel() / mask.sum().clamp_min(1.0)
        l1 = 0.5 * (F.l1_loss(out["fine_composite"], inputs["real"]) +
                    F.l1_loss(out["coarse_composite"], inputs["real"])) * w["l1"] * area * 2
        height = inputs["height"].to(out["fine_height_px"])
        rel = ((out["coarse_height_px"] - height).abs() / height +
               (out["fine_height_px"] - height).abs() / height) * w["height"]
        return dict(
            loss_gan=gan * w["gan"], loss_l1=l1,
            loss_dice_fine=(1 - dice_coefficient(out["fine_seg"], inputs["real_mask"]))
            * w["dice_fine"],
            loss_dice_coarse=(1 - dice_coefficient(out["coarse_seg"], inputs["neighbours"]))
            * w["dice_coarse"],
            loss_edge=F.mse_loss(self.sobel(self._edge_mask(out["fine_seg"])),
                                 self.sobel(inputs["real_mask"])) * w["edge"],
            loss_height=rel.mean())

    # ------------------------------------------------------------------ mmengine API
    def train_step(self, data, optim_wrapper: OptimWrapperDict) -> dict:
        data = self.data_preprocessor(data, True)
        inputs = data["inputs"]
        g_opt, d_opt = optim_wrapper["generator"], optim_wrapper["discriminator"]
        out = self.generate(inputs)
        with d_opt.optim_context(self.discriminator):
            loss_d, log_d = self.parse_losses(self.discriminator_losses(inputs, out))
        d_opt.update_params(loss_d)
        self.discriminator.requires_grad_(False)
        try:
            with g_opt.optim_context(self.generator):
                loss_g, log_g = self.parse_losses(self.generator_losses(inputs, out))
            g_opt.update_params(loss_g)
        finally:
            self.discriminator.requires_grad_(True)
        log_g["loss_g"], log_d["loss_d"] = log_g.pop("loss"), log_d.pop("loss")
        log = {**log_g, **log_d}
        log["height_mae_px"] = (out["fine_height_px"] - inputs["height"]).abs().mean().detach()
        return log

    def forward(self, inputs: dict, data_samples: dict | None = None, mode: str = "tensor"):
        if mode == "tensor":
            return self.generate(inputs)
        if mode == "loss":
            out = self.generate(inputs)
            return {**self.generator_losses(inputs, out),
                    **self.discriminator_losses(inputs, out)}
        if mode == "predict":
            return self.predict(inputs, data_samples or {})
        raise ValueError(f"HealthiVertGAN: unknown mode {mode!r}")

    @torch.no_grad()
    def predict(self, inputs: dict, data_samples: dict) -> list[dict]:
        """Per sample: synthesised healthy mask / CT (composite), real mask, heights."""
        out = self.generate(inputs)
        if self.fit_height:
            out["fine_seg"], image = fit_rows_to_spans(out["fine_seg"], out["fine_image"],
                                                       out["fine_spans"])
            out["fine_composite"], _ = composite(image, inputs["real"], inputs["x1"],
                                                 inputs["x2"], out["fine_heights"])
        fine_mask = (out["fine_seg"] > 0.5).float()
        results = []
        for i, (top, bottom) in enumerate(out["fine_spans"]):
            syn = torch.zeros_like(fine_mask[i, 0])
            syn[top:bottom] = fine_mask[i, 0, top:bottom]
            item = dict(syn_mask=syn.bool().cpu().numpy(),
                        real_mask=inputs["real_mask"][i, 0].bool().cpu().numpy(),
                        syn_image=out["fine_composite"][i, 0].cpu().numpy(),
                        pred_height_px=float(out["fine_height_px"][i]))
            for k, v in data_samples.items():
                item[k] = v[i].cpu().numpy() if v[i].ndim else v[i].item()
            results.append(item)
        return results
