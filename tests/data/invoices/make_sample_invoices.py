#!/usr/bin/env python3
"""Write sample_invoices/: the provider bills that go with sample_logs/litellm_payload.jsonl.

What the providers would bill for the requests in the sample logs, in their own formats:

  openai_costs_2026-05.json          OpenAI Costs API page (GET /v1/organization/costs, group_by line_item)
  anthropic_cost_report_2026-05.json Anthropic Admin API cost report (amounts are cents as decimal strings)
  openai_costs_2025-06.json          the June 2025 OpenAI bill for the three o3 requests of that month

Every request the gateway logged is billed at the provider's published price on its UTC day (genai-prices,
offline; the org's fine-tuned gpt-4o-mini ``acme-triage-llm-v2`` at OpenAI's published fine-tuned price), per token type (uncached
input, cached input, output), de-duplicated by request id; failed attempts and gateway cache hits are not
billed. On top of that, what a real bill has and the logs do not (docs/reconciliation.md names them):

  * unlogged traffic: 7 gpt-4o-mini requests on 2026-05-13 that never reached the logs (a deploy gap);
  * an invoice-only credit: "Promotional credit" -$0.10 on the May OpenAI bill;
  * the price the gateway did not apply: o3 in June 2025 is billed at $2/$8 per 1M (after the 2025-06-10
    price cut), while the gateway logged $10/$40.

Deterministic: re-run after the sample logs change (``python3 tests/data/invoices/make_sample_invoices.py``).
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from genai_prices import Usage, calc_price  # noqa: E402

from auditor.api import load_records  # noqa: E402
from auditor.policy import load_policy  # noqa: E402

LOGS = ROOT / "sample_logs" / "litellm_payload.jsonl"
OUT = ROOT / "sample_invoices"
M = Decimal(1_000_000)
# OpenAI's published price for inference on a fine-tuned gpt-4o-mini-2024-07-18 (per 1M: input, cached input, output).
FT_MINI = (Decimal("0.30"), Decimal("0.15"), Decimal("1.20"))
FINE_TUNED = {"acme-triage-llm-v2"}  # the org's fine-tuned gpt-4o-mini, which the gateway cannot price (missing-cost)
UNLOGGED = (date(2026, 5, 13), "gpt-4o-mini", 7)
CREDIT = Decimal("-0.10")
SNAPSHOT = {"gpt-4o-mini": "gpt-4o-mini-2024-07-18", "gpt-4o": "gpt-4o-2024-08-06", "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
            "o3": "o3-2025-04-16"}


def price(provider: str, model: str, when: datetime, uncached: int, cached: int, out: int) -> dict[str, Decimal]:
    """Amount per token type at the published price in effect."""
    bare = model.split("/", 1)[-1]
    if bare.startswith("ft:gpt-4o-mini") or bare in FINE_TUNED:
        pi, pc, po = FT_MINI
    else:
        # Unit prices probed with 1,000 tokens: below every long-context tier (these prompts are small).
        per = {}
        for name, usage in (("in", Usage(input_tokens=1000)), ("cached", Usage(input_tokens=1000, cache_read_tokens=1000)),
                            ("out", Usage(output_tokens=1000))):
            per[name] = Decimal(str(calc_price(usage, model_ref=bare, provider_id=provider, genai_request_timestamp=when).total_price)) * 1000
        pi, pc, po = per["in"], per["cached"], per["out"]
    return {"input": uncached * pi / M, "cached_input": cached * pc / M, "output": out * po / M}


def epoch(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp())


def main() -> None:
    loaded = load_records([LOGS], load_policy(None))
    rows = loaded.con.execute("""
        SELECT timestamp, provider, model, coalesce(input_tokens, 0), coalesce(cached_input_tokens, 0), coalesce(output_tokens, 0)
        FROM (SELECT *, row_number() OVER (PARTITION BY request_id ORDER BY _row) AS n FROM records WHERE record_kind = 'llm')
        WHERE n = 1 AND status = 'success' AND NOT coalesce(cache_hit, false) AND timestamp IS NOT NULL
        ORDER BY timestamp, request_id
    """).fetchall()
    items: dict[tuple, Decimal] = {}  # (day, provider, model, token type) -> amount
    per_model: dict[tuple, list] = {}
    for ts, provider, model, inp, cached, out in rows:
        when = ts.replace(tzinfo=timezone.utc)
        bill_model = model.split("/", 1)[-1]
        amounts = price(provider, bill_model, when, max(inp - cached, 0), cached, out)
        for tt, a in amounts.items():
            key = (ts.date(), provider, bill_model, tt)
            items[key] = items.get(key, Decimal(0)) + a
        per_model.setdefault((provider, bill_model), []).append(amounts)
    # unlogged traffic: requests the provider served and billed that the gateway never logged
    day, model, n = UNLOGGED
    seen = per_model[("openai", model)]
    for tt in ("input", "cached_input", "output"):
        avg = sum((a[tt] for a in seen), Decimal(0)) / len(seen)
        items[(day, "openai", model, tt)] = items.get((day, "openai", model, tt), Decimal(0)) + avg * n

    def q(d: Decimal) -> Decimal:  # the APIs report amounts to ~1e-10 dollars
        return d.quantize(Decimal("0.0000000001"))

    OUT.mkdir(parents=True, exist_ok=True)
    label = {"input": "input", "cached_input": "cached input", "output": "output"}
    for name, lo, hi in (("openai_costs_2026-05.json", date(2026, 5, 1), date(2026, 6, 1)),
                         ("openai_costs_2025-06.json", date(2025, 6, 1), date(2025, 7, 1))):
        days = sorted({k[0] for k in items if k[1] == "openai" and lo <= k[0] < hi})
        data = []
        for d in days:
            results = [{"object": "organization.costs.result", "amount": {"value": float(q(a)), "currency": "usd"},
                        "line_item": f"{SNAPSHOT.get(m, m)}, {label[tt]}", "project_id": "proj_gateway"}
                       for (dd, p, m, tt), a in sorted(items.items()) if dd == d and p == "openai" and a]
            if d == days[-1] and lo.year == 2026:
                results.append({"object": "organization.costs.result", "amount": {"value": float(CREDIT), "currency": "usd"},
                                "line_item": "Promotional credit", "project_id": None})
            data.append({"object": "bucket", "start_time": epoch(d), "end_time": epoch(d + timedelta(days=1)), "results": results})
        (OUT / name).write_text(json.dumps({"object": "page", "data": data, "has_more": False, "next_page": None}, indent=1) + "\n")
    token_type = {"input": "uncached_input_tokens", "cached_input": "cache_read_input_tokens", "output": "output_tokens"}
    words = {"input": "Input Tokens", "cached_input": "Cache Read Tokens", "output": "Output Tokens"}
    days = sorted({k[0] for k in items if k[1] == "anthropic"})
    data = []
    for d in days:
        results = [{"currency": "USD", "amount": str(q(a * 100).normalize()), "workspace_id": None,
                    "description": f"{m} Usage - {words[tt]}", "cost_type": "tokens", "context_window": "0-200k",
                    "model": m, "service_tier": "standard", "token_type": token_type[tt], "inference_geo": "not_available"}
                   for (dd, p, m, tt), a in sorted(items.items()) if dd == d and p == "anthropic" and a]
        data.append({"starting_at": f"{d}T00:00:00Z", "ending_at": f"{d + timedelta(days=1)}T00:00:00Z", "results": results})
    (OUT / "anthropic_cost_report_2026-05.json").write_text(
        json.dumps({"data": data, "has_more": False, "next_page": None}, indent=1) + "\n")
    print(f"wrote {OUT}: {len(items)} invoice items from {len(rows)} billed requests")


if __name__ == "__main__":
    main()
