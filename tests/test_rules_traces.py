"""Trace-aware rules on real trace shapes (OTLP agent/tool/LLM spans), and the secret-masking promise end to end.

The rule-case harness writes canonical records, which are all LLM records; agent and tool spans only
exist in trace formats, so the trace walks of missing-on-behalf-of and missing-owner's fix are tested
here on OTLP JSON (the Collector file exporter's one ExportTraceServiceRequest per line).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
from click.testing import CliRunner

from auditor import audit
from auditor.cli import main
from auditor.reporters import formats, renderer
from helpers import record, write_jsonl

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
NS = 1_777_888_000_000_000_000  # 2026-05-04


def _attr(key, value):
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def span(span_id, parent, op, attrs, trace=TRACE, offset=0):
    return {
        "traceId": trace, "spanId": span_id, "parentSpanId": parent or "", "name": op, "kind": 3,
        "startTimeUnixNano": str(NS + offset * 1_000_000), "endTimeUnixNano": str(NS + offset * 1_000_000 + 500_000_000),
        "attributes": [_attr("gen_ai.operation.name", op), *(_attr(k, v) for k, v in attrs.items())],
        "status": {"code": 1},
    }


def owner(team, service, cc="cc-4210", env="production", **more):
    return {"team.id": team, "service.name": service, "cost_center": cc, "deployment.environment.name": env, **more}


def llm(span_id, parent, cost, **attrs):
    return span(span_id, parent, "chat", {
        "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 200, "gen_ai.usage.cost": cost,
        "gen_ai.usage.cost.source": "genai-prices", "api_key.id": "key-prod", **attrs,
    })


def write_otlp(path: Path, spans: list[dict]) -> Path:
    req = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}]}]}
    path.write_text(json.dumps(req) + "\n", encoding="utf-8")
    return path


def flagged(result, code):
    return {
        rid: (detail, fix)
        for rid, detail, fix in result.con.execute(
            "SELECT r.request_id, f.detail, f.fix FROM finding_rows f JOIN records r USING (_row) WHERE f.code = ?", [code]
        ).fetchall()
    }


def finding(result, name):
    return next((f for f in result.findings if f.name == name), None)


# --- missing-on-behalf-of on agent / tool / LLM spans -------------------------------------------------

def _cross_team_trace():
    support = owner("support-automation", "support-agent", "cc-1000", **{"enduser.id": "u-17"})
    research = owner("research-tools", "web-search", "cc-2000")
    return [
        span("a000000000000001", None, "invoke_agent", {**support, "gen_ai.agent.name": "triage-agent"}),
        llm("l000000000000001", "a000000000000001", 0.125, **support),  # the agent's own call: same team
        span("t000000000000001", "a000000000000001", "execute_tool", {**research, "gen_ai.tool.name": "search"}),
        llm("l000000000000002", "t000000000000001", 0.5, **research),  # tool's call, no on_behalf_of
        llm("l000000000000003", "t000000000000001", 0.25, **research, on_behalf_of="support-automation"),
        span("t000000000000002", "t000000000000001", "execute_tool", research),
        llm("l000000000000004", "t000000000000002", 0.0625, **research),  # deeper, still team B: flagged
    ]


def test_obo_cross_team_trace_on_otlp(tmp_path):
    path = write_otlp(tmp_path / "traces.jsonl", _cross_team_trace())
    result = audit([path], select=["missing-on-behalf-of"])
    assert result.context_spans == 3
    hits = flagged(result, "OBO001")
    assert set(hits) == {"l000000000000002", "l000000000000004"}  # LLM records only, not the tool spans
    f = finding(result, "missing-on-behalf-of")
    assert f.cost == Decimal("0.5625") and f.count == 2 and f.severity == "warning"
    detail, fix = hits["l000000000000002"]
    assert fix == "on_behalf_of=support-automation (chain support-automation -> research-tools, principal u-17, cost center cc-1000)"
    assert "triage-agent" in detail and "a000000000000001" in detail and TRACE in detail
    assert f.extra["chains"] == [{"caller": "support-automation", "team": "research-tools", "records": 2, "cost": Decimal("0.5625")}]


def test_obo_same_team_trace_not_flagged(tmp_path):
    team = owner("support-automation", "support-agent")
    spans = [
        span("a000000000000001", None, "invoke_agent", team),
        span("t000000000000001", "a000000000000001", "execute_tool", owner("support-automation", "kb-search")),
        llm("l000000000000001", "t000000000000001", 0.5, **owner("support-automation", "kb-search")),
    ]
    result = audit([write_otlp(tmp_path / "t.jsonl", spans)], select=["missing-on-behalf-of"])
    assert finding(result, "missing-on-behalf-of") is None


def test_obo_walk_survives_cycles_orphans_and_redelivered_spans(tmp_path):
    a, b = owner("A", "agent-a"), owner("B", "tool-b")
    spans = [
        # a cycle no root reaches: not walked, no error, no hang
        llm("c000000000000001", "c000000000000002", 0.1, **b),
        llm("c000000000000002", "c000000000000001", 0.1, **a),
        # an orphan (parent not in the data) is a root
        llm("o000000000000001", "ffffffffffffffff", 0.1, **b),
        # a self-parented span is a root
        llm("s000000000000001", "s000000000000001", 0.1, **b),
        # a re-delivered agent span: its children are walked once
        span("a000000000000001", None, "invoke_agent", a),
        span("a000000000000001", None, "invoke_agent", a),
        llm("l000000000000001", "a000000000000001", 0.5, **b),
    ]
    result = audit([write_otlp(tmp_path / "t.jsonl", spans)], select=["missing-on-behalf-of"])
    assert set(flagged(result, "OBO001")) == {"l000000000000001"}
    assert result.con.execute("SELECT count(*) FROM finding_rows WHERE code = 'OBO001'").fetchall()[0][0] == 1


def test_missing_owner_fix_is_the_owner_the_trace_implies(tmp_path):
    support = owner("support-automation", "support-agent", "cc-1000")
    spans = [
        span("a000000000000001", None, "invoke_agent", support),
        llm("l000000000000001", "a000000000000001", 0.5),  # no owner at all
        llm("l000000000000002", "a000000000000001", 0.25, **{"team.id": "support-automation"}),  # team only
        llm("l000000000000003", None, 0.125),  # no owner, no trace parent: no suggestion
    ]
    result = audit([write_otlp(tmp_path / "t.jsonl", spans)], select=["missing-owner"])
    hits = flagged(result, "OWN001")
    assert set(hits) == {"l000000000000001", "l000000000000002", "l000000000000003"}
    assert hits["l000000000000001"][1] == (
        "team_id=support-automation, service_id=support-agent, cost_center=cc-1000, environment=production"
        f" (implied by agent span a000000000000001 of trace {TRACE})"
    )
    assert hits["l000000000000002"][1] is None  # it has a team: no owner is implied over it
    assert hits["l000000000000003"][1] is None


def test_missing_owner_fix_takes_the_nearest_ancestor(tmp_path):
    spans = [
        span("a000000000000001", None, "invoke_agent", owner("A", "agent-a", "cc-1000")),
        span("t000000000000001", "a000000000000001", "execute_tool", owner("B", "tool-b", "cc-2000")),
        span("x000000000000001", "t000000000000001", "execute_tool", {}),  # an ownerless span in between
        llm("l000000000000001", "x000000000000001", 0.5),
    ]
    result = audit([write_otlp(tmp_path / "t.jsonl", spans)], select=["missing-owner"])
    fix = flagged(result, "OWN001")["l000000000000001"][1]
    assert fix.startswith("team_id=B, service_id=tool-b, cost_center=cc-2000, environment=production (implied by tool span t000000000000001")


# --- unlinked-retry and duplicate-request across files ---------------------------------------------------

def test_retry_links_and_duplicates_are_found_across_files(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [record(request_id="r1", status="failure", cost=0), record(request_id="d1", cost=0.5)])
    write_jsonl(tmp_path / "b.jsonl", [record(request_id="r2", retry_count=1, retry_of="r1", cost=0.25),
                                        record(request_id="d1", cost=0.5)])
    result = audit([tmp_path], select=["RET", "INT001"])
    assert finding(result, "unlinked-retry") is None
    dup = finding(result, "duplicate-request")
    assert dup.count == 1 and dup.cost == Decimal("0.5")
    detail, fix = flagged(result, "INT001")["d1"]
    assert "copy 2 of 2" in detail and "a.jsonl:2" in detail


def test_unlinked_retry_suggests_the_likely_original(tmp_path):
    recs = [
        record(request_id="r1", timestamp="2026-05-04T10:00:00Z", status="failure", cost=0),
        record(request_id="r2", timestamp="2026-05-04T10:00:02Z", retry_count=1, cost=0.25),
        record(request_id="far", timestamp="2026-05-04T12:00:00Z", retry_count=2, cost=0.5),
    ]
    result = audit([write_jsonl(tmp_path / "r.jsonl", recs)], select=["unlinked-retry"])
    hits = flagged(result, "RET001")
    assert hits["r2"][1].startswith("retry_of=r1 (likely")
    assert hits["far"][1].startswith("set retry_of")  # r2 is retry #1 but two hours earlier: no suggestion
    f = finding(result, "unlinked-retry")
    assert f.extra["unlinked"] == {"records": 2, "cost": Decimal("0.75")}
    assert f.extra["dangling"]["records"] == 0


# --- secret-in-log: masked in every output; prompts and responses never copied --------------------------

RAW_KEY = "sk-proj-Q2x9kT4mWv8bLp3sYz7nDf6hJr1cXa5eGu0i"
RAW_KEY2 = "sk-ant-api03-Zt8uVw2xYq4rSp6oNm1lKj3hGf5dEc7bA9"
BEARER = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdXBwb3J0In0.abcdef123456"
AWS = "AKIAIOSFODNN7EXAMPLE"
PROMPT = "PROMPT-CANARY summarise the refund dispute of customer 4471"
RESPONSE = "RESPONSE-CANARY the customer is owed 12 dollars"
RAW = (RAW_KEY, RAW_KEY2, BEARER.split()[1], AWS, PROMPT, RESPONSE, "PROMPT-CANARY", "RESPONSE-CANARY")


def _litellm(i, *, key_hash="9f86d081884c7d659a2feaa0c55ad015", alias="support-prod", tags=("support",), extra_meta=None,
             prompt=PROMPT):
    return {
        "id": f"chatcmpl-{i}", "trace_id": f"trace-{i}", "call_type": "acompletion", "stream": False,
        "response_cost": 0.00027, "custom_llm_provider": "openai", "model": "gpt-4o-mini",
        "prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200, "status": "success",
        "startTime": 1777888000.0 + i, "endTime": 1777888001.0 + i, "cache_hit": False,
        "model_map_information": {"model_map_key": "gpt-4o-mini", "model_map_value": {"input_cost_per_token": 1.5e-07}},
        "request_tags": list(tags),
        "metadata": {
            "user_api_key_hash": key_hash, "user_api_key_alias": alias, "user_api_key_team_id": "support-automation",
            "spend_logs_metadata": {"service": "ticket-triage", "cost_center": "cc-4210", "environment": "production",
                                    **(extra_meta or {})},
        },
        "messages": [{"role": "user", "content": prompt}],
        "response": {"choices": [{"message": {"role": "assistant", "content": RESPONSE}}]},
    }


def _secret_logs(tmp_path: Path) -> Path:
    docs = [
        _litellm(1),  # clean
        _litellm(2, key_hash=RAW_KEY),  # raw key as the key hash (api_key_id)
        _litellm(3, tags=("support", RAW_KEY2)),  # raw key in tags
        _litellm(4, extra_meta={"authorization": BEARER}),  # bearer token copied into metadata
        _litellm(5, alias=AWS),  # AWS key as the alias
        _litellm(6, prompt=f"{PROMPT} my key is {RAW_KEY}"),  # a key pasted into the prompt
    ]
    path = tmp_path / "litellm.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return path


def test_secret_in_log_finds_each_field(tmp_path):
    result = audit([_secret_logs(tmp_path)], select=["secret-in-log"])
    hits = flagged(result, "SEC001")
    assert set(hits) == {"chatcmpl-2", "chatcmpl-3", "chatcmpl-4", "chatcmpl-5", "chatcmpl-6"}
    assert hits["chatcmpl-2"][0] == "raw credential in field user_api_key_hash: " + RAW_KEY[:4] + "…" + RAW_KEY[-4:]
    assert hits["chatcmpl-3"][0].startswith("raw credential in field request_tags: sk-a…")
    assert hits["chatcmpl-4"][0] == "raw credential in field authorization: Bearer …" + BEARER[-4:]
    assert hits["chatcmpl-6"][0] == "raw credential in field content: " + RAW_KEY[:4] + "…" + RAW_KEY[-4:]
    f = finding(result, "secret-in-log")
    assert f.severity == "error" and f.cost == Decimal("0.00135")
    # the record table itself holds the values masked (so every rule's detail is built from masked values)
    dump = str(result.con.execute("SELECT * EXCLUDE (_row) FROM records").fetchall())
    for raw in (RAW_KEY, RAW_KEY2, BEARER.split()[1], AWS):
        assert raw not in dump


def _read_any(path: Path) -> str:
    if path.suffix == ".parquet":
        return str(duckdb.sql(f"SELECT * FROM read_parquet('{path.as_posix()}')").fetchall())
    return path.read_text(encoding="utf-8")


def test_secrets_masked_and_prompts_absent_in_every_output(tmp_path):
    logs = _secret_logs(tmp_path)
    outputs: dict[str, str] = {}
    runner = CliRunner()
    for fmt in formats():
        out = tmp_path / f"report.{fmt}"
        res = runner.invoke(main, ["audit", str(logs), "--format", fmt, "-o", str(out), "--exit-zero", "-q"])
        assert res.exit_code == 0, (fmt, res.output)
        outputs[fmt] = out.read_text(encoding="utf-8") + res.output
    for ext in ("csv", "jsonl", "parquet"):
        exp = tmp_path / f"findings.{ext}"
        res = runner.invoke(main, ["audit", str(logs), "--export-findings", str(exp), "--exit-zero", "-q",
                                   "--html", str(tmp_path / "r.html")])
        assert res.exit_code == 0, (ext, res.output)
        outputs[f"export.{ext}"] = _read_any(exp)
        outputs[f"stdout.{ext}"] = res.output
    outputs["--html"] = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert {"text", "json", "html"} <= set(formats())
    for name, text in outputs.items():
        for raw in RAW:
            assert raw not in text, f"{raw[:12]}... leaked into the {name} output"
    # and the finding is really there, masked
    assert RAW_KEY[:4] + "…" + RAW_KEY[-4:] in outputs["export.csv"]
    assert "secret-in-log" in outputs["json"] and "SEC001" in outputs["text"]
    assert "Bearer …" + BEARER[-4:] in outputs["export.jsonl"]


def test_otlp_secret_in_agent_span_is_masked(tmp_path):
    spans = [
        span("a000000000000001", None, "invoke_agent", {**owner("A", "agent-a"), "http.request.header.authorization": BEARER}),
        llm("l000000000000001", "a000000000000001", 0.5, **owner("A", "agent-a")),
    ]
    path = write_otlp(tmp_path / "t.jsonl", spans)
    result = audit([path], select=["secret-in-log"])
    f = finding(result, "secret-in-log")
    assert f.count == 1 and f.cost == 0  # the agent span: flagged, carries no LLM cost
    text = renderer("json")(result) + renderer("text")(result)
    assert BEARER.split()[1] not in text


def test_a_bearer_token_and_its_bare_key_are_one_distinct_secret(tmp_path):
    key = "sk-proj-" + "A" * 36 + "wxyz"
    recs = [record(request_id="a", api_key_alias="Bearer " + key), record(request_id="b", api_key_alias=key),
            record(request_id="c", api_key_alias="sk-proj-" + "B" * 36 + "qrst")]
    result = audit([write_jsonl(tmp_path / "s.jsonl", recs)])
    sec = next(f for f in result.findings if f.name == "secret-in-log")
    assert sec.count == 3 and "(2 distinct, shown masked)" in sec.message
