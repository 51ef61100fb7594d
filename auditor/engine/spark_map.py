"""The executor's side of the Spark load: one partition of documents to canonical records.

Each task runs the loader's own statements (``pipeline._insert_sql`` over ``_documents_select``, the empty-record
rejects, the far-timestamp rule, ``mask_secrets``) in an in-memory DuckDB over each Arrow batch Spark hands it:
the mapping is defined once and runs exactly as on the driver, with no translation to keep in step. The
mapping's SQL leans on DuckDB's JSON type (``json_type`` names, lists of JSON paths, ``TRY``, ``strftime``),
which has no faithful Spark SQL spelling; DuckDB and pyarrow are what the executors need (both are
dependencies of the package).

A task knows a line's number only within its split of the file (Spark hands out byte ranges), so it emits, with
each record and reject, its split (``_file``, ``_bstart``) and its position there; and per split, one summary row
(``_block``) of how many lines and documents it held. The driver turns those counts into the bases that make
the numbers file-wide (spark_load.py).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.compute as pc

EXTRA = (("_file", pa.string()), ("_bstart", pa.int64()), ("_reason", pa.string()),
         ("_lines", pa.int64()), ("_objects", pa.int64()), ("_naive", pa.int64()))
BLOCK, REJECT = "_block", "_reject"


@dataclass(frozen=True)
class Plan:
    """What a task needs, built once on the driver and shipped with the function."""

    kind: str  # "text": one document per line (spark.read.text); "parquet": typed rows
    insert_sql: str  # the loader's INSERT INTO records over ``_src``, with a placeholder source_file
    fields: tuple
    mapping: Any
    schema: pa.Schema  # the records' columns as Spark takes them (what SparkEngine.adopt would give)
    timezone: str
    naive_sql: str | None  # per document, true when its timestamp string has no zone (timezones.count_naive)
    doc_sql: str | None = None  # parquet: the row as its JSON document


def display_name(spark_path: str) -> str:
    """The name a file has in the report: Spark's metadata path is URL-encoded and writes ``file:/x`` for
    ``file:///x``; the listing (spark_load) gives the decoded one. Both come through here to match."""
    name = urllib.parse.unquote(spark_path)
    if name.startswith("file:/") and not name.startswith("file:///"):
        name = "file:///" + name[len("file:/"):].lstrip("/")
    return name


def map_partition(plan: Plan, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    import duckdb

    from auditor.contract.sql import lit

    con = duckdb.connect()
    con.execute(f"SET TimeZone = {lit(plan.timezone)}")
    blocks: dict[tuple[str, int], list[int]] = {}  # (file, split start) -> [lines, documents, naive]
    try:
        for batch in batches:
            for key, part in _runs(batch):
                state = blocks.setdefault(key, [0, 0, 0])
                out = (_text_part if plan.kind == "text" else _parquet_part)(con, plan, key, part, state)
                yield from out.to_batches()
        if blocks:
            keys = list(blocks)
            yield _rows(plan, len(keys), record_kind=BLOCK, _file=[k[0] for k in keys], _bstart=[k[1] for k in keys],
                        _lines=[blocks[k][0] for k in keys], _objects=[blocks[k][1] for k in keys],
                        _naive=[blocks[k][2] for k in keys]).to_batches()[0]
    finally:
        con.close()


def _runs(batch: pa.RecordBatch) -> Iterator[tuple[tuple[str, int], pa.RecordBatch]]:
    """The batch cut where its file or split changes (a task reads its splits one after the other)."""
    files = batch.column("_file").to_pylist()
    # A Parquet row carries its index in the file instead (``_ridx``): the file is then one block.
    starts = batch.column("_bstart").to_pylist() if "_bstart" in batch.schema.names else [0] * len(files)
    lo = 0
    for i in range(1, len(files) + 1):
        if i == len(files) or files[i] != files[lo] or starts[i] != starts[lo]:
            yield (display_name(files[lo]), int(starts[lo])), batch.slice(lo, i - lo)
            lo = i


def _text_part(con, plan: Plan, key, part: pa.RecordBatch, state: list[int]) -> pa.Table:
    """Lines of one split: blank ones skipped (numbered all the same), those that are not JSON objects
    rejected with the reason the local reader gives, the rest mapped."""
    from auditor.loaders import readers
    from auditor.loaders.pipeline import _IS_OBJECT, _malformed_reason

    n = part.num_rows
    text = part.column("value").cast(pa.string())
    lines = pa.array(range(state[0] + 1, state[0] + 1 + n), pa.int64())
    state[0] += n
    keep = pc.invert(pc.match_substring_regex(text, readers._BLANK))
    text = pc.utf8_ltrim(text.filter(keep), characters="\ufeff")
    lines = lines.filter(keep)
    con.register("_b", pa.table({"doc": text, "line": lines}))
    ok = con.sql(f"SELECT {_IS_OBJECT} FROM _b").to_arrow_table().column(0)
    con.unregister("_b")
    ok = pc.fill_null(ok, False)
    bad_docs, bad_lines = text.filter(pc.invert(ok)).to_pylist(), lines.filter(pc.invert(ok)).to_pylist()
    docs, lines = text.filter(ok), lines.filter(ok)
    k = len(docs)
    rows = pa.array(range(state[1] + 1, state[1] + 1 + k), pa.int64())
    state[1] += k
    src = pa.table({"doc": docs.cast(pa.large_string()), "source_line": lines,
                    "source_index": pa.nulls(k, pa.int64()), "_row": rows})
    rejects = [(line, _malformed_reason(doc)) for line, doc in zip(bad_lines, bad_docs)]
    return _mapped(con, plan, key, src, rejects, state)


def _parquet_part(con, plan: Plan, key, part: pa.RecordBatch, state: list[int]) -> pa.Table:
    """Rows of a Parquet file, each written as its JSON document (the loader's route for a mapping that is not
    columnar; the columnar one gives the same values). ``_ridx`` is the row's index in the file."""
    n = part.num_rows
    con.register("_pb", pa.Table.from_batches([part]).drop_columns(["_file"]))
    src = con.sql(f"SELECT {plan.doc_sql} AS doc, _ridx + 1 AS source_line, NULL::BIGINT AS source_index,"
                      " _ridx + 1 AS _row FROM _pb").to_arrow_table()
    con.unregister("_pb")
    state[0] += n
    state[1] += n
    return _mapped(con, plan, key, src, [], state)


def _mapped(con, plan: Plan, key, src: pa.Table, rejects: list, state: list[int]) -> pa.Table:
    from auditor.engine.spark import _spark_arrow
    from auditor.loaders import readers
    from auditor.loaders.pipeline import FAR_TIMESTAMP_SQL, _create_table, mask_secrets, reject_empty

    con.execute("DROP TABLE IF EXISTS records")
    _create_table(con, plan.fields)
    con.register("_src", src)
    try:
        con.execute(plan.insert_sql)
        if plan.naive_sql:
            state[2] += int(con.execute(f"SELECT count(*) FILTER (WHERE {plan.naive_sql}) FROM _src").fetchall()[0][0])
    finally:
        con.unregister("_src")
    empty = readers.Rejects()
    reject_empty(con, plan.fields, 0, plan.mapping, empty)
    con.execute(FAR_TIMESTAMP_SQL)
    mask_secrets(con, plan.fields)
    out = _spark_arrow(con.sql("SELECT * FROM records").to_arrow_table())
    n = out.num_rows
    out = out.set_column(out.schema.get_field_index("source_file"), "source_file", pa.array([key[0]] * n, pa.string()))
    out = out.cast(plan.schema)
    for name, typ in EXTRA:
        value = key[0] if name == "_file" else key[1] if name == "_bstart" else None
        out = out.append_column(name, pa.array([value] * n, typ))
    bad = rejects + list(empty.items)
    if not bad:
        return out
    return pa.concat_tables([out, _rows(plan, len(bad), record_kind=REJECT, source_line=[b[0] for b in bad],
                                        _reason=[b[1] for b in bad], _file=[key[0]] * len(bad),
                                        _bstart=[key[1]] * len(bad))])


def _rows(plan: Plan, n: int, **values) -> pa.Table:
    """``n`` rows of the output's shape holding only ``values`` (a reject, a split's counts)."""
    cols = {}
    for f in [*plan.schema, *(pa.field(a, t) for a, t in EXTRA)]:
        v = values.get(f.name)
        cols[f.name] = pa.array([v] * n if isinstance(v, str) else v, f.type) if v is not None else pa.nulls(n, f.type)
    return pa.table(cols)


def out_schema(plan: Plan) -> pa.Schema:
    return pa.schema([*plan.schema, *(pa.field(a, t) for a, t in EXTRA)])
