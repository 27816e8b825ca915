import json

import numpy as np
import pytest

from zoo.unlearning.requests import (
    ForgetRequest,
    ForgetRequestError,
    TrainIndex,
    random_request,
    read_id_file,
    read_request_file,
)


@pytest.fixture
def index():
    return TrainIndex(np.array([0, 1, 2, 1, 0, 2]), ["a", "b", "c", "d", "e", "f"],
                      ("zero", "one", "two"), 3, "toy split")


def test_class_and_id_requests(index):
    idx, classes = index.resolve(ForgetRequest(classes=[1]))
    assert idx.tolist() == [1, 3] and classes == {1}
    idx, classes = index.resolve(ForgetRequest(classes=["two"], ids=["a"]))
    assert idx.tolist() == [0, 2, 5] and classes == {2}


def test_unknown_class_and_id_are_clear_errors(index):
    with pytest.raises(ForgetRequestError, match=r"forget class 7 does not exist.*0\.\.2"):
        index.resolve(ForgetRequest(classes=[7]))
    with pytest.raises(ForgetRequestError, match="'seven' does not exist"):
        index.resolve(ForgetRequest(classes=["seven"]))
    with pytest.raises(ForgetRequestError, match="1 forget id.*zz"):
        index.resolve(ForgetRequest(ids=["a", "zz"]))
    with pytest.raises(ForgetRequestError, match="needs classes or sample ids"):
        ForgetRequest()


def test_id_file_and_sequence_file(tmp_path):
    (tmp_path / "ids.txt").write_text("# forget these\n3\n 7 \n\n12  # last\n")
    assert read_id_file(tmp_path / "ids.txt") == ["3", "7", "12"]
    (tmp_path / "ids.json").write_text("[1, 2]")
    assert read_id_file(tmp_path / "ids.json") == ["1", "2"]
    (tmp_path / "seq.json").write_text(json.dumps(
        [{"classes": [1]}, {"id_file": "ids.txt", "name": "second"}]))
    seq = read_request_file(tmp_path / "seq.json")
    assert seq[0].classes == (1,) and seq[1].ids == ("3", "7", "12")
    (tmp_path / "bad.json").write_text(json.dumps([{"class": [1]}]))
    with pytest.raises(ForgetRequestError, match="unknown keys"):
        read_request_file(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        read_id_file(tmp_path / "missing.txt")


def test_random_request_fraction(index):
    req = random_request(index, 0.5, seed=1)
    assert len(req.ids) == 3 and set(req.ids) <= set(index.ids)
    assert random_request(index, 0.5, seed=1).ids == req.ids


def test_sequence_accumulates_in_context(model_ctx):
    _, ctx = model_ctx
    labels = ctx.index.labels
    ctx.apply_request(ForgetRequest(classes=[3]))
    ctx.apply_request(ForgetRequest(classes=[5]))
    assert set(ctx.forget_idx.tolist()) == set(np.flatnonzero(labels == 5).tolist())
    assert set(ctx.all_forget_idx.tolist()) == set(np.flatnonzero(np.isin(labels, [3, 5])))
    assert not np.isin(labels[ctx.retain_idx], [3, 5]).any()
    assert ctx.forget_classes == {3, 5}
    with pytest.raises(ForgetRequestError, match="forget class 10 does not exist"):
        ctx.apply_request(ForgetRequest(classes=[10]))
