"""ABMIL and CoMEL: shapes, learning slide labels, localisation, BPPL and OWLoRA behaviour."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper
from zoo.models.mil import ABMIL, CoMEL, GDATAttention, MILMetric, OWLoRALinear

from zoo.evaluation.mil import binary_auc
from zoo.structures import ClsDataSample

from .conftest import synthetic_bags


def _batch(x, label, tl=None):
    s = ClsDataSample(metainfo=dict(tile_labels=tl) if tl is not None else {})
    s.set_gt_label(label)
    return dict(inputs=[x], data_samples=[s])


def _train(model, bags, epochs, lr=1e-3, seed=0):
    torch.manual_seed(seed)
    wrapper = OptimWrapper(torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad], lr=lr))
    model.train()
    for _ in range(epochs):
        for i in torch.randperm(len(bags)).tolist():
            model.train_step(_batch(bags[i][0], bags[i][1]), wrapper)
    model.eval()


def _evaluate(model, bags):
    metric = MILMetric()
    with torch.no_grad():
        for x, label, tl in bags:
            out = model(**model.data_preprocessor(_batch(x, label, tl)), mode="predict")
            metric.process(None, [o.to_dict() for o in out])
    return metric.compute_metrics(metric.results)


@pytest.mark.parametrize("name", ["abmil", "comel"])
def test_learns_bags_and_localises(name):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    train, test = synthetic_bags(40, seed=0), synthetic_bags(20, seed=1)
    if name == "abmil":
        model = ABMIL(in_dim=16, embed_dim=32, attn_dim=16, dropout=0.0)
    else:
        model = CoMEL(in_dim=16, embed_dim=32, num_heads=4, region_size=4, num_layers=1,
                      dropout=0.0, trans_dropout=0.0, attn_dim=16)
    before = _evaluate(model, test)
    _train(model, train, epochs=12)
    after = _evaluate(model, test)
    assert after["bag_acc"] >= 80.0, (before, after)
    assert after["bag_auc"] >= 85.0, after
    # attention finds the tumour instances far better than chance (AUC 50)
    assert after["inst_auc_pos"] >= 70.0, after
    logits = model([b[0] for b in test[:3]], mode="tensor")
    assert logits.shape == (3, 2)


def test_gdat_agents_and_shapes():
    torch.manual_seed(0)
    attn = GDATAttention(dim=8, num_heads=2, region_size=2)
    x = torch.arange(5 * 8, dtype=torch.float32).view(5, 8)
    agents = attn.agents(x)
    # 5 instances -> 3x3 grid padded to 4x4, four 2x2 regions averaged position-wise
    grid = torch.cat([x, torch.zeros(11, 8)]).view(4, 4, 8)
    expected = torch.stack([grid[0::2, 0::2], grid[0::2, 1::2], grid[1::2, 0::2],
                            grid[1::2, 1::2]]).mean((1, 2))
    assert torch.allclose(agents, expected)
    for n in (1, 7, 300):
        assert attn(torch.randn(n, 8)).shape == (n, 8)


def test_bppl_pseudo_labels_follow_prototypes():
    torch.manual_seed(0)
    model = CoMEL(in_dim=4, embed_dim=8, num_heads=2, region_size=2, num_layers=1, tau1=0.5)
    model.train()
    inst = torch.tensor([[1.0, 0, 0, 0], [1.0, 0.1, 0, 0], [0, 1.0, 0, 0], [0, 1.0, 0.1, 0]])
    # attention half disagrees with the prototypes: tile 1 looks tumour, tile 2 normal
    a = torch.tensor([0.45, 0.25, 0.2, 0.1], requires_grad=True)
    out = dict(logits=torch.tensor([-3.0, 3.0]), attention=a, inst_feature=inst,
               bag_feature=a.detach() @ inst)
    loss = model.bppl_loss(out, torch.tensor(1))
    assert loss > 0
    loss.backward()
    # the tumour-like tile's attention is pushed up, the normal-like tile's down
    assert a.grad[1] < 0 < a.grad[2]
    assert model.bppl_loss(out, torch.tensor(0)) == 0  # normal bag: no pseudo-labels
    wrong = dict(out, logits=torch.tensor([3.0, -3.0]))
    assert model.bppl_loss(wrong, torch.tensor(1)) == 0  # misclassified: none either


def test_owlora_orthogonal_adapters_and_frozen_base():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = CoMEL(in_dim=16, embed_dim=32, num_heads=4, region_size=4, num_layers=1,
                  dropout=0.0, trans_dropout=0.0, attn_dim=16, owlora=True, lora_rank=2)
    assert "blocks.0.attn.qkv" in model.owlora_layers and "classifier" not in model.owlora_layers
    task0, task1 = synthetic_bags(12, seed=0), synthetic_bags(12, seed=5, shift=-1.5)
    _train(model, task0, epochs=1)
    base = {k: v.clone() for k, v in model.state_dict().items() if "adapters" not in k}
    for task, bags in ((1, task1), (2, task0)):
        model.start_task(task)
        _train(model, bags, epochs=2)
    state = model.state_dict()
    for k, v in base.items():
        if not k.startswith("classifier.") and k not in ("quality", "iters"):
            assert torch.equal(state[k], v), f"{k} changed"
    layers = [m for m in model.modules() if isinstance(m, OWLoRALinear)]
    assert all(len(m.adapters) == 2 for m in layers)
    qkv = model.blocks[0].attn.qkv
    assert qkv.adapters[0].rank == 6 and model.embed[0].adapters[0].rank == 2
    for m in layers:
        old, new = m.adapters[0], m.adapters[1]
        assert new.up.abs().sum() > 0  # the new adapter did learn
        assert (new.down @ old.down.T).abs().max() < 1e-4
        assert (new.up.T @ old.up).abs().max() < 1e-4
        assert not old.down.requires_grad and new.down.requires_grad
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("classifier.") or ".adapters.1." in n for n in trainable)


def test_owlora_penalty_hand_case():
    from zoo.models.mil.owlora import WeightedLoRA

    lora = WeightedLoRA(3, 2, rank=2)
    with torch.no_grad():
        lora.down.copy_(torch.tensor([[1.0, 0, 0], [0, 2.0, 0]]))
        lora.up.copy_(torch.tensor([[1.0, 0], [0, 1.0]]))
    # D D^T - I = diag(0, 3) -> 9; U^T U - I = 0; / r^2 = 4
    assert lora.orthogonality_penalty().item() == pytest.approx(9 / 4)


def test_metric_hand_case():
    metric = MILMetric()
    rows = [([0.9, 0.1], 0, [0.1, 0.2, 0.3], [0, 0, 0]),
            ([0.2, 0.8], 1, [0.0, 1.0, 0.6], [0, 1, 1]),
            ([0.6, 0.4], 1, [1.0, 0.0, 0.2], [0, 1, 0])]
    for score, label, inst, tl in rows:
        metric.process(None, [dict(pred_score=torch.tensor(score), gt_label=torch.tensor([label]),
                                   pred_instance_score=torch.tensor(inst),
                                   tile_labels=torch.tensor(tl))])
    out = metric.compute_metrics(metric.results)
    assert out["bag_acc"] == pytest.approx(200 / 3)
    assert out["bag_auc"] == pytest.approx(100.0)
    # per-slide AUC: slide 2 ranks both tumour tiles first (1.0), slide 3 ranks it last (0.0)
    assert out["inst_auc_pos"] == pytest.approx(100 * (1.0 + 0.0) / 2)
    # dice: slide 2 pred {1, 2} vs {1, 2} = 1; slide 3 pred {0} vs {1} = 0
    assert out["dice"] == pytest.approx(50.0)
    assert np.isnan(binary_auc(np.array([0.1, 0.2]), np.array([1, 1])))
