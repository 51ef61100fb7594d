"""The embedded default: the loader's own DuckDB connection, behind the engine's face."""

from __future__ import annotations

from typing import Any, Sequence

import duckdb

from auditor.contract.sql import lit
from auditor.engine.base import EngineError


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def execute(self, sql: str, params: Sequence[Any] | None = None):
        return self.con.execute(sql, params or [])

    def register(self, name: str, table: Any) -> None:
        self.con.register(name, table)

    def unregister(self, name: str) -> None:
        self.con.unregister(name)

    def write(self, sql: str, path: str, fmt: str) -> int:
        """The query's rows to one file (csv with a header, parquet, json lines); how many rows were written."""
        options = {"csv": "(FORMAT csv, HEADER true)", "parquet": "(FORMAT parquet)", "json": "(FORMAT json)"}[fmt]
        self.con.execute(f"COPY ({sql}) TO {lit(path)} {options}")
        return int(self.con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0])

    def write_parts(self, sql: str, path: str, fmt: str) -> int:
        """The query's rows to a directory of part files (one per writer thread); a URI needs a distributed
        engine (this one has no object-store client offline)."""
        if "://" in path and not path.startswith("file://"):
            raise EngineError(f"{path}: writing to object storage needs --engine spark; name a local file or directory")
        local = path[len("file://"):] if path.startswith("file://") else path
        options = {"csv": "FORMAT csv, HEADER true", "parquet": "FORMAT parquet", "json": "FORMAT json"}[fmt]
        self.con.execute(f"COPY ({sql}) TO {lit(local.rstrip('/'))} ({options}, PER_THREAD_OUTPUT true, OVERWRITE_OR_IGNORE true)")
        return int(self.con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0])

    def has(self, name: str) -> bool:
        """A table or view of that name exists."""
        return bool(self.con.execute(
            "SELECT (SELECT count(*) FROM duckdb_tables() WHERE table_name = ?)"
            " + (SELECT count(*) FROM duckdb_views() WHERE view_name = ?)", [name, name]).fetchone()[0])
