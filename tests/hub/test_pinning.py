"""Trust-on-first-use pins only checkpoint-like files, `zoo forget` clears a pin, and two
processes downloading the same entry at once fetch it once (issue 18 item 5 and "Also")."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import save as save_safetensors

from zoo.cli import main
from zoo.hub import api
from zoo.hub.download import (
    Manifest,
    NotACheckpointError,
    UnverifiedDownloadError,
    checkpoint_content_problem,
)

from .helpers import FAST, cache_files, checkpoint_bytes, sha256

HTML = b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head></html>\n"


@pytest.mark.parametrize("body, problem", [
    (HTML, "HTML"),
    (b"  \n<html><body>Sign in</body></html>", "HTML"),
    (b"", "empty"),
    (b"Not Found\n", "neither a torch checkpoint"),
    (b"PK\x03\x04garbage", "broken zip"),
])
def test_first_use_refuses_what_is_not_a_checkpoint(cache, server, add_entry, body, problem):
    url = server.add("/bad.pth", body)
    add_entry(name="t_html", urls=(url,), sha256=None)
    with pytest.raises(NotACheckpointError, match=rf"{url}: .*{problem}.*not pinned"):
        api.download_model("t_html", trust_on_first_use=True, policy=FAST)
    assert cache_files(cache) == []
    assert "checkpoints/t_html.pth" not in Manifest(cache).load()


def test_checkpoint_formats_are_accepted(tmp_path):
    state = {"w": torch.arange(6.0).reshape(2, 3)}
    (tmp_path / "zip.pth").write_bytes(checkpoint_bytes(state))
    buffer = io.BytesIO()
    torch.save(state, buffer, _use_new_zipfile_serialization=False)
    (tmp_path / "legacy.pth").write_bytes(buffer.getvalue())
    (tmp_path / "w.safetensors").write_bytes(save_safetensors(state))
    for name in ("zip.pth", "legacy.pth", "w.safetensors"):
        assert checkpoint_content_problem(tmp_path / name) is None, name
    (tmp_path / "plain.zip").write_bytes(_zip_without_pickle())
    assert "without a torch data.pkl" in checkpoint_content_problem(tmp_path / "plain.zip")


def _zip_without_pickle() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return buffer.getvalue()


def test_a_hand_placed_html_file_is_not_pinned(cache, add_entry):
    add_entry(name="t_placed", urls=("https://models.invalid/x.pth",), sha256=None)
    dest = cache / "checkpoints" / "t_placed.pth"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(HTML)
    with pytest.raises(NotACheckpointError, match="HTML"):
        api.download_model("t_placed", trust_on_first_use=True)
    assert Manifest(cache).load() == {}


def test_verify_reports_a_pinned_html_page_made_by_an_older_zoo(cache, capsys):
    dest = cache / "checkpoints" / "old_pin.pth"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(HTML)
    Manifest(cache).record(dest, sha256(HTML), "http://x/old.pth", None)  # as pinned before
    assert main(["verify"]) == 1
    out = capsys.readouterr().out
    assert "BAD" in out and "old_pin.pth" in out and "HTML" in out and "zoo forget" in out


def test_forget_clears_the_pin_and_the_file(cache, server, add_entry, capsys):
    first = checkpoint_bytes({"w": torch.zeros(10)})
    second = checkpoint_bytes({"w": torch.ones(10)})
    url = server.add("/p.pth", first)
    add_entry(name="t_pin", urls=(url,), sha256=None)
    api.download_model("t_pin", trust_on_first_use=True, policy=FAST)
    server.state.files["/p.pth"] = second  # upstream publishes a new file

    assert main(["forget", "t_pin"]) == 0
    out = capsys.readouterr().out
    assert f"removed {cache / 'checkpoints' / 't_pin.pth'}" in out
    assert "pinned sha256 " + sha256(first) in out
    assert cache_files(cache) == [] and Manifest(cache).load() == {}
    with pytest.raises(UnverifiedDownloadError):  # consent is needed again
        api.download_model("t_pin", policy=FAST)
    path = api.download_model("t_pin", trust_on_first_use=True, policy=FAST)
    assert path.read_bytes() == second
    assert Manifest(cache).get(path)["sha256"] == sha256(second)

    assert api.forget_model("zoo://t_pin") != []
    assert main(["forget", "t_pin"]) == 0
    assert "nothing cached for 't_pin'" in capsys.readouterr().out
    assert main(["forget", "no_such_entry"]) == 2


def test_two_processes_download_an_entry_once(cache, server, tmp_path):
    data = checkpoint_bytes({"w": torch.randn(200, 200, generator=torch.Generator()
                                             .manual_seed(1))})
    url = server.add("/shared.pth", data, script=["slow:2", "slow:2"])
    dest = cache / "checkpoints" / "shared.pth"
    script = tmp_path / "get.py"
    go = tmp_path / "go"
    script.write_text(textwrap.dedent(f"""
        import os, sys, time
        from zoo.hub.download import RetryPolicy, fetch
        print("ready", flush=True)
        while not os.path.exists({str(go)!r}):  # both start together, imports done
            time.sleep(0.01)
        start = time.time()
        fetch({url!r}, {str(dest)!r}, {sha256(data)!r},
              policy=RetryPolicy(retries=0, timeout=20), progress=False)
        print(f"{{start:.3f}} {{time.time():.3f}}")
    """))
    env = dict(os.environ, VSZOO_HOME=str(cache), OMP_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    assert [p.stdout.readline().strip() for p in procs] == ["ready", "ready"]
    go.write_text("")
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in results]
    spans = [tuple(map(float, out.split())) for out, _ in results]
    assert max(s for s, _ in spans) < min(e for _, e in spans), "the two runs did not overlap"
    assert [r.path for r in server.requests] == ["/shared.pth"], "fetched more than once"
    assert dest.read_bytes() == data
    assert cache_files(cache) == ["checkpoints/shared.pth"]  # no .part left
    assert json.loads((cache / "manifest.json").read_text())["checkpoints/shared.pth"][
        "sha256"] == sha256(data)
    assert sum("waiting" in err for _, err in results) == 1  # the other one said it waits
