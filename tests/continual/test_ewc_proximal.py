"""EWC's proximal penalty step: stable where the gradient penalty diverges, and exactly the
proximal operator of the EWC penalty."""
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from zoo.continual import set_num_classes
from zoo.continual.strategies import EWC

from .conftest import tiny_classifier


class Vector(nn.Module):
    """One parameter vector ``w``: the smallest 'model' the strategy can act on."""

    def __init__(self, init):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(init, dtype=torch.float64).clone())


def with_optimizer(strategy, optimizer):
    """Wire a strategy to a stand-in loop whose runner exposes ``optimizer``."""
    strategy.setup(SimpleNamespace(runner=SimpleNamespace(
        optim_wrapper=SimpleNamespace(optimizer=optimizer))))
    return strategy


def run_toy(ewc, model, target, lr, steps=300):
    """Nesterov SGD (momentum 0.9, as on MSR) on ``0.5 ||w - target||^2`` with EWC."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)
    with_optimizer(ewc, opt)
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * ((model.w - target) ** 2).sum()
        if ewc.penalty_step == "gradient":
            loss = loss + ewc.penalty(model)
        loss.backward()
        opt.step()
        ewc.after_iter(model, None, None)
        if not torch.isfinite(model.w).all() or model.w.abs().max() > 1e12:
            return None
    return model.w.detach()


@pytest.mark.parametrize("fisher_type", ["diagonal", "rank1"])
def test_gradient_penalty_diverges_on_a_stiff_quadratic_and_the_proximal_step_converges(
        fisher_type):
    target = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    anchor = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
    lam, lr = 1.0, 0.01
    if fisher_type == "diagonal":
        fisher, scale = torch.tensor([1e3, 1.0, 0.1], dtype=torch.float64), 1.0
        curvature = torch.diag(fisher)
    else:
        v = torch.tensor([2.0, 1.0, -2.0], dtype=torch.float64) / 3.0  # unit vector
        fisher, scale = v, 1e3
        curvature = scale * torch.outer(v, v)
    # lr * lambda * (largest curvature) = 10: beyond SGD's stability limit
    assert lr * lam * torch.linalg.eigvalsh(curvature).max() > 2
    # minimiser of 0.5 ||w - target||^2 + lambda/2 (w - anchor)^T F (w - anchor)
    eye = torch.eye(3, dtype=torch.float64)
    best = torch.linalg.solve(eye + lam * curvature, target + lam * curvature @ anchor)

    results = {}
    for step in ("gradient", "proximal"):
        ewc = EWC(lambda_=lam, fisher_type=fisher_type, penalty_step=step)
        ewc.anchors, ewc.fishers, ewc.scales = [{"w": anchor}], [{"w": fisher}], [scale]
        results[step] = run_toy(ewc, Vector(target), target, lr)
    assert results["gradient"] is None  # diverged
    torch.testing.assert_close(results["proximal"], best, atol=1e-6, rtol=0)


def stationarity_residual(ewc, model, before, step_sizes):
    """``grad penalty(theta) + (theta - theta') / c`` at the proximal point: zero exactly at
    the minimiser of ``penalty(u) + sum ||u - theta'||^2 / (2 c)`` (strictly convex)."""
    model.zero_grad()
    ewc.penalty(model).backward()
    worst = 0.0
    for name, p in model.named_parameters():
        res = p.grad + (p.detach() - before[name]) / step_sizes[name]
        worst = max(worst, float(res.abs().max() / (1 + p.grad.abs().max())))
    return worst


@pytest.mark.parametrize("fisher_type", ["diagonal", "rank1"])
def test_proximal_step_is_the_closed_form_minimiser_with_two_tasks_and_a_grown_head(
        fisher_type):
    torch.manual_seed(0)
    model = tiny_classifier(2).double()
    ewc = EWC(lambda_=50.0, fisher_type=fisher_type, penalty_step="proximal")
    for task in range(2):  # two consolidated tasks; the head grows in between
        set_num_classes(model, 2 * (task + 1))
        model.double()
        anchor = {n: p.detach() + 0.1 * torch.randn_like(p) for n, p in model.named_parameters()}
        if fisher_type == "diagonal":
            factors = {n: torch.rand_like(p) * 10 for n, p in model.named_parameters()}
            scale = 1.0
        else:
            factors = {n: torch.randn_like(p) for n, p in model.named_parameters()}
            norm = sum(float((f ** 2).sum()) for f in factors.values()) ** 0.5
            factors = {n: f / norm for n, f in factors.items()}
            scale = 30.0 * (task + 1)
        ewc.anchors.append(anchor)
        ewc.fishers.append(factors)
        ewc.scales.append(scale)
    set_num_classes(model, 6)  # the head grew again: the new rows have no penalty
    model.double()
    # two parameter groups with different learning rates (e.g. an lr_mult on the head)
    head = [p for n, p in model.named_parameters() if n.startswith("cls_head")]
    body = [p for n, p in model.named_parameters() if not n.startswith("cls_head")]
    opt = torch.optim.SGD([{"params": body}, {"params": head, "lr": 0.2}], lr=0.03)
    with_optimizer(ewc, opt)
    sizes = ewc._step_sizes(model)
    assert sizes["cls_head.fc.weight"] == 0.2 and sizes["backbone.features.0.0.weight"] == 0.03
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    assert stationarity_residual(ewc, model, before, sizes) > 1e-2  # not yet the minimiser
    ewc.after_iter(model, None, None)
    assert stationarity_residual(ewc, model, before, sizes) < 1e-9
    # rows of the head that no task has seen are untouched
    torch.testing.assert_close(model.cls_head.fc.weight[4:], before["cls_head.fc.weight"][4:])


def test_proximal_mode_keeps_the_penalty_out_of_the_loss_and_needs_sgd():
    model = tiny_classifier(2)
    ewc = EWC(lambda_=10.0, penalty_step="proximal")
    ewc.anchors = [{n: p.detach() + 1 for n, p in model.named_parameters()}]
    ewc.fishers = [{n: torch.ones_like(p) for n, p in model.named_parameters()}]
    ewc.scales = [1.0]
    x, y = torch.randn(4, 1, 8, 8), torch.tensor([0, 1, 0, 1])
    losses = ewc.loss(model, x, y)
    assert "loss_ewc" not in losses and not losses["ewc_penalty"].requires_grad
    assert float(losses["ewc_penalty"]) > 0
    with_optimizer(ewc, torch.optim.Adam(model.parameters()))
    with pytest.raises(ValueError, match="SGD"):
        ewc.after_iter(model, x, y)
    with pytest.raises(ValueError, match="penalty_step"):
        EWC(penalty_step="newton")


def test_in_the_loop_a_stiff_penalty_diverges_with_gradient_steps_and_holds_with_proximal(
        tmp_path):
    """Split digits (tiny CNN, 1 epoch per task) with Nesterov SGD at 0.05, as on MSR."""
    from pathlib import Path

    from mmengine.runner import Runner

    from zoo.runner_utils import load_config

    config = str(Path(__file__).resolve().parents[2] / "configs/continual/split_digits/ewc.py")

    def runner(name, **strategy):
        options = {
            "model.backbone.channels": (4, 8), "model.cls_head.in_channels": 8,
            "train_cfg.epochs_per_task": 1, "train_dataloader.batch_size": 48,
            "train_cfg.scenario.num_tasks": 2, "train_cfg.save_checkpoints": False,
            "train_cfg.strategy": dict(type="EWC", lambda_=1e5, max_samples=64, **strategy),
            "optim_wrapper.optimizer": dict(type="SGD", lr=0.05, momentum=0.9, nesterov=True),
            "default_hooks.logger.interval": 1000, "experiment_name": name}
        return Runner.from_cfg(load_config(config, options, str(tmp_path / name)))

    with pytest.raises(FloatingPointError, match="non-finite loss in task 2"):
        runner("gradient", penalty_step="gradient").train()
    prox = runner("proximal", penalty_step="proximal")
    prox.train()
    ewc = prox.train_loop.strategy
    model = prox.train_loop.model
    # the weights the old task's Fisher marks as important stayed at their anchors
    moved = {n: (p.detach() - ewc._pad(ewc.anchors[0][n], p)) for n, p in
             model.named_parameters() if n in ewc.fishers[0]}
    fisher_distance = sum(float((ewc._pad(ewc.fishers[0][n], d) * d ** 2).sum())
                          for n, d in moved.items())
    total_motion = sum(float((d ** 2).sum()) for d in moved.values())
    assert total_motion > 1e-4  # task 2 did train
    assert float(ewc.penalty(model).detach()) == pytest.approx(0.5 * 1e5 * fisher_distance)
    assert fisher_distance < 1e-6 * max(float(f.max()) for f in ewc.fishers[0].values()) \
        * total_motion
