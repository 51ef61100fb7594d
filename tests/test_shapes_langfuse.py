"""Langfuse's API export shapes (observation pages, a trace with its observations) and the timestamps without a
zone, end to end. Field names follow Langfuse's public API (fern/apis/server/definition/observations.yml)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import auditor
from auditor.api import load_records
from auditor.policy import Policy, from_dict


def obs(i: int, type_: str, **extra) -> dict:
    return {"id": f"obs-{i}", "traceId": "tr-1", "projectId": "p1", "type": type_, "environment": "production",
            "parentObservationId": None if i == 0 else "obs-0", "startTime": f"2025-03-01T10:00:0{i}.000Z",
            "level": "DEFAULT", "usageDetails": {}, "costDetails": {}, **extra}


GEN = dict(providedModelName="gpt-4o", model="gpt-4o", internalModelId="m-1",
           usageDetails={"input": 70, "input_cached_tokens": 30, "output": 20, "output_reasoning": 5, "total": 125},
           costDetails={"input": 0.0002, "output": 0.0003, "total": 0.0005}, totalCost=0.0005)


def rows(path: Path, policy: Policy | None = None) -> tuple[list[dict], object]:
    loaded = load_records([path], policy or Policy())
    cur = loaded.con.execute("SELECT * FROM records ORDER BY _row")
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()], loaded


def test_observations_page_reads_costs_tokens_and_kinds(tmp_path):
    page = {"data": [obs(0, "AGENT"), obs(1, "GENERATION", **GEN), obs(2, "TOOL"), obs(3, "RETRIEVER"),
                     obs(4, "EMBEDDING", model="text-embedding-3-small", usageDetails={"input": 8, "total": 8},
                         calculatedTotalCost=0.00000016),
                     obs(5, "EVALUATOR"), obs(6, "GUARDRAIL"), obs(7, "SPAN"), obs(8, "EVENT"), obs(9, "CHAIN")],
            "meta": {"page": 1, "limit": 50, "totalItems": 10, "totalPages": 1}}
    p = tmp_path / "observations.json"
    p.write_text(json.dumps(page, indent=2))
    recs, loaded = rows(p)
    assert loaded.inputs[0].format == "langfuse-api"
    assert [r["record_kind"] for r in recs] == ["agent", "llm", "tool", "other", "llm", "other", "other", "other", "other", "other"]
    gen, emb = recs[1], recs[4]
    # input_tokens counts the cached part (the contract's meaning); output the reasoning part
    assert (gen["input_tokens"], gen["output_tokens"], gen["cached_input_tokens"]) == (100, 25, 30)
    assert gen["cost"] == Decimal("0.0005") and gen["pricing_source"] == "langfuse/model-definition:m-1"
    assert emb["cost"] == Decimal("0.00000016") and emb["input_tokens"] == 8
    assert gen["environment"] == "production" and gen["parent_span_id"] == "obs-0"
    result = auditor.audit([p])
    assert Decimal(result.summary()["total_cost"]) == Decimal("0.00050016")


def test_trace_detail_inherits_trace_fields(tmp_path):
    trace = {"id": "tr-1", "timestamp": "2025-03-01T10:00:00.000Z", "name": "support", "userId": "u-7",
             "sessionId": "s-1", "tags": ["billing"], "metadata": {"team": "support-automation", "cost_center": "cc-0042"},
             "observations": [obs(0, "SPAN"), obs(1, "GENERATION", **GEN, metadata={"service": "helpdesk"})]}
    p = tmp_path / "trace.json"
    p.write_text(json.dumps(trace))
    recs, loaded = rows(p)
    assert len(recs) == 2  # one record per observation, not one per trace
    g = recs[1]
    assert (g["team_id"], g["cost_center"], g["principal"], g["workflow_id"], g["tags"]) == (
        "support-automation", "cc-0042", "u-7", "s-1", ["billing"])
    notes = auditor.audit([p]).to_dict()["inputs"][0]["notes"]
    assert "team_id from trace metadata team on 100% of 1 LLM record" in notes


def test_naive_timestamps_are_read_in_the_policy_timezone_and_counted(tmp_path):
    payload = {"id": "chatcmpl-1", "call_type": "acompletion", "custom_llm_provider": "openai", "model": "gpt-4o",
               "response_cost": 0.001, "prompt_tokens": 5, "completion_tokens": 6, "status": "success",
               "startTime": "2025-01-24 23:30:00.000000", "metadata": {}, "hidden_params": {},
               "model_map_information": {"model_map_key": "gpt-4o"}, "cache_hit": None, "request_tags": ["env:prod"]}
    exact = {**payload, "id": "chatcmpl-2", "startTime": 1737761400.0}
    p = tmp_path / "litellm.jsonl"
    p.write_text(json.dumps(payload) + "\n" + json.dumps(exact) + "\n")
    berlin = from_dict({"timezone": "Europe/Berlin"}, "test")
    recs, loaded = rows(p, berlin)
    assert recs[0]["timestamp"].isoformat() == "2025-01-24T22:30:00"  # 23:30 in Berlin (UTC+1) is 22:30 UTC
    assert recs[1]["timestamp"].isoformat() == "2025-01-24T23:30:00"  # epoch seconds are exact
    assert recs[0]["environment"] == "prod"  # the env:prod request tag
    assert loaded.inputs[0].naive_timestamps == 1
    d = auditor.audit([p], berlin).to_dict()
    assert "1 record had a timestamp without a time zone: read as Europe/Berlin (the policy's timezone)" in d["inputs"][0]["notes"]
    recs_utc, _ = rows(p)
    assert recs_utc[0]["timestamp"].isoformat() == "2025-01-24T23:30:00"


def test_naive_timestamps_counted_in_langfuse_api_pages(tmp_path):
    """A ``GET /api/public/observations`` page ({data: [...]}) with one startTime without a zone: counted once."""
    obs = {"id": "o1", "traceId": "t1", "type": "GENERATION", "startTime": "2025-01-24T23:30:00", "model": "gpt-4o",
           "usageDetails": {"input": 1, "output": 2}, "costDetails": {"total": 0.1}}
    page = {"data": [obs, {**obs, "id": "o2", "startTime": "2025-01-24T23:30:00.000Z"}], "meta": {"page": 1, "totalItems": 2}}
    p = tmp_path / "observations.json"
    p.write_text(json.dumps(page))
    berlin = from_dict({"timezone": "Europe/Berlin"}, "test")
    recs, loaded = rows(p, berlin)
    assert loaded.inputs[0].format == "langfuse-api"
    assert loaded.inputs[0].naive_timestamps == 1
    assert sorted(r["timestamp"].isoformat() for r in recs) == ["2025-01-24T22:30:00", "2025-01-24T23:30:00"]


def test_naive_timestamps_counted_in_parquet(tmp_path):
    """A SpendLogs table written to Parquet with startTime as text: the zone-less ones are counted and read in
    the policy's timezone; an ISO string with an offset is exact."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = {"model": "gpt-4o", "spend": 0.1, "prompt_tokens": 1, "completion_tokens": 1, "api_key": "k", "user": "u",
            "metadata": "{}", "custom_llm_provider": "openai", "call_type": "acompletion"}
    table = [{**base, "request_id": "a", "startTime": "2025-01-24 23:30:00", "endTime": "2025-01-24 23:30:01"},
             {**base, "request_id": "b", "startTime": "2025-01-24T23:30:00+00:00", "endTime": "2025-01-24T23:30:01+00:00"},
             {**base, "request_id": "c", "startTime": "2025-01-24 23:30:00.5", "endTime": "2025-01-24 23:30:01"}]
    p = tmp_path / "spend.parquet"
    pq.write_table(pa.Table.from_pylist(table), p)
    berlin = from_dict({"timezone": "Europe/Berlin"}, "test")
    recs, loaded = rows(p, berlin)
    assert loaded.inputs[0].format == "litellm-spendlogs"
    assert loaded.inputs[0].naive_timestamps == 2
    by_id = {r["request_id"]: r["timestamp"].isoformat() for r in recs}
    assert by_id["a"] == "2025-01-24T22:30:00" and by_id["b"] == "2025-01-24T23:30:00"


def test_blob_storage_export_counts_cached_input(tmp_path):
    """Langfuse's blob-storage export (snake_case, JSONL or CSV) is detected as the `langfuse` preset; usage_details
    parts are disjoint, so input_tokens is input + input_cached_tokens, as for the API shapes."""
    import csv

    row = {"id": "o1", "trace_id": "t1", "project_id": "p1", "type": "GENERATION", "parent_observation_id": "",
           "start_time": "2025-01-24T23:30:00.000Z", "level": "DEFAULT", "provided_model_name": "gpt-4o",
           "usage_details": {"input": 10, "input_cached_tokens": 90, "output": 5, "total": 105},
           "cost_details": {"total": 0.001}, "total_cost": 0.001, "metadata": {"team": "search"}}
    plain = {**row, "id": "o2", "usage_details": {"input": 3, "output": 1, "total": 4}}
    jl = tmp_path / "observations.jsonl"
    jl.write_text(json.dumps(row) + "\n" + json.dumps(plain) + "\n")
    cv = tmp_path / "observations.csv"
    with cv.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(row))
        w.writeheader()
        for r in (row, plain):
            w.writerow({k: json.dumps(v) if isinstance(v, dict) else v for k, v in r.items()})
    for p in (jl, cv):
        recs, loaded = rows(p)
        assert loaded.inputs[0].format == "langfuse", p
        got = sorted((r["request_id"], r["input_tokens"], r["output_tokens"], r["cached_input_tokens"]) for r in recs)
        assert got == [("o1", 100, 5, 90), ("o2", 3, 1, None)], p


def test_embedding_without_an_output_part_has_zero_output_tokens(tmp_path):
    """An EMBEDDING's usageDetails hold only the input and the total: the output is zero, not a missing field
    (it was flagged CON001 missing output_tokens, an error on every embedding of a Langfuse export)."""
    page = {"data": [obs(1, "EMBEDDING", model="text-embedding-3-small", usageDetails={"input": 8, "total": 8},
                         totalCost=0.00000016),
                     obs(2, "GENERATION", model="gpt-4o", usageDetails={"input": 8}, totalCost=0.0001)],
            "meta": {"page": 1}}
    p = tmp_path / "observations.json"
    p.write_text(json.dumps(page))
    recs, _ = rows(p)
    assert [r["output_tokens"] for r in recs] == [0, None]  # no total to prove the second call's output: unknown


def test_api_pages_one_per_line_are_detected(tmp_path):
    """A script paging through GET /api/public/observations saves each response as a line: every page's
    observations are read (the file was rejected as 'no known log format matches its fields: data, meta')."""
    pages = [{"data": [obs(1, "GENERATION", **GEN), obs(2, "SPAN")], "meta": {"page": 1, "totalPages": 2}},
             {"data": [obs(3, "GENERATION", **GEN)], "meta": {"page": 2, "totalPages": 2}}]
    p = tmp_path / "observations.jsonl"
    p.write_text("".join(json.dumps(page) + "\n" for page in pages))
    recs, loaded = rows(p)
    assert (loaded.inputs[0].format, loaded.rejected) == ("langfuse-api", 0)
    assert [r["record_kind"] for r in recs] == ["llm", "other", "llm"]
    assert Decimal(auditor.audit([p]).summary()["total_cost"]) == Decimal("0.0010")
    # Pages of another source are not read this way: each line would be taken for one record.
    other = tmp_path / "spend.jsonl"
    other.write_text(json.dumps({"data": [{"request_id": "r", "spend": 1.0, "startTime": "2025-01-01"}]}) + "\n")
    assert rows_format(other) == "none"


def rows_format(path: Path) -> str:
    from auditor.loaders.detect import detect

    return detect(path).source


def test_blob_storage_context_types_are_not_llm_calls(tmp_path):
    """Langfuse's observation types CHAIN, RETRIEVER, EVALUATOR and GUARDRAIL are trace context in the
    blob-storage export too (they fell to the preset's default and each counted as an LLM call)."""
    types = ["GENERATION", "EMBEDDING", "SPAN", "EVENT", "AGENT", "TOOL", "CHAIN", "RETRIEVER", "EVALUATOR", "GUARDRAIL"]
    base = {"trace_id": "t1", "project_id": "p1", "parent_observation_id": "", "start_time": "2025-01-24T23:30:00.000Z",
            "level": "DEFAULT", "provided_model_name": "gpt-4o", "usage_details": {}, "cost_details": {}, "total_cost": 0}
    p = tmp_path / "observations.jsonl"
    p.write_text("".join(json.dumps({**base, "id": f"o{i}", "type": t}) + "\n" for i, t in enumerate(types)))
    recs, loaded = rows(p)
    assert loaded.inputs[0].format == "langfuse"
    assert [r["record_kind"] for r in recs] == ["llm", "llm", "other", "other", "agent", "tool", "other", "other",
                                                "other", "other"]


def test_a_preset_forced_on_another_shape_says_what_the_file_looks_like(tmp_path):
    """--input-format langfuse on a public-API export reads $0 with no tokens and no error (the issue's report):
    the input's notes name the shape detection sees and the format to use."""
    p = tmp_path / "observations.json"
    p.write_text(json.dumps({"data": [obs(1, "GENERATION", **GEN)], "meta": {"page": 1}}))
    notes = auditor.audit([p], fmt="langfuse").to_dict()["inputs"][0]["notes"]
    assert notes[0].startswith("read as langfuse (--input-format), but the file looks like langfuse-api")
    assert notes[0].endswith("use --input-format langfuse-api")
    right = auditor.audit([p], fmt="langfuse-api").to_dict()["inputs"][0].get("notes", [])
    assert not any("looks like" in n for n in right)
