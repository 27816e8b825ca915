"""vszoo: a model zoo for vision, human-skeleton and medical data on mmengine."""
__version__ = "0.1.0"
