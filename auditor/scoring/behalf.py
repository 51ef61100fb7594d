"""On behalf of: who pays for a request one team's tool or model made for another team's agent.

A record's *owner* is the team it belongs to (auditor/scoring/attribution.py: its team id or a recognised
spelling, or the registry owner of its key): the serving team, the one that pays today. Its *caller* is the
team it was made for: its logged ``on_behalf_of``, else the calling team its trace implies, which is the
one missing-on-behalf-of (OBO001) names and suggests as ``on_behalf_of`` (auditor/rules/identity.py: the
same table, one trace walk). A caller is read as a team: a registry alias maps to its team, a spelling the
records use as a team id maps to the team those records resolve to; with a registry, a caller that names
no registry team is no caller (free text such as a user id must not become a team). A record with no
owner, or whose caller is its owner, has no caller.

The policy's ``[attribution] on_behalf_of`` picks the view every team figure (team spend, attributable
spend, scores, tiers, the verdict) uses: ``"owner"`` (default) charges a record to its owner, ``"caller"``
to its caller when it has one. The report shows both views per team::

    owner view  = cost of the team's own records
    caller view = owner view - served for others (its records with a caller) + caused via others
                  (other teams' records whose caller it is)

Money moves between teams, never appears or disappears: both views total the same, each request once
(copies of a request, auditor/copies.py, are in neither).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import duckdb

from auditor.contract.sql import lit
from auditor.rules.identity import ensure_implied_callers
from auditor.spend import OnBehalf, TeamScore, team_label, view_fields

if TYPE_CHECKING:  # pragma: no cover
    from auditor.policy import Policy

ZERO = Decimal(0)


def caller_joins(con: duckdb.DuckDBPyConnection) -> tuple[str, str, str]:
    """(joins on ``llm r``, raw caller, its source) for the base select of the attribution table."""
    implied = ensure_implied_callers(con)
    logged = "nullif(trim(r.on_behalf_of), '')"
    return (f" LEFT JOIN {implied} ic ON ic._row = r._row", f"coalesce({logged}, ic.caller_team)",
            f"CASE WHEN {logged} IS NOT NULL THEN 'logged' WHEN ic.caller_team IS NOT NULL THEN 'trace' END")


def charged_sql(base: str, policy: "Policy | None") -> str:
    """The attribution table's SELECT over ``base`` (every record column, ``owner``, the raw caller ``_for`` and
    its source ``_for_src``): adds ``caller``, ``caller_source`` ('logged' or 'trace') and ``team``, the team
    charged in the policy's view."""
    teams = policy.teams if policy else {}
    spellings = {**{a: tid for tid, t in teams.items() for a in t.aliases}, **{tid: tid for tid in teams}}
    reg = (" LEFT JOIN (VALUES " + ", ".join(f"({lit(s)}, {lit(t)})" for s, t in sorted(spellings.items()))
           + ") reg(spelling, team) ON reg.spelling = b._for") if spellings else ""
    resolved = f"coalesce({'reg.team, ' if reg else ''}sp.team, b._for)"
    if teams:  # with a registry only a registry team can be charged
        resolved = f"CASE WHEN list_contains([{', '.join(lit(t) for t in sorted(teams))}], {resolved}) THEN {resolved} END"
    charged = "CASE WHEN _moved THEN _caller ELSE owner END" if policy and policy.on_behalf_of == "caller" else "owner"
    return f"""
WITH b AS MATERIALIZED ({base}),
sp AS (SELECT team_id AS spelling, min(owner) AS team FROM b WHERE owner IS NOT NULL AND nullif(team_id, '') IS NOT NULL
       GROUP BY 1 HAVING count(DISTINCT owner) = 1),
c AS (SELECT b.*, {resolved} AS _caller FROM b{reg} LEFT JOIN sp ON sp.spelling = b._for),
m AS (SELECT *, coalesce(owner IS NOT NULL AND _caller <> owner, false) AS _moved FROM c)
SELECT * EXCLUDE (_for, _for_src, _caller, _moved), CASE WHEN _moved THEN _caller END AS caller,
       CASE WHEN _moved THEN _for_src END AS caller_source, {charged} AS team
FROM m"""


def views(con: duckdb.DuckDBPyConnection, teams: list[TeamScore], names: dict[str, str], view: str) -> OnBehalf:
    """Fill both views on ``teams`` (the teams charged in ``view``); what moves between the views."""
    per = {t: (Decimal(own), Decimal(served), Decimal(caused)) for t, own, served, caused in con.execute(
        "WITH a AS (SELECT owner, caller, cost FROM attribution WHERE owner IS NOT NULL AND NOT is_copy)"
        " SELECT team, sum(own), sum(served), sum(caused) FROM ("
        "  SELECT owner AS team, sum(cost) AS own, coalesce(sum(cost) FILTER (WHERE caller IS NOT NULL), 0) AS served,"
        "         0 AS caused FROM a GROUP BY 1"
        "  UNION ALL SELECT caller, 0, 0, sum(cost) FROM a WHERE caller IS NOT NULL GROUP BY 1"
        " ) GROUP BY 1 ORDER BY 1"
    ).fetchall()}
    for t in teams:
        _set(t, *per.get(t.team_id, (ZERO, ZERO, ZERO)))
    charged = {t.team_id for t in teams}
    others = []
    for tid, (own, served, caused) in per.items():
        if tid not in charged:
            row = TeamScore(tid, 0, ZERO, ZERO, name=names.get(tid))
            _set(row, own, served, caused)
            others.append({"team_id": tid, "name": row.name, "label": row.label, **view_fields(row)})
    others.sort(key=lambda x: (-x[f"{'owner' if view == 'caller' else 'caller'}_view_cost"], x["team_id"]))
    n, cost, n_logged, c_logged = con.execute(
        "SELECT count(*), coalesce(sum(cost), 0), count(*) FILTER (WHERE caller_source = 'logged'),"
        " coalesce(sum(cost) FILTER (WHERE caller_source = 'logged'), 0)"
        " FROM attribution WHERE caller IS NOT NULL AND NOT is_copy"
    ).fetchall()[0]
    return OnBehalf(view, int(n), Decimal(cost), int(n_logged), Decimal(c_logged), _pairs(con, names), others)


def _set(t: TeamScore, own: Decimal, served: Decimal, caused: Decimal) -> None:
    t.owner_view_cost, t.served_for_others, t.caused_via_others = own, served, caused
    t.caller_view_cost = own - served + caused


def _pairs(con: duckdb.DuckDBPyConnection, names: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"caller": a, "caller_label": team_label(a, names.get(a)), "team": b, "team_label": team_label(b, names.get(b)),
         "records": int(n), "cost": Decimal(c), "logged_records": int(nl)}
        for a, b, n, c, nl in con.execute(
            "SELECT caller, owner, count(*), sum(cost), count(*) FILTER (WHERE caller_source = 'logged')"
            " FROM attribution WHERE caller IS NOT NULL AND NOT is_copy GROUP BY 1, 2 ORDER BY 4 DESC, 1, 2"
        ).fetchall()
    ]
