"""How well a model forgot and what it kept: accuracies, membership inference, gap to retrain.

Metrics (percent unless stated):

* ``forget_acc`` / ``retain_acc``: accuracy on the forgotten / retained training samples
  (training split through the test pipeline).
* ``test_acc``; ``test_forget_acc`` on test samples of forgotten classes and
  ``test_retain_acc`` on the other test samples (only for class requests).
* ``mia``: share of forget samples a membership-inference attack calls "member". The attack is
  a logistic regression on (loss, entropy) of the model's output, trained to separate retain
  samples (members) from test samples of kept classes (non-members), balanced by
  subsampling. A retrained model gives the reference level.
* ``seconds``: wall time of the unlearning.
* With a reference (retrained) model: ``gap_<metric>`` = |metric - reference metric| and
  ``js_forget`` / ``js_test``: mean Jensen-Shannon divergence (nats) between the two models'
  output distributions on the forget samples / the test split.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from zoo.unlearning.context import EvalSet

EPS = 1e-12


@torch.no_grad()
def predict_probs(model, data: EvalSet, batch_size: int = 128) -> np.ndarray:
    """Class probabilities ``[N, K]`` (multi-clip averaging for skeleton models)."""
    model.eval()
    out = [model.predict_scores(data.inputs[i:i + batch_size])
           for i in range(0, len(data.inputs), batch_size)]
    return torch.cat(out).double().numpy()


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float | None:
    return None if len(labels) == 0 else float((probs.argmax(1) == labels).mean() * 100)


def loss_entropy(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-sample features ``[N, 2]``: cross-entropy and prediction entropy."""
    p = np.clip(probs, EPS, 1.0)
    loss = -np.log(p[np.arange(len(labels)), labels])
    entropy = -(p * np.log(p)).sum(1)
    return np.stack([loss, entropy], 1)


def membership_inference(member: np.ndarray, nonmember: np.ndarray, target: np.ndarray,
                         seed: int = 0) -> float | None:
    """Percent of ``target`` rows a logistic regression (trained on balanced member vs
    non-member features) calls members."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    n = min(len(member), len(nonmember))
    if n < 2 or len(target) == 0:
        return None
    rng = np.random.default_rng(seed)
    m = member[rng.choice(len(member), n, replace=False)]
    nm = nonmember[rng.choice(len(nonmember), n, replace=False)]
    x = np.log1p(np.concatenate([m, nm]))
    y = np.r_[np.ones(n), np.zeros(n)]
    clf = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced"))
    clf.fit(x, y)
    return float(clf.predict(np.log1p(target)).mean() * 100)


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Mean Jensen-Shannon divergence (nats) between rows of ``p`` and ``q``."""
    p, q = np.clip(p, EPS, 1), np.clip(q, EPS, 1)
    m = (p + q) / 2
    kl = lambda a, b: (a * np.log(a / b)).sum(1)  # noqa: E731
    return float((0.5 * kl(p, m) + 0.5 * kl(q, m)).mean())


def evaluate(model, ctx, seed: int = 0) -> dict:
    """All metrics of ``model`` for the context's forgotten set; ``_probs`` keeps outputs."""
    train_p = predict_probs(model, ctx.train_eval)
    test_p = predict_probs(model, ctx.test_eval)
    train_y = ctx.train_eval.labels.numpy()
    test_y = ctx.test_eval.labels.numpy()
    forget, retain = ctx.all_forget_idx, ctx.retain_idx
    forgot_cls = np.isin(test_y, sorted(ctx.forget_classes))
    feats_train = loss_entropy(train_p, train_y)
    feats_test = loss_entropy(test_p, test_y)
    metrics = dict(
        forget_acc=accuracy(train_p[forget], train_y[forget]),
        retain_acc=accuracy(train_p[retain], train_y[retain]),
        test_acc=accuracy(test_p, test_y),
        test_forget_acc=accuracy(test_p[forgot_cls], test_y[forgot_cls]),
        test_retain_acc=accuracy(test_p[~forgot_cls], test_y[~forgot_cls]),
        mia=membership_inference(feats_train[retain], feats_test[~forgot_cls],
                                 feats_train[forget], seed),
    )
    metrics["_probs"] = dict(forget=train_p[forget], test=test_p)
    return metrics


GAP_KEYS = ("forget_acc", "retain_acc", "test_acc", "test_forget_acc", "test_retain_acc", "mia")


def compare(metrics: dict, reference: dict) -> dict:
    """Gaps to the reference (retrained) model: |difference| and JS divergences."""
    out = {}
    for k in GAP_KEYS:
        if metrics.get(k) is not None and reference.get(k) is not None:
            out[f"gap_{k}"] = abs(metrics[k] - reference[k])
    if "_probs" in metrics and "_probs" in reference:
        out["js_forget"] = js_divergence(metrics["_probs"]["forget"],
                                         reference["_probs"]["forget"])
        out["js_test"] = js_divergence(metrics["_probs"]["test"], reference["_probs"]["test"])
    return out


def public(metrics: dict) -> dict:
    """Metrics without the kept outputs, rounded for JSON."""
    return {k: (round(v, 4) if isinstance(v, float) else v)
            for k, v in metrics.items() if not k.startswith("_")}


COLUMNS = [
    ("forget_acc", "forget acc"), ("retain_acc", "retain acc"), ("test_acc", "test acc"),
    ("test_forget_acc", "test acc (forgotten cls)"), ("test_retain_acc", "test acc (kept cls)"),
    ("mia", "MIA %"), ("seconds", "time s"), ("gap_forget_acc", "gap forget"),
    ("gap_retain_acc", "gap retain"), ("gap_test_acc", "gap test"), ("js_forget", "JS forget"),
    ("js_test", "JS test"),
]


def _fmt(v, key: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}" if key.startswith("js_") else f"{v:.1f}"
    return str(v)


def markdown_table(rows: Sequence[dict]) -> str:
    """Rows ``{"unlearner": name, **metrics}`` as a Markdown table (absent columns dropped)."""
    cols = [(k, h) for k, h in COLUMNS if any(r.get(k) is not None for r in rows)]
    lines = ["| unlearner | " + " | ".join(h for _, h in cols) + " |",
             "|---|" + "---:|" * len(cols)]
    for r in rows:
        lines.append(f"| {r['unlearner']} | " + " | ".join(_fmt(r.get(k), k) for k, _ in cols)
                     + " |")
    return "\n".join(lines)
