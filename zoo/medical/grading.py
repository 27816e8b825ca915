"""Genant grading from RHLV features with a linear SVM (HealthiVert-GAN, JBHI 2025).

As in the official ``evaluation/SVM_grading.py``: the three section RHLVs (posterior, middle,
anterior) are standardised and classified by ``SVC(kernel='linear',
class_weight='balanced')``; performance is measured by stratified k-fold cross-validation
(macro precision / recall / F1 and accuracy). Here every vertebra is predicted exactly once
(out-of-fold) and the scaler is fitted inside each fold.
"""
from __future__ import annotations

import numpy as np


def grade_cross_validation(features: np.ndarray, grades: np.ndarray, folds: int = 5,
                           seed: int = 0) -> dict:
    """Out-of-fold predictions and macro metrics of the linear SVM grader."""
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_score,
        recall_score,
    )
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    x, y = np.asarray(features, float), np.asarray(grades, int)
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"grading: features {x.shape} and grades {y.shape} do not match")
    smallest = np.bincount(y).min(initial=len(y)) if len(y) else 0
    present = np.bincount(y)[np.bincount(y) > 0]
    folds = int(min(folds, present.min())) if present.size else 0
    if folds < 2:
        raise ValueError(f"grading: need >= 2 vertebrae per grade for cross-validation "
                         f"(counts {np.bincount(y).tolist()}, smallest {smallest})")
    model = make_pipeline(StandardScaler(), SVC(kernel="linear", class_weight="balanced"))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    pred = cross_val_predict(model, x, y, cv=cv)
    labels = sorted(set(y.tolist()))
    return dict(folds=folds, accuracy=float(accuracy_score(y, pred)),
                macro_precision=float(precision_score(y, pred, average="macro",
                                                      zero_division=0)),
                macro_recall=float(recall_score(y, pred, average="macro", zero_division=0)),
                macro_f1=float(f1_score(y, pred, average="macro", zero_division=0)),
                confusion=confusion_matrix(y, pred, labels=labels).tolist(), labels=labels,
                predictions=pred.tolist())
