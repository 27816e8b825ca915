"""tools/test.py on the HealthiVert config: metrics and the --show-dir PNG per vertebra."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from zoo.models.medical.healthivert_gan import HealthiVertGAN

CONFIG = "configs/medical/healthivert_phantom.py"


def test_test_tool_writes_one_png_per_vertebra(tmp_path):
    sys.path.insert(0, "tools")
    from test import main

    torch.manual_seed(0)
    model = HealthiVertGAN(generator=dict(ngf=4, dilations=(2, 4)),
                           discriminator=dict(ndf=8, n_layers=3), max_height=24, local_width=18)
    ckpt = tmp_path / "tiny.pth"
    torch.save({"state_dict": model.state_dict()}, ckpt)
    options = ["model.generator.ngf=4", "model.generator.dilations=[2,4]",
               "model.discriminator.ndf=8", f"test_dataloader.dataset.data_root={tmp_path / 'ph'}",
               "test_dataloader.dataset.num_cases=1"]
    metrics = main([CONFIG, str(ckpt), "--work-dir", str(tmp_path / "work"),
                    "--show-dir", str(tmp_path / "png"), "--show-max", "1",
                    "--cfg-options", *options])
    assert metrics["healthivert/num_vertebrae"] == 1
    # the one vertebra tested is the phantom case's designated target
    cases = sorted((tmp_path / "ph").glob("case_*"))
    assert len(cases) == 1
    target = json.loads((cases[0] / "meta.json").read_text())["target_label"]
    pngs = sorted((tmp_path / "png").glob("*.png"))
    assert [p.name for p in pngs] == [f"case0000_vertebra{target}.png"]
    assert pngs[0].read_bytes()[:4] == b"\x89PNG" and pngs[0].stat().st_size > 10_000


def test_show_dir_without_a_show_hook_is_named(tmp_path):
    sys.path.insert(0, "tools")
    from test import show_hook

    from zoo.runner_utils import load_config

    cfg = load_config("configs/image/smallcnn_digits.py", work_dir=str(tmp_path))
    with pytest.raises(ValueError, match="smallcnn_digits.py: --show-dir needs a `show_hook`"):
        show_hook(cfg, str(tmp_path), 2, "configs/image/smallcnn_digits.py")


def _script_module(path: str = "benchmarks/healthivert_phantom.py"):
    import importlib.util
    spec = importlib.util.spec_from_file_location(path.rsplit("/", 1)[-1][:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("config, curved", [(CONFIG, True),
                                            ("configs/medical/healthivert_phantom_straight.py",
                                             False)])
def test_benchmark_prepares_held_out_phantoms_like_the_config(tmp_path, config, curved):
    from mmengine.config import Config

    bench = _script_module()
    data_cfg = Config.fromfile(config).test_dataloader.dataset
    dataset = bench.held_out_dataset(data_cfg, str(tmp_path / "bench"), cases=1, seed=3)
    case = tmp_path / "bench" / "case_0000"
    assert json.loads((case / "meta.json").read_text()).get("curved", False) is curved
    # the default (curved) config reads slices of the straightened spine, the straight one not
    assert (case / "straightened" / "straighten.json").is_file() is curved
    assert (dataset.curved, dataset.straighten) == (curved, curved)
    sample = dataset[0]
    assert sample["inputs"]["masked"].shape[-2:] == (data_cfg.crop_size, data_cfg.crop_size)


def _tracking_module():
    return _script_module("benchmarks/healthivert_height_tracking.py")


def _fake_result(tmp_path, synthesised):
    """Benchmark-shaped result over 4 one-spine cases whose target heights are 22, 24, 26, 28."""
    vertebrae = []
    for case, true in enumerate((22.0, 24.0, 26.0, 28.0)):
        folder = tmp_path / f"case_{case:04d}"
        folder.mkdir()
        spine = [dict(label=k, healthy_height_mm=true + (k - 19), concavity_superior_mm=0.5,
                      concavity_inferior_mm=0.5 + case, sagittal_tilt_deg=case,
                      coronal_tilt_deg=-case) for k in (18, 19, 20)]
        (folder / "meta.json").write_text(json.dumps(dict(vertebrae=spine)))
        vertebrae.append(dict(case_id=case, label=19, grade=case % 2,
                              height_syn=dict(whole=synthesised(true)),
                              height_true=dict(whole=true), shrm_height_mm=synthesised(true)))
    return dict(data_root=str(tmp_path), vertebrae=vertebrae)


def test_height_tracking_tells_a_constant_generator_from_a_tracking_one(tmp_path):
    ht = _tracking_module()
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    constant = ht.tracking(ht.vertebra_rows(_fake_result(tmp_path / "a", lambda h: 25.5)))
    assert constant["syn_sd"] == 0 and np.isnan(constant["r_syn_true"])
    assert abs(constant["slope"]) < 1e-9 and abs(constant["bias"] - 0.5) < 1e-9
    assert constant["r_bias_true height"] == pytest.approx(-1.0)  # bias mirrors the height
    assert constant["r_true_neighbours"] == pytest.approx(1.0)  # neighbours: true +- 1 mm
    assert constant["bias_by_grade"] == {0: pytest.approx(1.5), 1: pytest.approx(-0.5)}
    assert constant["shrm_sd"] == 0
    tracking = ht.tracking(ht.vertebra_rows(_fake_result(tmp_path / "b", lambda h: h + 1.0)))
    assert tracking["slope"] == pytest.approx(1.0) and tracking["r_syn_true"] == pytest.approx(1)
    assert tracking["bias"] == pytest.approx(1.0)
    assert tracking["shrm_sd"] == pytest.approx(np.std([23.0, 25.0, 27.0, 29.0]))


def test_height_tracking_names_a_missing_meta_file(tmp_path):
    ht = _tracking_module()
    result = dict(data_root=str(tmp_path), vertebrae=[dict(case_id=7, label=19)])
    with pytest.raises(FileNotFoundError, match="case_0007/meta.json"):
        ht.vertebra_rows(result)


def test_decay_config_keeps_the_default_then_decays_to_zero():
    """healthivert_phantom_decay.py: the default's constant rate up to iteration 600, then a
    linear fall to ~0 at 900 (pix2pix's 'linear' policy), everything else the default."""
    from mmengine.config import Config
    from mmengine.optim.scheduler import LinearLR

    default = Config.fromfile("configs/medical/healthivert_phantom.py")
    decay = Config.fromfile("configs/medical/healthivert_phantom_decay.py")
    assert decay.model == default.model and decay.train_dataloader == default.train_dataloader
    assert decay.train_cfg.max_iters == 900
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=5e-4)
    (spec,) = decay.param_scheduler
    scheduler = LinearLR(optimizer, **{k: v for k, v in spec.items() if k != "type"})
    rates = []
    for _ in range(900):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[0] == rates[599] == 5e-4
    assert abs(rates[750] - 2.5e-4) < 5e-6 and rates[899] < 5e-6
