"""SkateFormer: fidelity to the official outputs, parameter counts, converter errors, learning."""
import pytest
import torch
from mmengine.registry import init_default_scope
from shared_data import assert_close_to_scale
from zoo.models.classifiers import SkeletonRecognizer
from zoo.models.skeleton.graph import get_layout
from zoo.models.skeleton.skateformer import SKATE_PARTITIONS, SkateFormer, default_index_t

from zoo.converters import convert_skateformer_official
from zoo.structures import ClsDataSample

init_default_scope("zoo")

# fixture name -> (zoo layout, persons, mlp_ratio, classes, README parameter count)
OFFICIAL = {
    "ntu60": ("ntu25", 2, 4.0, 60, 3_616_083),
    "ucla": ("kinect20", 1, 1.0, 10, 1_925_921),
}


def zoo_recognizer(layout: str, persons: int, mlp_ratio: float, num_classes: int):
    return SkeletonRecognizer(
        backbone=dict(type="SkateFormer", layout=layout, num_persons=persons,
                      mlp_ratio=mlp_ratio),
        cls_head=dict(type="GCNHead", in_channels=192, num_classes=num_classes),
    )


def to_zoo_layout(x_official: torch.Tensor, layout: str, fill: float) -> torch.Tensor:
    """Official [N, C, T, V_skate, M] (joints in Skate order) -> zoo [N, M, T, V, C], with
    the layout's unused joints set to ``fill``."""
    n, c, t, _, m = x_official.shape
    x = torch.full((n, m, t, get_layout(layout).num_joints, c), fill)
    x[:, :, :, list(SKATE_PARTITIONS[layout].order)] = x_official.permute(0, 4, 2, 3, 1)
    return x


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_converted_official_weights_give_the_official_logits(reference_dir, name):
    ref = torch.load(reference_dir / f"skateformer_official_{name}.pt", weights_only=True)
    layout, persons, mlp_ratio, num_classes, params = OFFICIAL[name]
    model = zoo_recognizer(layout, persons, mlp_ratio, num_classes)
    kwargs = ref["meta"]["kwargs"]
    assert kwargs["index_t"] and kwargs["num_people"] == persons
    assert kwargs["num_points"] == len(SKATE_PARTITIONS[layout].order)
    assert [list(s) for s in model.backbone.type_sizes] == [
        kwargs[f"type_{i}_size"] for i in range(1, 5)]
    assert sum(p.numel() for p in model.parameters()) == params
    model.load_state_dict(convert_skateformer_official(ref["state_dict"]), strict=True)
    model.eval()

    # [N, C, T, V_skate, M], [N, T]: the fixture's index_t is linspace(-1, 1, T), an input
    # like any other (the default is what the feeders compute, tested below)
    x_official, index_t = ref["inputs"]
    outputs = []
    for fill in (0.0, 1e3):  # the unused joints (NTU spine_shoulder) must not matter
        x = to_zoo_layout(x_official, layout, fill)
        with torch.no_grad():
            outputs.append(model.cls_head(model.backbone(x, index_t)))
    # logits of scale ~0.9: measured error 1.8e-7 (NTU-60) / 3.0e-7 (NW-UCLA); atol 1e-4 was
    # 300x looser than that
    assert_close_to_scale(outputs[0], ref["logits"], 2e-6)
    torch.testing.assert_close(outputs[1], outputs[0], atol=0, rtol=0)


def test_ntu_skate_order_is_the_official_feeder_order():
    """The official NTU feeder's ``new_idx`` (1-based NTU joints), spine_shoulder dropped."""
    official = [7, 8, 22, 23, 11, 12, 24, 25, 13, 14, 15, 16, 17, 18, 19, 20, 5, 9, 6, 10,
                2, 3, 1, 4]
    order = SKATE_PARTITIONS["ntu25"].order
    assert list(order) == [j - 1 for j in official]
    assert set(range(25)) - set(order) == {get_layout("ntu25").joints.index("spine_shoulder")}
    assert list(SKATE_PARTITIONS["kinect20"].order) == [j - 1 for j in (
        5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 2, 3, 1, 4)]


def test_default_index_t_and_index_t_is_used():
    torch.manual_seed(0)
    net = tiny_skateformer().eval()
    x = torch.randn(2, 1, 16, 20, 3)
    with torch.no_grad():
        default = net(x)
        explicit = net(x, default_index_t(2, 16))
        shifted = net(x, default_index_t(2, 16) * 0.5)
    assert default.shape == (2, 1, 32, 8, 20)
    torch.testing.assert_close(default, explicit, atol=0, rtol=0)
    assert (default - shifted).abs().max() > 1e-4


def feeder_index_t(frames: torch.Tensor, num_valid: int) -> torch.Tensor:
    """What every official feeder (KAIST-VICLab/SkateFormer ``feeders/tools.py``
    ``valid_crop_resize`` / ``valid_crop_uniform``, ``feeder_ucla.py``) returns as index_t:
    ``2 * s / L - 1`` for source frame positions ``s`` of a sequence of ``L`` valid frames."""
    return 2 * frames.double() / num_valid - 1


@pytest.mark.parametrize("num_valid", [64, 128, 192, 320])
def test_default_index_t_is_what_the_official_feeders_compute(num_valid):
    """The default (no index_t given) is the feeders' index_t of a clip that takes every
    ``L/T``-th frame of the whole sequence: NTU ``valid_crop_uniform`` with
    ``p_interval=[1]`` (``s_i = i * L // T``), and for ``L = T`` also NTU
    ``valid_crop_resize`` (linear resize, ``align_corners=False``: the identity) and the
    NW-UCLA test branch (``s = int(linspace(0, L - 1, T))``)."""
    t = 64
    default = default_index_t(3, t).double()
    assert default.shape == (3, t)
    uniform = feeder_index_t(torch.arange(t) * num_valid // t, num_valid)
    torch.testing.assert_close(default, uniform.expand(3, -1), atol=1e-7, rtol=0)
    if num_valid == t:
        resized = torch.nn.functional.interpolate(
            torch.arange(num_valid, dtype=torch.float64)[None, None], size=t, mode="linear",
            align_corners=False)[0, 0]
        ucla = torch.linspace(0, num_valid - 1, t).long()
        for frames in (resized, ucla):
            torch.testing.assert_close(default[0], feeder_index_t(frames, num_valid),
                                       atol=1e-7, rtol=0)
    # the fidelity fixture's input, linspace(-1, 1, T), is not a feeder output: s < L, so no
    # feeder reaches +1
    assert default.max() < 1 and not torch.allclose(default[0], torch.linspace(-1, 1, t).double())


def test_coco17_partition_and_input_errors():
    net = SkateFormer(layout="coco17", num_persons=2, embed_dim=32, channels=(32, 32),
                      depths=(1, 1), num_heads=16, attn_drop=0.0, drop_path=0.0)
    assert net.type_sizes == ((8, 3), (8, 10), (8, 3), (8, 10))
    assert net(torch.randn(1, 2, 16, 17, 3)).shape == (1, 2, 32, 8, 15)
    with pytest.raises(ValueError, match="V=17.*got M=2, V=25"):
        net(torch.randn(1, 2, 16, 25, 3))
    with pytest.raises(ValueError, match="T=12 frames, not divisible by Skate-Type 1"):
        net(torch.randn(1, 2, 12, 17, 3))
    with pytest.raises(ValueError, match="index_t must be"):
        net(torch.randn(1, 2, 16, 17, 3), torch.zeros(1, 8))
    with pytest.raises(KeyError, match="no Skate partition for layout 'openpose18'"):
        SkateFormer(layout="openpose18")


def test_converter_names_missing_and_unexpected_keys(reference_dir):
    ref = torch.load(reference_dir / "skateformer_official_ucla.pt", weights_only=True)
    state = dict(ref["state_dict"])
    missing = "stages.2.blocks.1.transformer.mlp.fc1.weight"
    del state[missing]
    with pytest.raises(KeyError, match=f"missing the key '{missing}'"):
        convert_skateformer_official(state)
    state = dict(ref["state_dict"])
    del state["stages.3.blocks.0.downsample.bn.running_var"]
    with pytest.raises(KeyError, match="stages.3.blocks.0.downsample.bn.running_var"):
        convert_skateformer_official(state)
    with pytest.raises(KeyError, match="unexpected key 'fc.weight'"):
        convert_skateformer_official({**ref["state_dict"], "fc.weight": torch.zeros(1)})


TINY = dict(layout="kinect20", num_persons=1, embed_dim=32, channels=(32, 32), depths=(1, 1),
            num_heads=16, type_sizes=((4, 4), (4, 5), (4, 4), (4, 5)), mlp_ratio=2.0,
            attn_drop=0.0, drop_path=0.0)


def tiny_skateformer() -> SkateFormer:
    return SkateFormer(**TINY)


def test_tiny_skateformer_learns_two_motions():
    """Two classes that differ only in how a hand moves: the loss must fall clearly and the
    model must then classify fresh samples."""
    torch.manual_seed(0)
    t = torch.linspace(0, 6.28, 16)

    def batch(n):
        x = torch.randn(n, 1, 16, 20, 3) * 0.05
        y = torch.arange(n) % 2
        x[y == 0, 0, :, 7, 1] += torch.sin(t)  # left hand moves up and down
        x[y == 1, 0, :, 11, 0] += torch.sin(t)  # right hand moves sideways
        return x, y

    model = SkeletonRecognizer(backbone=dict(type="SkateFormer", **TINY),
                               cls_head=dict(type="GCNHead", in_channels=32, num_classes=2))
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3)
    x, y = batch(16)
    samples = [ClsDataSample().set_gt_label(int(label)) for label in y]
    losses = []
    for _ in range(25):
        loss = model(x, samples, mode="loss")["loss_cls"]
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    table = model.backbone.stages[0].blocks[0].msa[1].rel_bias_table
    assert table.grad is not None and table.grad.abs().sum() > 0
    assert losses[-1] < 0.3 * losses[0], losses

    # The weights moved fast, so the BatchNorm running statistics (momentum 0.1) lag behind;
    # re-estimate them on the training batch (precise BN) before evaluating.
    for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.reset_running_stats()
        bn.momentum = None
    with torch.no_grad():
        model(x)
    model.eval()
    x_test, y_test = batch(32)
    with torch.no_grad():
        acc = (model(x_test).argmax(-1) == y_test).float().mean()
    assert acc >= 0.9


def test_attention_dropout_path_is_the_same_attention(monkeypatch):
    """Training with attention dropout takes the written-out path (scores, bias, softmax,
    fast_dropout, values): without the drop it equals the fused eval path, and with it the
    mean over draws converges to the eval output (inverted dropout is unbiased)."""
    import zoo.models.skeleton.skateformer as skateformer

    torch.manual_seed(0)
    for joint_pair_bias in (True, False):
        msa = skateformer.SkateMSA(num_heads=4, size=(4, 5), joint_pair_bias=joint_pair_bias,
                                   attn_drop=0.5)
        windows = torch.randn(3, 20, 3 * 4 * 8)
        ref = msa.eval()(windows)
        with monkeypatch.context() as patch:
            patch.setattr(skateformer, "fast_dropout", lambda x, p: x)
            torch.testing.assert_close(msa.train()(windows), ref, rtol=1e-5, atol=1e-6)
        draws = torch.stack([msa(windows) for _ in range(400)])
        assert not torch.equal(draws[0], draws[1])
        error = (draws.mean(0) - ref).abs().mean() / ref.abs().mean()
        assert error < 0.08, error


@pytest.mark.parametrize("kernel", [True, False])
def test_bf16_autocast_attention_runs_in_fp32_on_the_cpu(monkeypatch, request, kernel):
    """Under bf16 autocast on the CPU, Skate-MSA takes its bf16 windows through an fp32
    attention — the compiled small-head kernel, or without it PyTorch's fused attention in fp32
    (faster there than its bf16 path on 3-6-channel heads; benchmarks/results/
    skateformer_attention.md) — and returns bf16: the fp32 attention of the
    bf16-rounded windows (bit for bit with PyTorch's kernel, to one bf16 rounding with the
    compiled one), and nearer the fp32 module than the bf16 kernel is; a partition asked for
    fp32 windows casts them in the copy that cuts them."""
    import torch.nn.functional as F
    import zoo.models.skeleton.skateformer as skateformer
    from zoo.models.skeleton.skateformer import SkateMSA, skate_partition

    if kernel:
        request.getfixturevalue("attention_kernel")  # skip (or fail in CI) without a compiler
    else:
        monkeypatch.setattr(skateformer, "small_head_attention_usable", lambda x: False)
    torch.manual_seed(0)
    msa = SkateMSA(num_heads=4, size=(8, 12), joint_pair_bias=True).eval()
    with torch.no_grad():
        msa.rel_bias_table.normal_(0, 1.0)  # a bias that matters
    windows = torch.randn(6, 96, 3 * 4 * 3).bfloat16()  # head dim 3, as in the first stage
    with torch.no_grad():
        exact = msa(windows.float())  # fp32 module, no autocast
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert msa.fp32_on_cpu(windows)
            out = msa(windows)
        q, k, v = windows.float().reshape(6, 96, 3, 4, 3).permute(2, 0, 3, 1, 4).unbind(0)
        fp32 = F.scaled_dot_product_attention(q, k, v, attn_mask=msa.relative_bias(),
                                              scale=0.5).transpose(1, 2).reshape(6, 96, 12)
        bf16 = F.scaled_dot_product_attention(
            q.bfloat16(), k.bfloat16(), v.bfloat16(),
            attn_mask=msa.relative_bias().bfloat16(), scale=0.5
        ).transpose(1, 2).reshape(6, 96, 12)
    assert out.dtype == torch.bfloat16
    if kernel:
        with torch.no_grad():
            assert msa.compiled_kernel(windows)
        torch.testing.assert_close(out.float(), fp32, rtol=2 ** -8, atol=1e-6)
    else:
        torch.testing.assert_close(out, fp32.bfloat16(), rtol=0, atol=0)
    assert (out.float() - exact).abs().max() < (bf16.float() - exact).abs().max()
    # training with attention dropout keeps its written-out path
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not SkateMSA(4, (8, 12), True, attn_drop=0.5).train().fp32_on_cpu(windows)
    assert not msa.fp32_on_cpu(windows)  # no autocast: the module's own dtype
    x = torch.randn(2, 12, 16, 24).bfloat16()
    cut, _, _ = skate_partition(x, (8, 8), False, False, dtype=torch.float32)
    plain, _, _ = skate_partition(x, (8, 8), False, False)
    assert cut.dtype == torch.float32 and cut.is_contiguous()
    torch.testing.assert_close(cut, plain.float(), rtol=0, atol=0)


def test_inference_runs_the_compiled_attention_kernel(monkeypatch, attention_kernel):
    """Evaluation without autograd runs Skate-MSA through zoo.ops.small_head_attention: the
    same logits as PyTorch's attention (fp32, and under the zoo's bf16 autocast); training
    with attention dropout and evaluation that needs gradients (attacks) keep PyTorch's."""
    import zoo.models.skeleton.skateformer as skateformer

    from zoo.engine.amp import bf16_autocast

    calls = []

    def counted(*args, **kwargs):
        calls.append(args[0].dtype)
        return attention_kernel.small_head_attention(*args, **kwargs)

    monkeypatch.setattr(skateformer, "small_head_attention", counted)
    torch.manual_seed(0)
    model = SkateFormer(**TINY).eval()
    x = torch.randn(3, 1, 16, 20, 3)
    with torch.no_grad():
        fast = model(x)
        with bf16_autocast(model):
            fast_bf16 = model(x)
    assert calls == [torch.float32] * 8 + [torch.bfloat16] * 8  # 2 blocks x 4 Skate-Types
    calls.clear()
    with attention_kernel.disabled():
        with torch.no_grad():
            slow = model(x)
            with bf16_autocast(model):
                slow_bf16 = model(x)
    assert not calls
    assert_close_to_scale(fast, slow, 1e-6)
    assert_close_to_scale(fast_bf16.float(), slow_bf16.float(), 2e-2)

    # gradients needed (an attack's input gradient): PyTorch's attention, same output
    x_grad = x.clone().requires_grad_(True)
    out = model(x_grad)
    out.sum().backward()
    assert not calls and x_grad.grad.abs().sum() > 0
    assert_close_to_scale(out.detach(), slow, 1e-6)
    # training with attention dropout: the written-out path, even without autograd
    dropping = SkateFormer(**{**TINY, "attn_drop": 0.5}).train()
    with torch.no_grad():
        dropping(x)
    assert not calls
