"""Read provider bills into invoice lines: one reader per format, and the detection that picks it.

Formats (field names as the providers document them):

* ``openai-costs``: OpenAI Costs API, ``GET /v1/organization/costs``: ``{"object": "page", "data": [{"object":
  "bucket", "start_time", "end_time", "results": [{"object": "organization.costs.result", "amount": {"value",
  "currency"}, "line_item", "project_id"}]}], "has_more", "next_page"}``; unix seconds, 1-day buckets.
* ``openai-usage``: OpenAI Usage API, ``GET /v1/organization/usage/completions``: buckets of
  ``organization.usage.completions.result`` with ``input_tokens`` (cached included), ``input_cached_tokens``,
  ``output_tokens``, ``num_model_requests``, and ``model``, ``project_id``, ``api_key_id``, ``batch`` when grouped.
  Token counts, no money: evidence for the causes, not part of the invoice total.
* ``anthropic-cost``: Anthropic Admin API ``GET /v1/organizations/cost_report``: ``data[{starting_at, ending_at,
  results[{amount, currency, cost_type, token_type, model, service_tier, context_window, workspace_id,
  description}]}]``; ``amount`` is a decimal STRING in cents (``"123.45"`` USD is $1.2345); workspace null is the
  default workspace.
* ``anthropic-usage``: ``GET /v1/organizations/usage_report/messages``: ``uncached_input_tokens``,
  ``cache_read_input_tokens``, ``cache_creation{ephemeral_5m_input_tokens, ephemeral_1h_input_tokens}``,
  ``output_tokens``, ``server_tool_use``, with ``model``, ``api_key_id``, ``workspace_id``, ``service_tier``.
* ``focus``: a FOCUS 1.x billing export, CSV or Parquet (``BilledCost``, ``EffectiveCost``, ``ListCost``,
  ``ChargeCategory``, ``ChargePeriodStart/End``, ``ServiceName``, ``ProviderName`` / ``ServiceProviderName``,
  ``SkuId``, ``SkuMeter``, ``ConsumedQuantity``, ``ConsumedUnit``, ``Tags``, ``x_`` columns): AWS Bedrock, Azure
  OpenAI, Vertex AI and LiteLLM's FOCUS export.

A page may be a single JSON document, a JSON array of pages, or JSON Lines with one page per line (what
paging through ``next_page`` and saving each answer gives). ``.gz`` / ``.zst`` are read transparently.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from auditor.fmt import plural
from auditor.loaders.sources import PARQUET_MAGIC, InputError, discover, head_bytes, open_binary
from auditor.reconcile import names
from auditor.reconcile.focus import FOCUS_REQUIRED, read_focus
from auditor.reconcile.lines import (CREDIT, DAY, USAGE, InvoiceError, InvoiceFile, InvoiceLine, _dec, _fail, _int,
                                     _ts)

__all__ = ["FORMATS", "USAGE", "InvoiceError", "InvoiceFile", "InvoiceLine", "detect", "read_invoices"]


def _json_pages(path: Path) -> list[dict]:
    """The JSON pages in a file: one document, an array of pages, or one page per line."""
    try:
        with open_binary(path) as fh:
            raw = fh.read()
    except Exception as exc:  # noqa: BLE001 - corrupt compression, unreadable file
        raise _fail(path, f"cannot read: {exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _fail(path, "not UTF-8 text") from None
    try:
        doc = json.loads(text, parse_float=Decimal)
        docs = doc if isinstance(doc, list) else [doc]
    except json.JSONDecodeError as first:
        docs = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                docs.append(json.loads(line, parse_float=Decimal))
            except json.JSONDecodeError as exc:
                if n == 1:
                    raise _fail(path, f"malformed JSON: {first.msg} (line {first.lineno}, column {first.colno})") from None
                raise _fail(path, f"line {n}: malformed JSON: {exc.msg} (column {exc.colno})") from None
    pages = [d for d in docs if isinstance(d, dict)]
    if len(pages) != len(docs):
        raise _fail(path, "expected JSON object(s) (an API page with a data array)")
    return pages


def _buckets(pages: list[dict], path) -> Iterable[tuple[str, dict]]:
    for p, page in enumerate(pages, 1):
        data = page.get("data")
        if not isinstance(data, list):
            raise _fail(path, f"page {p}: no 'data' array of buckets")
        for b, bucket in enumerate(data, 1):
            if not isinstance(bucket, dict) or not isinstance(bucket.get("results"), list):
                raise _fail(path, f"page {p} bucket {b}: no 'results' array")
            yield (f"page {p} bucket {b}" if len(pages) > 1 else f"bucket {b}"), bucket


def _first_result(pages: list[dict]) -> tuple[dict, dict] | None:
    for page in pages:
        for bucket in page.get("data") or []:
            if isinstance(bucket, dict):
                for r in bucket.get("results") or []:
                    if isinstance(r, dict):
                        return bucket, r
    return None


# -- detection ---------------------------------------------------------------------------------------

FORMATS = ("openai-costs", "openai-usage", "anthropic-cost", "anthropic-usage", "focus")


def detect(path: Path) -> tuple[str, Any]:
    """(format, parsed pages or None) for an invoice file; InvoiceError when it is none of them."""
    head = head_bytes(path, 65536)
    if not head.strip():
        raise _fail(path, "empty file")
    if head.startswith(PARQUET_MAGIC):
        return "focus", None
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff").lstrip()
    if text[:1] in "[{":
        pages = _json_pages(path)
        if not pages:
            raise _fail(path, "no API page in this JSON")
        first = _first_result(pages)
        if first is None:
            if all(isinstance(p.get("data"), list) for p in pages):
                kind = "anthropic-cost" if any("starting_at" in b for p in pages for b in p["data"] if isinstance(b, dict)) else "openai-costs"
                return kind, pages  # a page with no buckets: an empty bill
            raise _fail(path, "JSON but not an invoice: expected an OpenAI costs/usage page or an Anthropic "
                              "cost/usage report ({\"data\": [{buckets with results}]})")
        bucket, r = first
        obj = str(r.get("object", ""))
        if obj == "organization.costs.result" or (isinstance(r.get("amount"), dict) and "start_time" in bucket):
            return "openai-costs", pages
        if obj.startswith("organization.usage.completions") or ("num_model_requests" in r and "start_time" in bucket):
            return "openai-usage", pages
        if "starting_at" in bucket and "amount" in r and not isinstance(r.get("amount"), dict):
            return "anthropic-cost", pages
        if "starting_at" in bucket and ("uncached_input_tokens" in r or "cache_read_input_tokens" in r):
            return "anthropic-usage", pages
        raise _fail(path, "JSON with buckets, but not a known cost or usage report (first result has "
                          f"{', '.join(sorted(r)[:8]) or 'no fields'})")
    first_line = text.splitlines()[0] if text else ""
    cols = next(csv.reader([first_line]), [])
    if all(c in cols for c in FOCUS_REQUIRED):
        return "focus", None
    raise _fail(path, "not a recognised invoice: expected an OpenAI costs/usage API page, an Anthropic cost/usage "
                      "report (JSON), or a FOCUS billing export (CSV/Parquet with BilledCost, ChargePeriodStart)")


# -- readers -----------------------------------------------------------------------------------------

def read_openai_costs(path: Path, pages: list[dict]) -> list[InvoiceLine]:
    out = []
    for where, bucket in _buckets(pages, path):
        start = _ts(bucket.get("start_time"), path, f"{where}: start_time")
        end = _ts(bucket.get("end_time"), path, f"{where}: end_time") if bucket.get("end_time") is not None else start + DAY
        for i, r in enumerate(bucket["results"], 1):
            w = f"{where} result {i}"
            amt = r.get("amount")
            if not isinstance(amt, dict):
                raise _fail(path, f"{w}: 'amount' must be an object {{value, currency}}")
            cur = str(amt.get("currency") or "usd").lower()
            if cur != "usd":
                raise _fail(path, f"{w}: currency {amt.get('currency')!r}; only USD bills can be reconciled")
            value = _dec(amt.get("value"), path, w)
            item = r.get("line_item")
            model, tt, quals = names.parse_openai_line_item(item)
            lowered = str(item or "").lower()
            category = CREDIT if ("credit" in lowered or value < 0) else USAGE
            out.append(InvoiceLine(str(path), "openai-costs", start, end, "openai", model, tt, value, category,
                                   batch=bool(quals.get("batch")), label=str(item or "(no line_item: costs not grouped by line item)"),
                                   ref=w, extra={k: v for k, v in {"project_id": r.get("project_id"), "ungrouped": item is None,
                                                                   **quals}.items() if v}))
    return out


def read_openai_usage(path: Path, pages: list[dict]) -> list[InvoiceLine]:
    out = []
    for where, bucket in _buckets(pages, path):
        start = _ts(bucket.get("start_time"), path, f"{where}: start_time")
        end = _ts(bucket.get("end_time"), path, f"{where}: end_time") if bucket.get("end_time") is not None else start + DAY
        for i, r in enumerate(bucket["results"], 1):
            w = f"{where} result {i}"
            model = r.get("model")
            batch = bool(r.get("batch"))
            inp, cached, outp = _int(r.get("input_tokens")), _int(r.get("input_cached_tokens")), _int(r.get("output_tokens"))
            extra = {k: r.get(k) for k in ("project_id", "api_key_id", "user_id") if r.get(k)}
            base = dict(source=str(path), format="openai-usage", start=start, end=end, provider="openai", model=model,
                        amount=None, batch=batch, ref=w, extra=extra)
            first = True
            for tt, n in ((names.INPUT, max(inp - cached, 0)), (names.CACHED, cached), (names.OUTPUT, outp)):
                out.append(InvoiceLine(token_type=tt, tokens=n, requests=_int(r.get("num_model_requests")) if first else 0,
                                       label=f"{model or '(all models)'} {tt} tokens", **base))
                first = False
    return out


def read_anthropic_cost(path: Path, pages: list[dict]) -> list[InvoiceLine]:
    out = []
    for where, bucket in _buckets(pages, path):
        start = _ts(bucket.get("starting_at"), path, f"{where}: starting_at")
        end = _ts(bucket.get("ending_at"), path, f"{where}: ending_at") if bucket.get("ending_at") else start + DAY
        for i, r in enumerate(bucket["results"], 1):
            w = f"{where} result {i}"
            cur = str(r.get("currency") or "USD").upper()
            if cur != "USD":
                raise _fail(path, f"{w}: currency {r.get('currency')!r}; only USD bills can be reconciled")
            cents = _dec(r.get("amount"), path, w)
            value = cents / 100  # the cost report gives cents as a decimal string
            desc = r.get("description") or ""
            cost_type = r.get("cost_type")
            tt = names.token_type_of(r.get("token_type")) if r.get("token_type") else (
                names.token_type_of(desc) if cost_type in (None, "tokens") else None)
            lowered = f"{desc} {cost_type or ''}".lower()
            category = CREDIT if ("credit" in lowered or value < 0) else USAGE
            label = desc or " ".join(str(x) for x in (r.get("model"), cost_type, r.get("token_type")) if x) or "(not grouped by description)"
            out.append(InvoiceLine(str(path), "anthropic-cost", start, end, "anthropic", r.get("model"), tt, value, category,
                                   batch=str(r.get("service_tier") or "").lower() == "batch", label=label, ref=w,
                                   extra={k: v for k, v in {"workspace_id": r.get("workspace_id") or "default",
                                                            "ungrouped": not desc and not r.get("model") and cost_type is None,
                                                            "cost_type": cost_type, "service_tier": r.get("service_tier"),
                                                            "context_window": r.get("context_window")}.items() if v}))
    return out


def read_anthropic_usage(path: Path, pages: list[dict]) -> list[InvoiceLine]:
    out = []
    for where, bucket in _buckets(pages, path):
        start = _ts(bucket.get("starting_at"), path, f"{where}: starting_at")
        end = _ts(bucket.get("ending_at"), path, f"{where}: ending_at") if bucket.get("ending_at") else start + DAY
        for i, r in enumerate(bucket["results"], 1):
            w = f"{where} result {i}"
            cc = r.get("cache_creation") if isinstance(r.get("cache_creation"), dict) else {}
            write = _int(cc.get("ephemeral_5m_input_tokens")) + _int(cc.get("ephemeral_1h_input_tokens"))
            model = r.get("model")
            base = dict(source=str(path), format="anthropic-usage", start=start, end=end, provider="anthropic", model=model,
                        amount=None, batch=str(r.get("service_tier") or "").lower() == "batch", ref=w,
                        extra={k: v for k, v in {"workspace_id": r.get("workspace_id") or "default",
                                                 "api_key_id": r.get("api_key_id")}.items() if v})
            for tt, n in ((names.INPUT, _int(r.get("uncached_input_tokens"))), (names.CACHED, _int(r.get("cache_read_input_tokens"))),
                          (names.CACHE_WRITE, write), (names.OUTPUT, _int(r.get("output_tokens")))):
                out.append(InvoiceLine(token_type=tt, tokens=n, label=f"{model or '(all models)'} {tt} tokens", **base))
    return out


def read_invoices(paths: Iterable[str | Path]) -> tuple[list[InvoiceLine], list[InvoiceFile]]:
    """Every line of every invoice file under ``paths`` (files, directories, globs)."""
    try:
        files = discover(paths)
    except InputError as exc:
        raise InvoiceError(f"--invoice {exc}") from None
    if not files:
        raise InvoiceError("--invoice: no invoice files found in " + ", ".join(map(str, paths)))
    lines: list[InvoiceLine] = []
    infos: list[InvoiceFile] = []
    for path in files:
        fmt, pages = detect(path)
        ignored, ignored_amt = 0, Decimal(0)
        if fmt == "focus":
            got, ignored, ignored_amt = read_focus(path)
        else:
            got = {"openai-costs": read_openai_costs, "openai-usage": read_openai_usage,
                   "anthropic-cost": read_anthropic_cost, "anthropic-usage": read_anthropic_usage}[fmt](path, pages)
        info = InvoiceFile(path.as_posix(), fmt, len(got), sum((l.amount for l in got if l.amount is not None), Decimal(0)),
                           ignored, ignored_amt)
        if ignored:
            info.note = f"{plural(ignored, 'non-AI line')} left out (${ignored_amt:,.2f})"
        if fmt in ("openai-usage", "anthropic-usage"):
            info.note = "token counts only: evidence for the causes, not part of the invoice total"
        lines.extend(got)
        infos.append(info)
    return lines, infos
