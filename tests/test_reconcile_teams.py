"""What each reconciliation cause does to a team's bill (issue 16, "direction and sign stated plainly").

The logs spell one registry team by its alias ("Support Automation" for support-automation): the cause's
team effects and the credit's shares must name the team chargeback charges (the report's team table), not
the raw spelling, and the text and HTML reports must say which team a cause over- or undercharges by how much.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path

import pytest

from auditor.api import audit
from auditor.fmt import usd
from auditor.policy import from_dict
from auditor.reporters import renderer
from helpers import record, write_jsonl

DAYS = [date(2026, 5, 1) + timedelta(days=i) for i in range(8)]
NEW, OLD = (D("0.20"), D("0.80")), (D("0.40"), D("1.60"))
STALE_DAY, ZERO_DAY = DAYS[3], DAYS[5]
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
TEAMS = {"support-automation": {"name": "Support Automation", "aliases": ["Support Automation"], "keys": ["key-support"],
                                "services": ["ticket-triage"], "cost_center": "cc-4210", "environments": ["production"]},
         "search": {"name": "Search", "keys": ["key-search"], "services": ["search-api"], "cost_center": "cc-3100",
                    "environments": ["production"]}}


def _cost(inp: int, out: int, p: tuple[D, D]) -> D:
    return (inp * p[0] + out * p[1]) / 1_000_000


def scenario(tmp_path: Path, unlogged: bool = False) -> tuple[list, dict]:
    """Two stale-priced requests of support-automation (logged under its alias) and one $0 request of search;
    with ``unlogged``, hours 9-11 of the last-but-one day never reach the logs and were twice as heavy as usual."""
    recs, billed, expected = [], {}, {"stale_price": D(0), "missing_cost": D(0), "unlogged_traffic": D(0)}
    for day in DAYS:
        for h in range(8, 20):
            for i in range(2):
                lost = unlogged and day == DAYS[-2] and 9 <= h < 12
                inp, out = (100_000 + 1000 * h) * (2 if lost else 1), 20_000 + 500 * i
                alias = i == 0
                cost = _cost(inp, out, NEW)
                billed[day] = billed.get(day, D(0)) + cost
                if lost:
                    expected["unlogged_traffic"] += cost
                    continue
                if day == STALE_DAY and alias and h < 10:
                    recorded = _cost(inp, out, OLD)
                    expected["stale_price"] += cost - recorded
                elif day == ZERO_DAY and not alias and h == 12:
                    recorded = D(0)
                    expected["missing_cost"] += cost
                else:
                    recorded = cost
                recs.append(record(request_id=f"r-{day}-{h}-{i}", timestamp=f"{day}T{h:02d}:{15 + 30 * i}:00Z",
                                   provider="openai", model="gpt-4o-mini", input_tokens=inp, output_tokens=out,
                                   cost=float(recorded), pricing_source="catalog",
                                   team_id="Support Automation" if alias else "search",
                                   service_id="ticket-triage" if alias else "search-api",
                                   cost_center="cc-4210" if alias else "cc-3100",
                                   api_key_id="key-support" if alias else "key-search"))
    data = []
    for day in DAYS:
        start = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())
        results = [{"object": "organization.costs.result", "amount": {"value": float(billed[day]), "currency": "usd"},
                    "line_item": "gpt-4o-mini-2024-07-18, input", "project_id": "p"}]
        if day == DAYS[-1]:
            results.append({"object": "organization.costs.result", "amount": {"value": -1.0, "currency": "usd"},
                            "line_item": "Promotional credit", "project_id": None})
        data.append({"object": "bucket", "start_time": start, "end_time": start + 86400, "results": results})
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "prices.toml").write_text(CATALOG)
    inv = tmp_path / "invoice.json"
    inv.write_text(json.dumps({"object": "page", "data": data, "has_more": False, "next_page": None}))
    logs = write_jsonl(tmp_path / "logs.jsonl", recs)
    policy = from_dict({"pricing": {"catalogs": [str(tmp_path / "prices.toml")]}, "teams": TEAMS})
    return audit([logs], policy, invoices=[inv]), expected


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return scenario(tmp_path_factory.mktemp("teams"))


def test_team_effects_name_the_resolved_team(run):
    result, expected = run
    causes = {c["code"]: c for c in result.reconciliation["causes"]}
    stale = causes["stale_price"]
    assert stale["amount"] == expected["stale_price"] < 0
    assert [(t["team_id"], t["name"], t["amount"]) for t in stale["teams"]] == \
        [("support-automation", "Support Automation", expected["stale_price"])]
    zero = causes["missing_cost"]
    assert [(t["team_id"], t["amount"]) for t in zero["teams"]] == [("search", expected["missing_cost"])]
    known = {t.team_id for t in result.attribution.teams}
    assert known == set(TEAMS)
    shares = result.reconciliation["credits"]["lines"][0]["allocation"]
    assert {a["team_id"] for a in shares} == known and sum(a["allocated"] for a in shares) == D("-1.0")


def test_text_and_html_say_which_team_a_cause_over_or_undercharges(run):
    result, expected = run
    amount = renderer("text")(result)
    stale = f"stale prices overcharge Support Automation (support-automation) by {usd(-expected['stale_price'])}"
    assert stale in amount, amount
    assert "records at $0 or unpriced undercharge Search (search) by $" in amount
    page = renderer("html")(result)
    assert stale in page
    assert "<td>Support Automation (support-automation)</td>" in page  # the credit's share, by the same label


def test_unpriced_zero_records_undercharge_their_team():
    """The sample's $0 records of a model with no known price (acme-triage-llm-v2) are estimated at the invoice's
    unit prices; that estimate is some team's undercharge, and the team effects add up to the cause exactly."""
    root = Path(__file__).parent.parent
    result = audit([root / "sample_logs" / "litellm_payload.jsonl"], root / "sample_logs" / "policy.toml",
                   invoices=[root / "sample_invoices"])
    c = next(c for c in result.reconciliation["causes"] if c["code"] == "missing_cost")
    assert "acme-triage-llm-v2" in c["models"] and c["amount"] > 0
    assert c["teams"] and sum(t["amount"] for t in c["teams"]) == c["amount"]
    assert all(t["sentence"].startswith("records at $0 or unpriced undercharge ") for t in c["teams"])


def test_a_cause_links_to_the_finding_it_rests_on(run):
    """The HTML links PRC003 in the decomposition to PRC003's own row of the findings table, and names without a
    link a rule that has no finding in this report (PRC002: every model here has a price)."""
    result, _ = run
    page = renderer("html")(result)
    assert 'id="finding-PRC003"' in page and 'href="#finding-PRC003"' in page
    assert 'id="finding-PRC002"' not in page and 'href="#finding-PRC002"' not in page
    assert 'href="#findings"><span class="code">' not in page  # no link to the top of the table instead


def test_stale_price_evidence_says_when_the_price_changed(run):
    """Issue 16's "212 requests of o3 after its price change on 2026-03-10": the catalog's price took effect on
    2026-04-01, and the evidence says so."""
    result, _ = run
    stale = next(c for c in result.reconciliation["causes"] if c["code"] == "stale_price")
    assert stale["days"] == [STALE_DAY.isoformat()]
    assert any("at the price in effect since 2026-04-01" in e for e in stale["evidence"]), stale["evidence"]


def test_a_residual_beside_estimated_unlogged_hours_says_the_estimate_may_be_its_cause(tmp_path):
    """The OpenAI Costs API gives no token counts, so unlogged hours are priced from the neighbouring days' same
    hours; when the lost traffic was heavier than usual, the row keeps a residual (never forced to zero by
    elimination) and its evidence points at the estimate rather than saying no cause is known."""
    result, expected = scenario(tmp_path / "u", unlogged=True)
    causes = {c["code"]: c for c in result.reconciliation["causes"]}
    lost = causes["unlogged_traffic"]
    assert lost["days"] == [DAYS[-2].isoformat()] and "09:00-12:00 UTC" in lost["evidence"][0]
    assert 0 < lost["amount"] < expected["unlogged_traffic"]
    left = causes["unexplained"]
    assert left["amount"] == expected["unlogged_traffic"] - lost["amount"]  # the estimate's error, exactly
    assert "estimated from the same hours of the neighbouring days" in left["evidence"][0]



def test_unlogged_hours_undercharge_the_teams_that_carry_them(tmp_path):
    """Unlogged traffic has no record of its own, so its per-team effect is a share: each team's cost in the
    same hours of the neighbouring days. Here both teams send one request in every hour, support-automation's
    with 500 fewer output tokens, so the shares follow their neighbouring-day costs in 09:00-12:00 and add up
    to the cause exactly; the report says the shares are an estimate."""
    result, _ = scenario(tmp_path / "u", unlogged=True)
    lost = next(c for c in result.reconciliation["causes"] if c["code"] == "unlogged_traffic")
    shares = {t["team_id"]: t["amount"] for t in lost["teams"]}
    assert set(shares) == {"support-automation", "search"}
    assert sum(shares.values()) == lost["amount"]
    weight = {team: sum(_cost(100_000 + 1000 * h, 20_000 + 500 * i, NEW) for h in (9, 10, 11))
              for team, i in (("support-automation", 0), ("search", 1))}
    for team, w in weight.items():  # the neighbours carry the same cost every day: the share is exact to the quantum
        assert abs(shares[team] - lost["amount"] * w / sum(weight.values())) <= D("0.000000000001")
    assert "an estimate" in (lost["team_basis"] or "")
    text = renderer("text")(result)
    assert "by team (an estimate, each by its share of the logged traffic around the gap): unlogged traffic undercharges " in text


def test_invoice_only_credit_overcharges_each_team_by_its_share(run):
    """A credit the gateway never sees leaves every team paying list price: charged back as logged, each team is
    overcharged by exactly its allocated share, and the shares add up to the credit."""
    result, _ = run
    credit = next(c for c in result.reconciliation["causes"] if c["code"] == "invoice_credits")
    shares = {a["team_id"]: a["allocated"] for a in result.reconciliation["credits"]["lines"][0]["allocation"]}
    assert {t["team_id"]: t["amount"] for t in credit["teams"]} == shares
    assert sum(shares.values()) == credit["amount"] == D("-1.0")
    assert all(t["sentence"].startswith("credits on the invoice only overcharge ") for t in credit["teams"])


def test_hour_teams_add_up_every_spelling_of_one_model():
    """One day's traffic of one team logged under two spellings of a provider and model ("openai"/"gpt-4o-mini"
    and "OpenAI"/"gpt-4o-mini-2024-07-18") is one LedgerDay: its per-hour team cost is the sum of both, as its
    hour cost is (the last spelling replaced the first before)."""
    import duckdb

    from auditor.reconcile import ledger

    con = duckdb.connect()
    con.execute("CREATE TABLE _rec_ledger (timestamp TIMESTAMP, provider VARCHAR, model VARCHAR, attributable BOOLEAN,"
                " team_id VARCHAR, cost DECIMAL(38, 12), _n INTEGER)")
    con.execute("INSERT INTO _rec_ledger VALUES ('2026-05-01 09:10', 'openai', 'gpt-4o-mini', true, 'search', 0.25, 1),"
                " ('2026-05-01 09:40', 'OpenAI', 'gpt-4o-mini-2024-07-18', true, 'search', 0.5, 1),"
                " ('2026-05-01 09:50', 'OpenAI', 'gpt-4o-mini-2024-07-18', false, 'search', 0.125, 1)")
    day = ledger.LedgerDay(day=date(2026, 5, 1), provider="openai", model_key="gpt-4o-mini")
    out = {ledger._key(date(2026, 5, 1), "openai", "gpt-4o-mini"): day}
    ledger._hours(con, out)
    assert day.hour_cost[9] == D("0.875")
    assert day.hour_teams[(9, "search")] == [D("0.75"), D("0.75")]
    assert day.hour_teams[(9, "")] == [D("0.125"), D("0.125")]
