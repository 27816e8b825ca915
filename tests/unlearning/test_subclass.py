"""Sub-class forgetting: digits relabelled into 5 super-classes of digit pairs; forget digit 3
(super-class "2+3") and keep the super-class through digit 2."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from zoo.apis import init_model
from zoo.runner_utils import load_config
from zoo.unlearning.api import run_unlearner
from zoo.unlearning.context import build_context, build_dataset
from zoo.unlearning.report import evaluate
from zoo.unlearning.requests import ForgetRequest, ForgetRequestError

CONFIG = "configs/image/smallcnn_digits_super5.py"


@pytest.fixture(scope="module")
def super5(tmp_path_factory):
    torch.set_num_threads(1)
    cfg = load_config(CONFIG, work_dir=str(tmp_path_factory.mktemp("work")))
    torch.manual_seed(0)
    model = init_model(cfg)
    ctx = build_context(cfg, model)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(3):
        for x, y in ctx.loader("train", model):
            opt.zero_grad()
            F.cross_entropy(model.logits(x), y).backward()
            opt.step()
    model.eval()
    return cfg, model, ctx


def test_superclass_split_on_real_digit_labels(super5):
    from sklearn.datasets import load_digits

    cfg, model, ctx = super5
    digit = load_digits().target
    train = build_dataset(cfg.train_dataloader.dataset)
    assert train.metainfo["classes"] == ("0+1", "2+3", "4+5", "6+7", "8+9")
    ctx.reset()
    idx = ctx.apply_request(ForgetRequest(subclasses=[3]))
    infos = [train.get_data_info(k) for k in range(len(train))]
    # sklearn's index of each image (get_data_info replaces sample_idx by the position)
    for k, i in enumerate(infos):
        i["sample_idx"] = train.dataset.data_list[k]["sample_idx"]
    # the forget set is exactly the training images of digit 3 (checked on sklearn's labels)
    threes = [k for k, i in enumerate(infos) if digit[i["sample_idx"]] == 3]
    assert idx.tolist() == threes and len(threes) == 137
    # every label is the super-class of the original digit; digit 2 stays in the retain set
    assert all(i["label"] == digit[i["sample_idx"]] // 2 for i in infos)
    assert ctx.forget_classes == set() and ctx.forget_subclasses == {3}
    retained = set(ctx.retain_idx.tolist())
    twos = [k for k, i in enumerate(infos) if digit[i["sample_idx"]] == 2]
    assert twos and set(twos) <= retained and len(retained) == len(train) - 137
    # the test split's forgotten part: the test images of digit 3 only
    test = build_dataset(cfg.test_dataloader.dataset)
    mask = ctx.test_forget_mask()
    expected = [digit[d["sample_idx"]] == 3 for d in test.dataset.data_list]
    assert mask.tolist() == expected and mask.sum() == 46
    # names resolve too; errors name the problem
    ctx.reset()
    assert ctx.apply_request(ForgetRequest(subclasses=["3"])).tolist() == threes
    with pytest.raises(ForgetRequestError, match="sub-class 12 does not exist"):
        ctx.index.resolve(ForgetRequest(subclasses=[12]))
    with pytest.raises(ValueError, match="exactly once"):
        build_dataset(dict(type="SuperclassDataset", groups=[[0, 1], [1, 2]],
                           dataset=dict(type="Digits", split="test")))


def test_plain_dataset_has_no_subclasses(trained):
    _, ctx, _ = trained
    with pytest.raises(ForgetRequestError, match="no sub-classes"):
        ctx.index.resolve(ForgetRequest(subclasses=[3]))


def test_subclass_forgetting_keeps_the_sibling(super5):
    cfg, model, ctx = super5
    ctx.reset()
    ctx.apply_request(ForgetRequest(subclasses=[3]))
    before = evaluate(model, ctx)
    assert before["forget_acc"] > 90 and before["test_forget_acc"] > 80
    metrics, edited = run_unlearner(model, ctx, dict(type="NegGradPlus", epochs=2),
                                    [ForgetRequest(subclasses=[3])])
    assert metrics["forget_acc"] < 30, metrics
    assert metrics["test_forget_acc"] < 40, metrics
    # digit 2 (same super-class) is still recognised as "2+3"
    twos = (ctx.test_fine_labels == 2)
    probs = edited.predict_scores(ctx.test_eval.inputs[torch.as_tensor(twos)])
    assert float((probs.argmax(1) == 1).float().mean()) > 0.8
    assert metrics["test_retain_acc"] > 85, metrics
    assert np.isfinite(metrics["zrf"])


def test_msr_action_groups_split_on_real_file_names(msr_dir, tmp_path):
    """MSR Action3D in 5 groups of 4 consecutive actions: forgetting sub-class 2 selects
    exactly the training sequences a03_*; the training split is evaluated with the test
    pipeline inside the wrapper (no augmentation, 10 clips)."""
    from zoo.unlearning.context import train_index, train_split_eval_cfg

    cfg = load_config("configs/skeleton/stgcn_msr3d_xsub_super5.py",
                      cfg_options={"train_dataloader.dataset.dataset.data_root": str(msr_dir)},
                      work_dir=str(tmp_path))
    train = build_dataset(cfg.train_dataloader.dataset)
    index = train_index(train)
    action = np.array([int(i[1:3]) for i in index.ids])  # a03_s01_e02_skeleton3D -> 3
    assert index.labels.tolist() == ((action - 1) // 4).tolist()
    assert index.fine_labels.tolist() == (action - 1).tolist()
    idx, classes = index.resolve(ForgetRequest(subclasses=[2]))
    names = [index.ids[k] for k in idx]
    assert classes == set() and names and all(n.startswith("a03_") for n in names)
    assert len(names) == sum(i.startswith("a03_") for i in index.ids)
    assert all(int(n.split("_")[1][1:]) % 2 == 1 for n in names)  # odd subjects: train
    eval_cfg = train_split_eval_cfg(cfg)
    steps = [s["type"] for s in eval_cfg["dataset"]["pipeline"]]
    assert "RandomRot" not in steps and eval_cfg["dataset"]["split"] == "train"
    assert any(s.get("num_clips") == 10 for s in eval_cfg["dataset"]["pipeline"])
