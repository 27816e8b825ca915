"""How well a model forgot and what it kept: accuracies, membership inference, gap to retrain.

Metrics (percent unless stated):

* ``forget_acc`` / ``retain_acc``: accuracy on the forgotten / retained training samples
  (training split through the test pipeline).
* ``test_acc``; ``test_forget_acc`` on test samples of forgotten classes (or forgotten
  sub-classes, scored against their super-class label) and ``test_retain_acc`` on the other
  test samples (only for class and sub-class requests).
* ``mia``: share of forget samples a membership-inference attack calls "member". The attack is
  a logistic regression on (loss, entropy) of the model's output, trained to separate retain
  samples (members) from test samples of kept classes (non-members), balanced by
  subsampling. A retrained model gives the reference level.
* ``svc_mia`` (and per feature ``svc_mia_<feature>``): SalUn's
  "MIA-Efficacy" (Fan et al., ICLR 2024, after Song & Mittal, USENIX Security 2021): an RBF
  SVC (``C=3``, ``gamma='auto'``) per feature, trained on retain samples (members; a seeded
  subset as large as the test split) vs the test split (non-members); the value is the %
  of forget samples it calls *non*-members. Features: ``correctness``, ``confidence``
  (probability of the true class), ``entropy``, ``m_entropy`` (modified entropy) and
  ``prob`` (the whole output vector); ``svc_mia`` is the ``confidence`` one, the column
  SalUn's tables report.
* ``zrf``: zero-retrain forgetting score (Chundawat et al., AAAI 2023; SSD's tables):
  ``1 - mean JS(model, random)`` on the forget samples, JS in nats against a randomly
  initialised model of the same architecture (seeded). Range ``[1 - ln 2, 1]``; 1 means
  the model answers the forget samples like a random network.
* ``seconds``: wall time of the unlearning.
* With a reference (retrained) model: ``gap_<metric>`` = |metric - reference metric|,
  ``js_forget`` / ``js_test``: mean Jensen-Shannon divergence (nats) between the two models'
  output distributions on the forget samples / the test split, and ``act_dist_forget``: the
  activation distance of Chundawat et al., the mean L2 distance between the two models'
  output probabilities on the forget samples (0 = identical to Retrain).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from zoo.unlearning.base import random_init_model
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


SVC_FEATURES = ("correctness", "confidence", "entropy", "m_entropy", "prob")


def svc_features(probs: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """SalUn's five MIA features of each sample, each ``[N, d]``.

    ``m_entropy`` is the modified prediction entropy of Song & Mittal (2021),
    ``-(1 - p_y) log p_y - sum_{i != y} p_i log(1 - p_i)``, as their paper defines it
    (SalUn's code indexes the label column of every row and reuses ``log p``)."""
    p = np.clip(probs, EPS, 1.0)
    n = np.arange(len(labels))
    py = p[n, labels]
    others = p * np.log(np.clip(1 - p, EPS, 1.0))
    others[n, labels] = 0.0
    return dict(
        correctness=(probs.argmax(1) == labels).astype(np.float64)[:, None],
        confidence=probs[n, labels][:, None],
        entropy=-(p * np.log(p)).sum(1, keepdims=True),
        m_entropy=(-(1 - py) * np.log(py) - others.sum(1))[:, None],
        prob=probs,
    )


def svc_mia(member: tuple, nonmember: tuple, target: tuple, seed: int = 0) -> dict | None:
    """SalUn's SVC membership inference: per feature, % of ``target`` samples called
    non-members (MIA-Efficacy). Each argument is ``(probs, labels)``; the members are
    subsampled (seeded) to the number of non-members, as SalUn takes as many retain
    samples as the test split has."""
    from sklearn.svm import SVC

    if len(target[1]) == 0 or len(member[1]) < 2 or len(nonmember[1]) < 2:
        return None
    rng = np.random.default_rng(seed)
    n = min(len(member[1]), len(nonmember[1]))
    pick = np.sort(rng.choice(len(member[1]), n, replace=False))
    fm = svc_features(member[0][pick], member[1][pick])
    fn = svc_features(*nonmember)
    ft = svc_features(*target)
    y = np.r_[np.ones(n), np.zeros(len(nonmember[1]))]
    out = {}
    for name in fm:
        clf = SVC(C=3, gamma="auto", kernel="rbf")
        clf.fit(np.concatenate([fm[name], fn[name]]), y)
        out[name] = float((1 - clf.predict(ft[name]).mean()) * 100)
    return out


def zrf_score(probs: np.ndarray, random_probs: np.ndarray) -> float | None:
    """Zero-retrain forgetting score ``1 - mean JS(probs, random_probs)`` (JS in nats)."""
    return None if len(probs) == 0 else 1.0 - js_divergence(probs, random_probs)


def activation_distance(p: np.ndarray, q: np.ndarray) -> float | None:
    """Mean over rows of the L2 distance between two models' output probabilities."""
    return None if len(p) == 0 else float(np.sqrt(((p - q) ** 2).sum(1)).mean())


def random_model_train_probs(model, ctx) -> np.ndarray:
    """Outputs of a randomly initialised model (seed 0) on the training split, computed once
    per context (the reference of ZRF)."""
    cached = getattr(ctx, "_random_train_probs", None)
    if cached is None:
        cached = predict_probs(random_init_model(model, ctx.cfg, seed=0), ctx.train_eval)
        ctx._random_train_probs = cached
    return cached


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
    forgot_cls = ctx.test_forget_mask()
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
    svc = svc_mia((train_p[retain], train_y[retain]), (test_p, test_y),
                  (train_p[forget], train_y[forget]), seed)
    metrics["svc_mia"] = None if svc is None else svc["confidence"]
    for name in SVC_FEATURES:
        metrics[f"svc_mia_{name}"] = None if svc is None else svc[name]
    metrics["zrf"] = zrf_score(train_p[forget], random_model_train_probs(model, ctx)[forget])
    metrics["_probs"] = dict(forget=train_p[forget], test=test_p)
    return metrics


GAP_KEYS = ("forget_acc", "retain_acc", "test_acc", "test_forget_acc", "test_retain_acc", "mia",
            "svc_mia")


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
        out["act_dist_forget"] = activation_distance(metrics["_probs"]["forget"],
                                                     reference["_probs"]["forget"])
    return out


def public(metrics: dict) -> dict:
    """Metrics without the kept outputs, rounded for JSON."""
    return {k: (round(v, 4) if isinstance(v, float) else v)
            for k, v in metrics.items() if not k.startswith("_")}


COLUMNS = [
    ("forget_acc", "forget acc"), ("retain_acc", "retain acc"), ("test_acc", "test acc"),
    ("test_forget_acc", "test acc (forgotten cls)"), ("test_retain_acc", "test acc (kept cls)"),
    ("mia", "MIA %"), ("svc_mia", "SVC MIA-eff %"), ("zrf", "ZRF"), ("seconds", "time s"),
    ("gap_forget_acc", "gap forget"),
    ("gap_retain_acc", "gap retain"), ("gap_test_acc", "gap test"), ("js_forget", "JS forget"),
    ("js_test", "JS test"), ("act_dist_forget", "act dist forget"),
]

#: columns printed with 4 decimals
FINE = ("js_", "zrf", "act_dist")


def _fmt(v, key: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}" if key.startswith(FINE) else f"{v:.1f}"
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
