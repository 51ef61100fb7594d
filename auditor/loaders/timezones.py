"""How many records of a file had a timestamp string without a time zone (read in the policy's ``timezone``).

The mapped timestamp is already converted when it reaches the record table, so the count comes from the
source: one DuckDB scan of the timestamp path of a JSON Lines, JSON array, CSV or Parquet file (a text column). Numbers (epoch values)
and strings with ``Z`` or an offset are exact and not counted."""

from __future__ import annotations

from pathlib import Path

import duckdb

from auditor.contract.sql import lit
from auditor.loaders.mapping import Mapping_, to_pointer

# A date-time string that ends without Z or +hh:mm / -hhmm.
NAIVE_SQL = r"regexp_matches({v}, '^\s*\d{{4}}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?\s*$')"


def _path(mapping: Mapping_) -> str | None:
    spec = mapping.fields.get("timestamp")
    if spec is None or spec.transform != "timestamp" or len(spec.paths) != 1 or not isinstance(spec.paths[0], str):
        return None
    return spec.paths[0]


def count_naive(con: duckdb.DuckDBPyConnection, path: Path, container: str, mapping: Mapping_) -> int:
    src = _path(mapping)
    if src is None or container not in ("jsonl", "json", "csv", "parquet"):
        return 0
    name = lit(path.as_posix())
    try:
        if container == "parquet":
            # Only text columns can lack a zone in the text; typed TIMESTAMP columns are read as they are typed.
            col = ".".join('"' + part.replace('"', '""') + '"' for part in src.split("."))
            kind = con.execute(f"SELECT typeof({col}) FROM read_parquet({name}) LIMIT 1").fetchall()
            if not kind or kind[0][0] != "VARCHAR":
                return 0
            sql = f"SELECT count(*) FILTER (WHERE {NAIVE_SQL.format(v=col)}) FROM read_parquet({name})"
            return int(con.execute(sql).fetchall()[0][0])
        if container == "csv":
            col = src.split(".")[0]
            v = f'"{col}"::VARCHAR'
            sql = f"SELECT count(*) FILTER (WHERE {NAIVE_SQL.format(v=v)}) FROM read_csv({name}, all_varchar = true, header = true)"
            return int(con.execute(sql).fetchall()[0][0])
        v = f"json_extract_string(json, {lit(to_pointer(src))})"
        for fmt in (("newline_delimited",) if container == "jsonl" else ("array", "unstructured")):
            sql = (f"SELECT count(*) FILTER (WHERE {NAIVE_SQL.format(v=v)}) FROM"
                   f" read_json_objects({name}, format = {lit(fmt)}, ignore_errors = true)")
            try:
                return int(con.execute(sql).fetchall()[0][0])
            except duckdb.Error:  # not an array: one object (or several) per file
                continue
    except duckdb.Error:  # a damaged file: its records are rejected elsewhere; none counted here
        return 0
    return 0
