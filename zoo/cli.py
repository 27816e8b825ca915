"""The ``zoo`` command: browse the pretrained index, download and verify checkpoints.

    zoo list [PATTERN]          entries (wildcards or substring), with task, dataset, metric
    zoo info NAME [--json]      everything about one entry, incl. its cache path and model card
    zoo info PATH.pth [--json]  the model card stored in a checkpoint by tools/train.py
    zoo download NAME [--sha256 HEX] [--trust-on-first-use] [--safetensors] [--retries N]
    zoo verify [--delete]       re-hash the whole cache; exit status 1 if a file is bad
    zoo forget NAME|URL         remove a cached file and its pinned digest

Errors are printed as one line (``zoo: error: ...``) with exit status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from zoo.hub.download import DownloadError, RetryPolicy, cache_dir, checkpoints_dir, verify_cache
from zoo.hub.index import list_entries


def _metric_text(metric: dict | None) -> str:
    if not metric:
        return "-"
    return " ".join(f"{k}={v}" for k, v in metric.items())


def _cmd_list(args: argparse.Namespace) -> int:
    entries = list_entries(args.pattern)
    if not entries:
        print(f"no pretrained model matches {args.pattern!r}")
        return 1
    rows = [("NAME", "TASK", "DATASET", "METRIC", "HASH")]
    for e in entries:
        hash_text = "manual" if e.manual else (e.sha256 or "none")
        rows.append((e.name, e.task, e.dataset, _metric_text(e.metric), hash_text))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from zoo.model_card import print_card

    if os.path.isfile(args.name) or args.name.endswith((".pth", ".pt")):
        from zoo.model_card import checkpoint_card

        if not os.path.isfile(args.name):
            raise FileNotFoundError(f"checkpoint file {args.name} does not exist")
        info = checkpoint_card(args.name)
        if args.json:
            print(json.dumps(info, indent=2, default=str))
        else:
            print_card(info)
        return 0
    from zoo.hub.api import model_info

    info = model_info(args.name)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    card = info.pop("card", None)
    width = max(len(k) for k in info)
    for key, value in info.items():
        if isinstance(value, (list, tuple)):
            value = "\n".join([str(value[0])] + [" " * (width + 2) + str(v) for v in value[1:]]) \
                if value else "-"
        elif isinstance(value, dict):
            value = _metric_text(value)
        print(f"{key.ljust(width)}  {value if value not in (None, '') else '-'}")
    if card:
        print("\nmodel card")
        print_card(card)
    return 0


def _cmd_download(args: argparse.Namespace) -> int:
    from zoo.hub.api import download_model

    policy = RetryPolicy(retries=args.retries, backoff=args.backoff)
    path = download_model(args.name, sha256=args.sha256,
                          trust_on_first_use=True if args.trust_on_first_use else None,
                          safetensors=args.safetensors, policy=policy)
    print(path)
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from zoo.hub.index import MODEL_INDEX

    expected = {}
    for entry in MODEL_INDEX.values():
        if entry.sha256:
            expected[checkpoints_dir() / entry.cache_filename] = entry.sha256
        if entry.safetensors_url and entry.safetensors_sha256:
            expected[checkpoints_dir() / entry.safetensors_filename] = entry.safetensors_sha256
    report = verify_cache(delete_bad=args.delete, expected_by_path=expected)
    print(f"cache: {cache_dir()}")
    for label, items in (("OK", report.ok), ("BAD", report.bad),
                         ("UNVERIFIED", report.unverified), ("PARTIAL", report.partial),
                         ("MISSING", report.missing)):
        for path, detail in items:
            suffix = " (deleted)" if label == "BAD" and args.delete else ""
            print(f"{label:<10} {path}: {detail}{suffix}")
    print(f"{len(report.ok)} ok, {len(report.bad)} bad, {len(report.unverified)} unverified, "
          f"{len(report.partial)} partial")
    return 1 if report.bad else 0


def _cmd_forget(args: argparse.Namespace) -> int:
    from zoo.hub.api import forget_model

    removed = forget_model(args.name)
    for item in removed:
        print(f"removed {item}")
    if not removed:
        print(f"nothing cached for {args.name!r}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zoo", description="vszoo pretrained-model hub")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list pretrained checkpoints")
    p.add_argument("pattern", nargs="?", default=None, help="wildcards or a substring")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("info", help="show one index entry or a checkpoint's model card")
    p.add_argument("name", help="index entry, or a checkpoint file written by tools/train.py")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("download", help="download and verify a checkpoint into the cache")
    p.add_argument("name")
    p.add_argument("--sha256", default=None, help="expected sha256 (full or prefix)")
    p.add_argument("--trust-on-first-use", action="store_true",
                   help="accept a source without a published hash and pin this digest")
    p.add_argument("--safetensors", action="store_true", help="fetch the safetensors copy")
    p.add_argument("--retries", type=int, default=4)
    p.add_argument("--backoff", type=float, default=1.0, help="first retry delay (s), doubled")
    p.set_defaults(func=_cmd_download)

    p = sub.add_parser("verify", help="re-hash every cached file and report bad ones")
    p.add_argument("--delete", action="store_true", help="delete the bad files")
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("forget", help="remove a cached checkpoint and its pinned digest")
    p.add_argument("name", help="index entry (both copies) or a URL downloaded before")
    p.set_defaults(func=_cmd_forget)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (KeyError, ValueError, OSError, DownloadError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"zoo: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
