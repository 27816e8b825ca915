"""Adversarial attacks on skeleton action recognisers (issue 8).

``attack(model, inputs, labels) -> adversarial inputs`` on the ``[N, clips, M, T, V, C]`` joint
coordinates of :class:`~zoo.models.classifiers.SkeletonRecognizer`; build one from a config with
``ATTACKS.build(dict(type='PGD', eps=0.02, layout='kinect20', keep_bones=True))``.
"""
from zoo.attacks.constraints import (
                                     SkeletonConstraints,
                                     acceleration,
                                     acceleration_deviation,
                                     bone_lengths,
                                     bone_order,
                                     project_acceleration,
                                     project_bones,
                                     project_linf,
)
from zoo.attacks.gradient import FGSM, IFGSM, MIFGSM, PGD, SMIFGSM, GradientAttack, RandomSign
from zoo.attacks.manifold import (
                                     ManifoldLoss,
                                     SequenceAutoencoder,
                                     load_manifold,
                                     save_manifold,
                                     train_autoencoder,
)
from zoo.attacks.metrics import perturbation_stats, success_rate
from zoo.attacks.smi import fit_tvar, motion_coefficients, smi_gradient

__all__ = [
    "SkeletonConstraints", "acceleration", "acceleration_deviation", "bone_lengths",
    "bone_order", "project_acceleration", "project_bones", "project_linf", "GradientAttack",
    "FGSM", "IFGSM", "PGD", "MIFGSM", "SMIFGSM", "RandomSign", "ManifoldLoss",
    "SequenceAutoencoder",
    "load_manifold", "save_manifold", "train_autoencoder", "perturbation_stats",
    "success_rate", "fit_tvar", "motion_coefficients", "smi_gradient",
]

from zoo.imports import import_submodules

import_submodules(__name__, exclude=("evaluate", "plot"))  # new files register without an edit here
