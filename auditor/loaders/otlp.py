"""OTLP JSON traces (the OpenTelemetry Collector file exporter, OTLP/HTTP JSON bodies) to one document per span.

An ExportTraceServiceRequest nests resourceSpans -> scopeSpans -> spans, and stores attributes as
``[{key, value: {stringValue | intValue | doubleValue | boolValue | arrayValue | kvlistValue | bytesValue}}]``.
Each span becomes a flat document that the ``otlp`` mapping preset reads::

    {"resource": {...}, "attributes": {...}, "merged": {resource attributes, overridden by span attributes},
     "traceId", "spanId", "parentSpanId", "name", "kind", "start": ISO-8601 or the raw value,
     "status": "success" | "failure", "record_kind": "llm" | "agent" | "tool" | "other",
     "gen": {provider, model, input_tokens, output_tokens, ..., cost, pricing_source}   (conventions.py),
     "owner": {team_id, service_id, cost_center, environment}, "owner_src": {field: "span attribute team.name"}}

The instrumentations name the same facts differently (OpenTelemetry GenAI semconv old and new, OpenLIT,
OpenLLMetry/Traceloop, OpenInference, Strands, Spring AI): ``conventions`` reads each of them into ``gen``.
Proto3 JSON allows 64-bit integers as decimal strings or numbers and enums as integers or names; both are
accepted. protobufjs' JSON (``toJSON`` without options) writes ids as base64 and 64-bit integers as
``{low, high}`` objects: both are decoded (ids to lowercase hex, as the Collector writes them).

Besides requests, a file may hold bare OTLP ``Span`` objects (Envoy AI Gateway's recorder), or spans as an SDK
serialises them, attributes as a plain object: JavaScript's ReadableSpan (``spanContext``, ``startTime: [s, ns]``),
Python's ``Span.to_json()``, flat ``{span_id, trace_id, start_time, attributes}`` objects (Strands Evals), and the
``{name, parent_span_id, attributes}`` spans of LiteLLM's Langfuse OTel logger (``langfuse.observation.*``), and
CloudWatch's aws/spans objects (OTLP names, attributes as objects), bare or in ``{timestamp, raw_otel_json}`` rows.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa

from auditor.loaders import conventions, langfuse
from auditor.loaders.readers import Rejects, _Batcher, _decode, _raw_lines, json_values


class OtlpShapeError(ValueError):
    pass


_HEX = re.compile(r"^[0-9a-fA-F]+$")


def long_value(v: Any) -> Any:
    """A protobufjs Long ``{low, high, unsigned?}`` as an int; anything else unchanged."""
    if isinstance(v, dict) and isinstance(v.get("low"), int) and isinstance(v.get("high"), int):
        low, high = v["low"] & 0xFFFFFFFF, v["high"]
        if v.get("unsigned"):
            high &= 0xFFFFFFFF
        return (high << 32) | low
    return v


def span_id(v: Any, nbytes: int) -> str | None:
    """A trace (16 bytes) or span (8 bytes) id as lowercase hex: as the Collector writes it, or base64 as
    protobufjs writes it."""
    if not isinstance(v, str) or not v:
        return None
    if len(v) == 2 * nbytes and _HEX.match(v):
        return v.lower()
    try:
        raw = base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        return v
    return raw.hex() if len(raw) == nbytes else v


def any_value(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        iv = long_value(v["intValue"])
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
    nanos = long_value(nanos)
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


def kind_and_gen(attrs: dict[str, Any], resource: dict[str, Any], scope_name: Any) -> tuple[str, dict[str, Any]]:
    """(record kind, chargeback facts) of one span. The Langfuse SDK (v3, and LiteLLM's Langfuse OTel logger) writes
    its observation as ``langfuse.observation.*`` attributes: type, model.name, usage_details, cost_details (objects,
    or JSON strings in OTLP); those decide where present."""
    kind, gen = conventions.span_kind(attrs), conventions.gen_fields(attrs, resource, scope_name)
    otype = attrs.get("langfuse.observation.type")
    if not isinstance(otype, str) or not otype:
        return kind, gen
    kind = langfuse.LLM_TYPES.get(otype.upper(), "other")
    obs = {"usageDetails": attrs.get("langfuse.observation.usage_details"),
           "costDetails": attrs.get("langfuse.observation.cost_details")}
    ins, outs, cached, write = langfuse.usage(obs)
    amount, _ = langfuse.cost(obs)
    found = {"model": attrs.get("langfuse.observation.model.name"), "input_tokens": ins, "output_tokens": outs,
             "cached_input_tokens": cached, "cache_write_tokens": write, "cost": amount}
    gen.update({k: v for k, v in found.items() if v is not None and gen.get(k) is None})
    if amount is not None and gen.get("pricing_source") is None:
        gen["pricing_source"] = "langfuse/provided-cost"  # the client priced the call and sent its cost
    if gen.get("provider") is None:
        gen["provider"] = conventions.canonical_provider(conventions.model_prefix(gen.get("model")))
    return kind, gen


def _status(status: Any) -> str:
    """OTLP's ``{code: 2}`` / ``STATUS_CODE_ERROR``, and the SDKs' ``status_code: ERROR`` / ``StatusCode.ERROR``."""
    if not isinstance(status, dict):
        return "success"
    code = str(status.get("code", status.get("status_code", ""))).upper()
    return "failure" if code in ("2", "ERROR", "STATUS_CODE_ERROR", "STATUSCODE.ERROR") else "success"


def _span_row(attrs: dict[str, Any], resource: dict[str, Any], scope: Any, stats: conventions.OwnerStats | None,
              ids: tuple[str | None, str | None, str | None], span: dict[str, Any], start: Any) -> dict[str, Any]:
    """The flattened row of one span, whichever shape it came in: ``ids`` are (trace, span, parent) in lowercase hex."""
    scope_name = scope.get("name") if isinstance(scope, dict) else None
    kind, gen = kind_and_gen(attrs, resource, scope_name)
    owner, src = conventions.find_owner(("span attribute", attrs), ("resource attribute", resource))
    if stats is not None:
        stats.add(kind, owner, src, attrs, resource, record_key=ids[:2])
    return {
        "resource": resource,
        "scope": {"name": scope_name, "version": scope.get("version")} if isinstance(scope, dict) else {},
        "attributes": attrs,
        "merged": {**resource, **attrs},
        "gen": gen,
        "owner": owner,
        "owner_src": src,
        "traceId": ids[0],
        "spanId": ids[1],
        "parentSpanId": ids[2],
        "name": span.get("name"),
        "kind": span.get("kind"),
        "start": start,
        "status": _status(span.get("status")),
        "record_kind": kind,
    }


def flatten(request: Any, stats: conventions.OwnerStats | None = None) -> Iterator[dict[str, Any]]:
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
                ids = (span_id(span.get("traceId"), 16), span_id(span.get("spanId"), 8), span_id(span.get("parentSpanId"), 8))
                yield _span_row(attributes(span.get("attributes")), resource, scope, stats, ids, span,
                                _iso(span.get("startTimeUnixNano")))


# The fields of an OTLP Span message (proto3 JSON names): a file of bare spans, outside any request.
OTLP_SPAN_FIELDS = frozenset({"traceId", "spanId", "parentSpanId", "traceState", "flags", "name", "kind",
                              "startTimeUnixNano", "endTimeUnixNano", "attributes", "droppedAttributesCount", "events",
                              "droppedEventsCount", "links", "droppedLinksCount", "status"})


# CloudWatch's aws/spans log group (AgentCore Observability, Transaction Search) stores each span as one object
# with the OTLP field names, attributes as plain objects, its resource and scope inline, and durationNano.
CLOUDWATCH_SPAN_FIELDS = frozenset({"resource", "scope", "durationNano"})


def is_otlp_span(doc: Any) -> bool:
    """One OTLP ``Span`` in proto3 JSON (attributes as ``[{key, value}]``) on its own, as Envoy AI Gateway's recorder
    stores the spans it receives: it has no resource or scope."""
    return (isinstance(doc, dict) and "name" in doc and isinstance(doc.get("attributes"), list)
            and not set(doc) - OTLP_SPAN_FIELDS)


def is_sdk_span(doc: Any) -> bool:
    """A span as an OpenTelemetry SDK serialises it (not OTLP): JavaScript's ReadableSpan (``spanContext``,
    ``startTime: [seconds, nanos]``) or Python's ``Span.to_json()`` / ConsoleSpanExporter (``context.trace_id``,
    ``start_time`` ISO), attributes as a plain object; also flat spans with their own ``span_id`` / ``trace_id`` /
    ``start_time`` (nanoseconds), as Strands Evals records them, and the ``{name, parent_span_id, attributes}`` span
    LiteLLM's Langfuse OTel logger records."""
    return (isinstance(doc, dict) and isinstance(doc.get("attributes"), dict) and "name" in doc
            and (isinstance(doc.get("spanContext"), dict) or isinstance(doc.get("context"), dict)
                 or "parent_span_id" in doc or "parentSpanId" in doc or "span_id" in doc or "spanId" in doc))


def _hr_time(v: Any) -> Any:
    """``[seconds, nanos]`` (JavaScript HrTime) as ISO-8601; an ISO string or anything else unchanged."""
    if isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        return _iso(v[0] * 1_000_000_000 + v[1])
    return _iso(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


def _sdk_id(v: Any, nbytes: int) -> str | None:
    if isinstance(v, str) and v.lower().startswith("0x"):  # Python's to_json writes 0x-prefixed hex
        v = v[2:]
    return span_id(v, nbytes)


def flatten_sdk_span(span: dict[str, Any], stats: conventions.OwnerStats | None = None) -> dict[str, Any]:
    ctx = span.get("spanContext") if isinstance(span.get("spanContext"), dict) else span.get("context") or span
    # JavaScript's parentSpanId / parentSpanContext, Python's to_json parent_id, the flat spans' parent_span_id.
    parent = (span.get("parentSpanId") or span.get("parent_id") or span.get("parent_span_id")
              or (span.get("parentSpanContext") or {}).get("spanId"))
    res = span.get("resource")
    resource = res.get("attributes") if isinstance(res, dict) and isinstance(res.get("attributes"), dict) else {}
    scope = span.get("instrumentationScope") or span.get("instrumentationLibrary") or span.get("scope") or {}
    ids = (_sdk_id(ctx.get("traceId") or ctx.get("trace_id"), 16), _sdk_id(ctx.get("spanId") or ctx.get("span_id"), 8),
           _sdk_id(parent, 8))
    start = _hr_time(next((span[k] for k in ("startTime", "start_time", "startTimeUnixNano") if k in span), None))
    return _span_row(span["attributes"], resource, scope, stats, ids, span, start)


def _emit(b: _Batcher, request: Any, line: int, rejects: Rejects,
          stats: conventions.OwnerStats | None, position: int = 0) -> Iterator[pa.RecordBatch]:
    if isinstance(request, dict) and isinstance(request.get("raw_otel_json"), dict) and not set(request) - {
            "timestamp", "raw_otel_json"}:
        # A CloudWatch Logs Insights row of aws/spans with its @message parsed, as the AgentCore starter toolkit
        # records them: the span is the message; the row's timestamp is when it was logged, not when it started.
        request = request["raw_otel_json"]
    if is_sdk_span(request):
        b.add(json.dumps(flatten_sdk_span(request, stats)), line, position)
        if b.full():
            yield b.flush()
        return
    if is_otlp_span(request):
        request = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": [request]}]}]}
    try:
        for index, doc in enumerate(flatten(request, stats)):
            b.add(json.dumps(doc), line, index)
            if b.full():
                yield b.flush()
    except OtlpShapeError as exc:
        rejects.add(line, str(exc))


def read_otlp_jsonl(path: Path, rejects: Rejects, stats: conventions.OwnerStats | None = None) -> Iterator[pa.RecordBatch]:
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
        yield from _emit(b, request, line, rejects, stats)
    if b.docs:
        yield b.flush()


def read_otlp_document(path: Path, rejects: Rejects, stats: conventions.OwnerStats | None = None) -> Iterator[pa.RecordBatch]:
    """A single (possibly pretty-printed) ExportTraceServiceRequest, or an array of them, or an array of SDK spans."""
    b = _Batcher()
    for line, index, doc in json_values(path, rejects):
        yield from _emit(b, doc, line, rejects, stats, index or 0)
    if b.docs:
        yield b.flush()


def mark_wrapped_calls(con: Any, start: int) -> list[tuple[str | None, str]]:
    """A call span with a call span directly under it is a framework's span around the instrumented client's
    (Strands' ``chat`` around botocore's ``chat <model>``, OpenLLMetry's LangChain ``ChatBedrockConverse.chat``
    around it; OpenLIT's LangChain ``chat <model>`` around its OpenAI one): the outer one repeats the usage or
    reports its own count of it (OpenLIT's LangChain span), so it is agent context and the inner one, the
    request the provider billed, is the call. Spans of this file only (rows after ``start``). Returns the
    (trace, span) ids of the outer spans."""
    return con.execute(
        "UPDATE records SET record_kind = 'agent' WHERE _row > ? AND record_kind = 'llm' AND coalesce(span_id, '') <> ''"
        " AND span_id IN (SELECT c.parent_span_id FROM records c WHERE c._row > ? AND c.record_kind = 'llm'"
        " AND c.trace_id IS NOT DISTINCT FROM records.trace_id) RETURNING trace_id, span_id", [start, start]).fetchall()


def providers_from_wrappers(con: Any, start: int) -> int:
    """Run before mark_wrapped_calls: a call that names no provider, directly under a call span (the framework's
    span around the client's, about to be read as context), takes the wrapper's provider. Agno's OpenAIChat.invoke
    names OpenAI (OpenInference llm.provider) while the Langfuse SDK's OpenAI call under it carries no attribute:
    both describe the one request, so the biller the wrapper names is the call's. Returns how many."""
    return len(con.execute(
        "UPDATE records SET provider = p.provider,"
        " _violations = list_filter(_violations, lambda v: NOT starts_with(v, 'provider:'))"
        " FROM (SELECT trace_id, span_id, provider FROM records WHERE _row > ? AND record_kind = 'llm'"
        "       AND provider IS NOT NULL AND coalesce(span_id, '') <> '') p"
        " WHERE records._row > ? AND records.record_kind = 'llm' AND records.provider IS NULL"
        " AND records.parent_span_id = p.span_id AND records.trace_id IS NOT DISTINCT FROM p.trace_id"
        " RETURNING 1", [start, start]).fetchall())


def providers_from_client_spans(con: Any, start: int) -> int:
    """An LLM call span that names no provider (Strands' ``chat`` span on OpenAI writes only the model) takes the
    provider of the HTTP client span directly under it, read from that span's URL host (``api.openai.com``): that
    is where the request went and who bills it. Only when the children agree on one provider. Returns how many."""
    return len(con.execute(
        "UPDATE records SET provider = c.provider,"
        " _violations = list_filter(_violations, lambda v: NOT starts_with(v, 'provider:'))"
        " FROM (SELECT trace_id, parent_span_id, any_value(provider) AS provider FROM records"
        "       WHERE _row > ? AND record_kind <> 'llm' AND provider IS NOT NULL AND coalesce(parent_span_id, '') <> ''"
        "       GROUP BY trace_id, parent_span_id HAVING count(DISTINCT provider) = 1) c"
        " WHERE records._row > ? AND records.record_kind = 'llm' AND records.provider IS NULL"
        " AND records.span_id = c.parent_span_id AND records.trace_id IS NOT DISTINCT FROM c.trace_id"
        " RETURNING 1", [start, start]).fetchall())
