"""Integrity: the logs hold each request exactly once."""

from __future__ import annotations

from decimal import Decimal

from auditor.copies import COPIES, ensure_copies
from auditor.fmt import plural
from auditor.rules.base import Hits, RuleContext, rule


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
    ensure_copies(ctx.con, ctx.table)  # one definition of a copy for the rule, the money figures and the ledger
    n_req, n_copies, cost = ctx.rows(f"SELECT count(DISTINCT request_id), count(*), coalesce(sum(cost), 0) FROM {COPIES}")[0]
    if not n_copies:
        return None
    return Hits(
        sql=f"SELECT _row, detail, fix FROM {COPIES}",
        message="{count} records ({cost}) duplicate requests already in the logs (" + plural(int(n_req), "request")
        + " with copies): counted as they are, that cost is charged twice.",
        extra={"duplicated_requests": int(n_req), "extra_copies": int(n_copies), "double_counted_cost": Decimal(cost)},
    )
