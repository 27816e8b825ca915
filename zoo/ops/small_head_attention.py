"""Attention for many small heads on the CPU: a compiled kernel for inference.

PyTorch's fused CPU attention (``scaled_dot_product_attention``) tiles each head's queries and
calls a matrix product for ``q k^T`` and one for ``p v``. With heads of 3-6 channels over
windows of tens of tokens (SkateFormer's Skate-MSA: Do & Kim, ECCV 2024) those products have
an inner size of 3-6 and the kernel spends its time in call and packing overhead, not in the
score maps' ``exp``: about 2.3 ns per score element on one core of this machine.

This kernel puts 16 queries in the lanes of a SIMD vector (GCC vector extensions, compiled
with ``-march=native`` for the machine it runs on) and walks the keys once for the scores and
their maximum and once for ``exp`` and ``p v``: no horizontal reductions, no matrix-product
calls; the head's keys, values and bias stay in L1. The softmax is the exact one (maximum
subtracted, fp32 throughout); ``exp`` is Cephes' ``expf`` polynomial (at most 1 ulp from the
rounded exact value over [-87, 0], development check). Inputs may be fp32 or bf16 (read
exactly as fp32), the output fp32 or bf16 (rounded to nearest even), so a bf16 model reads and
writes bf16 while the attention itself runs in fp32.

The library is compiled once per machine with the system's C++ compiler (``$CXX``, else
``c++``) into ``$VSZOO_HOME/kernels`` (default ``~/.cache/vszoo/kernels``), keyed by the
source, the compiler and the CPU's flags. Without a compiler, or with ``VSZOO_KERNELS=0``,
:func:`available` is False and callers keep PyTorch's kernel. It computes no gradients:
callers use it only when autograd does not need the output.
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from zoo.fileio import atomic_path, cache_home

logger = logging.getLogger(__name__)

ENV_SWITCH = "VSZOO_KERNELS"

_SOURCE = r"""
#include <cstdint>
#include <cstdlib>
#include <cstring>

typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
static const int L = 16;

// Cephes expf: exp(x) = 2^n exp(r), |r| <= ln2 / 2, degree-5 polynomial; within 2 ulp.
static inline v16f vexp(v16f x) {
    const v16f hi = x * 0.0f + 88.3762626647949f, lo = x * 0.0f - 87.3365447504f;
    x = x > hi ? hi : x;
    x = x < lo ? lo : x;
    // round-to-nearest of x / ln2 by the 1.5 * 2^23 trick (|x / ln2| < 2^22 here)
    v16f n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    v16f r = x - n * 0.693359375f + n * 2.12194440e-4f;
    v16f p = r * 0.0f + 1.9875691500E-4f;
    p = p * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    p = p * r * r + r + 1.0f;
    v16i bits = (__builtin_convertvector(n, v16i) + 127) << 23;
    v16f scale;
    std::memcpy(&scale, &bits, sizeof(scale));
    return p * scale;
}

static inline float load(const void* base, int64_t i, int bf16) {
    if (!bf16) return static_cast<const float*>(base)[i];
    uint32_t bits = static_cast<uint32_t>(static_cast<const uint16_t*>(base)[i]) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof(f));
    return f;
}

static inline void store(void* base, int64_t i, float f, int bf16) {
    if (!bf16) { static_cast<float*>(base)[i] = f; return; }
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof(bits));
    if ((bits & 0x7fffffffu) > 0x7f800000u) bits = 0x7fc00000u;        // NaN stays NaN
    else bits += 0x7fffu + ((bits >> 16) & 1u);                          // nearest even
    static_cast<uint16_t*>(base)[i] = static_cast<uint16_t>(bits >> 16);
}

// One window and head: 16 queries per vector (lanes), keys walked twice — scores and their
// maximum, then exp, the sum and p v. D (the head's channels) fixed: all in registers.
template <int D>
static void queries(const float* qt, const float* kv, const float* bt, v16f* s, void* out,
                    int out_bf16, int64_t w, int64_t h, int64_t tokens, int64_t lanes,
                    int64_t heads, float scale) {
    for (int64_t i0 = 0; i0 < tokens; i0 += L) {
        v16f q[D];
        for (int d = 0; d < D; ++d) q[d] = *reinterpret_cast<const v16f*>(qt + d * lanes + i0);
        v16f m = q[0] * 0.0f - 3.0e38f;
        for (int64_t j = 0; j < tokens; ++j) {
            const float* kj = kv + j * 2 * D;
            v16f acc = q[0] * kj[0];
            for (int d = 1; d < D; ++d) acc += q[d] * kj[d];
            acc = acc * scale + *reinterpret_cast<const v16f*>(bt + j * lanes + i0);
            s[j] = acc;
            m = acc > m ? acc : m;
        }
        v16f o[D], sum = m * 0.0f;
        for (int d = 0; d < D; ++d) o[d] = sum;
        for (int64_t j = 0; j < tokens; ++j) {
            const v16f e = vexp(s[j] - m);
            sum += e;
            const float* vj = kv + j * 2 * D + D;
            for (int d = 0; d < D; ++d) o[d] += e * vj[d];
        }
        const v16f inv = 1.0f / sum;
        const int64_t last = tokens - i0 < L ? tokens - i0 : L;
        for (int64_t l = 0; l < last; ++l)
            for (int d = 0; d < D; ++d)
                store(out, ((w * tokens + i0 + l) * heads + h) * D + d, o[d][l] * inv[l],
                      out_bf16);
    }
}

// The same for any head size, in chunks of 8 output channels.
static void queries_any(const float* qt, const float* kv, const float* bt, v16f* s, void* out,
                        int out_bf16, int64_t w, int64_t h, int64_t tokens, int64_t lanes,
                        int64_t heads, int64_t dim, float scale) {
    const int64_t qstride = lanes / L;
    for (int64_t i0 = 0; i0 < tokens; i0 += L) {
        const v16f* q = reinterpret_cast<const v16f*>(qt + i0);
        v16f m = q[0] * 0.0f - 3.0e38f;
        for (int64_t j = 0; j < tokens; ++j) {
            const float* kj = kv + j * 2 * dim;
            v16f acc = q[0] * kj[0];
            for (int64_t d = 1; d < dim; ++d) acc += q[d * qstride] * kj[d];
            acc = acc * scale + *reinterpret_cast<const v16f*>(bt + j * lanes + i0);
            s[j] = acc;
            m = acc > m ? acc : m;
        }
        v16f sum = m * 0.0f;
        for (int64_t j = 0; j < tokens; ++j) {
            s[j] = vexp(s[j] - m);
            sum += s[j];
        }
        const v16f inv = 1.0f / sum;
        const int64_t last = tokens - i0 < L ? tokens - i0 : L;
        for (int64_t d0 = 0; d0 < dim; d0 += 8) {
            const int64_t dn = dim - d0 < 8 ? dim - d0 : 8;
            v16f o[8];
            for (int64_t d = 0; d < dn; ++d) o[d] = sum * 0.0f;
            for (int64_t j = 0; j < tokens; ++j) {
                const float* vj = kv + j * 2 * dim + dim + d0;
                for (int64_t d = 0; d < dn; ++d) o[d] += s[j] * vj[d];
            }
            for (int64_t l = 0; l < last; ++l)
                for (int64_t d = 0; d < dn; ++d)
                    store(out, ((w * tokens + i0 + l) * heads + h) * dim + d0 + d,
                          o[d][l] * inv[l], out_bf16);
        }
    }
}

extern "C" int small_head_attention(
        const void* qkv, int qkv_bf16, const float* bias, void* out, int out_bf16,
        int64_t w0, int64_t w1, int64_t tokens, int64_t heads, int64_t dim, float scale) {
    // qkv [windows, tokens, 3, heads, dim]; bias [heads, tokens, tokens] or null;
    // out [windows, tokens, heads, dim]; windows w0 .. w1 - 1.
    const int64_t lanes = (tokens + L - 1) / L * L;
    const int64_t step = 3 * heads * dim;           // between tokens in qkv
    // scratch: q^T [dim][lanes], k and v [tokens][dim], bias^T [tokens][lanes], scores
    // [tokens] vectors; each part starts on a 64-byte boundary (aligned vector loads)
    const int64_t kv_floats = (2 * tokens * dim + L - 1) / L * L;
    size_t floats = dim * lanes + kv_floats + tokens * lanes + tokens * L;
    float* mem = static_cast<float*>(std::aligned_alloc(64, floats * 4));
    if (!mem) return 1;
    float* qt = mem;
    float* kv = qt + dim * lanes;
    float* bt = kv + kv_floats;
    v16f* s = reinterpret_cast<v16f*>(bt + tokens * lanes);
    std::memset(qt, 0, sizeof(float) * dim * lanes);
    std::memset(bt, 0, sizeof(float) * tokens * lanes);
    for (int64_t h = 0; h < heads; ++h) {
        if (bias)
            for (int64_t i = 0; i < tokens; ++i)
                for (int64_t j = 0; j < tokens; ++j)
                    bt[j * lanes + i] = bias[(h * tokens + i) * tokens + j];
        for (int64_t w = w0; w < w1; ++w) {
            const int64_t base = w * tokens * step + h * dim;
            for (int64_t t = 0; t < tokens; ++t)
                for (int64_t d = 0; d < dim; ++d) {
                    qt[d * lanes + t] = load(qkv, base + t * step + d, qkv_bf16);
                    kv[t * 2 * dim + d] = load(qkv, base + t * step + heads * dim + d, qkv_bf16);
                    kv[t * 2 * dim + dim + d] =
                        load(qkv, base + t * step + 2 * heads * dim + d, qkv_bf16);
                }
            if (dim <= 8) {
                static void (*const fixed[8])(const float*, const float*, const float*, v16f*,
                                              void*, int, int64_t, int64_t, int64_t, int64_t,
                                              int64_t, float) = {
                    queries<1>, queries<2>, queries<3>, queries<4>,
                    queries<5>, queries<6>, queries<7>, queries<8>};
                fixed[dim - 1](qt, kv, bt, s, out, out_bf16, w, h, tokens, lanes, heads, scale);
            } else {
                queries_any(qt, kv, bt, s, out, out_bf16, w, h, tokens, lanes, heads, dim, scale);
            }
        }
    }
    std::free(mem);
    return 0;
}
"""

_FLAGS = ("-O3", "-march=native", "-std=c++17", "-shared", "-fPIC")


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _compiler() -> str | None:
    return shutil.which(os.environ.get("CXX", "c++")) or shutil.which("g++")


def _build(compiler: str) -> Path:
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True,
                             check=False).stdout
    key = hashlib.sha256("\0".join((_SOURCE, compiler, version, " ".join(_FLAGS),
                                    _cpu_flags())).encode()).hexdigest()[:16]
    library = cache_home() / "kernels" / f"small_head_attention-{key}.so"
    if library.exists():
        return library
    library.parent.mkdir(parents=True, exist_ok=True)
    source = library.with_suffix(".cpp")
    with atomic_path(source) as tmp:
        tmp.write_text(_SOURCE)
    logger.info("compiling the small-head attention kernel into %s", library)
    with atomic_path(library) as tmp:
        done = subprocess.run([compiler, *_FLAGS, "-x", "c++", str(source), "-o", str(tmp)],
                              capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"{compiler} failed on {source}:\n{done.stderr[-2000:]}")
    return library


@functools.lru_cache(maxsize=None)
def _library() -> ctypes.CDLL | None:
    if os.environ.get(ENV_SWITCH, "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    compiler = _compiler()
    if compiler is None:
        return None
    try:
        lib = ctypes.CDLL(str(_build(compiler)))
    except (OSError, RuntimeError) as err:
        warnings.warn(f"small-head attention kernel unavailable, using PyTorch's: {err}",
                      RuntimeWarning, stacklevel=3)
        return None
    fn = lib.small_head_attention
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                   ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                   ctypes.c_int64, ctypes.c_int64, ctypes.c_float]
    return lib


def available() -> bool:
    """Whether the compiled kernel can be used (compiles it on first call)."""
    return _library() is not None


_disabled = 0


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Within the block :func:`usable` is False, so callers run PyTorch's attention (an A/B of
    the two on the same weights)."""
    global _disabled
    _disabled += 1
    try:
        yield
    finally:
        _disabled -= 1


def usable(*tensors: torch.Tensor) -> bool:
    """Whether :func:`small_head_attention` can run on ``tensors`` here: plain CPU fp32 / bf16
    tensors outside any graph capture (ONNX export, ``torch.jit`` tracing, ``torch.compile`` /
    ``torch.export``, ``torch.func`` transforms — a foreign call is opaque to all of them),
    a compiled kernel, and not inside :func:`disabled`."""
    return (not _disabled and all(type(t) is torch.Tensor and t.device.type == "cpu"
                and t.dtype in (torch.float32, torch.bfloat16) for t in tensors)
            and not (torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
                     or torch.compiler.is_compiling()
                     or torch._C._are_functorch_transforms_active())
            and available())


@functools.lru_cache(maxsize=8)
def _pool(workers: int, pid: int) -> ThreadPoolExecutor:
    # keyed by the process: a forked child inherits the pool object but not its threads
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vszoo-attention")


def small_head_attention(qkv: torch.Tensor, num_heads: int, scale: float,
                         bias: torch.Tensor | None = None,
                         out_dtype: torch.dtype | None = None) -> torch.Tensor:
    """``softmax(q k^T * scale + bias) v`` for every window and head, heads merged.

    Args:
        qkv: [windows, tokens, 3 * num_heads * dim] (q, k, v, each heads-major), fp32 or bf16,
            on the CPU.
        bias: finite additive bias broadcast over windows, [heads, tokens, tokens] (a leading
            1 is accepted; no -inf masks: a fully masked row is not NaN here as in PyTorch).
        out_dtype: fp32 or bf16; default ``qkv``'s dtype.

    Returns [windows, tokens, num_heads * dim]. Equal to
    ``F.scaled_dot_product_attention`` in fp32 up to rounding (no gradient).
    """
    lib = _library()
    if lib is None:
        raise RuntimeError("the small-head attention kernel is not available (no C++ compiler "
                           f"or {ENV_SWITCH}=0); use available() first")
    out_dtype = qkv.dtype if out_dtype is None else out_dtype
    windows, tokens, width = qkv.shape
    if qkv.device.type != "cpu" or qkv.dtype not in (torch.float32, torch.bfloat16) \
            or out_dtype not in (torch.float32, torch.bfloat16) or width % (3 * num_heads):
        raise ValueError(f"small_head_attention needs CPU fp32/bf16 qkv [windows, tokens, "
                         f"3 * heads * dim]; got {qkv.dtype} {tuple(qkv.shape)} on "
                         f"{qkv.device} with {num_heads} heads, out {out_dtype}")
    dim = width // (3 * num_heads)
    if bias is not None and bias.numel() != num_heads * tokens * tokens:
        raise ValueError(f"small_head_attention: bias of shape {tuple(bias.shape)} is not "
                         f"[heads, tokens, tokens] = {[num_heads, tokens, tokens]}")
    out = torch.empty(windows, tokens, num_heads * dim, dtype=out_dtype)
    if out.numel() == 0:
        return out
    qkv = qkv.contiguous()
    if bias is not None:
        bias = bias.detach().to(torch.float32).reshape(num_heads, tokens, tokens).contiguous()
    args = (qkv.data_ptr(), int(qkv.dtype == torch.bfloat16),
            None if bias is None else bias.data_ptr(), out.data_ptr(),
            int(out_dtype == torch.bfloat16))
    call = lib.small_head_attention
    threads = min(torch.get_num_threads(), windows)
    if threads <= 1:
        bounds = [(0, windows)]
    else:
        edges = [windows * i // threads for i in range(threads + 1)]
        bounds = list(zip(edges[:-1], edges[1:]))
    # ctypes releases the GIL during the call: chunks of windows run in parallel threads
    if len(bounds) == 1:
        codes = [call(*args, 0, windows, tokens, num_heads, dim, scale)]
    else:
        pool = _pool(len(bounds), os.getpid())
        codes = list(pool.map(lambda b: call(*args, b[0], b[1], tokens, num_heads, dim, scale),
                              bounds))
    if any(codes):
        raise MemoryError("small_head_attention could not allocate its scratch memory")
    return out
