"""Installs models/, losses/ and datasets/ under the single import root ``zoo``.

A top-level package called ``datasets`` would shadow Hugging Face's, so the three folders
that sit at the top of the repository become ``zoo.models``, ``zoo.losses`` and
``zoo.datasets`` (README, "Layout").
"""
from setuptools import find_packages, setup

ROOTS = {"zoo": "zoo", "zoo.models": "models", "zoo.losses": "losses", "zoo.datasets": "datasets"}

packages, package_dir = [], {}
for name, folder in ROOTS.items():
    package_dir[name] = folder
    packages.append(name)
    for sub in find_packages(where=folder):
        packages.append(f"{name}.{sub}")

setup(packages=packages, package_dir=package_dir)
