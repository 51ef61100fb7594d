"""Langfuse's own export shapes (camelCase, as its public API writes them) to one document per observation.

* ``GET /api/public/observations`` (and v2): ``{"data": [observation, ...], "meta": {...}}``, or those
  observations one per line;
* ``GET /api/public/traces/{id}``: one trace whose ``observations`` list holds the observations; the seeder's and
  UI's ``{"trace": {...}, "observations": [...]}`` files are the same facts side by side;
* the ingestion batch ``POST /api/public/ingestion`` (what the SDKs and LiteLLM's Langfuse logger send):
  ``{"batch": [{"type": "generation-create", "body": {...}}, ...]}``; ``*-update`` events are merged into their
  observation by id.

Every observation is one document (the ``langfuse-api`` preset reads it); trace-level userId, sessionId, tags and
metadata are inherited. Only GENERATION and EMBEDDING observations are LLM calls; SPAN, EVENT, AGENT, TOOL, CHAIN,
RETRIEVER, EVALUATOR, GUARDRAIL are trace context. The blob-storage export (snake_case) is the ``langfuse`` preset.

Usage: Langfuse splits usage into disjoint parts that sum to ``total`` (``input`` is the uncached prompt,
``input_cached_tokens`` / ``input_cache_read`` / ``cache_read_input_tokens`` the cached part, ``output_reasoning`` part of
the output): input_tokens is the sum of the input parts (cached ones included, as the contract counts them).
Cost: ``costDetails.total``, else ``totalCost`` / ``calculatedTotalCost``, else the ingested ``usage.totalCost``, else
LiteLLM's ``metadata.litellm_response_cost`` (sent without usage for calls not priced by tokens).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa

from auditor.loaders import conventions
from auditor.loaders.readers import Rejects, _Batcher, _decode, _raw_lines, json_values

LLM_TYPES = {"GENERATION": "llm", "EMBEDDING": "llm", "AGENT": "agent", "TOOL": "tool"}
_EVENT_TYPES = {"generation": "GENERATION", "span": "SPAN", "event": "EVENT", "embedding": "EMBEDDING",
                "agent": "AGENT", "tool": "TOOL", "chain": "CHAIN", "retriever": "RETRIEVER", "evaluator": "EVALUATOR",
                "guardrail": "GUARDRAIL"}
_CACHED = ("input_cached_tokens", "input_cache_read", "cache_read_input_tokens", "input_cached", "cached_tokens")
_CACHE_WRITE = ("input_cache_creation", "cache_creation_input_tokens", "input_cache_write")
_ZONE = re.compile(r"(Z|[+-]\d\d:?\d\d)$", re.I)


def _obj(v: Any) -> dict[str, Any]:
    if isinstance(v, str) and v.strip().startswith("{"):
        try:
            v = json.loads(v)
        except json.JSONDecodeError:
            return {}
    return v if isinstance(v, dict) else {}


def _num(v: Any) -> Decimal | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        return Decimal(str(v))
    except InvalidOperation:
        return None


def _plain(d: Decimal | None) -> Any:
    if d is None:
        return None
    return int(d) if d == d.to_integral_value() else str(d)


def usage(obs: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """(input incl. cached, output, cached input, cache write) tokens of one observation."""
    details = _obj(obs.get("usageDetails")) or _obj(obs.get("usage_details"))
    if details:
        parts = {k: _num(v) for k, v in details.items() if k != "total" and _num(v) is not None}
        ins = [v for k, v in parts.items() if k.startswith(("input", "prompt", "cache_read", "cache_creation"))]
        outs = [v for k, v in parts.items() if k.startswith(("output", "completion"))]
        cached = next((parts[k] for k in _CACHED if k in parts), None)
        write = next((parts[k] for k in _CACHE_WRITE if k in parts), None)
        if ins or outs:
            n_in = sum(ins, Decimal(0))
            # An embedding's details have no output part: when the input parts already make up the total, the
            # output is known to be zero, not missing (Langfuse's own completionTokens reads 0 for it).
            n_out = sum(outs, Decimal(0)) if outs else (Decimal(0) if _num(details.get("total")) == n_in else None)
            return _plain(n_in) if ins else None, _plain(n_out), _plain(cached), _plain(write)
    u = _obj(obs.get("usage"))
    for i, o in ((u.get("input"), u.get("output")), (u.get("promptTokens"), u.get("completionTokens")),
                 (obs.get("inputUsage"), obs.get("outputUsage")), (obs.get("promptTokens"), obs.get("completionTokens"))):
        if i is not None or o is not None:
            return i, o, None, None
    return None, None, None, None


def cost(obs: dict[str, Any]) -> tuple[Any, str]:
    """(cost in USD, which field held it)."""
    details = _obj(obs.get("costDetails"))
    if _num(details.get("total")) is not None:
        return details["total"], "costDetails.total"
    for key in ("totalCost", "calculatedTotalCost"):
        if _num(obs.get(key)) is not None:
            return obs[key], key
    u = _obj(obs.get("usage"))
    if _num(u.get("totalCost")) is not None:
        return u["totalCost"], "usage.totalCost"
    # LiteLLM's Langfuse logger sends no usage for calls it prices by other units (a transcription's seconds) but
    # keeps its price in the metadata: the call was paid for all the same.
    meta = _obj(obs.get("metadata"))
    for where, v in (("metadata.litellm_response_cost", meta.get("litellm_response_cost")),
                     ("metadata.hidden_params.response_cost", _obj(meta.get("hidden_params")).get("response_cost"))):
        if _num(v) is not None:
            return v, where
    return None, ""


def _pricing_source(obs: dict[str, Any], where: str, meta: dict[str, Any], sdk: str | None) -> str | None:
    provided = _obj(obs.get("providedCostDetails"))
    if where.startswith("metadata."):
        return "litellm/response_cost"
    if where == "usage.totalCost" or any(_num(v) for v in provided.values()):
        # The client priced the call and sent its cost (LiteLLM's Langfuse logger sends its response_cost).
        if "litellm_response_cost" in meta or sdk == "litellm":
            return "litellm/response_cost"
        return "langfuse/provided-cost"
    if where and obs.get("internalModelId"):
        return f"langfuse/model-definition:{obs['internalModelId']}"
    return None


def observation_doc(obs: dict[str, Any], trace: dict[str, Any], sdk: str | None,
                    stats: conventions.OwnerStats | None) -> dict[str, Any]:
    meta = _obj(obs.get("metadata"))
    tmeta = _obj(trace.get("metadata"))
    kind = LLM_TYPES.get(str(obs.get("type") or "").upper(), "other")
    model = obs.get("providedModelName") or obs.get("model")
    ins, outs, cached, write = usage(obs)
    amount, where = cost(obs)
    attrs = _obj(meta.get("attributes"))
    resource = _obj(meta.get("resourceAttributes")) or _obj(tmeta.get("resourceAttributes"))
    layers = (("observation metadata", meta), ("trace metadata", tmeta), ("span attribute", attrs),
              ("resource attribute", resource))
    owner, src = conventions.find_owner(*layers)
    env = obs.get("environment") or trace.get("environment")
    if "environment" not in owner and isinstance(env, str) and env and env != "default":  # "default": none was set
        owner["environment"], src["environment"] = env, "Langfuse environment"
    # The span's own conventions (OpenTelemetry GenAI, Vercel's ai.model.provider, OpenInference's llm.provider)
    # are read as for an OTLP span; LiteLLM's api_base when nothing else names the biller.
    provider = conventions.canonical_provider(
        meta.get("ls_provider") or meta.get("provider") or conventions.provider(attrs, {}, model)
        or conventions.provider_from_host(_obj(meta.get("hidden_params")).get("api_base")))
    start = obs.get("startTime") or obs.get("timestamp") or trace.get("timestamp")
    if stats is not None:
        stats.add(kind, owner, src, meta, path_prefix="/obs/metadata/",
                  record_key=(obs.get("traceId") or trace.get("id"), obs.get("id")))
        if kind == "llm" and isinstance(start, str) and not _ZONE.search(start.strip()):
            stats.naive_timestamps += 1
    tags = list(trace.get("tags") or []) if isinstance(trace.get("tags"), list) else []
    return {
        "obs": obs, "trace": {k: trace.get(k) for k in ("id", "name", "userId", "sessionId", "release", "environment")},
        "record_kind": kind, "start": start,
        "status": "failure" if str(obs.get("level") or "").upper() == "ERROR" else "success",
        "gen": {"provider": provider, "model": model, "input_tokens": ins, "output_tokens": outs,
                "cached_input_tokens": cached, "cache_write_tokens": write, "cost": amount,
                "pricing_source": _pricing_source(obs, where, meta, sdk) if amount is not None else None,
                "trace_id": obs.get("traceId") or trace.get("id"),
                "principal": obs.get("userId") or trace.get("userId"), "session": obs.get("sessionId") or trace.get("sessionId"),
                "tags": tags or None},
        "owner": owner, "owner_src": src,
    }


def _batch_observations(batch: list[Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The trace and the observations of an ingestion batch: creates and updates merged per id, in order."""
    trace: dict[str, Any] = {}
    merged: dict[str, dict[str, Any]] = {}
    for event in batch:
        if not isinstance(event, dict) or not isinstance(event.get("body"), dict):
            continue
        etype = str(event.get("type") or "")
        body = event["body"]
        if etype.startswith("trace-"):
            trace.update({k: v for k, v in body.items() if v is not None})
            continue
        head = etype.split("-", 1)[0]
        if head not in _EVENT_TYPES and head != "observation":
            continue  # scores, sdk logs
        obs = merged.setdefault(str(body.get("id")), {"type": _EVENT_TYPES.get(head)})
        obs.update({k: v for k, v in body.items() if v is not None})
    return trace, list(merged.values())


def documents(doc: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any], str | None]]:
    """(observation, its trace, the sending SDK) for each observation in one Langfuse JSON document."""
    if not isinstance(doc, dict):
        return
    if isinstance(doc.get("batch"), list):
        trace, observations = _batch_observations(doc["batch"])
        sdk = _obj(doc.get("metadata")).get("sdk_integration")
        for obs in observations:
            yield obs, trace, sdk
        return
    if isinstance(doc.get("observations"), list):
        trace = doc["trace"] if isinstance(doc.get("trace"), dict) else doc
        for obs in doc["observations"]:
            if isinstance(obs, dict):
                yield obs, trace, None
        return
    if isinstance(doc.get("data"), list):
        for item in doc["data"]:
            yield from documents(item) if isinstance(item, dict) and ("observations" in item or "batch" in item) else (
                [(item, {}, None)] if isinstance(item, dict) else [])
        return
    yield doc, {}, None


def _emit(b: _Batcher, doc: Any, line: int, stats: conventions.OwnerStats | None) -> Iterator[pa.RecordBatch]:
    for index, (obs, trace, sdk) in enumerate(documents(doc)):
        b.add(json.dumps(observation_doc(obs, trace, sdk, stats)), line, index)
        if b.full():
            yield b.flush()


def read_langfuse(path: Path, container: str, rejects: Rejects,
                  stats: conventions.OwnerStats | None = None) -> Iterator[pa.RecordBatch]:
    b = _Batcher()
    if container == "jsonl":
        for line, raw in _raw_lines(path, rejects):
            text = _decode(raw, line, rejects)
            if text is None:
                continue
            try:
                doc = json.loads(text)
            except json.JSONDecodeError as exc:
                rejects.add(line, f"malformed JSON: {exc.msg} (column {exc.colno})")
                continue
            if not isinstance(doc, dict):
                rejects.add(line, f"a JSON {type(doc).__name__}, not an object")
                continue
            yield from _emit(b, doc, line, stats)
    else:
        for line, _, doc in json_values(path, rejects):
            yield from _emit(b, doc, line, stats)
    if b.docs:
        yield b.flush()
