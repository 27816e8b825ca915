"""Cost of the fp32 layers that ``zoo.engine.amp.bf16_autocast`` keeps (raw-coordinate
convolutions and the classifier head) against plain bf16 autocast, for the zoo's skeleton
backbones at the NTU size (1 thread, inference, interleaved runs, process CPU time)::

    OMP_NUM_THREADS=1 nice -n 10 uv run benchmarks/amp_fp32_layers.py

Writes ``benchmarks/results/amp_fp32_layers.md``.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import torch
from mmengine.registry import init_default_scope

sys.path.insert(0, str(Path(__file__).resolve().parent))
from skeleton_speed import FRAMES, JOINTS, PERSONS, ZOO_MODELS  # noqa: E402

from zoo.engine.amp import bf16_autocast  # noqa: E402
from zoo.fileio import atomic_write_text  # noqa: E402
from zoo.registry import MODELS  # noqa: E402

RESULT = Path(__file__).resolve().parent / "results" / "amp_fp32_layers.md"


def main(batch: int = 4, repeats: int = 5) -> str:
    torch.set_num_threads(1)
    init_default_scope("zoo")
    load = os.getloadavg()[0]
    lines = ["# bf16 autocast: plain vs with the zoo's fp32 layers (inference, 1 thread, "
             f"batch {batch}, NTU size; median of {repeats} runs, process CPU s)", "",
             "Command: `OMP_NUM_THREADS=1 nice -n 10 uv run benchmarks/amp_fp32_layers.py`",
             "", "| model | plain autocast s | with fp32 layers s | ratio |",
             "|---|---:|---:|---:|"]
    for name in ZOO_MODELS:
        torch.manual_seed(0)
        model = MODELS.build(ZOO_MODELS[name]).eval()
        x = torch.randn(batch, 1, PERSONS, FRAMES, JOINTS, 3)
        seconds = {True: [], False: []}
        for r in range(repeats + 1):
            for keep in (False, True):
                start = time.process_time()
                with torch.no_grad(), bf16_autocast(model, keep_fp32=keep):
                    model(x)
                if r:
                    seconds[keep].append(time.process_time() - start)
        plain, kept = (statistics.median(seconds[k]) for k in (False, True))
        lines.append(f"| {name} | {plain:.4f} | {kept:.4f} | {kept / plain:.2f} |")
    lines += ["", f"The machine was shared with other jobs (load average {load:.1f} / "
              f"{os.getloadavg()[0]:.1f} on 2 cores)."]
    text = "\n".join(lines) + "\n"
    atomic_write_text(RESULT, text)
    return text


if __name__ == "__main__":
    print(main())
