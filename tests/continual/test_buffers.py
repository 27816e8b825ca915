"""Reservoir and herding memories."""
import torch

from zoo.continual import HerdingBuffer, ReservoirBuffer, herding_order

STREAM, BATCH, SIZE, RUNS = 100, 20, 10, 300


def inclusion_counts(run_stream) -> torch.Tensor:
    """How often each id of the stream ends in memory over ``RUNS`` runs of ``run_stream()``
    (which returns the kept ids)."""
    hits = torch.zeros(STREAM)
    for _ in range(RUNS):
        hits[run_stream()] += 1
    return hits


def uniformity(hits: torch.Tensor) -> tuple[float, float]:
    """Chi-square statistic of the per-id counts against Binomial(RUNS, SIZE / STREAM) (about
    99 degrees of freedom: 99.9 % quantile 149), and the least-squares slope of the inclusion
    rate over the stream position (rate change per 100 positions)."""
    p = SIZE / STREAM
    chi2 = (((hits - RUNS * p) ** 2) / (RUNS * p * (1 - p))).sum().item()
    pos = torch.arange(STREAM, dtype=torch.float32) - (STREAM - 1) / 2
    rate = hits / RUNS
    slope = ((pos * (rate - rate.mean())).sum() / (pos ** 2).sum()).item() * 100
    return chi2, slope


def reservoir_stream() -> torch.Tensor:
    buf = ReservoirBuffer(size=SIZE)
    for start in range(0, STREAM, BATCH):
        ids = torch.arange(start, start + BATCH)
        buf.add(ids[:, None].float(), ids)
    assert len(buf) == SIZE and buf.num_seen == STREAM
    return buf.labels


def recency_biased_stream() -> torch.Tensor:
    """Control: replaces a slot with probability 2 * SIZE / seen (twice reservoir sampling's)."""
    kept: list[int] = []
    for i in range(STREAM):
        if len(kept) < SIZE:
            kept.append(i)
        elif torch.rand(()) < min(1.0, 2 * SIZE / (i + 1)):
            kept[int(torch.randint(0, SIZE, ()))] = i
    return torch.tensor(kept)


def test_reservoir_keeps_every_sample_with_equal_probability():
    """Every id of the stream is kept with probability 10/100 (binomial std of the rate over
    300 runs: 0.017): the counts pass a chi-square test of uniformity and show no trend over
    the stream. The control, a reservoir with recency bias, fails both checks."""
    torch.manual_seed(0)
    hits = inclusion_counts(reservoir_stream)
    chi2, slope = uniformity(hits)
    assert chi2 < 149, chi2  # measured 115.9 with this seed
    assert abs(slope) < 0.03, slope  # measured 0.005
    rate = hits / RUNS
    assert rate.min() > 0.04 and rate.max() < 0.17
    assert abs(rate[:50].mean() - rate[50:].mean()) < 0.02  # early and late halves alike
    chi2_biased, slope_biased = uniformity(inclusion_counts(recency_biased_stream))
    assert chi2_biased > 149 and slope_biased > 0.03, (chi2_biased, slope_biased)  # 1216, 0.20


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
