"""k-nearest-neighbour evaluation of frozen embeddings (the self-supervised protocol)."""
from __future__ import annotations

from typing import Iterable

import torch
import torch.nn.functional as F


def knn_predict(train_feats: torch.Tensor, train_labels: torch.Tensor,
                test_feats: torch.Tensor, num_classes: int, k: int = 20,
                temperature: float = 0.1) -> torch.Tensor:
    """Weighted k-NN of Wu et al. (CVPR 2018, "Unsupervised Feature Learning via
    Non-Parametric Instance Discrimination"), as the contrastive skeleton papers use it: the
    ``k`` training features of highest cosine similarity ``s`` vote for their label with
    weight ``exp(s / temperature)``. Returns class scores ``[N_test, num_classes]``."""
    if len(train_feats) == 0:
        raise ValueError("k-NN evaluation needs training features (the split is empty)")
    a = F.normalize(test_feats.float(), dim=1)
    b = F.normalize(train_feats.float(), dim=1)
    sim = a @ b.T
    k = min(k, len(b))
    top, idx = sim.topk(k, dim=1)
    votes = F.one_hot(train_labels[idx], num_classes).float() * (top / temperature).exp()[..., None]
    return votes.sum(1)


@torch.no_grad()
def extract_embeddings(model, loader: Iterable) -> tuple[torch.Tensor, torch.Tensor]:
    """``(features [N, C], labels [N])`` of every batch of ``loader``: the model's
    ``data_preprocessor`` then ``embed`` (pooled backbone features, averaged over clips for
    recognisers), in eval mode."""
    was_training = model.training
    model.eval()
    feats, labels = [], []
    try:
        for batch in loader:
            data = model.data_preprocessor(batch, False)
            feats.append(model.embed(data["inputs"]).cpu())
            labels.append(torch.cat([s.gt_label for s in data["data_samples"]]).cpu())
    finally:
        model.train(was_training)
    if not feats:
        raise ValueError("k-NN evaluation: the data loader gave no batch")
    return torch.cat(feats), torch.cat(labels)


def knn_accuracy(model, train_loader: Iterable, test_loader: Iterable, num_classes: int,
                 k: int = 20, temperature: float = 0.1) -> float:
    """Top-1 accuracy (%) of :func:`knn_predict` with the model's embeddings."""
    train_feats, train_labels = extract_embeddings(model, train_loader)
    test_feats, test_labels = extract_embeddings(model, test_loader)
    scores = knn_predict(train_feats, train_labels, test_feats, num_classes, k, temperature)
    return 100.0 * (scores.argmax(1) == test_labels).float().mean().item()
