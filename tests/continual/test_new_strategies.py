"""A-GEM, ER-ACE, SI, MAS and online EWC: each mechanism on a hand-computed case."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zoo.continual.strategies.agem import AGEM, agem_projection
from zoo.continual.strategies.er_ace import ERACE, asymmetric_ce
from zoo.continual.strategies.ewc import EWC, OnlineEWC
from zoo.continual.strategies.gdumb import GDumb, GreedyBalancedMemory, reinitialise
from zoo.continual.strategies.importance import MAS, SI, output_norm_sensitivity
from zoo.continual.strategies.ranpac import RanPAC, choose_ridge, ridge_solve
from zoo.continual.strategies.simplecil import SimpleCIL
from zoo.continual.strategies.wa import WA, align_weights
from zoo.registry import STRATEGIES

from .conftest import tiny_classifier


class Linear(nn.Module):
    """``logits = W x + b``: small enough to differentiate by hand."""

    def __init__(self, weight, bias):
        super().__init__()
        weight = torch.as_tensor(weight)
        self.fc = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.fc.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
            self.fc.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))

    def forward(self, x):
        return self.fc(x)

    def logits(self, x):
        return self.fc(x)


def flat_grad(loss, model):
    return torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(model.parameters()))])


def test_registered_with_families():
    for name, family in [("AGEM", "replay"), ("ERACE", "replay"), ("SI", "regularisation"),
                         ("MAS", "regularisation"), ("OnlineEWC", "regularisation"),
                         ("GDumb", "replay"), ("WA", "replay"), ("SimpleCIL", "other"),
                         ("RanPAC", "other")]:
        assert STRATEGIES.get(name).family == family


# A-GEM ------------------------------------------------------------------------------------
def test_agem_projection_on_a_hand_case():
    g_ref = torch.tensor([-1.0, 1.0])
    # g . g_ref = -1 < 0: g - (-1 / 2) g_ref = [0.5, 0.5], orthogonal to g_ref
    torch.testing.assert_close(agem_projection(torch.tensor([1.0, 0.0]), g_ref),
                               torch.tensor([0.5, 0.5]))
    agreeing = torch.tensor([0.0, 2.0])  # dot = 2 >= 0: unchanged
    assert agem_projection(agreeing, g_ref) is agreeing


def test_agem_loss_gradient_is_the_projected_gradient(stub_loop):
    model = Linear([[0.5, -0.2], [0.1, 0.3]], [0.0, 0.1])
    agem = AGEM(memory_size=10)
    agem.setup(stub_loop)
    x, y = torch.tensor([[1.0, 0.5]]), torch.tensor([0])
    agem.memory.inputs, agem.memory.labels = torch.tensor([[1.0, 0.5]]), torch.tensor([1])
    losses = agem.loss(model, x, y)
    assert agem.num_projected == 1 and "loss_agem" in losses
    got = flat_grad(sum(losses.values()), model)
    g = flat_grad(F.cross_entropy(model.logits(x), y), model)
    g_ref = flat_grad(F.cross_entropy(model.logits(x), torch.tensor([1])), model)
    assert torch.dot(g, g_ref) < 0  # the same input with the other label conflicts
    torch.testing.assert_close(got, agem_projection(g, g_ref))
    assert abs(float(torch.dot(got, g_ref))) < 1e-6
    # an agreeing memory leaves the plain cross-entropy
    agem.memory.labels = torch.tensor([0])
    assert set(agem.loss(model, x, y)) == {"loss_cls"} and agem.num_projected == 1


def test_agem_memory_takes_an_equal_share_of_every_task(stub_loop):
    agem = AGEM(memory_size=20)
    agem.setup(stub_loop)
    for task in range(2):
        agem.after_task(None, task)
    assert len(agem.memory) == 8  # 20 // 5 tasks, two tasks so far
    assert set(agem.memory.labels[:4].tolist()) <= {0, 1}
    assert set(agem.memory.labels[4:].tolist()) <= {2, 3}


# ER-ACE -----------------------------------------------------------------------------------
def test_asymmetric_ce_masks_the_classes_absent_from_the_batch():
    logits = torch.tensor([[2.0, 1.0, 0.0, 3.0], [0.5, 2.0, 1.0, -1.0]], requires_grad=True)
    labels = torch.tensor([1, 2])
    loss = asymmetric_ce(logits, labels)
    # by hand: softmax over columns 1 and 2 only
    expected = -(torch.log_softmax(torch.tensor([1.0, 0.0]), 0)[0]
                 + torch.log_softmax(torch.tensor([2.0, 1.0]), 0)[1]) / 2
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert (logits.grad[:, [0, 3]] == 0).all() and (logits.grad[:, [1, 2]] != 0).all()


def test_er_ace_replays_with_the_full_cross_entropy(stub_loop):
    model = tiny_classifier(4)
    er = ERACE(buffer=dict(type="reservoir", size=20), replay_batch_size=6)
    er.setup(stub_loop)
    x0, y0 = stub_loop.collect(stub_loop.task_dataset(0), limit=12)
    x1, y1 = stub_loop.collect(stub_loop.task_dataset(1), limit=12)
    er.task = 0
    torch.testing.assert_close(er.loss(model, x0, y0)["loss_cls"],
                               F.cross_entropy(model.logits(x0), y0))
    er.after_iter(model, x0, y0)
    er.task = 1
    torch.manual_seed(3)
    losses = er.loss(model, x1, y1)
    torch.manual_seed(3)
    mem = er.buffer.sample(6)
    torch.testing.assert_close(losses["loss_cls"], asymmetric_ce(model.logits(x1), y1))
    torch.testing.assert_close(losses["loss_replay"],
                               F.cross_entropy(model.logits(mem["inputs"]), mem["labels"]))


# SI ---------------------------------------------------------------------------------------
def test_si_path_integral_importance_and_penalty_by_hand(stub_loop):
    model = Linear([[0.5, -0.2], [0.1, 0.3]], [0.0, 0.1])
    si = SI(lambda_=2.0, xi=0.1)
    si.setup(stub_loop)
    si.before_task(model, 0)
    start = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    xs = [torch.tensor([[1.0, 0.5]]), torch.tensor([[-0.3, 2.0]])]
    ys = [torch.tensor([0]), torch.tensor([1])]
    expected_omega = [torch.zeros_like(p) for p in model.parameters()]
    for x, y in zip(xs, ys):
        g = torch.autograd.grad(F.cross_entropy(model.logits(x), y), list(model.parameters()))
        for e, gi in zip(expected_omega, g):
            e += 0.5 * gi ** 2  # plain SGD: -g . (-lr g)
        opt.zero_grad()
        sum(si.loss(model, x, y).values()).backward()
        opt.step()
        si.after_iter(model, x, y)
    for (name, _), e in zip(model.named_parameters(), expected_omega):
        torch.testing.assert_close(si.omega[name], e)
    si.after_task(model, 0)
    for (name, p), e, s in zip(model.named_parameters(), expected_omega, start):
        torch.testing.assert_close(si.importance[name], e / ((p.detach() - s) ** 2 + 0.1))
    with torch.no_grad():
        model.fc.weight[0, 0] += 0.3
    penalty = si.penalty(model)
    omega_w = si.importance["fc.weight"][0, 0]
    torch.testing.assert_close(penalty, 2.0 * omega_w * 0.3 ** 2, rtol=1e-4, atol=1e-7)
    assert "loss_penalty" in si.loss(model, xs[0], ys[0])


# MAS --------------------------------------------------------------------------------------
def test_mas_importance_is_the_mean_absolute_per_sample_gradient_of_the_output_norm():
    w, b = torch.tensor([[1.0, -1.0], [0.5, 2.0]]), torch.tensor([0.0, 1.0])
    model = Linear(w, b)
    x = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])
    omega = output_norm_sensitivity(model, x)
    # d ||Wx + b||^2 / dW = 2 (Wx + b) x^T, / db = 2 (Wx + b); absolute values, sample mean
    f = x @ w.T + b
    torch.testing.assert_close(omega["fc.weight"],
                               (2 * f[:, :, None] * x[:, None, :]).abs().mean(0))
    torch.testing.assert_close(omega["fc.bias"], (2 * f).abs().mean(0))
    # the batch gradient's absolute value would differ: the signs of the two samples cancel
    assert not torch.allclose(omega["fc.bias"], (2 * f).mean(0).abs())


def test_mas_accumulates_importance_over_tasks_and_anchors_at_the_latest_weights(stub_loop):
    model = tiny_classifier(2)
    mas = MAS(lambda_=1.0, max_samples=16)
    mas.setup(stub_loop)
    mas.after_task(model, 0)
    first = {k: v.clone() for k, v in mas.importance.items()}
    from zoo.continual import set_num_classes
    set_num_classes(model, 4)
    with torch.no_grad():
        next(model.backbone.parameters()).add_(0.1)  # the weights moved during task 2
    mas.after_task(model, 1)
    assert mas.importance["cls_head.fc.weight"].shape == (4, 8)
    inputs, _ = stub_loop.collect(stub_loop.task_dataset(1))
    g = torch.Generator().manual_seed(stub_loop.seed + 1)
    inputs = inputs[torch.randperm(len(inputs), generator=g)[:16]]
    model.eval()
    second = output_norm_sensitivity(model, inputs)
    for name, value in mas.importance.items():
        old = first[name]
        grown = torch.zeros_like(value)
        grown[tuple(slice(0, s) for s in old.shape)] = old
        torch.testing.assert_close(value, grown + second[name])
        torch.testing.assert_close(mas.anchor[name], dict(model.named_parameters())[name])
    assert float(mas.penalty(model).detach()) == 0.0


# online EWC -------------------------------------------------------------------------------
def test_online_ewc_keeps_a_gamma_decayed_running_fisher(stub_loop):
    model = tiny_classifier(2)
    online, separate = OnlineEWC(gamma=0.5), EWC()
    x0, y0 = stub_loop.collect(stub_loop.task_dataset(0), limit=8)
    x1, y1 = stub_loop.collect(stub_loop.task_dataset(1), limit=8)
    for s in (online, separate):
        s.setup(stub_loop)
        s.consolidate(model, x0, y0)
    from zoo.continual import set_num_classes
    set_num_classes(model, 4)
    for s in (online, separate):
        s.consolidate(model, x1, y1)
    assert len(online.fishers) == 1 and len(separate.fishers) == 2
    f1, f2 = separate.fishers
    for name, f in online.fishers[0].items():
        grown = torch.zeros_like(f2[name])
        grown[tuple(slice(0, s) for s in f1[name].shape)] = f1[name]
        torch.testing.assert_close(f, 0.5 * grown + f2[name])
        torch.testing.assert_close(online.anchors[0][name], separate.anchors[1][name])
    with pytest.raises(ValueError, match="OnlineEWC"):
        OnlineEWC(mode="separate")


# GDumb -------------------------------------------------------------------------------------
def test_gdumb_memory_is_greedy_and_class_balanced():
    mem = GreedyBalancedMemory(4)
    for i in range(4):
        mem.add(torch.full((1, 2), float(i)), 0)
    assert mem.class_counts() == {0: 4}
    for i in range(3):  # two class-1 samples replace class 0 ones (limit 4 / 2), a third not
        mem.add(torch.full((1, 2), 10.0 + i), 1)
    assert mem.class_counts() == {0: 2, 1: 2}
    assert sorted(mem.inputs[mem.labels == 1][:, 0, 0].tolist()) == [10.0, 11.0]
    mem.add(torch.zeros(1, 2), 2)  # 0 < 4 / 3: replaces a sample of the largest class (0)
    assert mem.class_counts() == {0: 1, 1: 2, 2: 1}
    mem.add(torch.zeros(1, 2), 2)  # 1 < 4 / 3: replaces one of class 1, now the largest
    assert mem.class_counts() == {0: 1, 1: 1, 2: 2}


def test_gdumb_restarts_from_the_initial_weights_and_trains_on_the_memory(stub_loop):
    from zoo.continual import set_num_classes
    from zoo.continual.strategies.base import state_of

    model = tiny_classifier(2)
    gd = GDumb(memory_size=30)
    gd.setup(stub_loop)
    gd.prepare_model(model, 0)
    initial = state_of(model)
    assert gd.memory.class_counts() == {0: 15, 1: 15}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    set_num_classes(model, 4)
    gd.prepare_model(model, 1)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value[tuple(slice(0, s) for s in initial[name].shape)],
                                   initial[name])
    assert model.cls_head.fc.weight[2:].abs().max() <= 1 / 8 ** 0.5  # fresh rows
    assert sorted(gd.memory.class_counts().values()) == [7, 7, 8, 8]  # 30 / 4 classes
    data = gd.train_dataset(1)
    assert len(data) == 30 and sorted(set(data.labels.tolist())) == [0, 1, 2, 3]
    reinitialise(model, initial)  # idempotent on the first rows
    torch.testing.assert_close(model.cls_head.fc.weight[:2], initial["cls_head.fc.weight"])


# WA ---------------------------------------------------------------------------------------
def test_wa_aligns_the_new_rows_to_the_mean_old_norm():
    fc = nn.Linear(2, 3)
    with torch.no_grad():
        fc.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 3.0], [0.0, 4.0]]))
    bias = fc.bias.detach().clone()
    gamma = align_weights(fc, 2)  # old norms 1, 3 (mean 2); new norm 4
    assert gamma == pytest.approx(0.5)
    torch.testing.assert_close(fc.weight.detach(), torch.tensor([[1.0, 0.0], [0.0, 3.0],
                                                                 [0.0, 2.0]]))
    torch.testing.assert_close(fc.bias.detach(), bias)


def test_wa_loss_weights_ce_and_distillation_by_the_class_fractions(stub_loop):
    from zoo.continual import set_num_classes
    from zoo.continual.strategies.base import frozen_copy

    model = tiny_classifier(2)
    wa = WA(memory_size=20, temperature=2.0)
    wa.setup(stub_loop)
    wa.teacher = frozen_copy(model)
    set_num_classes(model, 4)
    x, y = stub_loop.collect(stub_loop.task_dataset(1), limit=6)
    losses = wa.loss(model, x, y)
    logits, old = model.logits(x), wa.teacher.logits(x)
    # lam = 2 old / 4 seen classes; KD = KL(softmax(old/2) || softmax(new[:, :2]/2))
    q = torch.softmax(old / 2, 1)
    kl = (q * (q.log() - torch.log_softmax(logits[:, :2] / 2, 1))).sum(1).mean()
    torch.testing.assert_close(losses["loss_cls"], 0.5 * F.cross_entropy(logits, y))
    torch.testing.assert_close(losses["loss_kd"], 0.5 * kl)


# SimpleCIL --------------------------------------------------------------------------------
def test_simplecil_prototypes_are_class_means_and_prediction_is_cosine(stub_loop):
    model = tiny_classifier(2)
    s = SimpleCIL()
    s.setup(stub_loop)
    s.prepare_model(model, 0)
    assert not any(p.requires_grad for p in model.parameters()) and not SimpleCIL.trains
    s.after_task(model, 0)
    x, y = stub_loop.collect(stub_loop.task_dataset(0))
    model.eval()
    with torch.no_grad():
        feats = model.embed(x)
    expected = torch.stack([feats[y == 0].mean(0), feats[y == 1].mean(0)])
    torch.testing.assert_close(s.prototypes, expected, rtol=1e-5, atol=1e-6)
    scores = s.predict(model, x[:3])
    cos = F.cosine_similarity(feats[:3, None, :], expected[None], dim=2)
    torch.testing.assert_close(scores, cos, rtol=1e-5, atol=1e-6)


# RanPAC -------------------------------------------------------------------------------------
def test_ranpac_readout_is_the_ridge_solution_over_all_tasks(stub_loop):
    model = tiny_classifier(2)
    rp = RanPAC(projection_dim=16, ridge=0.5)
    rp.setup(stub_loop)
    rp.prepare_model(model, 0)
    assert not any(p.requires_grad for p in model.parameters()) and not RanPAC.trains
    rp.after_task(model, 0)
    rp.after_task(model, 1)
    hs, ys = [], []
    model.eval()
    for task in range(2):
        x, y = stub_loop.collect(stub_loop.task_dataset(task))
        with torch.no_grad():
            hs.append(torch.relu(model.embed(x).double() @ rp.projection))
        ys.append(F.one_hot(y, 4).double())
    h, y = torch.cat(hs), torch.cat(ys)
    w = rp.readout
    # stationary point of ||h w - y||^2 + 0.5 ||w||^2
    grad = h.T @ (h @ w - y) + 0.5 * w
    assert grad.abs().max() < 1e-6 * (h.T @ y).abs().max()
    torch.testing.assert_close(w, torch.linalg.solve(h.T @ h + 0.5 * torch.eye(16), h.T @ y))
    x, _ = stub_loop.collect(stub_loop.task_dataset(1), limit=5)
    with torch.no_grad():
        expected = (torch.relu(model.embed(x).double() @ rp.projection) @ w).float()
    torch.testing.assert_close(rp.predict(model, x), expected)


def test_ridge_choice_follows_the_held_out_error():
    g = torch.Generator().manual_seed(0)
    h = torch.randn(200, 5, generator=g, dtype=torch.float64)
    clean = h @ torch.randn(5, 2, generator=g, dtype=torch.float64)
    assert choose_ridge(h, clean, torch.Generator().manual_seed(1)) <= 1e-2  # exact fit
    wide = torch.randn(60, 30, generator=g, dtype=torch.float64)  # 48 fitted samples
    noise = torch.randn(60, 2, generator=g, dtype=torch.float64)
    assert choose_ridge(wide, noise, torch.Generator().manual_seed(1)) >= 1e2  # nothing to fit
    gram, c = h.T @ h, h.T @ clean
    torch.testing.assert_close(ridge_solve(gram, c, 0.0), torch.linalg.lstsq(h, clean).solution)


# learns or remembers on split digits ------------------------------------------------------
def _two_task_run(tmp_path, strategy, epochs=3):
    """Digits 0-1 then 2-3, a small CNN, ``epochs`` per task: the results."""
    import json
    from pathlib import Path

    from mmengine.runner import Runner

    from zoo.runner_utils import load_config

    config = str(Path(__file__).resolve().parents[2]
                 / "configs/continual/split_digits/finetune.py")
    cfg = load_config(config, {
        "model.backbone.channels": (8, 16), "model.cls_head.in_channels": 16,
        "train_cfg.epochs_per_task": epochs, "train_cfg.strategy": strategy,
        "train_cfg.scenario.num_tasks": 2, "train_cfg.scenario.class_order": [0, 1, 2, 3],
        "train_cfg.scenario.task_sizes": [2, 2],
        "train_cfg.save_checkpoints": False, "train_dataloader.batch_size": 16,
        "default_hooks.logger.interval": 1000, "experiment_name": strategy["type"]},
        str(tmp_path / strategy["type"]))
    Runner.from_cfg(cfg).train()
    return json.loads((tmp_path / strategy["type"] / "continual_results.json").read_text())


@pytest.fixture(scope="module")
def finetune_matrix(tmp_path_factory):
    return _two_task_run(tmp_path_factory.mktemp("ft"), dict(type="FineTune"))[
        "accuracy_matrix"]


@pytest.mark.slow
@pytest.mark.parametrize("strategy,epochs", [
    (dict(type="AGEM", memory_size=100), 3),
    (dict(type="ERACE"), 8),  # new classes are learnt through the replay term only
    (dict(type="SI", lambda_=100.0), 3), (dict(type="MAS", lambda_=100.0), 3),
    (dict(type="OnlineEWC", lambda_=1e4), 3),
    (dict(type="GDumb", memory_size=100), 15),  # retrained from scratch on 100 samples
    (dict(type="WA", memory_size=100), 3), (dict(type="SimpleCIL"), 1),
    (dict(type="RanPAC", projection_dim=500), 1)],
    ids=lambda s: s["type"] if isinstance(s, dict) else str(s))
def test_learns_the_new_task_and_remembers_more_than_fine_tuning(tmp_path, strategy, epochs,
                                                                 finetune_matrix):
    """Fine-tuning ends near [[100], [20, 73]]: the first task is overwritten."""
    matrix = _two_task_run(tmp_path, strategy, epochs)["accuracy_matrix"]
    # learns each task (4 classes after task 2: chance is 25 %)
    assert matrix[0][0] > 90 and matrix[1][1] > 30, matrix
    assert matrix[1][0] > finetune_matrix[1][0] + 10, (matrix, finetune_matrix)  # remembers
