"""Integrity: the logs hold each request exactly once."""

from __future__ import annotations

from decimal import Decimal

from auditor.rules.base import Hits, RuleContext, rule


def _duplicates_sql(table: str) -> str:
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


@rule("INT001", "duplicate-request", "error")
def duplicate_request(ctx: RuleContext) -> Hits | None:
    """The same request appears more than once, so its cost would be charged twice.

    What it checks: request_id occurs in more than one LLM record (across all input files). The first copy
    (in input order) is kept; every further copy is flagged, so the $ at risk is exactly the cost that
    would be double-counted. Records with the same request_id but different non-empty trace_ids are
    different requests, not copies: OTLP maps request_id to the span id, which is only unique within its
    trace. A copy without a trace_id counts as a copy when all others with that request_id share one trace.

    Why it matters: loggers re-deliver on timeouts and restarts (S3 retries, at-least-once queues, the same
    day exported twice). Every re-delivered record adds its cost to a team's bill a second time, and the
    sum no longer reconciles with the provider's invoice.

    Bad: two records {"request_id": "chatcmpl-9x", "cost": 0.0042} in the same or different files

    Good: one record per request_id; a retry is a new attempt with its own request_id and retry_of
    """
    ctx.con.execute(f"CREATE OR REPLACE TEMP TABLE _int001_copies AS {_duplicates_sql(ctx.table)}")
    n_req, n_copies, cost = ctx.rows(
        "SELECT count(DISTINCT request_id), count(*), coalesce(sum(cost), 0) FROM _int001_copies")[0]
    if not n_copies:
        return None
    return Hits(
        sql="SELECT _row, detail, fix FROM _int001_copies",
        message="{count} records ({cost}) are extra copies of " + f"{int(n_req):,}"
        + " requests already in the logs: counted as they are, that cost is charged twice.",
        extra={"duplicated_requests": int(n_req), "extra_copies": int(n_copies), "double_counted_cost": Decimal(cost)},
    )
