"""Inputs where Spark reads them (issue 20, item 3): a URI is read by the executors and gives the records, rejects
and report of the local load of the same files. file:// URIs stand in for s3a://, abfss://, gs:// and hdfs://
(the same reader, another file system). Runs on a real local Spark session (pyspark and a Java runtime)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor import audit
from auditor.api import load_records
from auditor.cli import main
from auditor.loaders import InputError
from auditor.policy import load_policy

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_logs"
POLICY = SAMPLES / "policy.toml"
# The load is under test here, not the rules (tests/test_spark_engine.py compares every rule): these read the
# contract checks, the credential finding and ownership, which is what the load decides.
RULES = ["CON", "SEC001", "OWN001"]


@pytest.fixture(scope="module")
def spark_engine():
    from auditor.engine.spark import SparkEngine

    # Splits of 1 MB: the 4 MB sample is read by several tasks, each numbering its lines from its own byte
    # range, so the file-wide line and row numbers are under test.
    engine = SparkEngine(master="local[2]", conf={"spark.sql.shuffle.partitions": "1",
                                                  "spark.sql.codegen.wholeStage": "false",
                                                  "spark.sql.adaptive.enabled": "false",
                                                  "spark.sql.files.maxPartitionBytes": "1m"})
    yield engine
    engine.spark.stop()


def _records_spark(engine) -> list[str]:
    return _canonical(engine.spark.table("records").toArrow().to_pylist())


def _records_duck(loaded) -> list[str]:
    return _canonical(loaded.con.sql("SELECT * FROM records").to_arrow_table().to_pylist())


def _canonical(rows: list[dict]) -> list[str]:
    """Every column of every record, sorted, with the one difference that is not the record's: Spark hands a
    TIMESTAMP over as UTC-aware, DuckDB as naive UTC."""
    out = []
    for r in rows:
        if r["timestamp"] is not None and r["timestamp"].tzinfo is not None:
            r["timestamp"] = r["timestamp"].replace(tzinfo=None)
        out.append(json.dumps(r, default=str, sort_keys=True))
    return sorted(out)


def _local_names(text: str, root: Path) -> str:
    """The URI's file names as the local load names them (file:///x/a.jsonl is /x/a.jsonl)."""
    return text.replace(root.as_uri(), root.as_posix())


def _report(paths) -> dict:
    d = audit(paths, POLICY, select=RULES).to_dict()
    d["tool"].pop("engine")
    return d


def test_jsonl_uri_gives_the_records_and_report_of_the_local_load(spark_engine, tmp_path):
    """Two formats in one directory (each file's own format is detected through Spark), a gzipped copy in a
    sub-directory, and records holding credentials (masked on the executors as on the driver)."""
    root = tmp_path / "logs"
    (root / "gz").mkdir(parents=True)
    for name in ("litellm_payload.jsonl", "langfuse_observations.jsonl"):
        shutil.copy(SAMPLES / name, root / name)
    with open(SAMPLES / "litellm_payload.jsonl", "rb") as src, gzip.open(root / "gz" / "litellm.jsonl.gz", "wb") as out:
        shutil.copyfileobj(src, out)
    splits = spark_engine.spark.read.text((root / "litellm_payload.jsonl").as_uri()).rdd.getNumPartitions()
    assert splits >= 3
    # One Spark audit (its load is the one under test; the rules leave the records view as the load made it).
    result = audit([root.as_uri() + "/"], POLICY, select=RULES, engine=spark_engine)
    assert [(i.format, i.records) for i in result.inputs] == [("litellm", 346), ("langfuse", 40), ("litellm", 346)]
    expected = _records_duck(load_records([root], load_policy(POLICY)))
    assert len(expected) == 346 * 2 + 40 + 20 and sum('"secret_masked": null' not in r for r in expected) == 4
    assert [_local_names(r, root) for r in _records_spark(spark_engine)] == expected
    report = result.to_dict()
    assert report["tool"].pop("engine") == "spark"
    assert json.loads(_local_names(json.dumps(report), root)) == _report([root])


def test_hive_partitioned_parquet_uri_gives_the_records_of_the_local_load(spark_engine, tmp_path):
    """Parquet written by pyarrow, partitioned by a column of its own (day=…/): the partition directories are
    a layout, not fields (the local load reads each file as it is, hive_partitioning off)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [_without_empty(json.loads(line)) for line in open(SAMPLES / "litellm_payload.jsonl", encoding="utf-8")]
    for i, r in enumerate(rows):
        r["day"] = "2026-05-07" if i % 3 else "2026-05-08"
    root = tmp_path / "table"
    pq.write_to_dataset(pa.Table.from_pylist(rows), root, partition_cols=["day"])
    assert len(list(root.rglob("*.parquet"))) == 2
    policy = load_policy(POLICY)
    duck = load_records([root], policy)
    spark = load_records([root.as_uri()], policy, engine=spark_engine)
    assert [(i.format, i.container) for i in spark.inputs] == [("litellm", "parquet")] * 2
    expected = _records_duck(duck)
    assert len(expected) == 346
    assert [_local_names(r, root) for r in _records_spark(spark_engine)] == expected
    assert spark.records == duck.records == 346 and spark.rejected == 0


def _without_empty(v):
    """Parquet has no struct without fields: an empty object is left out (it holds nothing either load reads)."""
    if isinstance(v, dict):
        return {k: _without_empty(x) for k, x in v.items() if x != {}}
    return v


def test_malformed_lines_are_rejected_with_file_and_line(spark_engine, tmp_path):
    """Records read = accepted + rejected: a line that is not JSON and one that is JSON but not an object, each
    with its file and line (a blank line counts as a line, not a record; ``{}`` is a record with every field
    missing under this preset, as in the local load)."""
    good = (SAMPLES / "litellm_payload.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([good[0], '{"id": "x", "model": ', "", "[1, 2]", good[1], "{}", good[2]]) + "\n",
                    encoding="utf-8")
    policy = load_policy(POLICY)
    duck = load_records([path], policy, fmt="litellm")
    spark = load_records([path.as_uri()], policy, fmt="litellm", engine=spark_engine)
    got = [(r.source_file, r.line) for r in spark.rejects]
    assert got == [(path.as_uri(), 2), (path.as_uri(), 4)]
    assert [(r.line, r.reason) for r in spark.rejects] == [(r.line, r.reason) for r in duck.rejects]
    assert (spark.records, spark.rejected, spark.read) == (duck.records, duck.rejected, duck.read) == (4, 2, 6)
    assert _records_spark(spark_engine) == [r.replace(str(path), path.as_uri()) for r in _records_duck(duck)]
    lines = spark_engine.execute("SELECT source_line FROM records ORDER BY _row").fetchall()
    assert lines == [(1,), (5,), (6,), (7,)]


def test_shapes_the_executors_do_not_read_say_so(spark_engine, tmp_path):
    """OTLP trace trees are assembled from a whole file: exit 2 naming the file and what to do instead."""
    shutil.copy(SAMPLES / "openlit_otlp.jsonl", tmp_path / "otlp.jsonl")
    with pytest.raises(InputError, match="otlp.*local path"):
        load_records([tmp_path.as_uri()], load_policy(POLICY), engine=spark_engine)


def test_a_uri_needs_engine_spark(tmp_path):
    shutil.copy(SAMPLES / "litellm_payload.jsonl", tmp_path / "a.jsonl")
    for args in (["audit", tmp_path.as_uri(), "-q"], ["audit", "s3a://bucket/logs/", "--format", "json"],
                 ["check-schema", "gs://bucket/logs/"]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 2, res.output
        assert "a URI input is read by Spark's executors: add --engine spark" in res.output, res.output


def test_a_uri_next_to_a_local_path_is_refused(spark_engine, tmp_path):
    shutil.copy(SAMPLES / "litellm_payload.jsonl", tmp_path / "a.jsonl")
    with pytest.raises(InputError, match="local path next to a URI"):
        audit([tmp_path.as_uri(), tmp_path / "a.jsonl"], POLICY, engine=spark_engine)
