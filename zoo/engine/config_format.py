"""Format a config's text with yapf once per content, not once per request.

mmengine's ``Config.pretty_text`` runs yapf on the config's text (~60 ms for a zoo config on
this CPU) every time it is read, and one run reads it four times: the config dump in the work
directory twice, the runtime-info hook and the environment log once each — a fixed cost
that shows on short runs (a split-digits continual run takes a second or two).
:func:`install_config_format_cache` memoises yapf's ``FormatCode`` as mmengine's config module
calls it: the same input text and style give the same output, so the texts are unchanged.
Importing this module changes nothing; :func:`zoo.runner_utils.load_config` installs it.
"""
from __future__ import annotations

import functools
from collections import OrderedDict

_CAPACITY = 16


def _memoised(format_code):
    cache: OrderedDict = OrderedDict()

    @functools.wraps(format_code)
    def cached(text, *args, **kwargs):
        key = (text, repr(args), repr(sorted(kwargs.items())))
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        result = cache[key] = format_code(text, *args, **kwargs)
        if len(cache) > _CAPACITY:
            cache.popitem(last=False)
        return result

    cached.zoo_memoised = True
    return cached


def install_config_format_cache() -> None:
    """Memoise the yapf formatting behind mmengine's ``Config.pretty_text`` (idempotent)."""
    import mmengine.config.config as config_module

    if not getattr(config_module.FormatCode, "zoo_memoised", False):
        config_module.FormatCode = _memoised(config_module.FormatCode)
