"""Ensem-NN (ensemble of residual 1-D CNNs): shapes, fusion arithmetic, learning."""
import math

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from zoo.datasets.skeleton import SyntheticSkeletonActions
from zoo.datasets.transforms.skeleton import (
    FormatGCNInput,
    PoseDecode,
    PreNormalize3D,
    UniformSampleFrames,
)
from zoo.models.skeleton.ensemble_cnn1d import (
    EnsembleCNN1D,
    EnsembleCNN1DHead,
    EnsembleCNN1DRecognizer,
    ResCNN1d,
    SameConv1d,
)

from zoo.registry import MODELS

init_default_scope("zoo")


def small_model(num_classes=4, layout="ntu25", num_person=1, num_frames=16, base=8,
                subnets=("two_stream", "body_part", "attention", "frame_diff")):
    backbone = dict(type="EnsembleCNN1D", layout=layout, num_person=num_person,
                    num_frames=num_frames, base_channels=base, subnets=subnets)
    groups = EnsembleCNN1D(layout=layout, num_person=num_person, num_frames=num_frames,
                           base_channels=base, subnets=subnets).groups
    return MODELS.build(dict(type="EnsembleCNN1DRecognizer", backbone=backbone,
                             cls_head=dict(type="EnsembleCNN1DHead", in_channels=4 * base,
                                           num_classes=num_classes, groups=groups)))


def test_same_padding_matches_tensorflow_lengths():
    conv = SameConv1d(1, 1, 8, stride=2, bias=False)
    for length in (7, 8, 31, 32):
        assert conv(torch.zeros(1, 1, length)).shape[-1] == math.ceil(length / 2)
    conv1 = SameConv1d(1, 1, 8, bias=False)
    torch.nn.init.ones_(conv1.weight)
    # TF 'same' for k=8: 3 zeros on the left, 4 on the right.
    out = conv1(torch.ones(1, 1, 10))[0, 0]
    assert out[0].item() == 5 and out[-1].item() == 4 and out[4].item() == 8


def test_base_net_shapes_and_paper_size():
    net = ResCNN1d(150)  # NTU: 2 bodies x 25 joints x 3
    assert net(torch.randn(2, 150, 300)).shape == (2, 256, 75)
    widths = [c.out_channels for c in net.convs]
    assert widths == [64, 64, 64, 128, 128, 128, 256, 256, 256]
    assert [c.stride[0] for c in net.convs] == [1, 1, 1, 2, 1, 1, 2, 1, 1]
    assert all(c.kernel_size[0] == 8 for c in net.convs)


def test_backbone_and_head_shapes_and_fusion_is_mean_of_softmax():
    model = small_model(num_classes=5, layout="ntu25", num_person=2)
    model.eval()
    x = torch.randn(3, 2, 16, 25, 3)
    feats = model.backbone(x)
    assert feats.shape == (3, 2 + 5 + 1 + 1, 32)
    with torch.no_grad():
        fused = model(x).softmax(-1)
        groups = model.cls_head.group_log_probs(feats).exp()
        stream = model.cls_head.fc(feats).softmax(-1)
    assert groups.shape == (3, 4, 5)
    torch.testing.assert_close(fused, groups.mean(1))
    # two-stream: renormalised product of the temporal and spatial softmax outputs
    prod = stream[:, 0] * stream[:, 1]
    torch.testing.assert_close(groups[:, 0], prod / prod.sum(-1, keepdim=True))
    # 6-D multi-clip input averages the clip probabilities
    clips = torch.randn(2, 3, 2, 16, 25, 3)
    with torch.no_grad():
        per_clip = model.predict_scores(clips.flatten(0, 1)).reshape(2, 3, 5).mean(1)
        torch.testing.assert_close(model.predict_scores(clips), per_clip)
        sub = model.subnet_scores(clips)
    assert set(sub) == {"two_stream", "body_part", "attention", "frame_diff", "fusion"}
    torch.testing.assert_close(sub["fusion"], per_clip)


def test_loss_is_sum_of_subnetwork_losses():
    model = small_model(num_classes=4)
    from zoo.structures import ClsDataSample
    samples = [ClsDataSample().set_gt_label(i % 4) for i in range(4)]
    losses = model(torch.randn(4, 1, 16, 25, 3), samples, mode="loss")
    parts = [losses[f"ce_{n}"] for n in ("two_stream", "body_part", "attention", "frame_diff")]
    torch.testing.assert_close(losses["loss_cls"].detach(), sum(parts))


def test_bad_input_is_named():
    model = small_model()
    with pytest.raises(ValueError, match="num_frames"):
        model(torch.randn(2, 1, 20, 25, 3))
    with pytest.raises(KeyError, match="unknown Ensem-NN"):
        EnsembleCNN1D(subnets=("lstm",))
    head = EnsembleCNN1DHead(32, 4)
    with pytest.raises(ValueError, match="stream features"):
        head(torch.randn(2, 3, 32))


def _synthetic_tensors(split, num_per_class, clip_len, num_clips=1, test_mode=False):
    ds = SyntheticSkeletonActions(split=split, num_per_class=num_per_class, num_classes=4,
                                  frames=(30, 50), seed=3)
    pipe = [PreNormalize3D("ntu25"), UniformSampleFrames(clip_len, num_clips, test_mode),
            PoseDecode(), FormatGCNInput(num_person=1)]
    xs, ys = [], []
    for i in range(len(ds)):
        s = ds.get_data_info(i)
        s = dict(s, keypoint=s["keypoint"].copy())
        for t in pipe:
            s = t(s)
        xs.append(s["keypoint"])
        ys.append(s["label"])
    return torch.from_numpy(np.stack(xs)), torch.tensor(ys)


def test_learns_synthetic_actions():
    torch.manual_seed(0)
    np.random.seed(0)
    x, y = _synthetic_tensors("train", 16, 16)
    xt, yt = _synthetic_tensors("test", 8, 16, num_clips=2, test_mode=True)
    model = small_model(num_classes=4)
    assert isinstance(model, EnsembleCNN1DRecognizer)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    from zoo.structures import ClsDataSample
    model.train()
    for _epoch in range(12):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 16):
            idx = perm[i:i + 16]
            samples = [ClsDataSample().set_gt_label(int(v)) for v in y[idx]]
            loss = model(x[idx], samples, mode="loss")["loss_cls"]
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        sub = model.subnet_scores(xt)
    acc = {k: (v.argmax(-1) == yt).float().mean().item() for k, v in sub.items()}
    assert acc["fusion"] >= 0.9, acc
    assert min(acc.values()) >= 0.5, acc


def base_net_params(f: int, b: int = 64, k: int = 8, preact: bool = False,
                    attention: bool = False) -> int:
    """Parameters of one Base-Net counted from the architecture (docs/formats_cnn1d.md), not
    from the module: stem ``Conv1d(f, b, k)``, nine ``k``-wide convolutions with BatchNorm
    (on the input width when pre-activated), 1x1 projections into groups 2 and 3, a final
    BatchNorm, and for the attention net a ``Linear(w, 2w) - Linear(2w, 1)`` per group."""
    widths = [b] * 3 + [2 * b] * 3 + [4 * b] * 3
    inputs = [b] + widths[:-1]
    total = f * b * k + b
    total += sum(c * w * k + w for c, w in zip(inputs, widths))
    total += 2 * sum(inputs if preact else widths)
    total += (b * 2 * b + 2 * b) + (2 * b * 4 * b + 4 * b)
    total += 2 * 4 * b
    if attention:
        total += sum(2 * w * w + 2 * w + 2 * w + 1 for w in (b, 2 * b, 4 * b))
    return total


def test_paper_size_for_ntu_input_is_16_65_million():
    """The README's 16.65 M: NTU input (2 bodies x 25 joints x 3, 64 frames), base width 64."""
    net = EnsembleCNN1D(in_channels=3, layout="ntu25", num_person=2, num_frames=64,
                        base_channels=64)
    feat = 2 * 25 * 3
    parts = [2 * len(p) * 3 for p in net.body_parts]
    assert parts == [36, 36, 24, 24, 30]  # arms (6 joints with hand tips), legs, trunk
    expected = (base_net_params(feat)  # temporal stream
                + base_net_params(64)  # spatial stream: the 64 frames are the channels
                + sum(base_net_params(f) for f in parts)
                + (feat * 300 + 300 + 300 * feat + feat)  # input attention
                + base_net_params(feat, preact=True, attention=True)
                + base_net_params(feat))  # frame differences
    count = sum(p.numel() for p in net.parameters())
    assert count == expected == 16_647_765
    assert round(count / 1e6, 2) == 16.65
