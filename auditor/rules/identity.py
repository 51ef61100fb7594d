"""Identity across a trace: who called whom, so a tool team's cost can be sliced by the agent that invoked it.

The trace walk reads the whole ``records`` table (agent and tool spans are trace context, not LLM
requests, and are left out of the ``llm`` view) and follows ``parent_span_id -> span_id`` inside one
``trace_id`` with a recursive CTE, from each trace's roots down. Each visited record gets ``anc``: its
ancestors, root first, as structs (span, kind, team, service, cost_center, environment, principal, workflow).

Walk details (the same for every rule that uses it):
- only traces with at least one parent link are walked (LiteLLM trace ids group attempts, not spans);
- a root is a span with no parent, a parent equal to itself, or a parent not in the data (an orphan);
- when a span id occurs more than once in a trace (a re-delivered span), the first copy by ``_row``
  is the one children hang under; every copy is still visited as a record;
- a cycle of parent links that no root reaches is not walked; depth is capped at 1,000.
"""

from __future__ import annotations

import duckdb

from auditor.engine import shared_table
from auditor.fmt import usd
from auditor.rules.base import LLM, Hits, RuleContext, rule

OWNER_FIELDS = ("team_id", "service_id", "cost_center", "environment")
# The LLM records made for another team's agent that do not say so, with the calling team the trace implies:
# computed once per audit, read by OBO001 and by the attribution's caller view (one walk, one definition).
IMPLIED_CALLERS = "implied_callers"


def _nz(col: str) -> str:
    return f"nullif({col}, '')"


def trace_walk_ctes(table: str = "records", only: str = "true") -> str:
    """CTEs (to follow ``WITH RECURSIVE``) defining ``walk(_row, trace_id, span_id, me, anc)``; ``only``: a
    condition on ``records`` columns; only traces holding a record that meets it are walked."""
    me = (
        f"{{'row': _row, 'span': {_nz('span_id')}, 'kind': record_kind, 'team': {_nz('team_id')},"
        f" 'service': {_nz('service_id')}, 'cost_center': {_nz('cost_center')}, 'environment': {_nz('environment')},"
        f" 'principal': {_nz('principal')}, 'workflow': {_nz('workflow_id')}}}"
    )
    return f"""
_tw_nodes AS (
    SELECT _row, trace_id, {_nz('span_id')} AS span_id, {_nz('parent_span_id')} AS parent_span_id, {me} AS me,
           ({_nz('span_id')} IS NOT NULL AND row_number() OVER (PARTITION BY trace_id, span_id ORDER BY _row) = 1) AS canon
    FROM {table}
    WHERE trace_id IS NOT NULL AND trace_id <> ''
      AND trace_id IN (SELECT DISTINCT trace_id FROM {table} WHERE parent_span_id IS NOT NULL AND parent_span_id <> '')
      AND trace_id IN (SELECT DISTINCT trace_id FROM {table} WHERE {only})
),
_tw_parents AS (SELECT trace_id, span_id FROM _tw_nodes WHERE canon),
walk AS (
    SELECT n._row, n.trace_id, n.span_id, n.canon, n.me, list_filter([n.me], lambda x: false) AS anc
    FROM _tw_nodes n
    WHERE n.parent_span_id IS NULL OR n.parent_span_id = n.span_id
       OR NOT EXISTS (SELECT 1 FROM _tw_parents p WHERE p.trace_id = n.trace_id AND p.span_id = n.parent_span_id)
    UNION ALL
    SELECT n._row, n.trace_id, n.span_id, n.canon, n.me, list_append(w.anc, w.me)
    FROM walk w JOIN _tw_nodes n ON n.trace_id = w.trace_id AND n.parent_span_id = w.span_id
    WHERE w.canon AND n.parent_span_id IS DISTINCT FROM n.span_id AND array_length(w.anc) < 1000
)"""


def implied_owner_sql(table: str = "records") -> str:
    """``(_row, fix)`` for records with no team inside a trace whose ancestors have one: the nearest such
    ancestor's ownership values for the fields the record lacks, e.g.
    ``team_id=research, cost_center=cc-1000 (implied by agent span a1 of trace t1)``."""
    parts = ", ".join(
        f"CASE WHEN nullif(r.{f}, '') IS NULL AND (_io.own).{k} IS NOT NULL THEN '{f}=' || (_io.own).{k} END"
        for f, k in zip(OWNER_FIELDS, ("team", "service", "cost_center", "environment"))
    )
    return f"""WITH RECURSIVE {trace_walk_ctes(table, "nullif(team_id, '') IS NULL")},
_io AS (SELECT w._row, w.trace_id, list_filter(w.anc, lambda a: a.team IS NOT NULL)[-1] AS own FROM walk w)
SELECT r._row, concat_ws(', ', {parts}) || ' (implied by ' || coalesce((_io.own).kind, 'parent') || ' span '
       || coalesce((_io.own).span, '?') || ' of trace ' || _io.trace_id || ')' AS fix
FROM _io JOIN {table} r USING (_row)
WHERE _io.own IS NOT NULL AND nullif(r.team_id, '') IS NULL"""


def _obo_sql(table: str) -> str:
    """Per flagged record: _row, detail, fix, caller (team), callee (team)."""
    other = "list_filter(w.anc, lambda a: a.team IS NOT NULL AND a.team <> r.team_id)"
    teams = "list_filter(list_append(list_transform(w.anc, lambda a: a.team), r.team_id), lambda t: t IS NOT NULL)"
    first = "list_filter(list_append(list_transform(w.anc, lambda a: a.{f}), nullif(r.{c}, '')), lambda v: v IS NOT NULL)[1]"
    return f"""WITH RECURSIVE {trace_walk_ctes('records', "nullif(on_behalf_of, '') IS NULL AND record_kind = 'llm'")},
_ob AS (
    SELECT r._row, w.trace_id, r.team_id AS callee, {other}[-1] AS caller,
           list_filter({teams}, lambda t, i: i = 1 OR t <> {teams}[i - 1]) AS chain,
           {first.format(f='principal', c='principal')} AS principal,
           {first.format(f='cost_center', c='cost_center')} AS root_cc
    FROM walk w JOIN {table} r USING (_row)
    WHERE nullif(r.team_id, '') IS NOT NULL AND nullif(r.on_behalf_of, '') IS NULL AND array_length({other}) > 0
)
SELECT _row, caller.team AS caller_team, callee,
       'team ' || callee || ' served team ' || caller.team || '''s ' || coalesce(caller.kind, 'span')
       || coalesce(' ''' || coalesce(caller.workflow, caller.service) || '''', '') || ' (span ' || coalesce(caller.span, '?')
       || ') in trace ' || trace_id || ' but the record carries no on_behalf_of; chain ' || array_to_string(chain, ' -> ')
       || coalesce('; principal ' || principal, '') || coalesce('; cost center ' || root_cc, '') AS detail,
       'on_behalf_of=' || caller.team || ' (chain ' || array_to_string(chain, ' -> ')
       || coalesce(', principal ' || principal, '') || coalesce(', cost center ' || root_cc, '') || ')' AS fix
FROM _ob"""


def ensure_implied_callers(con: duckdb.DuckDBPyConnection, table: str = LLM) -> str:
    """Create the ``implied_callers`` table (``_row, caller_team, callee, detail, fix``: :func:`_obo_sql`) once
    per audit; its name. The rule runner drops it when the records change (:func:`reset_implied_callers`)."""
    return shared_table(con, IMPLIED_CALLERS, _obo_sql, table)


def reset_implied_callers(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"DROP TABLE IF EXISTS {IMPLIED_CALLERS}")


@rule("OBO001", "missing-on-behalf-of", "warning")
def missing_on_behalf_of(ctx: RuleContext) -> Hits | None:
    """An LLM call made for another team's agent does not say on whose behalf it was made.

    What it checks: in a trace that crosses teams (an agent, tool or other span of team A has a
    descendant LLM record of team B, followed through parent_span_id -> span_id in the same trace_id),
    each team-B LLM record whose on_behalf_of is empty. The calling team is the nearest ancestor span with
    a team other than B. The finding gives the chain the trace implies (A -> B, and longer chains such as
    A -> C -> B), the root's principal and cost center (the first found from the root down), and
    suggests on_behalf_of=A. Traces in which every
    span has the same team are not flagged; records with no team at all are missing-owner's business (its
    fix suggests the owner implied by the trace).

    The calling team is found even when it is only on ancestor spans (the tool span in between carries no
    team). The message and details.chains give the requests and spend per (calling team, serving team).

    Why it matters: the tool team pays for the call, but the cost was caused by the calling agent. Without
    on_behalf_of a tool team's spend cannot be sliced by which agent (and which product) invoked it, and the
    "you called me" dispute between the two teams has no data behind it.

    Who is charged: the policy decides, in [attribution] on_behalf_of. "owner" (the default) charges
    the serving team (B), whose record it is; "caller" charges the calling team (A) for every request made
    on its behalf: the ones whose on_behalf_of names it, and the ones this rule finds, with the caller it
    suggests, so fixing the records as suggested does not change the caller view. Team spend, attributable
    spend, scores, tiers and the verdict use the chosen view; the team table of every report shows both
    (JSON teams[].owner_view_cost and caller_view_cost, and sections.on_behalf_of), and both views
    total the same, each request once. With a registry, a caller that names no registry team (or alias)
    is not charged; a registry alias is read as its team.

        [attribution]
        on_behalf_of = "caller"   # or "owner" (default)

    Bad: agent span {"span_id": "a1", "team_id": "support-automation", "principal": "u-17"}, and its child
    {"request_id": "r2", "trace_id": "t1", "span_id": "l1", "parent_span_id": "a1", "team_id": "research-tools", "on_behalf_of": null}

    Good: {"request_id": "r2", "trace_id": "t1", "span_id": "l1", "parent_span_id": "a1", "team_id": "research-tools", "on_behalf_of": "support-automation"}
    """
    calls = ensure_implied_callers(ctx.con, ctx.table)
    pairs = ctx.rows(
        f"SELECT f.caller_team, f.callee, count(*), coalesce(sum(r.cost), 0) FROM {calls} f JOIN {ctx.table} r USING (_row)"
        " GROUP BY 1, 2 ORDER BY 4 DESC, 1, 2"
    )
    if not pairs:
        return None
    top = ", ".join(f"{a} -> {b} ({n:,} {'request' if n == 1 else 'requests'}, {usd(c)})" for a, b, n, c in pairs[:3])
    return Hits(
        sql=f"SELECT _row, detail, fix FROM {calls}",
        message="{count} requests ({cost}) were made by one team's tool or model for another team's agent without saying "
        "on whose behalf (on_behalf_of is empty), so the serving team's cost cannot be split by the agent that called it. "
        "Calling team -> serving team: " + top.replace("{", "{{").replace("}", "}}") + ".",
        extra={"chains": [{"caller": a, "team": b, "records": int(n), "cost": c} for a, b, n, c in pairs]},
    )
