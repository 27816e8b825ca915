"""Fisher information under torch.distributed: two gloo processes return the Fisher of the
whole data, equal to the one-process Fisher to 1e-6.

* SSD's importance (:func:`zoo.unlearning.ssd.diagonal_fisher`): every rank iterates the same
  batches (an odd number, so the ranks take 3 and 2), back-propagates its share and the sums of
  squared gradients and the batch counts are all-reduced; the dampening that follows selects
  the same parameters on both ranks as in one process.
* EWC's diagonal Fisher (:meth:`zoo.continual.strategies.ewc.EWC.consolidate`) with the
  empirical, sampled (labels drawn from a generator seeded identically on every rank) and
  exact estimates: the ranks share the chunks of per-sample gradients and all-reduce.
Each rank alone holds only part of the sum (checked: rank 0's local sum is not the whole).
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from dist_helpers import run_on_ranks
from torch import nn


class Tiny(nn.Module):
    """A small classifier with the ``logits`` method that the Fisher code calls."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))

    def forward(self, x):
        return self.body(x)

    def logits(self, x):
        return self.body(x)


def data(n: int = 70, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, generator=g), torch.randint(0, 3, (n,), generator=g)


def model():
    torch.manual_seed(0)
    return Tiny()


def ssd_importance(shard: bool | None = None) -> dict:
    from zoo.unlearning.ssd import dampen, diagonal_fisher

    torch.set_num_threads(1)
    x, y = data()
    net = model()
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, len(x), 16)]  # 5 batches
    full = diagonal_fisher(net, batches, shard=shard)
    forget = diagonal_fisher(net, batches[:2], shard=shard)
    masks = dampen(net, full, forget, alpha=1.0, lam=1.0)
    return dict(full=full, forget=forget, masks=masks,
                weights={k: v.detach().clone() for k, v in net.state_dict().items()})


def ssd_local_only() -> dict:
    """Rank 0's own share without the all-reduce (to show that the reduction matters)."""
    import torch.distributed as dist

    from zoo.unlearning.ssd import diagonal_fisher

    x, y = data()
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, len(x), 16)]
    mine = batches[dist.get_rank()::dist.get_world_size()]
    return diagonal_fisher(model(), mine, shard=False)


def ewc_fisher(estimate: str) -> dict:
    from zoo.continual.strategies.ewc import EWC

    torch.set_num_threads(1)
    x, y = data()
    ewc = EWC(fisher_estimate=estimate)
    ewc.loop = SimpleNamespace(generator=torch.Generator().manual_seed(5))
    ewc.consolidate(model(), x, y)  # chunks of 32: 3 chunks, shared 2 / 1
    return ewc.fishers[0]


def ewc_fisher_without_reduce(estimate: str) -> dict:
    """Rank 0's own chunks only: the all-reduce is skipped (control for the test below)."""
    from unittest import mock

    import torch.distributed as dist

    with mock.patch.object(dist, "all_reduce", lambda tensor, *args, **kwargs: None):
        return ewc_fisher(estimate)


def _close(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-6, atol=1e-6, msg=k)


def test_ssd_importance_is_reduced_over_ranks():
    single = ssd_importance()
    ranks = run_on_ranks(ssd_importance)
    for got in ranks:
        _close(got["full"], single["full"])
        _close(got["forget"], single["forget"])
        for k, mask in single["masks"].items():
            assert torch.equal(got["masks"][k], mask), k
        _close(got["weights"], single["weights"])
    assert sum(int(m.sum()) for m in single["masks"].values()) > 0  # something was dampened
    local = run_on_ranks(ssd_local_only)[0]
    assert max(float((local[k] - single["full"][k]).abs().max()) for k in local) > 1e-4


@pytest.mark.parametrize("estimate", ["empirical", "sampled", "exact"])
def test_ewc_diagonal_fisher_is_reduced_over_ranks(estimate):
    single = ewc_fisher(estimate)
    assert sum(float(v.abs().sum()) for v in single.values()) > 0
    ranks = run_on_ranks(ewc_fisher, estimate)
    assert len(ranks) == 2
    for got in ranks:
        _close(got, single)  # every rank holds the Fisher of the whole data
    # the ranks really share the work: without the all-reduce rank 0 has only its part
    local = run_on_ranks(ewc_fisher_without_reduce, estimate)[0]
    assert max(float((local[k] - single[k]).abs().max()) for k in local) > 1e-6
