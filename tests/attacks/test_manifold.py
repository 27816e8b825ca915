"""The no-box attacker's motion manifold: the autoencoder reconstructs, the attack raises the
manifold loss without any victim."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.attacks import (
    SMIFGSM,
    ManifoldLoss,
    SequenceAutoencoder,
    load_manifold,
    save_manifold,
    train_autoencoder,
)
from zoo.attacks.manifold import kmeans


def _trained_autoencoder(x: torch.Tensor) -> SequenceAutoencoder:
    torch.manual_seed(0)
    ae = SequenceAutoencoder(25, 3, hidden=64, latent=32)
    train_autoencoder(ae, x, epochs=40, batch_size=16, lr=5e-3, progress=False)
    return ae


def test_autoencoder_reconstructs(synthetic_data):
    (x, _), (xt, _) = synthetic_data
    seqs = x[:, 0, 0]
    ae = _trained_autoencoder(seqs)
    with torch.no_grad():
        mse = F.mse_loss(ae(seqs), seqs)
        test_mse = F.mse_loss(ae(xt[:, 0, 0]), xt[:, 0, 0])
    variance = seqs.var(dim=0).mean()  # error of predicting the mean sequence
    assert mse < 0.3 * variance, (float(mse), float(variance))
    assert test_mse < 0.5 * variance, (float(test_mse), float(variance))


def test_nobox_attack_raises_manifold_loss(synthetic_data, tmp_path):
    (x, _), (xt, _) = synthetic_data
    ae = _trained_autoencoder(x[:, 0, 0])
    with torch.no_grad():
        codes = F.normalize(ae.encode(x[:, 0, 0]), dim=-1)
    save_manifold(str(tmp_path / "m.pth"), ae, kmeans(codes, 4))
    manifold = load_manifold(str(tmp_path / "m.pth"), drop_nearest=1)
    assert isinstance(manifold, ManifoldLoss)
    attack = SMIFGSM(eps=0.05, steps=5, manifold=manifold)
    x_adv = attack(None, xt, None)  # no victim, no labels
    assert float((x_adv - xt).abs().max()) <= 0.05 + 1e-6
    with torch.no_grad():
        assert manifold(x_adv, xt) > manifold(xt, xt) + 0.02
        # the attacked codes moved away from their own clean codes
        own = (manifold.codes(x_adv) * manifold.codes(xt)).sum(-1)
    assert float(own.mean()) < 0.999
