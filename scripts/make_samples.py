#!/usr/bin/env python3
"""Generate sample_logs/ from the real libraries (LiteLLM, OpenLIT), with seeded defects at known rows.

NOT a runtime or test dependency of audit-logs: the tests read the files this script wrote (committed).
Run it in a separate virtualenv (litellm and openlit pin conflicting OpenTelemetry versions with other
tools, so pin them as below):

    python3 -m venv /tmp/genvenv
    /tmp/genvenv/bin/pip install "litellm[proxy]==1.106.2" openai genai-prices fastapi redis orjson backoff \\
        "openlit==1.45.0" "opentelemetry-api==1.39.1" "opentelemetry-sdk==1.39.1" "opentelemetry-exporter-otlp==1.39.1" \\
        "opentelemetry-proto==1.39.1" "opentelemetry-semantic-conventions==0.60b1" "opentelemetry-instrumentation==0.60b1"
    LITELLM_LOCAL_MODEL_COST_MAP=True /tmp/genvenv/bin/python scripts/make_samples.py

(litellm 1.106.2, openlit 1.45.0, opentelemetry-sdk 1.39.1). The [proxy] extra: the spend-tracking and key
modules the script calls (get_logging_payload, UserAPIKeyAuth) import apscheduler, websockets and soundfile
at import time; without them every SpendLogs row fails. No network is used: LiteLLM runs
with mock_response and its bundled model map; OpenLIT instruments the openai client talking to a mock
OpenAI-compatible server on 127.0.0.1 (random free port, stopped at the end).

The organisation (LiteLLM files), as the LiteLLM proxy logs it: every key's user_api_key_* fields come from
LiteLLM's own LiteLLMProxyRequestSetup.get_sanitized_user_information_from_key of the key's UserAPIKeyAuth.
  * five LiteLLM team records: a UUID team id (user_api_key_team_id; SpendLogs team_id) and an alias
    (user_api_key_team_alias), e.g. "Support Automation";
  * team keys: one per team and environment, shared by the team's two services, which say which they are in
    spend_logs_metadata (service, cost_center, environment, workflow) and tags ("service:<name>");
  * a second team record for Data Platform, alias "data-platform" beside "Data Platform", whose newer key the
    sql-assistant uses (free-form-tag: a second team record);
  * cost centers FIN- and four digits, and "q3 campaign" typed on a few sales requests (free-form-tag; with the
    policy pattern also invalid-value);
  * keys without a team: a personal key whose owner types the team's name in spend_logs_metadata.team_id
    (free-form-tag: a name where the id goes), a batch key with no owner at all (missing-owner), and sales' old
    key from before the teams, which its services tag with their team id and a research service copied
    (copied-key: a team key always logs its own team, so only a key without one can carry two teams).
The other sources (OpenLIT, Langfuse, Helicone, Portkey) are the teams' own instrumentation: team slugs
("support-automation") as team ids, which audited beside the LiteLLM files are spellings of the team names.

Deterministic: uuid4 is seeded before LiteLLM is imported, timestamps are set after the fact (startTime,
endTime, completionStartTime, response_time; OTLP start/end nanos; ids of OTLP spans are seeded), so a
re-run writes the same files. Prompts never reach the samples: messages/response are replaced with null.

Outputs (sample_logs/):
  litellm_payload.jsonl        StandardLoggingPayload objects (kwargs["standard_logging_object"] of a CustomLogger)
  litellm_spendlogs.json       the same calls as LiteLLM_SpendLogs rows, built by LiteLLM's own
                               proxy/spend_tracking/spend_tracking_utils.get_logging_payload (GET /spend/logs shape)
  litellm_spendlogs.csv        the same rows as a table export (JSON columns as JSON text)
  openlit_otlp.jsonl           OpenLIT spans as the Collector file exporter writes them (one ExportTraceServiceRequest a line)
  langfuse_observations.jsonl  hand-written, Langfuse observation fields (see VENDOR FIELDS below)
  helicone_requests.csv        hand-written, Helicone request export columns
  portkey_logs.json            hand-written, Portkey log export fields (cost in cents)
  tests/data/sample_expected_defects.json  {file: {rule name: [request ids]}} of the seeded defects
"""

from __future__ import annotations

import asyncio
import base64
import copy
import csv
import hashlib
import io
import json
import os
import random
import re
import sys
import threading
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SEED = 20260504
_rng = random.Random(SEED)
_uuid_rng = random.Random(SEED + 1)
uuid.uuid4 = lambda: uuid.UUID(int=_uuid_rng.getrandbits(128), version=4)  # noqa: E731 - before litellm imports
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("OTEL_SDK_DISABLED", "false")

OUT = Path(__file__).resolve().parent.parent / "sample_logs"
UTC = timezone.utc
PERIOD_START = datetime(2026, 5, 4, tzinfo=UTC)  # two weeks: 2026-05-04 .. 2026-05-17

# ---- the organisation -------------------------------------------------------------------------

# LiteLLM team records: a UUID (team_id) and the alias people see (team_alias). The ids come from their own
# seeded generator (not uuid4, which LiteLLM draws from) so they are the same in every run and every output.
_team_rng = random.Random(SEED + 3)


def _team_uuid() -> str:
    return str(uuid.UUID(int=_team_rng.getrandbits(128), version=4))


# Keys of TEAMS are the slugs the teams' own instrumentation (OpenLIT, Langfuse, Helicone, Portkey) writes as
# team.id; LiteLLM writes the team record's UUID and alias. Cost centers follow the finance shape FIN-####.
TEAMS = {
    "support-automation": {"id": _team_uuid(), "alias": "Support Automation", "cost_center": "FIN-4210",
                           "services": ["ticket-triage", "reply-drafter"]},
    "sales-enablement": {"id": _team_uuid(), "alias": "Sales Enablement", "cost_center": "FIN-5120",
                         "services": ["lead-scorer", "email-writer"]},
    "internal-agents": {"id": _team_uuid(), "alias": "Internal Agents", "cost_center": "FIN-6300",
                        "services": ["it-helpdesk-agent", "doc-search"]},
    "research": {"id": _team_uuid(), "alias": "Research", "cost_center": "FIN-7001",
                 "services": ["paper-summarizer", "literature-search"]},
    # LiteLLM only: its traffic goes through the gateway alone.
    "data-platform": {"id": _team_uuid(), "alias": "Data Platform", "cost_center": "FIN-8100",
                      "services": ["pipeline-docs", "sql-assistant"]},
}
# A second LiteLLM team record for Data Platform, created later with another spelling of its name; the
# sql-assistant's new key was issued under it, which splits Data Platform's spend across two team ids.
SECOND_TEAM_RECORD = {"id": _team_uuid(), "alias": "data-platform", "of": "data-platform"}
MODELS = [  # (litellm model, provider, weight)
    ("gpt-4o-mini", "openai", 5),
    ("gpt-4.1-mini", "openai", 3),
    ("gpt-4o", "openai", 2),
    ("anthropic/claude-haiku-4-5-20251001", "anthropic", 3),
    ("anthropic/claude-sonnet-4-5-20250929", "anthropic", 1),
]


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _virtual_key(alias: str) -> str:
    """The sha256 of a virtual key (LiteLLM stores and logs only the hash)."""
    return key_hash(f"sk-litellm-{alias}-{SEED}")


def team_key(team: str, env: str, record: dict | None = None) -> dict:
    """A LiteLLM team key: one per team and environment, shared by all the team's services (they tell
    themselves apart by spend_logs_metadata and tags). ``record``: the team record it was issued under."""
    record = record or TEAMS[team]
    alias = f"{team}-{'prod' if env == 'production' else env}" + ("-v2" if record is not TEAMS[team] else "")
    return {"alias": alias, "hash": _virtual_key(alias), "team_id": record["id"], "team_alias": record["alias"], "user_id": None}


def user_key(alias: str, user_id: str | None) -> dict:
    """A key with no team (a personal key, or one made before the LiteLLM teams existed)."""
    return {"alias": alias, "hash": _virtual_key(alias), "team_id": None, "team_alias": None, "user_id": user_id}


def rand_time(day_from: int = 0, days: int = 14, rng: random.Random = _rng) -> datetime:
    day = PERIOD_START + timedelta(days=rng.randrange(day_from, day_from + days))
    return day + timedelta(hours=rng.randint(7, 19), minutes=rng.randint(0, 59), seconds=rng.randint(0, 59),
                           microseconds=rng.randrange(0, 1_000_000, 1000))


# ---- LiteLLM ----------------------------------------------------------------------------------


def litellm_samples() -> dict[str, dict[str, list[str]]]:
    import litellm
    from litellm import ModelResponse
    from litellm.integrations.custom_logger import CustomLogger
    from litellm.proxy._types import UserAPIKeyAuth
    from litellm.proxy.litellm_pre_call_utils import LiteLLMProxyRequestSetup
    from litellm.proxy.spend_tracking.spend_tracking_utils import get_logging_payload
    from litellm.types.utils import PromptTokensDetailsWrapper, Usage

    litellm.disable_add_user_agent_to_request_tags = True
    events: list[tuple[dict, dict]] = []
    seen: set = set()

    class Capture(CustomLogger):
        def _keep(self, kwargs, response_obj, start_time, end_time):
            slo = copy.deepcopy(kwargs["standard_logging_object"])
            seen_key = (slo.get("litellm_call_id"), slo.get("id"), slo.get("status"))
            if seen_key in seen:  # a cache hit may reach both the sync and the async hook
                return
            seen.add(seen_key)
            try:
                # a mocked exception reaches the failure hook without times; the times are set later anyway
                now = datetime.now(UTC)
                start_time, end_time = start_time or end_time or now, end_time or start_time or now
                kwargs = {**kwargs, "completion_start_time": kwargs.get("completion_start_time") or end_time}
                spend = get_logging_payload(kwargs, response_obj, start_time, end_time)
                spend = json.loads(json.dumps(dict(spend), default=str))
            except Exception as exc:  # noqa: BLE001
                print("get_logging_payload failed:", exc, file=sys.stderr)
                spend = None
            events.append((slo, spend))

        def log_success_event(self, kwargs, response_obj, start_time, end_time):
            self._keep(kwargs, response_obj, start_time, end_time)

        def log_failure_event(self, kwargs, response_obj, start_time, end_time):
            self._keep(kwargs, response_obj, start_time, end_time)

        async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
            self._keep(kwargs, response_obj, start_time, end_time)

        async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):
            self._keep(kwargs, response_obj, start_time, end_time)

    litellm.callbacks = [Capture()]
    litellm.cache = litellm.Cache(type="local")

    def proxy_metadata(team: str | None, service: str, env: str, *, cost_center: str | None = None, key: dict | None = None,
                       team_in_spend_logs: str | None = None, workflow: str | None = None, tags: list[str] | None = None,
                       traffic_class: str | None = None, extra: dict | None = None, no_key: bool = False,
                       rng: random.Random = _rng) -> dict:
        """What the LiteLLM proxy puts into litellm_params.metadata for a request of a virtual key: the key's
        user_api_key_* fields as the proxy logs them (LiteLLMProxyRequestSetup.get_sanitized_user_information_from_key
        of the key's UserAPIKeyAuth: the sha256 hash, the key's alias, the team record's id and alias of a team key),
        and the client's own metadata (spend_logs_metadata, tags) which the proxy also keeps as requester_metadata.
        ``team``: the team the request is for (its cost center; the key's team unless ``key`` says otherwise)."""
        slm = {"service": service, "cost_center": TEAMS[team]["cost_center"] if team and cost_center is None else cost_center,
               "environment": env}
        if team_in_spend_logs is not None:
            slm["team_id"] = team_in_spend_logs
        if workflow:
            slm["workflow"] = workflow
        if traffic_class:
            slm["traffic_class"] = traffic_class
        if extra:
            slm.update(extra)
        client_md = {"spend_logs_metadata": slm, "tags": tags or [f"service:{service}"]}
        md: dict = {"spend_logs_metadata": slm, "tags": client_md["tags"], "requester_metadata": client_md,
                    "requester_ip_address": f"10.20.{rng.randint(0, 9)}.{rng.randint(2, 250)}", "user_agent": "OpenAI/Python 1.99.1"}
        if not no_key:  # an SDK call outside the proxy has no virtual key, so no user_api_key_* at all
            k = key or team_key(team, env)
            auth = UserAPIKeyAuth(api_key=k["hash"], key_alias=k["alias"], team_id=k["team_id"], team_alias=k["team_alias"],
                                  user_id=k["user_id"])
            md.update(LiteLLMProxyRequestSetup.get_sanitized_user_information_from_key(auth))
            md["user_api_key"] = LiteLLMProxyRequestSetup.get_logged_api_key(auth)  # as add_user_api_key_auth_to_request_metadata
        return md

    def mock(model: str, provider: str, pin: int, pout: int, cached: int = 0, cache_write: int = 0) -> ModelResponse:
        if provider == "anthropic":
            usage = Usage(prompt_tokens=pin, completion_tokens=pout, total_tokens=pin + pout,
                          prompt_tokens_details=PromptTokensDetailsWrapper(cached_tokens=cached),
                          cache_read_input_tokens=cached, cache_creation_input_tokens=cache_write)
        else:
            usage = Usage(prompt_tokens=pin, completion_tokens=pout, total_tokens=pin + pout,
                          prompt_tokens_details=PromptTokensDetailsWrapper(cached_tokens=cached))
        return ModelResponse(model=model.split("/")[-1], usage=usage,
                             choices=[{"message": {"role": "assistant", "content": "(mock)"}, "finish_reason": "stop", "index": 0}])

    # plan: a list of logical calls; each returns how many log events it makes
    plan: list[dict] = []
    teams = list(TEAMS)
    for i in range(240):
        team = teams[i % 4]
        svc = _rng.choice(TEAMS[team]["services"])
        model, provider, _ = _rng.choices(MODELS, weights=[m[2] for m in MODELS])[0]
        env = "production" if _rng.random() < 0.85 else "staging"
        pin = _rng.randint(200, 6000)
        pout = _rng.randint(20, 900)
        cached = (pin // 1024) * 1024 if (pin > 1100 and _rng.random() < 0.3) else 0
        tc = None
        if team == "research" and svc == "literature-search" and env == "staging":
            tc = "eval"
        plan.append({"kind": "plain", "team": team, "service": svc, "model": model, "provider": provider, "env": env,
                     "pin": pin, "pout": pout, "cached": cached, "traffic_class": tc,
                     "workflow": f"{svc}-flow", "t": rand_time()})
    def add(rule: str, call: dict) -> None:
        plan.append(call)
        call.setdefault("rules", []).append(rule)

    def base(team="support-automation", svc="ticket-triage", model="gpt-4o-mini", provider="openai", env="production",
             rng: random.Random = _rng, **kw):
        c = {"kind": "plain", "team": team, "service": svc, "model": model, "provider": provider, "env": env,
             "pin": rng.randint(400, 3000), "pout": rng.randint(50, 500), "cached": 0, "workflow": f"{svc}-flow",
             "t": rand_time(rng=rng), "rng": rng}
        c.update(kw)
        return c

    # missing-owner: a key with no team and no team in the metadata; an empty cost center
    for _ in range(3):
        add("missing-owner", base(team=None, svc="batch-enricher", key=user_key("shared-batch-prod", None)))
    for _ in range(2):
        add("missing-owner", base(team="sales-enablement", svc="lead-scorer", cost_center=""))
    # missing-field: an SDK call outside the proxy: no virtual key at all (the team only as the client's own tag)
    for _ in range(2):
        add("missing-field", base(team="internal-agents", svc="doc-search", no_key=True,
                                  team_in_spend_logs=TEAMS["internal-agents"]["id"]))
    # invalid-value (with the policy pattern ^FIN-[0-9]{4}$): cost center "FIN 4210"
    for _ in range(2):
        add("invalid-value", base(cost_center="FIN 4210"))
    # copied-key: the proxy logs a team key's own team on every request (user_api_key_team_id), so a team key
    # cannot carry another team's traffic; a key without a team can. Sales' old key from before the LiteLLM
    # teams (its services name their team in spend_logs_metadata) copied into a research service. Sales' own
    # requests on it are drawn below with the other additions. The support production key used in staging
    # is environment-bleed only: a key is a team's and an environment's (issue 15), not a service's.
    sales_legacy_key = user_key("sales-legacy-prod", "u-mlee")
    for _ in range(3):
        add("copied-key", base(team="research", svc="literature-search", key=sales_legacy_key,
                               team_in_spend_logs=TEAMS["research"]["id"]))
    for _ in range(2):
        add("environment-bleed", base(env="staging", key=team_key("support-automation", "production")))
    # free-form-tag: a personal key with no team; the team typed by hand in spend_logs_metadata (its name, not its id)
    for spelling in ["Support Automation", "Support Automation", "support_automation", "support_automation", "supp-automation"]:
        add("free-form-tag", base(team=None, key=user_key("jdoe-personal", "u-jdoe"), team_in_spend_logs=spelling,
                                  cost_center=TEAMS["support-automation"]["cost_center"]))
    # missing-cost: a fine-tuned model LiteLLM has no price for: response_cost null
    for _ in range(3):
        add("missing-cost", base(model="openai/acme-triage-llm-v2", svc="ticket-triage"))
    # duplicate-request: the same payload written twice
    for _ in range(3):
        add("duplicate-request", base(team="internal-agents", svc="it-helpdesk-agent", duplicate=True))
    # secret-in-log: a raw key pasted into client metadata
    for _ in range(2):
        secret = "sk-proj-" + "".join(_rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(48))
        add("secret-in-log", base(team="sales-enablement", svc="email-writer", extra={"debug_upstream_key": secret}))
    # untagged-eval-traffic: a nightly regression eval run against production, not marked as eval
    for _ in range(4):
        add("untagged-eval-traffic", base(team="research", svc="paper-summarizer", workflow="nightly-regression-eval",
                                          tags=["eval", "regression"]))
    # stale-price: o3 in June 2025, priced at the pre-2025-06-10 $10/$40 per 1M (a gateway with a stale custom price)
    for d in (12, 16, 20):
        add("stale-price", base(team="research", svc="literature-search", model="o3", pin=2000, pout=1500,
                                custom_price=(10e-6, 40e-6), t=datetime(2025, 6, d, 14, 5, 0, tzinfo=UTC)))
    # cost-mismatch: a custom price that is no published price of the model (a model no other call uses:
    # LiteLLM keeps a per-call custom price for the model for the rest of the process)
    for _ in range(3):
        add("cost-mismatch", base(team="sales-enablement", svc="email-writer", model="gpt-4.1-nano", custom_price=(0.33e-6, 0.9e-6)))
    # cache hits (clean: cost 0 on a cache hit is right): the same request twice with caching on
    for _ in range(3):
        c = base(team="internal-agents", svc="doc-search", cache=True)
        plan.append(c)
    # router retries: a deployment that answers 429 first, a retry to the next deployment (shared trace_id)
    for _ in range(4):
        plan.append(base(kind="router", team="support-automation", svc="reply-drafter", model="gpt-4o"))
    # unlinked-retry: router retries whose failed first attempt was logged by another gateway replica (own trace)
    for _ in range(3):
        add("unlinked-retry", base(kind="router", team="sales-enablement", svc="lead-scorer", model="gpt-4o", unlink=True))

    # ---- issue 15: drawn from their own generator, so the calls above keep their tokens, times and costs
    more = random.Random(SEED + 4)
    # sales' own requests on its old team-less key (the home of the copied key above)
    for _ in range(6):
        plan.append(base(team="sales-enablement", svc="lead-scorer", key=sales_legacy_key, rng=more,
                         team_in_spend_logs=TEAMS["sales-enablement"]["id"]))
    # a free-text cost center beside the FIN-#### ones (off the shape; with the policy pattern also invalid-value)
    for _ in range(4):
        add("free-form-tag", base(team="sales-enablement", svc="email-writer", cost_center="q3 campaign", rng=more))
        plan[-1]["rules"].append("invalid-value")
    # Data Platform: one team key (production) for its two services; the sql-assistant's newer key belongs to the
    # second team record ("data-platform" beside "Data Platform"): those requests are flagged (free-form-tag)
    for i in range(36):
        svc = TEAMS["data-platform"]["services"][i % 2]
        model, provider, _ = more.choices(MODELS[:3], weights=[m[2] for m in MODELS[:3]])[0]
        call = base(team="data-platform", svc=svc, model=model, provider=provider, rng=more,
                    pin=more.randint(300, 4000), pout=more.randint(30, 600))
        if svc == "sql-assistant" and i >= 24:
            call["key"] = team_key("data-platform", "production", SECOND_TEAM_RECORD)
            call.setdefault("rules", []).append("free-form-tag")
        plan.append(call)

    plan.sort(key=lambda c: c["t"])

    def new_router() -> "litellm.Router":  # a fresh router per request: no cooldown carried over
      return litellm.Router(model_list=[
        {"model_name": "gpt-4o", "litellm_params": {"model": "openai/gpt-4o", "api_key": "mock", "mock_response": "litellm.RateLimitError", "order": 1},
         "model_info": {"id": "gpt-4o-eastus"}},
        {"model_name": "gpt-4o", "litellm_params": {"model": "openai/gpt-4o", "api_key": "mock", "mock_response": "(mock)", "order": 2},
         "model_info": {"id": "gpt-4o-westus"}},
    ], num_retries=2, retry_after=0)

    rows: list[tuple[dict, dict, dict]] = []  # (payload, spendlog, call)

    async def wait_for(n: int) -> None:
        for _ in range(200):
            if len(events) >= n:
                return
            await asyncio.sleep(0.02)
        raise RuntimeError(f"expected {n} logging events, got {len(events)}")

    async def run() -> None:
        for call in plan:
            rng = call.get("rng", _rng)
            md = proxy_metadata(call["team"], call["service"], call["env"], cost_center=call.get("cost_center"), key=call.get("key"),
                                team_in_spend_logs=call.get("team_in_spend_logs"), workflow=call.get("workflow"), tags=call.get("tags"),
                                traffic_class=call.get("traffic_class"), extra=call.get("extra"), no_key=call.get("no_key", False),
                                rng=rng)
            before = len(events)
            messages = [{"role": "user", "content": f"request {len(rows)}"}]
            if call["kind"] == "router":
                await new_router().acompletion(model="gpt-4o", messages=messages, metadata=md)
                await wait_for(before + 2)
            else:
                kw = {}
                if "custom_price" in call:
                    kw = {"input_cost_per_token": call["custom_price"][0], "output_cost_per_token": call["custom_price"][1]}
                resp = mock(call["model"], call["provider"], call["pin"], call["pout"], call["cached"])
                if call.get("cache"):
                    await litellm.acompletion(model=call["model"], messages=messages, mock_response=resp, metadata=md, caching=True)
                    await wait_for(before + 1)
                    await litellm.acompletion(model=call["model"], messages=messages, mock_response=resp,
                                              metadata=copy.deepcopy(md), caching=True)
                    await wait_for(before + 2)
                else:
                    saved = copy.deepcopy(litellm.model_cost.get(call["model"]))
                    await litellm.acompletion(model=call["model"], messages=messages, mock_response=resp, metadata=md, **kw)
                    await wait_for(before + 1)
                    if kw and saved is not None:  # LiteLLM registers a per-call custom price for the model globally
                        litellm.model_cost[call["model"]] = saved
                        litellm.model_cost.pop(f"openai/{call['model']}", None)
            await asyncio.sleep(0.05)
            new = events[before:]
            t = call["t"]
            for j, (slo, spend) in enumerate(new):
                rows.append((slo, spend, {**call, "t": t, "attempt": j}))
                t = t + timedelta(seconds=rng.uniform(0.8, 4.0))
        await asyncio.sleep(0.2)

    asyncio.run(run())

    # deterministic times, prompts removed
    payloads, spendlogs, ids_by_rule = [], [], {}
    unlink_trace = {}
    for slo, spend, call in rows:
        start = call["t"] + timedelta(seconds=call["attempt"] * 1.5)
        rng = call.get("rng", _rng)
        latency = round(rng.uniform(0.3, 6.0), 3) if slo["status"] == "success" else round(rng.uniform(0.05, 0.4), 3)
        end = start + timedelta(seconds=latency)
        slo["startTime"], slo["endTime"] = start.timestamp(), end.timestamp()
        slo["completionStartTime"] = slo["endTime"]
        slo["response_time"] = latency
        slo["messages"] = None
        slo["response"] = None
        if slo.get("metadata", {}).get("cold_storage_object_key"):
            slo["metadata"]["cold_storage_object_key"] = None
        if call.get("unlink"):
            # the failed attempt came from another replica: its own trace id
            if call["attempt"] == 0:
                slo["trace_id"] = str(uuid.uuid4())
        if spend is not None:
            spend["startTime"] = start.isoformat()
            spend["endTime"] = end.isoformat()
            spend["completionStartTime"] = end.isoformat()
            spend["request_duration_ms"] = int(latency * 1000)
            spend["messages"], spend["response"], spend["proxy_server_request"] = {}, {}, {}
            if isinstance(spend.get("metadata"), str):  # wall-clock overhead: not reproducible (kept as LiteLLM wrote the rest)
                spend["metadata"] = re.sub(r'"litellm_overhead_time_ms": ?[-+0-9.eE]+', '"litellm_overhead_time_ms": null',
                                           spend["metadata"])
            if call.get("unlink") and call["attempt"] == 0:
                spend["session_id"] = slo["trace_id"]
        if "_cache_hit" in slo["id"]:  # LiteLLM suffixes a cache hit's id with the wall-clock time: use the set one
            slo["id"] = f"{slo['id'].split('_cache_hit')[0]}_cache_hit{start.timestamp()}"
            if spend is not None:
                spend["request_id"] = slo["id"]
        rid = slo["id"]
        implied = {"missing-cost": ["unpriced-model"], "invalid-value": ["free-form-tag"]}
        for rule in dict.fromkeys([*call.get("rules", []), *(x for r in call.get("rules", []) for x in implied.get(r, []))]):
            if rule == "unlinked-retry" and call["attempt"] == 0:
                continue  # the retry (attempt 1) is the unlinked one
            ids_by_rule.setdefault(rule, []).append(rid)
        payloads.append(slo)
        spendlogs.append(spend)
        if call.get("duplicate"):
            payloads.append(copy.deepcopy(slo))
            spendlogs.append(copy.deepcopy(spend))

    # LiteLLM draws its ids from threads as well, so their order varies between runs: renumber every uuid
    # (id, litellm_call_id, trace_id) in order of first appearance, the same way in every output.

    for p in payloads:
        p.setdefault("hidden_params", {})["litellm_overhead_time_ms"] = None
    payload_text = "".join(json.dumps(p, default=str, sort_keys=False) + "\n" for p in payloads)
    id_rng = random.Random(SEED + 2)
    renum: dict[str, str] = {}
    uuid_re = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    team_ids = {t["id"] for t in TEAMS.values()} | {SECOND_TEAM_RECORD["id"]}  # already deterministic: kept
    for m in uuid_re.finditer(payload_text):
        if m.group(0) not in team_ids:
            renum.setdefault(m.group(0), str(uuid.UUID(int=id_rng.getrandbits(128), version=4)))

    # Tracebacks of failed attempts name the files of this run's interpreter and venv: written as a proxy
    # container's paths, so that where the generating venv lives does not change the samples.
    site = str(Path(litellm.__file__).resolve().parent.parent)
    stdlib = str(Path(os.__file__).resolve().parent)
    paths = [(site, "/usr/local/lib/python3.11/site-packages"), (stdlib, "/usr/local/lib/python3.11")]

    def fix(text: str) -> str:
        for real, shown in paths:
            text = text.replace(real + "/", shown + "/")
        return uuid_re.sub(lambda m: renum.get(m.group(0), m.group(0)), text)

    ids_by_rule = {rule: [fix(i) for i in ids] for rule, ids in ids_by_rule.items()}
    spendlogs = [json.loads(fix(json.dumps(x, default=str))) if x is not None else None for x in spendlogs]
    (OUT / "litellm_payload.jsonl").write_text(fix(payload_text), encoding="utf-8")
    spend_rows = [s for s in spendlogs if s is not None]
    api_rows = copy.deepcopy(spend_rows)
    for r in api_rows:  # the API returns the Json columns parsed; the table export keeps them as JSON text
        for c in ("metadata", "request_tags"):
            if isinstance(r.get(c), str):
                r[c] = json.loads(r[c])
    (OUT / "litellm_spendlogs.json").write_text(json.dumps(api_rows, indent=1, default=str) + "\n", encoding="utf-8")
    cols = list(spend_rows[0].keys())
    with open(OUT / "litellm_spendlogs.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for s in spend_rows:
            w.writerow([json.dumps(s.get(c)) if isinstance(s.get(c), (dict, list)) else ("" if s.get(c) is None else s.get(c)) for c in cols])
    by_spend = {rule: list(ids) for rule, ids in ids_by_rule.items()}  # SpendLogs request_id = the payload's id
    # SpendLogs has spend null where the payload has response_cost 0 for an unpriced model: also a missing field
    no_spend = [r["request_id"] for r in spend_rows if r.get("spend") is None]
    if no_spend:
        by_spend["missing-field"] = by_spend.get("missing-field", []) + no_spend
    return {"litellm_payload.jsonl": ids_by_rule, "litellm_spendlogs.json": by_spend, "litellm_spendlogs.csv": by_spend}


# ---- OpenLIT ----------------------------------------------------------------------------------


class _MockOpenAI(BaseHTTPRequestHandler):
    """POST /v1/chat/completions -> a chat.completion whose usage comes from the x-mock-usage header."""

    counter = 0

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        pin, pout, cached = (int(x) for x in (self.headers.get("x-mock-usage") or "100,20,0").split(","))
        _MockOpenAI.counter += 1
        resp = {"id": f"chatcmpl-mock{_MockOpenAI.counter:05d}", "object": "chat.completion", "created": 1778000000,
                "model": body.get("model", "gpt-4o-mini") + ("-2024-07-18" if body.get("model") == "gpt-4o-mini" else ""),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "(mock)"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": pin, "completion_tokens": pout, "total_tokens": pin + pout,
                          "prompt_tokens_details": {"cached_tokens": cached}, "completion_tokens_details": {"reasoning_tokens": 0}}}
        data = json.dumps(resp).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


def otlp_samples() -> dict[str, list[str]]:
    from google.protobuf.json_format import MessageToDict
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.id_generator import IdGenerator

    class SeededIds(IdGenerator):
        def generate_span_id(self) -> int:
            return _rng.getrandbits(64) or 1

        def generate_trace_id(self) -> int:
            return _rng.getrandbits(128) or 1

    server = ThreadingHTTPServer(("127.0.0.1", 0), _MockOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "agent-platform", "deployment.environment": "production",
                                                        "cloud.region": "eu-west-1"}), id_generator=SeededIds())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    import openlit
    from openai import OpenAI

    # OpenLIT downloads its pricing.json at init; offline we hand it the same format (USD per 1K tokens),
    # with the prices of genai-prices for the two models used.
    pricing = OUT.parent / "build" / "openlit_pricing.json"
    pricing.parent.mkdir(exist_ok=True)
    pricing.write_text(json.dumps({"chat": {
        "gpt-4o-mini": {"promptPrice": 0.00015, "completionPrice": 0.0006, "cacheReadPrice": 0.000075},
        "gpt-4.1-mini": {"promptPrice": 0.0004, "completionPrice": 0.0016, "cacheReadPrice": 0.0001}}}))
    openlit.init(environment="production", application_name="agent-platform", capture_message_content=False,
                 disable_metrics=True, disable_events=True, disable_batch=True, pricing_json=str(pricing))
    client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="mock-not-a-key", max_retries=0)
    tracer = trace.get_tracer("acme.agents")

    def llm(model: str, pin: int, pout: int, cached: int, attrs: dict) -> None:
        with _attrs(attrs):  # what openlit.using_attributes() does: custom attributes for the spans inside
            client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}],
                                           extra_headers={"x-mock-usage": f"{pin},{pout},{cached}"})

    from contextlib import contextmanager
    from openlit.__helpers import reset_custom_attributes, set_custom_attributes

    @contextmanager
    def _attrs(attrs: dict):
        tok = set_custom_attributes(attrs)
        try:
            yield
        finally:
            reset_custom_attributes(tok)

    def owner(team: str, service: str, env: str = "production") -> dict:
        return {"team.id": team, "cost_center": TEAMS[team]["cost_center"], "service.name": service, "deployment.environment": env}

    expected: dict[str, list[str]] = {"missing-on-behalf-of": []}
    trace_plan = []
    for i in range(24):
        trace_plan.append(i)
    missing_obo_llm_names = []
    for i in trace_plan:
        t0 = rand_time()
        caller = "internal-agents"
        tool_team = ["support-automation", "research", "sales-enablement"][i % 3]
        cross = i % 2 == 0
        with tracer.start_as_current_span("invoke_agent it-helpdesk", attributes={
                "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "it-helpdesk", **owner(caller, "it-helpdesk-agent"),
                "enduser.id": f"employee-{_rng.randint(100, 999)}"}):
            # the agent's own planning call
            llm("gpt-4o-mini", _rng.randint(800, 3000), _rng.randint(50, 300), 0, {**owner(caller, "it-helpdesk-agent"), "workflow.id": "helpdesk"})
            if cross:
                with tracer.start_as_current_span(f"execute_tool {tool_team}-lookup", attributes={
                        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": f"{tool_team}-lookup", **owner(tool_team, f"{tool_team}-tool")}):
                    attrs = owner(tool_team, f"{tool_team}-tool")
                    if i % 4 == 0:
                        attrs["on_behalf_of"] = caller
                    else:
                        missing_obo_llm_names.append(i)
                    pin = _rng.randint(1200, 5000)
                    llm(_rng.choice(["gpt-4o-mini", "gpt-4.1-mini"]), pin, _rng.randint(40, 400), (pin // 1024) * 1024 if i % 3 == 0 else 0, attrs)
            else:
                with tracer.start_as_current_span("execute_tool kb-search", attributes={
                        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "kb-search", **owner(caller, "doc-search")}):
                    llm("gpt-4o-mini", _rng.randint(500, 2000), _rng.randint(40, 200), 0, owner(caller, "doc-search"))
        trace_plan[i] = (i, t0)
    server.shutdown()
    spans = list(exporter.get_finished_spans())
    provider.shutdown()

    # group spans by trace, deterministic times inside each trace
    by_trace: dict[int, list] = {}
    for s in spans:
        by_trace.setdefault(s.context.trace_id, []).append(s)
    lines = []
    old_style = set()
    for n, (tid, group) in enumerate(by_trace.items()):
        i, t0 = trace_plan[n]
        base_ns = int(t0.timestamp() * 1e9)
        req = MessageToDict(encode_spans(group))
        order = {s.context.span_id: k for k, s in enumerate(sorted(group, key=lambda s: s.start_time))}
        for rs in req["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for sp in ss["spans"]:
                    # MessageToDict writes ids as base64: the Collector's JSON uses lowercase hex.
                    for k in ("traceId", "spanId", "parentSpanId"):
                        if sp.get(k):
                            sp[k] = base64.b64decode(sp[k]).hex()
                    k_ = order[int(sp["spanId"], 16)]
                    st = base_ns + k_ * 150_000_000
                    sp["startTimeUnixNano"] = str(st)
                    sp["endTimeUnixNano"] = str(st + (1_000_000_000 - k_ * 100_000_000))
                    attrs = {a["key"]: a for a in sp.get("attributes", [])}
                    for a in attrs.values():  # the mock server's random port, fixed so that re-runs give the same file
                        v = a["value"]
                        if "stringValue" in v and f"127.0.0.1:{port}" in v["stringValue"]:
                            v["stringValue"] = v["stringValue"].replace(f"127.0.0.1:{port}", "127.0.0.1:8000")
                        elif a["key"] == "server.port":
                            a["value"] = {"intValue": "8000"} if "intValue" in v else {"stringValue": "8000"}
                    for drop in ("gen_ai.server.time_to_first_token", "gen_ai.server.time_per_output_token",
                                 "gen_ai.client.operation.duration", "gen_ai.server.request.duration"):
                        attrs.pop(drop, None)
                    sp["attributes"] = list(attrs.values())
        if n % 6 == 5:
            # an older OpenLIT: gen_ai.system, prompt/completion tokens, gen_ai.environment / application_name
            ren = {"gen_ai.provider.name": "gen_ai.system", "gen_ai.usage.input_tokens": "gen_ai.usage.prompt_tokens",
                   "gen_ai.usage.output_tokens": "gen_ai.usage.completion_tokens", "deployment.environment": "gen_ai.environment",
                   "service.name": "gen_ai.application_name"}
            for rs in req["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    for sp in ss["spans"]:
                        for a in sp.get("attributes", []):
                            a["key"] = ren.get(a["key"], a["key"])
            old_style.add(n)
        if n % 4 == 3:
            # 64-bit ints as JSON numbers (proto3 JSON allows both)
            for rs in req["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    for sp in ss["spans"]:
                        sp["startTimeUnixNano"] = int(sp["startTimeUnixNano"])
                        sp["endTimeUnixNano"] = int(sp["endTimeUnixNano"])
                        for a in sp.get("attributes", []):
                            if "intValue" in a["value"]:
                                a["value"]["intValue"] = int(a["value"]["intValue"])
        lines.append((i, req))
    for _, req in lines:  # a tool's LLM span of another team than the calling agent, without on_behalf_of
        spans_ = [sp for rs in req["resourceSpans"] for ss in rs["scopeSpans"] for sp in ss["spans"]]
        by_id = {sp["spanId"]: sp for sp in spans_}
        av = lambda sp: {a["key"]: next(iter(a["value"].values())) for a in sp.get("attributes", [])}  # noqa: E731
        for sp in spans_:
            a = av(sp)
            parent = by_id.get(sp.get("parentSpanId", ""))
            root = by_id.get(parent.get("parentSpanId", "")) if parent else None
            if a.get("gen_ai.operation.name") == "chat" and parent and root and "on_behalf_of" not in a \
                    and av(parent).get("gen_ai.operation.name") == "execute_tool" and av(root).get("team.id") != a.get("team.id"):
                expected["missing-on-behalf-of"].append(sp["spanId"])
    with open(OUT / "openlit_otlp.jsonl", "w", encoding="utf-8") as fh:
        for _, req in lines:
            fh.write(json.dumps(req, separators=(",", ":")) + "\n")
    return expected


# ---- vendors that cannot run here: hand-written exports in their real field names -------------
# VENDOR FIELDS (where each field list comes from):
#  Langfuse: the observation object of the public API (GET /api/public/observations) and the
#    observations export: id, traceId/trace_id, projectId, environment, type (GENERATION/SPAN/EVENT/AGENT/TOOL),
#    name, parentObservationId, startTime, endTime, level, statusMessage, model (providedModelName in the UI
#    export: provided_model_name), usageDetails {input, output, total, input_cached_tokens...},
#    costDetails {input, output, total}, totalCost, metadata, userId, sessionId, tags.  The snake_case export
#    column names are the ones listed in shared/reference/formats.md (checked against Langfuse's docs).
#  Helicone: the request export / GET request query: request_id, request_created_at, request_user_id,
#    request_properties (Helicone-Property-* headers, stored without the prefix), request_model, response_model,
#    provider, response_status, prompt_tokens, completion_tokens, prompt_cache_read_tokens,
#    prompt_cache_write_tokens, total_tokens, costUSD.
#  Portkey: the logs export: created_at, is_success, ai_org, ai_model, req_units, res_units, total_units,
#    cost (in cents), cost_currency, response_status_code, cache_status, retry_success_count, trace_id,
#    metadata (with _user), plus id.


def _price(model: str) -> tuple[float, float, float]:
    return {"gpt-4o-mini": (0.15, 0.60, 0.075), "gpt-4.1-mini": (0.40, 1.60, 0.10), "gpt-4o": (2.5, 10.0, 1.25),
            "claude-haiku-4-5-20251001": (1.0, 5.0, 0.10)}[model]


def _cost(model: str, pin: int, pout: int, cached: int = 0) -> float:
    i, o, c = _price(model)
    return round(((pin - cached) * i + cached * c + pout * o) / 1e6, 10)


def vendor_samples() -> dict[str, dict[str, list[str]]]:
    expected: dict[str, dict[str, list[str]]] = {}
    # Langfuse observations: traces with an AGENT span and GENERATION children
    obs = []
    exp_lf: dict[str, list[str]] = {}
    for n in range(20):
        team = list(TEAMS)[n % 4]
        svc = TEAMS[team]["services"][n % 2]
        t = rand_time()
        trace_id = f"{_rng.getrandbits(128):032x}"
        agent_id = str(uuid.uuid4())
        md = {"team_id": team, "service": svc, "cost_center": TEAMS[team]["cost_center"], "api_key_alias": f"{team}-prod"}
        obs.append({"id": agent_id, "trace_id": trace_id, "project_id": "cm7acmeprod01", "environment": "production", "type": "AGENT",
                    "name": f"{svc}-agent", "parent_observation_id": None, "start_time": t.isoformat().replace("+00:00", "Z"),
                    "end_time": (t + timedelta(seconds=4)).isoformat().replace("+00:00", "Z"), "level": "DEFAULT", "status_message": None,
                    "provided_model_name": None, "usage_details": {}, "cost_details": {}, "total_cost": None, "metadata": md,
                    "user_id": f"user-{n:03d}", "session_id": f"sess-{n // 2:03d}", "tags": [f"team:{team}"]})
        for k in range(2):
            model = ["gpt-4o-mini", "claude-haiku-4-5-20251001"][k]
            pin, pout = _rng.randint(300, 3000), _rng.randint(30, 400)
            c = _cost(model, pin, pout)
            gid = str(uuid.uuid4())
            gmd = dict(md, provider="openai" if k == 0 else "anthropic")
            level = "DEFAULT"
            if n == 7 and k == 1:
                gmd.pop("team_id")
                exp_lf.setdefault("missing-owner", []).append(gid)
            obs.append({"id": gid, "trace_id": trace_id, "project_id": "cm7acmeprod01", "environment": "production", "type": "GENERATION",
                        "name": "chat", "parent_observation_id": agent_id,
                        "start_time": (t + timedelta(seconds=1 + k)).isoformat().replace("+00:00", "Z"),
                        "end_time": (t + timedelta(seconds=2 + k)).isoformat().replace("+00:00", "Z"), "level": level,
                        "status_message": None, "provided_model_name": model,
                        "usage_details": {"input": pin, "output": pout, "total": pin + pout},
                        "cost_details": {"input": round(c - pout * _price(model)[1] / 1e6, 10), "output": round(pout * _price(model)[1] / 1e6, 10), "total": c},
                        "total_cost": c, "metadata": gmd, "user_id": f"user-{n:03d}", "session_id": f"sess-{n // 2:03d}",
                        "tags": [f"team:{team}"]})
    with open(OUT / "langfuse_observations.jsonl", "w", encoding="utf-8") as fh:
        for o in obs:
            fh.write(json.dumps(o) + "\n")
    expected["langfuse_observations.jsonl"] = exp_lf

    # Helicone request export (CSV)
    exp_hc: dict[str, list[str]] = {}
    hrows = []
    for n in range(30):
        team = list(TEAMS)[n % 4]
        svc = TEAMS[team]["services"][n % 2]
        model = ["gpt-4o-mini", "gpt-4.1-mini", "gpt-4o"][n % 3]
        pin, pout = _rng.randint(300, 4000), _rng.randint(30, 600)
        cached = 1024 if pin > 2048 and n % 2 else 0
        props = {"Team": team, "Service": svc, "Cost-Center": TEAMS[team]["cost_center"], "Environment": "production",
                 "Api-Key-Id": f"{team}-prod"}
        rid = str(uuid.uuid4())
        cost = _cost(model, pin, pout, cached)
        if n == 11:
            props.pop("Cost-Center")
            exp_hc.setdefault("missing-owner", []).append(rid)
        if n == 19:
            cost = 0
            exp_hc.setdefault("missing-cost", []).append(rid)
        hrows.append({"request_id": rid, "request_created_at": rand_time().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
                      "request_user_id": f"user-{n:03d}", "request_properties": json.dumps(props), "request_model": model,
                      "response_model": model, "provider": "OPENAI", "response_status": 200, "prompt_tokens": pin,
                      "completion_tokens": pout, "prompt_cache_read_tokens": cached, "prompt_cache_write_tokens": 0,
                      "total_tokens": pin + pout, "costUSD": cost})
    with open(OUT / "helicone_requests.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(hrows[0]))
        w.writeheader()
        w.writerows(hrows)
    expected["helicone_requests.csv"] = exp_hc

    # Portkey logs export (JSON array; cost in cents)
    exp_pk: dict[str, list[str]] = {}
    prows = []
    for n in range(24):
        team = list(TEAMS)[n % 4]
        svc = TEAMS[team]["services"][n % 2]
        model, org = [("gpt-4o-mini", "openai"), ("claude-haiku-4-5-20251001", "anthropic")][n % 2]
        pin, pout = _rng.randint(300, 4000), _rng.randint(30, 600)
        cents = round(_cost(model, pin, pout) * 100, 8)
        rid = f"{_rng.getrandbits(64):016x}-{n:04d}"
        md = {"_user": f"user-{n:03d}", "team": team, "service": svc, "cost_center": TEAMS[team]["cost_center"],
              "environment": "production", "api_key_id": f"pk-{team}-prod"}
        if n == 5:  # a team typed by hand
            md["team"] = "Sales Enablement" if team == "sales-enablement" else "sales_enablement"
            exp_pk.setdefault("free-form-tag", []).append(rid)
        prows.append({"id": rid, "created_at": rand_time().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", "is_success": True,
                      "ai_org": org, "ai_model": model, "req_units": pin, "res_units": pout, "total_units": pin + pout,
                      "cost": cents, "cost_currency": "USD", "response_status_code": 200, "cache_status": "MISS",
                      "retry_success_count": 0, "trace_id": f"tr-{n:04d}", "metadata": md})
    (OUT / "portkey_logs.json").write_text(json.dumps(prows, indent=1) + "\n", encoding="utf-8")
    expected["portkey_logs.json"] = exp_pk
    return expected


def main() -> None:
    OUT.mkdir(exist_ok=True)
    expected: dict[str, dict[str, list[str]]] = {}
    expected.update(litellm_samples())
    expected["openlit_otlp.jsonl"] = otlp_samples()
    expected.update(vendor_samples())
    doc = {"_comment": "Seeded defects per sample file: rule name -> request ids (OTLP: span id). invalid-value needs the "
                       "policy pattern cost_center ^FIN-[0-9]{4}$ (sample_logs/policy.toml). Written by scripts/make_samples.py.",
           **{f: {r: ids for r, ids in sorted(rules.items())} for f, rules in sorted(expected.items())}}
    (OUT.parent / "tests" / "data" / "sample_expected_defects.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    for f in sorted(OUT.iterdir()):
        print(f"{f.name}: {f.stat().st_size} bytes")


if __name__ == "__main__":
    main()
