"""Motion manifold of the no-box attack: a sequence autoencoder and the adversarial loss on
its latent space (after Lu et al., ICCV 2023, see :mod:`zoo.attacks.smi`).

The attacker owns skeleton sequences but no victim model and no labels. It learns a motion
manifold from its data — here a GRU sequence autoencoder (the official code uses an encoder
pretrained with inter-skeleton contrastive learning instead; the loss below only needs an
encoder) — and attacks in that space. The adversarial loss follows the official code: with
``z`` the l2-normalised latent code,

    L(x') = CE( [cos(z(x'), z(x)), cos(z(x'), z(x_j))_{j != i}, cos(z(x'), c_k)_{k in far}] / tau,
                target = 0 )

where ``x_j`` are the other clean sequences of the batch and ``c_k`` the k-means centres of the
attacker's latent codes except the ``drop_nearest`` closest to ``z(x)``. Maximising it pushes
the attacked sequence away from its own clean code, towards other motions.
"""
from __future__ import annotations

import io
import math
import os

import torch
import torch.nn.functional as F
from torch import nn

from zoo.checkpoint import safe_torch_load
from zoo.fileio import atomic_write_bytes


class SequenceAutoencoder(nn.Module):
    """GRU sequence autoencoder of skeleton clips ``[B, T, V, C]``.

    Encoder: a bidirectional GRU over frames (each frame the flattened joints), its two last
    hidden states mapped to a ``latent``-d code. Decoder: a GRU fed the code at every frame
    (plus the frame's relative time), a linear layer back to joint coordinates.
    """

    def __init__(self, num_joints: int, channels: int = 3, hidden: int = 128,
                 latent: int = 64):
        super().__init__()
        self.num_joints, self.channels = num_joints, channels
        self.hidden, self.latent = hidden, latent
        size = num_joints * channels
        self.encoder = nn.GRU(size, hidden, batch_first=True, bidirectional=True)
        self.to_latent = nn.Linear(2 * hidden, latent)
        self.decoder = nn.GRU(latent + 1, hidden, batch_first=True)
        self.to_joints = nn.Linear(hidden, size)

    def config(self) -> dict:
        return dict(num_joints=self.num_joints, channels=self.channels, hidden=self.hidden,
                    latent=self.latent)

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() < 3 or tuple(x.shape[-2:]) != (self.num_joints, self.channels):
            raise ValueError(f"autoencoder expects [..., T, {self.num_joints}, "
                             f"{self.channels}] joints, got {tuple(x.shape)}")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent codes ``[..., latent]`` of sequences ``[..., T, V, C]``."""
        self._check(x)
        lead, frames = x.shape[:-3], x.shape[-3]
        flat = x.reshape(-1, frames, self.num_joints * self.channels)
        _, h = self.encoder(flat)  # [2, B, hidden]
        z = self.to_latent(torch.cat([h[0], h[1]], -1))
        return z.reshape(*lead, self.latent)

    def decode(self, z: torch.Tensor, frames: int) -> torch.Tensor:
        lead = z.shape[:-1]
        z = z.reshape(-1, self.latent)
        time = torch.linspace(0, 1, frames, device=z.device, dtype=z.dtype)
        inp = torch.cat([z[:, None].expand(-1, frames, -1),
                         time[None, :, None].expand(z.shape[0], -1, -1)], -1)
        out, _ = self.decoder(inp)
        return self.to_joints(out).reshape(*lead, frames, self.num_joints, self.channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x), x.shape[-3])


def train_autoencoder(model: SequenceAutoencoder, sequences: torch.Tensor, epochs: int = 30,
                      batch_size: int = 64, lr: float = 2e-3, seed: int = 0,
                      progress: bool = True) -> list[float]:
    """Fit ``model`` to reconstruct ``sequences`` ``[S, T, V, C]`` (mean squared error).

    Returns the mean training loss of every epoch.
    """
    from tqdm import tqdm

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    history = []
    model.train()
    for _ in tqdm(range(epochs), desc="autoencoder", disable=not progress):
        order = torch.randperm(len(sequences), generator=gen)
        total = 0.0
        for idx in order.split(batch_size):
            batch = sequences[idx]
            loss = F.mse_loss(model(batch), batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        history.append(total / len(sequences))
    model.eval()
    return history


@torch.no_grad()
def kmeans(points: torch.Tensor, k: int, iters: int = 50, seed: int = 0) -> torch.Tensor:
    """Plain Lloyd k-means with k-means++ seeding; returns ``[k, D]`` centres."""
    if len(points) < k:
        raise ValueError(f"k-means needs at least k={k} points, got {len(points)}")
    gen = torch.Generator().manual_seed(seed)
    centres = points[torch.randint(len(points), (1,), generator=gen)]
    while len(centres) < k:
        d2 = torch.cdist(points, centres).amin(1) ** 2
        probs = d2 / d2.sum() if d2.sum() > 0 else torch.full_like(d2, 1 / len(d2))
        centres = torch.cat([centres, points[torch.multinomial(probs, 1, generator=gen)]])
    for _ in range(iters):
        assign = torch.cdist(points, centres).argmin(1)
        new = torch.stack([points[assign == j].mean(0) if (assign == j).any() else centres[j]
                           for j in range(k)])
        if torch.allclose(new, centres):
            break
        centres = new
    return centres


class ManifoldLoss(nn.Module):
    """Adversarial loss on the autoencoder's latent manifold (see the module docstring).

    Args:
        autoencoder: the attacker's :class:`SequenceAutoencoder` (frozen).
        centres: k-means centres ``[K, latent]`` of the attacker's l2-normalised codes.
        drop_nearest: how many centres closest to the clean code are left out (official: 10
            of 120 for NTU-60).
        tau: temperature of the cosine logits (official: 1).
    """

    def __init__(self, autoencoder: SequenceAutoencoder, centres: torch.Tensor,
                 drop_nearest: int = 2, tau: float = 1.0):
        super().__init__()
        if drop_nearest >= len(centres):
            raise ValueError(f"drop_nearest={drop_nearest} leaves no centre of {len(centres)}")
        self.autoencoder = autoencoder.eval().requires_grad_(False)
        self.register_buffer("centres", F.normalize(centres.float(), dim=-1))
        self.drop_nearest = drop_nearest
        self.tau = tau

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """One normalised code per sample of ``[N, ..., T, V, C]`` (mean over clips/persons)."""
        z = self.autoencoder.encode(x)
        return F.normalize(z.reshape(x.shape[0], -1, z.shape[-1]).mean(1), dim=-1)

    def forward(self, x_adv: torch.Tensor, x_clean: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            clean = self.codes(x_clean)  # [N, D]
        adv = self.codes(x_adv)
        n = len(clean)
        far = (clean @ self.centres.T).argsort(1, descending=True)[:, self.drop_nearest:]
        centres = self.centres[far]  # [N, K', D]
        others = torch.stack([torch.cat([clean[i:i + 1], clean[:i], clean[i + 1:]])
                              for i in range(n)])  # [N, N, D], own code first
        candidates = torch.cat([others, centres], 1)
        logits = (candidates @ adv[:, :, None]).squeeze(-1) / self.tau
        target = torch.zeros(n, dtype=torch.long, device=x_adv.device)
        return F.cross_entropy(logits, target)


def save_manifold(path: str, autoencoder: SequenceAutoencoder, centres: torch.Tensor,
                  meta: dict | None = None) -> None:
    """Write the autoencoder weights, its config and the k-means centres (atomically)."""
    payload = dict(state_dict=autoencoder.state_dict(), config=autoencoder.config(),
                   centres=centres.detach().cpu(), meta=dict(meta or {}))
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_manifold(path: str, drop_nearest: int | None = None, tau: float = 1.0
                  ) -> ManifoldLoss:
    """Build the :class:`ManifoldLoss` saved by :func:`save_manifold` (or
    ``tools/train_attack_manifold.py``)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"manifold checkpoint {path} does not exist")
    payload = safe_torch_load(path)
    for key in ("state_dict", "config", "centres"):
        if key not in payload:
            raise KeyError(f"{path}: manifold checkpoint has no {key!r}")
    ae = SequenceAutoencoder(**payload["config"])
    ae.load_state_dict(payload["state_dict"])
    centres = payload["centres"]
    if drop_nearest is None:
        drop_nearest = max(1, math.ceil(len(centres) / 12))  # official: 10 of 120
    return ManifoldLoss(ae, centres, drop_nearest, tau)
