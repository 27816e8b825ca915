"""Each strategy's mechanism, on hand cases or a tiny CNN."""
import math

import pytest
import torch
import torch.nn.functional as F

from zoo.continual import set_num_classes
from zoo.continual.strategies import (
    CLR,
    DERPP,
    ER,
    EWC,
    HPCR,
    KFPF,
    PCR,
    PRD,
    FineTune,
    ICaRL,
    Joint,
    LwF,
)
from zoo.continual.strategies._common import supcon_loss
from zoo.continual.strategies.clr import CLRConv
from zoo.continual.strategies.der import masked_logit_mse
from zoo.continual.strategies.icarl import nearest_mean_scores
from zoo.continual.strategies.pcr import proxy_contrastive_loss

from .conftest import tiny_classifier


def batch(stub_loop, task, n=12):
    return stub_loop.collect(stub_loop.task_dataset(task), limit=n)


def attach(strategy, loop, task=0):
    strategy.setup(loop)
    strategy.task = task
    return strategy


# baselines and replay ---------------------------------------------------------------------
def test_finetune_trains_on_the_task_and_joint_on_all_seen_tasks(stub_loop):
    ft, joint = attach(FineTune(), stub_loop), attach(Joint(), stub_loop)
    assert set(ft.train_dataset(2).labels.tolist()) == {4, 5}
    assert set(joint.train_dataset(2).labels.tolist()) == {0, 1, 2, 3, 4, 5}
    model = tiny_classifier(2)
    x, y = batch(stub_loop, 0)
    torch.testing.assert_close(ft.loss(model, x, y)["loss_cls"],
                               F.cross_entropy(model.logits(x), y))


def test_er_replays_a_memory_batch_in_the_same_cross_entropy(stub_loop):
    er = attach(ER(buffer=dict(type="reservoir", size=20), replay_batch_size=5), stub_loop, 1)
    model = tiny_classifier(4)
    x0, y0 = batch(stub_loop, 0)
    er.after_iter(model, x0, y0)
    assert er.buffer.class_counts() == {0: int((y0 == 0).sum()), 1: int((y0 == 1).sum())}
    x1, y1 = batch(stub_loop, 1)
    torch.manual_seed(7)
    loss = er.loss(model, x1, y1)["loss_cls"]
    torch.manual_seed(7)
    mem = er.buffer.sample(5)
    expected = F.cross_entropy(model.logits(torch.cat([x1, mem["inputs"]])),
                               torch.cat([y1, mem["labels"]]))
    torch.testing.assert_close(loss, expected)
    assert not torch.isclose(loss, F.cross_entropy(model.logits(x1), y1))


def test_er_herding_memory_is_class_balanced(stub_loop):
    er = attach(ER(buffer=dict(type="herding", size=30)), stub_loop)
    model = tiny_classifier(2)
    for task in range(3):
        set_num_classes(model, 2 * (task + 1))
        er.after_task(model, task)
        assert set(er.buffer.class_counts().values()) == {30 // (2 * (task + 1))}


def test_derpp_matches_stored_logits_only_over_their_columns(stub_loop):
    logits = torch.tensor([[1.0, 2.0, 5.0], [0.0, 1.0, 2.0]])
    stored = torch.tensor([[1.0, 2.0, 0.0], [0.0, 3.0, 9.0]])
    width = torch.tensor([2, 3])
    # valid: row 0 cols 0-1 (both equal), row 1 all (diffs 0, 2, 7) -> (0+4+49)/5
    assert masked_logit_mse(logits, stored, width).item() == pytest.approx(53 / 5)
    assert masked_logit_mse(stored, stored, width).item() == 0.0
    der = attach(DERPP(buffer_size=10, alpha=0.3, beta=0.0), stub_loop)
    model = tiny_classifier(2).eval()
    x, y = batch(stub_loop, 0, 6)
    losses = der.loss(model, x, y)
    der.after_iter(model, x, y)
    torch.testing.assert_close(der.buffer.logits, model.logits(x).detach())  # stored as seen
    losses = der.loss(model, x, y)
    assert losses["loss_der"].item() == pytest.approx(0.0, abs=1e-10)  # same weights
    with torch.no_grad():
        model.cls_head.fc.bias.add_(1.0)
    assert der.loss(model, x, y)["loss_der"].item() == pytest.approx(0.3, rel=1e-5)


def test_derpp_full_head_matches_the_logits_of_classes_that_arrive_later(stub_loop):
    # The paper's (and mammoth's) head spans every class from the first task, so the stored
    # logits of a task-1 sample include the outputs of later classes and the logit match
    # keeps those low; with a growing head that part of the constraint was lost.
    der = attach(DERPP(buffer_size=10, alpha=1.0, beta=0.0), stub_loop)
    total = stub_loop.scenario.num_seen_classes(stub_loop.scenario.num_tasks - 1)
    assert der.num_outputs(0) == total and der.num_outputs(3) == total
    model = tiny_classifier(der.num_outputs(0)).eval()
    x, y = batch(stub_loop, 0, 6)
    der.loss(model, x, y)
    der.after_iter(model, x, y)
    assert der.buffer.logits.shape == (6, total)
    assert der.predict(model, x).shape == (6, 2)  # scores of the seen classes only
    der.task = 1
    assert der.predict(model, x).shape == (6, 4)
    x1, y1 = batch(stub_loop, 1, 6)
    assert der.loss(model, x1, y1)["loss_der"].item() == pytest.approx(0.0, abs=1e-10)
    with torch.no_grad():  # a class of task 3 starts to fire on everything
        model.cls_head.fc.bias[5].add_(2.0)
    assert der.loss(model, x1, y1)["loss_der"].item() == pytest.approx(4.0 / total, rel=1e-5)
    grow = attach(DERPP(buffer_size=10, alpha=1.0, beta=0.0, full_head=False), stub_loop)
    assert grow.num_outputs(0) == 2 and grow.num_outputs(1) == 4


def test_derpp_one_forward_pass_normalises_buffer_and_current_samples_together(stub_loop):
    # In train mode BatchNorm normalises each pass by its own statistics; the joint pass (as
    # Avalanche) puts the current batch and both buffer minibatches in one batch.
    x_old, y_old = batch(stub_loop, 0, 6)
    x, y = batch(stub_loop, 1, 6)
    model = tiny_classifier(8).train()
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    losses = {}
    for joint in (True, False):
        der = attach(DERPP(buffer_size=10, alpha=1.0, beta=1.0, joint_forward=joint),
                     stub_loop)
        der.loss(model, x_old, y_old)
        der.after_iter(model, x_old, y_old)
        torch.manual_seed(3)
        losses[joint] = der.loss(model, x, y)
    torch.manual_seed(3)
    m1, m2 = der.buffer.sample(16), der.buffer.sample(16)
    out = model.logits(torch.cat([x, m1["inputs"], m2["inputs"]]))
    n1 = 6 + len(m1["inputs"])
    torch.testing.assert_close(losses[True]["loss_cls"], F.cross_entropy(out[:6], y))
    torch.testing.assert_close(losses[True]["loss_der"],
                               masked_logit_mse(out[6:n1], m1["logits"], m1["logit_width"]))
    torch.testing.assert_close(losses[True]["loss_derpp"],
                               F.cross_entropy(out[n1:], m2["labels"]))
    torch.testing.assert_close(losses[False]["loss_cls"], F.cross_entropy(model.logits(x), y))
    assert not torch.isclose(losses[True]["loss_cls"], losses[False]["loss_cls"])


# EWC --------------------------------------------------------------------------------------
def flat_grads(model, x, y):
    rows = []
    for i in range(len(x)):
        model.zero_grad()
        F.cross_entropy(model.logits(x[i:i + 1]), y[i:i + 1]).backward()
        rows.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    return torch.stack(rows)


def test_ewc_diagonal_fisher_and_quadratic_penalty(stub_loop):
    model = tiny_classifier(2).eval()
    x, y = batch(stub_loop, 0, 10)
    ewc = attach(EWC(lambda_=3.0), stub_loop)
    ewc.consolidate(model, x, y)
    expected = (flat_grads(model, x, y) ** 2).mean(0)
    got = torch.cat([ewc.fishers[0][n].flatten() for n, _ in model.named_parameters()])
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-8)
    assert ewc.penalty(model).item() == 0.0
    delta = {n: 0.01 * torch.randn_like(p) for n, p in model.named_parameters()}

    def penalty_at(scale):
        with torch.no_grad():
            for n, p in model.named_parameters():
                p.copy_(ewc.anchors[0][n] + scale * delta[n])
        return ewc.penalty(model).item()

    p1, p2 = penalty_at(1.0), penalty_at(2.0)
    assert p1 > 0 and p2 == pytest.approx(4 * p1, rel=1e-4)  # grows with distance, squared
    manual = 0.5 * 3.0 * sum((ewc.fishers[0][n] * (2 * delta[n]) ** 2).sum()
                             for n in delta).item()
    assert p2 == pytest.approx(manual, rel=1e-4)
    penalty_at(0.0)
    set_num_classes(model, 4)  # the head grows: old rows stay penalised, new rows free
    with torch.no_grad():
        model.cls_head.fc.weight[2:].add_(5.0)
    assert ewc.penalty(model).item() == 0.0
    with torch.no_grad():
        model.cls_head.fc.weight[:2].add_(0.1)
    assert ewc.penalty(model).item() > 0


def test_ewc_rank1_is_the_leading_eigenvector_of_the_fisher(stub_loop):
    model = tiny_classifier(2).eval()
    x, y = batch(stub_loop, 0, 10)
    ewc = attach(EWC(lambda_=2.0, fisher_type="rank1"), stub_loop)
    ewc.consolidate(model, x, y)
    g = flat_grads(model, x, y)
    evals, evecs = torch.linalg.eigh(g.T @ g / len(g))
    v = torch.cat([ewc.fishers[0][n].flatten() for n, _ in model.named_parameters()])
    assert abs(torch.dot(v, evecs[:, -1]).item()) == pytest.approx(1.0, abs=1e-4)
    assert ewc.scales[0] == pytest.approx(evals[-1].item(), rel=1e-4)
    ortho = torch.randn_like(v)
    ortho -= torch.dot(ortho, v) * v
    for direction, expected in ((ortho, 0.0), (v, 0.5 * 2.0 * evals[-1].item() * 0.01)):
        offset = 0
        with torch.no_grad():
            for n, p in model.named_parameters():
                p.copy_(ewc.anchors[0][n] + 0.1 * direction[offset:offset + p.numel()]
                        .view_as(p))
                offset += p.numel()
        assert ewc.penalty(model).item() == pytest.approx(expected, rel=1e-3, abs=1e-9)


# distillation -----------------------------------------------------------------------------
def test_lwf_distillation_is_zero_for_an_identical_student(stub_loop):
    model = tiny_classifier(2).eval()
    lwf = attach(LwF(alpha=1.0, temperature=2.0), stub_loop, 1)
    lwf.after_task(model, 0)
    set_num_classes(model, 4)
    x, y = batch(stub_loop, 1)
    assert lwf.loss(model, x, y)["loss_lwf"].item() == pytest.approx(0.0, abs=1e-7)
    with torch.no_grad():
        model.cls_head.fc.weight[:2].add_(torch.randn(2, 8))
    student, teacher = model.logits(x)[:, :2] / 2.0, lwf.teacher.logits(x) / 2.0
    q, log_p = teacher.softmax(1), student.log_softmax(1)
    hand = 4.0 * (q * (q.log() - log_p)).sum(1).mean()  # T^2 KL(teacher || student)
    loss = lwf.loss(model, x, y)["loss_lwf"]
    assert loss.item() > 0
    torch.testing.assert_close(loss, hand)


def test_lwf_warm_up_trains_only_the_new_rows_towards_the_new_task(stub_loop):
    # Li & Hoiem's warm-up: before joint training, the new outputs are fitted with the
    # shared layers and the old outputs frozen.
    model = tiny_classifier(2).eval()
    lwf = attach(LwF(warmup_steps=200, warmup_lr=0.05), stub_loop, 1)
    lwf.after_task(model, 0)
    set_num_classes(model, 4, torch.Generator().manual_seed(0))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = stub_loop.collect(stub_loop.task_dataset(1))
    with torch.no_grad():
        ce_before = F.cross_entropy(model.logits(x)[:, 2:], y - 2).item()
    lwf.before_task(model, 1)
    after = model.state_dict()
    for key, value in before.items():
        if key.startswith("cls_head.fc."):
            torch.testing.assert_close(after[key][:2], value[:2])  # old rows untouched
            assert not torch.allclose(after[key][2:], value[2:])   # new rows trained
        else:
            torch.testing.assert_close(after[key], value)         # shared layers frozen
    with torch.no_grad():
        ce_after = F.cross_entropy(model.logits(x)[:, 2:], y - 2).item()
    assert ce_after < ce_before - 0.05  # (the tiny untrained CNN gives weak features)
    assert lwf.warmup_loss == pytest.approx(ce_after, rel=1e-4)
    off = attach(LwF(warmup_steps=0), stub_loop, 1)
    off.after_task(model, 0)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    off.before_task(model, 1)
    for key, value in state.items():
        torch.testing.assert_close(model.state_dict()[key], value)


def test_icarl_nearest_mean_of_exemplars_on_a_hand_case():
    means = F.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), dim=1)
    feats = torch.tensor([[3.0, 1.0], [0.2, 2.0], [1.0, 1.1], [5.0, 4.9]])
    scores = nearest_mean_scores(feats, means)
    assert scores.argmax(1).tolist() == [0, 1, 1, 0]
    f = F.normalize(feats, dim=1)
    torch.testing.assert_close(-scores[:, 0], ((f - means[0]) ** 2).sum(1))


def test_icarl_memory_means_and_distillation_targets(stub_loop):
    model = tiny_classifier(2)
    icarl = attach(ICaRL(memory_size=20), stub_loop)
    icarl.after_task(model, 0)
    assert icarl.memory.class_counts() == {0: 10, 1: 10}
    assert icarl.class_means.shape == (2, 8)
    x, _ = batch(stub_loop, 0, 6)
    model.eval()
    feats = F.normalize(model.embed(x), dim=1)
    dist = torch.cdist(feats, icarl.class_means) ** 2
    assert torch.equal(icarl.predict(model, x).argmax(1), dist.argmin(1))
    set_num_classes(model, 4)
    icarl.task = 1
    assert len(icarl.train_dataset(1)) == len(stub_loop.task_dataset(1)) + 20
    x1, y1 = batch(stub_loop, 1, 6)
    targets = F.one_hot(y1, 4).float()
    targets[:, :2] = torch.sigmoid(icarl.teacher.logits(x1))
    expected = F.binary_cross_entropy_with_logits(model.logits(x1), targets)
    torch.testing.assert_close(icarl.loss(model, x1, y1)["loss_icarl"], expected)


def test_prd_relation_distillation_and_prototype_pull(stub_loop):
    prd = attach(PRD(distill_temperature=2.0), stub_loop, 2)
    feats = torch.randn(6, 8)
    protos = torch.randn(6, 8)
    assert prd.relation_distillation(feats, feats, protos, protos).item() == \
        pytest.approx(0.0, abs=1e-6)
    assert prd.relation_distillation(feats, feats + torch.randn(6, 8), protos, protos) > 1e-3
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    clustered = F.normalize(torch.tensor([[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 3), dim=1)
    mixed = F.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0]] * 3), dim=1)
    assert supcon_loss(clustered, labels, 0.2) < supcon_loss(mixed, labels, 0.2)
    # the prototype loss moves a class prototype towards its samples' features
    model = tiny_classifier(2).eval()
    prd.task = 0
    prd.prepare_model(model, 0)
    x, y = batch(stub_loop, 0)
    target = model.embed(x)[y == 0].mean(0).detach()
    before = F.cosine_similarity(model.cls_head.fc.weight[0], target, dim=0)
    loss = prd.loss(model, x, y)["loss_proto"]
    loss.backward()
    with torch.no_grad():
        model.cls_head.fc.weight.sub_(0.5 * model.cls_head.fc.weight.grad)
    assert F.cosine_similarity(model.cls_head.fc.weight[0], target, dim=0) > before


# proxy-based contrastive replay --------------------------------------------------------------
def test_pcr_loss_on_a_hand_case_and_absent_proxies_get_no_gradient():
    feats = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    proxies = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, -1.0]], requires_grad=True)
    labels = torch.tensor([0, 1])
    t = 0.5
    loss = proxy_contrastive_loss(feats, proxies, labels, t)
    p = F.normalize(proxies.detach()[labels], dim=1)
    f = F.normalize(feats, dim=1)
    hand = 0.0
    for i in range(2):
        logits = [float(f[i] @ p[j]) / t for j in range(2)]
        hand += -(logits[i] - math.log(sum(math.exp(v) for v in logits)))
    assert loss.item() == pytest.approx(hand / 2, rel=1e-6)
    loss.backward()
    assert proxies.grad[2].abs().sum() == 0  # class 2 is not in the batch
    assert proxies.grad[:2].abs().sum() > 0
    proxies.grad = None
    pairs = proxy_contrastive_loss(torch.randn(6, 2), proxies, torch.tensor([0, 0, 1, 1, 0, 1]),
                                   t, sample_pairs=True)
    pairs.backward()
    assert proxies.grad[2].abs().sum() == 0


def test_pcr_predicts_by_cosine_to_the_proxies(stub_loop):
    pcr = attach(PCR(buffer_size=10), stub_loop)
    model = tiny_classifier(2).eval()
    x, y = batch(stub_loop, 0)
    expected = F.normalize(model.embed(x), dim=1) @ \
        F.normalize(model.cls_head.fc.weight, dim=1).T / 0.09
    torch.testing.assert_close(pcr.predict(model, x), expected)
    assert pcr.loss(model, x, y)["loss_pcr"].item() == 0.0  # empty buffer: nothing to learn


def test_hpcr_temperature_cycle_and_similarity_distillation():
    hpcr = HPCR(temp_min=0.5, temp_max=1.5, period=100)
    assert hpcr.tau_s(0) == pytest.approx(0.5)
    assert hpcr.tau_s(50) == pytest.approx(1.5)
    assert hpcr.tau_s(100) == pytest.approx(0.5)
    feats = torch.randn(5, 4)
    assert hpcr.similarity_distillation(feats, feats).item() == pytest.approx(0.0, abs=1e-6)
    assert hpcr.similarity_distillation(feats, torch.randn(5, 4)).item() > 1e-3


# fine-tuning of selected modules, reprogramming ---------------------------------------------
def test_kfpf_finetunes_only_the_selected_modules(stub_loop):
    model = tiny_classifier(2)
    fpf = attach(KFPF(buffer_size=20, fpf_steps=3, fpf_lr=0.1), stub_loop)
    x, y = batch(stub_loop, 0, 20)
    fpf.buffer.add(x, y, logits=model.logits(x).detach())
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    names = fpf.fpf(model)
    assert names == ["backbone.features.0.0", "backbone.features.0.1", "backbone.features.2.1",
                     "cls_head.fc"]  # first conv, the BN layers, the classifier
    for n, p in model.named_parameters():
        moved = not torch.equal(p, before[n])
        assert moved == (n.rsplit(".", 1)[0] in names), n
    fpf.select, fpf.num_modules = "dynamics", 1
    fpf.change_sum, fpf.change_count = {"backbone.features.2.0": 3.0,
                                        "backbone.features.0.0": 1.0}, 1
    assert fpf.selected_modules(model) == ["backbone.features.2.0", "cls_head.fc"]


def test_clr_leaves_the_anchor_untouched(stub_loop):
    model = tiny_classifier(2)
    clr = attach(CLR(), stub_loop)
    x0, _ = batch(stub_loop, 0)
    model.eval()
    out0 = model.logits(x0)[:, :2].detach()
    anchor = {n: p.detach().clone() for n, p in model.backbone.named_parameters()}
    clr.task = 1
    set_num_classes(model, 4)
    clr.prepare_model(model, 1)
    clr.before_task(model, 1)
    convs = [m for m in model.modules() if isinstance(m, CLRConv)]
    assert len(convs) == 2 and all(len(c.reprogram) == 2 for c in convs)
    old_rows = model.cls_head.fc.weight[:2].detach().clone()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.05)
    x1, y1 = batch(stub_loop, 1)
    model.train()
    for _ in range(5):
        opt.zero_grad()
        clr.loss(model, x1, y1)["loss_cls"].backward()
        opt.step()
        clr.after_iter(model, x1, y1)
    for c, name in zip(convs, ("features.0.0.weight", "features.2.0.weight")):
        assert torch.equal(c.conv.weight, anchor[name])  # the anchor never moves
    assert not torch.equal(convs[0].reprogram[1].weight, convs[0].reprogram[0].weight)
    assert torch.equal(model.cls_head.fc.weight[:2], old_rows)
    model.eval()
    clr.set_active(model, 0)
    torch.testing.assert_close(model.logits(x0)[:, :2], out0)  # task 1 path unchanged
    clr.set_active(model, 1)
    scores = clr.predict(model, x0)
    assert scores.shape == (12, 4)
    torch.testing.assert_close(scores[:, :2].sum(1), torch.ones(12))
