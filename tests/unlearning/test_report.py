import math

import numpy as np

from zoo.unlearning.report import (
    accuracy,
    js_divergence,
    loss_entropy,
    markdown_table,
    membership_inference,
)


def test_js_divergence_hand_computed():
    p = np.array([[1.0, 0.0]])
    q = np.array([[0.0, 1.0]])
    assert abs(js_divergence(p, q) - math.log(2)) < 1e-6
    assert js_divergence(p, p) < 1e-9
    a, b = np.array([[0.5, 0.5]]), np.array([[0.9, 0.1]])
    m = (a + b) / 2
    kl = lambda x, y: float((x * np.log(x / y)).sum())  # noqa: E731
    assert abs(js_divergence(a, b) - (0.5 * kl(a, m) + 0.5 * kl(b, m))) < 1e-9


def test_membership_attack_separates_low_and_high_loss():
    rng = np.random.default_rng(0)
    members = np.abs(rng.normal(0.01, 0.01, (200, 2)))
    nonmembers = np.abs(rng.normal(2.0, 0.5, (200, 2)))
    assert membership_inference(members, nonmembers, members[:50]) > 90
    assert membership_inference(members, nonmembers, nonmembers[:50]) < 10


def test_features_accuracy_and_table():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    labels = np.array([0, 1, 1])
    assert abs(accuracy(probs, labels) - 200 / 3) < 1e-9
    feats = loss_entropy(probs, labels)
    assert abs(feats[0, 0] + math.log(0.9)) < 1e-9
    assert abs(feats[2, 1] + 0.6 * math.log(0.6) + 0.4 * math.log(0.4)) < 1e-9
    table = markdown_table([dict(unlearner="x", forget_acc=1.25, js_test=0.01234)])
    assert "| x | 1.2 | 0.0123 |" in table or "| x | 1.3 | 0.0123 |" in table
