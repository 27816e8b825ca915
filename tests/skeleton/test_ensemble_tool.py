"""Late fusion of dumped scores (tools/ensemble.py) on a hand-computed case."""
from __future__ import annotations

import json
import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from zoo.evaluation.dump import save_predictions
from zoo.evaluation.fusion import fuse_predictions

REPO = Path(__file__).resolve().parents[2]

# Three samples, labels 0, 1, 2. Stream A gets sample 2 wrong, stream B gets sample 0 wrong;
# 1*A + 1*B: sample 0 -> [0.9, 0.5, 0.6] (class 0), sample 2 -> [0.5, 0.6, 0.9] (class 2).
SCORES_A = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.5, 0.4]])
SCORES_B = np.array([[0.1, 0.4, 0.5], [0.2, 0.7, 0.1], [0.4, 0.1, 0.5]])
LABELS = np.array([0, 1, 2])
IDS = ["s0", "s1", "s2"]


@pytest.fixture()
def dumps(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    save_predictions(str(a), SCORES_A, LABELS, IDS)
    order = [2, 0, 1]  # B dumped in another order: fusion must match by id
    save_predictions(str(b), SCORES_B[order], LABELS[order], [IDS[i] for i in order])
    return str(a), str(b)


def test_fusion_matches_hand_computed_top1(dumps):
    result = fuse_predictions(dumps)
    assert result.top1 == pytest.approx([200 / 3, 200 / 3])
    assert result.fused_top1 == pytest.approx(100.0)
    # Weighting B far above A reproduces B's errors.
    assert fuse_predictions(dumps, [0.01, 1.0]).fused_top1 == pytest.approx(200 / 3)


def test_fusion_rejects_mismatched_files(dumps, tmp_path):
    other = tmp_path / "other.npz"
    save_predictions(str(other), SCORES_B[:2], LABELS[:2], IDS[:2])
    with pytest.raises(ValueError, match="other.npz: holds 2 samples"):
        fuse_predictions([dumps[0], str(other)])
    with pytest.raises(ValueError, match="2 files but 1 weights"):
        fuse_predictions(dumps, [1.0])


def test_ensemble_tool_writes_json(dumps, tmp_path, monkeypatch, capsys):
    out = tmp_path / "fused.json"
    monkeypatch.setattr(sys, "argv", ["ensemble.py", *dumps, "--weights", "1", "1",
                                      "--out", str(out)])
    runpy.run_path(str(REPO / "tools" / "ensemble.py"), run_name="__main__")
    assert "fused" in capsys.readouterr().out
    assert json.loads(out.read_text())["fused_top1"] == pytest.approx(100.0)


@pytest.mark.parametrize("content, reason", [
    (b"label,score\n0,0.5\n", r"not an .npz archive \(starts with b'label,score"),
    (None, "a single .npy array"),
    ("pickle", "it holds a pickle"),
    ("npz_without_scores", r"lacks \['scores', 'labels', 'ids'\]"),
    ("truncated", r"not an .npz archive|BadZipFile"),
])
def test_ensemble_names_a_file_that_is_not_a_dump(dumps, tmp_path, capsys, content, reason):
    import pickle

    bad = tmp_path / "bad.npz"
    if content is None:
        np.save(bad.with_suffix(".npy"), np.zeros(3))
        bad.write_bytes(bad.with_suffix(".npy").read_bytes())
    elif content == "pickle":
        bad.write_bytes(pickle.dumps({"scores": [1, 2]}))
    elif content == "npz_without_scores":
        np.savez(bad, weights=np.zeros(3))
    elif content == "truncated":
        good = Path(dumps[1]).read_bytes()
        bad.write_bytes(good[: len(good) // 2])
    else:
        bad.write_bytes(content)
    main = runpy.run_path(str(REPO / "tools" / "ensemble.py"))["main"]
    with pytest.raises(SystemExit) as info:
        main([dumps[0], str(bad)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"{bad} is not a predictions file" in err and "--dump" in err
    assert re.search(reason, err), err
    assert "allow_pickle" not in err
