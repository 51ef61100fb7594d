"""Bad input is a first-class case: never a traceback, never a silently dropped record.

For every kind of damage: records read = accepted + rejected, and every reject names its file, its line
and a reason. The CLI exits 2 with a clear message for input it cannot use at all.
"""

from __future__ import annotations

import gzip
import json
import string
from pathlib import Path

import pytest
import zstandard
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.cli import main
from auditor.loaders import InputError, load, readers
from helpers import record


def lines(*docs) -> bytes:
    return b"".join((d if isinstance(d, bytes) else json.dumps(d).encode()) + b"\n" for d in docs)


def good(n: int, start: int = 0) -> list[dict]:
    return [record(request_id=f"r{start + i}") for i in range(n)]


def check(loaded, *, read: int | None = None, rejected: int | None = None, records: int | None = None):
    assert loaded.read == loaded.records + loaded.context_spans + loaded.rejected
    assert loaded.rejected == len(loaded.rejects)
    for r in loaded.rejects:
        assert r.source_file and r.line >= 1 and r.reason
    if read is not None:
        assert loaded.read == read
    if rejected is not None:
        assert loaded.rejected == rejected, [(r.line, r.reason) for r in loaded.rejects]
    if records is not None:
        assert loaded.records == records
    return {r.line: r.reason for r in loaded.rejects}


def cli(*args):
    return CliRunner().invoke(main, [*map(str, args), "-q", "--format", "json"])


def test_malformed_json_lines(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(lines(*good(2), b'{"request_id": "x", ', *good(1, 2), b"not json at all", b"[1, 2]", b'"a string"', *good(1, 3)))
    rej = check(load([p]), read=8, rejected=4, records=4)
    assert set(rej) == {3, 5, 6, 7}
    assert "malformed JSON" in rej[3] and "not an object" in rej[6]
    # the line ends early: the error is at the end of that line, not at "column 1" of a next line
    assert rej[3].endswith("(column 20)"), rej[3]


def test_truncated_jsonl_last_line(tmp_path):
    p = tmp_path / "a.jsonl"
    data = lines(*good(3))
    p.write_bytes(data[: len(data) - 25])
    rej = check(load([p]), read=3, rejected=1, records=2)
    assert 3 in rej


def test_truncated_json_array(tmp_path):
    p = tmp_path / "a.json"
    text = json.dumps(good(3), indent=1)
    p.write_text(text[: len(text) // 2 + 5])
    loaded = load([p])
    rej = check(loaded)
    assert loaded.rejected == 1 and loaded.records >= 1
    assert any("array" in r or "malformed" in r for r in rej.values())


def test_json_array_with_a_bad_element(tmp_path):
    p = tmp_path / "a.json"
    p.write_text("[\n" + json.dumps(record(request_id="a")) + ",\n42,\n" + json.dumps(record(request_id="b")) + "\n]\n")
    rej = check(load([p]), read=3, rejected=1, records=2)
    assert 3 in rej and "not an object" in rej[3]


def test_truncated_gzip(tmp_path):
    p = tmp_path / "a.jsonl.gz"
    data = gzip.compress(lines(*good(400)))
    p.write_bytes(data[: len(data) // 2])
    loaded = load([p])
    rej = check(loaded)
    assert loaded.rejected >= 1 and 0 < loaded.records < 400
    assert any("ends early" in r or "corrupt" in r or "malformed" in r for r in rej.values())


def test_zstd_and_gzip_input(tmp_path):
    (tmp_path / "a.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(lines(*good(5))))
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(lines(*good(4, 5))))
    check(load([tmp_path]), read=9, rejected=0, records=9)


def test_empty_and_blank_files(tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "blank.jsonl").write_bytes(b"\n\n  \n")
    check(load([tmp_path]), read=0, rejected=0)
    for name in ("empty.jsonl", "blank.jsonl"):
        res = cli(tmp_path / name)
        # no records is not a pass (an empty export must not turn a CI gate green): exit 2, one clear line
        assert res.exit_code == 2 and "no records in" in res.output and "Traceback" not in res.output


def test_binary_garbage(tmp_path):
    p = tmp_path / "garbage.bin"
    p.write_bytes(bytes(range(256)) * 40)
    rej = check(load([p]), rejected=1, records=0)
    assert 1 in rej and "not recognised" in rej[1]


def test_unknown_format_is_a_clear_reject(tmp_path):
    p = tmp_path / "other.jsonl"
    p.write_bytes(lines({"foo": 1, "bar": 2}, {"foo": 3, "bar": 4}))
    loaded = load([p])
    # Every record of the file counts as read and rejected; one reject entry says why.
    rej = check(loaded, records=0, rejected=2)
    assert "format not recognised" in rej[1] and "format not recognised" in rej[2]
    res = cli(p)
    # nothing readable at all is unusable input (issue 17): exit 2, and the message names the file and line
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "other.jsonl" in res.output and "line 1: format not recognised" in res.output and "2 records read" in res.output


def test_huge_line(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 1 << 20)
    monkeypatch.setattr(readers, "BLOCK_BYTES", 1 << 18)
    monkeypatch.setattr(readers, "JSONL_BLOCK_BYTES", 1 << 18, raising=False)
    big = record(request_id="big", feature="x" * (3 << 20))
    p = tmp_path / "a.jsonl"
    p.write_bytes(lines(*good(2), big, *good(2, 2)))
    rej = check(load([p]), read=5, rejected=1, records=4)
    assert 3 in rej and "longer" in rej[3]


def test_nul_bytes_and_invalid_utf8(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(lines(*good(1), b'{"request_id": "r\x00x"}\x00', b'{"request_id": "\xff\xfe"}', *good(1, 1)))
    rej = check(load([p]), read=4, rejected=2, records=2)
    assert "UTF-8" in rej[3]


def test_csv_with_wrong_cell_count(tmp_path):
    p = tmp_path / "a.csv"
    rows = good(3)
    header = list(rows[0])
    body = [",".join(str(r[h]) for h in header) for r in rows]
    body.insert(1, "only,three,cells")
    p.write_text(",".join(header) + "\n" + "\n".join(body) + "\n")
    rej = check(load([p]), read=4, rejected=1, records=3)
    assert 3 in rej and "cells" in rej[3]


def test_mixed_formats_in_one_directory_and_a_glob(tmp_path):
    (tmp_path / "canon.jsonl").write_bytes(lines(*good(3)))
    (tmp_path / "canon.json").write_text(json.dumps(good(2, 3)))
    (tmp_path / "noise.bin").write_bytes(b"\x00\x01\x02garbage")
    (tmp_path / "notes.md").write_text("# not a log\n")
    loaded = load([tmp_path])
    check(loaded, records=5, rejected=1)
    assert {i.format for i in loaded.inputs} == {"canonical", "none"}
    check(load([str(tmp_path / "*.json*")]), records=5, rejected=0)


def test_missing_path_exits_2_without_traceback(tmp_path):
    res = cli(tmp_path / "nope.jsonl")
    assert res.exit_code == 2
    assert "no such file" in res.output and "Traceback" not in res.output
    res = cli(str(tmp_path / "*.nothing"))
    assert res.exit_code == 2 and "no file matches" in res.output
    with pytest.raises(InputError):
        load([tmp_path / "nope.jsonl"])


def test_bad_input_via_cli_counts(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(lines(*good(2), b"{broken", *good(1, 2)))
    res = cli(p)
    assert res.exit_code in (0, 1), res.output
    doc = json.loads(res.output)
    s = doc["summary"]
    assert s["read"] == s["records"] + s["context_spans"] + s["rejected"] == 4 and s["rejected"] == 1
    assert doc["rejects"] == [{"source_file": p.as_posix(), "line": 3, "reason": doc["rejects"][0]["reason"]}]


# ---- fuzzing -----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(string.printable + "é\u2028", max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(
        ["request_id", "team_id", "cost", "input_tokens", "tags", "metadata", "x", "timestamp", "resourceSpans", "spans"]), children, max_size=5),
    max_leaves=20,
)
FUZZ = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(data=st.binary(max_size=3000), name=st.sampled_from(["a.jsonl", "a.json", "a.csv", "a.bin", "a.gz"]))
def test_fuzz_arbitrary_bytes(tmp_path, data, name):
    p = tmp_path / name
    p.write_bytes(data)
    for fmt in (None, "canonical", "otlp"):
        check(load([p], fmt=fmt))


@FUZZ
@given(docs=st.lists(json_values, min_size=1, max_size=8), fmt=st.sampled_from([None, "canonical", "litellm", "otlp", "portkey"]))
def test_fuzz_json_structures(tmp_path, docs, fmt):
    p = tmp_path / "a.jsonl"
    p.write_bytes(lines(record(request_id="first"), *docs))
    loaded = load([p], fmt=fmt or "canonical")
    check(loaded)
    if (fmt or "canonical") != "otlp":
        assert loaded.read == len(docs) + 1  # every line is a record or a reject
    q = tmp_path / "b.json"
    q.write_text(json.dumps(docs))
    check(load([q], fmt=fmt))


def test_unknown_format_counts_every_record_of_each_container(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "o.csv").write_text("a,b\n1,2\n3,4\n5,6\n", encoding="utf-8")
    (tmp_path / "o.json").write_text('[{"x": 1}, {"x": 2}]', encoding="utf-8")
    (tmp_path / "o.jsonl").write_text('{"foo": 1}\n\n{"foo": 2}\nnot json\n', encoding="utf-8")
    pq.write_table(pa.table({"zz": [1, 2, 3, 4]}), tmp_path / "o.parquet")
    (tmp_path / "headless.csv").write_text("abc,,12\ndef,x,13\n\nghi,y,14\n", encoding="utf-8")
    (tmp_path / "plain.log").write_text("hello world\nsecond line\n", encoding="utf-8")
    loaded = load([tmp_path])
    per_file = {Path(i.path).name: (i.records, i.rejected) for i in loaded.inputs}
    # the malformed JSONL line is a record too (read, rejected); blank lines are not
    assert per_file == {"o.csv": (0, 3), "o.json": (0, 2), "o.jsonl": (0, 3), "o.parquet": (0, 4),
                        "headless.csv": (0, 3), "plain.log": (0, 2)}
    assert loaded.read == loaded.rejected == 17
    assert "CSV without a header row" in next(r.reason for r in loaded.rejects if r.source_file.endswith("headless.csv"))
    assert sorted(r.line for r in loaded.rejects if r.source_file.endswith("o.csv")) == [2, 3, 4]  # the data rows
    assert [r.line for r in loaded.rejects if r.source_file.endswith("o.jsonl")] == [1, 3, 4]
