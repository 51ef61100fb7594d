"""Reading does not depend on record size: the same canonical records come out whatever the size of each
record relative to the internal buffers (detection, DuckDB's maximum_object_size, Arrow blocks, the
streaming array window, the decompression step)."""

from __future__ import annotations

import copy
import gzip
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from auditor.loaders import arrays, readers
from auditor.loaders.detect import detect
from auditor.loaders.pipeline import load
from auditor.loaders.sources import _Zstd
from tests.helpers import record

DUCKDB_MAX_OBJECT = 16 << 20  # read_json's default maximum_object_size
BOUNDARIES = sorted({
    _Zstd.STEP, 1 << 16,  # the detection head
    1 << 20,  # detection's line reads
    arrays.ARRAY_CHUNK_CHARS, readers.JSONL_BLOCK_BYTES, readers.BLOCK_BYTES, DUCKDB_MAX_OBJECT,
})
FIELDS = "request_id, team_id, service_id, model, input_tokens, output_tokens, cost::VARCHAR, timestamp::VARCHAR"


def records(n: int, pads: dict[int, int]) -> list[dict]:
    out = [record(request_id=f"r-{i}", team_id=f"team-{i % 3}", input_tokens=100 + i) for i in range(n)]
    for i, size in pads.items():
        # Grow record i to about ``size`` bytes of JSON through an unmapped field.
        base = len(json.dumps(out[i])) + len(', "note": ""')
        out[i]["note"] = "x" * max(size - base, 0)
    return out


def write(path: Path, recs: list[dict], container: str) -> Path:
    if container == "json":
        path = path.with_suffix(".json")
        path.write_text(json.dumps(recs, indent=1))
    elif container == "jsonl.gz":
        path = path.with_suffix(".jsonl.gz")
        path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in recs).encode(), compresslevel=1))
    else:
        path = path.with_suffix(".jsonl")
        path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return path


def canonical(paths) -> list[tuple]:
    loaded = load(paths)
    assert loaded.rejected == 0, [(r.line, r.reason) for r in loaded.rejects]
    return loaded.con.execute(f"SELECT {FIELDS} FROM records ORDER BY source_file, source_line").fetchall()


size_near = st.sampled_from(BOUNDARIES).flatmap(lambda b: st.integers(b - 64, b + 64)) | st.integers(10, 1 << 14)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(n=st.integers(2, 6), data=st.data(), container=st.sampled_from(["jsonl", "json", "jsonl.gz"]))
def test_same_records_whatever_the_record_sizes(tmp_path_factory, n, data, container):
    where = st.integers(0, n - 1)
    pads = data.draw(st.dictionaries(where, size_near | st.just(20 << 20), min_size=1, max_size=2), label="pads")
    d = tmp_path_factory.mktemp("size")
    small = canonical([write(d / "small", records(n, {}), container)])
    big = canonical([write(d / "big", records(n, pads), container)])
    assert len(small) == n
    assert big == small


def test_twenty_megabyte_line_is_one_record(tmp_path):
    recs = records(3, {0: 20 << 20})
    p = write(tmp_path / "a", recs, "jsonl")
    assert detect(p).container == "jsonl"
    got = canonical([p])
    assert [r[0] for r in got] == [r["request_id"] for r in recs]


def test_forced_format_with_a_long_first_line(tmp_path):
    recs = records(4, {0: 200 << 10})
    p = write(tmp_path / "a", recs, "jsonl")
    loaded = load([p], fmt="canonical")
    assert (loaded.records, loaded.rejected) == (len(recs), 0)


def _otlp_lines(target: int) -> tuple[list[str], int]:
    """OTLP collector file-exporter lines (one ExportTraceServiceRequest per line) built from the sample's
    requests, the first one grown to about ``target`` bytes by repeating its spans; and the span count."""
    src = [json.loads(x) for x in Path("sample_logs/openlit_otlp.jsonl").read_text().splitlines() if x.strip()]
    first = copy.deepcopy(src[0])
    spans = first["resourceSpans"][0]["scopeSpans"][0]["spans"]
    one = list(spans)
    # Size the batch from one round of spans instead of re-serialising the growing request each round.
    per_round = sum(len(json.dumps(s)) + 2 for s in one)
    rounds = max(1, (target - len(json.dumps(first))) // per_round + 1)
    k = 0
    for _ in range(rounds):
        for s in one:
            s = copy.deepcopy(s)
            s["spanId"] = f"{k:016x}"
            k += 1
            spans.append(s)
    lines = [first] + src[1:]
    total = sum(len(ss["spans"]) for req in lines for rs in req["resourceSpans"] for ss in rs["scopeSpans"])
    return [json.dumps(x) for x in lines], total


def test_otlp_collector_file_with_a_5mb_first_line(tmp_path):
    lines, spans = _otlp_lines(5 << 20)
    assert len(lines[0]) > 5 << 20
    p = tmp_path / "traces.jsonl"
    p.write_text("\n".join(lines) + "\n")
    assert detect(p).source == "otlp" and detect(p).container == "jsonl"
    loaded = load([p])
    assert loaded.rejected == 0, loaded.rejects[:3]
    assert loaded.records + loaded.context_spans == spans
    lines_read = {r[0] for r in loaded.con.execute("SELECT DISTINCT source_line FROM records").fetchall()}
    assert lines_read == set(range(1, len(lines) + 1))
    # "audits fully": the calls' tokens and cost are those of the raw spans, the 5 MB line's included
    want = [0, 0, Decimal(0)]
    for line in lines:
        for rs in json.loads(line)["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    a = {kv["key"]: next(iter(kv["value"].values())) for kv in s.get("attributes", [])}
                    if "gen_ai.usage.cost" in a:  # the sample's calls, some in the semconv's old token names
                        want[0] += int(a.get("gen_ai.usage.input_tokens", a.get("gen_ai.usage.prompt_tokens", 0)))
                        want[1] += int(a.get("gen_ai.usage.output_tokens", a.get("gen_ai.usage.completion_tokens", 0)))
                        want[2] += Decimal(str(a["gen_ai.usage.cost"]))
    got = loaded.con.execute("SELECT sum(input_tokens), sum(output_tokens), sum(cost) FROM records"
                             " WHERE record_kind = 'llm'").fetchone()
    q = Decimal("1e-12")  # the record table keeps 12 decimal places
    assert (got[0], got[1], got[2].quantize(q)) == (want[0], want[1], want[2].quantize(q))


def test_pretty_array_streams_in_bounded_windows(tmp_path, monkeypatch):
    # With a small window the reader must still read every element of an array many windows long.
    monkeypatch.setattr(arrays, "ARRAY_CHUNK_CHARS", 4096)
    recs = records(300, {5: 10_000, 150: 50_000})
    p = write(tmp_path / "a", recs, "json")
    got = canonical([p])
    assert [r[0] for r in got] == [r["request_id"] for r in recs]


def _api_observation(i: int) -> dict:
    return {"id": f"obs-{i}", "traceId": f"tr-{i // 4}", "type": "GENERATION" if i % 2 else "SPAN",
            "startTime": "2025-03-01T10:00:00.000Z", "providedModelName": "gpt-4o", "parentObservationId": None,
            "usageDetails": {"input": 10, "output": 2, "total": 12}, "costDetails": {"total": 0.0001},
            "totalCost": 0.0001, "calculatedTotalCost": 0.0001}


def test_span_and_observation_arrays_stream(tmp_path, monkeypatch):
    """A pretty-printed array of OTLP requests or Langfuse API observations is read element by element in a
    bounded window, like any other array: the OTLP and Langfuse readers parsed the whole file at once (a 500 MB
    OTLP array peaked at 2.7 GB), and refused one over MAX_DOCUMENT_BYTES. Each element keeps its own line."""
    monkeypatch.setattr(arrays, "ARRAY_CHUNK_CHARS", 4096)
    monkeypatch.setattr(readers, "MAX_DOCUMENT_BYTES", 64 << 10)  # far below each file: only streaming reads it
    requests = [json.loads(x) for x in Path("sample_logs/openlit_otlp.jsonl").read_text().splitlines() if x.strip()]
    spans = sum(len(ss["spans"]) for req in requests for rs in req["resourceSpans"] for ss in rs["scopeSpans"])
    cases = [("otlp.json", requests, "otlp", spans), ("observations.json", [_api_observation(i) for i in range(600)],
                                                       "langfuse-api", 600)]
    for name, items, source, count in cases:
        p = tmp_path / name
        p.write_text(json.dumps(items, indent=2))
        assert p.stat().st_size > 2 * readers.MAX_DOCUMENT_BYTES and detect(p).source == source
        loaded = load([p])
        assert (loaded.rejected, loaded.records + loaded.context_spans) == (0, count), loaded.rejects[:2]
        lines = {r[0] for r in loaded.con.execute("SELECT DISTINCT source_line FROM records").fetchall()}
        assert len(lines) == len(items)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='"\\,]}[{ a\n', max_size=60), st.integers(1, 9))
def test_element_end_over_window_edges(s, chunk):
    """The skip over a malformed element finds its end by brackets and strings only: a quote after an even run of
    backslashes closes a string, after an odd run it does not, wherever the window's edges fall."""
    import io

    element = json.dumps({"k": s, "v": [s]})
    t = arrays._Text(io.BytesIO((element + ", 1]").encode()))
    t.more(chunk)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(arrays, "ARRAY_CHUNK_CHARS", chunk)
        assert arrays._element_end(t, 0) == len(element)
