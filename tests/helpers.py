"""Shared test helpers: valid canonical records and writing them as input files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

BASE_RECORD: dict[str, Any] = {
    "request_id": "r-base",
    "timestamp": "2026-05-04T10:00:00Z",
    "provider": "openai",
    "model": "gpt-4o-mini",
    "input_tokens": 1000,
    "output_tokens": 200,
    # gpt-4o-mini: $0.15 / 1M input, $0.60 / 1M output -> 0.00015 + 0.00012
    "cost": 0.00027,
    "pricing_source": "genai-prices",
    "status": "success",
    "retry_count": 0,
    "team_id": "support-automation",
    "service_id": "ticket-triage",
    "cost_center": "cc-4210",
    "environment": "production",
    "api_key_id": "key-support-prod",
}


def record(**overrides: Any) -> dict[str, Any]:
    """A valid canonical record with ``overrides``; an override of ``...`` (Ellipsis) removes the field."""
    rec = dict(BASE_RECORD)
    for k, v in overrides.items():
        if v is ...:
            rec.pop(k, None)
        else:
            rec[k] = v
    return rec


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path
