"""Helpers of the multi-process tests: free ports and gloo worker processes."""
from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import torch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _entry(rank: int, world: int, port: int, fn, args: tuple, out_dir: str) -> None:
    import torch.distributed as dist

    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    try:
        result = fn(*args)
        torch.save(result, Path(out_dir) / f"rank{rank}.pt")
        dist.barrier()
    finally:
        dist.destroy_process_group()


def run_on_ranks(fn, *args, world: int = 2) -> list:
    """Run ``fn(*args)`` in ``world`` processes joined by a gloo group (tcp on localhost);
    return each rank's result (saved with ``torch.save``, loaded here).

    The processes are forked where the platform allows it: they inherit the imported modules,
    which saves each of them the seconds (more on a loaded machine, or with
    ``PYTHONDONTWRITEBYTECODE``) of importing torch, mmengine and the zoo again. ``fn`` must
    not rely on threads of the parent (tests run with one intra-op thread).
    """
    import multiprocessing

    import torch.multiprocessing as mp

    from zoo.checkpoint import safe_torch_load

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with tempfile.TemporaryDirectory() as tmp:
        mp.start_processes(_entry, args=(world, free_port(), fn, args, tmp), nprocs=world,
                           start_method=method)
        return [safe_torch_load(Path(tmp) / f"rank{r}.pt") for r in range(world)]
