"""Load files into the canonical record table, checking every record against the contract on the way.

For each file: detect the format, stream its documents in Arrow batches, and per batch run one
DuckDB statement that parses each document once, maps it to the canonical fields, checks each
field against the contract (``contract.sql``: the same verdicts as jsonschema), converts it to its
SQL type and appends it to ``records``. Documents that are not JSON objects go to the rejects
with file:line. Nothing is held in Python per record. Plain JSON Lines are read by DuckDB itself
(``_load_jsonl_fast``); Parquet is read column by column (``mapping.compile_columns``), giving the
same values as its rows written as JSON documents.

The ``records`` table has one column per contract field (typed), plus
``_row`` (stable order), ``record_kind`` (llm, or agent/tool/other for trace context spans),
``_violations`` (``field:code`` for each failed contract check), ``secret_field`` and
``secret_masked`` (where a raw credential was seen in the source record).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from auditor.contract.schema import Field, base_schema, fields_of
from auditor.contract.sql import check_expr, ident, json_text_sql, json_type_sql, lit, sql_type, typed_expr
from auditor.loaders import conventions, langfuse, otlp, readers, timezones
from auditor.loaders.detect import Detected, detect, get_mapping, presets
from auditor.loaders.mapping import Mapping_, NotColumnar, compile_columns, compile_select
from auditor.loaders.sources import ByteMeter, InputError, compression_of, discover_all, text_kind
from auditor import redact
from auditor.profile import stage
from auditor.redact import core_sql, mask_sql, mask_sql_value

PROVENANCE = ("source_format", "source_file", "source_line", "source_index")
# A time past year 9999 (epoch milliseconds read as seconds) has already failed the contract's pattern; as a
# typed value Python cannot hold it (DuckDB hands it over as text), so it is NULL like any unusable timestamp.
FAR_TIMESTAMP_SQL = "UPDATE records SET timestamp = NULL WHERE timestamp >= TIMESTAMP '9999-12-31 23:59:59'"


@dataclass
class InputFile:
    path: str
    format: str
    container: str
    detected: str
    records: int = 0
    context_spans: int = 0
    rejected: int = 0
    # Where the owner fields came from (conventions.OwnerStats.to_dict), for the readers that find them by convention.
    ownership: dict | None = None
    naive_timestamps: int = 0  # records whose timestamp string had no time zone (read in the policy's timezone)
    no_pricing_source: int = 0  # LLM records of a file none of whose LLM records says how it was priced
    wrapped_calls: int = 0  # call spans around another call span of the same request, read as context (otlp)
    provider_from_client: int = 0  # LLM spans whose provider is their HTTP client child's URL host (otlp)
    provider_from_wrapper: int = 0  # calls whose provider is the one the framework's call span around them names
    looks_like: str | None = None  # what detection would have read a file forced to another format as


@dataclass(frozen=True)
class Reject:
    source_file: str
    line: int
    reason: str


@dataclass
class Loaded:
    """The record table (in ``con``) and what was read to make it."""

    con: duckdb.DuckDBPyConnection
    fields: tuple[Field, ...]
    inputs: list[InputFile] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(i.records for i in self.inputs)

    @property
    def context_spans(self) -> int:
        return sum(i.context_spans for i in self.inputs)

    @property
    def rejected(self) -> int:
        return sum(i.rejected for i in self.inputs)

    @property
    def read(self) -> int:
        return self.records + self.context_spans + self.rejected


# DuckDB's own memory (its buffer pool: the record table's cached blocks, joins, sorts) is capped; beyond
# it the engine spills to a temporary directory. The record table lives in a database file there, stored
# compressed (about a tenth of its in-memory size), so the input size bounds neither memory nor the cap.
# DuckDB runs the order-keeping insert of a large file on all cores only when its cap is at least about
# 800MB, so the load gets that much; the rules after it need less, and leave room for the Python side.
# AUDIT_LOGS_MEMORY_LIMIT sets one cap for the whole audit instead.
LOAD_MEMORY_LIMIT = "800MB"
AUDIT_MEMORY_LIMIT = "500MB"
# Some rule statements (hash aggregates and sorts over the flagged records) ran out of memory under 500MB at
# 10M records; 1GB for the whole run kept that benchmark under 2 GB of RSS (benchmarks/RESULTS.md).
LARGE_INPUT_RECORDS = 2_000_000
LARGE_AUDIT_MEMORY_LIMIT = "1GB"


def _temp_dir(parent: str | None = None) -> str:
    import atexit
    import shutil
    import tempfile

    path = tempfile.mkdtemp(prefix="audit-logs-", dir=parent)
    atexit.register(shutil.rmtree, path, True)
    return path


def connect(memory_limit: str | None = None, temp_directory: str | None = None) -> duckdb.DuckDBPyConnection:
    work = _temp_dir(temp_directory)
    con = duckdb.connect(os.path.join(work, "audit.duckdb"), config={"preserve_insertion_order": True})
    con.execute("SET enable_progress_bar = false")
    memory_limit = memory_limit or os.environ.get("AUDIT_LOGS_MEMORY_LIMIT") or LOAD_MEMORY_LIMIT
    con.execute(f"SET memory_limit = {lit(memory_limit)}")
    con.execute(f"SET temp_directory = {lit(os.path.join(work, 'spill'))}")
    return con


def _create_table(con: duckdb.DuckDBPyConnection, fields: tuple[Field, ...]) -> None:
    cols = ", ".join(f'"{f.name}" {sql_type(f)}' for f in fields)
    con.execute(
        f"CREATE TABLE records (_row BIGINT, record_kind VARCHAR, {cols}, _violations VARCHAR[],"
        " secret_field VARCHAR, secret_masked VARCHAR, _secret_core VARCHAR)"
    )


# Literal pieces, one of which is in every match of every rule of SECRET_PATTERN (redact.RULES; tests/test_scale.py
# checks it): a cheap substring test that spares the full regex (the costliest expression of the load) on most
# documents. A substring search costs about one step per occurrence of the hint's first character, so hints start
# with characters rare in JSON logs where they can: "k-" and "k_" cover sk-, sk_, gsk_ and sk-lf-.
SECRET_HINTS = redact.SECRET_HINTS

# The innermost JSON key whose string value (or one of whose array items: tags) runs, unclosed, to the end of the
# text before a secret: the field the secret is in. Anchored at the end and made of JSON string syntax only
# (escaped quotes included), so it cannot start inside a value, and a secret at any offset of a value is placed.
_KEY_OF = (r'"([^"\\]{1,100})"\s*:\s*(?:\[(?:\s*"(?:[^"\\]|\\.)*"\s*,)*\s*)?"(?:[^"\\]|\\.)*$')
UNNAMED = "(a value without a field name)"


def _hint_sql(hinted: str, hint: str) -> str:
    if hint in redact.HINT_REGEX:
        return f"regexp_matches({hinted}, {lit(redact.HINT_REGEX[hint])})"
    return f"contains({hinted}, {lit(hint)})"


def _secret_sql(doc: str = "doc", hinted: str | None = None) -> str:
    """The first credential in the JSON text ``doc``, and the key it is the value of: {'key', 'secret'}, both ''
    for none. ``hinted``: text that holds one of the hints wherever ``doc`` holds a credential (by default
    ``doc`` itself); the regex runs only on the documents where it does. The whole text is scanned: a key
    at any offset of a long value is found."""
    hinted = hinted or doc
    # Placed by the credential itself (core_sql), not by the start of the match, which may be the header or key
    # name before it (Authorization: Basic …, "aws_secret_access_key": …).
    at = f"(CASE WHEN strpos({doc}, c) > 0 THEN strpos({doc}, c) ELSE strpos({doc}, s) END)"
    key = (f"list_transform([{core_sql('s')}], lambda c: coalesce(nullif(regexp_extract(left({doc}, {at} - 1),"
           f" {lit(_KEY_OF)}, 1), ''), {lit(UNNAMED)}))[1]")
    found = (f"list_transform([regexp_extract({doc}, {lit(redact.SECRET_PATTERN)})], lambda s: {{'key': CASE WHEN s = ''"
             f" THEN '' ELSE {key} END, 'secret': s}})[1]")
    return (
        "CASE WHEN " + " OR ".join(_hint_sql(hinted, h) for h in SECRET_HINTS) + f" THEN {found}"
        " ELSE {'key': '', 'secret': ''} END"
    )


_SECRET_SQL = _secret_sql()


def _documents_select(mapping: Mapping_, source: str, coerce: bool, marked: bool = False) -> str:
    """The mapped SELECT (compile_select, with ``_sec`` and ``_row_``) over ``source``: JSON documents (doc,
    source_line, source_index, _row). ``marked``: the source also has ``_ok`` (false for a document that is not
    a JSON object; its doc is then ``{}``)."""
    extra = {"_sec": _SECRET_SQL, "_row_": "_row"}
    if marked:
        extra["_ok_"] = "_ok"
    return compile_select(mapping, source, coerce=coerce, extra=extra)


def _insert_sql(mapping: Mapping_, fields: tuple[Field, ...], schema: Mapping[str, Any], mapped: str,
                source_format: str, source_file: str, marked: bool = False) -> str:
    """The INSERT into ``records`` of the mapped SELECT ``mapped`` (one JSON column per mapped field, ``_sec``,
    ``_row_``): each field typed and checked against the contract. ``marked``: ``mapped`` has ``_ok_``, and the
    rows where it is false are inserted with record_kind ``_bad`` so the caller can tell they were there."""
    props = schema["properties"]
    typed, checks, pre, post = [], [], [], []
    for f in fields:
        if f.name in PROVENANCE:
            value = {"source_format": lit(source_format), "source_file": lit(source_file),
                     "source_line": "source_line", "source_index": "source_index"}[f.name]
            typed.append(f'{value} AS "{f.name}"')
            continue
        v = f'm."{f.name}"' if f.name in mapping.fields else "NULL::JSON"
        if f.name not in mapping.fields and f.main_type == "array":
            # DuckDB cannot bind list lambdas over a constant NULL::JSON: an unmapped list field (tags) is null.
            typed.append(f'NULL::{sql_type(f)} AS "{f.name}"')
            continue
        # Each field's JSON type and text, computed once here; the typed value and the checks read these.
        jt, text, items = "NULL::VARCHAR", "NULL::VARCHAR", None
        if f.name in mapping.fields:
            jt, text = f'm."{f.name}:t"', f'm."{f.name}:s"'
            pre.append(f'{json_type_sql(f"m.{ident(f.name)}")} AS "{f.name}:t"')
            post.append(f'{json_text_sql(f"m.{ident(f.name)}", jt)} AS "{f.name}:s"')
            if f.main_type == "array":  # the items, parsed once for the typed value and the items check
                items = f'm."{f.name}:i"'
                post.append(f"CASE WHEN {jt} = 'ARRAY' THEN json_extract(m.{ident(f.name)}, '$[*]') END AS \"{f.name}:i\"")
        # Values holding a credential are masked after the load (mask_secrets): few records have one.
        typed.append(f'{typed_expr(f, v, jt=jt, text=text, items=items)} AS "{f.name}"')
        check = check_expr(f, props[f.name], v, jt=jt, text=text, items=items)
        checks.append(f"{lit(f.name + ':')} || ({check})")  # NULL when the check passes
    kind = "coalesce(m.record_kind->>'$', 'llm')" if "record_kind" in mapping.fields else "'llm'"
    if marked:
        kind = f"CASE WHEN m._ok_ THEN {kind} ELSE '_bad' END"
    # concat_ws skips NULLs (passed checks): one string call instead of a 38-item list and a lambda per record.
    joined = f"concat_ws(',', {', '.join(checks)})"
    violations = f"CASE WHEN {joined} = '' THEN []::VARCHAR[] ELSE string_split({joined}, ',') END"
    # ``_row`` comes with the batch (see Loader._stream): no window (a sort of every batch) is needed.
    return (
        f"INSERT INTO records SELECT m._row_, "
        f"{kind}, {', '.join(typed)}, {violations}, NULLIF(m._sec.key, ''), "
        f"CASE WHEN m._sec.secret <> '' THEN {mask_sql_value('m._sec.secret')} END, "
        # The raw credential without its context, for mask_secrets only (which drops the column).
        f"CASE WHEN m._sec.secret <> '' THEN {core_sql('m._sec.secret')} END"
        f" FROM (SELECT m.*{''.join(', ' + p for p in post)} FROM (SELECT m.*{''.join(', ' + p for p in pre)} FROM ({mapped}) m) m) m"
    )


def _masked(expr: str) -> str:
    """``expr`` with every credential masked, and with the record's own credential (``_secret_core``, found in its
    context: a key id, an api-key or Authorization header) masked wherever it stands alone, e.g. in a tag."""
    alone = f"CASE WHEN length(_secret_core) >= 8 THEN replace({expr}, _secret_core, {lit(redact.MARKER)}) ELSE {expr} END"
    return mask_sql(alone)


def mask_secrets(con: duckdb.DuckDBPyConnection, fields: tuple[Field, ...]) -> None:
    """Mask every credential in the text values of the records in which the load saw one (``secret_masked``
    set); the contract checks have already read the values as they were. One statement, for the few such
    records, instead of a masking branch on every text value of every record. Then the raw credentials the
    load kept for this (``_secret_core``) are dropped."""
    if con.execute("SELECT count(*) FROM records WHERE secret_masked IS NOT NULL").fetchall()[0][0]:
        sets = []
        for f in fields:
            c = ident(f.name)
            if f.name in PROVENANCE or f.name == "timestamp":
                continue
            if f.main_type == "string":
                sets.append(f"{c} = {_masked(c)}")
            elif f.main_type == "array":  # tags: mask each item
                sets.append(f"{c} = list_transform({c}, lambda x: {_masked('x')})")
            elif f.main_type == "object":  # price_snapshot: the marker keeps the JSON valid
                sets.append(f"{c} = ({_masked(c + '::VARCHAR')})::JSON")
        con.execute(f"UPDATE records SET {', '.join(sets)} WHERE secret_masked IS NOT NULL")
    con.execute("ALTER TABLE records DROP COLUMN _secret_core")


def _engine_path(path: Path) -> str:
    """The path to hand to DuckDB's readers, which expand glob characters (``a[b].jsonl`` would read
    ``ab.jsonl``): a path holding one is read through a link of a plain name in a temporary directory."""
    name = path.as_posix()
    if not any(c in name for c in "*?[{"):
        return name
    link = os.path.join(_temp_dir(), "input" + "".join(path.suffixes[-2:]).replace("[", "").replace("*", ""))
    os.symlink(path.resolve(), link)
    return link


def _count_lines(path: Path) -> int:
    """Lines of a plain file (a last line without a newline counts)."""
    n, last = 0, b""
    with open(path, "rb") as fh:
        while block := fh.read(readers.BLOCK_BYTES):
            n += block.count(b"\n")
            last = block[-1:]
    return n + (1 if last not in (b"", b"\n") else 0)


def _parquet_rows(path: Path) -> int:
    """The rows a Parquet file says it holds (its footer), so its progress can count records as it goes."""
    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # noqa: BLE001 - a damaged footer: the read itself says what is wrong
        return 0


class _QueryProgress:
    """While one long statement reads a file, report DuckDB's own progress estimate to ``progress``
    (records estimated from the file's line count, bytes from its size), from a polling thread."""

    def __init__(self, con: duckdb.DuckDBPyConnection, progress, size: int, counted: dict):
        self.con, self.progress, self.size, self.counted = con, progress, size, counted
        self.stop = None
        self.records = 0  # reported so far

    def __enter__(self):
        import threading

        if self.progress is None or not hasattr(self.progress, "add_bytes"):
            return self
        # DuckDB tracks a statement's progress only with its progress bar on (here: on, but never printed).
        self.con.execute("SET enable_progress_bar = true")
        self.con.execute("SET enable_progress_bar_print = false")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()
        return self

    def _poll(self) -> None:
        sent_bytes = 0
        while not self.stop.wait(0.5):
            try:
                pct = self.con.query_progress()
            except Exception:  # noqa: BLE001 - progress is best effort
                continue
            if pct is None or pct < 0:
                continue
            frac = min(pct / 100.0, 1.0)
            b = int(self.size * frac)
            r = int(self.counted.get("lines", 0) * frac)
            self.progress.add_bytes(max(b - sent_bytes, 0))
            self.progress(max(r - self.records, 0))
            sent_bytes, self.records = max(b, sent_bytes), max(r, self.records)

    def __exit__(self, *exc):
        if self.stop is not None:
            self.stop.set()
            self.thread.join()
            self.con.execute("SET enable_progress_bar = false")
        return False


def _batches(det: Detected, path: Path, rejects: readers.Rejects,
             stats: conventions.OwnerStats | None = None, reader: str = "") -> Iterator[pa.RecordBatch]:
    if reader == "otlp":
        return (otlp.read_otlp_jsonl(path, rejects, stats) if det.container == "jsonl"
                else otlp.read_otlp_document(path, rejects, stats))
    if reader == "langfuse-api" and det.container in ("jsonl", "json"):
        return langfuse.read_langfuse(path, det.container, rejects, stats)
    if det.container == "jsonl":
        return readers.read_jsonl(path, rejects)
    if det.container == "json":
        return readers.read_json_document(path, rejects)
    if det.container == "csv":
        return readers.read_csv(path, rejects)
    raise InputError(f"{path}: cannot read a {det.container} file")


# Valid JSON whose first character is "{" is an object (one parse, not two).
_STARTS_OBJECT = "regexp_matches({doc}, '^[ \\t\\n\\r]*\\{{')"
_IS_OBJECT = f"(json_valid(doc) AND {_STARTS_OBJECT.format(doc='doc')})"


def _malformed_reason(doc: str) -> str:
    try:
        # Without the line's newline: an error at the end of the line is then at its last column, not "column 1" of
        # a next line that is not there.
        value = json.loads(doc.rstrip())
    except json.JSONDecodeError as exc:
        return f"malformed JSON: {exc.msg} (column {exc.colno})"
    except RecursionError:
        return "malformed JSON: nested too deeply"
    return f"a JSON {type(value).__name__}, not an object"


def _hint_text(schema: pa.Schema) -> str:
    """SQL text over a typed row that holds a credential hint wherever the row written as JSON (``to_json``)
    holds a credential: its text values (nested ones and list items included) joined; numbers, booleans and
    times hold none. (The credential regex finds a secret only inside a JSON string value, never in a key, so
    the names of columns and fields need no scan.)"""
    parts: list[str] = []

    def walk(expr: str, typ: pa.DataType) -> None:
        if pa.types.is_struct(typ):
            for i in range(typ.num_fields):
                f = typ.field(i)
                walk(f"struct_extract({expr}, {lit(f.name)})" if expr else ident(f.name), f.type)
        elif pa.types.is_string(typ) or pa.types.is_large_string(typ):
            parts.append(expr)
        elif (pa.types.is_list(typ) or pa.types.is_large_list(typ)) and (
                pa.types.is_string(typ.value_type) or pa.types.is_large_string(typ.value_type)):
            parts.append(f"array_to_string({expr}, ' ')")
        elif not (pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_boolean(typ)
                  or pa.types.is_decimal(typ) or pa.types.is_temporal(typ) or pa.types.is_null(typ)):
            parts.append(f"to_json({expr})::VARCHAR")  # maps, lists of structs, binary: their JSON text

    walk("", pa.struct(list(schema)))
    return f"concat_ws(' ', {', '.join(parts)})" if parts else "''"


def reject_empty(con: duckdb.DuckDBPyConnection, fields: tuple[Field, ...], start: int, mapping: Mapping_,
                 rejects: readers.Rejects) -> None:
    """An object with no usable field of the format (a header or metadata line, ``{}``) is not a record of
    it: one reject with its line, not an all-missing record that would count against every team."""
    cols = [ident(f.name) for f in fields if f.name not in PROVENANCE]
    gone = con.execute(
        f"DELETE FROM records WHERE _row > ? AND record_kind = 'llm' AND coalesce({', '.join(c + '::VARCHAR' for c in cols)})"
        " IS NULL RETURNING source_line", [start]).fetchall()
    for (line,) in gone:
        rejects.add(int(line or 1), f"holds none of the fields of format {mapping.name}: not a record (a header?)")


class Loader:
    def __init__(self, con: duckdb.DuckDBPyConnection, schema: Mapping[str, Any] | None = None,
                 progress: Callable[[int], None] | None = None):
        self.con = con
        self.schema = schema or base_schema()
        self.fields = fields_of(self.schema)
        self.progress = progress
        self.meter: ByteMeter | None = None  # the file being read, when progress wants its bytes
        self._metered = 0  # of meter.pos, the bytes already reported
        self.rows = 0
        _create_table(con, self.fields)

    def _stream(self, batches: Iterator[pa.RecordBatch], rejects: readers.Rejects) -> pa.RecordBatchReader:
        """The batches as one Arrow stream, each document given its ``_row``; documents that are not JSON
        objects are left out and reported (checked on a separate connection, as the stream is read)."""
        check = duckdb.connect()
        schema = pa.schema([("doc", pa.large_string()), ("source_line", pa.int64()), ("source_index", pa.int64()),
                            ("_row", pa.int64())])

        def gen() -> Iterator[pa.RecordBatch]:
            import numpy as np

            try:
                for batch in batches:
                    n = batch.num_rows
                    check.register("_batch", pa.record_batch([batch.column(0), pa.array(np.arange(n))], names=["doc", "_pos"]))
                    bad = check.execute(f"SELECT _pos, doc FROM _batch WHERE NOT {_IS_OBJECT}").fetchall()
                    check.unregister("_batch")
                    if bad:
                        lines = batch.column(1)
                        for pos, doc in bad:
                            rejects.add(lines[pos].as_py(), _malformed_reason(doc))
                        keep = np.ones(n, bool)
                        keep[[int(p) for p, _ in bad]] = False
                        batch = batch.filter(pa.array(keep))
                    k = batch.num_rows
                    rows = pa.array(np.arange(self.rows + 1, self.rows + 1 + k, dtype=np.int64))
                    self.rows += k
                    yield pa.record_batch([batch.column(0).cast(pa.large_string()), batch.column(1), batch.column(2), rows],
                                          schema=schema)
                    if self.progress:
                        if self.meter is not None:
                            self.progress.add_bytes(self.meter.pos - self._metered)
                            self._metered = self.meter.pos
                        self.progress(n)
            finally:
                check.close()

        return pa.RecordBatchReader.from_batches(schema, gen())

    def _count(self, since: int) -> tuple[int, int, int]:
        """The file's LLM records, its context spans, and the LLM records that say how they were priced."""
        llm, ctx, priced = self.con.execute(
            "SELECT count(*) FILTER (WHERE record_kind = 'llm'), count(*) FILTER (WHERE record_kind <> 'llm'),"
            " count(*) FILTER (WHERE record_kind = 'llm' AND pricing_source <> '') FROM records WHERE _row > ?", [since]
        ).fetchall()[0]
        return int(llm), int(ctx), int(priced)

    def _load_jsonl_fast(self, path: Path, mapping: Mapping_, name: str) -> bool:
        """A plain JSON Lines file in one parallel statement, DuckDB reading the file itself; False (and
        nothing inserted) when the file needs the careful route of :meth:`_stream`.

        DuckDB's JSON reader splits the file over threads and, with insertion order kept, appends the
        records in file order, so a record's line is its position in the insert. That holds only when
        every line is one record: a blank line, a line that is not a JSON object or not UTF-8, or one
        longer than the reader's limit sends the whole file down the careful route, which reports each
        such line with its number (clean gateway output, the common case, takes this path).
        """
        import threading

        counted: dict[str, int] = {}
        counter = threading.Thread(target=lambda: counted.setdefault("lines", _count_lines(path)), daemon=True)
        counter.start()
        src = (f"(SELECT CASE WHEN _ok THEN json ELSE '{{}}' END AS doc, NULL::BIGINT AS source_line,"
               f" NULL::BIGINT AS source_index, NULL::BIGINT AS _row, _ok FROM"
               # read_json_objects has already parsed it: only "is it an object" and the line limit remain.
               f" (SELECT json, coalesce({_STARTS_OBJECT.format(doc='json')}"
               f" AND strlen(json) <= {readers.MAX_LINE_BYTES}, false) AS _ok"
               f" FROM read_json_objects({lit(_engine_path(path))}, format = 'newline_delimited', ignore_errors = true)))")
        sql = _insert_sql(mapping, self.fields, self.schema, _documents_select(mapping, src, False, marked=True),
                          mapping.name, name, marked=True)
        size = path.stat().st_size
        shown = _QueryProgress(self.con, self.progress, size, counted)
        try:
            with shown:
                self.con.execute(sql)
        except duckdb.Error:  # anything the reader cannot take (the careful route says what and where)
            counter.join()
            self.con.execute("DELETE FROM records WHERE _row IS NULL")
            return False
        counter.join()
        n, bad, lo, hi = self.con.execute(
            "SELECT count(*), count(*) FILTER (WHERE record_kind = '_bad'), min(rowid), max(rowid) FROM records WHERE _row IS NULL"
        ).fetchall()[0]
        lines = counted.get("lines", -1)
        if n == 0 or bad or n != lines or hi - lo + 1 != n:
            self.con.execute("DELETE FROM records WHERE _row IS NULL")
            return False
        self.con.execute(f"UPDATE records SET _row = {self.rows + 1 - lo} + rowid, source_line = rowid - {lo - 1}"
                         " WHERE _row IS NULL")
        self.rows += n
        if self.progress:
            self.progress(max(n - shown.records, 0))
        return True

    def _unlogged_pricing_source(self, start: int, llm: int, priced: int) -> int:
        """When no LLM record of the file says how it was priced (OpenInference spans; a gateway that logs none),
        the source has nothing to say: that is one note for the file, not a missing-field on every record. The
        costs are still judged against the published prices. Returns the file's LLM records in that case, else 0."""
        if not llm or priced:
            return 0
        self.con.execute("UPDATE records SET _violations = list_filter(_violations, lambda v: NOT starts_with(v, 'pricing_source:'))"
                         " WHERE _row > ? AND record_kind = 'llm'", [start])
        return llm

    def _reject_empty(self, start: int, mapping: Mapping_, rejects: readers.Rejects) -> None:
        reject_empty(self.con, self.fields, start, mapping, rejects)

    @staticmethod
    def _documents(det: Detected, path: Path, why: str) -> list[tuple[int, str]]:
        """(line, reason) for each record of a file whose format we do not know: ``why`` for each document of a
        container we can read (a line that is not UTF-8 keeps its own reason); for a file that is not even that
        (binary, damaged), the file itself is the one record."""
        if det.container == "parquet":
            return [(i + 1, why) for i in range(pq.ParquetFile(path).metadata.num_rows)] or [(1, why)]
        if det.container == "text":  # each non-blank line is a record
            return [(line, why) for line in readers.line_numbers(path)] or [(1, why)]
        if det.container not in ("jsonl", "json", "csv"):
            return [(1, why)]
        rejects, lines = readers.Rejects(), []
        try:
            for batch in _batches(det, path, rejects):
                lines.extend(batch.column(1).to_pylist())
        except InputError:
            pass
        return [(line, why) for line in lines] + list(rejects.items) or [(1, why)]

    def _parquet_sql(self, path: Path, mapping: Mapping_, name: str) -> str:
        """The INSERT of a Parquet file. Each mapped path is read from its typed column (compile_columns) and no
        JSON document is written per row, except, for the credential scan, for the rows whose text holds a
        credential hint. A mapping that reads JSON held as text (json_fields) makes every row a JSON document,
        read like a line of JSON. Measured on a 333k-row file of the benchmark, one run each: 5.4 s instead of
        8.8 s."""
        schema = pq.read_schema(path)
        # file_row_number gives each row its number without a window (which would hold the whole file).
        table = f"read_parquet({lit(_engine_path(path))}, file_row_number = true, hive_partitioning = false)"
        doc = "to_json({" + ", ".join(f"{lit(c)}: {ident(c)}" for c in schema.names) + "})::VARCHAR"
        row = f"{self.rows} + file_row_number + 1"
        try:
            mapped = compile_columns(mapping, f"(SELECT *, file_row_number + 1 AS source_line, NULL::BIGINT AS source_index"
                                     f" FROM {table})", schema, extra={"_sec": _secret_sql(doc, _hint_text(schema)), "_row_": row})
        except NotColumnar:
            src = (f"(SELECT {doc} AS doc, file_row_number + 1 AS source_line,"
                   f" NULL::BIGINT AS source_index, {row} AS _row FROM {table})")
            mapped = _documents_select(mapping, src, False)
        return _insert_sql(mapping, self.fields, self.schema, mapped, mapping.name, name)

    def load_file(self, path: Path, forced: str | None = None) -> tuple[InputFile, list[Reject]]:
        det = detect(path, forced)
        name = path.as_posix()
        info = InputFile(name, det.source, det.container, det.reason)
        if det.container == "empty":
            return info, []
        if det.source == "none":
            # Every record of the file is read and rejected (records read = accepted + rejected), each with its line.
            why = f"format not recognised: {det.reason}; name it with --input-format NAME or --mapping FILE.toml"
            items = self._documents(det, path, why)
            info.rejected = len(items)
            return info, [Reject(name, line, reason) for line, reason in sorted(items)]
        mapping = get_mapping(det.source)
        if forced in presets():  # a mapping file of the user's own is their reading, not a mistake to point out
            # A preset forced on another shape reads empty fields without an error (Langfuse's API export under
            # --input-format langfuse audits as $0): say what the file looks like.
            natural = detect(path)
            if natural.source not in ("none", det.source):
                info.looks_like = f"{natural.source} ({natural.reason})"
        # Progress in bytes of this file, as its readers take them (a plain callable counts records only).
        self.meter, self._metered = (ByteMeter(path) if hasattr(self.progress, "add_bytes") else None), 0
        reader = mapping.reader  # a preset's name, or a mapping file copied from the otlp / langfuse-api preset
        start = self.rows
        rejects = readers.Rejects()
        stats = conventions.OwnerStats()
        coerce = det.container in ("csv",)
        if det.container == "parquet":
            self.con.execute("SET preserve_insertion_order = false")  # as below: _row is explicit
            shown = _QueryProgress(self.con, self.progress, path.stat().st_size, {"lines": _parquet_rows(path)})
            try:
                with shown:
                    self.rows += self.con.execute(self._parquet_sql(path, mapping, name)).fetchall()[0][0]
            finally:
                self.con.execute("SET preserve_insertion_order = true")
            if self.progress:
                self.progress(max(self.rows - start - shown.records, 0))
        elif not (det.container == "jsonl" and not reader and compression_of(path) is None
                  and text_kind(path) is None and self._load_jsonl_fast(path, mapping, name)):
            # One INSERT per file, over a stream of batches: DuckDB plans the (large) statement once, and
            # reading the next batch in Python overlaps with DuckDB working on the previous one.
            stream = self._stream(_batches(det, path, rejects, stats, reader), rejects)
            self.con.register("_stream", stream)
            # Every record carries its _row, so the insert need not keep arrival order; keeping it makes DuckDB
            # buffer the batches in memory (out of memory at 1M records under the memory limit).
            self.con.execute("SET preserve_insertion_order = false")
            try:
                sql = _insert_sql(mapping, self.fields, self.schema, _documents_select(mapping, "_stream", coerce),
                                  mapping.name, name)
                with self.meter or contextlib.nullcontext():
                    self.con.execute(sql)
            finally:
                self.con.execute("SET preserve_insertion_order = true")
                self.con.unregister("_stream")
        self._reject_empty(start, mapping, rejects)
        if reader in ("otlp", "langfuse-api"):  # Langfuse observations nest by parentObservationId as spans do
            info.provider_from_wrapper = otlp.providers_from_wrappers(self.con, start)
            wrapped = otlp.mark_wrapped_calls(self.con, start)
            info.wrapped_calls = len(wrapped)
            stats.forget(map(tuple, wrapped))  # the ownership note counts the calls, as the report does
        if reader == "otlp":
            info.provider_from_client = otlp.providers_from_client_spans(self.con, start)
        info.records, info.context_spans, priced = self._count(start)
        info.no_pricing_source = self._unlogged_pricing_source(start, info.records, priced)
        info.rejected = len(rejects.items)
        if stats.llm:
            info.ownership = stats.to_dict()
        info.naive_timestamps = stats.naive_timestamps or (
            0 if reader else timezones.count_naive(self.con, path, det.container, mapping))
        return info, [Reject(name, line, reason) for line, reason in sorted(rejects.items)]


def load(paths: Iterable[str], *, fmt: str | None = None, schema: Mapping[str, Any] | None = None,
         con: duckdb.DuckDBPyConnection | None = None, progress: Callable[[int], None] | None = None,
         timezone: str = "UTC") -> Loaded:
    """Read every file under ``paths`` into a fresh ``records`` table. Raises InputError / MappingError
    for input that cannot be used at all (no such path, a bad mapping file). ``timezone``: the zone a timestamp
    string without an offset is read in."""
    files, passed = discover_all(paths)
    unreadable = [(p, why) for p, why, bad in passed if bad]
    if not files:
        if unreadable:
            raise InputError("no readable input file: " + "; ".join(f"{p.as_posix()}: {why}" for p, why in unreadable))
        raise InputError("no input files found in " + ", ".join(map(str, paths)))
    if fmt is not None:
        get_mapping(fmt)  # fail fast on an unknown --format
    own = con is None
    con = con or connect()
    con.execute(f"SET TimeZone = {lit(timezone)}")
    loader = Loader(con, schema, progress)
    out = Loaded(con, loader.fields)
    sizes = [p.stat().st_size for p in files]
    if hasattr(progress, "set_total"):  # auditor.progress.Progress: an ETA from bytes read / total bytes
        progress.set_total(sum(sizes))
    done = 0
    for path, size in zip(files, sizes):
        with stage(f"load {path.as_posix()}") as st:
            info, rej = loader.load_file(path, fmt)
            st.rows = info.records + info.context_spans + info.rejected  # records read from this file
        out.inputs.append(info)
        out.rejects.extend(rej)
        done += size
        if hasattr(progress, "file_done"):
            progress.file_done(done)
    con.execute(FAR_TIMESTAMP_SQL)
    for p, why, bad in passed:  # named in the report with why; one that could not be opened is a reject
        out.inputs.append(InputFile(p.as_posix(), "none", "unreadable" if bad else "skipped", why, rejected=int(bad)))
        if bad:
            out.rejects.append(Reject(p.as_posix(), 1, why))
            with stage(f"load {p.as_posix()} (unreadable)", rows=1):  # its one reject is a record read
                pass
    with stage("mask secrets"):
        mask_secrets(con, loader.fields)
    if own and not os.environ.get("AUDIT_LOGS_MEMORY_LIMIT"):
        after = LARGE_AUDIT_MEMORY_LIMIT if out.read > LARGE_INPUT_RECORDS else AUDIT_MEMORY_LIMIT
        con.execute(f"SET memory_limit = {lit(after)}")
    if own:
        # Every later statement that needs an order says so (ORDER BY): keeping insertion order otherwise
        # makes DuckDB buffer whole results of the rules' temporary tables (out of memory at 10M records).
        con.execute("SET preserve_insertion_order = false")
    return out
