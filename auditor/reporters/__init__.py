"""Renderers: one module per output format, each with ``render(result) -> str``.

The CLI looks a format up here; adding a format is adding a module and a line below.
"""

from __future__ import annotations

from importlib import import_module
from typing import Callable

from auditor.result import AuditResult

# format name -> module under auditor.reporters
FORMATS = {
    "text": "text",
    "json": "json_report",
}


def renderer(name: str) -> Callable[[AuditResult], str]:
    return import_module(f"auditor.reporters.{FORMATS[name]}").render
