"""On behalf of (issue 15 item 7): a request one team's tool made for another team's agent, charged to the
serving team (owner view, the default) or to the calling team (``[attribution] on_behalf_of = "caller"``),
with both views in every team table and the same total in both.

The inputs are the shapes the loaders read: OTLP traces (agent, tool and LLM spans linked by parent span id)
and a LiteLLM standard logging payload whose ``spend_logs_metadata.on_behalf_of`` names the caller.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from auditor import audit
from auditor.cli import main
from auditor.reporters import renderer
from test_html_report import BROKEN_JS, CLIPPED_JS, _layout, browser, needs_chromium  # noqa: F401 - browser: a fixture
from test_rules_traces import llm, owner, span, write_otlp

REPO = Path(__file__).parent.parent
REPORT_SCHEMA = json.loads((REPO / "schemas" / "audit-report.schema.json").read_text(encoding="utf-8"))
T1, T2, T3, T4 = ("1" * 32, "2" * 32, "3" * 32, "4" * 32)
SUPPORT = owner("support-automation", "support-agent", "cc-1000", **{"enduser.id": "u-17"})
RESEARCH = owner("research-tools", "web-search", "cc-2000")
SALES = owner("sales-enablement", "lead-agent", "cc-3000")
DATA = owner("data-platform", "etl", "cc-4000")


def _spans() -> list[dict]:
    return [
        # T1: support's agent -> a tool span with no team -> research's LLM call, on_behalf_of empty: the caller's
        # team is only on an ancestor two levels up
        span("a000000000000001", None, "invoke_agent", {**SUPPORT, "gen_ai.agent.name": "triage-agent"}, trace=T1),
        llm("l000000000000001", "a000000000000001", 0.125, **SUPPORT) | {"traceId": T1},  # the agent's own call
        span("t000000000000001", "a000000000000001", "execute_tool", {"gen_ai.tool.name": "search"}, trace=T1),
        llm("l000000000000002", "t000000000000001", 0.5, **RESEARCH) | {"traceId": T1},
        # T2: research's call that says on whose behalf it was made; delivered twice (a copy: counted once)
        span("a000000000000002", None, "invoke_agent", SUPPORT, trace=T2),
        llm("l000000000000003", "a000000000000002", 0.25, **RESEARCH, on_behalf_of="support-automation") | {"traceId": T2},
        llm("l000000000000003", "a000000000000002", 0.25, **RESEARCH, on_behalf_of="support-automation") | {"traceId": T2},
        # T3: an agent team with no LLM record of its own calls research's tool
        span("a000000000000003", None, "invoke_agent", SALES, trace=T3),
        llm("l000000000000004", "a000000000000003", 0.03125, **RESEARCH) | {"traceId": T3},
        # T4: a team that only spends on its own behalf
        span("a000000000000004", None, "invoke_agent", DATA, trace=T4),
        llm("l000000000000005", "a000000000000004", 0.0625, **DATA) | {"traceId": T4},
    ]


def _litellm_for_support() -> dict:
    """research-tools' LiteLLM call whose spend_logs_metadata says it was made for support-automation."""
    return {
        "id": "chatcmpl-obo-1", "trace_id": "litellm-trace-1", "call_type": "acompletion", "stream": False,
        "response_cost": 0.015625, "custom_llm_provider": "openai", "model": "gpt-4o-mini",
        "prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200, "status": "success",
        "startTime": 1777888000.0, "endTime": 1777888001.0, "cache_hit": False,
        "metadata": {"user_api_key_hash": "9f86d081884c7d659a2feaa0c55ad015", "user_api_key_alias": "research-prod",
                     "user_api_key_team_id": "research-tools",
                     "spend_logs_metadata": {"service": "web-search", "cost_center": "cc-2000", "environment": "production",
                                             "on_behalf_of": "support-automation"}},
    }


def _inputs(tmp_path: Path) -> list[Path]:
    otlp = write_otlp(tmp_path / "traces.jsonl", _spans())
    lite = tmp_path / "litellm.jsonl"
    lite.write_text(json.dumps(_litellm_for_support()) + "\n", encoding="utf-8")
    return [otlp, lite]


def _independent_total() -> Decimal:
    """The input's LLM cost summed here, each request once: OTLP spans by (trace, span id), plus the LiteLLM call."""
    seen = {}
    for s in _spans():
        attrs = {a["key"]: a["value"] for a in s["attributes"]}
        if "gen_ai.usage.cost" in attrs:
            seen.setdefault((s["traceId"], s["spanId"]), Decimal(str(attrs["gen_ai.usage.cost"]["doubleValue"])))
    return sum(seen.values(), Decimal(0)) + Decimal(str(_litellm_for_support()["response_cost"]))


def _policy(tmp_path: Path, view: str | None, extra: str = "") -> Path:
    path = tmp_path / f"policy-{view}.toml"
    path.write_text((f'[attribution]\non_behalf_of = "{view}"\n' if view else "") + extra, encoding="utf-8")
    return path


def _run(tmp_path: Path, view: str | None):
    tmp_path.mkdir(parents=True, exist_ok=True)
    result = audit(_inputs(tmp_path), _policy(tmp_path, view))
    doc = result.to_dict()
    jsonschema.validate(doc, REPORT_SCHEMA)
    return result, doc


def _charged(doc) -> dict[str, Decimal]:
    return {t["team_id"]: Decimal(t["cost"]) for t in doc["teams"]}


def _views(doc) -> dict[str, tuple[Decimal, Decimal]]:
    rows = doc["teams"] + doc["sections"]["on_behalf_of"]["other_view_teams"]
    return {t["team_id"]: (Decimal(t["owner_view_cost"]), Decimal(t["caller_view_cost"])) for t in rows}


D = Decimal
# Per team: (owner view, caller view). research-tools served support twice (0.5 implied by the trace, 0.25 and
# 0.015625 logged) and sales once (0.03125, implied); the copy of l000000000000003 is in neither view.
EXPECTED = {
    "support-automation": (D("0.125"), D("0.125") + D("0.5") + D("0.25") + D("0.015625")),
    "research-tools": (D("0.5") + D("0.25") + D("0.03125") + D("0.015625"), D(0)),
    "sales-enablement": (D(0), D("0.03125")),
    "data-platform": (D("0.0625"), D("0.0625")),
}


def test_the_owner_view_is_the_default_and_charges_the_serving_team(tmp_path):
    result, doc = _run(tmp_path, None)
    assert result.policy.on_behalf_of == "owner"
    assert _charged(doc) == {t: v[0] for t, v in EXPECTED.items() if v[0]}
    assert _views(doc) == EXPECTED
    ob = doc["sections"]["on_behalf_of"]
    assert ob["view"] == "owner"
    assert (ob["records"], ob["logged_records"]) == (4, 2)  # the copy is not a request of its own
    assert Decimal(ob["cost"]) == D("0.5") + D("0.25") + D("0.015625") + D("0.03125")
    # a team with no LLM record of its own is charged only in the caller view: listed apart, not scored
    assert [t["team_id"] for t in ob["other_view_teams"]] == ["sales-enablement"]
    assert {(p["caller"], p["team"]): (p["records"], Decimal(p["cost"])) for p in ob["pairs"]} == {
        ("support-automation", "research-tools"): (3, D("0.765625")), ("sales-enablement", "research-tools"): (1, D("0.03125"))}


def test_the_caller_view_charges_the_calling_team_in_spend_tiers_and_verdict(tmp_path):
    _, owner_doc = _run(tmp_path / "o", None)
    result, doc = _run(tmp_path / "c", "caller")
    assert _charged(doc) == {t: v[1] for t, v in EXPECTED.items() if v[1]}
    assert _views(doc) == _views(owner_doc) == EXPECTED  # the views are facts of the data, whichever is charged
    assert doc["sections"]["on_behalf_of"]["view"] == "caller"
    assert [t["team_id"] for t in doc["sections"]["on_behalf_of"]["other_view_teams"]] == ["research-tools"]
    teams = {t["team_id"]: t for t in doc["teams"]}
    # scored as the charged team: sales-enablement has a tier although it logs no LLM record of its own
    assert teams["sales-enablement"]["records"] == 1 and "tier" in teams["sales-enablement"]
    # its key evidence is the serving team's: key-prod, used by research-tools for it, has no single owner
    assert [(k["key"], k.get("used_by"), k["named"]) for k in teams["sales-enablement"]["production_keys"]] == [
        ("key-prod", "research-tools", False)]
    assert "used by research-tools on this team's behalf" in teams["sales-enablement"]["tier_reasons"][0]
    assert teams["support-automation"]["records"] == 4  # its own call and the three research made for it
    v = doc["verdict"]
    named = set(v["chargeback_teams"] + v["showback_teams"] + v["not_ready_teams"])
    assert named == set(teams) and "research-tools" not in named


def test_totals_are_equal_across_views_and_equal_the_input(tmp_path):
    total = _independent_total()
    for view in (None, "caller"):
        result, doc = _run(tmp_path / str(view), view)
        views = _views(doc)
        assert sum((o for o, _ in views.values()), D(0)) == sum((c for _, c in views.values()), D(0)) == total
        assert sum(_charged(doc).values(), D(0)) == total == Decimal(doc["summary"]["total_cost"])
        assert Decimal(doc["sections"]["on_behalf_of"]["teams_total"]) == total
        assert result.attribution.copies == 1  # the re-delivered span is left out of every figure


def test_obo001_reports_spend_per_pair_when_the_caller_is_only_on_ancestors(tmp_path):
    result, _ = _run(tmp_path, None)
    f = next(f for f in result.findings if f.name == "missing-on-behalf-of")
    # l000000000000002's parent (the tool span) has no team: the caller is the agent two levels up
    assert f.extra["chains"] == [
        {"caller": "support-automation", "team": "research-tools", "records": 1, "cost": D("0.5")},
        {"caller": "sales-enablement", "team": "research-tools", "records": 1, "cost": D("0.03125")},
    ]
    assert "support-automation -> research-tools (1 request, $0.50)" in f.message


def test_text_markdown_and_html_show_both_views(tmp_path):
    result, doc = _run(tmp_path, "caller")
    text = renderer("text")(result)
    assert "owner view  caller view" in text
    assert 'Team spend is the caller view ([attribution] on_behalf_of = "caller")' in text
    assert "Both views total $0.984." in text and "Charged only in the other view: research-tools." in text
    row = next(line for line in text.splitlines() if line.strip().startswith("research-tools"))
    assert row.split()[-2:] == ["$0.797", "$0.00"]  # listed with both views though charged nothing here
    md = renderer("markdown")(result)
    assert "| owner view | caller view |" in md and "Team spend is the caller view" in md
    html = renderer("html")(result)
    assert 'id="on-behalf-view" data-view="caller"' in html
    assert ">Owner view</th>" in html and ">Caller view</th>" in html
    assert '<tr data-team="research-tools" class="other-view">' in html


def test_without_cross_team_spend_the_tables_are_unchanged(tmp_path):
    spans = [span("a000000000000009", None, "invoke_agent", DATA, trace=T4),
             llm("l000000000000009", "a000000000000009", 0.0625, **DATA) | {"traceId": T4}]
    result = audit([write_otlp(tmp_path / "t.jsonl", spans)])
    assert "owner view" not in renderer("text")(result) and "Owner view" not in renderer("html")(result)
    t = result.to_dict()["teams"][0]
    assert t["owner_view_cost"] == t["caller_view_cost"] == t["cost"] == "0.0625"


def test_a_caller_that_names_no_registry_team_is_not_charged(tmp_path):
    registry = ('[teams.support-automation]\nname = "Support"\ncost_center = "cc-1000"\naliases = ["Support Automation"]\n'
                '[teams.research-tools]\ncost_center = "cc-2000"\nkeys = ["key-prod"]\n')
    spans = [
        span("a000000000000001", None, "invoke_agent", SALES, trace=T3),  # sales-enablement: not in the registry
        llm("l000000000000001", "a000000000000001", 0.5, **RESEARCH) | {"traceId": T3},
        span("a000000000000002", None, "invoke_agent", SUPPORT, trace=T1),
        llm("l000000000000002", "a000000000000002", 0.25, **RESEARCH, on_behalf_of="Support Automation") | {"traceId": T1},
    ]
    result = audit([write_otlp(tmp_path / "t.jsonl", spans)], _policy(tmp_path, "caller", registry))
    doc = result.to_dict()
    # the alias names support-automation; sales-enablement is no registry team, so research keeps that call
    assert _charged(doc) == {"research-tools": D("0.5"), "support-automation": D("0.25")}
    pair = doc["sections"]["on_behalf_of"]["pairs"][0]
    assert (pair["caller"], pair["caller_label"]) == ("support-automation", "Support (support-automation)")
    # charged for a call research made on research's own key: the key is proven, by its user's ownership
    support = next(t for t in doc["teams"] if t["team_id"] == "support-automation")
    assert support["production_keys"] == [{"key": "key-prod", "records": 1, "cost": "0.25", "owner": "research-tools",
                                           "named": True, "used_by": "research-tools"}]
    assert not any("production key" in r for r in support["tier_reasons"])


@pytest.mark.parametrize("value", ['"agent"', "1"])
def test_an_invalid_setting_is_a_policy_error_naming_file_key_and_values(tmp_path, value):
    bad = tmp_path / "audit-logs.toml"
    bad.write_text(f"[attribution]\non_behalf_of = {value}\n", encoding="utf-8")
    res = CliRunner().invoke(main, [str(_inputs(tmp_path)[0]), "--policy", str(bad)])
    assert res.exit_code == 2
    assert str(bad) in res.output and "attribution.on_behalf_of" in res.output
    assert "'owner'" in res.output and "'caller'" in res.output



@needs_chromium
@pytest.mark.parametrize("width, media", [(1400, "screen"), (794, "print")])
def test_the_two_view_columns_fit_the_page(tmp_path, browser, width, media):
    """The readiness table's two extra columns clip no table and break no figure, on screen and on A4."""
    result, _ = _run(tmp_path, "caller")
    page = tmp_path / "report.html"
    page.write_text(renderer("html")(result), encoding="utf-8")
    _layout(browser, page, width, media)
    assert browser.execute_script(CLIPPED_JS) == []
    assert browser.execute_script(BROKEN_JS) == []
