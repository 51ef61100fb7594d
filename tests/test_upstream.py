"""Real records from the upstream projects' own repositories (tests/data/upstream, see PROVENANCE.md) audit right.

For each file the LLM record count, the total cost and the input/output tokens are computed here from the raw
JSON with plain ``json`` and the upstream project's own rules (what its docs say each field means), not through
auditor's loaders, and compared with the audit. Every file must hold LLM records: a file that reads as none is a
shape we do not recognise, which must never look clean.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

import auditor
from auditor.api import load_records
from auditor.policy import Policy

UPSTREAM = Path(__file__).resolve().parent / "data" / "upstream"
FILES = sorted(p for p in UPSTREAM.rglob("*") if p.suffix in (".json", ".jsonl"))
Q = Decimal("0.000000000001")
LLM_TYPES = {"GENERATION", "EMBEDDING"}


def dec(x) -> Decimal:
    return Decimal(repr(x) if isinstance(x, float) else str(x)).quantize(Q)


def _langfuse_tokens(obs: dict) -> tuple[int, int]:
    """Langfuse's usage parts are disjoint and sum to total: input parts (cached ones included) and output parts."""
    details = obs.get("usageDetails") or {}
    if details:
        ins = sum(v for k, v in details.items() if k != "total" and k.startswith(("input", "prompt", "cache_")))
        outs = sum(v for k, v in details.items() if k.startswith(("output", "completion")))
        return ins, outs
    if "inputUsage" in obs or "outputUsage" in obs:  # the public API's flattened usage
        return obs.get("inputUsage") or 0, obs.get("outputUsage") or 0
    usage = obs.get("usage") or {}
    return usage.get("input") or 0, usage.get("output") or 0


def _langfuse_cost(obs: dict) -> Decimal:
    meta = obs.get("metadata") if isinstance(obs.get("metadata"), dict) else {}
    for v in ((obs.get("costDetails") or {}).get("total"), obs.get("totalCost"), obs.get("calculatedTotalCost"),
              (obs.get("usage") or {}).get("totalCost"), meta.get("litellm_response_cost")):
        if v is not None:
            return dec(v)
    return Decimal(0)


def _observations(doc: dict) -> list[dict]:
    if "batch" in doc:  # ingestion events: creates and updates of one observation share its body id
        merged: dict[str, dict] = {}
        for event in doc["batch"]:
            kind = event["type"].split("-")[0]
            if kind in ("trace", "score", "sdk"):
                continue
            obs = merged.setdefault(event["body"]["id"], {"type": kind.upper()})
            obs.update({k: v for k, v in event["body"].items() if v is not None})
        return list(merged.values())
    # A trace detail as Langfuse's download script saves it lists each observation under trace.observations and
    # again at the top level: one observation, counted once by its id.
    nested = (doc["trace"].get("observations") or []) if isinstance(doc.get("trace"), dict) else []
    return list({o["id"]: o for o in [*nested, *doc["observations"]]}.values())


def _calls(observations: list[dict]) -> list[dict]:
    """The GENERATION / EMBEDDING observations that are requests: one with another such observation directly
    under it is the framework's span around the client's (Agno's OpenAIChat.invoke around the Langfuse SDK's
    OpenAI call, the Vercel AI SDK's ai.generateText around ai.generateText.doGenerate), the request is the inner one."""
    llm = [o for o in observations if str(o.get("type")).upper() in LLM_TYPES]
    outer = {o.get("parentObservationId") for o in llm}
    return [o for o in llm if o.get("id") not in outer]


VERCEL_CALLS = (".doGenerate", ".doStream", ".doEmbed")


GENAI_CALLS = {"chat", "generate_content", "text_completion", "embeddings"}  # gen_ai.operation.name of a model call


def _is_call(a: dict) -> bool:
    if "ai.operationId" in a:
        return str(a["ai.operationId"]).endswith(VERCEL_CALLS)
    return a.get("gen_ai.operation.name") in GENAI_CALLS or a.get("openinference.span.kind") in LLM_KINDS


LLM_KINDS = {"LLM", "EMBEDDING"}


def _sdk_spans(spans: list[dict]) -> tuple[int, Decimal, int, int]:
    """Spans as an OpenTelemetry SDK serialises them (attributes as a plain object). The Vercel AI SDK's docs: the
    provider calls are the ``ai.*.doGenerate`` / ``doStream`` / ``doEmbed`` spans; ``ai.usage.*`` is their usage
    (the ``ai.generateText`` around them repeats the sum). The GenAI semantic conventions: a model call is a span
    whose ``gen_ai.operation.name`` is chat, generate_content, text_completion or embeddings (``invoke_agent`` sums
    its calls; ADK's ``call_llm`` has no operation name and wraps its ``generate_content``). Pydantic AI prices
    each call in ``operation.cost``."""
    calls = [s["attributes"] for s in spans if _is_call(s["attributes"])]

    def tokens(a: dict, *keys: str) -> int:
        return next((a[k] for k in keys if k in a), 0)

    return (len(calls), sum((dec(tokens(a, "gen_ai.usage.cost", "operation.cost")) for a in calls), Decimal(0)),
            sum(tokens(a, "gen_ai.usage.input_tokens", "llm.token_count.prompt", "ai.usage.inputTokens",
                       "ai.usage.promptTokens", "ai.usage.tokens") for a in calls),
            sum(tokens(a, "gen_ai.usage.output_tokens", "llm.token_count.completion", "ai.usage.outputTokens",
                       "ai.usage.completionTokens") for a in calls))


def _langfuse_span(attrs: dict) -> tuple[int, Decimal, int, int]:
    """A span of the Langfuse SDK's OTel convention (LiteLLM's Langfuse OTel logger): one observation in
    ``langfuse.observation.*`` attributes."""
    if str(attrs.get("langfuse.observation.type")).upper() not in LLM_TYPES:
        return 0, Decimal(0).quantize(Q), 0, 0
    obs = {"usageDetails": attrs.get("langfuse.observation.usage_details"),
           "costDetails": attrs.get("langfuse.observation.cost_details")}
    ins, outs = _langfuse_tokens(obs)
    return 1, _langfuse_cost(obs), ins, outs


def _otlp_attributes(items: list[dict]) -> dict:
    """proto3 JSON ``[{key, value: {stringValue | intValue (a decimal string) | ...}}]`` as a plain object."""
    out = {}
    for kv in items:
        (kind, v), = kv["value"].items()
        out[kv["key"]] = int(v) if kind == "intValue" else v
    return out


def _cloudwatch_spans(rows: list[dict]) -> tuple[int, Decimal, int, int]:
    """CloudWatch aws/spans rows as the AgentCore starter toolkit stores them (``raw_otel_json`` is the span: OTLP
    names, attributes as an object). Strands' ``chat`` span is the parent of botocore's ``chat <model>`` span of the
    same Bedrock request, with the same usage: a call span parenting a call span is counted through its child."""
    spans = [r["raw_otel_json"] for r in rows]
    parents = {s.get("parentSpanId") for s in spans if _is_call(s["attributes"])}
    return _sdk_spans([s for s in spans if not (_is_call(s["attributes"]) and s["spanId"] in parents)])


OPENAI_AGENTS_SCOPE = "opentelemetry.instrumentation.openai_agents"
OPENINFERENCE_AGENTS = ("openinference.instrumentation.smolagents", "openinference.instrumentation.openai_agents")


def _scope(spans: list[dict]) -> str | None:
    names = {(s.get("scope") or {}).get("name") for s in spans}
    return names.pop() if len(names) == 1 else None


def _openai_agents_spans(spans: list[dict]) -> tuple[int, Decimal, int, int]:
    """OpenLLMetry's OpenAI Agents SDK instrumentation (scope ``opentelemetry.instrumentation.openai_agents``) in the
    OpenTelemetry GenAI semantic conventions: each Responses API request is an ``openai.response`` span with
    ``gen_ai.operation.name = chat``, ``gen_ai.provider.name = openai`` and ``gen_ai.usage.input_tokens`` /
    ``output_tokens`` (input counts the cached tokens, ``gen_ai.usage.cache_read.input_tokens``). The agents
    (``invoke_agent``), their tools (``execute_tool``) and the run (``traceloop.span.kind = workflow``) are spans of
    the SDK, not requests: they carry no usage, though the instrumentation writes ``gen_ai.provider.name`` on them
    too. Nothing prices the calls (no ``gen_ai.usage.cost``)."""
    calls = [s["attributes"] for s in spans if s["attributes"].get("gen_ai.operation.name") == "chat"]
    others = [s["attributes"] for s in spans if s["attributes"].get("gen_ai.operation.name") != "chat"]
    assert not any(k.startswith("gen_ai.usage.") for a in others for k in a), "only the requests carry usage"
    assert all(a["gen_ai.usage.input_tokens"] + a["gen_ai.usage.output_tokens"] == a["gen_ai.usage.total_tokens"]
               for a in calls)
    return (len(calls), Decimal(0).quantize(Q), sum(a["gen_ai.usage.input_tokens"] for a in calls),
            sum(a["gen_ai.usage.output_tokens"] for a in calls))


def _openinference_agent_spans(spans: list[dict]) -> tuple[int, Decimal, int, int]:
    """OpenInference's agent instrumentations, smolagents' (scope ``openinference.instrumentation.smolagents``) and
    the OpenAI Agents SDK's (``openinference.instrumentation.openai_agents``): each model request is an
    ``openinference.span.kind = LLM`` span (smolagents' ``LiteLLMModel.generate``, the SDK's ``response``) with
    ``llm.token_count.prompt`` / ``completion``; the steps and turns (``CHAIN``), tools (``TOOL``) and agents
    (``AGENT``) are not requests. smolagents' run (``CodeAgent.run``, AGENT) carries the sum of its requests'
    tokens (checked). Seen through ADOT (AgentCore), an LLM span also carries ``gen_ai.usage.*`` with the same
    counts (checked: one request, one count), and httpx's ``POST`` to the API sits under it. No ``llm.cost.*``."""
    kind = lambda s: s["attributes"].get("openinference.span.kind")  # noqa: E731
    calls = [s["attributes"] for s in spans if kind(s) == "LLM"]
    ins = sum(a["llm.token_count.prompt"] for a in calls)
    outs = sum(a["llm.token_count.completion"] for a in calls)
    assert all((a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"])
               == (a["llm.token_count.prompt"], a["llm.token_count.completion"]) for a in calls if "gen_ai.usage.input_tokens" in a)
    for a in (s["attributes"] for s in spans if kind(s) != "LLM"):
        if "llm.token_count.prompt" in a:  # smolagents' run: the sum of its requests
            assert a.get("openinference.span.kind") == "AGENT" and (a["llm.token_count.prompt"], a["llm.token_count.completion"]) == (ins, outs)
        else:
            assert not any(k.startswith(("llm.token_count.", "gen_ai.usage.")) for k in a)
    return len(calls), Decimal(0).quantize(Q), ins, outs


def expected(path: Path) -> tuple[int, Decimal, int, int]:
    """(LLM records, total cost, input tokens, output tokens) from the raw file."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(doc, dict) and isinstance(doc.get("attributes"), list):  # one bare OTLP Span
        return _sdk_spans([{"attributes": _otlp_attributes(doc["attributes"])}])
    if isinstance(doc, dict) and isinstance(doc.get("attributes"), dict) and "parent_span_id" in doc:
        return _langfuse_span(doc["attributes"])
    if isinstance(doc, list) and doc and all("raw_otel_json" in r for r in doc):
        return _cloudwatch_spans(doc)
    if isinstance(doc, list) and doc and _scope(doc) == OPENAI_AGENTS_SCOPE:
        return _openai_agents_spans(doc)
    if isinstance(doc, list) and doc and any(str((s.get("scope") or {}).get("name")).startswith(OPENINFERENCE_AGENTS)
                                             for s in doc):
        return _openinference_agent_spans(doc)
    if isinstance(doc, list) and doc and all("spanContext" in s or "context" in s or "span_id" in s for s in doc):
        return _sdk_spans(doc)
    if "batch" in doc or "observations" in doc:
        llm = _calls(_observations(doc))
        toks = [_langfuse_tokens(o) for o in llm]
        return len(llm), sum((_langfuse_cost(o) for o in llm), Decimal(0)), sum(t[0] for t in toks), sum(t[1] for t in toks)
    if "spend" in doc:  # LiteLLM SpendLogs row
        return 1, dec(doc["spend"]), doc["prompt_tokens"], doc["completion_tokens"]
    if "standard_logging_object" in doc:
        doc = doc["standard_logging_object"]
    if "response_cost" in doc:  # LiteLLM StandardLoggingPayload
        return 1, dec(doc["response_cost"]), doc["prompt_tokens"], doc["completion_tokens"]
    raise AssertionError(f"{path}: no independent reading of this shape in the test")


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(UPSTREAM).as_posix() for p in FILES])
def test_upstream_file(path: Path) -> None:
    n, cost, tokens_in, tokens_out = expected(path)
    assert n > 0, "every upstream fixture holds LLM calls"
    loaded = load_records([path], Policy())
    assert loaded.inputs[0].format != "none", loaded.inputs[0].detected
    assert loaded.rejected == 0, loaded.rejects
    got = loaded.con.execute(
        "SELECT count(*), coalesce(sum(cost), 0), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0)"
        " FROM records WHERE record_kind = 'llm'").fetchall()[0]
    assert (got[0], got[1].quantize(Q), got[2], got[3]) == (n, cost, tokens_in, tokens_out)
    # A call without a model cannot be priced or reconciled: every real call names one.
    assert loaded.con.execute("SELECT count(*) FROM records WHERE record_kind = 'llm' AND model IS NULL").fetchone()[0] == 0
    result = auditor.audit([path])
    assert Decimal(result.summary()["total_cost"]) == cost


def test_enough_upstream_files() -> None:
    """The collection covers several projects (PROVENANCE.md lists each file)."""
    projects = {p.relative_to(UPSTREAM).parts[0] for p in FILES}
    provenance = (UPSTREAM / "PROVENANCE.md").read_text(encoding="utf-8")
    for p in FILES:
        assert p.relative_to(UPSTREAM).as_posix() in provenance, p
    assert len(projects) >= 6 and len(FILES) >= 49


LF = "langfuse/chatml-framework-traces/"
# Where the raw file names who billed the call, and how (the field each upstream project documents).
PROVIDER_HINTS = {
    "openinference/vercel-v6-spans/ai-generateText-doGenerate.json": "openai",  # ai.model.provider = openai.responses
    "litellm/langfuse_expected_request_body/completion.json": "openai",  # metadata.hidden_params.api_base
    "litellm/langfuse_expected_request_body/transcription.json": "openai",  # metadata.hidden_params.api_base
    "litellm/langfuse_expected_request_body/completion_with_bedrock_call.json": "bedrock",  # model bedrock/...
    "langfuse/chatml-framework-traces/pydantic-ai-with-gemini-2025-12-24.trace.json": "gemini",  # gen_ai.system google-gla
    "langfuse/framework-traces/google-vertex-tools-langchain-2025-09-19.json": "vertex_ai",  # ls_provider google_vertexai
    "strands/evals-mapper-fixtures/adk_live_spans.json": "gemini",  # gen_ai.system gemini (call_llm: gcp.vertex.agent)
    "strands/evals-mapper-fixtures/pydantic_ai_live_spans.json": "bedrock",  # gen_ai.provider.name bedrock
    "envoy-ai-gateway/testopeninference-spans/chat-streaming.json": "openai",  # llm.system openai
    "bedrock-agentcore/observability-fixtures/raw_otel_langchain_spans.json": "bedrock",  # gen_ai.system aws.bedrock
    "bedrock-agentcore/observability-fixtures/raw_otel_strands_bedrock_spans.json": "bedrock",  # aws.bedrock
    "strands/evals-mapper-fixtures/openai_agents_genai_live_spans.json": "openai",  # gen_ai.provider.name openai
    "strands/evals-mapper-fixtures/smolagents_live_spans.json": "bedrock",  # llm.model_name bedrock/... (LiteLLM)
    "strands/evals-mapper-fixtures/openai_agents_openinference_live_spans.json": "openai",  # llm.system openai
    "strands/evals-mapper-fixtures/openai_agents_openinference_adot_spans.json": "openai",  # gen_ai.provider.name
    # Langfuse observations of OpenTelemetry spans carry the span's attributes in metadata.attributes.
    LF + "llamaindex-2025-06-05.trace.json": "openai",  # OpenInference llm.provider / llm.system openai
    LF + "openai-agents-2025-09-30.trace.json": "openai",  # OpenInference llm.system openai (no llm.provider)
    LF + "google-adk-2025-08-28.trace.json": "google",  # llm.provider google; gen_ai.system gcp.vertex.agent is ADK
    LF + "google-gemini-2025-08-01.trace.json": "google",  # OpenInference google_genai: llm.provider google
    LF + "vercel-aisdk-2025-11-17.trace.json": "openai",  # ai.model.provider openai.responses (provider.api)
    LF + "vertex-ai-2025-08-01.trace.json": "vertex_ai",  # model projects/<p>/locations/<l>/publishers/google/models/...
    LF + "koog-2025-08-26.trace.json": "openai",  # gen_ai.system openai
    LF + "microsoft-agent-2025-12-17.trace.json": "openai",  # gen_ai.provider.name openai (the trace's: the framework)
    LF + "claude-agent-2025-12-22.trace.json": "anthropic",  # gen_ai.system anthropic (the trace's: langchain)
    LF + "csharp-agent-with-gemini-2026-03-09.trace.json": "vertex_ai",  # gen_ai.provider.name gcp.vertex_ai
    LF + "langgraph-js-2025-10-30.trace.json": "openai",  # metadata.ls_provider openai
    LF + "pydantic-ai-tools-2025-12-04.trace.json": "openai",  # gen_ai.system openai
    # The Langfuse SDK's OpenAI calls name none; Agno's OpenAIChat.invoke around each has llm.provider OpenAI.
    LF + "agno-2025-06-11.trace.json": "openai",
}


@pytest.mark.parametrize("name", sorted(PROVIDER_HINTS))
def test_upstream_provider(name: str) -> None:
    """The provider is read from the convention each file uses, in the names pricing and reconciliation know."""
    loaded = load_records([UPSTREAM / name], Policy())
    got = {r[0] for r in loaded.con.execute("SELECT DISTINCT provider FROM records WHERE record_kind = 'llm'").fetchall()}
    assert got == {PROVIDER_HINTS[name]}


def test_upstream_otlp_ids_decoded() -> None:
    """Envoy AI Gateway's recorder writes span ids as Go's protojson does, base64: they come out as the hex the
    Collector writes, and the nanosecond string as the timestamp."""
    path = UPSTREAM / "envoy-ai-gateway/testopeninference-spans/chat-streaming-detailed-usage.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    import base64
    loaded = load_records([path], Policy())
    trace_id, span_id, ts = loaded.con.execute("SELECT trace_id, span_id, epoch_ns(timestamp) FROM records").fetchone()
    assert trace_id == base64.b64decode(raw["traceId"]).hex() and span_id == base64.b64decode(raw["spanId"]).hex()
    assert ts // 1000 == int(raw["startTimeUnixNano"]) // 1000


def test_wrapped_call_spans_are_said_once_per_file():
    """A framework's call span around the client's is read as context; the report says how many, per file."""
    doc = auditor.audit([UPSTREAM / "bedrock-agentcore/observability-fixtures/raw_otel_strands_bedrock_spans.json"],
                        Policy()).to_dict()
    inp = doc["inputs"][0]
    assert inp["wrapped_calls"] == 3 == doc["summary"]["records"]
    assert sum("wrap another call span" in n for n in inp["notes"]) == 1
    # The ownership note counts the calls the report counts, not the spans read before the wrappers were demoted.
    assert inp["ownership"]["llm_records"] == doc["summary"]["records"]
    owner_notes = [n for n in inp["notes"] if n.startswith(("team_id", "service_id", "cost_center", "environment"))]
    assert owner_notes and all("of 3 LLM records" in n for n in owner_notes), owner_notes


def test_call_span_without_a_provider_takes_its_http_client_childs_host():
    """Strands on OpenAI writes only the model on its chat span; the httpx span under it posts to api.openai.com.
    That names the biller, so the missing cost is estimated at OpenAI's price (before: provider missing, no estimate)."""
    from datetime import datetime, timezone

    from genai_prices import Usage, calc_price

    path = UPSTREAM / "bedrock-agentcore/observability-fixtures/raw_otel_strands_openai_spans.json"
    spans = [row["raw_otel_json"] if isinstance(row["raw_otel_json"], dict) else json.loads(row["raw_otel_json"])
             for row in json.loads(path.read_text(encoding="utf-8"))]
    to_openai = {s["parentSpanId"] for s in spans if "api.openai.com" in str((s.get("attributes") or {}).get("http.url"))}
    calls = [s for s in spans if s["spanId"] in to_openai and "gen_ai.usage.input_tokens" in s["attributes"]]
    expected = sum(calc_price(Usage(input_tokens=int(s["attributes"]["gen_ai.usage.input_tokens"]),
                                    output_tokens=int(s["attributes"]["gen_ai.usage.output_tokens"])),
                              model_ref=s["attributes"]["gen_ai.request.model"], provider_id="openai",
                              genai_request_timestamp=datetime.fromtimestamp(int(s["startTimeUnixNano"]) // 10**9, timezone.utc)
                              ).total_price for s in calls)
    doc = auditor.audit([path], Policy()).to_dict()
    assert len(calls) == 3 == doc["summary"]["records"] == doc["inputs"][0]["provider_from_client"]
    found = {f["code"]: f for f in doc["findings"]}
    assert "provider (" not in found["CON001"]["message"]
    assert Decimal(found["PRC001"]["details"]["estimated_missing_cost"]) == expected
    assert any(n.startswith("provider: 3 LLM records named none") for n in doc["inputs"][0]["notes"])


def test_agentcore_service_host_is_not_a_model_provider():
    from auditor.loaders.conventions import provider_from_host

    assert provider_from_host("bedrock-agentcore.us-east-1.amazonaws.com") is None
    assert provider_from_host("https://bedrock-runtime.us-east-1.amazonaws.com/model/x/converse") == "bedrock"
    assert provider_from_host("bedrock-runtime-fips.us-east-1.amazonaws.com") == "bedrock"


STRANDS_EVALS = sorted((UPSTREAM / "strands/evals-mapper-fixtures").glob("*.json"))


@pytest.mark.parametrize("path", STRANDS_EVALS, ids=[p.name for p in STRANDS_EVALS])
def test_flat_spans_keep_their_parent(path: Path) -> None:
    """Strands Evals' flat spans name their parent as ``parent_span_id``: every span keeps it (the wrapper and HTTP
    client checks walk from a call to the span under it, and a call is tied to its agent through it). It was read
    as no parent at all."""
    spans = json.loads(path.read_text(encoding="utf-8"))
    raw = {s["span_id"]: s.get("parent_span_id") for s in spans}
    loaded = dict(load_records([path], Policy()).con.execute("SELECT span_id, parent_span_id FROM records").fetchall())
    assert loaded == raw and any(raw.values())


@pytest.mark.parametrize("name, context", [("openai_agents_genai_live_spans.json", 9), ("smolagents_live_spans.json", 5),
                                           ("openai_agents_openinference_live_spans.json", 14),
                                           ("openai_agents_openinference_adot_spans.json", 13)])
def test_agent_captures_estimate_the_missing_cost_at_the_billers_price(name: str, context: int) -> None:
    """No agent capture prices its calls: the report estimates what they cost from their tokens, at the price of the
    biller the spans name (OpenAI for the OpenAI Agents SDK; Bedrock for smolagents through LiteLLM, whose
    ``us.`` cross-region profile is priced as Bedrock's regional endpoint), computed here with genai-prices from the
    raw spans. The framework's agent, tool, step and run spans are context, each request one record."""
    from datetime import datetime, timezone

    from genai_prices import Usage, calc_price

    path = UPSTREAM / "strands/evals-mapper-fixtures" / name
    spans = json.loads(path.read_text(encoding="utf-8"))
    n, _, tokens_in, tokens_out = expected(path)
    total = Decimal(0)
    for s in spans:
        a = s["attributes"]
        if a.get("gen_ai.operation.name") == "chat":  # OpenLLMetry's OpenAI Agents: the model only as response.model
            model, provider, usage = a["gen_ai.response.model"], "openai", (a["gen_ai.usage.input_tokens"],
                                                                              a["gen_ai.usage.output_tokens"])
        elif a.get("openinference.span.kind") == "LLM":  # llm.system, or LiteLLM's provider/model name (smolagents)
            provider, model = a["llm.model_name"].split("/", 1) if "/" in a["llm.model_name"] else (a["llm.system"],
                                                                                                    a["llm.model_name"])
            provider, usage = {"bedrock": "aws"}.get(provider, provider), (a["llm.token_count.prompt"],
                                                                         a["llm.token_count.completion"])
        else:
            continue
        total += calc_price(Usage(input_tokens=usage[0], output_tokens=usage[1]), model_ref=model, provider_id=provider,
                            genai_request_timestamp=datetime.fromtimestamp(s["start_time"] // 10**9, timezone.utc)
                            ).total_price
    doc = auditor.audit([path], Policy()).to_dict()
    assert (doc["summary"]["records"], doc["summary"]["context_spans"], doc["summary"]["read"]) == (n, context, len(spans))
    found = {f["code"]: f for f in doc["findings"]}
    assert Decimal(found["PRC001"]["details"]["estimated_missing_cost"]) == total
    if name == "openai_agents_genai_live_spans.json":  # the figure an earlier run reported: 1870 in / 253 out at gpt-4o-mini's price
        assert (n, tokens_in, tokens_out, total) == (8, 1870, 253, Decimal("0.0004323"))
    inp = doc["inputs"][0]
    assert not inp.get("wrapped_calls")  # no call span sits under another: nothing is demoted
    assert any(n.startswith("to charge these calls") for n in inp["notes"])


@pytest.mark.parametrize("name", ["agno-2025-06-11.trace.json", "langgraph-js-2025-10-30.trace.json"])
def test_langfuse_trace_longer_than_the_detection_head_is_detected(name: str) -> None:
    """Langfuse's download script saves ``{"trace": {..., "observations": [...]}, "observations": [...]}``. These
    files are longer than the head detection reads first, so the document cannot be parsed from it, and the trace's
    own input, output and metadata come before any ``observations`` key, past the first 4 KiB where a cut head's
    top-level keys were looked for. The file is still a Langfuse trace, detected without --input-format (it was: no
    known log format), by reading the document on from the file."""
    from auditor.loaders.detect import detect
    from auditor.loaders.sources import head_bytes

    path = UPSTREAM / LF / name
    raw = path.read_bytes()
    assert len(raw) > len(head_bytes(path)) and raw.index(b'"observations"') > 4096
    assert detect(path).source == "langfuse-api"


@pytest.mark.parametrize("name, wrappers", [("agno-2025-06-11.trace.json", 2), ("vercel-aisdk-2025-11-17.trace.json", 1)])
def test_langfuse_generation_around_a_generation_is_context(name: str, wrappers: int) -> None:
    """A GENERATION with a GENERATION directly under it is the framework's model span around the client's request
    (Agno's OpenAIChat.invoke around the Langfuse SDK's OpenAI call; the Vercel AI SDK's ai.generateText around
    its ai.generateText.doGenerate): the outer one is context, the inner one the call, as for OTLP spans."""
    path = UPSTREAM / LF / name
    gens = {o["id"]: o for o in _observations(json.loads(path.read_text(encoding="utf-8"))) if o["type"] == "GENERATION"}
    outer = {o.get("parentObservationId") for o in gens.values()} & set(gens)
    assert len(outer) == wrappers
    loaded = load_records([path], Policy())
    kinds = dict(loaded.con.execute("SELECT span_id, record_kind FROM records").fetchall())
    assert {i for i in gens if kinds[i] == "llm"} == set(gens) - outer
    doc = auditor.audit([path], Policy()).to_dict()
    inp = doc["inputs"][0]
    assert inp["wrapped_calls"] == wrappers and doc["summary"]["records"] == len(gens) - wrappers
    assert inp["ownership"]["llm_records"] == len(gens) - wrappers  # the notes count the calls, not the wrappers


def test_call_without_a_provider_takes_its_wrappers():
    """Agno's calls through the Langfuse SDK's OpenAI integration carry no span attribute, so no provider: the
    audit said 'provider' was missing on both. The OpenAIChat.invoke span around each (read as context) names
    OpenAI (OpenInference llm.provider) for the same request; the call takes it, and the report says so."""
    path = UPSTREAM / LF / "agno-2025-06-11.trace.json"
    obs = {o["id"]: o for o in _observations(json.loads(path.read_text(encoding="utf-8")))}
    calls = _calls(list(obs.values()))
    named = {json.loads(obs[c["parentObservationId"]]["metadata"])["attributes"].get("llm.provider") for c in calls}
    assert named == {"OpenAI"} and all("attributes" not in json.loads(c["metadata"]) for c in calls)
    doc = auditor.audit([path], Policy()).to_dict()
    inp = doc["inputs"][0]
    assert inp["provider_from_wrapper"] == len(calls) == 2
    assert any(n.startswith("provider: 2 LLM records named none; taken from the framework's") for n in inp["notes"])
    assert "provider" not in next(f for f in doc["findings"] if f["code"] == "CON001")["message"]

