"""Inputs where Spark reads them: a URI (s3a://, abfss://, gs://, hdfs://, file://) is read by the executors.

JSON Lines (plain or compressed: Spark's codecs) are read with ``spark.read.text``, one document per line, and
Parquet (a file, or a hive-partitioned directory) with ``spark.read.parquet``, each row written as its JSON
document. Each task maps its documents with the loader's own SQL (spark_map.py), so the records, rejects and
masking are those of the local load. What the local reader assembles from a whole file (OTLP trace trees,
Langfuse API pages, one JSON document, CSV) is not read here: such a file is an InputError naming it, and it
can be audited from a local path (the load then runs on the driver, the rules on Spark).

The format of each JSON Lines file is detected from its first lines (a small Spark job per file, reading only
its head); a Parquet dataset's from its first rows. ``--input-format`` skips detection.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any, Mapping

import pyarrow as pa

from auditor.contract.schema import base_schema, fields_of
from auditor.contract.sql import ident, lit
from auditor.engine import spark_map
from auditor.loaders.detect import Detected, detect, get_mapping, presets
from auditor.loaders.mapping import to_pointer
from auditor.loaders.pipeline import InputFile, Loaded, Reject, _create_table, _documents_select, _insert_sql
from auditor.loaders.sources import _SKIP_SUFFIXES, InputError
from auditor.loaders.timezones import NAIVE_SQL, _path as timestamp_path

HEAD_LINES = 200  # what detection reads of a file: its sample of records, and more
# Stands for the file's name in the shipped INSERT: a task serves many files, and names each record's.
_PLACEHOLDER = "\x00source_file"


def load(engine, uris: list[str], *, fmt: str | None = None, schema: Mapping[str, Any] | None = None,
         timezone: str = "UTC") -> Loaded:
    """Read every file under ``uris`` into the engine's ``records`` view (InputError for input it cannot read)."""
    from pyspark.sql import functions as F

    spark = engine.spark
    schema = schema or base_schema()
    fields = fields_of(schema)
    if fmt is not None:
        get_mapping(fmt)  # an unknown --input-format fails before any Spark job
    engine.reset()
    listed, skipped = _list(spark, uris)
    records_schema, struct = _records_schema(spark, fields)
    inputs: dict[str, InputFile] = {}
    frames = []
    text: dict[str, list[str]] = defaultdict(list)
    for uri, files in _datasets(listed, inputs):
        det = _detect_parquet(spark, files[0], fmt)
        _check(det, files[0])
        for name in files:
            inputs[name] = InputFile(name, det.source, det.container, det.reason)
        df = (spark.read.option("mergeSchema", "true").option("recursiveFileLookup", "true").parquet(*files)
              .select("*", F.col("_metadata.file_path").alias("_file"), F.col("_metadata.row_index").alias("_ridx")))
        cols = [c for c in df.columns if c not in ("_file", "_ridx")]
        plan = _plan("parquet", det.source, fields, schema, records_schema, timezone,
                     doc_sql="to_json({" + ", ".join(f"{lit(c)}: {ident(c)}" for c in cols) + "})::VARCHAR",
                     naive=_naive_parquet(det.source, df.schema))
        frames.append(_mapped(df, plan, struct))
    for name, length in listed:
        if name in inputs or name.lower().endswith(".parquet"):
            continue
        det = Detected("empty", fmt or "none", "the file is empty") if length == 0 else _detect_text(spark, name, fmt)
        inputs[name] = InputFile(name, det.source, det.container, det.reason, looks_like=_looks_like(spark, name, det, fmt))
        if det.container != "empty":
            _check(det, name)
            text[det.source].append(name)
    for source, files in sorted(text.items()):
        df = spark.read.text(files).select("value", F.col("_metadata.file_path").alias("_file"),
                                           F.col("_metadata.file_block_start").alias("_bstart"))
        plan = _plan("text", source, fields, schema, records_schema, timezone, naive=_naive_text(source))
        frames.append(_mapped(df, plan, struct))
    out = Loaded(engine, fields)
    rejects = _finish(engine, frames, [n for n, _ in listed], inputs, fields) if frames else []
    if not frames:
        engine.put_table(spark.createDataFrame(_empty(records_schema), struct), "records")
    out.inputs = [inputs[n] for n, _ in listed if n in inputs] + skipped
    out.rejects = rejects
    return out


def _list(spark, uris: list[str]) -> tuple[list[tuple[str, int]], list[InputFile]]:
    """(name, bytes) of every file under ``uris``, sorted by name (as the local walk sorts), and the files passed
    over for their extension. Spark's listing already leaves out names starting with ``.`` or ``_``."""
    found: dict[str, int] = {}
    for uri in uris:
        try:
            rows = (spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(uri)
                    .select("path", "length").collect())
        except Exception as e:  # noqa: BLE001 - no such path, no credentials, an unknown scheme: Spark says which
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise InputError(f"{uri}: Spark cannot list it: {first}") from None
        if not rows:
            raise InputError(f"{uri}: no files found")
        for r in rows:
            found[spark_map.display_name(r.path)] = int(r.length)
    keep, skipped = [], []
    for name in sorted(found):
        suffix = os.path.splitext(name)[1].lower()
        if suffix in _SKIP_SUFFIXES:
            skipped.append(InputFile(name, "none", "skipped", f"skipped: {suffix} files are documentation, code or "
                                     "configuration, not gateway logs (name the file itself to read it)"))
        else:
            keep.append((name, found[name]))
    return keep, skipped


def _datasets(listed, inputs) -> list[tuple[str, list[str]]]:
    """The Parquet files of the load as one dataset (one format, one merged schema: a hive-partitioned table is
    that); an empty file is an input of its own, as in the local load."""
    files = [n for n, length in listed if n.lower().endswith(".parquet") and length > 0]
    for n, length in listed:
        if n.lower().endswith(".parquet") and length == 0:
            inputs[n] = InputFile(n, "none", "empty", "the file is empty")
    return [("parquet", files)] if files else []


def _records_schema(spark, fields) -> tuple[pa.Schema, Any]:
    """The records' Arrow schema as the executors must give it, and Spark's: those of the loader's table, as
    SparkEngine.adopt hands them over (without the credential column mask_secrets drops)."""
    import duckdb

    from auditor.engine.spark import _spark_arrow
    from pyspark.sql.pandas.types import to_arrow_schema

    con = duckdb.connect()
    _create_table(con, fields)
    table = _spark_arrow(con.sql("SELECT * EXCLUDE (_secret_core) FROM records").to_arrow_table())
    con.close()
    struct = spark.createDataFrame(_empty(table.schema)).schema
    return to_arrow_schema(struct, timezone="UTC", prefers_large_types=False), struct


def _empty(schema: pa.Schema) -> pa.Table:
    # One empty chunk per column: Spark cannot take a column of no chunks at all.
    return pa.table([pa.array([], f.type) for f in schema], schema=schema)


def _plan(kind: str, source: str, fields, schema, records_schema: pa.Schema, timezone: str, *,
          doc_sql: str | None = None, naive: str | None = None) -> spark_map.Plan:
    mapping = get_mapping(source)
    sql = _insert_sql(mapping, fields, schema, _documents_select(mapping, "_src", False), mapping.name, _PLACEHOLDER)
    return spark_map.Plan(kind, sql, fields, mapping, records_schema, timezone, naive, doc_sql)


def _mapped(df, plan: spark_map.Plan, struct):
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    extra = [StructField(n, StringType() if t == pa.string() else LongType()) for n, t in spark_map.EXTRA]
    return df.mapInArrow(lambda it: spark_map.map_partition(plan, it), StructType([*struct.fields, *extra]))


def _check(det: Detected, name: str) -> None:
    """What the executors cannot read: the message says how it can be audited instead."""
    if det.source == "none":
        raise InputError(f"{name}: format not recognised: {det.reason}; name it with --input-format NAME or --mapping FILE.toml")
    if det.container not in ("jsonl", "parquet"):
        raise InputError(f"{name}: a {det.container} file: only JSON Lines (.jsonl, .gz) and Parquet are read where Spark "
                         "reads them; copy it to a local path (the load then runs on the driver, the rules on Spark)")
    reader = get_mapping(det.source).reader
    if reader:
        raise InputError(f"{name}: {det.source} records are assembled from the whole file ({reader} reader), which "
                         "Spark's executors do not do; copy it to a local path (the load then runs on the driver, "
                         "the rules on Spark)")


def _head_file(spark, name: str) -> str:
    """The first lines of a text file, through Spark (only its head is read), in a local file detect() reads."""
    rows = spark.read.text(name).limit(HEAD_LINES).collect()
    fd, path = tempfile.mkstemp(prefix="audit-logs-head-", suffix=".jsonl")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.writelines(r.value + "\n" for r in rows)
    return path


def _detect_text(spark, name: str, fmt: str | None) -> Detected:
    head = _head_file(spark, name)
    try:
        with open(head, "rb") as fh:
            if fh.read(4) == b"PAR1":
                return Detected("parquet", "none", "a Parquet file without the .parquet suffix: name it *.parquet")
        return detect(Path(head), fmt)
    finally:
        os.unlink(head)


def _looks_like(spark, name: str, det: Detected, fmt: str | None) -> str | None:
    """As the local load says: a preset forced on another shape reads empty fields without an error."""
    if fmt not in presets() or det.container == "empty":
        return None
    natural = _detect_text(spark, name, None)
    return f"{natural.source} ({natural.reason})" if natural.source not in ("none", det.source) else None


def _detect_parquet(spark, name: str, fmt: str | None) -> Detected:
    import pyarrow.parquet as pq

    table = spark.read.parquet(name).limit(HEAD_LINES).toArrow()
    fd, path = tempfile.mkstemp(prefix="audit-logs-head-", suffix=".parquet")
    os.close(fd)
    try:
        pq.write_table(table, path)
        return detect(Path(path), fmt)
    finally:
        os.unlink(path)


def _naive_text(source: str) -> str | None:
    src = timestamp_path(get_mapping(source))
    return NAIVE_SQL.format(v=f"json_extract_string(doc, {lit(to_pointer(src))})") if src else None


def _naive_parquet(source: str, struct) -> str | None:
    """Only a text column can lack a zone in the text (as timezones.count_naive: typed times are exact)."""
    from pyspark.sql.types import StringType, StructType

    src = timestamp_path(get_mapping(source))
    typ = struct
    for part in (src or "").split(".") if src else []:
        typ = typ[part].dataType if isinstance(typ, StructType) and part in typ.fieldNames() else None
    return _naive_text(source) if src and isinstance(typ, StringType) else None


def _finish(engine, frames, order: list[str], inputs: dict[str, InputFile], fields) -> list[Reject]:
    """Run the mapping once (materialised), make line and row numbers file-wide from each split's counts, and
    put the ``records`` view in place; the rejects, with file and line, for the report."""
    from functools import reduce

    from pyspark.sql import functions as F

    spark = engine.spark
    out = reduce(lambda a, b: a.unionByName(b), frames).localCheckpoint()
    blocks = (out.where(F.col("record_kind") == spark_map.BLOCK).groupBy("_file", "_bstart")
              .agg(F.sum("_lines").alias("lines"), F.sum("_objects").alias("docs"), F.sum("_naive").alias("naive"))
              .collect())
    offsets, naive = _bases(blocks, order)
    for name, n in naive.items():
        inputs[name].naive_timestamps = n
    base = spark.createDataFrame(offsets, "_file string, _bstart long, _lb long, _rb long")
    rows = (out.where(F.col("record_kind") != spark_map.BLOCK).join(F.broadcast(base), ["_file", "_bstart"], "left")
            .withColumn("source_line", F.col("source_line") + F.col("_lb")))
    rejects = [Reject(r._file, int(r.source_line or 1), r._reason) for r in
               rows.where(F.col("record_kind") == spark_map.REJECT).select("_file", "source_line", "_reason").collect()]
    cols = [c for c in out.columns if not c.startswith("_") or c in ("_row", "_violations")]
    records = (rows.where(F.col("record_kind") != spark_map.REJECT).withColumn("_row", F.col("_row") + F.col("_rb"))
               .select(*cols))
    records = _per_file(records, inputs)
    engine.put_table(records, "records")
    by_file: dict[str, int] = defaultdict(int)
    for r in rejects:
        by_file[r.source_file] += 1
    for name, n in by_file.items():
        inputs[name].rejected = n
    return sorted(rejects, key=lambda r: (order.index(r.source_file), r.line, r.reason))


def _bases(blocks, order: list[str]) -> tuple[list[tuple[str, int, int, int]], dict[str, int]]:
    """Per split: the lines of its file before it, and the documents of the whole load before it (the local
    load numbers ``_row`` across files in name order, counting the documents that are JSON objects)."""
    rank = {n: i for i, n in enumerate(order)}
    docs_before, offsets, naive = 0, [], defaultdict(int)
    lines_before: dict[str, int] = defaultdict(int)
    for b in sorted(blocks, key=lambda b: (rank[b._file], b._bstart)):
        offsets.append((b._file, int(b._bstart), lines_before[b._file], docs_before))
        lines_before[b._file] += int(b.lines)
        docs_before += int(b.docs)
        naive[b._file] += int(b.naive or 0)
    return offsets, naive


def _per_file(records, inputs: dict[str, InputFile]):
    """Each file's counts, and the loader's per-file rule: when none of a file's LLM records says how it was
    priced, the source says nothing, and that is not a missing field on each record (Loader._unlogged_pricing_source)."""
    from pyspark.sql import functions as F

    llm = F.col("record_kind") == "llm"
    counts = records.groupBy("source_file").agg(
        F.count(F.when(llm, 1)).alias("llm"), F.count(F.when(~llm, 1)).alias("ctx"),
        F.count(F.when(llm & (F.col("pricing_source") != ""), 1)).alias("priced")).collect()
    unpriced = []
    for c in counts:
        info = inputs[c.source_file]
        info.records, info.context_spans = int(c.llm), int(c.ctx)
        if c.llm and not c.priced:
            info.no_pricing_source = int(c.llm)
            unpriced.append(c.source_file)
    if not unpriced:
        return records
    kept = F.filter("_violations", lambda v: ~v.startswith("pricing_source:"))
    return records.withColumn("_violations", F.when(llm & F.col("source_file").isin(unpriced), kept)
                              .otherwise(F.col("_violations")))
