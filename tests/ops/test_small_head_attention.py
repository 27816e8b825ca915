"""The compiled small-head attention kernel against PyTorch's scaled_dot_product_attention."""
from __future__ import annotations

import shutil

import pytest
import torch
import torch.nn.functional as F

from zoo.ops import small_head_attention as sha


@pytest.fixture(autouse=True)
def _kernel(attention_kernel):
    """Every test here needs the compiled kernel (tests/conftest.py: skip or, in CI, fail)."""


def reference(qkv: torch.Tensor, heads: int, scale: float, bias=None) -> torch.Tensor:
    w, a, width = qkv.shape
    q, k, v = qkv.float().reshape(w, a, 3, heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=scale)
    return out.transpose(1, 2).reshape(w, a, -1)


# (windows, tokens, heads, head channels): SkateFormer's NTU windows (64 / 96 tokens, 3 / 6
# channels), token counts that are not a multiple of the 16 lanes or below them, and heads
# wider than the 8 channels the kernel keeps in registers
SHAPES = [(24, 64, 4, 3), (16, 96, 4, 6), (5, 40, 3, 5), (7, 17, 2, 4), (3, 9, 1, 1),
          (4, 33, 2, 8), (3, 20, 2, 11)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_equals_sdpa_in_fp32(shape, with_bias):
    torch.manual_seed(0)
    w, a, h, d = shape
    qkv = torch.randn(w, a, 3 * h * d) * 2
    bias = torch.randn(1, h, a, a) if with_bias else None
    out = sha.small_head_attention(qkv, h, h ** -0.5, bias)
    ref = reference(qkv, h, h ** -0.5, bias)
    assert out.dtype == torch.float32 and out.shape == (w, a, h * d)
    # fp32 rounding of sums over tokens, relative to the values' scale (|v| up to ~8)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_large_scores_are_stable():
    """The maximum is subtracted before exp: scores in the thousands neither overflow nor
    collapse the softmax (SDPA, which does the same, as the reference)."""
    torch.manual_seed(1)
    qkv = torch.randn(6, 48, 3 * 2 * 4) * 40
    bias = torch.randn(2, 48, 48) * 500
    out = sha.small_head_attention(qkv, 2, 0.5, bias)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, reference(qkv, 2, 0.5, bias), rtol=1e-4, atol=1e-4)


def test_bf16_in_and_out():
    """bf16 windows are read exactly (the attention runs in fp32) and the output is the fp32
    result rounded to the nearest bf16."""
    torch.manual_seed(2)
    qkv = torch.randn(12, 64, 3 * 4 * 3).bfloat16()
    bias = torch.randn(1, 4, 64, 64) * 0.1
    ref = reference(qkv.float(), 4, 0.5, bias)
    out32 = sha.small_head_attention(qkv, 4, 0.5, bias, out_dtype=torch.float32)
    torch.testing.assert_close(out32, ref, rtol=1e-5, atol=2e-6)
    out16 = sha.small_head_attention(qkv, 4, 0.5, bias)
    assert out16.dtype == torch.bfloat16
    # the same as rounding the kernel's fp32 result (round to nearest even, bit for bit)
    assert torch.equal(out16, out32.bfloat16())


def test_nan_stays_in_its_query():
    qkv = torch.randn(2, 32, 3 * 2 * 3)
    qkv[1, 5, 0] = float("nan")  # query 5 of window 1, head 0
    out = sha.small_head_attention(qkv, 2, 1.0)
    assert torch.isnan(out[1, 5, :3]).all()
    assert torch.isfinite(out[1, 5, 3:]).all() and torch.isfinite(out[0]).all()
    mask = torch.ones_like(out, dtype=torch.bool)
    mask[1, 5, :3] = False
    torch.testing.assert_close(out[mask], reference(qkv, 2, 1.0)[mask], rtol=1e-5, atol=2e-6)


def test_threads_split_the_windows():
    torch.manual_seed(3)
    qkv = torch.randn(37, 40, 3 * 4 * 6)
    bias = torch.randn(4, 40, 40)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = sha.small_head_attention(qkv, 4, 0.5, bias)
        torch.set_num_threads(3)
        three = sha.small_head_attention(qkv, 4, 0.5, bias)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, three)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="3 \\* heads \\* dim"):
        sha.small_head_attention(torch.randn(2, 8, 10), 4, 1.0)
    with pytest.raises(ValueError, match="float64"):
        sha.small_head_attention(torch.randn(2, 8, 12, dtype=torch.float64), 4, 1.0)
    with pytest.raises(ValueError, match="bias of shape \\(1, 4, 8, 7\\)"):
        sha.small_head_attention(torch.randn(2, 8, 12), 4, 1.0, torch.zeros(1, 4, 8, 7))
    assert sha.small_head_attention(torch.randn(0, 8, 12), 4, 1.0).shape == (0, 8, 4)


def test_not_usable_inside_graph_captures():
    x = torch.randn(2, 8, 12)
    assert sha.usable(x)
    assert not sha.usable(x.double())
    with sha.disabled():
        assert not sha.usable(x)
    assert sha.usable(x)

    def probe(t):
        return t + float(sha.usable(t))

    assert torch.equal(torch.func.vmap(probe)(x), x)  # inside a functorch transform
    traced = torch.jit.trace(probe, x, check_trace=False)
    assert torch.equal(traced(x), x)


def test_compiles_into_the_cache_and_falls_back(monkeypatch, tmp_path):
    monkeypatch.setenv("VSZOO_HOME", str(tmp_path))
    sha._library.cache_clear()
    try:
        assert sha.available()
        libraries = list((tmp_path / "kernels").glob("small_head_attention-*.so"))
        assert len(libraries) == 1
        assert not list((tmp_path / "kernels").glob(".*tmp"))  # written atomically
        # switched off
        sha._library.cache_clear()
        monkeypatch.setenv(sha.ENV_SWITCH, "0")
        assert not sha.available() and not sha.usable(torch.randn(2, 8, 12))
        with pytest.raises(RuntimeError, match="not available"):
            sha.small_head_attention(torch.randn(2, 8, 12), 4, 1.0)
        # a compiler that fails: a warning, PyTorch's kernel stays
        monkeypatch.delenv(sha.ENV_SWITCH)
        monkeypatch.setenv("VSZOO_HOME", str(tmp_path / "other"))
        monkeypatch.setenv("CXX", shutil.which("false") or "/bin/false")
        sha._library.cache_clear()
        with pytest.warns(RuntimeWarning, match="failed"):
            assert not sha.available()
        assert not list((tmp_path / "other" / "kernels").glob("*.so"))
    finally:
        sha._library.cache_clear()


def test_bf16_output_rounds_to_nearest_even():
    """With one token the output is ``v`` itself: halfway cases, NaN and infinities rounded as
    torch's own conversion does."""
    v = torch.tensor([1 + 2 ** -8, 1 + 3 * 2 ** -8, -(1 + 2 ** -8), 3.0e38, float("inf"),
                      float("nan"), 1e-40, 0.1])
    qkv = torch.zeros(len(v), 1, 3)
    qkv[:, 0, 2] = v
    out = sha.small_head_attention(qkv, 1, 1.0, out_dtype=torch.bfloat16).flatten()
    expected = v.bfloat16()
    assert torch.equal(out[5:6].isnan(), torch.tensor([True]))
    keep = ~v.isnan()
    assert torch.equal(out[keep], expected[keep])


def test_forked_child_gets_its_own_threads():
    """A process forked after the thread pool started (a data-loader worker, a process pool)
    must not wait on its parent's threads."""
    import multiprocessing

    torch.manual_seed(4)
    qkv = torch.randn(9, 24, 3 * 2 * 3)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        expected = sha.small_head_attention(qkv, 2, 0.5)  # the parent's pool is running
        context = multiprocessing.get_context("fork")
        with context.Pool(1) as pool:
            result = pool.apply_async(_attention_in_child, (qkv,))
            out = result.get(timeout=30)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(out, expected)


def _attention_in_child(qkv: torch.Tensor) -> torch.Tensor:
    torch.set_num_threads(2)
    return sha.small_head_attention(qkv, 2, 0.5)
