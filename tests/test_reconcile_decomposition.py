"""The reconciliation's decomposition recovers causes with known answers (issue 16).

The ledger (gateway logs) and the invoice are built from the SAME synthetic traffic, priced by a user
catalog; then hypothesis injects causes at random amounts and days, alone and together: records logged
at $0, stale prices (the version before the catalog's price change), cost mismatches, duplicate copies,
hours that never reached the logs, and a credit on the invoice. The decomposition must name each
injected cause on its days, recover its amount within the invoice's rounding, leave no unexplained
residual, and add up exactly per row and in total.
"""

from __future__ import annotations

import csv
import json
import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.api import audit
from auditor.policy import from_dict
from helpers import record, write_jsonl

DAYS = [date(2026, 5, 1) + timedelta(days=i) for i in range(10)]
HOURS = range(8, 20)  # business hours: traffic every day
PER_HOUR = 2
MODEL = "gpt-4o-mini"
# per 1M tokens: the price in effect for the whole period, and the one before the change of 2026-04-01
NEW, OLD = (D("0.20"), D("0.80")), (D("0.40"), D("1.60"))
CATALOG = """
[[prices]]
provider = "*"
model = "gpt-4o-mini"
effective_to = 2026-04-01
input_per_1m = "0.40"
output_per_1m = "1.60"

[[prices]]
provider = "*"
model = "gpt-4o-mini"
effective_from = 2026-04-01
input_per_1m = "0.20"
output_per_1m = "0.80"
"""
# unlogged first: the hours it empties must be empty (another cause changes records, it never removes them)
CAUSES = ("unlogged_traffic", "missing_cost", "stale_price", "cost_mismatch", "duplicates", "invoice_credits")
SETTINGS = settings(max_examples=2, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _cost(inp: int, out: int, price: tuple[D, D]) -> D:
    return (inp * price[0] + out * price[1]) / 1_000_000


class Traffic:
    """What happened (events), what the gateway logged (records), what the provider bills (invoice lines)."""

    def __init__(self, seed: int, same_every_day: bool):
        rng = random.Random(seed)
        pattern = {(h, i): (rng.randrange(20, 400) * 1000, rng.randrange(5, 80) * 1000) for h in HOURS for i in range(PER_HOUR)}
        self.events = []
        for day in DAYS:
            for h in HOURS:
                for i in range(PER_HOUR):
                    inp, out = pattern[(h, i)] if same_every_day else (rng.randrange(20, 400) * 1000, rng.randrange(5, 80) * 1000)
                    self.events.append({"id": f"req-{day}-{h:02d}-{i}", "day": day, "hour": h, "inp": inp, "out": out,
                                        "team": ("search", "support", "growth")[(h + i) % 3], "cost": _cost(inp, out, NEW)})
        self.unlogged: set[str] = set()
        self.recorded: dict[str, D] = {}  # request id -> cost as logged, where it differs from the true cost
        self.copies: list[str] = []
        self.credit = D(0)
        self.expected: dict[str, D] = {}
        self.days: dict[str, set[str]] = {}
        self.effect: dict[str, D] = {}  # request id -> what its injection does to invoice - ledger
        self.cause_of: dict[str, str] = {}

    def inject(self, cause: str, data, free: list[dict]) -> None:
        """Pick records (never one another cause already changed) and change what the logs say about them."""
        if cause == "invoice_credits":
            self.credit = -D(data.draw(st.integers(1, 500), label="credit cents")) / 100
            self.expected[cause] = self.credit
            return
        if cause == "unlogged_traffic":
            day = data.draw(st.sampled_from(DAYS), label="unlogged day")
            h0 = data.draw(st.integers(HOURS[0], HOURS[-1] - 2), label="first unlogged hour")
            n = data.draw(st.integers(1, 3), label="unlogged hours")
            hit = [e for e in free if e["day"] == day and h0 <= e["hour"] < h0 + n]
            self.unlogged |= {e["id"] for e in hit}
            picked = hit
        else:
            k = data.draw(st.integers(1, 4), label=f"{cause} records")
            picked = data.draw(st.lists(st.sampled_from([e for e in free if e["id"] not in self.unlogged]), min_size=k,
                                        max_size=k, unique_by=lambda e: e["id"]), label=cause)
        factor = D(data.draw(st.integers(10, 60), label="mismatch %")) / 100 if cause == "cost_mismatch" else None
        amount = D(0)
        for e in picked:
            free.remove(e)
            if cause == "missing_cost":
                self.recorded[e["id"]] = D(0)
            elif cause == "stale_price":
                self.recorded[e["id"]] = _cost(e["inp"], e["out"], OLD)
            elif cause == "cost_mismatch":
                self.recorded[e["id"]] = e["cost"] * (1 + factor)
            elif cause == "duplicates":
                self.copies.append(e["id"])
            # invoice - ledger: what the provider bills for the request minus what the logs charge for it
            self.effect[e["id"]] = {"duplicates": -e["cost"], "unlogged_traffic": e["cost"]}.get(
                cause, e["cost"] - self.recorded.get(e["id"], e["cost"]))
            self.cause_of[e["id"]] = cause
            amount += self.effect[e["id"]]
        self.expected[cause] = amount
        self.days[cause] = {e["day"].isoformat() for e in picked}

    def relabel(self, flagged: dict[str, set[str]]) -> None:
        """Mis-priced records under the rule that flags them. PRC003 also finds implied-price regimes: a group of
        records sharing one wrong price is a regime, and its records after the model moved on are stale, not
        mismatched (the money is the same; the cause is named after the rule's finding)."""
        for rid, cause in self.cause_of.items():
            if cause not in ("stale_price", "cost_mismatch"):
                continue
            codes = flagged.get(rid, set())
            assert codes & {"PRC003", "PRC004"}, (rid, cause, codes)  # every mis-priced record is found
            named = "stale_price" if "PRC003" in codes else "cost_mismatch"
            if named != cause:
                day = next(e["day"].isoformat() for e in self.events if e["id"] == rid)
                self.expected[cause] -= self.effect[rid]
                self.expected[named] = self.expected.get(named, D(0)) + self.effect[rid]
                self.days.setdefault(named, set()).add(day)
                self.cause_of[rid] = named
        for cause in ("stale_price", "cost_mismatch"):
            if cause in self.days:
                self.days[cause] = {next(e["day"].isoformat() for e in self.events if e["id"] == rid)
                                    for rid, c in self.cause_of.items() if c == cause}
                if not self.days[cause]:
                    del self.days[cause], self.expected[cause]

    def records(self, provider: str) -> list[dict]:
        out = []
        by_id = {}
        for e in self.events:
            if e["id"] in self.unlogged:
                continue
            cost = self.recorded.get(e["id"], e["cost"])
            assert D(repr(float(cost))) == cost.normalize(), cost  # the JSON number is the exact decimal
            r = record(request_id=e["id"], timestamp=f"{e['day']}T{e['hour']:02d}:{10 + 20 * (e['id'][-1] == '1')}:00Z",
                       provider=provider, model=MODEL, input_tokens=e["inp"], output_tokens=e["out"], cost=float(cost),
                       team_id=e["team"], service_id=f"{e['team']}-api", api_key_id=f"key-{e['team']}", pricing_source="catalog")
            out.append(r)
            by_id[e["id"]] = r
        return out + [dict(by_id[i]) for i in self.copies]

    def items(self, places: int) -> dict[tuple, dict]:
        """(day, token type) -> billed amount (rounded to ``places``) and tokens."""
        out: dict[tuple, dict] = {}
        for e in self.events:
            for tt, n, p in (("input", e["inp"], NEW[0]), ("output", e["out"], NEW[1])):
                it = out.setdefault((e["day"], tt), {"amount": D(0), "tokens": 0})
                it["amount"] += n * p / 1_000_000
                it["tokens"] += n
        q = D(1).scaleb(-places)
        for it in out.values():
            it["amount"] = it["amount"].quantize(q)
        return out


def write_focus(path: Path, t: Traffic, places: int) -> Path:
    cols = ["BilledCost", "BillingCurrency", "ChargeCategory", "ChargePeriodStart", "ChargePeriodEnd", "ServiceName",
            "ServiceCategory", "ProviderName", "SkuMeter", "ConsumedQuantity", "ConsumedUnit", "ChargeDescription"]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, cols)
        w.writeheader()
        for (day, tt), it in sorted(t.items(places).items()):
            w.writerow({"BilledCost": str(it["amount"]), "BillingCurrency": "USD", "ChargeCategory": "Usage",
                        "ChargePeriodStart": f"{day}T00:00:00Z", "ChargePeriodEnd": f"{day + timedelta(days=1)}T00:00:00Z",
                        "ServiceName": "Azure OpenAI", "ServiceCategory": "AI and Machine Learning", "ProviderName": "Microsoft",
                        "SkuMeter": f"gpt-4o-mini-0718 {'Inp' if tt == 'input' else 'Outp'} glbl Tokens",
                        "ConsumedQuantity": it["tokens"], "ConsumedUnit": "Tokens"})
        if t.credit:
            w.writerow({"BilledCost": str(t.credit), "BillingCurrency": "USD", "ChargeCategory": "Credit",
                        "ChargePeriodStart": f"{DAYS[0]}T00:00:00Z", "ChargePeriodEnd": f"{DAYS[-1] + timedelta(days=1)}T00:00:00Z",
                        "ServiceName": "Azure OpenAI", "ServiceCategory": "AI and Machine Learning", "ProviderName": "Microsoft",
                        "ChargeDescription": "Azure OpenAI promotional credit"})
    return path


def write_openai_costs(path: Path, t: Traffic, places: int) -> Path:
    """The Costs API gives amounts per line item, no token counts: unlogged hours must come from the ledger's hours."""
    items = t.items(places)
    data = []
    for day in DAYS:
        start = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())
        results = [{"object": "organization.costs.result", "amount": {"value": float(items[(day, tt)]["amount"]), "currency": "usd"},
                    "line_item": f"gpt-4o-mini-2024-07-18, {tt}", "project_id": "proj_1"} for tt in ("input", "output")]
        if t.credit and day == DAYS[-1]:
            results.append({"object": "organization.costs.result", "amount": {"value": float(t.credit), "currency": "usd"},
                            "line_item": "Promotional credit", "project_id": None})
        data.append({"object": "bucket", "start_time": start, "end_time": start + 86400, "results": results})
    path.write_text(json.dumps({"object": "page", "data": data, "has_more": False, "next_page": None}))
    return path


def run(tmp_path: Path, data, causes: tuple[str, ...], fmt: str):
    places = data.draw(st.sampled_from([2, 6] if fmt == "openai-costs" else [2, 6, 12]), label="invoice decimals")
    t = Traffic(data.draw(st.integers(0, 2**32), label="traffic seed"), same_every_day=fmt == "openai-costs")
    free = list(t.events)
    for c in causes:
        t.inject(c, data, free)
    provider = "azure" if fmt == "focus" else "openai"
    (tmp_path / "prices.toml").write_text(CATALOG)
    logs = write_jsonl(tmp_path / "logs.jsonl", t.records(provider))
    inv = (write_focus if fmt == "focus" else write_openai_costs)(tmp_path / f"invoice.{'csv' if fmt == 'focus' else 'json'}", t, places)
    result = audit([logs], from_dict({"pricing": {"catalogs": [str(tmp_path / "prices.toml")]}}), invoices=[inv],
                   select=["PRC", "INT001"])
    flagged: dict[str, set[str]] = {}
    for rid, code in result.con.execute("SELECT r.request_id, f.code FROM finding_rows f JOIN records r USING (_row)"
                                        " WHERE f.code IN ('PRC003', 'PRC004') ORDER BY 1, 2").fetchall():
        flagged.setdefault(rid, set()).add(code)
    t.relabel(flagged)
    # the invoice's rounding: half a unit of its last place per line, on every line a cause's rows touch
    tolerance = D(1).scaleb(-places) / 2 * 2 * len(DAYS) + D("1e-9")
    return t, result.reconciliation, tolerance


def check(t: Traffic, rec: dict, tolerance: D, causes: tuple[str, ...]) -> None:
    causes = tuple(c for c in causes if c in t.expected)  # a cause relabelled away entirely
    got = {c["code"]: c for c in rec["causes"]}
    assert set(got) - {"rounding"} == set(causes), (set(got), causes)
    for code in causes:
        c = got[code]
        assert abs(c["amount"] - t.expected[code]) <= tolerance, (code, c["amount"], t.expected[code])
        if code in t.days:
            assert set(c["days"]) == t.days[code]
            assert c["models"] == [MODEL]
        rules = {"missing_cost": ["PRC001", "PRC002"], "stale_price": ["PRC003"], "cost_mismatch": ["PRC004"],
                 "duplicates": ["INT001"]}.get(code, [])
        assert c["rules"] == rules
        assert c["direction"] == ("invoice_higher" if c["amount"] > 0 else "ledger_higher")
        # every cause reaches the teams' bills in full: record-level causes by the records' teams, unlogged
        # traffic by the teams around the gap, a credit by list cost
        assert sum(x["amount"] for x in c["teams"]) == c["amount"], (code, c["teams"])
        if code == "unlogged_traffic":
            assert {x["team_id"] for x in c["teams"]} <= {"search", "support", "growth"}
    dec = rec["decomposition"]
    assert dec["unexplained"] == 0 and "unexplained" not in got
    assert dec["explained_pct"] == 100.0
    # exact sums: per row, per component in total, and against the summary computed independently
    for row in rec["rows"]:
        assert sum((x["amount"] for x in row["components"]), D(0)) == row["invoice"] - row["ledger"] - row["duplicates_cost"]
    assert sum((x["amount"] for x in dec["components"]), D(0)) == dec["variance"]
    assert dec["variance"] == rec["summary"]["variance"] - rec["inputs"]["ledger"]["duplicates_cost"]
    assert dec["ledger_as_logged"] == rec["summary"]["ledger_total"] + rec["inputs"]["ledger"]["duplicates_cost"]


# FOCUS gives token counts (unlogged traffic = tokens the ledger lacks at the invoice's unit price); the
# OpenAI Costs API gives none (unlogged traffic = the empty hours at the neighbouring days' cost).
FORMATS = ("focus", "openai-costs")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("cause", CAUSES)
@SETTINGS
@given(data=st.data())
def test_each_cause_alone_is_recovered(tmp_path_factory, cause, fmt, data):
    t, rec, tolerance = run(tmp_path_factory.mktemp(cause), data, (cause,), fmt)
    check(t, rec, tolerance, (cause,))


@pytest.mark.parametrize("fmt", FORMATS)
@settings(SETTINGS, max_examples=4)
@given(data=st.data())
def test_all_causes_together_are_recovered(tmp_path_factory, fmt, data):
    t, rec, tolerance = run(tmp_path_factory.mktemp("all"), data, CAUSES, fmt)
    check(t, rec, tolerance, CAUSES)


def test_clean_traffic_has_nothing_to_explain(tmp_path):
    """Same traffic, nothing injected, invoice written exactly: no cause, variance 0, all explained."""
    t = Traffic(7, same_every_day=False)
    (tmp_path / "prices.toml").write_text(CATALOG)
    logs = write_jsonl(tmp_path / "logs.jsonl", t.records("azure"))
    inv = write_focus(tmp_path / "invoice.csv", t, 12)
    rec = audit([logs], from_dict({"pricing": {"catalogs": [str(tmp_path / "prices.toml")]}}), invoices=[inv],
                select=["PRC", "INT001"]).reconciliation
    assert rec["causes"] == [] and rec["decomposition"]["variance"] == 0
    assert rec["decomposition"]["explained_pct"] == 100.0


def test_text_and_html_show_a_decomposition_that_adds_up(tmp_path):
    """Sample logs against the sample invoices: the HTML table's amounts (parsed from the page) add up from the
    ledger as logged to the invoice, exactly; the text report shows the same table and each cause's effect."""
    import re
    from html.parser import HTMLParser

    from auditor.reporters import renderer

    root = Path(__file__).parent.parent
    result = audit([root / "sample_logs" / "litellm_payload.jsonl"], invoices=[root / "sample_invoices"])
    page = renderer("html")(result)

    class Table(HTMLParser):
        def __init__(self):
            super().__init__()
            self.inside, self.values = False, []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "table":
                self.inside = a.get("id") == "decomposition-table"
            elif self.inside and "data-value" in a:
                self.values.append(D(a["data-value"]))

    t = Table()
    t.feed(page)
    start, *components, invoice = t.values
    dec = result.reconciliation["decomposition"]
    assert len(components) == len(dec["components"]) >= 5
    assert start + sum(components, D(0)) == invoice == result.reconciliation["summary"]["invoice_total"]
    assert re.search(r'data-component="stale_price".*?PRC003', page, re.S)
    text = renderer("text")(result)
    assert "Ledger as logged" in text and "= Invoice" in text and "Stale prices" in text
    assert "teams pay $0.192 more than the provider bills (overcharged)" in text  # o3's stale price, sign stated
