"""BiC, GEM and X-DER: each mechanism on a hand-computed case, and learns-and-remembers on
split digits."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.optimize import minimize
from torch import nn

from zoo.continual.strategies.agem import agem_projection
from zoo.continual.strategies.bic import BiC, bias_correct, fit_bias_correction
from zoo.continual.strategies.gem import GEM, gem_dual, gem_projection
from zoo.continual.strategies.xder import XDER, cap_logits, frozen_bn_stats
from zoo.registry import STRATEGIES

from .conftest import tiny_classifier
from .test_new_strategies import Linear, _two_task_run, flat_grad


def test_registered_with_families():
    for name in ("BiC", "GEM", "XDER"):
        assert STRATEGIES.get(name).family == "replay"


# BiC --------------------------------------------------------------------------------------
def test_bias_correction_touches_only_the_new_classes_logits():
    logits = torch.tensor([[1.0, 2.0, 3.0, -1.0], [0.5, 0.0, -2.0, 4.0]])
    out = bias_correct(logits, 2.0, -1.0, 2, 4)
    torch.testing.assert_close(out, torch.tensor([[1.0, 2.0, 5.0, -3.0],
                                                  [0.5, 0.0, -5.0, 7.0]]))
    torch.testing.assert_close(logits[:, :2], out[:, :2])


def test_bias_parameters_minimise_the_held_out_cross_entropy():
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(4).repeat_interleave(5)
    logits = 3.0 * F.one_hot(labels, 4).double() + torch.randn(20, 4, generator=g,
                                                                dtype=torch.float64)
    logits[:, 2:] += 4.0  # new classes over-scored, as after training on unbalanced data
    alpha, beta = fit_bias_correction(logits, labels, 2, 4, l2=1e-2)

    def objective(p):  # the same objective written out in numpy
        z = logits.numpy().copy()
        z[:, 2:] = p[0] * z[:, 2:] + p[1]
        z -= z.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        return -logp[np.arange(20), labels.numpy()].mean() + 1e-2 * ((p[0] - 1) ** 2 + p[1] ** 2)

    ref = minimize(objective, np.array([1.0, 0.0]), method="Nelder-Mead",
                   options=dict(xatol=1e-9, fatol=1e-12, maxiter=5000)).x
    assert alpha == pytest.approx(ref[0], abs=1e-4) and beta == pytest.approx(ref[1], abs=1e-4)
    assert beta < -1.0  # the correction removes most of the +4 offset
    corrected = bias_correct(logits, alpha, beta, 2, 4)
    assert (corrected.argmax(1) == labels).float().mean() > (logits.argmax(1) == labels
                                                              ).float().mean()


def test_bic_holds_out_validation_samples_and_fits_the_correction_on_them(stub_loop):
    from zoo.continual import set_num_classes

    model = tiny_classifier(2)
    bic = BiC(memory_size=40, val_fraction=0.25)  # 10 validation + 30 training exemplars
    bic.setup(stub_loop)
    held0 = bic.held_out(0)
    labels0 = torch.as_tensor(stub_loop.task_dataset(0).labels)
    assert torch.equal(torch.bincount(labels0[held0]), torch.tensor([5, 5]))  # 10 // 2
    assert torch.equal(bic.held_out(0), held0)  # the same draw at the task end
    train = bic.train_dataset(0)
    assert len(train) == len(labels0) - 10 and not set(train.indices) & set(held0.tolist())
    bic.task = 0
    bic.after_task(model, 0)
    assert bic.correction is None and bic.memory.class_counts() == {0: 15, 1: 15}
    assert torch.equal(torch.bincount(bic.val_labels), torch.tensor([5, 5]))

    set_num_classes(model, 4)
    bic.task = 1
    held1 = bic.held_out(1)
    labels1 = torch.as_tensor(stub_loop.task_dataset(1).labels)
    assert torch.equal(torch.bincount(labels1[held1] - 2), torch.tensor([2, 2]))  # 10 // 4
    assert len(bic.train_dataset(1)) == len(labels1) - 4 + 30
    with torch.no_grad():
        model.cls_head.fc.bias[2:] += 3.0  # a new-class bias for the correction to remove
    bic.after_task(model, 1)
    assert torch.equal(torch.bincount(bic.val_labels), torch.tensor([2, 2, 2, 2]))
    x1, _ = stub_loop.collect(stub_loop.task_dataset(1))
    assert torch.equal(bic.val_inputs[bic.val_labels >= 2], x1[held1])  # never trained on
    model.eval()
    with torch.no_grad():
        val_logits = model.logits(bic.val_inputs)
    alpha, beta = fit_bias_correction(val_logits, bic.val_labels, 2, 4, bic.bias_l2)
    assert bic.correction == pytest.approx((alpha, beta, 2, 4))
    x = bic.val_inputs[:3]
    with torch.no_grad():
        raw = model.logits(x)
    torch.testing.assert_close(bic.predict(model, x), bias_correct(raw, alpha, beta, 2, 4))


def test_bic_loss_distils_from_the_corrected_previous_model(stub_loop):
    from zoo.continual import set_num_classes
    from zoo.continual.strategies.base import frozen_copy

    model = tiny_classifier(4)
    bic = BiC(memory_size=40)
    bic.setup(stub_loop)
    bic.teacher, bic.teacher_correction = frozen_copy(model), (0.5, -1.0, 2, 4)
    set_num_classes(model, 6)
    x, y = stub_loop.collect(stub_loop.task_dataset(2), limit=6)
    losses = bic.loss(model, x, y)
    logits = model.logits(x)
    with torch.no_grad():
        old = bic.teacher.logits(x)
    old[:, 2:4] = 0.5 * old[:, 2:4] - 1.0
    q = torch.softmax(old / 2, 1)
    kl = (q * (q.log() - torch.log_softmax(logits[:, :4] / 2, 1))).sum(1).mean()
    # lam = 4 old / 6 seen classes (Wu et al. Eq. 5)
    torch.testing.assert_close(losses["loss_cls"], F.cross_entropy(logits, y) / 3)
    torch.testing.assert_close(losses["loss_kd"], 2 / 3 * kl)


# GEM --------------------------------------------------------------------------------------
def test_gem_projection_equals_the_qp_solution_on_a_2d_hand_case():
    memories = torch.tensor([[1.0, 1.0], [1.0, -1.0]])  # feasible cone: |z_2| <= z_1
    # (0, 2) is nearest to (1, 1) on the cone's edge: only the second constraint is active
    torch.testing.assert_close(gem_projection(torch.tensor([0.0, 2.0]), memories),
                               torch.tensor([1.0, 1.0]))
    torch.testing.assert_close(gem_dual(torch.tensor([0.0, 2.0]), memories),
                               torch.tensor([0.0, 1.0], dtype=torch.float64))
    # (-1, 0) projects onto the apex, both constraints active with v = (1/2, 1/2)
    torch.testing.assert_close(gem_projection(torch.tensor([-1.0, 0.0]), memories),
                               torch.zeros(2), atol=1e-9, rtol=0)
    torch.testing.assert_close(gem_dual(torch.tensor([-1.0, 0.0]), memories),
                               torch.tensor([0.5, 0.5], dtype=torch.float64))
    # one memory: A-GEM's closed form
    g, g_ref = torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 1.0])
    torch.testing.assert_close(gem_projection(g, g_ref[None]), agem_projection(g, g_ref))
    # margin 0.5 (v >= 0.5): the separable dual v_1^2 + 2 v_1 + v_2^2 - 2 v_2 gives
    # v = (0.5, 1): z = (0, 2) + 0.5 (1, 1) + (1, -1), pushed into the cone along g_1
    torch.testing.assert_close(gem_dual(torch.tensor([0.0, 2.0]), memories, margin=0.5),
                               torch.tensor([0.5, 1.0], dtype=torch.float64))
    torch.testing.assert_close(gem_projection(torch.tensor([0.0, 2.0]), memories, margin=0.5),
                               torch.tensor([1.5, 1.5]))


@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_gem_projection_satisfies_every_constraint_and_the_kkt_conditions(margin):
    g = torch.Generator().manual_seed(1)
    memories = torch.randn(4, 12, generator=g, dtype=torch.float64)
    grad = -memories.sum(0) + 0.3 * torch.randn(12, generator=g, dtype=torch.float64)
    assert (memories @ grad < 0).any()
    v = gem_dual(grad, memories, margin)
    z = gem_projection(grad, memories, margin)
    torch.testing.assert_close(z, grad + v @ memories)
    assert (memories @ z >= -1e-9).all() and (v >= margin - 1e-12).all()
    # complementary slackness: a multiplier above the margin only on an active constraint
    assert ((v - margin) * (memories @ z)).abs().max() < 1e-8
    if margin == 0:  # the primal optimum, checked with a general solver
        cons = [{"type": "ineq", "fun": lambda zz, k=k: memories[k].numpy() @ zz}
                for k in range(4)]
        ref = minimize(lambda zz: 0.5 * ((zz - grad.numpy()) ** 2).sum(), grad.numpy(),
                       constraints=cons, method="SLSQP", options=dict(ftol=1e-14)).x
        np.testing.assert_allclose(z.numpy(), ref, atol=1e-5)


def test_gem_loss_gradient_is_the_projected_gradient(stub_loop):
    model = Linear([[0.5, -0.2], [0.1, 0.3]], [0.0, 0.1])
    gem = GEM(memory_size=10, margin=0.0, eps=0.0)
    gem.setup(stub_loop)
    x, y = torch.tensor([[1.0, 0.5]]), torch.tensor([0])
    mem_x = torch.tensor([[1.0, 0.5], [0.2, -1.0], [-0.5, 1.5]])
    gem.memory.inputs, gem.memory.labels = mem_x, torch.tensor([1, 1, 0])
    gem.memory.tasks = torch.tensor([0, 1, 1])
    losses = gem.loss(model, x, y)
    assert gem.num_projected == 1 and set(losses) == {"loss_cls", "loss_gem"}
    assert float(losses["loss_gem"].detach()) == 0.0  # the logged loss stays the cross-entropy
    got = flat_grad(sum(losses.values()), model)
    g = flat_grad(F.cross_entropy(model.logits(x), y), model)
    past = torch.stack([flat_grad(F.cross_entropy(model.logits(mem_x[:1]), torch.tensor([1])),
                                  model),
                        flat_grad(F.cross_entropy(model.logits(mem_x[1:]), torch.tensor([1, 0])),
                                  model)])
    torch.testing.assert_close(got, gem_projection(g, past), rtol=1e-5, atol=1e-6)
    assert (past @ got >= -1e-6).all()


def test_gem_memory_keeps_an_equal_share_per_task_with_its_task(stub_loop):
    gem = GEM(memory_size=20)
    gem.setup(stub_loop)
    for task in range(2):
        gem.after_task(None, task)
    assert gem.memory.tasks.tolist() == [0] * 4 + [1] * 4  # 20 // 5 tasks
    x, y = gem.memory.of_task(1)
    assert len(x) == 4 and set(y.tolist()) <= {2, 3}


# X-DER ------------------------------------------------------------------------------------
def test_cap_logits_transplants_and_scales_below_the_true_class():
    stored = torch.tensor([[3.0, 0.0, 0.0, 0.0], [0.0, 4.0, 0.0, 0.0]])
    current = torch.tensor([[1.0, 0.0, 6.0, 2.0], [9.0, 9.0, 1.0, 2.0]])
    out = cap_logits(stored, current, torch.tensor([0, 1]), 2, 4, gamma=0.85)
    # row 0: max 6 > stored true logit 3 -> scaled by 0.85 * 3 / 6; row 1: 2 <= 4, copied
    torch.testing.assert_close(out, torch.tensor([[3.0, 0.0, 2.55, 0.85],
                                                  [0.0, 4.0, 1.0, 2.0]]))


def test_frozen_bn_stats_uses_batch_statistics_without_updating_running_ones():
    bn = nn.BatchNorm1d(2)
    x = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
    with frozen_bn_stats(bn):
        out = bn(x)
    torch.testing.assert_close(bn.running_mean, torch.zeros(2))
    torch.testing.assert_close(out, F.batch_norm(x, None, None, training=True))
    assert bn.momentum == 0.1


def _xder_with_vector_buffer(stub_loop):
    """X-DER at task 2 of 5 (columns 2:4) with a 10-way linear model and four stored
    task-1 samples."""
    model = Linear(torch.randn(10, 3, generator=torch.Generator().manual_seed(0)),
                   torch.zeros(10))
    xd = XDER(buffer_size=4, alpha=0.3, beta=0.8, gamma=0.85, lambd=0.0, eta=0.1, m=0.3,
              replay_batch_size=2)
    xd.setup(stub_loop)
    xd.task = 1
    stored = torch.zeros(4, 10)
    stored[torch.arange(4), torch.tensor([0, 1, 0, 1])] = 2.0
    xd.buffer.replace(torch.randn(4, 3, generator=torch.Generator().manual_seed(1)),
                      torch.tensor([0, 1, 0, 1]), stored)
    return model, xd


def test_xder_updates_the_future_logits_of_drawn_buffer_samples(stub_loop):
    model, xd = _xder_with_vector_buffer(stub_loop)
    before = xd.buffer.logits.clone()
    x, y = torch.randn(3, 3), torch.tensor([2, 3, 2])
    torch.manual_seed(5)
    losses = xd.loss(model, x, y)
    torch.manual_seed(5)
    i1, i2 = torch.randperm(4)[:2], torch.randperm(4)[:2]
    drawn = torch.unique(torch.cat([i1, i2]))
    # first draw this task: updated with probability 1 / 1
    assert torch.equal(xd.buffer.draws[drawn], torch.ones(len(drawn)))
    with torch.no_grad():
        out = model.logits(xd.buffer.inputs[drawn])
    expected = cap_logits(before[drawn], out, xd.buffer.labels[drawn], 2, 10, 0.85)
    torch.testing.assert_close(xd.buffer.logits[drawn], expected)
    assert torch.equal(xd.buffer.logits[drawn, :2], before[drawn, :2])  # past heads kept
    rest = torch.tensor([i for i in range(4) if i not in drawn.tolist()], dtype=torch.long)
    assert torch.equal(xd.buffer.logits[rest], before[rest])
    with torch.no_grad():
        logits = model.logits(x)
        o1, o2 = model.logits(xd.buffer.inputs[i1]), model.logits(xd.buffer.inputs[i2])
    torch.testing.assert_close(losses["loss_cls"], F.cross_entropy(logits[:, 2:4], y - 2))
    torch.testing.assert_close(losses["loss_der"], 0.3 * F.mse_loss(o1, before[i1]))
    torch.testing.assert_close(losses["loss_derpp"],
                               0.8 * F.cross_entropy(o2[:, :2], xd.buffer.labels[i2]))
    p = torch.softmax(logits[:, :4], 1)
    gap = p[:, :2].max(1).values + 0.3 - p[:, 2:4].max(1).values
    expected_past = 0.1 * gap[gap > 0].mean() if (gap > 0).any() else torch.tensor(0.0)
    torch.testing.assert_close(losses["loss_past"], expected_past)
    own = torch.stack([o[:2] if lab < 2 else o[2:4] for o, lab in
                       zip(model.logits(xd.buffer.inputs[drawn]).detach(),
                           xd.buffer.labels[drawn])])
    bad = torch.cat([logits[:, 4:].max(1).values, out[:, 4:].max(1).values])
    good = torch.cat([logits[:, 2:4].max(1).values, own.max(1).values])
    fgap = bad + 0.3 - good
    expected_future = 0.1 * fgap[fgap > 0].mean() if (fgap > 0).any() else torch.tensor(0.0)
    torch.testing.assert_close(losses["loss_future"], expected_future)


def test_xder_task_end_rebalances_the_buffer_and_caps_past_and_future_logits(stub_loop):
    model = tiny_classifier(10)
    xd = XDER(buffer_size=20)
    xd.setup(stub_loop)
    xd.task = 0
    xd.after_task(model, 0)
    assert xd.buffer.class_counts() == {0: 10, 1: 10} and xd.buffer.logits.shape == (20, 10)
    first = xd.buffer.logits.clone()
    with torch.no_grad():
        model.cls_head.fc.bias[2:4] += 50.0  # later classes' logits far above the true ones
    xd.task = 1
    xd.after_task(model, 1)
    assert xd.buffer.class_counts() == {0: 5, 1: 5, 2: 5, 3: 5}
    labels, logits, inputs = xd.buffer.labels, xd.buffer.logits, xd.buffer.inputs
    old, new = labels < 2, labels >= 2

    def outputs(x):  # the task-end pass: train mode, batch statistics, running ones kept
        model.train()
        with torch.no_grad(), frozen_bn_stats(model):
            return model.logits(x)

    # old samples (the first five of each class kept): past head as stored, columns 2: the
    # current outputs scaled below 0.85 x the stored true logit
    kept = torch.cat([first[:5], first[10:15]])
    expected_old = cap_logits(kept, outputs(inputs[old]), labels[old], 2, 10, 0.85)
    torch.testing.assert_close(logits[old], expected_old, rtol=1e-5, atol=1e-5)
    assert torch.equal(logits[old][:, :2], kept[:, :2])
    assert (logits[old][:, 2:4] < 40).all()  # the +50 was capped
    # new samples: their own outputs, the past head capped below 0.85 x their true logit
    out_new = outputs(inputs[new])
    torch.testing.assert_close(logits[new], cap_logits(out_new, out_new, labels[new], 0, 2,
                                                       0.85), rtol=1e-5, atol=1e-5)
    x, _ = stub_loop.collect(stub_loop.task_dataset(0), limit=3)
    assert xd.predict(model, x).shape == (3, 4)


# learns and remembers on split digits ------------------------------------------------------
@pytest.fixture(scope="module")
def finetune_matrix(tmp_path_factory):
    return _two_task_run(tmp_path_factory.mktemp("ft"), dict(type="FineTune"))[
        "accuracy_matrix"]


@pytest.mark.slow
@pytest.mark.parametrize("strategy,epochs", [
    (dict(type="BiC", memory_size=100), 3), (dict(type="GEM", memory_size=100), 3),
    # X-DER's stream loss covers the present head only: the new classes overtake the old
    # ones on new data through the eta-weighted past-logit constraint, which needs more steps
    # (at 3 epochs: [[100], [100, 0]], task-aware 96; at 6: new task 34; at 10: [98.9, 88.9])
    (dict(type="XDER", buffer_size=100), 10)],
    ids=lambda s: s["type"] if isinstance(s, dict) else str(s))
def test_learns_the_new_task_and_remembers_more_than_fine_tuning(tmp_path, strategy, epochs,
                                                                 finetune_matrix):
    matrix = _two_task_run(tmp_path, strategy, epochs)["accuracy_matrix"]
    assert matrix[0][0] > 90 and matrix[1][1] > 30, matrix
    assert matrix[1][0] > finetune_matrix[1][0] + 10, (matrix, finetune_matrix)


@pytest.mark.parametrize("name,outputs", [("BiC", 2), ("GEM", 2), ("XDER", 10)])
def test_state_survives_a_weights_only_checkpoint(stub_loop, tmp_path, name, outputs):
    def build():
        s = STRATEGIES.build(dict(type=name, **({"buffer_size": 20} if name == "XDER"
                                                 else {"memory_size": 20})))
        s.setup(stub_loop)
        return s

    model = tiny_classifier(outputs)
    strategy = build()
    strategy.after_task(model, 0)
    torch.save(strategy.state_dict(), tmp_path / "s.pth")
    restored = build()
    restored.load_state_dict(torch.load(tmp_path / "s.pth", weights_only=True), model)
    a, b = strategy.state_dict(), restored.state_dict()
    assert a.keys() == b.keys()

    def same(x, y):
        if isinstance(x, dict):
            return x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
        return torch.equal(x, y) if torch.is_tensor(x) else x == y

    assert same(a, b)
