"""The engine seam: where the record table lives and the rule SQL runs.

Every stage after the load (rules, attribution, scoring, reconciliation, exports) talks to an :class:`Engine`:
``execute(sql, params)`` with SQL written once, in DuckDB's dialect restricted to a portable subset
(tests/test_spark_engine.py keeps DuckDB-only constructs out), ``register``/``unregister`` for Arrow tables built
in Python (:func:`temp_table`), ``has(name)`` and ``write(sql, path, fmt)``. :class:`DuckDBEngine` is the embedded default; :class:`SparkEngine`
(``auditor.engine.spark``, the ``spark`` extra) carries the same statements to Spark SQL with sqlglot.
"""

from __future__ import annotations

from auditor.engine.base import Engine, EngineError
from auditor.engine.duck import DuckDBEngine

__all__ = ["Engine", "EngineError", "DuckDBEngine", "shared_table", "spark_engine", "temp_table"]


def temp_table(con, name: str, columns: dict) -> str:
    """The temp table ``name`` holding ``columns`` (name -> Arrow array): one round trip through Arrow, whatever the
    number of rows (on Spark a row-by-row INSERT would be a job per row)."""
    import pyarrow as pa

    con.register(f"{name}_arrow", pa.table(columns))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")
    return name


def shared_table(con, name: str, build, table: str = "llm") -> str:
    """The temp table ``name`` as ``build(source)`` defines it, built on first use and then shared for the rest of
    the audit (several rules and the money figures read it; the rule runner drops it when the records change);
    ``source`` is ``table``, or the LLM records when called before the ``llm`` view exists."""
    if not con.has(name):
        if table == "llm" and not con.has("llm"):
            table = "(SELECT * FROM records WHERE record_kind = 'llm')"
        con.execute(f"CREATE TEMP TABLE {name} AS {build(table)}")
    return name


def spark_engine(*, master: str | None = None, remote: str | None = None, session=None):
    """A SparkEngine, or an EngineError that says how to install the extra."""
    try:
        from auditor.engine.spark import SparkEngine
    except ImportError as e:  # pyspark or sqlglot missing
        raise EngineError(f"--engine spark needs the spark extra ({e.name} is not installed): "
                          "pip install 'audit-logs[spark]' (and a Java 17+ runtime for a local session)") from None
    return SparkEngine(session=session, master=master, remote=remote)
