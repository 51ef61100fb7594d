"""How the instrumentations name the facts a chargeback record needs, and where deployments put ownership.

Spans of the same LLM call look different per instrumentation:

* OpenTelemetry GenAI semconv: ``gen_ai.provider.name`` (v1.37+; ``gen_ai.system`` before), ``gen_ai.request.model``,
  ``gen_ai.usage.input_tokens`` / ``output_tokens`` (``prompt_tokens`` / ``completion_tokens`` before), ``gen_ai.operation.name``;
* OpenLIT: the semconv names plus ``gen_ai.usage.cost`` priced from its own table (``telemetry.sdk.name = openlit``);
* OpenLLMetry / Traceloop: ``llm.request.type``, ``traceloop.span.kind``, ``llm.usage.*`` in older versions;
* OpenInference (Arize): ``openinference.span.kind`` (LLM, EMBEDDING, CHAIN, AGENT, TOOL, RETRIEVER, ...), ``llm.model_name``,
  ``llm.provider`` / ``llm.system``, ``llm.token_count.prompt|completion|total``, ``llm.cost.*``;
* Strands and other agent frameworks put their own name in ``gen_ai.system`` or ``gen_ai.provider.name``
  (``strands-agents``, Google ADK's ``gcp.vertex.agent``): not who bills the call; such a span without an LLM
  operation (ADK's ``call_llm``) wraps the provider call and repeats its usage, so it is agent context;
* Pydantic AI: the semconv names plus ``operation.cost`` (priced with genai-prices).
  Their Bedrock model ids (``us.anthropic.claude-...-v1:0``) then name the biller: ``bedrock``;
* Vercel AI SDK: ``ai.operationId`` (only ``*.doGenerate`` / ``*.doStream`` / ``*.doEmbed`` are provider calls, the
  ``ai.generateText`` around them sums their usage), ``ai.model.provider`` (``openai.responses``: provider ``openai``),
  ``ai.model.id``, ``ai.usage.inputTokens|promptTokens`` / ``outputTokens|completionTokens``.

Ownership has no OpenTelemetry convention: deployments write ``team.name``, ``team``, ``owner``, ``cost_center``, ... on the
resource, on the span, or as baggage copied onto each span. ``find_owner`` reads the common ones and says which
attribute carried each field; ``OwnerStats`` sums that per file for the report, with the attributes that look like an
owner when no known one is there.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

LLM_OPERATIONS = {"chat", "text_completion", "completion", "generate_content", "embeddings", "embedding", "responses",
                  "create_response"}
# Spans around the calls, which may repeat their summed usage: the semconv's invoke_workflow and plan, OpenLIT's
# execute_task (CrewAI), Spring AI's framework (ChatClient, advisors).
AGENT_OPERATIONS = {"invoke_agent", "create_agent", "workflow", "agent", "task", "invoke_workflow", "plan", "execute_task",
                    "framework"}
TOOL_OPERATIONS = {"execute_tool", "tool", "retrieval"}
OPENINFERENCE_KINDS = {"LLM": "llm", "EMBEDDING": "llm", "AGENT": "agent", "TOOL": "tool"}  # CHAIN, RETRIEVER, ...: other
VERCEL_CALLS = (".doGenerate", ".doStream", ".doEmbed")
# Bedrock model ids name the model's maker, not the biller: anthropic.claude-3-5-sonnet-20240620-v1:0, with a
# cross-region inference profile prefix (us., eu., apac., global.) or as an ARN. Strands writes them so.
_BEDROCK_MODEL = re.compile(
    r"^(arn:aws[\w-]*:bedrock:.*|((us|eu|apac|us-gov|global|jp|au|ca)\.)?"
    r"(anthropic|amazon|meta|cohere|mistral|ai21|deepseek|qwen|openai|writer|twelvelabs|stability|luma)\."
    r"[a-z0-9][\w.\-]*?-v\d+(:\d+)?)$", re.I)

# A Vertex AI resource name (OpenInference's Vertex AI instrumentation writes it as the model): billed by Vertex.
_VERTEX_RESOURCE = re.compile(r"^projects/[^/]+/locations/[^/]+/(publishers/[^/]+/models|endpoints)/", re.I)

# Values of gen_ai.system that name a framework or SDK, not the provider that bills the call.
FRAMEWORKS = {"strands-agents", "strands", "langchain", "langgraph", "crewai", "llama_index", "llamaindex", "haystack",
              "autogen", "ag2", "openai_agents", "openai-agents", "semantic_kernel", "semantic-kernel", "spring-ai",
              "spring_ai", "pydantic_ai", "pydantic-ai", "dspy", "agno", "smolagents", "mastra", "vercel-ai", "ai-sdk",
              "google_adk", "google-adk", "gcp.vertex.agent", "beeai", "letta", "traceloop", "openlit", "langfuse",
              "autogen-core", "microsoft.agent_framework", "koog", "strands_agents", "claude_agent_sdk", "agent_framework",
              "browser_use", "multion", "dynamiq", "julep", "controlflow", "mcp", "litellm"}  # the last line: OpenLIT's

OWNER_KEYS: dict[str, tuple[str, ...]] = {
    "team_id": ("team.id", "team_id", "team.name", "team_name", "team", "app.team", "owner.team", "owner",
                "business_unit", "business.unit"),
    "service_id": ("service.name", "gen_ai.application_name", "service_id", "service.id", "app.name", "application.name"),
    "cost_center": ("cost_center", "cost.center", "costcenter", "cost_centre", "finance.cost_center", "cost.center.id"),
    "environment": ("deployment.environment.name", "deployment.environment", "gen_ai.environment", "environment", "env"),
}
# The SDK's default service.name when the application set none: no owner.
_NO_OWNER = re.compile(r"^(unknown_service(:.*)?|default|none|null|unknown)?$", re.I)
_CANDIDATE = {
    "team_id": re.compile(r"(^|[._])(team|squad|tribe|group|department|dept|division|org|organization|owner|unit)([._]|$)", re.I),
    "service_id": re.compile(r"(^|[._])(service|app|application|component|product)([._]|$)", re.I),
    "cost_center": re.compile(r"(cost|budget|billing|chargeback|gl)[._]?(center|centre|code|account|id)?", re.I),
    "environment": re.compile(r"(^|[._])(env|environment|stage|tier)([._]|$)", re.I),
}
_NOT_CANDIDATE = re.compile(r"^(telemetry|gen_ai|llm|http|url|net|server|process|host|os|rpc|db|code|thread|exception|aws|log|"
                            r"openinference|traceloop|input|output|session|user|enduser|k8s|container|cloud|service\.version|"
                            r"service\.instance|service\.namespace)([._]|$)", re.I)


def _first(attrs: dict[str, Any], keys: Iterable[str]) -> Any:
    for k in keys:
        v = attrs.get(k)
        if v not in (None, "", []):
            return v
    return None


def _int(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _decimal(v: Any) -> Decimal | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        return Decimal(str(v))
    except InvalidOperation:
        return None


def span_kind(attrs: dict[str, Any]) -> str:
    oi = attrs.get("openinference.span.kind")
    if isinstance(oi, str) and oi:
        return OPENINFERENCE_KINDS.get(oi.upper(), "other")
    vercel = attrs.get("ai.operationId")
    if isinstance(vercel, str) and vercel.startswith("ai."):
        # Vercel AI SDK: ai.generateText wraps its provider calls (ai.generateText.doGenerate, ...) and carries their
        # summed usage; only the do* spans are calls, or the wrapper would count each call twice.
        if vercel.endswith(VERCEL_CALLS):
            return "llm"
        return "tool" if vercel == "ai.toolCall" else "other"
    op = str(attrs.get("gen_ai.operation.name") or "").lower()
    if op in AGENT_OPERATIONS:
        return "agent"
    if op in TOOL_OPERATIONS:
        return "tool"
    if op in LLM_OPERATIONS:
        return "llm"
    if not op and str(attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system") or "").lower() in FRAMEWORKS:
        # A framework's own span around the provider call (Google ADK's call_llm): it repeats the usage of the
        # call span under it, which is the one to count.
        return "agent"
    tl = str(attrs.get("traceloop.span.kind") or "").lower()
    if tl in ("workflow", "task", "agent"):
        return "agent"
    if tl == "tool":
        return "tool"
    if attrs.get("llm.request.type") or "gen_ai.request.model" in attrs or any(
            k.startswith(("gen_ai.usage.", "llm.usage.", "llm.token_count.")) for k in attrs):
        return "llm"
    return "other"


def model_prefix(model: Any) -> str | None:
    """``openai/gpt-4.1-nano`` -> ``openai`` (LiteLLM-style names); a Bedrock model id
    (``us.anthropic.claude-3-7-sonnet-20250219-v1:0``) -> ``bedrock``; None otherwise."""
    if not isinstance(model, str):
        return None
    if _VERTEX_RESOURCE.match(model.strip()):  # projects/p/locations/l/publishers/google/models/gemini-2.5-flash
        return "vertex_ai"
    if "/" in model and not model.startswith("arn:"):
        head = model.split("/", 1)[0].strip().lower()
        return head or None
    if _BEDROCK_MODEL.match(model.strip()):
        return "bedrock"
    return None


# The conventions' provider names -> the names the rest of audit-logs uses (LiteLLM's custom_llm_provider):
# OpenTelemetry's gen_ai.provider.name well-known values, Pydantic AI's and LangChain's names.
PROVIDER_ALIASES = {
    "aws.bedrock": "bedrock", "amazon-bedrock": "bedrock", "amazon_bedrock": "bedrock",
    "gcp.vertex_ai": "vertex_ai", "google-vertex": "vertex_ai", "google_vertexai": "vertex_ai", "vertex": "vertex_ai",
    "gcp.gemini": "gemini", "google-gla": "gemini", "google_genai": "gemini", "google.generative-ai": "gemini",
    "gcp.gen_ai": "google", "azure.ai.openai": "azure", "az.ai.openai": "azure", "azure-openai": "azure",
    "azure.ai.inference": "azure_ai", "az.ai.inference": "azure_ai", "mistral_ai": "mistral", "x_ai": "xai",
    "ibm.watsonx.ai": "watsonx", "ibm.watson.ai": "watsonx", "moonshot_ai": "moonshot",
    "bedrock_converse": "bedrock", "openai_sdk": "openai",  # Spring AI's AiProvider: its Converse and OpenAI SDK clients
}
# API hosts -> provider, for records that name only the endpoint (LiteLLM's api_base, OpenTelemetry's server.address).
_HOSTS = ((re.compile(r"(^|\.)openai\.azure\.com$"), "azure"), (re.compile(r"^api\.openai\.com$"), "openai"),
          (re.compile(r"^api\.anthropic\.com$"), "anthropic"), (re.compile(r"^bedrock(-runtime)?(-fips)?\."), "bedrock"),
          (re.compile(r"^generativelanguage\.googleapis\.com$"), "gemini"),
          (re.compile(r"(^|[.-])aiplatform\.googleapis\.com$"), "vertex_ai"), (re.compile(r"^api\.mistral\.ai$"), "mistral"),
          (re.compile(r"^api\.groq\.com$"), "groq"), (re.compile(r"^api\.deepseek\.com$"), "deepseek"),
          (re.compile(r"^api\.cohere\.(com|ai)$"), "cohere"), (re.compile(r"^api\.x\.ai$"), "xai"),
          (re.compile(r"^openrouter\.ai$"), "openrouter"))


def canonical_provider(v: Any) -> Any:
    # Provider names are identifiers whatever their case: OpenLLMetry writes gen_ai.system = "OpenAI" or
    # "Anthropic", which must group, price and reconcile with LiteLLM's and the invoices' "openai".
    if isinstance(v, str) and v.strip():
        key = v.strip().lower()
        return PROVIDER_ALIASES.get(key, key)
    return v


def provider_from_host(url: Any) -> str | None:
    """``https://api.openai.com/v1`` or ``api.openai.com`` -> ``openai``; None for an unknown or private host."""
    if not isinstance(url, str) or not url.strip():
        return None
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url.strip().lower()).split("/", 1)[0].split(":", 1)[0]
    for pattern, name in _HOSTS:
        if pattern.search(host):
            return name
    return None


def provider(attrs: dict[str, Any], resource: dict[str, Any], model: Any) -> Any:
    return canonical_provider(_provider(attrs, resource, model))


def _provider(attrs: dict[str, Any], resource: dict[str, Any], model: Any) -> Any:
    """``gen_ai.provider.name``, else the Vercel AI SDK's ``ai.model.provider``, else ``gen_ai.system`` unless it
    names a framework, else OpenInference's ``llm.provider`` / ``llm.system``, else the model's ``provider/`` prefix
    or Bedrock shape, else the API host (``server.address``)."""
    for layer in (attrs, resource):
        v = layer.get("gen_ai.provider.name")  # Strands on the latest conventions writes its own name here too
        if v not in (None, "") and str(v).lower() not in FRAMEWORKS:
            return v
    vercel = attrs.get("ai.model.provider")  # the Vercel AI SDK's provider.api: openai.responses, anthropic.messages
    if isinstance(vercel, str) and vercel:
        return vercel.split(".", 1)[0]
    for layer in (attrs, resource):
        v = layer.get("gen_ai.system")
        if isinstance(v, str) and v and v.lower() not in FRAMEWORKS:
            return v
    v = _first(attrs, ("llm.provider", "llm.system"))
    if isinstance(v, str) and v.lower() not in FRAMEWORKS:
        return v
    return model_prefix(model) or provider_from_host(_first(attrs, ("server.address", "url.full", "http.url")))


def gen_fields(attrs: dict[str, Any], resource: dict[str, Any], scope_name: Any = None) -> dict[str, Any]:
    """The chargeback facts of one span, whichever convention its instrumentation follows."""
    model = _first(attrs, ("gen_ai.request.model", "gen_ai.response.model", "llm.model_name", "llm.request.model",
                           "llm.response.model", "ai.model.id"))
    cost, source = _first(attrs, ("gen_ai.usage.cost.amount", "gen_ai.usage.cost")), None
    if cost is None and _decimal(attrs.get("operation.cost")) is not None:
        # Pydantic AI (and Logfire) price each model request with genai-prices into operation.cost.
        cost, source = attrs["operation.cost"], "pydantic-ai/genai-prices"
    if cost is None:
        total = attrs.get("llm.cost.total")
        parts = [_decimal(attrs.get(k)) for k in ("llm.cost.prompt", "llm.cost.completion") if k in attrs]
        if total is not None:
            cost, source = total, "openinference/llm.cost.total"
        elif parts and all(p is not None for p in parts):
            cost, source = str(sum(parts, Decimal(0))), "openinference/llm.cost"
    sdk = str(attrs.get("telemetry.sdk.name") or resource.get("telemetry.sdk.name") or "").lower()
    # "opentelemetry" is only the SDK's name: it prices nothing. OpenLIT prices from its own pricing.json.
    explicit = _first(attrs, ("gen_ai.usage.cost.source",)) or resource.get("gen_ai.usage.cost.source")
    if explicit:
        source = explicit
    elif source is None and cost is not None and (sdk == "openlit" or str(scope_name or "").startswith("openlit")):
        source = "openlit/pricing.json"
    return {
        "provider": provider(attrs, resource, model),
        "model": model,
        "model_version": _first(attrs, ("gen_ai.response.model", "llm.response.model", "ai.response.model")),
        "input_tokens": _int(_first(attrs, ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt",
                                            "llm.usage.prompt_tokens", "ai.usage.inputTokens", "ai.usage.promptTokens",
                                            "ai.usage.tokens"))),
        "output_tokens": _int(_first(attrs, ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
                                             "llm.token_count.completion", "llm.usage.completion_tokens",
                                             "ai.usage.outputTokens", "ai.usage.completionTokens"))),
        "cached_input_tokens": _int(_first(attrs, ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
                                                   "llm.token_count.prompt_details.cache_read", "ai.usage.cachedInputTokens"))),
        "cache_write_tokens": _int(_first(attrs, ("gen_ai.usage.cache_creation.input_tokens",
                                                  "gen_ai.usage.cache_creation_input_tokens",
                                                  "llm.token_count.prompt_details.cache_write"))),
        "cost": cost,
        "pricing_source": source,
        "operation": _first(attrs, ("gen_ai.operation.name", "llm.request.type")) or (
            str(attrs["openinference.span.kind"]).lower() if attrs.get("openinference.span.kind") else None),
        "principal": _first(attrs, ("enduser.id", "user.id", "gen_ai.request.user")),
        "workflow_id": _first(attrs, ("workflow.id", "workflow_id", "traceloop.workflow.name", "gen_ai.agent.name")),
    }


def _owner_value(field: str, v: Any) -> Any:
    if isinstance(v, (list, dict)) or v is None:
        return None
    if isinstance(v, str) and (not v.strip() or (field == "service_id" and _NO_OWNER.match(v.strip()))):
        return None
    return v if isinstance(v, str) else str(v)


def find_owner(*layers: tuple[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, str]]:
    """(owner fields, where each came from) from ``layers`` of (label, attributes): for each field the first of its
    keys that any layer holds, the first layer first for the same key (span attributes before resource attributes). A key ``baggage.<k>`` counts as ``<k>`` (some processors copy baggage
    onto spans under that prefix)."""
    owner: dict[str, Any] = {}
    src: dict[str, str] = {}
    for field, keys in OWNER_KEYS.items():
        for k in keys:  # the key's rank first (service.name before gen_ai.application_name), then the layer
            for label, attrs in layers:
                for key, where in ((k, label), ("baggage." + k, "baggage entry")):
                    v = _owner_value(field, attrs.get(key))
                    if v is not None:
                        owner[field], src[field] = v, f"{where} {key}"
                        break
                if field in owner:
                    break
            if field in owner:
                break
    _team_name(owner, src, layers)
    return owner, src


_ID_KEYS = ("team.id", "team_id")
_NAME_KEYS = ("team.name", "team_name")


def _team_name(owner: dict[str, Any], src: dict[str, str], layers: tuple[tuple[str, dict[str, Any]], ...]) -> None:
    """The team's display name, when the team came from an id attribute and a name attribute is beside it
    (``team.id = 6f1c...``, ``team.name = Research``): the report shows "Research (6f1c...)". A name with no id is
    the team itself (``team_id`` above), not a name of one."""
    if not src.get("team_id", "").endswith(_ID_KEYS):
        return
    for k in _NAME_KEYS:
        for _, attrs in layers:
            for key in (k, "baggage." + k):
                v = attrs.get(key)
                if isinstance(v, str) and v.strip() and v.strip() != owner["team_id"]:
                    owner["team_name"] = v.strip()
                    return


class OwnerStats:
    """Per input file: on how many LLM records each owner field came from which attribute, and, for a field no
    known attribute carried, the attributes that look like it (name and a short text value)."""

    def __init__(self) -> None:
        self.llm = 0
        self.found: dict[str, dict[str, int]] = {}
        self.candidates: dict[str, dict[str, int]] = {}
        self.naive_timestamps = 0
        # What each keyed record added, so a record later read as context (a wrapped call span) can be taken out.
        self._added: dict[Any, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {}

    def add(self, kind: str, owner: dict[str, Any], src: dict[str, str], *layers: dict[str, Any],
            labels: tuple[str, ...] = ("span attribute", "resource attribute"), path_prefix: str = "/merged/",
            record_key: Any = None) -> None:
        if kind != "llm":
            return
        self.llm += 1
        for field, where in src.items():
            self.found.setdefault(field, {})
            self.found[field][where] = self.found[field].get(where, 0) + 1
        cands: list[tuple[str, str]] = []
        known = {k for keys in OWNER_KEYS.values() for k in keys}
        for field in OWNER_KEYS:
            if field in owner:
                continue
            for attrs in layers:
                for key, v in attrs.items():
                    if key in known or not isinstance(v, str) or not v or len(v) > 80 or _NOT_CANDIDATE.match(key):
                        continue
                    if _CANDIDATE[field].search(key):
                        path = path_prefix + key
                        self.candidates.setdefault(field, {})
                        self.candidates[field][path] = self.candidates[field].get(path, 0) + 1
                        cands.append((field, path))
        if record_key is not None:
            self._added[record_key] = (list(src.items()), cands)

    def forget(self, keys: Iterable[Any]) -> None:
        """Take out the records of ``keys``: they were read as LLM calls and are context after all."""
        for k in keys:
            if k not in self._added:
                continue
            src, cands = self._added.pop(k)
            self.llm -= 1
            for table, items in ((self.found, src), (self.candidates, cands)):
                for field, where in items:
                    table[field][where] -= 1
                    if not table[field][where]:
                        del table[field][where]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"llm_records": self.llm, "fields": {}}
        for field in OWNER_KEYS:
            entry: dict[str, Any] = {"sources": [{"attribute": a, "records": n}
                                                 for a, n in sorted(self.found.get(field, {}).items(), key=lambda x: (-x[1], x[0]))]}
            cands = self.candidates.get(field, {})
            if not entry["sources"] and cands:
                entry["candidates"] = [{"path": p, "records": n} for p, n in sorted(cands.items(), key=lambda x: (-x[1], x[0]))[:5]]
            out["fields"][field] = entry
        if self.naive_timestamps:
            out["naive_timestamps"] = self.naive_timestamps
        return out


def _pct(n: int, total: int) -> str:
    if n == total:
        return "100%"
    return f"{100 * n / total:.1f}%"


def _n(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


# The readers that count owners derive each record (a span, an observation) before the mapping applies; a copy of
# their preset keeps its name (or says reader = "otlp"), so its paths point into those rows. What to set where the
# records are made: (where the owner names are read, how to set one, how to record how a call was priced).
_AT_SOURCE = {
    "otlp": ("on each span, then its resource",
             "on the resource (OTEL_RESOURCE_ATTRIBUTES=\"{key}=...\") or on each span (baggage copied onto it is read too)",
             "set gen_ai.usage.cost.source on the call spans or their resource"),
    "langfuse-api": ("in the observation's and the trace's metadata, then their OpenTelemetry attributes",
                     "in the metadata of the trace or of each observation (\"{key}\": ...)",
                     "send each call's cost to Langfuse (or let it price the model): it is recorded with the cost"),
}


def notes(ownership: dict[str, Any] | None, naive: int, timezone: str, source: str, no_pricing_source: int = 0,
          wrapped_calls: int = 0, provider_from_client: int = 0, provider_from_wrapper: int = 0) -> list[str]:
    """Sentences for the report: where each owner field came from, what to map when none was found, how many
    timestamps had no zone, and that the source logs no price source."""
    out: list[str] = []
    if ownership and ownership.get("llm_records"):
        total = ownership["llm_records"]
        preset = f"auditor/loaders/presets/{source.replace('-', '_')}.toml"
        missing: list[str] = []  # the fields no known attribute carried, nor anything like one
        for field, entry in ownership["fields"].items():
            sources = entry.get("sources") or []
            if sources:
                parts = [f"{s['attribute']} on {_pct(s['records'], total)}" for s in sources[:3]]
                covered = sum(s["records"] for s in sources)
                tail = "" if covered == total else f"; none on {_pct(total - covered, total)}"
                out.append(f"{field} from {', '.join(parts)} of {_n(total, 'LLM record')}{tail}")
                continue
            cands = entry.get("candidates") or []
            at_source = _AT_SOURCE.get(source)
            if cands:
                best = cands[0]
                key = best["path"].rsplit("/", 1)[-1]
                head = (f"{field}: no known attribute on any LLM record; '{key}' looks like one (on {best['records']:,} of "
                        f"{total:,})")
                # A copy of the preset keeps its name, so the same reader builds the rows its paths point into.
                out.append(f"{head}: to use it, copy {preset} and set  {field} = \"{best['path']}\"  (--mapping FILE)")
            else:
                known = ", ".join(OWNER_KEYS[field][:5])
                where = f" {at_source[0]}" if at_source else ""
                out.append(f"{field}: not found on any of {_n(total, 'LLM record')} (looked for {known}, ...{where})")
                missing.append(field)
        if missing and source in _AT_SOURCE:
            # What to do, once: these readers take owners only from the names above, and no mapping reaches them.
            how = _AT_SOURCE[source][1].format(key=OWNER_KEYS[missing[0]][0])
            out.append(f"to charge these calls, set {', '.join(missing)} under one of those names where the records are"
                       f" made: {how}; if they are logged under another name, copy {preset} and map it (--mapping FILE)")
    if naive:
        out.append(f"{_n(naive, 'record')} had a timestamp without a time zone: read as {timezone} (the policy's timezone)")
    if wrapped_calls:
        out.append(f"{_n(wrapped_calls, 'call span')} {'wraps' if wrapped_calls == 1 else 'wrap'} another call span of the same request (a framework's span around"
                   " the client's, with the same usage or its own estimate of it): read as context, so each request counts once")
    if provider_from_wrapper:
        out.append(f"provider: {_n(provider_from_wrapper, 'LLM record')} named none; taken from the framework's call span"
                   " around each, which names the provider of the same request")
    if provider_from_client:
        out.append(f"provider: {_n(provider_from_client, 'LLM record')} named none; taken from the HTTP client span under"
                   " each call (the host of its URL, e.g. api.openai.com), which is where the request went")
    if no_pricing_source:
        out.append(f"pricing_source: no LLM record of this file says how it was priced ({source} logs no price source here;"
                   f" {_n(no_pricing_source, 'LLM record')}), so it is not required of each record; costs are checked against"
                   " the published prices (PRC001-PRC004). To record one, "
                   + (_AT_SOURCE[source][2] if source in _AT_SOURCE else "map pricing_source (--mapping FILE)"))
    return out
