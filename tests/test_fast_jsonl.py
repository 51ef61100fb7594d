"""The fast route for plain JSON Lines (DuckDB reads the file itself, in parallel) must give exactly what
the careful route (Python splits the lines) gives: the same records, the same line numbers, the same
rejects; any file it cannot vouch for goes down the careful route."""

from __future__ import annotations

import json

import pytest

from auditor.loaders import load, pipeline
from helpers import record, write_jsonl

SAMPLE = "sample_logs/litellm_payload.jsonl"


def _table(loaded) -> list[tuple]:
    cols = [c for c in loaded.con.execute("SELECT * FROM records LIMIT 0").description]
    names = ", ".join(f'"{c[0]}"' for c in cols)
    return loaded.con.execute(f"SELECT {names} FROM records ORDER BY _row").fetchall()


def _both(monkeypatch, paths) -> tuple:
    calls = []
    real = pipeline.Loader._load_jsonl_fast

    def spy(self, *a):
        ok = real(self, *a)
        calls.append(ok)
        return ok

    monkeypatch.setattr(pipeline.Loader, "_load_jsonl_fast", spy)
    fast = load(paths)
    monkeypatch.setattr(pipeline.Loader, "_load_jsonl_fast", lambda self, *a: False)
    careful = load(paths)
    return fast, careful, calls


def test_fast_route_equals_careful_route_on_real_litellm_output(monkeypatch):
    fast, careful, calls = _both(monkeypatch, [SAMPLE])
    assert calls == [True]  # the sample is clean: it took the fast route
    assert fast.records == careful.records > 0
    assert _table(fast) == _table(careful)


def test_line_numbers_follow_the_file_across_reader_threads(tmp_path, monkeypatch):
    # Big enough (about 40 MB) for DuckDB's JSON reader to split the file over several buffers and threads.
    n = 20_000
    recs = [record(request_id=f"r{i + 1}", feature="x" * 2000) for i in range(n)]
    p = write_jsonl(tmp_path / "big.jsonl", recs)
    calls = []
    real = pipeline.Loader._load_jsonl_fast
    monkeypatch.setattr(pipeline.Loader, "_load_jsonl_fast", lambda self, *a: calls.append(real(self, *a)) or calls[-1])
    loaded = load([p])
    assert calls == [True]
    rows = loaded.con.execute("SELECT request_id, source_line, _row FROM records ORDER BY _row").fetchall()
    assert len(rows) == n
    assert all(rid == f"r{line}" and row == line for rid, line, row in rows)


@pytest.mark.parametrize("damage", ["blank", "malformed", "array", "not-utf8", "no-final-newline"])
def test_files_the_fast_route_cannot_vouch_for(tmp_path, monkeypatch, damage):
    lines = [json.dumps(record(request_id=f"r{i + 1}")).encode() for i in range(50)]
    expect_fast = damage == "no-final-newline"
    if damage == "blank":
        lines[10] = b"   "
    elif damage == "malformed":
        lines[10] = b'{"request_id": "r11", '
    elif damage == "array":
        lines[10] = b"[1, 2]"
    elif damage == "not-utf8":
        lines[10] = b'{"request_id": "\xff"}'
    p = tmp_path / "a.jsonl"
    p.write_bytes(b"\n".join(lines) + (b"" if damage == "no-final-newline" else b"\n"))
    fast, careful, calls = _both(monkeypatch, [p])
    assert calls == [expect_fast]
    assert _table(fast) == _table(careful)
    assert fast.rejects == careful.rejects
    assert fast.read == careful.read == 50 - (damage == "blank")
    # Records after the damaged line keep their own line numbers.
    assert fast.con.execute("SELECT source_line FROM records WHERE request_id = 'r40'").fetchall() == [(40,)]


def test_second_file_continues_the_row_numbers(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [record(request_id=f"a{i}") for i in range(5)])
    b = write_jsonl(tmp_path / "b.jsonl", [record(request_id=f"b{i}") for i in range(3)])
    loaded = load([a, b])
    rows = loaded.con.execute("SELECT request_id, source_file, source_line, _row FROM records ORDER BY _row").fetchall()
    assert [r[3] for r in rows] == list(range(1, 9))
    assert [(r[0], r[2]) for r in rows] == [(f"a{i}", i + 1) for i in range(5)] + [(f"b{i}", i + 1) for i in range(3)]
    assert {r[1] for r in rows[:5]} == {a.as_posix()} and {r[1] for r in rows[5:]} == {b.as_posix()}
