"""Compare configs as mmengine resolves them (bases merged) between a git revision and the
working tree: ``uv run python tools/analysis/config_diff.py --rev main configs/skeleton/*.py``.

Prints every key path whose value differs (or exists on one side only) and exits with 1 when
any config differs; use it to show that a refactor of ``_base_`` files changes nothing.
"""
from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]


def resolved(path: Path) -> dict:
    return Config.fromfile(str(path)).to_dict()


def differences(old, new, prefix: str = "") -> list[str]:
    """Key paths where ``old`` and ``new`` differ (lists compared item by item)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in new:
                out.append(f"{where}: only in the old config ({old[key]!r})")
            elif key not in old:
                out.append(f"{where}: only in the new config ({new[key]!r})")
            else:
                out += differences(old[key], new[key], where)
        return out
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
        if len(old) != len(new):
            return [f"{prefix}: {len(old)} items -> {len(new)} items ({old!r} -> {new!r})"]
        return [d for i, (a, b) in enumerate(zip(old, new))
                for d in differences(a, b, f"{prefix}[{i}]")]
    return [] if old == new else [f"{prefix}: {old!r} -> {new!r}"]


def export_configs(rev: str, into: Path) -> None:
    """Write the ``configs/`` tree of ``rev`` under ``into``."""
    data = subprocess.run(["git", "archive", rev, "configs"], cwd=REPO, check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="+", help="config files (paths in the repository)")
    parser.add_argument("--rev", default="HEAD", help="git revision to compare against")
    args = parser.parse_args(argv)
    changed = 0
    with tempfile.TemporaryDirectory() as tmp:
        export_configs(args.rev, Path(tmp))
        for name in args.configs:
            rel = Path(name).resolve().relative_to(REPO)
            old_path = Path(tmp) / rel
            if not old_path.is_file():
                print(f"{rel}: not in {args.rev}")
                changed += 1
                continue
            diff = differences(resolved(old_path), resolved(REPO / rel))
            print(f"{rel}: {'identical' if not diff else f'{len(diff)} difference(s)'}")
            for line in diff:
                print(f"    {line}")
            changed += bool(diff)
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
