"""HealthiVert-GAN issue-25 parts: fracture classifier, Grad-CAM++ heat-map writer, HGAM /
position ablation switches, generator EMA and validation checkpoint selection."""
from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import nibabel as nib
import numpy as np
import pytest
import torch
from mmengine.config import Config
from torch.utils.data import default_collate
from zoo.datasets.medical.fracture_dataset import VertebraFractureDataset
from zoo.datasets.medical.healthivert_dataset import HealthiVertPhantomDataset
from zoo.datasets.medical.spine_io import load_spine_volume, sagittal, vertebra_crop
from zoo.datasets.medical.spine_phantom import generate_phantom_set
from zoo.models.medical.fracture_classifier import VertebraFractureClassifier
from zoo.models.medical.healthivert_gan import HealthiVertGAN

from zoo.analysis.grad_cam import GradCAMPlusPlus
from zoo.medical.fracture_heatmap import case_heatmap, write_case_heatmap

torch.set_num_threads(1)
CONFIG = "configs/medical/healthivert_phantom.py"


@pytest.fixture(scope="module")
def fractured_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("fractured")
    generate_phantom_set(root, 4, seed=21, fractured=True)  # targets of grade 0, 1, 2, 3
    return root


def _inputs(n: int = 2, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    mask = torch.zeros(n, 1, 64, 64)
    mask[..., 20:44, :] = 1
    return dict(masked=torch.rand(n, 1, 64, 64, generator=g) * 2 - 1, mask=mask,
                attention=torch.rand(n, 1, 64, 64, generator=g),
                slice_ratio=torch.rand(n, generator=g), height=torch.tensor([20] * n),
                x1=torch.tensor([22] * n), x2=torch.tensor([41] * n),
                real=torch.rand(n, 1, 64, 64, generator=g) * 2 - 1)


def _small_gan(**kw) -> HealthiVertGAN:
    torch.manual_seed(0)
    model = HealthiVertGAN(generator=dict(ngf=4, dilations=(2, 4)),
                           discriminator=dict(ndf=8, n_layers=3), **kw)
    with torch.no_grad():  # power iterations of the spectral norms: without them the
        for _ in range(10):  # untrained generator's outputs saturate
            model.generate(_inputs())
    return model.eval()


@pytest.mark.parametrize("switch", ["use_heatmap", "use_position"])
def test_ablation_switches_replace_the_channel_by_a_constant(switch):
    inputs = _inputs()
    other = dict(inputs)
    key = "attention" if switch == "use_heatmap" else "slice_ratio"
    other[key] = torch.rand_like(inputs[key]) * 0.5 + 0.5
    full, ablated = _small_gan(), _small_gan(**{switch: False})
    # the generator sees the channel as given / as the constant
    att, ratio = full.generator_inputs(inputs)
    assert torch.equal(att, inputs["attention"]) and torch.equal(ratio, inputs["slice_ratio"])
    att, ratio = ablated.generator_inputs(inputs)
    if switch == "use_heatmap":
        assert torch.equal(att, torch.ones_like(att))
        assert torch.equal(ratio, inputs["slice_ratio"])
    else:
        assert torch.equal(ratio, torch.zeros_like(ratio))
        assert torch.equal(att, inputs["attention"])
    with torch.no_grad():
        a, b = full.generate(inputs), full.generate(other)
        c, d = ablated.generate(inputs), ablated.generate(other)
    # the channel reaches the output of the full model, and not that of the ablated one
    assert not torch.allclose(a["coarse_seg"], b["coarse_seg"])
    assert not torch.allclose(a["fine_seg"], b["fine_seg"])
    for k in ("coarse_seg", "fine_seg", "fine_image", "fine_height"):
        assert torch.equal(c[k], d[k])


def test_ablation_is_one_cfg_option_away():
    from zoo.apis import init_model

    for opt in ("use_heatmap", "use_position"):
        model = init_model(CONFIG, cfg_options={f"model.{opt}": False})
        assert getattr(model, opt) is False
        assert getattr(init_model(CONFIG), opt) is True


def test_validation_set_is_separate_and_selects_the_best_checkpoint():
    cfg = Config.fromfile(CONFIG)
    val, test = cfg.val_dataloader.dataset, cfg.test_dataloader.dataset
    assert val.data_root != test.data_root and val.seed != test.seed
    assert val.data_root != cfg.train_dataloader.dataset.data_root
    ckpt = cfg.default_hooks.checkpoint
    assert ckpt.save_best == "healthivert/rhlv_mae" and ckpt.rule == "less"
    assert cfg.train_cfg.val_interval < cfg.train_cfg.max_iters


def test_ema_hook_follows_the_ema_formula_and_saves_the_average(tmp_path):
    from mmengine.registry import HOOKS

    cfg = Config.fromfile(CONFIG)
    hook_cfg = next(h for h in cfg.custom_hooks if h["type"] == "EMAHook")
    hook_cfg = dict(hook_cfg, begin_iter=2)
    m = hook_cfg["momentum"]
    hook = HOOKS.build(hook_cfg)
    model = _small_gan().train()
    runner = SimpleNamespace(model=model, iter=0)
    hook.before_run(runner)
    names = [n for n, _ in model.generator.named_parameters()]
    expected = None
    torch.manual_seed(1)
    for it in range(6):
        with torch.no_grad():  # a "training step": every weight moves
            for p in model.parameters():
                p.add_(torch.randn_like(p) * 0.1)
        runner.iter = it
        hook.after_train_iter(runner, it)
        current = {n: p.detach().clone() for n, p in model.generator.named_parameters()}
        if it + 1 < 2:  # before begin_iter the average is a copy
            expected = None
        elif expected is None:
            expected = current
        else:
            expected = {n: (1 - m) * expected[n] + m * current[n] for n in names}
        avg = dict(hook.ema_model.module.generator.named_parameters())
        ref = current if expected is None else expected
        for n in names:
            torch.testing.assert_close(avg[n], ref[n], rtol=0, atol=1e-6)
    assert any(not torch.allclose(expected[n], current[n]) for n in names)
    # a checkpoint's state_dict holds the average (what the benchmark loads)
    ckpt = dict(state_dict=copy.deepcopy(model.state_dict()))
    hook.before_save_checkpoint(runner, ckpt)
    for n in names:
        torch.testing.assert_close(ckpt["state_dict"][f"generator.{n}"], expected[n])
    # validation runs on the average and gives the training weights back afterwards
    hook.before_val_epoch(runner)
    torch.testing.assert_close(dict(model.generator.named_parameters())[names[0]],
                               expected[names[0]])
    hook.after_val_epoch(runner)
    torch.testing.assert_close(dict(model.generator.named_parameters())[names[0]],
                               current[names[0]])


def test_heatmap_writer_and_dataset_channel(fractured_root):
    torch.manual_seed(0)
    clf = VertebraFractureClassifier(widths=(4, 8, 8, 8)).eval()
    cam = GradCAMPlusPlus(clf, "features")
    case = sorted(fractured_root.glob("case_*"))[3]
    info = write_case_heatmap(cam, case, class_index=1, slice_divisor=3.0)
    path = case / "heatmap.nii.gz"
    assert info["path"] == str(path) and path.is_file()
    assert not list(case.glob("*.tmp*"))  # written through a temporary name
    ct = nib.load(str(case / "ct.nii.gz"))
    img = nib.load(str(path))
    assert img.shape == ct.shape and np.allclose(img.affine, ct.affine)
    heat = load_spine_volume(case / "label.nii.gz", path, window=None).image
    assert heat.dtype == np.float32 and 0 <= heat.min() and heat.max() <= 1 + 1e-6
    vals = np.unique(np.round(heat, 4))
    assert vals.size > 10  # a float map, not rounded to 0 / 1
    vol = load_spine_volume(case / "label.nii.gz")
    meta = json.loads((case / "meta.json").read_text())
    target = meta["target_label"]
    xs = np.flatnonzero((vol.label == target).any(axis=(1, 2)))
    assert heat[: xs.min()].max() == 0  # only central slices of the vertebrae get a map
    # the map around the target on its centre slice is the Grad-CAM++ map of the target crop
    x = int(round(xs.mean()))
    img_crop, _, centre = vertebra_crop(load_spine_volume(case / "label.nii.gz",
                                                          case / "ct.nii.gz").image,
                                        vol.label, target, x, (64, 64))
    direct = cam(torch.from_numpy(img_crop)[None, None].float(), 1)[0].numpy()
    pasted = vertebra_crop(None, heat, target, x, (64, 64), centre=centre)[1]
    rows = np.flatnonzero((sagittal(vol.label, x) == target).any(axis=1))
    crop_rows = rows - (centre[0] - 32)
    cols = np.arange(64)
    inside = cols[(cols + centre[1] - 32 >= 0) & (cols + centre[1] - 32 < heat.shape[1])]
    np.testing.assert_allclose(pasted[np.ix_(crop_rows, inside)],
                               direct[np.ix_(crop_rows, inside)], atol=1e-5)
    # the HealthiVert data set feeds 1 - heat map (shifted like the image) to the generator
    ds = HealthiVertPhantomDataset(str(fractured_root), targets="target")
    sample = next(s for s in ds.data_list if s["case_id"] == 3 and s["slice_index"] == x)
    att = sample["attention"][0]
    band = sample["mask"][0] > 0
    assert (att[band] == 1).all()  # the band itself carries no heat
    x1 = sample["x1"]
    lo = int(np.flatnonzero(band.any(axis=1)).min())
    # the row just above the band is the heat-map row just above the vertebra
    np.testing.assert_allclose(att[lo - 1], 1 - pasted[x1 - 1], atol=1e-6)
    assert att.min() < 1 - 1e-3 and np.unique(np.round(att, 4)).size > 10


def test_case_heatmap_is_empty_for_no_vertebra_slice(fractured_root):
    clf = VertebraFractureClassifier(widths=(4, 8, 8, 8)).eval()
    heat, affine, info = case_heatmap(GradCAMPlusPlus(clf, "features"),
                                      sorted(fractured_root.glob("case_*"))[0])
    assert set(info["prob"]) == {v["label"] for v in json.loads(
        (sorted(fractured_root.glob("case_*"))[0] / "meta.json").read_text())["vertebrae"]}
    assert all(0 <= p <= 1 for p in info["prob"].values())
    assert heat[0].max() == 0 and heat[-1].max() == 0


@pytest.mark.slow
def test_classifier_learns_fractured_vs_healthy_on_phantoms(tmp_path):
    train = VertebraFractureDataset(str(tmp_path / "train"), num_cases=12, seed=31,
                                    flip_prob=0.5)
    test = VertebraFractureDataset(str(tmp_path / "test"), num_cases=8, seed=32)
    counts = train.class_counts()
    assert counts[1] > 0 and counts[0] > counts[1]
    torch.manual_seed(0)
    model = VertebraFractureClassifier(widths=(8, 16, 16, 32), class_weight=(1.0, 5.0))
    opt = torch.optim.AdamW(model.parameters(), 3e-3, weight_decay=1e-4)
    loader = torch.utils.data.DataLoader(train, batch_size=32, shuffle=True,
                                         collate_fn=default_collate)
    model.train()
    for _ in range(4):
        for batch in loader:
            loss = model(batch["inputs"], batch["data_samples"], mode="loss")["loss_cls"]
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    batch = default_collate([test[i] for i in range(len(test))])
    with torch.no_grad():
        pred = model(batch["inputs"]).argmax(1).numpy()
    y = batch["data_samples"]["label"].numpy()
    recall = [(pred[y == c] == c).mean() for c in (0, 1)]
    assert min(recall) > 0.8, recall
    # its Grad-CAM++ maps of the fractured class lie on the vertebra in the crop centre more
    # than on the crop's top and bottom rows (the neighbours) for fractured slices
    frac = batch["inputs"][y == 1]
    maps = GradCAMPlusPlus(model, "features")(frac, 1).numpy()
    centre_heat, edge_heat = maps[:, 20:44].mean(), np.r_["1", maps[:, :10], maps[:, 54:]].mean()
    assert centre_heat > edge_heat


def test_write_heatmaps_tool_covers_every_case(fractured_root, tmp_path):
    import importlib.util

    from zoo.apis import init_model

    spec = importlib.util.spec_from_file_location("write_heatmaps",
                                                  "tools/medical/write_heatmaps.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    cfg = "configs/medical/fracture_classifier_phantom.py"
    torch.manual_seed(0)
    ckpt = tmp_path / "clf.pth"
    torch.save({"state_dict": init_model(cfg).state_dict()}, ckpt)
    import shutil

    root = tmp_path / "cases"
    for name in ("case_0000", "case_0001"):
        shutil.copytree(fractured_root / name, root / name,
                        ignore=shutil.ignore_patterns("heatmap.nii.gz"))
    summary = tool.main([cfg, str(ckpt), str(root), "--summary", str(tmp_path / "s.json")])
    cases = sorted(root.glob("case_*"))
    assert sorted(summary) == [str(c) for c in cases]
    assert all((c / "heatmap.nii.gz").is_file() for c in cases)
    assert json.loads((tmp_path / "s.json").read_text()).keys() == summary.keys()
    assert tool.main([cfg, str(ckpt), str(root), "--skip-existing"]) == {}
    with pytest.raises(FileNotFoundError, match="no case_"):
        tool.main([cfg, str(ckpt), str(tmp_path)])


def test_heatmap_writer_straightened_case_is_read_by_the_straightening_dataset(fractured_root,
                                                                            tmp_path):
    import shutil

    root = tmp_path / "cases"
    shutil.copytree(fractured_root / "case_0002", root / "case_0000",
                    ignore=shutil.ignore_patterns("heatmap.nii.gz", "straightened"))
    torch.manual_seed(0)
    cam = GradCAMPlusPlus(VertebraFractureClassifier(widths=(4, 8, 8, 8)).eval(), "features")
    info = write_case_heatmap(cam, root / "case_0000", straighten=True)
    assert info["path"] == str(root / "case_0000" / "straightened" / "heatmap.nii.gz")
    assert not (root / "case_0000" / "heatmap.nii.gz").exists()
    plain = HealthiVertPhantomDataset(str(root), targets="target")
    straight = HealthiVertPhantomDataset(str(root), targets="target", straighten=True)
    # the straightened copy was not re-made (its heat map is kept) and its map is read
    assert (root / "case_0000" / "straightened" / "heatmap.nii.gz").is_file()
    assert all((s["attention"] == 1).all() for s in plain.data_list)
    assert any(s["attention"].min() < 1 - 1e-3 for s in straight.data_list)
