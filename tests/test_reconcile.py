"""Reconciliation against provider bills (issue 6).

The logs and the invoices are built from the SAME records, then the invoice is given what the logs do
not have: unlogged traffic on one day and model, a credit line, and a price change. The variance must be
right to the cent per day and model, and the causes named must be exactly the seeded ones.
"""

from __future__ import annotations

import csv
import gzip
import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from auditor.api import audit
from auditor.cli import main
from auditor.reconcile import InvoiceError, read_invoices
from auditor.reconcile.names import model_key, parse_bedrock_usage_type, parse_openai_line_item
from helpers import record, write_jsonl

DAYS = [date(2026, 5, 1) + timedelta(days=i) for i in range(10)]
TEAMS = ["support-automation", "sales-enablement", "platform"]
# $ per 1M tokens: uncached input, cached input, output
PRICES = {"gpt-4o-mini": (D("0.15"), D("0.075"), D("0.60")),
          "gpt-4o": (D("2.50"), D("1.25"), D("10.00")),
          "claude-sonnet-4-5": (D("3.00"), D("0.30"), D("15.00"))}
TT = ("input", "cached_input", "output")
UNLOGGED_DAY, UNLOGGED_MODEL, UNLOGGED_HOURS = date(2026, 5, 4), "claude-sonnet-4-5", range(14, 18)
PRICE_CHANGE_FROM, PRICE_CHANGE_MODEL, NEW_OUTPUT_PRICE = date(2026, 5, 7), "gpt-4o-mini", D("0.72")
CREDIT = D("-5.00")

# How each provider's bill spells the models.
OPENAI_SNAPSHOT = {"gpt-4o-mini": "gpt-4o-mini-2024-07-18", "gpt-4o": "gpt-4o-2024-08-06"}
BEDROCK_ID = "anthropic.claude-sonnet-4-5-20250929-v1:0"
BEDROCK_USAGE = {"input": "input-tokens", "cached_input": "cache-read-input-token-count", "output": "output-tokens"}
AZURE_METER = {"gpt-4o-mini": "gpt-4o-mini-0718", "gpt-4o": "gpt-4o-0806"}


def _epoch(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp())


class Scenario:
    """Records (what happened) -> logs (what the gateway wrote) and invoice items (what the provider bills)."""

    def __init__(self, providers: dict[str, str], *, seed: bool = True):
        self.providers = providers  # model -> provider as logged
        self.events = []  # (day, hour, model, tokens per type, cost per type, team)
        for day in DAYS:
            for model in PRICES:
                for h in range(24):
                    inp, cached, out = 100_000 + 1000 * h, (20_000 if h % 3 == 0 else 0), 20_000 + 100 * h
                    toks = {"input": inp - cached, "cached_input": cached, "output": out}
                    cost = {t: D(toks[t]) * p / 1_000_000 for t, p in zip(TT, PRICES[model])}
                    self.events.append((day, h, model, toks, cost, TEAMS[h % 3]))
        self.seed = seed

    def logged(self, e) -> bool:
        day, h, model = e[0], e[1], e[2]
        return not (self.seed and day == UNLOGGED_DAY and model == UNLOGGED_MODEL and h in UNLOGGED_HOURS)

    def billed(self, e) -> dict[str, D]:
        day, model, toks, cost = e[0], e[2], e[3], e[4]
        if self.seed and model == PRICE_CHANGE_MODEL and day >= PRICE_CHANGE_FROM:
            cost = {**cost, "output": D(toks["output"]) * NEW_OUTPUT_PRICE / 1_000_000}
        return cost

    def records(self) -> list[dict]:
        out = []
        for e in self.events:
            if not self.logged(e):
                continue
            day, h, model, toks, cost, team = e
            out.append(record(request_id=f"{model}-{day}-{h:02d}", timestamp=f"{day}T{h:02d}:15:00Z",
                              provider=self.providers[model], model=BEDROCK_ID if self.providers[model] == "bedrock" else model,
                              input_tokens=toks["input"] + toks["cached_input"], cached_input_tokens=toks["cached_input"],
                              output_tokens=toks["output"], cost=float(sum(cost.values())), team_id=team))
        return out

    def items(self) -> dict[tuple, dict]:
        """(day, model, token type) -> {amount, tokens}: the invoice's usage lines."""
        out: dict[tuple, dict] = {}
        for e in self.events:
            day, model, toks = e[0], e[2], e[3]
            for t, amt in self.billed(e).items():
                it = out.setdefault((day, model, t), {"amount": D(0), "tokens": 0})
                it["amount"] += amt
                it["tokens"] += toks[t]
        return out

    def expected(self) -> dict[tuple, D]:
        """(day, provider, model) -> invoice - ledger, computed from the seeds alone."""
        exp: dict[tuple, D] = {}
        for e in self.events:
            day, model = e[0], e[2]
            key = (day.isoformat(), self.providers[model], BEDROCK_ID if self.providers[model] == "bedrock" else model)
            v = sum(self.billed(e).values()) - (sum(e[4].values()) if self.logged(e) else 0)
            exp[key] = exp.get(key, D(0)) + v
        return exp

    def ledger_total(self) -> D:
        return sum((sum(e[4].values()) for e in self.events if self.logged(e)), D(0))

    def invoice_usage_total(self) -> D:
        return sum((sum(self.billed(e).values()) for e in self.events), D(0))


def _num(d: D):
    """An exact JSON number (the APIs send numbers); float repr round-trips these short decimals."""
    f = float(d)
    assert D(repr(f)) == d.normalize() or D(repr(f)) == d, d
    return f


# -- invoice writers: the providers' documented shapes ---------------------------------------------------

def write_openai_costs(path: Path, sc: Scenario, credit: D | None = CREDIT) -> Path:
    label = {"input": "input", "cached_input": "cached input", "output": "output"}
    data = []
    items = sc.items()
    for day in DAYS:
        results = [{"object": "organization.costs.result", "amount": {"value": _num(it["amount"]), "currency": "usd"},
                    "line_item": f"{OPENAI_SNAPSHOT[m]}, {label[t]}", "project_id": "proj_support"}
                   for (d, m, t), it in sorted(items.items()) if d == day and sc.providers[m] == "openai"]
        if credit is not None and day == DAYS[-1]:
            results.append({"object": "organization.costs.result", "amount": {"value": _num(credit), "currency": "usd"},
                            "line_item": "Promotional credit", "project_id": None})
        data.append({"object": "bucket", "start_time": _epoch(day), "end_time": _epoch(day + timedelta(days=1)),
                     "results": results})
    path.write_text(json.dumps({"object": "page", "data": data, "has_more": False, "next_page": None}, indent=1))
    return path


def write_anthropic_cost(path: Path, sc: Scenario) -> Path:
    token_type = {"input": "uncached_input_tokens", "cached_input": "cache_read_input_tokens", "output": "output_tokens"}
    words = {"input": "Input Tokens", "cached_input": "Cache Read Tokens", "output": "Output Tokens"}
    data = []
    for day in DAYS:
        results = [{"currency": "USD", "amount": str(it["amount"] * 100), "workspace_id": None,
                    "description": f"Claude Sonnet 4.5 Usage - {words[t]}", "cost_type": "tokens",
                    "context_window": "0-200k", "model": "claude-sonnet-4-5-20250929", "service_tier": "standard",
                    "token_type": token_type[t]}
                   for (d, m, t), it in sorted(sc.items().items()) if d == day and sc.providers[m] == "anthropic"]
        data.append({"starting_at": f"{day}T00:00:00Z", "ending_at": f"{day + timedelta(days=1)}T00:00:00Z", "results": results})
    path.write_text(json.dumps({"data": data, "has_more": False, "next_page": None}))
    return path


FOCUS_COLUMNS = ["BilledCost", "EffectiveCost", "ListCost", "BillingCurrency", "ChargeCategory", "ChargeClass",
                 "ChargeDescription", "ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd",
                 "ServiceName", "ServiceCategory", "ProviderName", "ServiceProviderName", "InvoiceId", "SkuId", "SkuMeter",
                 "ConsumedQuantity", "ConsumedUnit", "Tags", "x_UsageType"]


def focus_rows(sc: Scenario) -> list[dict]:
    rows = []
    for (day, m, t), it in sorted(sc.items().items()):
        prov = sc.providers[m]
        base = {"BilledCost": it["amount"], "EffectiveCost": it["amount"], "ListCost": it["amount"], "BillingCurrency": "USD",
                "ChargeCategory": "Usage", "ChargeClass": None, "ChargeDescription": None,
                "ChargePeriodStart": f"{day}T00:00:00Z", "ChargePeriodEnd": f"{day + timedelta(days=1)}T00:00:00Z",
                "BillingPeriodStart": "2026-05-01T00:00:00Z", "BillingPeriodEnd": "2026-06-01T00:00:00Z",
                "ServiceCategory": "AI and Machine Learning", "InvoiceId": "INV-2026-05", "ConsumedQuantity": it["tokens"],
                "ConsumedUnit": "Tokens", "Tags": json.dumps({"team": "shared"})}
        if prov == "bedrock":
            ut = f"USE1-Claude4.5Sonnet-{BEDROCK_USAGE[t]}"
            rows.append({**base, "ServiceName": "Amazon Bedrock", "ProviderName": "AWS", "ServiceProviderName": "AWS",
                         "SkuId": "ABCD1234", "SkuMeter": ut, "x_UsageType": ut})
        else:
            meter = f"{AZURE_METER[m]} {'cached Inp' if t == 'cached_input' else ('Inp' if t == 'input' else 'Outp')} glbl Tokens"
            rows.append({**base, "ServiceName": "Azure OpenAI", "ProviderName": "Microsoft", "ServiceProviderName": "Microsoft",
                         "SkuId": "DZH318Z0BQ4L", "SkuMeter": meter, "x_UsageType": None})
    empty = {c: None for c in FOCUS_COLUMNS}
    rows.append({**empty, "BilledCost": CREDIT, "EffectiveCost": CREDIT, "ListCost": D(0), "BillingCurrency": "USD",
                 "ChargeCategory": "Credit", "ChargeDescription": "AWS Promotional Credit",
                 "ChargePeriodStart": "2026-05-01T00:00:00Z", "ChargePeriodEnd": "2026-05-11T00:00:00Z",
                 "ServiceName": "Amazon Bedrock", "ServiceCategory": "AI and Machine Learning", "ProviderName": "AWS",
                 "ServiceProviderName": "AWS", "InvoiceId": "INV-2026-05"})
    rows.append({**empty, "BilledCost": D("100.00"), "EffectiveCost": D("100.00"), "ListCost": D("100.00"),
                 "BillingCurrency": "USD", "ChargeCategory": "Usage", "ChargePeriodStart": "2026-05-01T00:00:00Z",
                 "ChargePeriodEnd": "2026-05-02T00:00:00Z", "ServiceName": "Amazon Elastic Compute Cloud",
                 "ServiceCategory": "Compute", "ProviderName": "AWS", "ServiceProviderName": "AWS",
                 "SkuId": "EC2", "SkuMeter": "Compute Usage", "ConsumedQuantity": 24, "ConsumedUnit": "Hours"})
    return [{c: r.get(c) for c in FOCUS_COLUMNS} for r in rows]


def write_focus_csv(path: Path, sc: Scenario, *, gz: bool = False) -> Path:
    rows = focus_rows(sc)
    opener = (lambda: gzip.open(path, "wt", newline="")) if gz else (lambda: open(path, "w", newline=""))
    with opener() as fh:
        w = csv.DictWriter(fh, FOCUS_COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if v is None else str(v)) for k, v in r.items()})
    return path


def write_focus_parquet(path: Path, sc: Scenario) -> Path:
    rows = focus_rows(sc)
    money = pa.decimal128(38, 12)
    fields = [pa.field(c, money if c in ("BilledCost", "EffectiveCost", "ListCost") else
                       (pa.int64() if c == "ConsumedQuantity" else pa.string())) for c in FOCUS_COLUMNS]
    table = pa.Table.from_pylist(rows, schema=pa.schema(fields))
    pq.write_table(table, path)
    return path


OPENAI_ANTHROPIC = {"gpt-4o-mini": "openai", "gpt-4o": "openai", "claude-sonnet-4-5": "anthropic"}
AZURE_BEDROCK = {"gpt-4o-mini": "azure", "gpt-4o": "azure", "claude-sonnet-4-5": "bedrock"}


def _setup(tmp_path: Path, fmt: str, *, seed: bool = True):
    sc = Scenario(OPENAI_ANTHROPIC if fmt == "openai+anthropic" else AZURE_BEDROCK, seed=seed)
    logs = write_jsonl(tmp_path / "logs.jsonl", sc.records())
    if fmt == "openai+anthropic":
        invoices = [write_openai_costs(tmp_path / "openai_costs.json", sc, CREDIT if seed else None),
                    write_anthropic_cost(tmp_path / "anthropic_cost_report.json", sc)]
    elif fmt == "focus-csv":
        invoices = [write_focus_csv(tmp_path / "focus.csv", sc)]
    elif fmt == "focus-csv-gz":
        invoices = [write_focus_csv(tmp_path / "focus.csv.gz", sc, gz=True)]
    else:
        invoices = [write_focus_parquet(tmp_path / "focus.parquet", sc)]
    return sc, logs, invoices


FORMATS = ["openai+anthropic", "focus-csv", "focus-csv-gz", "focus-parquet"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_variance_to_the_cent_per_day_and_model(tmp_path, fmt):
    sc, logs, invoices = _setup(tmp_path, fmt)
    rec = audit([logs], invoices=invoices).reconciliation
    got = {(r["day"], r["provider"], r["model"]): r["variance"] for r in rec["rows"]}
    exp = sc.expected()
    assert set(got) == set(exp)
    for key, v in exp.items():
        assert got[key] == v, key  # exact Decimals, so right to the cent and beyond
    nonzero = {k for k, v in exp.items() if v}
    assert {k for k, r in zip(got, rec["rows"]) if r["flagged"]} == nonzero
    s = rec["summary"]
    assert s["ledger_total"] == sc.ledger_total()
    assert s["invoice_usage_total"] == sc.invoice_usage_total()
    assert s["invoice_total"] == sc.invoice_usage_total() + CREDIT
    assert s["variance"] == s["invoice_total"] - s["ledger_total"]
    assert s["variance_pct"] == float((100 * s["variance"] / s["invoice_total"]).quantize(D("0.01")))


@pytest.mark.parametrize("fmt", FORMATS)
def test_causes_are_exactly_the_seeded_ones(tmp_path, fmt):
    sc, logs, invoices = _setup(tmp_path, fmt)
    rec = audit([logs], invoices=invoices).reconciliation
    causes = {c["code"]: c for c in rec["causes"]}
    assert set(causes) == {"unlogged_traffic", "price_change", "invoice_credits"}
    unlogged = causes["unlogged_traffic"]
    assert [(r["day"], r["model"]) for r in unlogged["rows"]] == [(UNLOGGED_DAY.isoformat(),
                                                                    BEDROCK_ID if fmt != "openai+anthropic" else UNLOGGED_MODEL)]
    assert "14:00-18:00" in unlogged["evidence"][0]
    price = causes["price_change"]
    assert {r["day"] for r in price["rows"]} == {d.isoformat() for d in DAYS if d >= PRICE_CHANGE_FROM}
    assert f"from {PRICE_CHANGE_FROM}" in price["evidence"][0]
    assert "output $0.60/1M -> $0.72/1M" in price["evidence"][0]
    exp = sc.expected()
    assert price["amount"] == sum(v for (d, p, m), v in exp.items() if m == PRICE_CHANGE_MODEL)
    assert causes["invoice_credits"]["amount"] == CREDIT
    # the causes account for the whole variance
    assert sum(c["amount"] for c in rec["causes"]) == rec["summary"]["variance"]


@pytest.mark.parametrize("fmt", ["openai+anthropic", "focus-csv"])
def test_credit_is_allocated_by_team_list_cost(tmp_path, fmt):
    sc, logs, invoices = _setup(tmp_path, fmt)
    result = audit([logs], invoices=invoices)
    credits = result.reconciliation["credits"]
    assert credits["total"] == CREDIT
    (line,) = credits["lines"]
    shares = {a["team_id"]: a for a in line["allocation"]}
    assert sum(a["allocated"] for a in shares.values()) == CREDIT
    provider = "openai" if fmt == "openai+anthropic" else "bedrock"
    cost = {}
    for r in sc.records():
        if r["provider"] == provider:
            cost[r["team_id"]] = cost.get(r["team_id"], D(0)) + D(repr(r["cost"]))
    total = sum(cost.values())
    for team, c in cost.items():
        assert shares[team]["list_cost"] == c
        assert abs(shares[team]["allocated"] - CREDIT * c / total) <= D("0.01")
    assert "team_list_cost / total_list_cost" in credits["formula"]
    # never folded into request costs: the ledger total is the records' own cost
    assert result.reconciliation["summary"]["ledger_total"] == sc.ledger_total()


def test_clean_invoice_reconciles_with_no_causes(tmp_path):
    sc, logs, invoices = _setup(tmp_path, "openai+anthropic", seed=False)
    rec = audit([logs], invoices=invoices).reconciliation
    assert rec["summary"]["variance"] == 0
    assert rec["summary"]["coverage_pct"] == 100.0
    assert rec["summary"]["attributable_pct_of_invoice"] == 100.0
    assert rec["causes"] == []
    assert not any(r["flagged"] for r in rec["rows"])


def test_coverage_and_attributable_share(tmp_path):
    sc, logs, invoices = _setup(tmp_path, "openai+anthropic")
    recs = sc.records()
    for r in recs:  # one team loses its owner: its spend is covered but not attributable
        if r["team_id"] == "platform":
            r.pop("team_id")
    write_jsonl(logs, recs)
    rec = audit([logs], invoices=invoices).reconciliation
    s = rec["summary"]
    inv = sc.invoice_usage_total()
    covered = sum(min(D(r["invoice"]) if not isinstance(r["invoice"], D) else r["invoice"], r["ledger"]) for r in rec["rows"])
    assert s["coverage_pct"] == float((100 * covered / inv).quantize(D("0.01")))
    assert s["attributable_pct_of_invoice"] < s["coverage_pct"]


def test_token_types_on_both_sides(tmp_path):
    sc, logs, invoices = _setup(tmp_path, "openai+anthropic")
    rec = audit([logs], invoices=invoices).reconciliation
    row = next(r for r in rec["rows"] if r["model"] == "gpt-4o" and r["day"] == "2026-05-02")
    tts = {t["token_type"]: t for t in row["token_types"]}
    assert set(tts) == {"input", "cached_input", "output"}
    items = sc.items()
    for t in TT:
        assert tts[t]["invoice"] == items[(date(2026, 5, 2), "gpt-4o", t)]["amount"]
        assert tts[t]["ledger_tokens"] == items[(date(2026, 5, 2), "gpt-4o", t)]["tokens"]
    assert tts["output"]["invoice_price_per_1m"] == D("10.0000")
    assert tts["cached_input"]["invoice_price_per_1m"] == D("1.2500")
    assert rec["inputs"]["token_split"]  # says how the ledger side was split


class GatewayPricingScenario(Scenario):
    """The provider bills batch requests at 50% off; the gateway logs them at the online price."""

    batch_day = date(2026, 5, 5)
    cached_day = date(2026, 5, 3)

    def __init__(self, providers, **kw):
        super().__init__(providers, **kw)
        # gpt-4o on the cached day: most of the prompt comes from the provider's cache
        for i, (day, h, model, toks, cost, team) in enumerate(self.events):
            if model == "gpt-4o" and day == self.cached_day:
                total_in = toks["input"] + toks["cached_input"]
                toks = {"input": total_in - 80_000, "cached_input": 80_000, "output": toks["output"]}
                cost = {t: D(toks[t]) * p / 1_000_000 for t, p in zip(TT, PRICES[model])}
                self.events[i] = (day, h, model, toks, cost, team)

    def is_batch(self, e) -> bool:
        return e[2] == "gpt-4o-mini" and e[0] == self.batch_day and e[1] < 12

    def billed(self, e):
        return {t: v / 2 for t, v in e[4].items()} if self.is_batch(e) else e[4]


def test_gateway_pricing_causes_duplicates_cached_and_batch(tmp_path):
    """Duplicates, cached tokens priced at the full input rate, batch priced at the online rate."""
    sc = GatewayPricingScenario(OPENAI_ANTHROPIC, seed=False)
    recs = sc.records()
    cached_day = sc.cached_day.isoformat()
    for r, e in zip(recs, sc.events):
        assert r["request_id"] == f"{e[2]}-{e[0]}-{e[1]:02d}"
        if r["model"] == "gpt-4o" and r["timestamp"].startswith(cached_day) and r["cached_input_tokens"]:
            # the gateway priced cached tokens at the full input rate (LiteLLM #6215)
            r["cost"] = float(D(repr(r["cost"])) + D(r["cached_input_tokens"]) * (D("2.50") - D("1.25")) / 1_000_000)
        if sc.is_batch(e):
            r["batch"] = True
    dups = [dict(r) for r in recs if r["model"] == "claude-sonnet-4-5" and r["timestamp"].startswith("2026-05-02")][:3]
    logs = write_jsonl(tmp_path / "logs.jsonl", recs + dups)
    invoices = [write_openai_costs(tmp_path / "openai_costs.json", sc, credit=None),
                write_anthropic_cost(tmp_path / "anthropic.json", sc)]
    rec = audit([logs], invoices=invoices).reconciliation
    causes = {c["code"]: c for c in rec["causes"]}
    assert set(causes) == {"duplicates", "cached_token_pricing", "batch_discount"}
    assert [(r["day"], r["model"]) for r in causes["cached_token_pricing"]["rows"]] == [(cached_day, "gpt-4o")]
    assert [(r["day"], r["model"]) for r in causes["batch_discount"]["rows"]] == [(sc.batch_day.isoformat(), "gpt-4o-mini")]
    assert rec["inputs"]["ledger"]["duplicates_removed"] == 3
    assert "3 extra copies of requests already logged" in causes["duplicates"]["evidence"][0]
    assert causes["duplicates"]["rules"] == ["INT001"] and causes["duplicates"]["amount"] == -causes["duplicates"]["removed_cost"]
    # the duplicates were removed, so that day and model reconcile exactly
    row = next(r for r in rec["rows"] if r["model"] == "claude-sonnet-4-5" and r["day"] == "2026-05-02")
    assert row["variance"] == 0


def test_usage_reports_add_token_evidence(tmp_path):
    sc, logs, invoices = _setup(tmp_path, "openai+anthropic")
    data = []
    for day in DAYS:
        results = []
        for m in ("claude-sonnet-4-5",):
            ev = [e for e in sc.events if e[0] == day and e[2] == m]
            results.append({"uncached_input_tokens": sum(e[3]["input"] for e in ev),
                            "cache_read_input_tokens": sum(e[3]["cached_input"] for e in ev),
                            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                            "output_tokens": sum(e[3]["output"] for e in ev), "server_tool_use": {"web_search_requests": 0},
                            "model": "claude-sonnet-4-5-20250929", "api_key_id": None, "workspace_id": None,
                            "service_tier": "standard", "context_window": "0-200k"})
        data.append({"starting_at": f"{day}T00:00:00Z", "ending_at": f"{day + timedelta(days=1)}T00:00:00Z", "results": results})
    usage = tmp_path / "anthropic_usage.json"
    usage.write_text(json.dumps({"data": data, "has_more": False, "next_page": None}))
    oa = []
    for day in DAYS:
        ev = [e for e in sc.events if e[0] == day and e[2] == "gpt-4o-mini"]
        oa.append({"object": "bucket", "start_time": _epoch(day), "end_time": _epoch(day + timedelta(days=1)), "results": [
            {"object": "organization.usage.completions.result", "input_tokens": sum(e[3]["input"] + e[3]["cached_input"] for e in ev),
             "input_cached_tokens": sum(e[3]["cached_input"] for e in ev), "output_tokens": sum(e[3]["output"] for e in ev),
             "input_audio_tokens": 0, "output_audio_tokens": 0, "num_model_requests": len(ev), "project_id": None,
             "user_id": None, "api_key_id": None, "model": "gpt-4o-mini-2024-07-18", "batch": False}]})
    ousage = tmp_path / "openai_usage.json"
    ousage.write_text(json.dumps({"object": "page", "data": oa, "has_more": False, "next_page": None}))
    lines, files = read_invoices([usage, ousage])
    assert {f.format for f in files} == {"anthropic-usage", "openai-usage"}
    rec = audit([logs], invoices=[*invoices, usage, ousage]).reconciliation
    assert rec["summary"]["invoice_total"] == sc.invoice_usage_total() + CREDIT  # token counts add no money
    (ev,) = next(c for c in rec["causes"] if c["code"] == "unlogged_traffic")["evidence"]
    assert "usage report counts" in ev and "14:00-18:00" in ev


def test_gate_and_console(tmp_path):
    sc, logs, invoices = _setup(tmp_path, "openai+anthropic")
    args = [str(logs), *[x for p in invoices for x in ("--invoice", str(p))], "--fail-on", "never"]
    run = CliRunner().invoke(main, [*args, "--max-variance-pct", "0.01"])
    assert run.exit_code == 1, run.output
    assert "reconciliation variance" in run.output
    assert "Reconciliation: invoice $" in run.output
    ok = CliRunner().invoke(main, [*args, "--max-variance-pct", "50"])
    assert ok.exit_code == 0, ok.output
    js = CliRunner().invoke(main, [*args, "--format", "json"])
    doc = json.loads(js.stdout)  # stderr says PASS or FAIL
    r = doc["reconciliation"]
    assert D(r["summary"]["variance"]) == D(r["summary"]["invoice_total"]) - D(r["summary"]["ledger_total"])
    assert isinstance(r["summary"]["invoice_total"], str)  # money as exact strings
    assert r["summary"]["summary_line"].startswith("Reconciliation:")
    # The sign is said in words, from the side that is higher (variance = invoice - logs).
    higher = ("the logs are above the invoice" if D(r["summary"]["ledger_total"]) > D(r["summary"]["invoice_total"])
              else "the invoice is above the logs")
    assert f"%, {higher})" in r["summary"]["summary_line"]
    assert f"({higher}) is above the maximum 0.01%" in run.output


@pytest.mark.parametrize("content,message", [
    ('{"object": "page", "data": [', "malformed JSON"),
    ('{"hello": "world"}', "not an invoice"),
    ("a,b,c\n1,2,3\n", "not a recognised invoice"),
    ('{"object": "page", "data": [{"object": "bucket", "start_time": 1777593600, "end_time": 1777680000, "results": '
     '[{"object": "organization.costs.result", "amount": {"currency": "usd"}, "line_item": "gpt-4o, input"}]}]}',
     "amount missing"),
    ('{"object": "page", "data": [{"object": "bucket", "start_time": 1777593600, "end_time": 1777680000, "results": '
     '[{"object": "organization.costs.result", "amount": {"value": 1.5, "currency": "eur"}, "line_item": "gpt-4o, input"}]}]}',
     "only USD"),
    ("BilledCost,ChargePeriodStart,ServiceName,ServiceCategory\nabc,2026-05-01T00:00:00Z,Amazon Bedrock,AI and Machine Learning\n",
     "not a number"),
    ('{"data": [{"starting_at": "yesterday", "ending_at": null, "results": [{"amount": "12.5", "currency": "USD"}]}]}',
     "starting_at"),
])
def test_bad_invoice_is_a_clear_error_with_the_file_name(tmp_path, content, message):
    logs = write_jsonl(tmp_path / "logs.jsonl", [record()])
    bad = tmp_path / "bill.json"
    bad.write_text(content)
    with pytest.raises(InvoiceError, match=message):
        read_invoices([bad])
    run = CliRunner().invoke(main, [str(logs), "--invoice", str(bad)])
    assert run.exit_code == 2
    assert str(bad) in run.output and message in run.output
    assert "Traceback" not in run.output


def test_missing_invoice_file_is_exit_2(tmp_path):
    logs = write_jsonl(tmp_path / "logs.jsonl", [record()])
    run = CliRunner().invoke(main, [str(logs), "--invoice", str(tmp_path / "nope.json")])
    assert run.exit_code == 2
    assert "nope.json" in run.output


def test_ledger_outside_the_invoice_is_left_out(tmp_path):
    sc, logs, invoices = _setup(tmp_path, "openai+anthropic", seed=False)
    recs = sc.records() + [record(request_id="later", timestamp="2026-06-15T10:00:00Z", cost=5.0),
                           record(request_id="other", provider="mistral", model="mistral-large", cost=7.0)]
    write_jsonl(logs, recs)
    rec = audit([logs], invoices=invoices).reconciliation
    assert rec["summary"]["variance"] == 0
    assert rec["inputs"]["ledger"]["out_of_scope_records"] == 2
    assert rec["inputs"]["ledger"]["providers_not_on_any_invoice"] == {"mistral": D("7")}


def test_names():
    assert parse_openai_line_item("gpt-4o-mini-2024-07-18, cached input")[:2] == ("gpt-4o-mini-2024-07-18", "cached_input")
    assert parse_openai_line_item("web search tool calls")[0] is None
    assert parse_bedrock_usage_type("USE1-Claude4.6Sonnet-input-tokens") == ("Claude4.6Sonnet", "input", False)
    assert parse_bedrock_usage_type("USE1-Claude3Sonnet-output-tokens-batch") == ("Claude3Sonnet", "output", True)
    assert model_key("Claude4.6Sonnet") == model_key("claude-sonnet-4-6") == model_key("us.anthropic.claude-sonnet-4-6-v1:0")
    assert model_key("gpt-4o-mini-2024-07-18") == model_key("gpt-4o-mini") != model_key("gpt-4o")


def test_json_report_validates_and_html_has_the_section(tmp_path):
    import jsonschema

    from auditor.reporters import renderer

    sc, logs, invoices = _setup(tmp_path, "focus-csv")
    result = audit([logs], invoices=invoices)
    doc = json.loads(renderer("json")(result))
    schema = json.loads((Path(__file__).parent.parent / "schemas" / "audit-report.schema.json").read_text())
    jsonschema.validate(doc, schema)
    html = renderer("html")(result)
    i = html.index('<section id="reconciliation">')
    section = html[i:html.index("</section>", i)]
    assert "<svg" in section and "Daily invoice vs ledger" in section
    assert "team_list_cost / total_list_cost" in section  # the written allocation formula
    assert "Unlogged traffic" in section and "Price change not applied" in section
    assert "http://" not in section and "https://" not in section  # self-contained


SAMPLE = Path(__file__).parent.parent / "sample_logs"


def test_sample_invoices_read_and_name_their_seeds():
    lines, files = read_invoices([SAMPLE.parent / "sample_invoices"])
    assert {f.format for f in files} == {"openai-costs", "anthropic-cost"}
    rec = audit([SAMPLE / "litellm_payload.jsonl"], invoices=[SAMPLE.parent / "sample_invoices"]).reconciliation
    causes = {c["code"]: c for c in rec["causes"]}
    assert {"unlogged_traffic", "stale_price", "invoice_credits"} <= set(causes)
    # o3 kept its old price after the cut: the stale-price rule's findings are the cause, linked by code
    assert [r["model"] for r in causes["stale_price"]["rows"]] == ["o3", "o3", "o3"]
    assert causes["stale_price"]["rules"] == ["PRC003"] and "price_change" not in causes
    assert causes["invoice_credits"]["amount"] == D("-0.10")
    assert [(r["day"], r["model"]) for r in causes["unlogged_traffic"]["rows"]] == [("2026-05-13", "gpt-4o-mini")]


def test_focus_period_lines_compare_with_the_ledger_days_inside(tmp_path):
    """A monthly FOCUS line (ChargePeriod longer than a day) is one period row over the ledger days inside it."""
    sc = Scenario(AZURE_BEDROCK, seed=False)
    logs = write_jsonl(tmp_path / "logs.jsonl", sc.records())
    total = sum((it["amount"] for (d, m, t), it in sc.items().items() if m == "gpt-4o"), D(0))
    path = tmp_path / "focus_monthly.csv"
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, ["BilledCost", "BillingCurrency", "ChargeCategory", "ChargePeriodStart", "ChargePeriodEnd",
                                "ServiceName", "ServiceCategory", "SkuMeter"])
        w.writeheader()
        w.writerow({"BilledCost": str(total + D("1.00")), "BillingCurrency": "USD", "ChargeCategory": "Usage",
                    "ChargePeriodStart": "2026-05-01T00:00:00Z", "ChargePeriodEnd": "2026-06-01T00:00:00Z",
                    "ServiceName": "Azure OpenAI", "ServiceCategory": "AI and Machine Learning",
                    "SkuMeter": "gpt-4o-0806 Inp glbl Tokens"})
    rec = audit([logs], invoices=[path]).reconciliation
    (row,) = [r for r in rec["rows"] if r["model"] == "gpt-4o"]
    assert row["day"] is None and row["period"] == "2026-05-01..2026-06-01"
    assert row["variance"] == D("1.00") and row["records"] == 240
    # the other models are in the ledger but not on this bill: ledger-only rows, over the threshold
    assert {r["model"] for r in rec["rows"] if r["flagged"]} >= {"gpt-4o-mini"}


def test_variance_side_reads_the_sign():
    from auditor.fmt import variance_side

    assert variance_side(D("-0.286")) == "the logs are above the invoice"
    assert variance_side(2.5) == "the invoice is above the logs"
    assert variance_side(0) == "the logs match the invoice"
