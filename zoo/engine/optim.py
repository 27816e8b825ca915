"""One optimiser per named sub-module (generator / discriminator) for GAN training.

Registered in the zoo's child ``OPTIM_WRAPPER_CONSTRUCTORS`` (a config with
``default_scope = 'zoo'`` finds it), not in mmengine's root registry.
"""
from __future__ import annotations

from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from torch import nn

from zoo.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class PerSubmoduleOptimWrapperConstructor:
    """Build an ``OptimWrapperDict`` whose keys are attributes of the model.

    Config: ``optim_wrapper = dict(constructor='PerSubmoduleOptimWrapperConstructor',
    generator=dict(type='OptimWrapper', optimizer=...), discriminator=dict(...))``; each entry
    is built by mmengine's ``DefaultOptimWrapperConstructor`` on ``model.<key>``.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None):
        if not isinstance(optim_wrapper_cfg, dict) or not optim_wrapper_cfg:
            raise TypeError("PerSubmoduleOptimWrapperConstructor: optim_wrapper must map "
                            f"sub-module names to optimiser configs, got {optim_wrapper_cfg!r}")
        self.constructors = {name: DefaultOptimWrapperConstructor(dict(cfg))
                             for name, cfg in optim_wrapper_cfg.items()}

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        model = getattr(model, "module", model)
        wrappers = {}
        for name, constructor in self.constructors.items():
            sub = getattr(model, name, None)
            if not isinstance(sub, nn.Module):
                raise KeyError(f"optim_wrapper.{name}: the model has no sub-module {name!r}")
            wrappers[name] = constructor(sub)
        return OptimWrapperDict(**wrappers)
