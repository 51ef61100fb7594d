"""The JSON report: the versioned machine contract (schemas/audit-report.schema.json)."""

from __future__ import annotations

import json

from auditor.redact import json_safe
from auditor.result import AuditResult

FORMAT = "json"


def render(result: AuditResult) -> str:
    # Log values reach the report through messages and ids; mask anything secret-looking once more.
    return json_safe(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, sort_keys=False)) + "\n"
