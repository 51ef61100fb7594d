"""Damaged inputs: every damaged unit is one rejected record with its line, every undamaged record is read.

Each test builds its file from a list of good records and a known damage; the expected counts come from
that construction (records read = accepted + rejected; accepted = the undamaged records)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import struct
from pathlib import Path

import pytest
import zstandard

from auditor.loaders.pipeline import load
from tests.helpers import record

N = 200


def recs(n: int = N, pad: dict[int, int] | None = None) -> list[dict]:
    out = [record(request_id=f"r-{i}") for i in range(n)]
    for i, size in (pad or {}).items():
        out[i]["note"] = "x" * size  # an unmapped field: only the record's size changes
    return out


def jl(records) -> list[bytes]:
    return [json.dumps(r).encode() for r in records]


def accounted(loaded, accepted: int, rejected: int, path: Path | None = None):
    got = loaded.records + loaded.context_spans
    assert (got, loaded.rejected) == (accepted, rejected), [(r.line, r.reason) for r in loaded.rejects]
    assert loaded.read == got + loaded.rejected
    assert len(loaded.rejects) == loaded.rejected
    for r in loaded.rejects:
        assert r.line >= 1 and r.reason
        if path is not None:
            assert r.source_file == path.as_posix()
    ids = {row[0] for row in loaded.con.execute("SELECT request_id FROM records").fetchall()}
    assert len(ids) == got  # no record read twice
    return {r.line: r.reason for r in loaded.rejects}


@pytest.mark.parametrize("damage", ["truncated", "nul-prefixed"])
def test_damaged_first_line(tmp_path, damage):
    lines = jl(recs())
    lines[0] = lines[0][: len(lines[0]) // 2] if damage == "truncated" else b"\x00\x00\x00" + lines[0]
    p = tmp_path / "a.jsonl"
    p.write_bytes(b"\n".join(lines) + b"\n")
    rejects = accounted(load([p]), N - 1, 1, p)
    assert list(rejects) == [1]


@pytest.mark.parametrize("enc", ["cr", "utf-16", "utf-32", "utf-16-be-bom", "utf-8-sig"])
def test_line_endings_and_encodings(tmp_path, enc):
    records = recs(50)
    records[3]["service_id"] = "caf\u00e9-\u4e2d"  # non-ASCII text survives the decoding
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n"
    if enc == "cr":
        data = text.replace("\n", "\r").encode()
    elif enc == "utf-16-be-bom":
        data = b"\xfe\xff" + text.encode("utf-16-be")
    else:
        data = text.encode(enc)
    p = tmp_path / "a.jsonl"
    p.write_bytes(data)
    loaded = load([p])
    accounted(loaded, len(records), 0, p)
    got = loaded.con.execute("SELECT service_id FROM records WHERE request_id = 'r-3'").fetchall()
    assert got == [(records[3]["service_id"],)]
    lines = [r[0] for r in loaded.con.execute("SELECT source_line FROM records ORDER BY _row").fetchall()]
    assert lines == list(range(1, len(records) + 1))


@pytest.mark.parametrize("size", [70 << 10, 1 << 20])
def test_big_first_record_among_200(tmp_path, size):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b"\n".join(jl(recs(pad={0: size}))) + b"\n")
    accounted(load([p]), N, 0, p)


def pretty_array(records) -> str:
    return json.dumps(records, indent=2)


def test_json_array_cut_short(tmp_path):
    records = recs()
    text = pretty_array(records)
    cut = len(text) * 3 // 4
    p = tmp_path / "a.json"
    p.write_text(text[:cut])
    # The elements whose text ends before the cut are whole; the one the cut falls into is the damaged unit.
    whole = sum(1 for r in records if text.find(json.dumps(r, indent=2).replace("\n", "\n  "), 0) + len(
        json.dumps(r, indent=2).replace("\n", "\n  ")) <= cut)
    assert 0 < whole < N
    accounted(load([p]), whole, 1, p)


def test_json_array_with_one_bad_element(tmp_path):
    records = recs()
    parts = [json.dumps(r, indent=2) for r in records]
    parts[N // 2] = parts[N // 2].replace('"model": "gpt-4o-mini",', '"model": "gpt-4o-mini",,')
    p = tmp_path / "a.json"
    p.write_text("[\n" + ",\n".join(parts) + "\n]\n")
    rejects = accounted(load([p]), N - 1, 1, p)
    bad_line = 2 + sum(part.count("\n") + 1 for part in parts[: N // 2])
    assert list(rejects) == [bad_line]


def test_two_arrays_concatenated(tmp_path):
    a, b = recs(100), [record(request_id=f"s-{i}") for i in range(100)]
    p = tmp_path / "a.json"
    p.write_text(pretty_array(a) + "\n" + pretty_array(b) + "\n")
    accounted(load([p]), len(a) + len(b), 0, p)


def test_text_after_the_array(tmp_path):
    records = recs(20)
    text = pretty_array(records)
    p = tmp_path / "a.json"
    p.write_text(text + "\ntrailing words\n")
    rejects = accounted(load([p]), len(records), 1, p)
    assert list(rejects) == [text.count("\n") + 2]
    assert "after the end" in rejects[text.count("\n") + 2]


def test_jsonl_whose_lines_are_arrays(tmp_path):
    records = recs(30)
    p = tmp_path / "a.jsonl"
    p.write_text("".join(json.dumps([r]) + "\n" for r in records))
    rejects = accounted(load([p]), 0, len(records), p)
    assert sorted(rejects) == list(range(1, len(records) + 1))
    assert all("list" in why for why in rejects.values())


def test_header_object_on_line_1(tmp_path):
    records = recs()
    p = tmp_path / "a.jsonl"
    p.write_text(json.dumps({"export": "audit", "generated_at": "2026-05-04", "version": 3}) + "\n"
                 + "".join(json.dumps(r) + "\n" for r in records))
    rejects = accounted(load([p]), len(records), 1, p)
    assert list(rejects) == [1]


def test_csv_with_one_invalid_utf8_byte(tmp_path):
    records = recs(150)
    cols = list(records[0])
    buf = io.StringIO()
    w = csv.DictWriter(buf, cols, lineterminator="\n")
    w.writeheader()
    w.writerows(records)
    data = buf.getvalue().encode()
    lines = data.split(b"\n")
    bad = 75  # a data row (line 76 of the file)
    lines[bad] = lines[bad].replace(b"ticket-triage", b"ticket-\xfftriage")
    p = tmp_path / "a.csv"
    p.write_bytes(b"\n".join(lines))
    rejects = accounted(load([p]), len(records) - 1, 1, p)
    assert list(rejects) == [bad + 1]


def _gzip_bad_crc(data: bytes) -> bytes:
    z = bytearray(gzip.compress(data))
    crc = struct.unpack("<I", z[-8:-4])[0]
    z[-8:-4] = struct.pack("<I", crc ^ 0xFFFFFFFF)
    return bytes(z)


@pytest.mark.parametrize("damage", ["bad-crc", "trailing-garbage"])
def test_gzip_damage_keeps_the_decoded_records(tmp_path, damage):
    records = recs()
    data = b"\n".join(jl(records)) + b"\n"
    z = _gzip_bad_crc(data) if damage == "bad-crc" else gzip.compress(data) + b"garbage after the stream"
    p = tmp_path / "a.jsonl.gz"
    p.write_bytes(z)
    # The damage is reported as one reject; every record decoded before it is kept.
    accounted(load([p]), len(records), 1, p)


def test_zstd_damaged_midway(tmp_path):
    records = recs()
    # Ten frames of 20 lines (as a streaming writer that flushes writes them); the sixth is damaged in its header.
    frames = [zstandard.ZstdCompressor(write_checksum=True).compress(b"".join(l + b"\n" for l in jl(records[i:i + 20])))
              for i in range(0, N, 20)]
    damaged = 5
    frames[damaged] = b"\xff" * 8 + frames[damaged][8:]
    for f in frames[:damaged]:
        assert zstandard.ZstdDecompressor().decompressobj().decompress(f)  # the frames before the damage decode
    p = tmp_path / "a.jsonl.zst"
    p.write_bytes(b"".join(frames))
    accounted(load([p]), 20 * damaged, 1, p)


def test_deep_json_value(tmp_path):
    records = recs(20)
    deep = "[" * 1000 + "]" * 1000
    lines = jl(records)
    lines[0] = lines[0][:-1] + b', "extra": ' + deep.encode() + b"}"
    p = tmp_path / "a.jsonl"
    p.write_bytes(b"\n".join(lines) + b"\n")
    loaded = load([p])
    got = loaded.records + loaded.rejected
    assert got == len(records) and loaded.records >= len(records) - 1  # read, or one reject with its line
    if loaded.rejected:
        assert [r.line for r in loaded.rejects] == [1]

    parts = [json.dumps(r, indent=2) for r in records]
    parts[7] = parts[7][:-1] + ', "extra": ' + deep + "}"
    q = tmp_path / "b.json"
    q.write_text("[\n" + ",\n".join(parts) + "\n]\n")
    loaded = load([q])
    assert loaded.records + loaded.rejected == len(records) and loaded.records >= len(records) - 1
    assert loaded.read == loaded.records + loaded.rejected


def test_glob_characters_in_names_are_literal(tmp_path):
    a, b = recs(3), [record(request_id=f"b-{i}") for i in range(5)]
    (tmp_path / "a[b].jsonl").write_text("".join(json.dumps(r) + "\n" for r in a))
    (tmp_path / "ab.jsonl").write_text("".join(json.dumps(r) + "\n" for r in b))
    for paths in ([tmp_path], [tmp_path / "a[b].jsonl", tmp_path / "ab.jsonl"]):
        loaded = load(paths)
        accounted(loaded, len(a) + len(b), 0)
        per = {Path(i.path).name: i.records for i in loaded.inputs}
        assert per == {"a[b].jsonl": len(a), "ab.jsonl": len(b)}


def test_glob_characters_in_parquet_names(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    a, b = recs(3), [record(request_id=f"b-{i}") for i in range(5)]
    pq.write_table(pa.Table.from_pylist(a), tmp_path / "x[y].parquet")
    pq.write_table(pa.Table.from_pylist(b), tmp_path / "xy.parquet")
    loaded = load([tmp_path])
    per = {Path(i.path).name: i.records for i in loaded.inputs}
    assert per == {"x[y].parquet": len(a), "xy.parquet": len(b)}


def test_epoch_milliseconds_start_time_is_one_invalid_record(tmp_path):
    from auditor.api import audit

    line = json.loads(Path("sample_logs/litellm_payload.jsonl").read_text().splitlines()[0])
    line["startTime"] = line["startTime"] * 1000  # milliseconds where seconds are expected: year > 9999
    p = tmp_path / "a.jsonl"
    p.write_text(json.dumps(line) + "\n" + Path("sample_logs/litellm_payload.jsonl").read_text())
    n = 1 + sum(1 for x in Path("sample_logs/litellm_payload.jsonl").read_text().splitlines() if x.strip())
    result = audit([p], None)
    doc = result.to_dict()
    # Every record is read and accepted; the one with the impossible timestamp is one invalid-value record.
    s = doc["summary"]
    assert (s["read"], s["records"], s["rejected"]) == (n, n, 0), s
    con002 = [f for f in doc["findings"] if f["code"] == "CON002"]
    assert con002 and "timestamp" in con002[0]["message"], con002
    rows = result.con.execute("SELECT r.source_line FROM finding_rows f JOIN records r USING (_row)"
                              " WHERE f.code = 'CON002' AND f.detail LIKE '%timestamp%'").fetchall()
    assert rows == [(1,)], rows


def test_files_passed_over_are_named_with_why(tmp_path):
    from auditor.api import audit

    records = recs(10)
    (tmp_path / "good.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (tmp_path / "notes.md").write_text("# not a log\n")
    (tmp_path / "gone.jsonl").symlink_to(tmp_path / "missing-target.jsonl")
    loaded = load([tmp_path])
    by_name = {Path(i.path).name: i for i in loaded.inputs}
    assert by_name["notes.md"].container == "skipped" and ".md" in by_name["notes.md"].detected
    assert by_name["gone.jsonl"].container == "unreadable" and "cannot open" in by_name["gone.jsonl"].detected
    accounted(loaded, len(records), 1)
    assert [Path(r.source_file).name for r in loaded.rejects] == ["gone.jsonl"]
    result = audit([tmp_path], None)
    assert result.exit_code != 0  # a file that could not be opened counts against the gate
    assert "INT002" in {f.code for f in result.findings}


def test_nothing_readable_is_an_input_error(tmp_path):
    from auditor.loaders.sources import InputError

    (tmp_path / "gone.jsonl").symlink_to(tmp_path / "missing-target.jsonl")
    with pytest.raises(InputError, match="gone.jsonl: cannot open"):
        load([tmp_path])


def test_permission_denied_file_as_root_too(tmp_path, monkeypatch):
    """Root reads files without read permission, so the check is made to say no for one file: what the user sees
    (one reject naming the file and why, INT002, the gate fails) is the same as for a real permission error."""
    import os

    from auditor.api import audit
    from auditor.loaders import sources

    records = recs(5)
    (tmp_path / "good.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    bad = tmp_path / "secret.jsonl"
    bad.write_text("".join(json.dumps(r) + "\n" for r in records))
    real = os.access
    monkeypatch.setattr(sources.os, "access", lambda p, mode: False if Path(p) == bad else real(p, mode))
    loaded = load([tmp_path])
    accounted(loaded, len(records), 1)
    assert loaded.rejects[0].source_file.endswith("secret.jsonl") and "permission denied" in loaded.rejects[0].reason
    result = audit([tmp_path], None)
    assert result.exit_code != 0 and "INT002" in {f.code for f in result.findings}
    assert any(s["path"].endswith("secret.jsonl") and "permission denied" in s["reason"] for s in result.skipped)


@pytest.mark.skipif(__import__("os").geteuid() == 0, reason="root reads files without read permission")
def test_permission_denied_file(tmp_path):
    records = recs(5)
    (tmp_path / "good.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    bad = tmp_path / "secret.jsonl"
    bad.write_text("".join(json.dumps(r) + "\n" for r in records))
    bad.chmod(0)
    loaded = load([tmp_path])
    accounted(loaded, len(records), 1)
    assert "permission denied" in loaded.rejects[0].reason


def test_one_huge_record_is_one_reject_and_the_audit_goes_on(tmp_path):
    """A 150 MB line stopped the audit out of memory (DuckDB's cap); past the record limit it is one reject with its
    line, and the records around it are read. (70 MB here: past the limit, and cheaper to write.)"""
    from auditor.api import audit
    from auditor.loaders import readers

    records = recs(6)
    records[3]["note"] = "x" * (70 << 20)
    assert len(json.dumps(records[3])) > readers.MAX_LINE_BYTES
    p = tmp_path / "a.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in records))
    del records
    rejects = accounted(load([p]), 5, 1, p)
    assert list(rejects) == [4] and "longer than" in rejects[4]
    s = audit([p], None).summary()
    assert (s["read"], s["records"], s["rejected"]) == (6, 5, 1)


@pytest.mark.parametrize("size", [1 << 20, 70 << 20])
def test_json_array_with_one_huge_element(tmp_path, size):
    """An element within the record limit is read like any other; one past it is one reject with its line, and the
    elements after it are read (the array is not given up)."""
    from auditor.loaders import readers

    records = recs(6, pad={3: size})
    p = tmp_path / "a.json"
    p.write_text("[\n" + ",\n".join(json.dumps(r) for r in records) + "\n]\n")
    del records
    if size < readers.MAX_LINE_BYTES:
        accounted(load([p]), 6, 0, p)
    else:
        rejects = accounted(load([p]), 5, 1, p)
        assert list(rejects) == [5] and "longer than" in rejects[5]  # "[" is line 1, one element per line
