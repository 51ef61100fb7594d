"""Retries: every attempt of a request is its own record, and its cost belongs to the request it retries."""

from __future__ import annotations

from decimal import Decimal

from auditor.fmt import usd
from auditor.rules.base import Hits, RuleContext, rule


def _unlinked_sql(table: str, window_seconds: float) -> str:
    """``_row, kind ('unlinked' | 'dangling'), cost, detail, fix`` for each flagged attempt."""
    # Every step reads only the attempts that can be flagged (r: a retry count or a retry_of, a few % of the
    # records) and, from the full table, only what those attempts need: the traces they are in, the request
    # ids their retry_of names, and the attempts that share a hit's key, model, service and retry count - 1.
    return f"""
WITH r AS (
    SELECT _row, request_id, coalesce(retry_count, 0) AS retry_count, nullif(retry_of, '') AS retry_of,
           nullif(trace_id, '') AS trace_id, timestamp, api_key_id, model, service_id, cost
    FROM {table} WHERE coalesce(retry_count, 0) > 0 OR nullif(retry_of, '') IS NOT NULL
),
tr AS (
    SELECT nullif(trace_id, '') AS trace_id, count(DISTINCT request_id) AS n FROM {table}
    WHERE nullif(trace_id, '') IN (SELECT trace_id FROM r WHERE retry_of IS NULL) GROUP BY 1
),
known AS (SELECT DISTINCT request_id FROM {table} WHERE request_id IN (SELECT retry_of FROM r)),
hit AS (
    SELECT r.*, CASE WHEN r.retry_of IS NOT NULL THEN 'dangling' ELSE 'unlinked' END AS kind
    FROM r LEFT JOIN tr USING (trace_id)
    WHERE (r.retry_of IS NULL AND coalesce(tr.n, 0) < 2)
       OR (r.retry_of IS NOT NULL AND (r.retry_of IS NOT DISTINCT FROM r.request_id
                                       OR NOT EXISTS (SELECT 1 FROM known k WHERE k.request_id = r.retry_of)))
),
unl AS (SELECT * FROM hit WHERE kind = 'unlinked' AND timestamp IS NOT NULL),
-- A likely original for an unlinked retry: the latest earlier attempt on the same key, model and
-- service whose retry count is one less (a suggestion for the fix, never a link the audit assumes).
-- The as-of lookup is a running "last candidate so far" over hits and candidates sorted together per key
-- (linear, and plain SQL on every engine); a NULL key part matches nothing, as in an equality join.
keys AS (SELECT DISTINCT api_key_id, model, service_id, retry_count FROM unl
         WHERE api_key_id IS NOT NULL AND model IS NOT NULL AND service_id IS NOT NULL),
both_sides AS (
    SELECT o.api_key_id, o.model, o.service_id, coalesce(o.retry_count, 0) + 1 AS rc, o.timestamp AS ts, 0 AS side,
           o.request_id AS cand_id, o.timestamp AS cand_ts, CAST(NULL AS BIGINT) AS _row
    FROM {table} o JOIN keys k
      ON k.api_key_id = o.api_key_id AND k.model = o.model AND k.service_id = o.service_id
     AND k.retry_count = coalesce(o.retry_count, 0) + 1
    WHERE o.timestamp IS NOT NULL AND o.request_id IS NOT NULL
    UNION ALL
    SELECT api_key_id, model, service_id, retry_count, timestamp, 1, NULL, NULL, _row FROM unl
    WHERE api_key_id IS NOT NULL AND model IS NOT NULL AND service_id IS NOT NULL
),
latest AS (
    SELECT _row, side, ts,
           last_value(cand_id IGNORE NULLS) OVER w AS cand_id, last_value(cand_ts IGNORE NULLS) OVER w AS cand_ts
    FROM both_sides
    WINDOW w AS (PARTITION BY api_key_id, model, service_id, rc ORDER BY ts, side, cand_id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
cand AS (
    SELECT _row, cand_id, (epoch_us(ts) - epoch_us(cand_ts)) / 1000000.0 AS gap
    FROM latest WHERE side = 1 AND cand_id IS NOT NULL
)
SELECT h._row, h.kind, h.cost,
    CASE
      WHEN h.kind = 'dangling' AND h.retry_of = h.request_id THEN 'retry_of points to the record itself'
      WHEN h.kind = 'dangling' THEN 'retry_of ''' || h.retry_of || ''' is not a request in the logs'
      ELSE 'retry #' || h.retry_count || ' with no retry_of and '
           || CASE WHEN h.trace_id IS NULL THEN 'no trace_id' ELSE 'no other request in trace ' || h.trace_id END
    END AS detail,
    CASE
      WHEN h.kind = 'dangling' THEN 'include the logs that hold the original request, or correct retry_of'
      WHEN c.cand_id IS NOT NULL AND c.gap <= {float(window_seconds)}
        THEN 'retry_of=' || c.cand_id || ' (likely: same key, model and service, retry #' || (h.retry_count - 1)
             || ', ' || round(c.gap, 1) || ' s earlier)'
      ELSE 'set retry_of to the first attempt''s request_id, or give every attempt of the request one trace_id'
    END AS fix
FROM hit h LEFT JOIN cand c USING (_row)"""


@rule("RET001", "unlinked-retry", "warning", params={"candidate_window_seconds": 300})
def unlinked_retry(ctx: RuleContext) -> Hits | None:
    """A retry attempt cannot be tied to the request it retries.

    What it checks: two things. (1) An attempt with retry_count > 0 that has no retry_of and shares its
    trace_id with no other request (no trace_id at all, or the only request_id in its trace; re-delivered
    copies of the same request_id do not count as a link). (2) A retry_of that points to no request_id in
    the logs (or to the record itself), whatever the retry_count. Links are looked for among the LLM
    records of all input files together. For an unlinked retry the fix suggests a likely original: the
    latest earlier attempt on the same api_key_id, model and service_id whose retry_count is one less,
    within candidate_window_seconds (default 300).

    Why it matters: a retry is part of the cost of the request it retries. When the link is missing, the
    retry spend cannot be added to that request, its feature or its customer: per-request costs are
    understated and the retries' spend sits in no request's total. A dangling link usually means part of the
    logs (the original attempts) was not exported.

    Bad: {"request_id": "r2", "retry_count": 1, "retry_of": null, "trace_id": null, "cost": 0.0042}

    Good: {"request_id": "r2", "retry_count": 1, "retry_of": "r1", "trace_id": "t-9f2"}
    """
    sql = _unlinked_sql(ctx.table, ctx.params.get("candidate_window_seconds", 300))
    ctx.con.execute(f"CREATE OR REPLACE TEMP TABLE _ret001_hits AS {sql}")
    kinds = {k: (int(n), Decimal(c)) for k, n, c in ctx.rows(
        "SELECT kind, count(*), coalesce(sum(cost), 0) FROM _ret001_hits GROUP BY 1"
    )}
    if not kinds:
        return None
    n_ret, c_ret = ctx.rows(
        f"SELECT count(*), coalesce(sum(cost), 0) FROM {ctx.table}"
        " WHERE coalesce(retry_count, 0) > 0 OR nullif(retry_of, '') IS NOT NULL"
    )[0]
    un, dang = kinds.get("unlinked", (0, Decimal(0))), kinds.get("dangling", (0, Decimal(0)))
    parts = []
    if un[0]:
        parts.append(f"{un[0]:,} ({usd(un[1])}) carry a retry count but no retry_of and share no trace with another request")
    if dang[0]:
        parts.append(f"{dang[0]:,} ({usd(dang[1])}) have a retry_of that points to no request in the logs")
    return Hits(
        sql="SELECT _row, detail, fix FROM _ret001_hits",
        message="{count} retry attempts ({cost}) cannot be tied to the request they retry: " + "; ".join(parts)
        + f". That retry spend is in no request's cost (all retries: {int(n_ret):,} attempts, {usd(c_ret)}).",
        extra={
            "unlinked": {"records": un[0], "cost": un[1]},
            "dangling": {"records": dang[0], "cost": dang[1]},
            "retries": {"records": int(n_ret), "cost": Decimal(c_ret)},
        },
    )
