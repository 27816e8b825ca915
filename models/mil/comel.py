"""CoMEL: Continual Multiple Instance Learning with Enhanced Localization (2025).

Paper: "Continual Multiple Instance Learning with Enhanced Localization for Histopathological
Whole Slide Image Analysis" (arXiv 2507.02395); code: github.com/Hyun1A/CoMEL (read for
facts; this is an independent implementation). Three parts:

* GDAT (:class:`GDATAttention`, :class:`GDATBlock`): Grouped Double Attention Transformer.
  The bag is zero-padded to a square grid whose side is a multiple of ``region_size`` (16),
  cut into ``region_size x region_size`` regions, and the regions are averaged position-wise
  into ``region_size**2`` agent tokens. Agents (their query projection) attend to all instance
  keys, instances then attend to the agents' key projection; a ``0.1 * V`` residual keeps
  instance identity. Cost O(N * m) with m = 256 agents instead of O(N^2).
* BPPL (:meth:`CoMEL.bppl_loss`): bag-prototype pseudo-labels. On a correctly classified
  tumour bag with confidence > ``tau1`` (0.95) the tumour prototype is the attention-pooled
  bag feature and the normal prototype the ``(1 - a)``-weighted one; each instance gets the
  softmax (temperature ``T`` = 1) of its cosine similarities to the two; instances whose
  prototype confidence exceeds ``tau2 = 0.5 (1 + tau * quality)`` (quality: running mean of
  the confidence of correct bag predictions, updated after each training batch with its bags
  in order, gathered over the ranks under DDP) are pseudo-labelled, and the NLL of the min-max
  scaled attention ``[1 - p, p]`` against those labels, times the kept fraction, is added.
* OWLoRA (:mod:`zoo.models.mil.owlora`): for every task after the first, each Linear except
  the classifier gets a new weighted LoRA (rank ``r``, ``3r`` for qkv) orthogonal to the
  previous ones; base weights are frozen; orthogonality penalty weight ``lambda_ortho`` (1).

Defaults follow the CoMEL code (``CDATMIL``): Linear(D -> 512) + ReLU, dropout 0.25, 2 blocks
x 8 heads, MLP ratio 4, LayerNorm eps 1e-6, ungated ReLU attention pooling, linear classifier;
instance scores are min-max scaled attention. Choices made here: padded grid positions are
masked out as keys (upstream lets the zero padding take attention mass) but, as upstream, they
count in the agent averages; min-max scaling divides by ``max - min`` (upstream divides by
``max``); the running quality is an exponential average (momentum ``quality_momentum``) since a
model does not see epoch ends.
"""
from __future__ import annotations

import math

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from zoo.registry import MODELS

from .abmil import GatedAttentionPool
from .base import BaseMIL, minmax
from .owlora import OWLoRALinear, convert_to_owlora


class GDATAttention(nn.Module):
    """Grouped double attention over a bag ``[N, C]`` through ``region_size**2`` agent tokens."""

    def __init__(self, dim: int, num_heads: int = 8, region_size: int = 16, qkv_bias: bool = True,
                 attn_drop: float = 0.0, proj_drop: float = 0.0, residual_v: float = 0.1):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} must be divisible by num_heads {num_heads}")
        self.dim, self.num_heads, self.region_size = dim, num_heads, region_size
        self.scale = (dim // num_heads) ** -0.5
        self.residual_v = residual_v
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.attn_drop, self.proj_drop = nn.Dropout(attn_drop), nn.Dropout(proj_drop)
        self.an_bias = nn.Parameter(torch.randn(num_heads, 1, 1) * 0.02)  # agent -> instance
        self.na_bias = nn.Parameter(torch.randn(num_heads, 1, 1) * 0.02)  # instance -> agent

    def agents(self, x: torch.Tensor) -> torch.Tensor:
        """Pad ``[N, C]`` to a square grid (side a multiple of ``region_size``) and average the
        regions position-wise -> ``[region_size**2, C]``."""
        n, c = x.shape
        side = math.ceil(math.sqrt(n))
        side += -side % self.region_size
        grid = torch.cat([x, x.new_zeros(side * side - n, c)]).view(side, side, c)
        r = self.region_size
        regions = grid.view(side // r, r, side // r, r, c).permute(0, 2, 1, 3, 4)
        return regions.reshape(-1, r * r, c).mean(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape
        h, d = self.num_heads, c // self.num_heads
        q, k, v = self.qkv(x).view(n, 3, h, d).permute(1, 2, 0, 3)  # each [h, n, d]
        a_q, a_k, _ = self.qkv(self.agents(x)).view(-1, 3, h, d).permute(1, 2, 0, 3)
        agent_attn = ((a_q * self.scale) @ k.transpose(1, 2) + self.an_bias).softmax(-1)
        agent_v = self.attn_drop(agent_attn) @ v  # [h, m, d]
        inst_attn = ((q * self.scale) @ a_k.transpose(1, 2) + self.na_bias).softmax(-1)
        out = self.attn_drop(inst_attn) @ agent_v + self.residual_v * v  # [h, n, d]
        return self.proj_drop(self.proj(out.transpose(0, 1).reshape(n, c)))


class GDATBlock(nn.Module):
    """Pre-norm transformer block: ``x + GDAT(LN(x))``, then ``x + MLP(LN(x))``."""

    def __init__(self, dim: int, num_heads: int = 8, region_size: int = 16,
                 mlp_ratio: float = 4.0, drop: float = 0.1):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = GDATAttention(dim, num_heads, region_size, proj_drop=drop)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(drop),
                                 nn.Linear(hidden, dim), nn.Dropout(drop))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


@MODELS.register_module()
class CoMEL(BaseMIL):
    """CoMEL bag classifier (GDAT encoder + attention pooling) with BPPL and OWLoRA.

    Args:
        in_dim / embed_dim / num_layers / num_heads / region_size: GDAT encoder sizes.
        bppl_weight: weight of the BPPL instance loss (0 disables it).
        tau1, tau, temperature: BPPL thresholds (bag confidence, quality scale) and softmax T.
        tumour_classes: classes whose bags give pseudo-labels (default: every class but 0).
        owlora: convert the Linears for continual learning (call :meth:`start_task`).
        lora_rank: rank of each task's adapters (qkv layers get 3x).
        lambda_ortho: weight of the OWLoRA orthogonality penalty.
    """

    def __init__(self, in_dim: int = 1024, embed_dim: int = 512, num_classes: int = 2,
                 num_layers: int = 2, num_heads: int = 8, region_size: int = 16,
                 mlp_ratio: float = 4.0, dropout: float = 0.25, trans_dropout: float = 0.1,
                 attn_dim: int = 128, bppl_weight: float = 1.0, tau1: float = 0.95,
                 tau: float = 1.0, temperature: float = 1.0,
                 tumour_classes: tuple[int, ...] | None = None, bppl_warmup_iters: int = 0,
                 quality_momentum: float = 0.95, owlora: bool = False, lora_rank: int = 8,
                 lambda_ortho: float = 1.0, truncate_energy: float | None = None,
                 data_preprocessor: dict | None = None, init_cfg: dict | None = None):
        super().__init__(data_preprocessor, init_cfg)
        self.embed = nn.Sequential(nn.Linear(in_dim, embed_dim), nn.ReLU(), nn.Dropout(dropout))
        self.blocks = nn.ModuleList(GDATBlock(embed_dim, num_heads, region_size, mlp_ratio,
                                              trans_dropout) for _ in range(num_layers))
        self.pool = GatedAttentionPool(embed_dim, attn_dim, gated=False, act="relu")
        self.classifier = nn.Linear(embed_dim, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self.bppl_weight, self.tau1 = bppl_weight, tau1
        self.tau, self.temperature = tau, temperature
        self.tumour_classes = tumour_classes
        self.bppl_warmup_iters, self.quality_momentum = bppl_warmup_iters, quality_momentum
        self.register_buffer("quality", torch.zeros(()))
        self.register_buffer("iters", torch.zeros((), dtype=torch.long))
        self.lora_rank, self.lambda_ortho, self.truncate_energy = (lora_rank, lambda_ortho,
                                                                   truncate_energy)
        self.task = 0
        self.owlora_layers = convert_to_owlora(self) if owlora else []

    @property
    def num_classes(self) -> int:
        return self.classifier.out_features

    def forward_bag(self, x: torch.Tensor) -> dict:
        h = self.embed(x)
        for block in self.blocks:
            h = block(h)
        z, a = self.pool(h)
        return dict(logits=self.classifier(z), attention=a, bag_feature=z, inst_feature=h)

    # --- BPPL -----------------------------------------------------------------------------
    @property
    def tau2(self) -> float:
        return 0.5 * (1 + self.tau * float(self.quality))

    def bppl_loss(self, out: dict, label: torch.Tensor) -> torch.Tensor:
        """Bag-prototype pseudo-label loss of one bag (0 when the bag does not qualify)."""
        prob = out["logits"].detach().softmax(-1)
        conf, pred = prob.max(-1)
        correct = bool(pred == label)
        tumour = int(label) != 0 if self.tumour_classes is None \
            else int(label) in self.tumour_classes
        zero = out["logits"].sum() * 0.0
        if not (tumour and correct and conf > self.tau1) or self.iters < self.bppl_warmup_iters:
            return zero
        a, inst = out["attention"], out["inst_feature"]
        with torch.no_grad():
            rev = (1 - a) / (1 - a).sum()
            protos = torch.stack([rev @ inst, out["bag_feature"]])  # [normal, tumour]
            sim = F.normalize(inst, dim=-1) @ F.normalize(protos, dim=-1).T
            disc_val, disc_pred = (sim / self.temperature).softmax(-1).max(-1)
            keep = disc_val > self.tau2
        if not keep.any():
            return zero
        p = minmax(a)
        log_probs = torch.log(torch.stack([1 - p, p], -1)[keep] + 1e-10)
        return keep.float().mean() * F.nll_loss(log_probs, disc_pred[keep])

    @torch.no_grad()
    def after_bags(self, outs: list[dict], labels: torch.Tensor) -> None:
        """Update the running quality with every bag of the step, in the order of one process
        with the whole (global) batch: under distributed training the bags of all ranks are
        gathered (rank ``r``'s ``k``-th bag is global bag ``k * world + r``, the order of
        mmengine's ``DefaultSampler``), so every rank keeps the same quality and bag count."""
        if self.bppl_weight <= 0:
            return
        probs = torch.stack([o["logits"].detach().float().softmax(-1) for o in outs])
        conf, pred = probs.max(-1)
        scores = conf * (pred == labels.to(pred.device)).float()
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            parts = [torch.empty_like(scores) for _ in range(dist.get_world_size())]
            dist.all_gather(parts, scores.contiguous())
            scores = torch.stack(parts, dim=1).flatten()
        m = self.quality_momentum
        for score in scores:
            self.quality.mul_(m).add_((1 - m) * score)
        self.iters += len(scores)

    def extra_losses(self, out: dict, label: torch.Tensor, sample) -> dict:
        losses = {}
        if self.bppl_weight > 0:
            losses["loss_bppl"] = self.bppl_weight * self.bppl_loss(out, label)
        if self.task > 0 and self.lambda_ortho > 0:
            losses["loss_ortho"] = self.lambda_ortho * self.orthogonality_penalty()
        return losses

    # --- OWLoRA ---------------------------------------------------------------------------
    def _owlora_modules(self) -> list[OWLoRALinear]:
        return [m for m in self.modules() if isinstance(m, OWLoRALinear)]

    def orthogonality_penalty(self) -> torch.Tensor:
        terms = [m.adapters[-1].orthogonality_penalty() for m in self._owlora_modules()
                 if len(m.adapters)]
        return torch.stack(terms).sum() if terms else self.classifier.weight.sum() * 0.0

    def start_task(self, task: int, num_classes: int | None = None) -> None:
        """Prepare task ``task`` (0-based): from task 1 on, add one adapter per OWLoRA layer,
        freeze everything else except the classifier; optionally grow the classifier."""
        if task > 0 and not self.owlora_layers:
            raise RuntimeError("CoMEL.start_task(k > 0) needs owlora=True")
        if num_classes is not None and num_classes > self.num_classes:
            old = self.classifier
            new = nn.Linear(old.in_features, num_classes).to(old.weight.device)
            with torch.no_grad():
                new.weight[: old.out_features] = old.weight
                new.bias[: old.out_features] = old.bias
            self.classifier = new
        while self.task < task:
            self.task += 1
            for m in self._owlora_modules():
                if self.task == 1 and self.truncate_energy:
                    m.truncate_base(self.truncate_energy)
                rank = 3 * self.lora_rank if m.out_features == 3 * m.in_features \
                    else self.lora_rank
                m.add_adapter(rank)
        if self.task > 0:
            for name, p in self.named_parameters():
                own = f".adapters.{self.task - 1}." in name
                p.requires_grad_(name.startswith("classifier.") or own)

    def after_backward(self) -> None:
        """OWLoRA: project the new adapters' gradients away from the earlier adapters."""
        if self.task > 0:
            for m in self._owlora_modules():
                m.project_gradients()

    def after_optimizer_step(self) -> None:
        """OWLoRA: re-project the new adapters' weights (Adam does not keep projections)."""
        if self.task > 0:
            for m in self._owlora_modules():
                m.project_weights()

    def train_step(self, data, optim_wrapper) -> dict:
        """mmengine step with OWLoRA's gradient projection and weight re-projection (the
        same hooks run under ``zoo.ZooDistributedDataParallel``, after the gradients are
        averaged; call :meth:`start_task` before wrapping the model)."""
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            losses = self._run_forward(data, mode="loss")
        parsed, log_vars = self.parse_losses(losses)
        optim_wrapper.backward(optim_wrapper.scale_loss(parsed))
        self.after_backward()
        if optim_wrapper.should_update():
            optim_wrapper.step()
            optim_wrapper.zero_grad()
            self.after_optimizer_step()
        return log_vars
