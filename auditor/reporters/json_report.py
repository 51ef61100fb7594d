"""The JSON report: the versioned machine contract (schemas/audit-report.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from auditor.redact import json_safe
from auditor.result import AuditResult

FORMAT = "json"

# Lists longer than this print one item per line. json.dumps with an indent runs the pure-Python encoder: 7.3 s of
# a 100k-team report against 1.1 s compact (benchmarks/fuzzy.py); one compact line per item keeps the C encoder
# for the bulk and the file still diffs and greps line by line. Shorter lists are indented as json.dumps(indent=2).
LONG_LIST = 50
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ": ")).encode


def _write(x: Any, level: int, out: list[str]) -> None:
    pad = "\n" + "  " * (level + 1)
    if isinstance(x, dict) and x:
        out.append("{")
        for i, (k, v) in enumerate(x.items()):
            out.append(("," if i else "") + pad + _COMPACT(str(k)) + ": ")
            _write(v, level + 1, out)
        out.append("\n" + "  " * level + "}")
    elif isinstance(x, (list, tuple)) and x:
        out.append("[")
        for i, v in enumerate(x):
            out.append("," if i else "")
            out.append(pad)
            if len(x) > LONG_LIST:
                out.append(_COMPACT(v))
            else:
                _write(v, level + 1, out)
        out.append("\n" + "  " * level + "]")
    else:
        out.append(_COMPACT(x))


def dumps(doc: Any) -> str:
    out: list[str] = []
    _write(doc, 0, out)
    return "".join(out)


def render(result: AuditResult) -> str:
    # Log values reach the report through messages and ids; mask anything secret-looking once more.
    return json_safe(dumps(result.to_dict())) + "\n"
