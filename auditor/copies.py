"""Copies of one request: the one definition every money figure, the duplicate-request rule and the ledger share.

A gateway that logs to two sinks, a logger that re-delivers on a timeout, the same day exported twice: each
puts a request in the logs more than once. The first record of a request (by ``_row``, the input order) is
the request; every later one is a *copy*. Copies are flagged by INT001 duplicate-request and left out of
every money figure (total, team spend, attributable and unattributed spend, tiers, the verdict, the
reconciliation's ledger), so each request is counted once; the report shows them on a line of their own.
"""

from __future__ import annotations

import duckdb

from auditor.engine import shared_table

COPIES = "copies"


def copies_sql(table: str = "llm") -> str:
    """``_row, request_id, cost, detail, fix`` for every copy of a request after the first (by ``_row``).

    The key is request_id, refined by trace_id only when the copies disagree: records with the same
    request_id and *different non-null* trace_ids are different requests (OTLP maps request_id to the span
    id, which is unique only within its trace); a copy with no trace_id joins the others when they all
    share one trace_id (the same request exported by two loggers, one of which drops the trace id).
    """
    # Only request_ids that occur more than once can have copies: the windows below then run over those
    # few records instead of every record.
    return f"""
WITH d AS (
    SELECT _row, request_id, nullif(trace_id, '') AS trace_id, cost, source_file, source_line
    FROM {table} WHERE nullif(request_id, '') IS NOT NULL AND request_id IN (
        SELECT request_id FROM {table} WHERE nullif(request_id, '') IS NOT NULL GROUP BY 1 HAVING count(*) > 1)
),
one AS (SELECT request_id, min(trace_id) AS only_trace FROM d GROUP BY 1 HAVING count(DISTINCT trace_id) <= 1),
k AS (SELECT d.*, coalesce(d.trace_id, one.only_trace) AS tkey FROM d LEFT JOIN one USING (request_id)),
n AS (
    SELECT k.*, row_number() OVER w AS copy, count(*) OVER (PARTITION BY request_id, tkey) AS copies,
           first_value(source_file || ':' || source_line) OVER w AS first_at, first_value(cost) OVER w AS first_cost
    FROM k WINDOW w AS (PARTITION BY request_id, tkey ORDER BY _row)
)
SELECT _row, request_id, cost,
       'copy ' || copy || ' of ' || copies || ' of request ' || request_id || coalesce(' in trace ' || tkey, '')
       || coalesce(' (first at ' || first_at || ')', '')
       || CASE WHEN cost IS DISTINCT FROM first_cost
               THEN '; its cost ' || coalesce(cost::DOUBLE::VARCHAR, 'null') || ' differs from the first copy''s '
                    || coalesce(first_cost::DOUBLE::VARCHAR, 'null') ELSE '' END AS detail,
       'drop this copy: count each request_id once (the logger re-delivered it)' AS fix
FROM n WHERE copy > 1"""


def ensure_copies(con: duckdb.DuckDBPyConnection, table: str = "llm") -> str:
    """The ``copies`` table (``_row, request_id, cost, detail, fix``), built once per audit; its name."""
    return shared_table(con, COPIES, copies_sql, table)


def reset_copies(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the table (the records changed: a new audit on the same connection)."""
    con.execute(f"DROP TABLE IF EXISTS {COPIES}")
