"""Encoder kinds: each module here registers one config class with ``@register("encoder", name)``.

A kind's config holds its own keys (``mlp``: hidden, tied; ``conv``: channels, kernel_size) on top of
what every encoder shares (:class:`aekit.models.config.ModelConfig`) and builds its encoder and
decoder. Every module in this package is imported here, so a new encoder is one new file.
"""

from __future__ import annotations

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
