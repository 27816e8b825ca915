"""Downloads against a local HTTP server: verification, caching, retries, resume, env switches.

Every test also checks the cache holds no file under its final name unless it was verified
(a ``.part`` is only ever a prefix of the real bytes, kept for resuming).
"""
from __future__ import annotations

import json

import pytest
import torch

from zoo.hub import api
from zoo.hub.download import (
    DownloadError,
    HashMismatchError,
    OfflineError,
    UnverifiedDownloadError,
    apply_mirror,
    fetch,
    hash_from_filename,
    normalise_hash,
)

from .helpers import FAST, cache_files, checkpoint_bytes, sha256


@pytest.fixture
def payload():
    """A ~400 kB checkpoint (mmengine layout, numpy scalar in meta) and its state dict."""
    gen = torch.Generator().manual_seed(0)
    state = {"backbone.w": torch.randn(300, 300, generator=gen), "cls_head.fc.bias": torch.ones(7)}
    import numpy as np

    data = checkpoint_bytes(state, meta={"epoch": 3, "lr": np.float64(0.1)})
    return state, data


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        torch.testing.assert_close(value, b[key], rtol=0, atol=0)


def test_good_file_is_verified_cached_and_not_fetched_again(cache, server, add_entry, payload):
    state, data = payload
    url = server.add("/ckpt/good-model.pth", data)
    add_entry(name="t_good", urls=(url,), sha256=sha256(data))
    loaded = api.load_pretrained("t_good", policy=FAST)
    _assert_same(loaded, state)
    assert len(server.requests) == 1
    assert cache_files(cache) == ["checkpoints/t_good.pth"]
    manifest = json.loads((cache / "manifest.json").read_text())
    assert manifest["checkpoints/t_good.pth"]["sha256"] == sha256(data)
    _assert_same(api.load_pretrained("t_good", policy=FAST), state)
    _assert_same(api.load_pretrained("zoo://t_good", policy=FAST), state)
    assert len(server.requests) == 1, "a cached, verified file must not touch the network"
    assert api.model_info("t_good")["cached"] is True


def test_published_prefix_is_enough(cache, server, add_entry, payload):
    _, data = payload
    add_entry(name="t_prefix", urls=(server.add("/p.pth", data),), sha256=sha256(data)[:8])
    assert api.download_model("t_prefix", policy=FAST).read_bytes() == data


def test_wrong_hash_is_refused_and_nothing_is_cached(cache, server, add_entry, payload):
    _, data = payload
    add_entry(name="t_wrong", urls=(server.add("/w.pth", data),), sha256="0" * 64)
    with pytest.raises(HashMismatchError, match="does not match the expected 0000"):
        api.load_pretrained("t_wrong", policy=FAST)
    assert len(server.requests) == 1  # a hash mismatch is not retried
    assert cache_files(cache) == []


def test_truncated_body_without_length_is_caught_by_the_hash(cache, server, add_entry, payload):
    _, data = payload
    url = server.add("/t.pth", data, script=["nolength:1000"])
    add_entry(name="t_trunc", urls=(url,), sha256=sha256(data))
    with pytest.raises(HashMismatchError):
        api.download_model("t_trunc", policy=FAST)
    assert cache_files(cache) == []


def test_http_500_is_retried_with_backoff(cache, server, add_entry, payload):
    _, data = payload
    url = server.add("/e.pth", data, script=["500", "500"])
    add_entry(name="t_500", urls=(url,), sha256=sha256(data))
    assert api.download_model("t_500", policy=FAST).read_bytes() == data
    assert len(server.requests) == 3
    assert cache_files(cache) == ["checkpoints/t_500.pth"]


def test_404_is_not_retried(cache, server, add_entry, payload):
    add_entry(name="t_404", urls=(server.base + "/missing.pth",), sha256="ab" * 32)
    with pytest.raises(DownloadError, match="HTTP 404"):
        api.download_model("t_404", policy=FAST)
    assert len(server.requests) == 1
    assert cache_files(cache) == []


def test_connection_drop_is_resumed_with_a_range_request(cache, server, add_entry, payload):
    _, data = payload
    url = server.add("/d.pth", data, script=["drop:100000"])
    add_entry(name="t_drop", urls=(url,), sha256=sha256(data))
    assert api.download_model("t_drop", policy=FAST).read_bytes() == data
    assert [r.range for r in server.requests] == [None, "bytes=100000-"]
    assert cache_files(cache) == ["checkpoints/t_drop.pth"]


def test_server_ignoring_range_restarts_from_zero(cache, server, add_entry, payload):
    _, data = payload
    url = server.add("/i.pth", data, script=["drop:50000", "ignore-range"])
    add_entry(name="t_ignore", urls=(url,), sha256=sha256(data))
    assert api.download_model("t_ignore", policy=FAST).read_bytes() == data
    assert server.requests[1].range == "bytes=50000-"  # asked, but got the whole body
    assert cache_files(cache) == ["checkpoints/t_ignore.pth"]


def test_exhausted_retries_keep_a_true_prefix_that_a_later_call_resumes(cache, server,
                                                                         add_entry, payload):
    _, data = payload
    url = server.add("/k.pth", data, script=["drop:30000"] * 4)
    add_entry(name="t_keep", urls=(url,), sha256=sha256(data))
    with pytest.raises(DownloadError, match=r"t_keep\.pth\.part .*resumes it"):
        api.download_model("t_keep", policy=FAST)
    assert cache_files(cache) == ["checkpoints/t_keep.pth.part"]
    part = (cache / "checkpoints/t_keep.pth.part").read_bytes()
    assert len(part) == 4 * 30000 and data.startswith(part)
    with pytest.raises(FileNotFoundError):  # never loaded from the partial file
        api.load_pretrained(str(cache / "checkpoints/t_keep.pth"))
    assert api.download_model("t_keep", policy=FAST).read_bytes() == data
    assert server.requests[-1].range == "bytes=120000-"
    assert cache_files(cache) == ["checkpoints/t_keep.pth"]


def test_unpublished_hash_needs_consent_and_is_then_pinned(cache, server, add_entry, payload):
    _, data = payload
    url = server.add("/u.pth", data)
    add_entry(name="t_nohash", urls=(url,), sha256=None)
    with pytest.raises(UnverifiedDownloadError, match="trust_on_first_use"):
        api.download_model("t_nohash", policy=FAST)
    assert server.requests == [] and cache_files(cache) == []

    api.download_model("t_nohash", trust_on_first_use=True, policy=FAST)
    record = json.loads((cache / "manifest.json").read_text())["checkpoints/t_nohash.pth"]
    assert record["pinned"] is True and record["sha256"] == sha256(data)
    api.download_model("t_nohash", policy=FAST)  # cached and pinned: no consent needed now
    assert len(server.requests) == 1

    # The file disappears and upstream changes: the pinned digest is enforced.
    (cache / "checkpoints/t_nohash.pth").unlink()
    server.state.files["/u.pth"] = b"X" + data[1:]
    with pytest.raises(HashMismatchError):
        api.download_model("t_nohash", trust_on_first_use=True, policy=FAST)
    assert cache_files(cache) == []


def test_user_supplied_hash_for_unpublished_entry(cache, server, add_entry, payload):
    _, data = payload
    add_entry(name="t_user", urls=(server.add("/s.pth", data),), sha256=None)
    api.download_model("t_user", sha256=sha256(data)[:12], policy=FAST)
    with pytest.raises(ValueError, match="contradicts"):
        add_entry(name="t_pub", urls=(server.add("/s2.pth", data),), sha256="12345678")
        api.download_model("t_pub", sha256="87654321")


def test_mirror_replaces_scheme_and_host(cache, server, add_entry, payload, monkeypatch):
    _, data = payload
    server.add("/mirror/deep/path/model-x.pth", data)
    add_entry(name="t_mirror", urls=("https://models.invalid/deep/path/model-x.pth",),
              sha256=sha256(data))
    monkeypatch.setenv("VSZOO_MIRROR", server.base + "/mirror/")
    assert api.download_model("t_mirror", policy=FAST).read_bytes() == data
    assert [r.path for r in server.requests] == ["/mirror/deep/path/model-x.pth"]
    assert apply_mirror("https://a.org/x/y.pth?dl=1", "http://m") == "http://m/x/y.pth?dl=1"
    assert apply_mirror("file:///x/y.pth", "http://m") == "file:///x/y.pth"


def test_offline_names_the_file_and_where_to_put_it(cache, server, add_entry, payload,
                                                    monkeypatch):
    state, data = payload
    url = server.add("/o.pth", data)
    add_entry(name="t_offline", urls=(url,), sha256=sha256(data)[:8])
    monkeypatch.setenv("VSZOO_OFFLINE", "1")
    dest = cache / "checkpoints" / "t_offline.pth"
    with pytest.raises(OfflineError) as info:
        api.load_pretrained("t_offline", policy=FAST)
    assert url in str(info.value) and str(dest) in str(info.value)
    assert server.requests == []

    dest.write_bytes(data[:-10])  # placed by hand, but wrong
    with pytest.raises(HashMismatchError, match=str(dest)):
        api.load_pretrained("t_offline")
    dest.write_bytes(data)
    _assert_same(api.load_pretrained("t_offline"), state)
    assert server.requests == []


def test_manual_entry_explains_where_to_place_the_file(cache, add_entry, payload):
    state, data = payload
    add_entry(name="t_manual", urls=("https://drive.invalid/folders/abc",), sha256=None,
              manual=True, filename="t_manual.pt")
    dest = cache / "checkpoints" / "t_manual.pt"
    with pytest.raises(api.ManualDownloadError, match=f"place it at {dest}"):
        api.load_pretrained("t_manual")
    dest.parent.mkdir(parents=True)
    dest.write_bytes(data)
    with pytest.raises(UnverifiedDownloadError):
        api.load_pretrained("t_manual")
    _assert_same(api.load_pretrained("t_manual", sha256=sha256(data)), state)


def test_file_urls_plain_paths_and_ad_hoc_urls(cache, server, tmp_path, payload):
    state, data = payload
    local = tmp_path / "local.pth"
    local.write_bytes(data)
    _assert_same(api.load_pretrained(local), state)  # a path: read in place
    _assert_same(api.load_pretrained(str(local), sha256=sha256(data)), state)
    with pytest.raises(HashMismatchError):
        api.load_pretrained(str(local), sha256="deadbeef")
    with pytest.raises(UnverifiedDownloadError):
        api.load_pretrained(local.as_uri())
    _assert_same(api.load_pretrained(local.as_uri(), sha256=sha256(data)), state)

    # An ad-hoc URL whose name carries the hash prefix (torch.hub / OpenMMLab convention).
    name = f"/x/model_20240101-{sha256(data)[:8]}.pth"
    _assert_same(api.load_pretrained(server.add(name, data), policy=FAST), state)
    assert hash_from_filename(name) == sha256(data)[:8]
    assert sum(1 for f in cache_files(cache) if f.startswith("urls/")) == 2


def test_hash_normalisation():
    assert normalise_hash("SHA256:ABCDEF12") == "abcdef12"
    for bad in ("abc", "xyz12345", "a" * 65):
        with pytest.raises(ValueError):
            normalise_hash(bad)


def test_fetch_never_writes_the_final_name_before_verification(cache, server, payload):
    _, data = payload
    url = server.add("/v.pth", data)
    dest = cache / "checkpoints" / "v.pth"
    with pytest.raises(HashMismatchError):
        fetch(url, dest, "f" * 8, policy=FAST)
    assert not dest.exists() and not dest.with_name("v.pth.part").exists()
    assert fetch(url, dest, sha256(data), policy=FAST) == dest


def test_stale_partial_with_wrong_bytes_is_downloaded_again(cache, server, add_entry, payload):
    _, data = payload
    add_entry(name="t_stale", urls=(server.add("/st.pth", data),), sha256=sha256(data))
    part = cache / "checkpoints" / "t_stale.pth.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"garbage" * 100)  # e.g. left by an older upstream version
    assert api.download_model("t_stale", policy=FAST).read_bytes() == data
    assert [r.range for r in server.requests] == ["bytes=700-", None]
    assert cache_files(cache) == ["checkpoints/t_stale.pth"]
