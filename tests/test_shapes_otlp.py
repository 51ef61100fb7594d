"""OTLP spans of the instrumentations other than OpenLIT, protobufjs' JSON, the provider rules and ownership found by
convention, end to end through the audit (records, JSON report, text report)."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from pathlib import Path

import pytest

import auditor
from auditor.api import load_records
from auditor.policy import Policy
from auditor.reporters import renderer

TRACE = "5b8efff798038103d269b633813fc60c"
SPAN = "eee19b7ec3c1b174"


def kv(key: str, value) -> dict:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def request(spans: list[dict], resource: dict | None = None) -> dict:
    return {"resourceSpans": [{"resource": {"attributes": [kv(k, v) for k, v in (resource or {}).items()]},
                               "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}]}]}


def span(i: int, attrs: dict, **extra) -> dict:
    return {"traceId": TRACE, "spanId": f"{i:016x}", "name": f"s{i}", "kind": 3,
            "startTimeUnixNano": str(1_750_000_000_000_000_000 + i), "attributes": [kv(k, v) for k, v in attrs.items()],
            **extra}


def records(tmp_path: Path, req: dict, name: str = "t.jsonl") -> list[dict]:
    p = tmp_path / name
    p.write_text(json.dumps(req) + "\n")
    loaded = load_records([p], Policy())
    cur = loaded.con.execute("SELECT * FROM records ORDER BY _row")
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def test_openinference_llm_span_is_an_llm_call_with_its_tokens_and_cost(tmp_path):
    attrs = {"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini", "llm.provider": "openai",
             "llm.token_count.prompt": 120, "llm.token_count.completion": 30, "llm.token_count.total": 150,
             "llm.cost.prompt": 0.000018, "llm.cost.completion": 0.000018}
    chain = {"openinference.span.kind": "CHAIN", "llm.token_count.prompt": 120}
    recs = records(tmp_path, request([span(1, attrs), span(2, chain)]))
    llm = [r for r in recs if r["record_kind"] == "llm"]
    assert len(llm) == 1 and recs[1]["record_kind"] == "other"
    r = llm[0]
    assert (r["provider"], r["model"], r["input_tokens"], r["output_tokens"]) == ("openai", "gpt-4o-mini", 120, 30)
    assert r["cost"] == Decimal("0.000036")
    assert r["pricing_source"] == "openinference/llm.cost"


@pytest.mark.parametrize("attrs, provider", [
    ({"gen_ai.provider.name": "anthropic", "gen_ai.system": "strands-agents"}, "anthropic"),
    ({"gen_ai.system": "strands-agents", "gen_ai.request.model": "openai/gpt-4.1-nano"}, "openai"),
    ({"gen_ai.system": "openai"}, "openai"),
    ({"gen_ai.system": "OpenAI"}, "openai"),  # OpenLLMetry's spelling
    ({"gen_ai.system": "langchain", "gen_ai.request.model": "gpt-4o"}, None),
    # Strands on the latest conventions writes its name as gen_ai.provider.name; its Bedrock model ids name the biller
    ({"gen_ai.provider.name": "strands-agents", "gen_ai.request.model": "us.anthropic.claude-3-7-sonnet-20250219-v1:0"},
     "bedrock"),
    ({"gen_ai.system": "strands-agents", "gen_ai.request.model": "anthropic.claude-3-5-sonnet-20240620-v1:0"}, "bedrock"),
    ({"gen_ai.system": "strands-agents", "gen_ai.request.model": "claude-3-5-sonnet"}, None),
    ({"gen_ai.provider.name": "aws.bedrock"}, "bedrock"),  # the semconv's well-known names, in ours
    ({"gen_ai.provider.name": "gcp.vertex_ai"}, "vertex_ai"),
    ({"gen_ai.system": "langchain", "server.address": "api.anthropic.com"}, "anthropic"),  # from the API host
    ({"gen_ai.system": "langchain", "server.address": "llm.internal.example.com"}, None),
    ({"ai.model.provider": "anthropic.messages", "gen_ai.system": "anthropic.messages"}, "anthropic"),  # Vercel AI SDK
    # Spring AI's AiProvider names its Bedrock Converse and OpenAI SDK clients; OpenLIT writes ibm.watson.ai
    ({"gen_ai.system": "bedrock_converse", "gen_ai.request.model": "anthropic.claude-3-5-sonnet-20240620-v1:0"},
     "bedrock"),
    ({"gen_ai.system": "openai_sdk"}, "openai"),
    ({"gen_ai.system": "ibm.watson.ai"}, "watsonx"),
    ({"gen_ai.provider.name": "moonshot_ai"}, "moonshot"),  # the semconv's newer well-known value
    # OpenLIT's framework names are not billers: the model's provider prefix names the one
    ({"gen_ai.system": "litellm", "gen_ai.request.model": "anthropic/claude-3-5-haiku-20241022"}, "anthropic"),
    ({"gen_ai.system": "claude_agent_sdk", "gen_ai.request.model": "claude-sonnet-4"}, None),
])
def test_provider_rules(tmp_path, attrs, provider):
    base = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 3,
            "gen_ai.usage.output_tokens": 4}
    [r] = records(tmp_path, request([span(1, {**base, **attrs})]))
    assert r["provider"] == provider
    assert r["model"] == attrs.get("gen_ai.request.model", "gpt-4o")


def test_sdk_name_opentelemetry_is_no_pricing_source(tmp_path):
    a = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.cost": 0.01}
    [r] = records(tmp_path, request([span(1, a)], {"telemetry.sdk.name": "opentelemetry"}))
    assert r["pricing_source"] is None
    [r] = records(tmp_path, request([span(1, a)], {"telemetry.sdk.name": "openlit"}), "b.jsonl")
    assert r["pricing_source"] == "openlit/pricing.json"


def test_protobufjs_json_is_decoded(tmp_path):
    """protobufjs writes ids as base64 and 64-bit integers as {low, high}: the same span as the Collector's JSON."""
    attrs = [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
             {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
             {"key": "gen_ai.usage.input_tokens", "value": {"intValue": {"low": 5_000_000_000 & 0xFFFFFFFF, "high": 1}}},
             {"key": "gen_ai.usage.output_tokens", "value": {"intValue": {"low": 7, "high": 0}}}]
    nanos = 1_750_000_000_123_456_789
    sp = {"traceId": base64.b64encode(bytes.fromhex(TRACE)).decode(), "spanId": base64.b64encode(bytes.fromhex(SPAN)).decode(),
          "name": "chat", "startTimeUnixNano": {"low": nanos & 0xFFFFFFFF, "high": nanos >> 32, "unsigned": True},
          "attributes": attrs}
    [r] = records(tmp_path, request([sp]))
    assert (r["trace_id"], r["span_id"]) == (TRACE, SPAN)
    assert r["input_tokens"] == 5_000_000_000 and r["output_tokens"] == 7
    assert r["timestamp"].year == 2025


def _owned(tmp_path: Path, spans: list[dict], resource: dict) -> dict:
    p = tmp_path / "owned.jsonl"
    p.write_text(json.dumps(request(spans, resource)) + "\n")
    return auditor.audit([p]).to_dict()


def test_ownership_by_convention_says_where_it_came_from(tmp_path):
    llm = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.provider.name": "openai",
           "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 2, "gen_ai.usage.cost": 0.001}
    spans = [span(i, {**llm, "team.name": "search"} if i < 29 else llm) for i in range(30)]
    d = _owned(tmp_path, spans, {"service.name": "ranker", "deployment.environment.name": "production",
                                 "cost.center": "cc-1234"})
    notes = d["inputs"][0]["notes"]
    assert "team_id from span attribute team.name on 96.7% of 30 LLM records; none on 3.3%" in notes
    assert "service_id from resource attribute service.name on 100% of 30 LLM records" in notes
    assert "cost_center from resource attribute cost.center on 100% of 30 LLM records" in notes
    teams = {t["team_id"]: t["records"] for t in d["teams"]}
    assert teams.get("search") == 29


def test_unknown_owner_attribute_is_named_with_what_to_set(tmp_path):
    """The note names the attribute that looks like an owner and the mapping line that reads it, and that line works:
    a copy of otlp.toml keeps the preset's name, so the OTLP reader builds the rows its paths point into (it used to
    read the file's raw documents, so the advice failed with "finds none of its fields")."""
    import shutil

    llm = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "squad": "payments"}
    d = _owned(tmp_path, [span(1, llm)], {"service.name": "unknown_service:python"})
    notes = d["inputs"][0]["notes"]
    team = next(n for n in notes if n.startswith("team_id"))
    assert "'squad' looks like one" in team and 'set  team_id = "/merged/squad"  (--mapping FILE)' in team
    assert d["inputs"][0]["ownership"]["fields"]["team_id"]["candidates"][0]["path"] == "/merged/squad"
    assert any(n.startswith("service_id: not found") for n in notes)  # the SDK's default name is no owner
    what = [n for n in notes if n.startswith("to charge these calls")]
    assert len(what) == 1 and "service_id, cost_center, environment" in what[0] and "OTEL_RESOURCE_ATTRIBUTES" in what[0]
    text = renderer("text")(auditor.audit([tmp_path / "owned.jsonl"]))
    assert "'squad' looks like one" in text
    html = renderer("html")(auditor.audit([tmp_path / "owned.jsonl"]))
    assert "Where ownership came from" in html and "squad" in html
    # Doing what the note says: the span's squad is its team.
    preset = Path(auditor.__file__).parent / "loaders" / "presets" / "otlp.toml"
    mine = tmp_path / "mine.toml"
    shutil.copy(preset, mine)
    mine.write_text(mine.read_text().replace('team_id = "/owner/team_id"', 'team_id = "/merged/squad"'))
    mapped = auditor.audit([tmp_path / "owned.jsonl"], fmt=str(mine)).to_dict()
    assert mapped["summary"]["records"] == 1 and [t["team_id"] for t in mapped["teams"]] == ["payments"]


def _to_json_span(i: int, attrs: dict, status: str = "UNSET") -> dict:
    """A span as opentelemetry-sdk's ``ReadableSpan.to_json()`` (and ConsoleSpanExporter) writes it."""
    return {"name": f"chat {i}", "context": {"trace_id": "0x5b8aa5a2d2c872e8321cf37308d69df2",
                                             "span_id": f"0x{i:016x}", "trace_state": "[]"},
            "kind": "SpanKind.CLIENT", "parent_id": None, "start_time": f"2025-03-0{i}T10:00:00.000000Z",
            "end_time": f"2025-03-0{i}T10:00:01.000000Z", "status": {"status_code": status}, "attributes": attrs,
            "events": [], "links": [], "resource": {"attributes": {"service.name": "search-api", "team.name": "search"},
                                                    "schema_url": ""}}


@pytest.mark.parametrize("container", ["json", "jsonl"])
def test_python_sdk_span_json_is_read(tmp_path, container):
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o",
             "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5}
    spans = [_to_json_span(1, attrs), _to_json_span(2, {**attrs, "gen_ai.usage.input_tokens": 7}, "ERROR"),
             _to_json_span(3, {"gen_ai.operation.name": "execute_tool"})]
    p = tmp_path / f"spans.{container}"
    p.write_text(json.dumps(spans, indent=2) if container == "json" else "\n".join(json.dumps(s) for s in spans) + "\n")
    loaded = load_records([p], Policy())
    assert loaded.inputs[0].format == "otlp" and loaded.rejected == 0
    got = loaded.con.execute("SELECT record_kind, span_id, trace_id, team_id, service_id, input_tokens, status,"
                             " strftime(timestamp, '%Y-%m-%d %H:%M') FROM records ORDER BY span_id").fetchall()
    assert got == [("llm", "0000000000000001", "5b8aa5a2d2c872e8321cf37308d69df2", "search", "search-api", 10, "success",
                    "2025-03-01 10:00"),
                   ("llm", "0000000000000002", "5b8aa5a2d2c872e8321cf37308d69df2", "search", "search-api", 7, "failure",
                    "2025-03-02 10:00"),
                   ("tool", "0000000000000003", "5b8aa5a2d2c872e8321cf37308d69df2", "search", "search-api", None, "success",
                    "2025-03-03 10:00")]


def _cloudwatch_span(trace: str, i: int, parent: int | None, attrs: dict, scope: str) -> dict:
    """A span as CloudWatch's aws/spans log group stores it (Bedrock AgentCore Observability)."""
    out = {"resource": {"attributes": {"service.name": "agent.DEFAULT", "team.name": "support"}},
           "scope": {"name": scope, "version": ""}, "traceId": trace, "spanId": f"{i:016x}", "flags": 256,
           "name": f"s{i}", "kind": "CLIENT", "startTimeUnixNano": 1_763_425_611_858_303_367 + i,
           "endTimeUnixNano": 1_763_425_612_858_303_367, "durationNano": 1_000_000_000 - i, "attributes": attrs,
           "status": {"code": "UNSET"}}
    return out if parent is None else {**out, "parentSpanId": f"{parent:016x}"}


@pytest.mark.parametrize("wrapped", [False, True])
def test_cloudwatch_spans_and_a_call_span_around_a_call_span(tmp_path, wrapped):
    """aws/spans objects (bare, one per line, or as the AgentCore starter toolkit's {timestamp, raw_otel_json} rows) are
    read; a framework's call span around the instrumented client's call span of the same request counts once,
    through the child; a call span with no call under it, and the same span id in another trace, stay calls."""
    usage = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
             "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 10}
    t1, t2 = "691bbd4b51c1a4c319aa2bf92068c474", "691bbd2521293a552b6cbb5c30547369"
    spans = [_cloudwatch_span(t1, 1, None, {"gen_ai.operation.name": "invoke_agent", "gen_ai.system": "strands-agents",
                                            "gen_ai.usage.input_tokens": 200}, "strands.telemetry.tracer"),
             _cloudwatch_span(t1, 2, 1, {**usage, "gen_ai.system": "strands-agents"}, "strands.telemetry.tracer"),
             _cloudwatch_span(t1, 3, 2, {**usage, "gen_ai.system": "aws.bedrock"}, "opentelemetry.instrumentation.botocore"),
             _cloudwatch_span(t1, 4, 1, {**usage, "gen_ai.system": "strands-agents"}, "strands.telemetry.tracer"),
             _cloudwatch_span(t2, 3, None, {**usage, "gen_ai.system": "aws.bedrock"}, "opentelemetry.instrumentation.botocore")]
    p = tmp_path / ("rows.json" if wrapped else "aws-spans.jsonl")
    p.write_text(json.dumps([{"timestamp": "2025-11-18 00:26:54.850", "raw_otel_json": s} for s in spans], indent=2)
                 if wrapped else "\n".join(json.dumps(s) for s in spans) + "\n")
    loaded = load_records([p], Policy())
    assert loaded.inputs[0].format == "otlp" and loaded.rejected == 0
    got = loaded.con.execute("SELECT trace_id = ?, span_id, parent_span_id, record_kind, provider, team_id,"
                             " epoch_ns(timestamp) FROM records ORDER BY 1 DESC, span_id", [t1]).fetchall()
    assert [g[:6] for g in got] == [
        (True, "0000000000000001", None, "agent", None, "support"),
        (True, "0000000000000002", "0000000000000001", "agent", "bedrock", "support"),
        (True, "0000000000000003", "0000000000000002", "llm", "bedrock", "support"),
        (True, "0000000000000004", "0000000000000001", "llm", "bedrock", "support"),
        (False, "0000000000000003", None, "llm", "bedrock", "support")]
    assert got[0][6] == 1_763_425_611_858_303_000  # startTimeUnixNano, to the microsecond
    assert (loaded.inputs[0].records, loaded.inputs[0].context_spans) == (3, 2)


def test_team_id_and_team_name_attributes_give_the_team_its_name(tmp_path):
    """team.id beside team.name (an id system of its own, e.g. UUIDs): the id is the team, the name is its label."""
    llm = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.provider.name": "openai",
           "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 2, "gen_ai.usage.cost": 0.001}
    tid = "6f1c2b9e-0d4a-4c1e-9a57-2b8e6d1f0a11"
    spans = [span(i, {**llm, "team.id": tid, "team.name": "Research"}) for i in range(3)]
    spans.append(span(3, {**llm, "team.name": "search"}))  # a name alone is the team itself
    d = _owned(tmp_path, spans, {"service.name": "ranker"})
    teams = {t["team_id"]: t for t in d["teams"]}
    assert teams[tid]["name"] == "Research" and teams[tid]["label"] == f"Research ({tid})" and teams[tid]["records"] == 3
    assert teams["search"].get("name") in (None, "search") and teams["search"]["records"] == 1
    assert "team_id from span attribute team.id on 75.0%, span attribute team.name on 25.0% of 4 LLM records" in d["inputs"][0]["notes"]


CALLS_BY_CONVENTION = {
    # OpenLLMetry / Traceloop before the GenAI names: llm.request.type, capitalised gen_ai.system, prompt/completion
    "openllmetry": ({"llm.request.type": "chat", "gen_ai.system": "OpenAI", "gen_ai.request.model": "gpt-4o-mini",
                     "gen_ai.usage.prompt_tokens": 100, "gen_ai.usage.completion_tokens": 20, "llm.usage.total_tokens": 120},
                    {"traceloop.span.kind": "workflow", "traceloop.workflow.name": "wf"}),
    "openllmetry-llm-usage": ({"llm.request.type": "chat", "gen_ai.system": "Anthropic",
                               "gen_ai.request.model": "claude-3-5-haiku-20241022", "llm.usage.prompt_tokens": 100,
                               "llm.usage.completion_tokens": 20}, {"traceloop.span.kind": "task"}),
    # the OpenTelemetry GenAI instrumentations, old and new attribute names
    "genai-old": ({"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini",
                   "gen_ai.usage.prompt_tokens": 100, "gen_ai.usage.completion_tokens": 20}, {"http.method": "POST"}),
    "genai-new": ({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
                   "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20},
                  {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "a"}),
    # Spring AI: the chat model's span under the ChatClient's framework span (which names spring_ai, not a biller)
    "spring-ai": ({"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini",
                   "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.usage.input_tokens": 100,
                   "gen_ai.usage.output_tokens": 20, "gen_ai.usage.total_tokens": 120},
                  {"gen_ai.operation.name": "framework", "gen_ai.system": "spring_ai", "spring.ai.kind": "chat_client"}),
}


def test_spring_ai_micrometer_spans_read_their_string_counts(tmp_path):
    """Micrometer's OpenTelemetry bridge writes every Spring AI key value as a string ("100"): the counts are read
    as numbers, Spring AI's bedrock_converse is Bedrock, and the ChatClient's framework span is context."""
    def strings(i: int, attrs: dict, **extra) -> dict:
        return {**span(i, {}, **extra), "attributes": [kv(k, str(v)) for k, v in attrs.items()]}

    call = {"gen_ai.operation.name": "chat", "gen_ai.system": "bedrock_converse",
            "gen_ai.request.model": "anthropic.claude-3-5-sonnet-20240620-v1:0", "gen_ai.usage.input_tokens": 100,
            "gen_ai.usage.output_tokens": 20, "gen_ai.usage.total_tokens": 120}
    client = {"gen_ai.operation.name": "framework", "gen_ai.system": "spring_ai", "spring.ai.kind": "chat_client"}
    recs = records(tmp_path, request([strings(1, client), strings(2, call, parentSpanId=f"{1:016x}")]))
    assert [(r["record_kind"], r["provider"], r["input_tokens"], r["output_tokens"]) for r in recs] == [
        ("agent", None, None, None), ("llm", "bedrock", 100, 20)]


@pytest.mark.parametrize("op", ["invoke_workflow", "plan", "execute_task", "framework"])
def test_a_workflow_span_summing_its_calls_usage_is_not_another_call(tmp_path, op):
    """The GenAI conventions' invoke_workflow (and plan), OpenLIT's execute_task and Spring AI's framework spans sit
    around the calls and may carry their summed usage and the model: with an agent span between them and the call,
    the wrapped-call rule does not see them, so they were counted as a second call."""
    outer = {"gen_ai.operation.name": op, "gen_ai.workflow.name": "wf", "gen_ai.request.model": "gpt-4o",
             "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20}
    agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "a"}
    call = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20}
    recs = records(tmp_path, request([span(1, outer), span(2, agent, parentSpanId=f"{1:016x}"),
                                      span(3, call, parentSpanId=f"{2:016x}")]))
    assert [r["record_kind"] for r in recs] == ["agent", "agent", "llm"]


@pytest.mark.parametrize("name", sorted(CALLS_BY_CONVENTION))
def test_each_instrumentations_call_span_is_one_call_of_its_biller(tmp_path, name):
    call, context = CALLS_BY_CONVENTION[name]
    recs = records(tmp_path, request([span(1, context), span(2, call, parentSpanId=f"{1:016x}")]))
    assert [r["record_kind"] == "llm" for r in recs] == [False, True]
    r = recs[1]
    assert (r["provider"], r["input_tokens"], r["output_tokens"]) == (
        "anthropic" if "Anthropic" in call.values() else "openai", 100, 20)


def test_langfuse_public_key_on_spans_is_no_leaked_secret(tmp_path):
    """The Langfuse SDK writes its public key (pk-lf-...) on every span on purpose: no SEC001 for it, end to end
    (the regex alone was tested); the secret key (sk-lf-...) in the same place is still flagged."""
    call = {"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 3, "gen_ai.usage.output_tokens": 4}
    codes = {}
    for key in ("pk-lf-1234567890abcdef12345678", "sk-lf-1234567890abcdef12345678"):
        p = tmp_path / f"{key[:2]}.jsonl"
        p.write_text(json.dumps(request([span(1, {**call, "langfuse.public_key": key})])) + "\n")
        codes[key[:2]] = {f["code"] for f in auditor.audit([p]).to_dict()["findings"]}
    assert "SEC001" not in codes["pk"] and "SEC001" in codes["sk"]


def test_context_spans_only_say_what_an_llm_span_is(tmp_path):
    from auditor.loaders import InputError

    p = tmp_path / "http.jsonl"
    p.write_text(json.dumps(request([span(i, {"http.method": "GET"}) for i in range(12)])) + "\n")
    with pytest.raises(InputError) as exc:
        auditor.audit([p])
    assert "12 records read, none is an LLM request" in str(exc.value)
    assert "no span with gen_ai.* or OpenInference LLM attributes" in str(exc.value)
