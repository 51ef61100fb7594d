"""Renderers: one module per output format, each defining ``FORMAT = "name"`` and
``render(result) -> str``. The CLI looks formats up here; a new format is a new module."""

from __future__ import annotations

import pkgutil
from functools import lru_cache
from importlib import import_module
from typing import Callable

from auditor.result import AuditResult


@lru_cache(maxsize=None)
def formats() -> dict[str, str]:
    """format name -> module name, for every module under auditor.reporters that defines FORMAT."""
    out = {}
    for m in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        mod = import_module(f"{__name__}.{m}")
        name = getattr(mod, "FORMAT", None)
        if name:
            out[name] = mod.__name__
    return out


def renderer(name: str) -> Callable[[AuditResult], str]:
    return import_module(formats()[name]).render
