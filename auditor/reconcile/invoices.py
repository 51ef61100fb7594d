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
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable

from auditor.fmt import plural
from auditor.loaders.sources import PARQUET_MAGIC, InputError, discover, head_bytes, open_binary
from auditor.reconcile import names

USAGE, CREDIT, ADJUSTMENT, TAX, PURCHASE = "usage", "credit", "adjustment", "tax", "purchase"
DAY = timedelta(days=1)


class InvoiceError(InputError):
    """An invoice file that cannot be used (exit code 2); the message starts with the file name."""


@dataclass
class InvoiceLine:
    """One priced (or, for usage reports, counted) line of a bill."""

    source: str  # file
    format: str
    start: datetime  # UTC, naive
    end: datetime
    provider: str  # provider key (names.provider_key)
    model: str | None  # as the bill names it
    token_type: str | None
    amount: Decimal | None  # USD; None for token-count lines (usage reports)
    category: str = USAGE
    batch: bool = False
    tokens: int | None = None  # quantity of this token type, when the bill gives it
    requests: int | None = None
    list_cost: Decimal | None = None
    label: str = ""  # the bill's own words for the line
    ref: str = ""  # where in the file
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def day(self) -> date | None:
        """The UTC day when the line covers at most one day inside it, else None (a period line)."""
        if self.end - self.start <= DAY and (self.end - timedelta(microseconds=1)).date() == self.start.date():
            return self.start.date()
        return None


@dataclass
class InvoiceFile:
    path: str
    format: str
    lines: int = 0
    amount: Decimal = Decimal(0)
    ignored: int = 0
    ignored_amount: Decimal = Decimal(0)
    note: str = ""


# -- helpers -----------------------------------------------------------------------------------------

def _fail(path: Path | str, msg: str) -> InvoiceError:
    return InvoiceError(f"{path}: {msg}")


def _dec(value: Any, path, where: str, *, required: bool = True) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise _fail(path, f"{where}: amount missing")
        return None
    if isinstance(value, bool):
        raise _fail(path, f"{where}: amount {value!r} is not a number")
    try:
        d = Decimal(value) if isinstance(value, (str, Decimal, int)) else Decimal(repr(value))
    except (InvalidOperation, ValueError):
        raise _fail(path, f"{where}: amount {value!r} is not a number") from None
    if not d.is_finite():
        raise _fail(path, f"{where}: amount {value!r} is not a finite number")
    return d


def _int(value: Any) -> int:
    if value is None or value == "":
        return 0
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return 0


def _ts(value: Any, path, where: str) -> datetime:
    """Unix seconds or RFC 3339 / ISO 8601 text -> naive UTC datetime."""
    if value is None or value == "":
        raise _fail(path, f"{where}: time missing")
    try:
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), tz=timezone.utc).replace(tzinfo=None)
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        text = str(value).strip()
        if text.isdigit():
            return datetime.fromtimestamp(int(text), tz=timezone.utc).replace(tzinfo=None)
        dt = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
        return dt.astimezone(timezone.utc).replace(tzinfo=None) if dt.tzinfo else dt
    except (ValueError, OverflowError, OSError):
        raise _fail(path, f"{where}: time {value!r} is not unix seconds or an ISO 8601 time") from None


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
_FOCUS_REQUIRED = ("BilledCost", "ChargePeriodStart")


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
    if all(c in cols for c in _FOCUS_REQUIRED):
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


_AI_SERVICE_WORDS = ("bedrock", "openai", "vertex", "anthropic", "claude", "gemini", "generative", "foundry", "cognitive",
                     "llm", "language model")


def _focus_rows(path: Path) -> tuple[list[str], Iterable[dict]]:
    head = head_bytes(path, 4)
    if head.startswith(PARQUET_MAGIC):
        import duckdb

        from auditor.contract.sql import lit

        con = duckdb.connect()
        try:
            rel = con.sql(f"SELECT * FROM read_parquet({lit(str(path))})")
            cols = rel.columns
            # Money columns as exact text whatever their Parquet type (decimal, double, string).
            sel = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in cols)
            rows = con.sql(f"SELECT {sel} FROM read_parquet({lit(str(path))})").fetchall()
        except duckdb.Error as exc:
            raise _fail(path, f"cannot read Parquet: {exc}") from None
        finally:
            con.close()
        return list(cols), (dict(zip(cols, r)) for r in rows)
    try:
        fh = io.TextIOWrapper(open_binary(path), encoding="utf-8-sig", newline="")
        reader = csv.DictReader(fh)
        cols = list(reader.fieldnames or [])
    except Exception as exc:  # noqa: BLE001
        raise _fail(path, f"cannot read CSV: {exc}") from None
    return cols, reader


def _focus_provider(row: dict) -> str:
    for c in ("x_Provider", "x_LlmProvider", "x_ModelProvider"):
        if row.get(c):
            return names.provider_key(row[c])
    svc = " ".join(str(row.get(c) or "") for c in ("ServiceName", "x_ServiceCode"))
    key = names.provider_key(svc) if svc.strip() else "unknown"
    if key in ("bedrock", "azure", "vertex_ai", "openai", "anthropic"):
        return key
    for c in ("ServiceProviderName", "ProviderName", "PublisherName", "HostProviderName", "InvoiceIssuerName"):
        if row.get(c):
            return names.provider_key(row[c])
    return key


def _focus_is_ai(row: dict) -> bool:
    if str(row.get("ServiceCategory") or "").lower() == "ai and machine learning":
        return True
    if str(row.get("ServiceSubcategory") or "").lower() == "generative ai":
        return True
    text = " ".join(str(row.get(c) or "") for c in ("ServiceName", "x_ServiceCode", "ProviderName", "ServiceProviderName",
                                                   "PublisherName", "SkuMeter")).lower()
    return any(w in text for w in _AI_SERVICE_WORDS)


def _focus_model_and_type(row: dict) -> tuple[str | None, str | None, bool]:
    for c in ("x_UsageType", "x_usage_type", "UsageType", "SkuId", "SkuMeter"):
        model, tt, batch = names.parse_bedrock_usage_type(row.get(c))
        if model and tt:
            return model, tt, batch
    tags = row.get("Tags")
    tag_model = None
    if tags:
        try:
            t = json.loads(tags) if isinstance(tags, str) else tags
            if isinstance(t, dict):
                tag_model = t.get("model") or t.get("Model") or t.get("gen_ai.request.model")
        except (ValueError, TypeError):
            pass
    model = None
    for c in ("x_Model", "x_ModelName", "x_model", "x_model_name", "x_ModelId", "ResourceName"):
        if row.get(c):
            model = row[c]
            break
    model = model or tag_model
    meter_text = " ".join(str(row.get(c) or "") for c in ("SkuMeter", "x_TokenType", "x_UsageType", "ConsumedUnit", "PricingUnit",
                                                         "SkuPriceDetails", "ChargeDescription"))
    tt = names.token_type_of(row.get("x_TokenType")) or names.token_type_of(row.get("SkuMeter")) or names.token_type_of(meter_text)
    if model is None and row.get("SkuMeter"):
        # Azure OpenAI meters name the model first: "gpt-4o-mini-0718 Inp glbl Tokens", "gpt 4o 0513 Output Tokens".
        m = re.match(r"^(?P<m>.+?)[ -](?:inp|input|outp|output|cached|cchd|cache|prompt|completion)\b", str(row["SkuMeter"]).strip(), re.I)
        if m and re.search(r"\d", m.group("m")):
            model = re.sub(r"\s+", "-", m.group("m").strip())
    if model is None and row.get("SkuId"):
        # OpenAI-style SKUs ("openai/gpt-4o-mini-2024-07-18, input") name the model before the comma.
        sku = str(row["SkuId"]).split("/", 1)[-1]
        m, t2, _ = names.parse_openai_line_item(sku)
        model, tt = m or None, tt or t2
    batch = names.is_batch(" ".join(str(row.get(c) or "") for c in ("SkuMeter", "SkuId", "x_UsageType", "PricingCategory",
                                                                      "ChargeDescription", "x_ServiceTier")))
    return model, tt, batch


def read_focus(path: Path) -> tuple[list[InvoiceLine], int, Decimal]:
    cols, rows = _focus_rows(path)
    missing = [c for c in _FOCUS_REQUIRED if c not in cols]
    if missing:
        raise _fail(path, f"FOCUS export without column(s) {', '.join(missing)}")
    out, ignored, ignored_amt = [], 0, Decimal(0)
    for n, row in enumerate(rows, 2):
        w = f"row {n}"
        cur = str(row.get("BillingCurrency") or "USD").upper()
        billed = _dec(row.get("BilledCost"), path, f"{w}: BilledCost")
        if not _focus_is_ai(row):
            ignored += 1
            ignored_amt += billed
            continue
        if cur != "USD":
            raise _fail(path, f"{w}: BillingCurrency {row.get('BillingCurrency')!r}; only USD bills can be reconciled")
        start = _ts(row.get("ChargePeriodStart"), path, f"{w}: ChargePeriodStart")
        end = _ts(row.get("ChargePeriodEnd"), path, f"{w}: ChargePeriodEnd") if row.get("ChargePeriodEnd") else start + DAY
        cat = str(row.get("ChargeCategory") or "Usage").strip().lower()
        category = {"usage": USAGE, "credit": CREDIT, "adjustment": ADJUSTMENT, "tax": TAX, "purchase": PURCHASE}.get(cat, ADJUSTMENT)
        if category == USAGE and billed < 0 and str(row.get("ChargeClass") or "").lower() != "correction":
            category = CREDIT
        model, tt, batch = _focus_model_and_type(row)
        qty = row.get("ConsumedQuantity")
        unit = str(row.get("ConsumedUnit") or row.get("PricingUnit") or "").lower()
        tokens = None
        if qty not in (None, "") and "token" in unit:
            mult = 1000 if unit.startswith(("1000 ", "1k ", "1,000 ")) else (1_000_000 if unit.startswith(("1m ", "1000000 ", "1,000,000 ")) else 1)
            try:
                tokens = int(Decimal(str(qty)) * mult)
            except (InvalidOperation, ValueError):
                tokens = None
        label = " ".join(str(x) for x in (row.get("ServiceName"), row.get("SkuMeter") or row.get("x_UsageType") or row.get("SkuId"),
                                         row.get("ChargeDescription") if category != USAGE else "") if x) or "(FOCUS row)"
        out.append(InvoiceLine(str(path), "focus", start, end, _focus_provider(row), model, tt, billed, category, batch=batch,
                               tokens=tokens, list_cost=_dec(row.get("ListCost"), path, f"{w}: ListCost", required=False),
                               label=label, ref=w,
                               extra={k: v for k, v in {"InvoiceId": row.get("InvoiceId"), "SkuId": row.get("SkuId"),
                                                        "ChargeCategory": row.get("ChargeCategory"),
                                                        "EffectiveCost": row.get("EffectiveCost")}.items() if v}))
    return out, ignored, ignored_amt


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
