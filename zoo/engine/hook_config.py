"""Adding a hook to a config once (the command-line switches that are hooks)."""
from __future__ import annotations

from mmengine.hooks import Hook


def add_custom_hook(cfg, hook: type[Hook]) -> None:
    """Append ``dict(type=hook.__name__)`` to ``cfg.custom_hooks`` unless a hook of that type
    is already there (as an instance, a class, its name or a scoped name such as
    ``'zoo.ChannelsLastHook'``)."""
    hooks = list(cfg.get("custom_hooks") or [])

    def same(entry) -> bool:
        if isinstance(entry, hook):
            return True
        kind = entry.get("type") if isinstance(entry, dict) else None
        return kind is hook or (isinstance(kind, str)
                                and kind.rpartition(".")[2] == hook.__name__)

    if not any(same(entry) for entry in hooks):
        hooks.append(dict(type=hook.__name__))
    cfg.custom_hooks = hooks
