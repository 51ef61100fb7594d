"""Synthetic LiteLLM StandardLoggingPayload records, with defects at known rates, for the benchmark.

Everything is generated column-wise with numpy (fixed seed) into an Arrow table whose nested
structs have the shape LiteLLM's s3 / gcs / generic-API loggers write (``metadata`` with the key
hash, alias and team, ``spend_logs_metadata``, ``usage_object`` with cached tokens,
``hidden_params``, ``model_map_information``, a redacted ``messages``/``response``). The table is
written as JSON Lines (by DuckDB, about 1 KB per record) or as hive-partitioned Parquet
(``date=YYYY-MM-DD/part-N.parquet``) by pyarrow. No Python loop per record.

Defects (fractions of records; each is drawn independently):

* ``missing_team``     metadata.user_api_key_team_id null (no team at all)
* ``missing_tags``     spend_logs_metadata null (no service, cost center, environment, workflow)
* ``copied_key``       the record uses another team's key hash and alias
* ``misspelt_team``    the team id is a near-miss spelling of a real team ("suport-automation")
* ``retry``            a retried attempt (x-litellm-attempted-retries >= 1, retry_of set)
* ``duplicate``        an exact copy of an earlier record (same id): delivered twice
* ``stale_price``      model_map_value carries last quarter's price for the model
* ``off_price``        the cost is 5-60% above what any price gives (a random factor per record); 0 by default

``--flagged`` (FLAGGED_RATES) is the "flagged everywhere" setting of issue 19: nearly every record is sent
with another team's key and costed off the price list, so most records carry two or more findings
(copied-key, cost-mismatch), like a first audit of a real gateway. Clean vs flagged at the same size shows
whether the audit's cost follows the records or the findings.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa

DEFECT_RATES = {
    "missing_team": 0.04,
    "missing_tags": 0.03,
    "copied_key": 0.02,
    "misspelt_team": 0.01,
    "retry": 0.05,
    "duplicate": 0.005,
    "stale_price": 0.03,
}

TEAMS = [
    # team, service, cost center
    ("support-automation", "ticket-triage", "cc-4210"),
    ("search-relevance", "query-rewrite", "cc-4310"),
    ("growth-marketing", "email-writer", "cc-5120"),
    ("finance-ops", "invoice-extract", "cc-6100"),
    ("legal-review", "contract-summary", "cc-6220"),
    ("data-platform", "sql-assistant", "cc-4400"),
    ("mobile-app", "in-app-chat", "cc-4520"),
    ("security-eng", "alert-triage", "cc-4630"),
    ("sales-enablement", "call-notes", "cc-5230"),
    ("hr-people", "policy-qa", "cc-6330"),
    ("research", "paper-digest", "cc-4740"),
    ("platform-infra", "runbook-bot", "cc-4850"),
]
MISSPELT = {
    "support-automation": "suport-automation", "search-relevance": "search-relevence",
    "growth-marketing": "Growth-Marketing", "finance-ops": "finanace-ops", "legal-review": "legal_review",
    "data-platform": "data-platfrom", "mobile-app": "mobile_app", "security-eng": "securty-eng",
    "sales-enablement": "sales-enablment", "hr-people": "HR-people", "research": "reserch",
    "platform-infra": "platform-infa",
}
ENVIRONMENTS = ["production", "production", "production", "staging", "dev"]
WORKFLOWS = ["nightly-batch", "interactive", "agent-loop", "backfill", "eval-suite", "webhook"]
TAGS = ["prod", "Prod", "production", "beta", "experiment", "exp", "customer-facing", "internal", "customer_facing", "Internal"]
# model, provider, (input, output, cache read) $ per token now, and last quarter's (stale) input/output
MODELS = [
    ("gpt-4o-mini", "openai", (1.5e-07, 6e-07, 7.5e-08), (1.65e-07, 6.6e-07)),
    ("gpt-4o", "openai", (2.5e-06, 1e-05, 1.25e-06), (5e-06, 1.5e-05)),
    ("gpt-4.1-mini", "openai", (4e-07, 1.6e-06, 1e-07), (5e-07, 2e-06)),
    ("claude-3-5-haiku-20241022", "anthropic", (8e-07, 4e-06, 8e-08), (1e-06, 5e-06)),
    ("claude-sonnet-4-20250514", "anthropic", (3e-06, 1.5e-05, 3e-07), (3.75e-06, 1.875e-05)),
    ("gemini-2.0-flash", "vertex_ai", (1e-07, 4e-07, 2.5e-08), (1.5e-07, 6e-07)),
    ("text-embedding-3-small", "openai", (2e-08, 0.0, 0.0), (2.5e-08, 0.0)),
]
# Defects the clean data never has; drawn from a generator of their own, so that the clean data stays the same.
EXTRA_DEFECTS = ("off_price",)
# Rates of the "flagged everywhere" setting: the other defects keep their clean rates.
FLAGGED_RATES = {**DEFECT_RATES, "copied_key": 0.96, "off_price": 0.96}
START = 1_777_593_600  # 2026-05-01T00:00:00Z
DAYS = 30


def _hexes(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    """n random lowercase hex strings of ``width`` characters (vectorized)."""
    raw = rng.integers(0, 16, size=(n, width), dtype=np.uint8)
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[raw]
    return chars.view(f"S{width}").ravel().astype(str)


def _take(values, idx: np.ndarray, type_=pa.string()) -> pa.Array:
    return pa.array(values, type_).take(pa.array(idx))


def _mask(arr: pa.Array, null_where: np.ndarray) -> pa.Array:
    import pyarrow.compute as pc

    return pc.if_else(pa.array(null_where), pa.scalar(None, arr.type), arr)


def generate(n: int, seed: int = 7, start: int = START, days: int = DAYS,
             rates: dict[str, float] | None = None) -> tuple[pa.Table, dict[str, int]]:
    """``n`` records (duplicates included) and the number of records carrying each defect (``rates``: the
    fraction of records with each defect, DEFECT_RATES by default)."""
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    rates = rates or DEFECT_RATES
    draw = {k: rng.random(n) < rates.get(k, 0.0) for k in DEFECT_RATES}
    extra = np.random.default_rng(seed + 1000)
    off = {k: extra.random(n) < rates.get(k, 0.0) for k in EXTRA_DEFECTS}
    factor = np.where(off["off_price"], 1.05 + 0.55 * extra.random(n), 1.0)
    # Duplicates are copies of earlier rows: pick the source row for each.
    src = np.arange(n)
    dup = draw["duplicate"]
    dup[0] = False
    src[dup] = (rng.random(int(dup.sum())) * np.flatnonzero(dup)).astype(np.int64)

    team = rng.integers(0, len(TEAMS), n)
    # The key a record is sent with: normally its team's own key (3 per team), else another team's.
    key_owner = np.where(draw["copied_key"], (team + 1 + rng.integers(0, len(TEAMS) - 1, n)) % len(TEAMS), team)
    key_no = key_owner * 3 + rng.integers(0, 3, n)
    key_hashes = _hexes(np.random.default_rng(seed + 1), len(TEAMS) * 3, 64)
    key_aliases = [f"{t[0]}-key-{i}" for t in TEAMS for i in range(3)]
    model = rng.choice(len(MODELS), n, p=[0.35, 0.15, 0.15, 0.1, 0.1, 0.1, 0.05])
    ts = start + np.sort(rng.random(n)) * days * 86400
    latency = 0.2 + rng.gamma(2.0, 0.6, n)
    prompt = rng.integers(50, 6000, n)
    completion = np.where(model == 6, 0, rng.integers(5, 1500, n))
    cached = np.where(rng.random(n) < 0.3, (prompt * rng.random(n) * 0.8).astype(np.int64), 0)
    cache_write = np.where((model >= 3) & (model <= 4) & (rng.random(n) < 0.1), rng.integers(100, 2000, n), 0)
    price_in = np.array([m[2][0] for m in MODELS])[model]
    price_out = np.array([m[2][1] for m in MODELS])[model]
    price_cache = np.array([m[2][2] for m in MODELS])[model]
    stale = draw["stale_price"]
    price_in = np.where(stale, np.array([m[3][0] for m in MODELS])[model], price_in)
    price_out = np.where(stale, np.array([m[3][1] for m in MODELS])[model], price_out)
    cost = np.round(((prompt - cached) * price_in + cached * price_cache + completion * price_out) * factor, 12)
    retries = np.where(draw["retry"], rng.integers(1, 4, n), 0)
    failed = rng.random(n) < 0.02
    status = np.where(failed, "failure", "success")
    cost = np.where(failed, 0.0, cost)
    env = rng.integers(0, len(ENVIRONMENTS), n)
    workflow = rng.integers(0, len(WORKFLOWS), n)
    ntags = rng.integers(0, 3, n)

    ids = np.char.add("chatcmpl-", _hexes(rng, n, 24))
    call_ids = _hexes(rng, n, 32)
    trace = _hexes(rng, n, 32)
    retry_of = np.char.add("chatcmpl-", _hexes(rng, n, 24))
    # Duplicates: same id, timestamp, cost, team as their source row.
    for arr in (ids, call_ids, trace, team, key_no, model, ts, latency, prompt, completion, cached, cost, retries, env):
        arr[dup] = arr[src[dup]]

    team_names = [t[0] for t in TEAMS]
    team_str = _take(team_names, team)
    misspelt = _take([MISSPELT[t] for t in team_names], team)
    team_str = pc.if_else(pa.array(draw["misspelt_team"]), misspelt, team_str)
    team_str = _mask(team_str, draw["missing_team"])
    model_names = [m[0] for m in MODELS]
    model_str = _take(model_names, model)
    provider_str = _take([m[1] for m in MODELS], model)
    key_hash = _take(list(key_hashes), key_no)
    key_alias = _take(key_aliases, key_no)
    user_ids = _take([f"user-{i:04d}@example.com" for i in range(500)], rng.integers(0, 500, n))

    spend_meta = pa.StructArray.from_arrays(
        [_take([t[1] for t in TEAMS], team), _take([t[2] for t in TEAMS], team), _take(ENVIRONMENTS, env),
         _take(WORKFLOWS, workflow), pa.array(np.where(retries > 0, retry_of, None), pa.string())],
        names=["service", "cost_center", "environment", "workflow", "retry_of"],
        mask=pa.array(draw["missing_tags"]),
    )
    usage = pa.StructArray.from_arrays(
        [pa.array(completion), pa.array(prompt), pa.array(prompt + completion),
         pa.StructArray.from_arrays([pa.array(cached)], names=["cached_tokens"]),
         pa.array(cache_write), pa.array(cached)],
        names=["completion_tokens", "prompt_tokens", "total_tokens", "prompt_tokens_details",
               "cache_creation_input_tokens", "cache_read_input_tokens"],
    )
    metadata = pa.StructArray.from_arrays(
        [key_hash, key_alias, team_str, user_ids, spend_meta, usage, pa.array(retries)],
        names=["user_api_key_hash", "user_api_key_alias", "user_api_key_team_id", "user_api_key_user_id",
               "spend_logs_metadata", "usage_object", "attempted_retries"],
    )
    hidden = pa.StructArray.from_arrays(
        [_hexes(rng, n, 16).astype(object), pa.array(cost), pa.array(np.round(rng.gamma(2.0, 3.0, n), 3)),
         pa.StructArray.from_arrays([pa.array(retries.astype(str))], names=["x-litellm-attempted-retries"]),
         _take([m[0] + ("-2024-07-18" if m[1] == "openai" else "") for m in MODELS], model),
         _take([f"https://{p}.example.internal/v1" for p in ("openai", "anthropic", "vertex")], np.minimum(model // 3, 2))],
        names=["model_id", "response_cost", "litellm_overhead_time_ms", "additional_headers", "litellm_model_name", "api_base"],
    )
    price_value = pa.StructArray.from_arrays(
        [pa.array(price_in), pa.array(price_out), pa.array(price_cache),
         _take(["chat", "chat", "chat", "chat", "chat", "chat", "embedding"], model)],
        names=["input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost", "mode"],
    )
    model_map = pa.StructArray.from_arrays([model_str, price_value], names=["model_map_key", "model_map_value"])
    tag_pool = pa.array(TAGS)
    t1, t2 = rng.integers(0, len(TAGS), n), rng.integers(0, len(TAGS), n)
    offsets = np.concatenate([[0], np.cumsum(ntags)]).astype(np.int32)
    flat = np.empty(offsets[-1], np.int64)
    first = offsets[:-1][ntags >= 1]
    flat[first] = t1[ntags >= 1]
    flat[offsets[:-1][ntags >= 2] + 1] = t2[ntags >= 2]
    tags = pa.ListArray.from_arrays(pa.array(offsets), tag_pool.take(pa.array(flat)))
    params = pa.StructArray.from_arrays(
        [pa.array(np.round(rng.random(n), 2)), pa.array(rng.integers(256, 4096, n)), pa.array(rng.random(n) < 0.3)],
        names=["temperature", "max_tokens", "stream"],
    )
    table = pa.table({
        "id": pa.array(ids),
        "trace_id": pa.array(trace),
        "call_type": _take(["acompletion", "acompletion", "aembedding"], np.where(model == 6, 2, 0)),
        "stream": params.field("stream"),
        "cache_hit": pa.array(rng.random(n) < 0.01),
        "status": pa.array(status),
        "custom_llm_provider": provider_str,
        "startTime": pa.array(ts),
        "endTime": pa.array(ts + latency),
        "response_time": pa.array(latency),
        "model": model_str,
        "metadata": metadata,
        "response_cost": pa.array(cost),
        "total_tokens": pa.array(prompt + completion),
        "prompt_tokens": pa.array(prompt),
        "completion_tokens": pa.array(completion),
        "request_tags": tags,
        "end_user": pa.nulls(n, pa.string()),
        "messages": _take(["redacted-by-litellm"], np.zeros(n, np.int64)),
        "response": _take(["redacted-by-litellm"], np.zeros(n, np.int64)),
        "error_str": pa.array(np.where(failed, "litellm.RateLimitError: RateLimitError: 429 Too Many Requests", None), pa.string()),
        "hidden_params": hidden,
        "model_map_information": model_map,
    })
    counts = {k: int(v.sum()) for k, v in {**draw, **off}.items() if k in rates}
    return table, counts


def write_jsonl(n: int, path: Path, seed: int = 7, chunk: int = 250_000,
                rates: dict[str, float] | None = None) -> dict[str, int]:
    """``n`` records as one JSON Lines file, generated ``chunk`` rows at a time and serialised by DuckDB."""
    import shutil

    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    totals: dict[str, int] = {}
    part = path.with_name(path.name + ".part")
    with open(path, "wb") as out:
        for i, start in enumerate(range(0, n, chunk)):
            table, counts = generate(min(chunk, n - start), seed + i, rates=rates)
            con.register("t", table)
            con.execute(f"COPY (SELECT * FROM t) TO '{part}' (FORMAT json)")
            con.unregister("t")
            with open(part, "rb") as fh:
                shutil.copyfileobj(fh, out, 16 << 20)
            for k, v in counts.items():
                totals[k] = totals.get(k, 0) + v
    part.unlink()
    return totals


def write_parquet(n: int, out: Path, seed: int = 7, rates: dict[str, float] | None = None) -> dict[str, int]:
    """``n`` records as ``out/date=YYYY-MM-DD/part-0.parquet``, one file per day of the month (as a
    gateway's daily export writes them), generated one day at a time."""
    import pyarrow.parquet as pq

    totals: dict[str, int] = {}
    per_day = -(-n // DAYS)
    for day in range(DAYS):
        k = min(per_day, n - day * per_day)
        if k <= 0:
            break
        table, counts = generate(k, seed + day, start=START + day * 86400, days=1, rates=rates)
        date = f"2026-05-{day + 1:02d}"
        (out / f"date={date}").mkdir(parents=True, exist_ok=True)
        pq.write_table(table, out / f"date={date}" / "part-0.parquet", row_group_size=128 * 1024)
        for key, v in counts.items():
            totals[key] = totals.get(key, 0) + v
    return totals


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--parquet", action="store_true", help="write hive-partitioned Parquet into the directory OUT")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--flagged", action="store_true", help="flagged everywhere: FLAGGED_RATES instead of DEFECT_RATES")
    args = ap.parse_args()
    rates = FLAGGED_RATES if args.flagged else None
    if args.parquet:
        print(write_parquet(args.n, Path(args.out), args.seed, rates))
    else:
        print(write_jsonl(args.n, Path(args.out), args.seed, rates=rates))


if __name__ == "__main__":
    main()
