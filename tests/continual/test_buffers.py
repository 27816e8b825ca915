"""Reservoir and herding memories."""
import torch

from zoo.continual import HerdingBuffer, ReservoirBuffer, herding_order


def test_reservoir_keeps_every_sample_with_equal_probability():
    torch.manual_seed(0)
    hits = torch.zeros(100)
    for _ in range(300):
        buf = ReservoirBuffer(size=10)
        for start in range(0, 100, 20):  # stream of 100 ids in batches of 20
            ids = torch.arange(start, start + 20)
            buf.add(ids[:, None].float(), ids)
        assert len(buf) == 10 and buf.num_seen == 100
        hits[buf.labels] += 1
    rate = hits / 300  # expected 10 / 100 for every sample
    assert abs(rate.mean().item() - 0.1) < 1e-6
    assert rate.min() > 0.04 and rate.max() < 0.17  # 300 draws: binomial std ~0.017
    # early and late halves of the stream are equally represented
    assert abs(rate[:50].mean() - rate[50:].mean()) < 0.02


def test_reservoir_stores_logits_with_their_width_and_state_round_trips():
    buf = ReservoirBuffer(size=4)
    buf.add(torch.zeros(2, 3), torch.tensor([0, 1]), logits=torch.ones(2, 2))
    buf.add(torch.ones(2, 3), torch.tensor([2, 3]), logits=2 * torch.ones(2, 4))
    assert buf.logits.shape == (4, 4)
    assert buf.logit_width.tolist() == [2, 2, 4, 4]
    assert buf.logits[0].tolist() == [1, 1, 0, 0]  # padded, width says 2 are valid
    other = ReservoirBuffer(size=4)
    other.load_state_dict(buf.state_dict())
    assert torch.equal(other.inputs, buf.inputs) and other.num_seen == 4


def test_herding_picks_the_point_closest_to_the_mean_first():
    # normalised features; the mean of the three is closest to the middle one
    feats = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    order = herding_order(feats, 3)
    assert order.tolist()[0] == 1
    assert sorted(order.tolist()) == [0, 1, 2]  # never picks a sample twice
    # second pick: the one whose addition keeps the running mean closest to the class mean
    mean = torch.nn.functional.normalize(feats, dim=1).mean(0)
    f = torch.nn.functional.normalize(feats, dim=1)
    d = [((mean - (f[1] + f[j]) / 2) ** 2).sum() for j in (0, 2)]
    assert order[1].item() == (0 if d[0] <= d[1] else 2)


def test_herding_buffer_stays_class_balanced_and_shrinks_by_prefix():
    torch.manual_seed(0)
    buf = HerdingBuffer(size=12)
    first_order = {}
    for task in range(3):
        labels = torch.arange(2 * task, 2 * task + 2).repeat_interleave(10)
        inputs = torch.randn(20, 5)
        buf.update(inputs, labels, features=inputs)
        counts = buf.class_counts()
        assert len(counts) == 2 * (task + 1)
        assert set(counts.values()) == {12 // (2 * (task + 1))}
        if task == 0:
            first_order = {c: buf.inputs[buf.labels == c].clone() for c in (0, 1)}
    for c in (0, 1):  # class 0/1 exemplars are the first ones herding chose at task 0
        torch.testing.assert_close(buf.inputs[buf.labels == c], first_order[c][:2])
