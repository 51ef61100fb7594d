"""The engine seam: where the record table lives and the rule SQL runs.

Every stage after the load (rules, attribution, scoring, reconciliation, exports) talks to an :class:`Engine`:
``execute(sql, params)`` with SQL written once, in DuckDB's dialect restricted to a portable subset
(tests/test_engine_sql.py keeps DuckDB-only constructs out), ``register``/``unregister`` for Arrow tables built
in Python, and ``executemany``. :class:`DuckDBEngine` is the embedded default; :class:`SparkEngine`
(``auditor.engine.spark``, the ``spark`` extra) carries the same statements to Spark SQL with sqlglot.
"""

from __future__ import annotations

from auditor.engine.base import Engine, EngineError
from auditor.engine.duck import DuckDBEngine

__all__ = ["Engine", "EngineError", "DuckDBEngine", "spark_engine"]


def spark_engine(*, master: str | None = None, remote: str | None = None, session=None):
    """A SparkEngine, or an EngineError that says how to install the extra."""
    try:
        from auditor.engine.spark import SparkEngine
    except ImportError as e:  # pyspark or sqlglot missing
        raise EngineError(f"--engine spark needs the spark extra ({e.name} is not installed): "
                          "pip install 'audit-logs[spark]' (and a Java 17+ runtime for a local session)") from None
    return SparkEngine(session=session, master=master, remote=remote)
