"""tools/test.py on the HealthiVert config: metrics and the --show-dir PNG per vertebra."""
from __future__ import annotations

import json
import sys

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


def _benchmark_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location("healthivert_benchmark",
                                                  "benchmarks/healthivert_phantom.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("config, curved", [(CONFIG, True),
                                            ("configs/medical/healthivert_phantom_straight.py",
                                             False)])
def test_benchmark_prepares_held_out_phantoms_like_the_config(tmp_path, config, curved):
    from mmengine.config import Config

    bench = _benchmark_module()
    data_cfg = Config.fromfile(config).test_dataloader.dataset
    dataset = bench.held_out_dataset(data_cfg, str(tmp_path / "bench"), cases=1, seed=3)
    case = tmp_path / "bench" / "case_0000"
    assert json.loads((case / "meta.json").read_text()).get("curved", False) is curved
    # the default (curved) config reads slices of the straightened spine, the straight one not
    assert (case / "straightened" / "straighten.json").is_file() is curved
    assert (dataset.curved, dataset.straighten) == (curved, curved)
    sample = dataset[0]
    assert sample["inputs"]["masked"].shape[-2:] == (data_cfg.crop_size, data_cfg.crop_size)
