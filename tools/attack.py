"""Attack a trained skeleton recogniser and report how robust it is.

Settings: white-box (adversarial examples crafted on the victim), transfer (crafted on
``--surrogate-config/--surrogate-checkpoint``, evaluated on the victim) and no-box
(``--manifold``: crafted on the attacker's motion manifold, no model at all).

Writes ``DIR/report.json`` (accuracies, success rate, perturbation l2/l-inf, bone-length and
acceleration deviation) and ``DIR/sequence.png`` (one original and attacked sequence).

Example: ``uv run tools/attack.py configs/skeleton/stgcn_msr3d_xsub.py --checkpoint
work_dirs/stgcn_msr3d_xsub/epoch_60.pth --attack PGD --eps 0.02 --keep-bones --out
work_dirs/attacks/pgd``
"""
from __future__ import annotations

import argparse
import json
import os.path as osp

import torch


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Adversarial attack on a skeleton recogniser")
    parser.add_argument("config", help="victim config")
    parser.add_argument("--checkpoint", required=True, help="victim checkpoint")
    parser.add_argument("--attack", required=True,
                        help="ATTACKS name: FGSM, IFGSM, PGD, MIFGSM, SMIFGSM")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--surrogate-config", help="transfer: craft on this model instead")
    parser.add_argument("--surrogate-checkpoint")
    parser.add_argument("--manifold", help="no-box: manifold from tools/train_attack_manifold.py")
    parser.add_argument("--eps", type=float, default=0.02, help="l-inf budget (input units)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--keep-bones", action="store_true", help="keep bone lengths")
    parser.add_argument("--max-accel", type=float, help="bound on the change of acceleration")
    parser.add_argument("--num-samples", type=int, help="evenly spaced subset of the test set")
    parser.add_argument("--num-clips", type=int, default=1, help="test clips per sample")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for flag, value in (("--num-samples", args.num_samples), ("--num-clips", args.num_clips),
                        ("--batch-size", args.batch_size), ("--steps", args.steps)):
        if value is not None and value < 1:
            parser.error(f"{flag} must be a positive integer, got {value}")
    if args.eps < 0:
        parser.error(f"--eps must be >= 0, got {args.eps}")
    if bool(args.surrogate_config) != bool(args.surrogate_checkpoint):
        parser.error("--surrogate-config and --surrogate-checkpoint go together")
    if args.manifold and args.surrogate_config:
        parser.error("--manifold (no-box) and --surrogate-config (transfer) exclude each other")
    return args


def build_attack(name: str, eps: float, steps: int, layout: str, keep_bones: bool = False,
                 max_accel: float | None = None, manifold=None, seed: int = 0):
    """An attack of the ATTACKS registry with the benchmark's options."""
    from zoo.registry import ATTACKS

    cfg = dict(type=name, eps=eps, layout=layout, keep_bones=keep_bones, max_accel=max_accel,
               manifold=manifold, seed=seed)
    if name != "FGSM":
        cfg["steps"] = steps
    return ATTACKS.build(cfg)


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    from zoo.attacks.evaluate import config_layout, craft, load_model, load_split, report
    from zoo.attacks.manifold import load_manifold
    from zoo.attacks.plot import plot_attacked_sequence
    from zoo.fileio import atomic_write_bytes

    victim, cfg = load_model(args.config, args.checkpoint)
    layout = config_layout(cfg)
    x, y = load_split(cfg, "test", args.num_clips, args.num_samples)
    setting, source = "white-box", victim
    if args.surrogate_config:
        setting = "transfer"
        source, _ = load_model(args.surrogate_config, args.surrogate_checkpoint)
    manifold = None
    if args.manifold:
        setting, source = "no-box", None
        manifold = load_manifold(args.manifold)
    attack = build_attack(args.attack, args.eps, args.steps, layout, args.keep_bones,
                          args.max_accel, manifold, args.seed)
    x_adv = craft(attack, source, x, y, args.batch_size)
    result = dict(config=args.config, checkpoint=args.checkpoint, attack=args.attack,
                  setting=setting, eps=args.eps, steps=args.steps, keep_bones=args.keep_bones,
                  max_accel=args.max_accel, num_clips=args.num_clips, layout=layout,
                  surrogate_config=args.surrogate_config,
                  surrogate_checkpoint=args.surrogate_checkpoint, manifold=args.manifold)
    result.update(report(victim, x, x_adv, y, layout))
    if source is not None and source is not victim:
        result["surrogate_white_box"] = report(source, x, x_adv, y, layout)
    atomic_write_bytes(osp.join(args.out, "report.json"),
                       json.dumps(result, indent=2).encode())
    from zoo.attacks.evaluate import predict

    flipped = (predict(victim, x_adv) != y).nonzero().flatten()
    k = int(flipped[0]) if len(flipped) else 0
    plot_attacked_sequence(x[k, 0, 0].numpy(), x_adv[k, 0, 0].numpy(), layout,
                           osp.join(args.out, "sequence.png"),
                           title=f"{args.attack} ({setting}), sample {k}, label {int(y[k])}")
    print(f"{args.attack} {setting}: clean {result['clean_acc']:.1f}%  adversarial "
          f"{result['adv_acc']:.1f}%  success {result['success_rate']:.1f}%  "
          f"l-inf {result['linf']:.4f}  bone dev {result['bone_dev_max']:.2e} -> {args.out}",
          flush=True)
    return result


if __name__ == "__main__":
    main()
