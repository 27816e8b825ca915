"""benchmarks/skeleton_msr3d_fusion.py: per-seed late fusion of stream sweeps, by hand."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from zoo.evaluation.dump import save_predictions

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fusion():
    spec = importlib.util.spec_from_file_location(
        "msr_fusion", REPO / "benchmarks/skeleton_msr3d_fusion.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _finished_run(sweep: Path, seed: int) -> None:
    work = sweep / "runs/default" / f"seed{seed}"
    work.mkdir(parents=True)
    (work / "final_test_metrics.json").write_text(json.dumps({"top1": 0.0}))


def test_fusion_per_seed_matches_a_hand_sum(fusion, tmp_path):
    """Two streams, three samples: stream a is right on samples 0, 1; stream b on 1, 2 with
    a strong score on 2. Equal weights fuse to 3/3 for seed 0; a seed missing in one stream
    is left out and named."""
    ids = ["s0", "s1", "s2"]
    labels = np.array([0, 1, 0])
    a = np.array([[0.6, 0.4], [0.4, 0.6], [0.45, 0.55]])
    b = np.array([[0.45, 0.55], [0.3, 0.7], [0.9, 0.1]])
    dumps = tmp_path / "fusion_dumps"
    dumps.mkdir()
    for folder, scores in (("sa", a), ("sb", b)):
        _finished_run(tmp_path / folder, 0)
        # the dump of a finished run is reused (tools/test.py is not called)
        save_predictions(str(dumps / f"{folder}_seed0.npz"), scores, labels,
                         ids)
    _finished_run(tmp_path / "sa", 1)  # seed 1 has no run of stream b
    result = fusion.fuse(tmp_path, {"a": "sa", "b": "sb"}, [[1, 1], [1, 3]], amp=False)
    assert result["seeds"] == [0] and result["skipped"] == {"a": [1], "b": []}
    (record,) = result["per_seed"]
    assert record["streams"]["a"] == pytest.approx(200 / 3)
    assert record["streams"]["b"] == pytest.approx(200 / 3)
    # 1:1 -> sums [1.05, .95], [.7, 1.3], [1.35, .65]: all right
    assert record["fused"]["1:1"] == pytest.approx(100.0)
    # 1:3 -> sample 0: .6 + 3*.45 = 1.95 < .4 + 3*.55 = 2.05, wrong; 1 and 2 right
    assert record["fused"]["1:3"] == pytest.approx(200 / 3)
    md = fusion.markdown(result, "cmd", "")
    assert "| 0 | 66.7 | 66.7 | 100.0 | 66.7 |" in md
    assert "Seeds left out (not finished in every stream): a: [1]" in md


def test_no_common_seed_is_an_error_naming_the_streams(fusion, tmp_path):
    _finished_run(tmp_path / "sa", 0)
    _finished_run(tmp_path / "sb", 1)
    with pytest.raises(SystemExit, match=r"a: \[0\], b: \[1\]"):
        fusion.fuse(tmp_path, {"a": "sa", "b": "sb"}, [[1, 1]], amp=False)
