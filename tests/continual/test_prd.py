"""PRD details checked against the official code (naderAsadi/Probing-Continual-Learning,
methods/repe.py): the teacher's batch norm and the SupCon loss scale."""
import pytest
import torch
import torch.nn.functional as F

from zoo.continual import set_num_classes
from zoo.continual.strategies import PRD
from zoo.continual.strategies._common import supcon_loss

from .conftest import tiny_classifier


def prd_after_task_0(stub_loop, **kwargs):
    prd = PRD(**kwargs)
    prd.setup(stub_loop)
    model = tiny_classifier(2)
    prd.task = 0
    prd.prepare_model(model, 0)
    x, _ = stub_loop.collect(stub_loop.task_dataset(0), limit=16)
    model.train()
    model.embed(x)  # move the running statistics away from their initial values
    prd.after_task(model, 0)
    prd.task = 1
    set_num_classes(model, 4)
    return prd, model


@pytest.mark.parametrize("teacher_bn", ["batch", "running"])
def test_relation_distillation_starts_at_zero_only_with_a_batch_statistics_teacher(
        stub_loop, teacher_bn):
    prd, model = prd_after_task_0(stub_loop, teacher_bn=teacher_bn)
    running = {n: b.clone() for n, b in prd.teacher.named_buffers() if "running" in n}
    x, y = stub_loop.collect(stub_loop.task_dataset(1), limit=16)
    model.train()  # the student trains with batch statistics
    loss = float(prd.loss(model, x, y)["loss_prd"].detach())
    if teacher_bn == "batch":
        # the student is still the teacher: nothing to distil
        assert loss == pytest.approx(0.0, abs=1e-6)
    else:
        # the eval-mode teacher normalises with running statistics, the student with the
        # batch's: they disagree before any step is taken
        assert loss > 1e-3
    for name, buf in prd.teacher.named_buffers():
        if "running" in name:  # the teacher's statistics are never updated
            torch.testing.assert_close(buf, running[name])


def test_supcon_term_carries_the_official_temperature_ratio(stub_loop):
    still = dict(noise_std=0.0, scale=0.0, shift=0)  # deterministic views: x and x
    prd = PRD(supcon_temperature=0.2, supcon_base_temperature=0.07, augment=still)
    prd.setup(stub_loop)
    prd.task = 0
    model = tiny_classifier(2).eval()
    prd.prepare_model(model, 0)
    x, y = stub_loop.collect(stub_loop.task_dataset(0), limit=12)
    proj = F.normalize(model.prd_projector(model.embed(torch.cat([x, x]))), dim=1)
    expected = 0.2 / 0.07 * supcon_loss(proj, torch.cat([y, y]), 0.2)
    torch.testing.assert_close(prd.loss(model, x, y)["loss_supcon"], expected)
    unscaled = PRD(supcon_base_temperature=None, augment=still)
    unscaled.setup(stub_loop)
    torch.testing.assert_close(unscaled.loss(model, x, y)["loss_supcon"], expected * 0.07 / 0.2)
    with pytest.raises(ValueError, match="teacher_bn"):
        PRD(teacher_bn="eval")
