"""The Spark engine gives the same audit as the embedded one: same records, money to the last digit, findings,
scores and reconciliation (issue 20). Runs on a real local Spark session (pyspark and a Java runtime: .ci/run
installs both)."""

from __future__ import annotations

import csv
import json
import re
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor import audit
from auditor.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_logs"
POLICY = SAMPLES / "policy.toml"
INVOICES = ROOT / "sample_invoices"
UPSTREAM = ROOT / "tests" / "data" / "upstream"


@pytest.fixture(scope="module")
def spark_engine():
    from auditor.engine.spark import SparkEngine

    # Small data: one shuffle partition, no whole-stage code generation and no adaptive re-planning keep a query's
    # fixed cost down.
    return SparkEngine(master="local[2]", conf={"spark.sql.shuffle.partitions": "1",
                                                "spark.sql.codegen.wholeStage": "false", "spark.sql.adaptive.enabled": "false"})


def _report(paths, engine=None, **kw) -> dict:
    d = audit(paths, engine=engine, **kw).to_dict()
    return d


def _without_engine(d: dict) -> dict:
    d = json.loads(json.dumps(d))
    d["tool"].pop("engine")
    return d


def test_sample_logs_and_upstream_fixtures_give_the_same_report_on_spark(spark_engine):
    """One audit over both corpora (a Spark query has a fixed cost; one run keeps the test short): the samples with
    the invoice, and the real records of other projects (OTLP trace trees, Langfuse exports, LiteLLM payloads)."""
    upstream = sorted(p for p in UPSTREAM.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl"))
    assert len(upstream) >= 25
    duck = _report([SAMPLES, *upstream], policy=POLICY, invoices=[INVOICES])
    spark = _report([SAMPLES, *upstream], policy=POLICY, invoices=[INVOICES], engine=spark_engine)
    assert (duck["tool"]["engine"], spark["tool"]["engine"]) == ("duckdb", "spark")
    # Something to compare: records, findings in several categories, money, and a reconciliation.
    assert duck["summary"]["records"] > 400 and len(duck["findings"]) >= 10 and duck["reconciliation"]
    assert len({i["format"] for i in duck["inputs"]}) >= 4
    assert Decimal(duck["summary"]["total_cost"]) > 0
    assert _without_engine(spark) == _without_engine(duck)


def test_decimal_products_keep_every_digit(spark_engine):
    """Spark's default decimal rule would cut this product to 6 places (0.013325) and still succeed."""
    sql = ("SELECT CAST('0.0133248' AS DECIMAL(38,12)) * CAST('1.000000000001' AS DECIMAL(38,12)),"
           " sum(CAST(x AS DECIMAL(38,12))) FROM (VALUES ('0.000000000001'), ('0.1')) t(x)")
    import duckdb

    assert spark_engine.execute(sql).fetchall() == duckdb.sql(sql).fetchall()


def test_list_indexing_and_typed_arrays_match_duckdb(spark_engine):
    """DuckDB lists are 1-based with negatives from the end, Spark arrays 0-based: a literal, a negative and a
    computed index, and a lambda's index parameter, give the same elements; fetchnumpy gives the same dtypes
    (the price-regime fit does arithmetic on them)."""
    import duckdb

    sql = ("SELECT l[1] AS a, l[-1] AS b, l[i] AS c, list_transform(l, lambda x, j: x * j) AS d, CAST(i AS BIGINT) AS n,"
           " CAST(i AS DOUBLE) / 4 AS y FROM (SELECT [10, 20, 30] AS l, 2 AS i)")
    assert spark_engine.execute(sql).fetchall() == duckdb.sql(sql).fetchall() == [(10, 30, 20, [10, 40, 90], 2, 0.5)]
    got, want = spark_engine.execute(sql).fetchnumpy(), duckdb.sql(sql).fetchnumpy()
    assert {k: got[k].dtype for k in ("a", "n", "y")} == {k: want[k].dtype for k in ("a", "n", "y")}


def test_cli_engine_spark_json_and_export(spark_engine, tmp_path):
    """The CLI path: the same JSON report and the same exported finding rows (the session above is reused)."""
    runner = CliRunner()
    out = {}
    for engine in ("duckdb", "spark"):
        export = tmp_path / f"{engine}.csv"
        # A few rules: the wiring is under test here (flags, exit code, export); the first test compares every rule.
        res = runner.invoke(main, ["audit", str(SAMPLES / "litellm_payload.jsonl"), "--policy", str(POLICY),
                                   "--select", "CON,SEC001", "--format", "json", "-q", "--engine", engine,
                                   "--export-findings", str(export)])
        assert res.exit_code == 1, res.output  # the samples carry seeded defects
        with open(export, newline="", encoding="utf-8") as f:
            out[engine] = (_without_engine(json.loads(res.stdout)), sorted(tuple(r) for r in csv.reader(f)))
    assert out["spark"][0] == out["duckdb"][0]
    assert len(out["spark"][1]) == len(out["duckdb"][1]) > 5
    assert {r[0] for r in out["spark"][1]} == {r[0] for r in out["duckdb"][1]}


def test_export_to_a_directory_of_part_files(spark_engine, tmp_path):
    """Issue 20's "--export-findings to a directory of part files when the engine is distributed": on Spark the
    executors write the parts (here through a file:// URI, the form of s3a:// and abfss://); DuckDB writes the
    same rows to a local directory named with a trailing slash; an object-store URI without Spark is exit 2."""
    import duckdb

    from auditor.reporters.export import export_findings

    rows = {}
    for name, engine, target in (("duckdb", None, f"{tmp_path}/duck.parquet/"),
                                 ("spark", spark_engine, (tmp_path / "spark.parquet").as_uri())):
        result = audit([SAMPLES / "litellm_payload.jsonl"], POLICY, select=["CON", "SEC001"], engine=engine)
        n = export_findings(result, target)
        folder = tmp_path / f"{'duck' if engine is None else 'spark'}.parquet"
        parts = sorted(p.name for p in folder.glob("*.parquet"))
        assert parts and all(p.startswith(("data_", "part-")) for p in parts), parts
        got = duckdb.sql(f"SELECT rule_code, request_id, detail FROM read_parquet('{folder}/*.parquet')").fetchall()
        assert len(got) == n > 5
        rows[name] = sorted(got, key=repr)
    assert rows["spark"] == rows["duckdb"]
    res = CliRunner().invoke(main, ["audit", str(SAMPLES / "litellm_payload.jsonl"), "-q",
                                    "--export-findings", "s3a://bucket/findings.parquet"])
    assert res.exit_code == 2 and "needs --engine spark" in res.output


def test_engine_spark_without_pyspark_says_how_to_install():
    """A process of its own: this one has a Spark session, and modules that found pyspark already."""
    import subprocess

    code = ("import sys; sys.modules['pyspark'] = None; from auditor.cli import main; "
            f"sys.argv = ['audit-logs', 'audit', {str(SAMPLES / 'litellm_payload.jsonl')!r}, '--engine', 'spark', '-q']; main()")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 2, res.stderr
    assert "pip install 'audit-logs[spark]'" in res.stderr and "Traceback" not in res.stderr


def test_spark_options_need_engine_spark():
    res = CliRunner().invoke(main, ["audit", str(SAMPLES / "litellm_payload.jsonl"), "--spark-master", "local[1]"])
    assert res.exit_code == 2 and "--engine spark" in res.output


# DuckDB-only spellings that mean something else, or nothing, in Spark SQL (issue 20's feasibility run).
_NOT_PORTABLE = {
    r"\blen\(": "len() is a string length in Spark: use array_length()",
    r"\bASOF\b": "ASOF JOIN: write the as-of lookup as a window over both sides",
    r"\browid\b": "rowid: use _row",
    r"\bduckdb_\w+\(": "DuckDB catalog functions: use engine.has(name)",
    r"\bepoch\(": "epoch() is whole seconds in Spark: use epoch_us()",
    r"row_number\(\)\s+OVER\s*\(\s*\)": "row_number() needs an ORDER BY in Spark",
    r"\bWINDOW\s+\w+\s+AS\b[\s\S]*\bQUALIFY\b": "QUALIFY beside a named window: sqlglot's rewrite loses the window",
    r"\binformation_schema\b": "information_schema: use engine.has(name)",
    r"\bSEMI\s+JOIN\b": "SEMI JOIN: use IN or a join with DISTINCT keys",
}


def test_statements_after_the_load_stay_in_the_portable_subset():
    """Every statement the rules, attribution, scoring and reconciliation send to the engine, captured on DuckDB."""
    from auditor.engine import DuckDBEngine

    seen: list[str] = []
    original = DuckDBEngine.execute

    def record(self, sql, params=None):
        seen.append(sql)
        return original(self, sql, params)

    DuckDBEngine.execute = record
    try:
        audit([SAMPLES], POLICY, invoices=[INVOICES])
    finally:
        DuckDBEngine.execute = original
    assert len(seen) > 150
    bad = [(why, sql[:200]) for sql in seen for pat, why in _NOT_PORTABLE.items() if re.search(pat, sql, re.I)]
    assert not bad, bad
