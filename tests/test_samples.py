"""The sample logs (made from the real libraries by scripts/make_samples.py) load right.

Totals, counts and per-team costs are computed here straight from the raw files with json/csv, not
through auditor, and compared with the audit's summary. A few records are checked field by field.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import auditor
from auditor.api import load_records
from auditor.cli import main
from auditor.policy import load_policy

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
Q = Decimal("0.000000000001")  # the record table keeps cost as DECIMAL(38,12)
# The seeded typo of a team; the other seeded spellings ("Support Automation", "support_automation",
# "sales_enablement", a LiteLLM team alias "data-platform" beside "Data Platform") differ by case and separators only.
TYPOS = {"supp-automation": "support-automation"}


def dec(x) -> Decimal:
    if x is None or x == "":
        return Decimal(0)
    return Decimal(repr(x) if isinstance(x, float) else str(x)).quantize(Q)


def jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (SAMPLES / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def _get(d, *path):
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def _first(*values):
    for v in values:
        if v not in (None, ""):
            return v
    return None


def _norm(s: str) -> str:
    return re.sub(r"[\s_\-./:]", "", TYPOS.get(s, s)).lower()


def resolve_teams(rows: list[tuple]) -> dict[str, str]:
    """Team value -> the team it means, from the raw rows ``(key, team, team name, cost)`` (each request once): team
    ids whose names are spellings of one name are one team, the id with the most spend (LiteLLM: a second team record);
    a value no record names that spells a team's name is that team (a name typed where the id goes); other values
    that are spellings of one another are the spelling with the most spend."""
    spend: dict[str, Decimal] = defaultdict(Decimal)
    names: dict[str, str] = {}
    for _, team, name, cost in rows:
        if team:
            spend[team] += cost
            if name:
                names.setdefault(team, name)
    by_norm: dict[str, list[str]] = defaultdict(list)
    for team, name in names.items():
        by_norm[_norm(name)].append(team)
    home = {n: max(ids, key=lambda t: (spend[t], t)) for n, ids in by_norm.items()}
    out = {team: home[_norm(name)] for team, name in names.items()}
    unnamed: dict[str, list[str]] = defaultdict(list)
    for team in spend:
        if team not in names:
            unnamed[_norm(team)].append(team)
    for n, values in unnamed.items():
        target = home.get(n) or max(values, key=lambda t: (spend[t], t))
        out.update({v: target for v in values})
    return out


# ---- independent readings of each raw file: [(request key, team or None, team name or None, cost)] per LLM record

def raw_litellm() -> list[tuple[str, str | None, str | None, Decimal]]:
    out = []
    for r in jsonl("litellm_payload.jsonl"):
        md = r["metadata"]
        team = _first(md.get("user_api_key_team_id"), _get(md, "spend_logs_metadata", "team_id"),
                      _get(md, "requester_metadata", "team_id"))
        out.append((r["id"], team, md.get("user_api_key_team_alias"), dec(r["response_cost"])))
    return out


def _spend_md(row: dict) -> dict:
    return row["metadata"] if isinstance(row["metadata"], dict) else json.loads(row["metadata"] or "{}")


def _spend_team(row: dict) -> str | None:
    md = _spend_md(row)
    return _first(row.get("team_id"), md.get("user_api_key_team_id"), _get(md, "spend_logs_metadata", "team_id"))


def raw_spendlogs_json() -> list[tuple]:
    return [(r["request_id"], _spend_team(r), _spend_md(r).get("user_api_key_team_alias"), dec(r["spend"]))
            for r in json.loads((SAMPLES / "litellm_spendlogs.json").read_text())]


def raw_spendlogs_csv() -> list[tuple]:
    with open(SAMPLES / "litellm_spendlogs.csv", newline="", encoding="utf-8") as fh:
        return [(r["request_id"], _spend_team(r), _spend_md(r).get("user_api_key_team_alias"), dec(r["spend"]))
                for r in csv.DictReader(fh)]


def _otlp_spans() -> list[tuple[dict, dict]]:
    """(resource attributes, span) for every span, attributes as plain values."""
    out = []
    for req in jsonl("openlit_otlp.jsonl"):
        for rs in req["resourceSpans"]:
            res = {a["key"]: next(iter(a["value"].values())) for a in rs["resource"].get("attributes", [])}
            for ss in rs["scopeSpans"]:
                for sp in ss["spans"]:
                    out.append((res, sp))
    return out


def _attrs(sp: dict) -> dict:
    return {a["key"]: next(iter(a["value"].values())) for a in sp.get("attributes", [])}


def _is_llm_span(sp: dict) -> bool:
    return _attrs(sp).get("gen_ai.operation.name") == "chat"


def raw_otlp() -> list[tuple[str | None, Decimal]]:
    out = []
    for res, sp in _otlp_spans():
        if _is_llm_span(sp):
            a = {**res, **_attrs(sp)}
            out.append((sp["traceId"] + "/" + sp["spanId"], a.get("team.id"), None, dec(a.get("gen_ai.usage.cost"))))
    return out


def raw_langfuse() -> list[tuple[str | None, Decimal]]:
    return [(o["id"], _first(o["metadata"].get("team_id"), o["metadata"].get("team")), None, dec(o["total_cost"]))
            for o in jsonl("langfuse_observations.jsonl") if o["type"] == "GENERATION"]


def raw_helicone() -> list[tuple[str | None, Decimal]]:
    with open(SAMPLES / "helicone_requests.csv", newline="", encoding="utf-8") as fh:
        return [(r["request_id"], json.loads(r["request_properties"]).get("Team"), None, dec(r["costUSD"]))
                for r in csv.DictReader(fh)]


def raw_portkey() -> list[tuple[str | None, Decimal]]:
    return [(r["id"], r["metadata"].get("team"), None, (dec(r["cost"]) / 100).quantize(Q))
            for r in json.loads((SAMPLES / "portkey_logs.json").read_text())]


CASES = {
    "litellm_payload.jsonl": ("litellm", raw_litellm),
    "litellm_spendlogs.json": ("litellm-spendlogs", raw_spendlogs_json),
    "litellm_spendlogs.csv": ("litellm-spendlogs", raw_spendlogs_csv),
    "openlit_otlp.jsonl": ("otlp", raw_otlp),
    "langfuse_observations.jsonl": ("langfuse", raw_langfuse),
    "helicone_requests.csv": ("helicone", raw_helicone),
    "portkey_logs.json": ("portkey", raw_portkey),
}


def raw_count(name: str) -> int:
    """Documents in the raw file: lines, array elements, CSV rows, or OTLP spans."""
    path = SAMPLES / name
    if name == "openlit_otlp.jsonl":
        return len(_otlp_spans())
    if name.endswith(".jsonl"):
        return len(jsonl(name))
    if name.endswith(".csv"):
        with open(path, newline="", encoding="utf-8") as fh:
            return sum(1 for _ in csv.DictReader(fh))
    return len(json.loads(path.read_text()))


@pytest.fixture(scope="module")
def reports() -> dict[str, dict]:
    return {name: auditor.audit([SAMPLES / name]).to_dict() for name in CASES}


@pytest.mark.parametrize("name", sorted(CASES))
def test_detected_format_and_counts(reports, name):
    fmt, raw = CASES[name]
    rep = reports[name]
    (inp,) = rep["inputs"]
    assert inp["format"] == fmt
    s = rep["summary"]
    assert s["rejected"] == 0
    assert s["read"] == s["records"] + s["context_spans"] + s["rejected"] == raw_count(name)
    assert s["records"] == len(raw())


@pytest.mark.parametrize("name", sorted(CASES))
def test_total_and_per_team_cost_match_raw_sums(reports, name):
    _, raw = CASES[name]
    rows = raw()
    rep = reports[name]
    s = rep["summary"]
    # As logged, every copy included; then each request once: the first record of each request key.
    assert Decimal(s["logged_cost"]) == sum((c for *_, c in rows), Decimal(0))
    first: dict[str, tuple] = {}
    for row in rows:
        first.setdefault(row[0], row)
    once = list(first.values())
    assert Decimal(s["total_cost"]) == sum((c for *_, c in once), Decimal(0))
    assert s["copies"] == len(rows) - len(once) and s["requests"] == len(once)
    means = resolve_teams(once)
    per_team: dict[str, Decimal] = defaultdict(Decimal)
    records: dict[str, int] = defaultdict(int)
    for _, team, _, cost in once:
        if team:
            per_team[means[team]] += cost
            records[means[team]] += 1
    got = {t["team_id"]: t for t in rep["teams"] if t["team_id"] in per_team}
    assert set(got) == set(per_team)
    for team, cost in per_team.items():
        assert Decimal(got[team]["cost"]) == cost, team
        assert got[team]["records"] == records[team], team


def test_cli_summary_on_a_sample():
    res = CliRunner().invoke(main, [str(SAMPLES / "litellm_payload.jsonl"), "--format", "json", "-q"])
    assert res.exit_code in (0, 1), res.output
    doc = json.loads(res.output)
    assert doc["summary"]["records"] == len(jsonl("litellm_payload.jsonl"))


# ---- field-by-field spot checks -----------------------------------------------------------------

def table(name: str) -> list[dict]:
    loaded = load_records([SAMPLES / name], load_policy(None))
    cur = loaded.con.execute("SELECT * FROM records ORDER BY _row")
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def _iso(epoch: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def test_litellm_payload_fields():
    raw = jsonl("litellm_payload.jsonl")
    recs = table("litellm_payload.jsonl")
    assert len(recs) == len(raw)
    checked = 0
    for r, rec in zip(raw, recs):
        md = r["metadata"]
        slm = md["spend_logs_metadata"] or {}
        assert rec["request_id"] == r["id"]
        assert rec["provider"] == r["custom_llm_provider"]
        assert rec["model"] == r["model"]
        assert rec["input_tokens"] == r["prompt_tokens"] and rec["output_tokens"] == r["completion_tokens"]
        assert rec["status"] == r["status"]
        assert rec["trace_id"] == r["trace_id"]
        assert str(rec["timestamp"]).replace(" ", "T").startswith(_iso(r["startTime"])) or _iso(r["startTime"]) in str(rec["timestamp"])
        assert rec["pricing_source"] == f"litellm/model_map:{r['model_map_information']['model_map_key']}"
        assert rec["team_id"] == _first(md["user_api_key_team_id"], slm.get("team_id"))
        assert rec["service_id"] == slm.get("service")
        assert rec["environment"] == slm.get("environment")
        assert rec["api_key_id"] == md["user_api_key_hash"] or (md["user_api_key_hash"] is None and rec["api_key_id"] is None)
        assert rec["api_key_alias"] == md["user_api_key_alias"]
        assert rec["workflow_id"] == slm.get("workflow")
        assert rec["cache_hit"] == (r["cache_hit"] if r["cache_hit"] is not None else None)
        assert rec["tags"] == (r["request_tags"] or None) or rec["tags"] == r["request_tags"]
        cached = _get(md, "usage_object", "prompt_tokens_details", "cached_tokens")
        assert rec["cached_input_tokens"] == (cached if cached is not None else None) or cached == 0
        retries = (r["hidden_params"].get("additional_headers") or {}).get("x-litellm-attempted-retries")
        assert rec["retry_count"] == (retries or 0)
        if cached:
            checked += 1
    assert checked > 10  # cached tokens really are in the samples
    assert any(r["retry_count"] > 0 for r in recs)
    assert any(r["cache_hit"] for r in recs)


def test_spendlogs_json_and_csv_agree_with_payload():
    payload = {r["request_id"]: r for r in table("litellm_payload.jsonl")}
    for name in ("litellm_spendlogs.json", "litellm_spendlogs.csv"):
        recs = table(name)
        assert {r["request_id"] for r in recs} == set(payload)
        for rec in recs:
            p = payload[rec["request_id"]]
            # an unpriced model: response_cost 0 in the payload, spend null in SpendLogs
            assert (rec["cost"] or 0) == (p["cost"] or 0)
            for f in ("model", "provider", "input_tokens", "output_tokens", "team_id", "service_id", "cost_center",
                      "environment", "api_key_id", "cached_input_tokens", "retry_count", "pricing_source", "workflow_id"):
                # "" and null are both "absent" (missing-owner either way): a one-path field keeps them apart
                assert (rec[f] if rec[f] != "" else None) == (p[f] if p[f] != "" else None), (name, rec["request_id"], f, rec[f], p[f])


def test_otlp_ids_kinds_and_attribute_generations():
    spans = _otlp_spans()
    recs = table("openlit_otlp.jsonl")
    assert len(recs) == len(spans)
    by_span = {r["span_id"]: r for r in recs}
    old_names = new_names = numbers = 0
    for res, sp in spans:
        rec = by_span[sp["spanId"]]
        a = {**res, **_attrs(sp)}
        assert rec["trace_id"] == sp["traceId"]
        assert rec["parent_span_id"] == (sp.get("parentSpanId") or None)
        op = a.get("gen_ai.operation.name")
        assert rec["record_kind"] == {"chat": "llm", "invoke_agent": "agent", "execute_tool": "tool"}.get(op, "other")
        if op != "chat":
            continue
        assert rec["request_id"] == sp["spanId"]
        assert rec["team_id"] == a.get("team.id")
        assert rec["cached_input_tokens"] == int(a.get("gen_ai.usage.cache_read.input_tokens", 0))
        assert rec["provider_response_id"] == a.get("gen_ai.response.id")
        assert rec["cost"] == dec(a["gen_ai.usage.cost"])
        assert rec["input_tokens"] == int(_first(a.get("gen_ai.usage.input_tokens"), a.get("gen_ai.usage.prompt_tokens")))
        assert rec["output_tokens"] == int(_first(a.get("gen_ai.usage.output_tokens"), a.get("gen_ai.usage.completion_tokens")))
        assert rec["provider"] == _first(a.get("gen_ai.provider.name"), a.get("gen_ai.system"))
        assert rec["environment"] == _first(a.get("deployment.environment.name"), a.get("deployment.environment"), a.get("gen_ai.environment"))
        assert rec["service_id"] == _first(a.get("service.name"), a.get("gen_ai.application_name"))
        assert rec["cost_center"] == a.get("cost_center")
        assert rec["model"] == a.get("gen_ai.request.model")
        assert rec["pricing_source"] == "openlit/pricing.json"
        old_names += "gen_ai.system" in a and "gen_ai.usage.prompt_tokens" in a
        new_names += "gen_ai.provider.name" in a and "gen_ai.usage.input_tokens" in a
        numbers += isinstance(sp["startTimeUnixNano"], int)
    assert old_names and new_names and numbers
    assert sum(r["record_kind"] == "llm" for r in recs) == len(raw_otlp())
    assert {r["record_kind"] for r in recs} == {"llm", "agent", "tool", "other"}  # other: OpenLIT's httpx spans


def test_otlp_int64_as_strings_and_numbers(tmp_path):
    """The same request with 64-bit ints as decimal strings and as JSON numbers gives the same records."""
    line = (SAMPLES / "openlit_otlp.jsonl").read_text().splitlines()[0]
    req = json.loads(line)
    as_num = json.loads(line)
    for rs in as_num["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for sp in ss["spans"]:
                sp["startTimeUnixNano"] = int(sp["startTimeUnixNano"])
                sp["endTimeUnixNano"] = int(sp["endTimeUnixNano"])
                for a in sp["attributes"]:
                    if "intValue" in a["value"]:
                        a["value"]["intValue"] = int(a["value"]["intValue"])
    (tmp_path / "s.jsonl").write_text(json.dumps(req) + "\n")
    (tmp_path / "n.jsonl").write_text(json.dumps(as_num) + "\n")
    a = auditor.audit([tmp_path / "s.jsonl"]).to_dict()
    b = auditor.audit([tmp_path / "n.jsonl"]).to_dict()
    assert a["summary"]["records"] == b["summary"]["records"] > 0
    assert a["summary"]["total_cost"] == b["summary"]["total_cost"]
    assert a["teams"] == b["teams"]


def test_vendor_spot_checks():
    lf = [o for o in jsonl("langfuse_observations.jsonl")]
    recs = {r["request_id"]: r for r in table("langfuse_observations.jsonl")}
    g = next(o for o in lf if o["type"] == "GENERATION")
    rec = recs[g["id"]]
    assert (rec["model"], rec["input_tokens"], rec["output_tokens"]) == (g["provided_model_name"], g["usage_details"]["input"], g["usage_details"]["output"])
    assert rec["parent_span_id"] == g["parent_observation_id"] and rec["trace_id"] == g["trace_id"]
    assert rec["team_id"] == g["metadata"]["team_id"] and rec["principal"] == g["user_id"]
    assert rec["environment"] == g["environment"] and rec["record_kind"] == "llm"
    agent = next(o for o in lf if o["type"] == "AGENT")
    assert recs[agent["id"]]["record_kind"] == "agent"

    with open(SAMPLES / "helicone_requests.csv", newline="") as fh:
        h = next(csv.DictReader(fh))
    rec = {r["request_id"]: r for r in table("helicone_requests.csv")}[h["request_id"]]
    props = json.loads(h["request_properties"])
    assert rec["team_id"] == props["Team"] and rec["cost_center"] == props["Cost-Center"]
    assert rec["input_tokens"] == int(h["prompt_tokens"]) and rec["cached_input_tokens"] == int(h["prompt_cache_read_tokens"])
    assert rec["cost"] == dec(h["costUSD"]) and rec["status"] == "success" and rec["provider"] == "openai"

    p = json.loads((SAMPLES / "portkey_logs.json").read_text())[0]
    rec = {r["request_id"]: r for r in table("portkey_logs.json")}[p["id"]]
    assert rec["cost"] == (dec(p["cost"]) / 100).quantize(Q)  # cents -> USD
    assert rec["model"] == p["ai_model"] and rec["provider"] == p["ai_org"] and rec["principal"] == p["metadata"]["_user"]
    assert rec["cache_hit"] is False and rec["status"] == "success"


def test_expected_defects_are_found():
    """Every seeded defect id is flagged by its rule (when that rule exists)."""
    exp = json.loads((SAMPLES.parent / "tests" / "data" / "sample_expected_defects.json").read_text())
    policy = SAMPLES / "policy.toml"
    for name, rules in exp.items():
        if name.startswith("_"):
            continue
        rep = auditor.audit([SAMPLES / name], policy)
        flagged: dict[str, set] = defaultdict(set)
        rows = rep.con.execute(
            "SELECT f.code, r.request_id FROM finding_rows f JOIN records r USING (_row)").fetchall()
        names = {f.code: f.name for f in rep.findings}
        for code, rid in rows:
            flagged[names.get(code, code)].add(rid)
        for rule, ids in rules.items():
            if rule not in {r.name for r in __import__("auditor.rules", fromlist=["REGISTRY"]).REGISTRY.values()}:
                continue
            missing = set(ids) - flagged[rule]
            assert not missing, (name, rule, sorted(missing)[:5])


# ---- issue 15, "Done means": the samples carry the real LiteLLM proxy metadata ---------------------------------
# Every expected value below is read from the raw files (json/csv), not from auditor.

def _litellm_requests() -> list[dict]:
    """Per LiteLLM request (first copy): its id, team record (id, alias), key alias, service, cost center, cost."""
    seen, out = set(), []
    for r in jsonl("litellm_payload.jsonl"):
        if r["id"] in seen:
            continue
        seen.add(r["id"])
        md = r["metadata"]
        slm = md.get("spend_logs_metadata") or {}
        out.append({"id": r["id"], "team_id": md.get("user_api_key_team_id"), "alias": md.get("user_api_key_team_alias"),
                    "key": md.get("user_api_key_alias"), "service": slm.get("service"), "cost_center": slm.get("cost_center"),
                    "cost": dec(r["response_cost"])})
    return out


def _flagged_rows(result, code: str) -> dict[str, str]:
    """request_id -> detail of the records ``code`` flagged."""
    return dict(result.con.execute("SELECT r.request_id, f.detail FROM finding_rows f JOIN records r USING (_row)"
                                   " WHERE f.code = ?", [code]).fetchall())


@pytest.fixture(scope="module")
def litellm_audit():
    return auditor.audit([SAMPLES / "litellm_payload.jsonl"])


def test_done_means_teams_are_shown_by_name(litellm_audit):
    from auditor.reporters import renderer

    names = {r["team_id"]: r["alias"] for r in _litellm_requests() if r["team_id"] and r["alias"]}
    assert len(set(names.values())) >= 5 and all(re.fullmatch(r"[0-9a-f-]{36}", t) for t in names)  # UUIDs with aliases
    teams = {t["team_id"]: t for t in litellm_audit.to_dict()["teams"]}
    text = renderer("text")(litellm_audit)
    table = text[text.index("\nTeams\n"):]
    for tid, team in teams.items():
        assert team["name"] == names[tid] and team["label"] == f"{names[tid]} ({tid})"
        assert f"  {names[tid]} ({tid})  " in table
    # every team row of the text report is a named team; the typed names and the second record are not rows of their own
    assert set(teams) <= set(names) and len(teams) == len({_norm(n) for n in names.values()})


def test_done_means_a_team_key_shared_by_the_teams_services_is_not_a_copied_key(litellm_audit):
    reqs = _litellm_requests()
    services: dict[str, set] = defaultdict(set)
    teams_on_key: dict[str, set] = defaultdict(set)
    for r in reqs:
        if r["key"]:
            services[r["key"]].add(r["service"])
            teams_on_key[r["key"]].add(r["team_id"])
    shared = {k for k in services if len(services[k]) > 1 and len(teams_on_key[k]) == 1 and None not in teams_on_key[k]}
    assert len(shared) >= 5  # every team's production key carries both of its services
    copied = _flagged_rows(litellm_audit, "KEY001")
    assert copied and not {r["id"] for r in reqs if r["key"] in shared} & set(copied)
    # the real one: a key without a team record whose requests tag two teams
    assert {r["key"] for r in reqs if r["id"] in copied} == {"sales-legacy-prod"}


def test_done_means_the_second_team_record_and_the_free_text_cost_center_are_flagged(litellm_audit):
    reqs = _litellm_requests()
    spend: dict[str, Decimal] = defaultdict(Decimal)
    alias: dict[str, str] = {}
    for r in reqs:
        if r["team_id"]:
            spend[r["team_id"]] += r["cost"]
            alias[r["team_id"]] = r["alias"]
    by_name: dict[str, list[str]] = defaultdict(list)
    for tid, a in alias.items():
        by_name[_norm(a)].append(tid)
    (records,) = [sorted(ids, key=lambda t: spend[t], reverse=True) for ids in by_name.values() if len(ids) > 1]
    team, second = records
    flagged = _flagged_rows(litellm_audit, "TAG001")
    second_ids = {r["id"] for r in reqs if r["team_id"] == second}
    assert second_ids and all(team in flagged[i] and second in flagged[i] and "second team record" in flagged[i]
                              for i in second_ids)
    assert not {r["id"] for r in reqs if r["team_id"] == team} & set(flagged)
    # cost centers: one shape on almost every request, free text on a few
    shapes = defaultdict(int)
    for r in reqs:
        if r["cost_center"]:
            shapes[re.sub(r"[0-9]+", lambda m: f"[0-9]{{{len(m.group(0))}}}", r["cost_center"])] += 1
    dominant = max(shapes, key=shapes.get)
    assert shapes[dominant] / sum(shapes.values()) > 0.9
    free_text = {r["id"] for r in reqs if r["cost_center"] and not re.fullmatch(dominant, r["cost_center"])
                 and _norm(r["cost_center"]) not in {_norm(x["cost_center"]) for x in reqs
                                                     if x["cost_center"] and re.fullmatch(dominant, x["cost_center"])}}
    assert free_text and all("does not follow the shape" in flagged[i] and dominant in flagged[i] for i in free_text)


def test_done_means_pricing_source_is_never_missing(litellm_audit):
    assert not [d for d in _flagged_rows(litellm_audit, "CON001").values() if "pricing_source" in d]
    missing = litellm_audit.con.execute("SELECT count(*) FROM records WHERE pricing_source IS NULL").fetchone()[0]
    assert missing == 0


def test_done_means_money_counts_each_request_once():
    """The whole directory: the same LiteLLM traffic from three sinks; every money figure counts a request once."""
    rows = [row for _, read in CASES.values() for row in read()]
    first: dict[str, tuple] = {}
    for row in rows:
        first.setdefault(row[0], row)
    once = list(first.values())
    rep = auditor.audit([SAMPLES]).to_dict()
    s = rep["summary"]
    assert Decimal(s["total_cost"]) == sum((c for *_, c in once), Decimal(0))
    assert Decimal(s["logged_cost"]) == sum((c for *_, c in rows), Decimal(0)) > Decimal(s["total_cost"])
    assert Decimal(s["attributable_cost"]) + Decimal(s["unattributed_cost"]) == Decimal(s["total_cost"])
    means = resolve_teams(once)
    per_team: dict[str, Decimal] = defaultdict(Decimal)
    for _, team, _, cost in once:
        if team:
            per_team[means[team]] += cost
    assert {t["team_id"]: Decimal(t["cost"]) for t in rep["teams"]} == per_team


def test_done_means_init_round_trips_on_the_samples(tmp_path):
    """`audit-logs init sample_logs/` drafts a registry with the teams by id and name; the audit with the draft as
    written flags the same copied keys and spellings (and each team's second record) as the audit without it."""
    import tomllib

    from auditor.policy import from_dict

    draft = tmp_path / "audit-logs.toml"
    res = CliRunner().invoke(main, ["init", str(SAMPLES), "-o", str(draft)])
    assert res.exit_code == 0, res.output
    doc = tomllib.loads(draft.read_text())
    names = {r["team_id"]: r["alias"] for r in _litellm_requests() if r["team_id"] and r["alias"]}
    for tid, team in doc["teams"].items():
        assert team["name"] == names[tid]
    bare = auditor.audit([SAMPLES], from_dict({}))
    drafted = auditor.audit([SAMPLES], load_policy(draft))
    for code in ("KEY001", "ENV001", "OWN001", "INT001"):
        assert _flagged_rows(drafted, code) == _flagged_rows(bare, code), code
    before, after = _flagged_rows(bare, "TAG001"), _flagged_rows(drafted, "TAG001")
    assert {i: after.get(i) for i in before} == before  # same records, same reasons
