"""Parquet files are read column by column (each mapped path from its typed column, no JSON document per
row); that must give exactly what reading each row as a JSON document gives: the same values, the same
absent / null / wrong-type verdicts, the same credentials found."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from auditor.loaders import load, pipeline

SAMPLE = "sample_logs/litellm_payload.jsonl"


def _table(loaded) -> list[tuple]:
    names = ", ".join(f'"{c[0]}"' for c in loaded.con.execute("SELECT * FROM records LIMIT 0").description)
    return loaded.con.execute(f"SELECT {names} FROM records ORDER BY _row").fetchall()


def _both(monkeypatch, paths, fmt=None) -> tuple:
    """The columnar load, whether it was used for every file, and the load with every row as a JSON document."""
    used = []
    real = pipeline.compile_columns

    def spy(*a, **k):
        sql = real(*a, **k)
        used.append(True)
        return sql

    monkeypatch.setattr(pipeline, "compile_columns", spy)
    columnar = load(paths, fmt=fmt)

    def refuse(*a, **k):
        raise pipeline.NotColumnar("test: every row as a JSON document")

    monkeypatch.setattr(pipeline, "compile_columns", refuse)
    documents = load(paths, fmt=fmt)
    return columnar, documents, used


def test_real_litellm_output_as_parquet(tmp_path, monkeypatch):
    # DuckDB writes what it infers from litellm's own JSON: nested structs, maps of JSON, lists, UUIDs, NULL-typed
    # columns -- the types a Parquet export of gateway logs holds.
    out = tmp_path / "litellm.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_json('{SAMPLE}', format = 'newline_delimited')) TO '{out.as_posix()}'")
    columnar, documents, used = _both(monkeypatch, [str(out)])
    assert used == [True]
    assert columnar.records == documents.records > 100
    assert _table(columnar) == _table(documents)
    # the sample's seeded credential (in a nested metadata field) is found by both
    assert columnar.con.execute("SELECT count(*) FROM records WHERE secret_field IS NOT NULL").fetchall()[0][0] > 0


MAPPING = """
name = "edge"
[fields]
request_id = "id"
team_id = "meta.team"
service_id = "headers.x-service"
cost_center = "centers[1]"
environment = "meta.nothere"
principal = "extra.user"
api_key_id = "meta.inner.key"
api_key_alias = "id.deeper"
workflow_id = "centers.first"
tags = "tags"
cost = "cost"
input_tokens = "tokens"
"""

KEY = "sk-proj-" + "Q" * 30


def _edge_table() -> pa.Table:
    meta = pa.struct([("team", pa.string()), ("inner", pa.struct([("key", pa.string())]))])
    rows = [
        # everything there
        {"id": "r1", "meta": {"team": "a", "inner": {"key": "k1"}}, "headers": [("x-service", "svc")],
         "centers": ["c0", "c1"], "extra": json.dumps({"user": "u1"}), "tags": ["t1", "t2"], "cost": 0.5, "tokens": 3},
        # nulls at each level: null leaf, null parent struct, null map value, list too short, JSON null
        {"id": "r2", "meta": {"team": None, "inner": None}, "headers": [("x-service", None)],
         "centers": ["c0"], "extra": "null", "tags": [], "cost": None, "tokens": None},
        {"id": "r3", "meta": None, "headers": [("other", "x")], "centers": None, "extra": None, "tags": None,
         "cost": 1.25, "tokens": 7},
        # wrong JSON types for the contract, and credentials in a list item and a nested field
        {"id": "r4", "meta": {"team": "b", "inner": {"key": KEY}}, "headers": None, "centers": ["", ""],
         "extra": json.dumps({"user": 42}), "tags": ["ok", "Bearer " + "z" * 24], "cost": -1.0, "tokens": 0},
        {"id": "r5", "meta": {"team": "c", "inner": {"key": "k5"}}, "headers": [], "centers": ["x", "y", "z"],
         "extra": json.dumps({"user": {"nested": True}}), "tags": ["a"], "cost": 0.0, "tokens": 2},
        # a credential only in a list item, only in a map value, only inside JSON text
        {"id": "r6", "meta": None, "headers": None, "centers": None, "extra": None, "tags": ["Bearer " + "z" * 24],
         "cost": 0.1, "tokens": 1},
        {"id": "r7", "meta": None, "headers": [("authorization", "Bearer " + "y" * 24)], "centers": None,
         "extra": None, "tags": None, "cost": 0.1, "tokens": 1},
        {"id": "r8", "meta": None, "headers": None, "centers": None, "extra": json.dumps({"token": KEY}),
         "tags": None, "cost": 0.1, "tokens": 1},
    ]
    schema = pa.schema([
        ("id", pa.string()), ("meta", meta), ("headers", pa.map_(pa.string(), pa.string())),
        ("centers", pa.list_(pa.string())), ("extra", pa.json_()), ("tags", pa.list_(pa.string())),
        ("cost", pa.float64()), ("tokens", pa.int64()),
    ])
    return pa.Table.from_pylist(rows, schema=schema)


def test_edge_cases_of_the_column_paths(tmp_path, monkeypatch):
    mapping = tmp_path / "edge.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    path = tmp_path / "edge.parquet"
    pq.write_table(_edge_table(), path)
    columnar, documents, used = _both(monkeypatch, [str(path)], fmt=str(mapping))
    assert used == [True]
    a, b = _table(columnar), _table(documents)
    assert a == b
    con = columnar.con
    got = dict(con.execute("SELECT request_id, team_id FROM records").fetchall())
    assert got == {"r1": "a", "r2": None, "r3": None, "r4": "b", "r5": "c", "r6": None, "r7": None, "r8": None}
    # a null leaf and a null parent are told apart (null vs absent), as in the JSON document
    viol = dict(con.execute("SELECT request_id, list_filter(_violations, lambda v: v LIKE 'team_id:%') FROM records").fetchall())
    assert viol["r2"] == ["team_id:null"] and viol["r3"] == ["team_id:absent"]
    assert con.execute("SELECT service_id, cost_center, principal FROM records WHERE request_id = 'r1'").fetchall() == [("svc", "c1", "u1")]
    secrets = dict(con.execute("SELECT request_id, secret_field FROM records WHERE secret_field IS NOT NULL").fetchall())
    assert secrets == {"r4": "key", "r6": "tags", "r7": "authorization", "r8": "token"}


def test_names_holding_a_key_read_the_same_either_way(tmp_path, monkeypatch):
    # A hint in a column name flags nothing; a real key as a map key is a leaked key (the whole document is
    # scanned), flagged the same way whichever route reads the file.
    path = tmp_path / "named.parquet"
    table = pa.table({"id": ["r1", "r2"], "team": ["a", "b"],
                      "gh_tokens": pa.array([[("x", 1)], [(KEY, 2)]], pa.map_(pa.string(), pa.int64()))})
    pq.write_table(table, path)
    mapping = tmp_path / "m.toml"
    mapping.write_text('name = "m"\n[fields]\nrequest_id = "id"\nteam_id = "team"\n', encoding="utf-8")
    columnar, documents, used = _both(monkeypatch, [str(path)], fmt=str(mapping))
    assert used == [True]
    assert _table(columnar) == _table(documents)
    flagged = "SELECT request_id FROM records WHERE secret_field IS NOT NULL ORDER BY 1"
    assert columnar.con.execute(flagged).fetchall() == documents.con.execute(flagged).fetchall() == [("r2",)]


def test_a_mapping_reading_json_text_reads_rows_as_documents(tmp_path):
    # SpendLogs keep metadata as JSON text: the preset says so (json_fields), and the file is read row by row
    path = tmp_path / "spend.parquet"
    meta = json.dumps({"user_api_key_team_id": "team-a", "spend_logs_metadata": {"service": "svc"}})
    pq.write_table(pa.table({"request_id": ["r1"], "startTime": ["2026-05-04T10:00:00Z"], "model": ["gpt-4o-mini"],
                             "spend": [0.1], "metadata": [meta], "api_key": ["hash1"], "team_id": [""],
                             "prompt_tokens": [10], "completion_tokens": [5], "call_type": ["completion"],
                             "request_tags": ["[]"], "cache_key": [""]}), path)
    loaded = load([str(path)], fmt="litellm-spendlogs")
    assert loaded.con.execute("SELECT team_id, service_id FROM records").fetchall() == [("team-a", "svc")]
