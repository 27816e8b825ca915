"""The ``zoo`` command line, run in-process through ``zoo.cli.main``."""
from __future__ import annotations

import json

import torch

from zoo.cli import main

from .helpers import cache_files, checkpoint_bytes, sha256


def test_list_and_info(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "ctrgcn_ntu60_xsub_joint" in out and "950dca0a" in out and "top1=89.0" in out
    assert main(["list", "skateformer*"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and all("skateformer" in line for line in lines[1:])
    assert main(["list", "no-such-model"]) == 1
    capsys.readouterr()

    assert main(["info", "stgcn_ntu60_xsub_joint_official", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["sha256"] == "300b57d4" and info["converter"] == "convert_stgcn_official"
    assert main(["info", "resnet18_tv_in1k"]) == 0
    assert "download.pytorch.org/models/resnet18-f37072fd.pth" in capsys.readouterr().out


def test_unknown_name_is_one_clear_error(capsys):
    assert main(["info", "ctrgcn_ntu60"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: no pretrained model called 'ctrgcn_ntu60'")


def test_download_and_verify(cache, server, add_entry, capsys):
    data = checkpoint_bytes({"w": torch.arange(1000.0)})
    add_entry(name="t_cli", urls=(server.add("/cli.pth", data),), sha256=sha256(data)[:8])
    add_entry(name="t_cli_nohash", urls=(server.add("/cli2.pth", data + b""),), sha256=None)

    assert main(["download", "t_cli", "--backoff", "0.001"]) == 0
    path = capsys.readouterr().out.strip()
    assert path == str(cache / "checkpoints" / "t_cli.pth")

    assert main(["download", "t_cli_nohash"]) == 2
    assert "--trust-on-first-use" in capsys.readouterr().err
    assert main(["download", "t_cli_nohash", "--trust-on-first-use"]) == 0
    capsys.readouterr()

    assert main(["verify"]) == 0
    out = capsys.readouterr().out
    assert "2 ok, 0 bad" in out and "pinned on first use" in out

    # Bit rot in one file, a stray partial download and a file placed by hand.
    target = cache / "checkpoints" / "t_cli.pth"
    target.write_bytes(b"\0" + target.read_bytes()[1:])
    (cache / "checkpoints" / "other.pth.part").write_bytes(b"abc")
    (cache / "checkpoints" / "stray.pth").write_bytes(b"abc")
    assert main(["verify"]) == 1
    out = capsys.readouterr().out
    assert f"BAD        {target}" in out and "PARTIAL" in out and "UNVERIFIED" in out
    assert "1 ok, 1 bad, 1 unverified, 1 partial" in out

    assert main(["verify", "--delete"]) == 1
    assert "(deleted)" in capsys.readouterr().out
    assert "checkpoints/t_cli.pth" not in cache_files(cache)
    assert main(["verify"]) == 0
    assert "MISSING" in capsys.readouterr().out  # the manifest still knows its hash

    assert main(["download", "t_cli", "--backoff", "0.001"]) == 0  # fetched again, verified
    assert (cache / "checkpoints" / "t_cli.pth").read_bytes() == data
