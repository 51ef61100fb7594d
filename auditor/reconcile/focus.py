"""FOCUS 1.x billing exports (CSV or Parquet): AWS Bedrock, Azure OpenAI, Vertex AI and LiteLLM's FOCUS export.
Only AI services' rows are read; the rest are counted as left out."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Iterable

from auditor.loaders.sources import PARQUET_MAGIC, head_bytes, open_binary
from auditor.reconcile import names
from auditor.reconcile.lines import ADJUSTMENT, CREDIT, DAY, PURCHASE, TAX, USAGE, InvoiceLine, _dec, _fail, _ts

FOCUS_REQUIRED = ("BilledCost", "ChargePeriodStart")
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
    missing = [c for c in FOCUS_REQUIRED if c not in cols]
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
