"""SalUn's SVC MIA features, ZRF and the activation distance, computed by hand."""
import math

import numpy as np

from zoo.unlearning.base import random_init_model
from zoo.unlearning.report import (
    activation_distance,
    compare,
    evaluate,
    markdown_table,
    svc_features,
    svc_mia,
    zrf_score,
)
from zoo.unlearning.requests import ForgetRequest


def test_svc_features_by_hand():
    probs = np.array([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1]])
    f = svc_features(probs, np.array([0, 1]))
    assert f["correctness"][:, 0].tolist() == [1.0, 0.0]
    assert np.allclose(f["confidence"][:, 0], [0.7, 0.2])
    ent = -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1))
    assert np.allclose(f["entropy"][:, 0], [ent, ent])
    # Song & Mittal: -(1 - p_y) log p_y - sum_{i != y} p_i log(1 - p_i)
    m0 = -0.3 * math.log(0.7) - 0.2 * math.log(0.8) - 0.1 * math.log(0.9)
    m1 = -0.8 * math.log(0.2) - 0.7 * math.log(0.3) - 0.1 * math.log(0.9)
    assert np.allclose(f["m_entropy"][:, 0], [m0, m1])
    assert f["prob"].shape == (2, 3)


def test_svc_mia_calls_confident_samples_members():
    rng = np.random.default_rng(0)
    k, n = 4, 120

    def outputs(conf):  # true class 0 with probability conf, the rest spread evenly
        c = np.clip(conf, 0.26, 0.999)
        p = np.repeat(((1 - c) / (k - 1))[:, None], k, 1)
        p[:, 0] = c
        return p, np.zeros(len(c), int)

    member = outputs(rng.uniform(0.97, 0.999, n))
    nonmember = outputs(rng.uniform(0.3, 0.6, n))
    like_members = svc_mia(member, nonmember, outputs(rng.uniform(0.97, 0.999, 40)))
    like_unseen = svc_mia(member, nonmember, outputs(rng.uniform(0.3, 0.6, 40)))
    for name in ("confidence", "entropy", "m_entropy", "prob"):
        assert like_members[name] < 10 and like_unseen[name] > 90, name
    assert svc_mia(member, nonmember, (np.zeros((0, k)), np.zeros(0, int))) is None


def test_zrf_and_activation_distance_by_hand():
    p, q = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    assert abs(zrf_score(p, q) - (1 - math.log(2))) < 1e-6
    assert abs(zrf_score(p, p) - 1) < 1e-9
    a = np.array([[1.0, 0.0], [0.5, 0.5]])
    b = np.array([[0.0, 1.0], [0.5, 0.5]])
    assert abs(activation_distance(a, b) - math.sqrt(2) / 2) < 1e-12
    assert activation_distance(a[:0], b[:0]) is None


def test_report_has_svc_mia_zrf_and_activation_distance(trained):
    model, ctx, _ = trained
    ctx.reset()
    ctx.apply_request(ForgetRequest(classes=[3]))
    m = evaluate(model, ctx)
    for name in ("correctness", "confidence", "entropy", "m_entropy", "prob"):
        assert 0 <= m[f"svc_mia_{name}"] <= 100, name
    assert m["svc_mia"] == m["svc_mia_confidence"]
    assert m["svc_mia"] < 50  # the trained model: its forget samples look like members
    # a randomly initialised model of the same config answers like the ZRF reference
    rand = evaluate(random_init_model(model, ctx.cfg, seed=0), ctx)
    assert abs(rand["zrf"] - 1) < 1e-9 and m["zrf"] < rand["zrf"]
    gaps = compare(m, m)
    assert gaps["act_dist_forget"] == 0 and gaps["gap_svc_mia"] == 0
    assert compare(m, rand)["act_dist_forget"] > 0.1
    row = dict(unlearner="x", **{k: v for k, v in m.items() if not k.startswith("_")},
               **compare(m, rand))
    table = markdown_table([row])
    assert "SVC MIA-eff %" in table and "ZRF" in table and "act dist forget" in table
