"""OTLP JSON traces (the OpenTelemetry Collector file exporter, OTLP/HTTP JSON bodies) to one document per span.

An ExportTraceServiceRequest nests resourceSpans -> scopeSpans -> spans, and stores attributes as
``[{key, value: {stringValue | intValue | doubleValue | boolValue | arrayValue | kvlistValue | bytesValue}}]``.
Each span becomes a flat document that the ``otlp`` mapping preset reads::

    {"resource": {...}, "attributes": {...}, "merged": {resource attributes, overridden by span attributes},
     "traceId", "spanId", "parentSpanId", "name", "kind", "start": ISO-8601 or the raw value,
     "status": "success" | "failure", "record_kind": "llm" | "agent" | "tool" | "other"}

Proto3 JSON allows 64-bit integers as decimal strings or numbers and enums as integers or names; both are accepted.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa

from auditor.loaders.readers import Rejects, _Batcher, _decode, _raw_lines, _read_text

LLM_OPERATIONS = {"chat", "text_completion", "completion", "generate_content", "embeddings", "embedding", "responses", "create_response"}
AGENT_OPERATIONS = {"invoke_agent", "create_agent", "workflow", "agent"}
TOOL_OPERATIONS = {"execute_tool", "tool", "retrieval"}


class OtlpShapeError(ValueError):
    pass


def any_value(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        iv = v["intValue"]
        try:
            return int(iv)
        except (TypeError, ValueError):
            return iv
    if "doubleValue" in v:
        dv = v["doubleValue"]
        try:
            return float(dv)
        except (TypeError, ValueError):
            return dv
    if "boolValue" in v:
        return v["boolValue"]
    if "arrayValue" in v:
        return [any_value(x) for x in (v["arrayValue"] or {}).get("values", []) or []]
    if "kvlistValue" in v:
        return attributes((v["kvlistValue"] or {}).get("values", []))
    if "bytesValue" in v:
        return v["bytesValue"]
    return None


def attributes(items: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(items, list):
        return out
    for kv in items:
        if isinstance(kv, dict) and isinstance(kv.get("key"), str):
            out[kv["key"]] = any_value(kv.get("value"))
    return out


def _iso(nanos: Any) -> Any:
    try:
        ns = int(nanos)
    except (TypeError, ValueError):
        try:
            ns = int(float(nanos))
        except (TypeError, ValueError):
            return nanos
    if ns <= 0:
        return nanos
    secs, rem = divmod(ns, 1_000_000_000)
    try:
        base = datetime.fromtimestamp(secs, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return nanos
    return f"{base}.{rem:09d}Z"


def _status(status: Any) -> str:
    code = status.get("code") if isinstance(status, dict) else None
    return "failure" if code in (2, "2", "STATUS_CODE_ERROR") else "success"


def _kind(attrs: dict[str, Any]) -> str:
    op = str(attrs.get("gen_ai.operation.name") or "").lower()
    if op in AGENT_OPERATIONS:
        return "agent"
    if op in TOOL_OPERATIONS:
        return "tool"
    if op in LLM_OPERATIONS or any(k.startswith("gen_ai.usage.") for k in attrs) or "gen_ai.request.model" in attrs:
        return "llm"
    return "other"


def flatten(request: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(request, dict) or not isinstance(request.get("resourceSpans"), list):
        raise OtlpShapeError("not an OTLP ExportTraceServiceRequest (no resourceSpans list)")
    for rs in request["resourceSpans"]:
        if not isinstance(rs, dict):
            continue
        resource = attributes((rs.get("resource") or {}).get("attributes"))
        for ss in rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans") or []:
            if not isinstance(ss, dict):
                continue
            scope = ss.get("scope") or ss.get("instrumentationLibrary") or {}
            for span in ss.get("spans") or []:
                if not isinstance(span, dict):
                    continue
                attrs = attributes(span.get("attributes"))
                yield {
                    "resource": resource,
                    "scope": {"name": scope.get("name"), "version": scope.get("version")} if isinstance(scope, dict) else {},
                    "attributes": attrs,
                    "merged": {**resource, **attrs},
                    "traceId": span.get("traceId") or None,
                    "spanId": span.get("spanId") or None,
                    "parentSpanId": span.get("parentSpanId") or None,
                    "name": span.get("name"),
                    "kind": span.get("kind"),
                    "start": _iso(span.get("startTimeUnixNano")),
                    "status": _status(span.get("status")),
                    "record_kind": _kind(attrs),
                }


def _emit(b: _Batcher, request: Any, line: int, rejects: Rejects) -> Iterator[pa.RecordBatch]:
    try:
        for index, doc in enumerate(flatten(request)):
            b.add(json.dumps(doc), line, index)
            if b.full():
                yield b.flush()
    except OtlpShapeError as exc:
        rejects.add(line, str(exc))


def read_otlp_jsonl(path: Path, rejects: Rejects) -> Iterator[pa.RecordBatch]:
    b = _Batcher()
    for line, raw in _raw_lines(path, rejects):
        text = _decode(raw, line, rejects)
        if text is None:
            continue
        try:
            request = json.loads(text)
        except json.JSONDecodeError as exc:
            rejects.add(line, f"malformed JSON: {exc.msg} (column {exc.colno})")
            continue
        yield from _emit(b, request, line, rejects)
    if b.docs:
        yield b.flush()


def read_otlp_document(path: Path, rejects: Rejects) -> Iterator[pa.RecordBatch]:
    """A single (possibly pretty-printed) ExportTraceServiceRequest, or an array of them."""
    text = _read_text(path, rejects)
    if text is None:
        return
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        rejects.add(exc.lineno, f"malformed JSON: {exc.msg}")
        return
    b = _Batcher()
    for req in doc if isinstance(doc, list) else [doc]:
        yield from _emit(b, req, 1, rejects)
    if b.docs:
        yield b.flush()
