"""Spark: the same statements, carried to Spark SQL by sqlglot, on a local session, a cluster or Spark Connect.

The rule SQL is written once, in DuckDB's dialect. Statements that only read are transpiled and run as they are.
The table lifecycle (CREATE TABLE AS, CREATE VIEW, INSERT, DROP, RENAME, DESCRIBE) is done here instead, because
Spark has temporary views, not temporary tables: a table is a view over a checkpointed result, so that
replacing a table that its own query reads, or reading it many times, never recomputes the query.

Money: Spark's default decimal rule cuts a DECIMAL(38,12) product to 6 places without a warning;
``allowPrecisionLoss=false`` keeps every digit (a product that does not fit is NULL, never rounded).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from decimal import Decimal
from typing import Any, Sequence

import pyarrow as pa
import sqlglot
from pyspark.sql import SparkSession
from sqlglot import exp

from auditor.engine.base import EngineError

CONF = {
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
    "spark.sql.session.timeZone": "UTC",
    # DuckDB's NULL-on-bad-input semantics (x / 0, a failed cast in try_cast) are what the rules are written to.
    "spark.sql.ansi.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.legacy.sizeOfNull": "false",  # size(NULL) is NULL, as DuckDB's array_length
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
}


class SparkResult:
    """What DuckDB's cursor gives the callers: rows as tuples and the column names."""

    def __init__(self, rows: list[tuple], columns: list[str], table: pa.Table | None = None):
        self._rows = rows
        self.description = [(c,) for c in columns]
        self._table = table

    def fetchall(self) -> list[tuple]:
        return list(self._rows)

    def fetchone(self) -> tuple | None:
        return self._rows[0] if self._rows else None

    def fetchnumpy(self) -> dict:
        import numpy as np

        if self._table is not None:  # typed arrays, as DuckDB gives: int64 and float64, not Python objects
            return {name: col.to_numpy(zero_copy_only=False) for name, col in zip(self._table.column_names, self._table.columns)}
        return {c[0]: np.array([r[i] for r in self._rows], dtype=object) for i, c in enumerate(self.description)}


class SparkEngine:
    name = "spark"

    def __init__(self, session=None, *, master: str | None = None, remote: str | None = None,
                 conf: dict[str, str] | None = None):
        if session is None:
            session = _start(master, remote, conf or {})
        self.spark = session
        # What audits made in this session (kept on the session: a second engine on it, e.g. the CLI's getOrCreate
        # in a notebook, must see them too); a new audit starts without them, the user's own views stay.
        if not hasattr(session, "_audit_logs_views"):
            session._audit_logs_views = set()
        self._views: set[str] = session._audit_logs_views
        for k, v in {**CONF, **(conf or {})}.items():
            if not k.startswith(("spark.ui", "spark.driver")):
                try:
                    self.spark.conf.set(k, v)
                except Exception:  # a Connect server may refuse a static setting; the session's own value stands
                    pass

    # -- the engine face -------------------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> SparkResult:
        tree = sqlglot.parse_one(sql, read="duckdb")
        if params:
            tree = _bind(tree, list(params))
        if isinstance(tree, exp.Create):
            return self._create(tree)
        if isinstance(tree, exp.Insert):
            return self._insert(tree)
        if isinstance(tree, exp.Drop):
            for t in tree.args.get("tables") or [tree.this]:
                self._drop(t.name)
            return SparkResult([], [])
        if isinstance(tree, exp.Alter) and isinstance(tree.args["actions"][0], exp.AlterRename):
            df = self.spark.table(tree.this.name)
            self._put(df, tree.args["actions"][0].this.name)
            self._drop(tree.this.name)
            return SparkResult([], [])
        if isinstance(tree, exp.Describe):
            df = self.spark.table(tree.this.name)
            return SparkResult([(f.name, f.dataType.simpleString()) for f in df.schema.fields], ["column_name", "column_type"])
        if isinstance(tree, exp.Set):  # DuckDB's own settings (memory, spill directory): Spark has its own
            return SparkResult([], [])
        if isinstance(tree, exp.Update):
            raise EngineError("UPDATE is not supported on the Spark engine (a table there is immutable): "
                              "write the change as a CREATE TABLE AS")
        return self._query(tree)

    def register(self, name: str, table: Any) -> None:
        if not isinstance(table, pa.Table):
            table = pa.Table.from_pandas(table, preserve_index=False)
        self._put(self.spark.createDataFrame(_spark_arrow(table)), name)

    def unregister(self, name: str) -> None:
        self._drop(name)

    def write(self, sql: str, path: str, fmt: str) -> int:
        """The query's rows to one file on the driver (what the report links to); how many rows were written."""
        table = self.spark.sql(_spark(sqlglot.parse_one(sql, read="duckdb"))).toArrow()
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, path)
        elif fmt == "csv":
            import pyarrow.csv as pcsv

            pcsv.write_csv(table, path)
        else:
            import json

            with open(path, "w", encoding="utf-8") as out:
                for row in table.to_pylist():
                    out.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
        return table.num_rows

    def write_parts(self, sql: str, path: str, fmt: str) -> int:
        """The query's rows to a directory of part files written by the executors (any path Spark can write:
        s3a://, abfss://, gs://, hdfs://, file://); how many rows were written."""
        df = self.spark.sql(_spark(sqlglot.parse_one(sql, read="duckdb")))
        n = df.count()
        writer = df.write.mode("overwrite")
        if fmt == "csv":
            writer = writer.option("header", "true")
        writer.format(fmt).save(path.rstrip("/"))
        return n

    def has(self, name: str) -> bool:
        return bool(self.spark.catalog.tableExists(name))

    def adopt(self, con, tables: Sequence[str] = ("records", "rejects")) -> None:
        """Bring the loader's tables over from DuckDB (the load runs there; see the README's Spark section). The
        views of an earlier audit on this engine go first: the stages build their tables once per record table."""
        self.reset()
        for t in tables:
            self._materialize(self.spark.createDataFrame(_spark_arrow(con.sql(f"SELECT * FROM {t}").to_arrow_table())), t)

    def reset(self) -> None:
        """Drop the views an earlier audit made on this session (the user's own stay): the stages build their
        tables once per record table, so a new load must not find the last one's."""
        for name in sorted(self._views):
            self._drop(name)

    def put_table(self, df, name: str) -> None:
        """A DataFrame as the table ``name``, computed once (the Spark load's records)."""
        self._materialize(df, name)

    # -- the table lifecycle ---------------------------------------------------------------------------------
    def _create(self, tree: exp.Create) -> SparkResult:
        name = tree.this.this.name if isinstance(tree.this, exp.Schema) else tree.this.name
        kind = (tree.args.get("kind") or "").upper()
        query = tree.expression
        if kind == "VIEW":
            self.spark.sql(f"CREATE OR REPLACE TEMP VIEW {name} AS {_spark(query)}")
            self._views.add(name)
            return SparkResult([], [])
        if tree.args.get("exists") and self.has(name):  # CREATE ... IF NOT EXISTS
            return SparkResult([], [])
        if query is None:  # CREATE TABLE t (col type, ...): an empty table of that shape
            cols = [f"CAST(NULL AS {_spark(c.args['kind'])}) AS {c.name}" for c in tree.this.expressions]
            self._materialize(self.spark.sql("SELECT " + ", ".join(cols) + " WHERE false"), name)
        else:
            self._materialize(self.spark.sql(_spark(query)), name)
        return SparkResult([], [])

    def _insert(self, tree: exp.Insert) -> SparkResult:
        name = tree.this.name
        target = self.spark.table(name)
        if isinstance(tree.expression, exp.Values):
            new = self.spark.sql("SELECT * FROM " + _spark(tree.expression))
        else:
            new = self.spark.sql(_spark(tree.expression))
        # INSERT is positional: the new rows take the target's column names and types.
        new = new.toDF(*target.columns)
        new = new.select(*[new[c].cast(target.schema[c].dataType).alias(c) for c in target.columns])
        self._materialize(target.unionByName(new), name)
        return SparkResult([], [])

    def _materialize(self, df, name: str) -> None:
        # Eager and cut from its lineage: the view no longer depends on the tables its query read (which may be
        # this very name, replaced), and reading it again never recomputes the query.
        self._put(df.localCheckpoint(), name)

    def _put(self, df, name: str) -> None:
        df.createOrReplaceTempView(name)
        self._views.add(name)

    def _drop(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        self._views.discard(name)

    def _query(self, tree: exp.Expression) -> SparkResult:
        df = self.spark.sql(_spark(tree))
        table = df.toArrow()
        return SparkResult(_rows(table), list(df.columns), table)


def _start(master: str | None, remote: str | None, conf: dict[str, str]):
    builder = SparkSession.builder.appName("audit-logs")
    if remote:
        builder = builder.remote(remote)
    else:
        # Under spark-submit (it hands Python its gateway) the master and the rest come from spark-submit's own
        # options: a master set here would override them (a yarn job would run local[*]).
        submitted = not master and "PYSPARK_GATEWAY_PORT" in os.environ
        if not submitted:
            builder = builder.master(master or "local[*]")
        local = not submitted and (master or "local[*]").startswith("local")
        for k, v in {**CONF, **conf}.items():
            # The loopback driver address suits a local session only: a cluster's executors must reach the driver.
            if local or not k.startswith("spark.driver") or k in conf:
                builder = builder.config(k, v)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # a local session's Python workers: this interpreter
    try:
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        return session
    except Exception as e:  # no Java, a port that will not bind, a Connect server that is not there
        raise EngineError(f"could not start Spark ({'remote ' + remote if remote else master or 'local[*]'}): "
                          f"{str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}") from None


def _bind(tree: exp.Expression, params: list) -> exp.Expression:
    """``?`` placeholders become literals, in order (Spark SQL has no positional parameters for every statement)."""
    it = iter(params)

    def sub(node):
        if isinstance(node, exp.Placeholder):
            return _literal(next(it))
        return node

    return tree.transform(sub)


def _literal(v: Any) -> exp.Expression:
    if isinstance(v, Decimal):
        return exp.cast(exp.Literal.number(str(v)), exp.DataType.build("DECIMAL(38,12)"))
    if isinstance(v, dt.datetime):
        return exp.cast(exp.Literal.string(v.isoformat()), exp.DataType.build("TIMESTAMP"))
    return exp.convert(v)


def _portable(node: exp.Expression) -> exp.Expression:
    """DuckDB spellings with another meaning in Spark SQL."""
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1 and not node.expressions[0].is_string:
        return _element_at(node)
    if isinstance(node, exp.Lambda) and len(node.expressions) == 2:
        return _one_based_index(node)
    if isinstance(node, exp.Anonymous) and node.name.upper() in _RENAMED:
        return exp.Anonymous(this=_RENAMED[node.name.upper()], expressions=node.expressions)
    return node


def _element_at(node: exp.Bracket) -> exp.Expression:
    """``list[i]``, 1-based with negatives from the end in DuckDB, as Spark's ``element_at`` (the same rules).
    sqlglot's reader has already made a literal index 0-based (and -1 into -2); a computed one it leaves 1-based."""
    idx = node.expressions[0]
    lit_ = idx.this if isinstance(idx, exp.Neg) else idx
    if isinstance(lit_, exp.Literal) and not lit_.is_string:
        idx = exp.Literal.number(int(idx.sql()) + 1 if not isinstance(idx, exp.Neg) else -int(lit_.this) + 1)
    return exp.Anonymous(this="ELEMENT_AT", expressions=[node.this, idx])


def _one_based_index(node: exp.Lambda) -> exp.Lambda:
    """A lambda's second parameter is the element's index: 1-based in DuckDB, 0-based in Spark."""
    name = node.expressions[1].name

    def shift(n):
        if isinstance(n, (exp.Identifier, exp.Column)) and n.name == name and not isinstance(n.parent, exp.Column):
            return exp.Paren(this=exp.Add(this=n.copy(), expression=exp.Literal.number(1)))
        return n

    body = node.this.transform(shift).transform(_portable)  # a replaced node's children are not visited again
    return exp.Lambda(this=body, expressions=node.expressions)


# Same meaning, another name (sqlglot keeps these as they are).
_RENAMED = {"EPOCH_US": "UNIX_MICROS"}


def _spark(tree: exp.Expression) -> str:
    return tree.copy().transform(_portable).sql(dialect="spark")


def _spark_arrow(table: pa.Table) -> pa.Table:
    """Arrow types Spark does not take (large strings, JSON extension types) as the plain ones it does."""
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_large_string(t) or str(t).startswith("extension"):
            t = pa.string()
        elif pa.types.is_large_list(t):
            t = pa.list_(pa.string()) if pa.types.is_large_string(t.value_type) else pa.list_(t.value_type)
        fields.append(pa.field(f.name, t))
    return table.cast(pa.schema(fields))


def _rows(table: pa.Table) -> list[tuple]:
    cols = [c.to_pylist() for c in table.columns]
    return list(zip(*cols)) if cols else []
