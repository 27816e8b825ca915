"""Train the no-box attacker's motion manifold (sequence autoencoder + k-means centres).

The attacker's data are the unlabelled skeletons of a config's dataset split (labels are not
read); nothing of the victim model is used.

Example: ``uv run tools/train_attack_manifold.py configs/skeleton/stgcn_msr3d_xsub.py
--split train --out work_dirs/attacks/msr_manifold.pth``
"""
from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train the motion manifold of the no-box attack")
    parser.add_argument("config", help="config whose test pipeline and dataset give the data")
    parser.add_argument("--out", required=True, help="output .pth (autoencoder + centres)")
    parser.add_argument("--split", default="train", help="dataset split the attacker owns")
    parser.add_argument("--num-clips", type=int, default=5,
                        help="clips sampled per sequence (more training sequences)")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--latent", type=int, default=64)
    parser.add_argument("--clusters", type=int, default=20,
                        help="k-means centres of the latent codes (official: #classes)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    from zoo.attacks.evaluate import config_layout, load_split
    from zoo.attacks.manifold import SequenceAutoencoder, kmeans, save_manifold, train_autoencoder
    from zoo.runner_utils import load_config

    torch.manual_seed(args.seed)
    cfg = load_config(args.config)
    x, _ = load_split(cfg, args.split, num_clips=args.num_clips)
    seqs = x.reshape(-1, *x.shape[-3:])
    seqs = seqs[seqs.abs().flatten(1).sum(1) > 0]  # drop absent persons
    model = SequenceAutoencoder(seqs.shape[-2], seqs.shape[-1], args.hidden, args.latent)
    history = train_autoencoder(model, seqs, epochs=args.epochs, seed=args.seed)
    with torch.no_grad():
        codes = torch.cat([F.normalize(model.encode(b), dim=-1) for b in seqs.split(256)])
        recon = torch.cat([model(b) for b in seqs.split(256)])
    centres = kmeans(codes, args.clusters, seed=args.seed)
    mse = float(F.mse_loss(recon, seqs))
    variance = float(seqs.var(dim=0).mean())
    meta = dict(config=args.config, split=args.split, layout=config_layout(cfg),
                num_sequences=len(seqs), epochs=args.epochs, final_mse=mse,
                data_variance=variance, loss_history=history)
    save_manifold(args.out, model, centres, meta)
    print(f"Manifold: {len(seqs)} sequences, reconstruction MSE {mse:.5f} "
          f"(per-coordinate variance of the data {variance:.5f}) -> {args.out}", flush=True)
    return meta


if __name__ == "__main__":
    main()
