"""Which team a record belongs to, and the spend each team, and nobody, would be charged.

A team's records are the records whose team_id is its id or a recognised spelling of it (a registry
alias, or the canonical value the free-form-tag rule suggests), plus the records that carry no team
at all on a gateway key that the policy's registry gives to that team (its untagged traffic: it counts
against the team's readiness, and its cost is in the unallocated bucket until it is tagged).

Copies of a request (auditor/copies.py) are rows of the ``attribution`` table with ``is_copy``; every
money figure reads ``NOT is_copy``, so each request is counted once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import duckdb

from auditor.contract.schema import OWNERSHIP_FIELDS
from auditor.contract.sql import MISSING_CODES, lit
from auditor.copies import ensure_copies
from auditor.findings import Finding
from auditor.scoring.behalf import caller_joins, charged_sql, views
from auditor.spend import Attribution, TeamScore

if TYPE_CHECKING:  # pragma: no cover
    from auditor.policy import Policy

ZERO = Decimal(0)


def registry_key_owners(policy: "Policy | None") -> dict[str, str | None]:
    """Key id or alias -> the one team the registry gives it to (None when several teams list it)."""
    owners: dict[str, str | None] = {}
    for tid, team in (policy.teams if policy else {}).items():
        for k in team.keys:
            owners[k] = tid if owners.get(k, tid) == tid else None
    return owners


def _team_expr(policy: "Policy | None", findings: list[Finding]) -> tuple[str, str]:
    """(joins, expression) giving a record's team: the registry team its team_id spells (the free-form-tag
    rule's suggested canonical value, or a registry alias), else its team_id, else the registry owner of its key."""
    joins, parts = "", []
    ff = [f.code for f in findings if f.name == "free-form-tag"]
    if ff:
        joins += (" LEFT JOIN (SELECT _row, nullif(trim(regexp_extract(fix, 'team_id: ([^;]+)', 1)), '') AS team"
                  f" FROM finding_rows WHERE code = {lit(ff[0])} AND fix LIKE '%team_id: %') ff ON ff._row = r._row")
        parts.append("ff.team")
    aliases = {a: t.team_id for t in (policy.teams.values() if policy else ()) for a in t.aliases}
    if aliases:
        values = ", ".join(f"({lit(a)}, {lit(t)})" for a, t in sorted(aliases.items()))
        joins += f" LEFT JOIN (VALUES {values}) al(alias, team) ON al.alias = r.team_id"
        parts.append("al.team")
    parts.append("nullif(r.team_id, '')")
    owned = {k: t for k, t in registry_key_owners(policy).items() if t}
    if owned:
        values = ", ".join(f"({lit(k)}, {lit(t)})" for k, t in sorted(owned.items()))
        joins += (f" LEFT JOIN (VALUES {values}) k1(key, team) ON k1.key = r.api_key_id"
                  f" LEFT JOIN (VALUES {values}) k2(key, team) ON k2.key = r.api_key_alias")
        parts += ["k1.team", "k2.team"]
    return joins, f"coalesce({', '.join(parts)})"


def attributable_view(con: duckdb.DuckDBPyConnection, findings: list[Finding], policy: "Policy | None" = None) -> None:
    """``attribution(_row, team_id, owner, caller, team, cost, attributable)`` over the LLM records (``owner``: the
    record's team, see the module doc; ``caller``: the team it was made for, and ``team``: the team charged in the
    policy's view, see auditor/scoring/behalf.py), plus what the scoring reads of each record, so that it need not
    join the records again: ``service`` and
    ``key_id``, ``key_alias`` (NULL when empty), ``env`` (environment, lower case), ``day`` (UTC date) and
    ``bad_owner`` (an ownership field is malformed), ``is_copy`` (a later copy of a request: in no money
    figure) and ``team_name`` (the display name the record carries with its team)."""
    blocking = [f.code for f in findings if f.blocks_attribution]
    owned = "[" + ", ".join(lit(f) for f in OWNERSHIP_FIELDS) + "]"
    missing = "[" + ", ".join(lit(c) for c in MISSING_CODES) + "]"
    blocked = (
        # blocks = false: the rule flagged the record without blocking it (per record, e.g. free-form-tag)
        f"r._row IN (SELECT _row FROM finding_rows WHERE code IN ({', '.join(lit(c) for c in blocking)}) AND blocks IS NOT false)"
        if blocking else "false"
    )
    joins, team = _team_expr(policy, findings)
    copies = ensure_copies(con)

    def violated(test: str) -> str:  # SQL: some 'field:code' violation of the record passes ``test`` (over f, c)
        test = test.replace("{f}", "split_part(v, ':', 1)").replace("{c}", "split_part(v, ':', 2)")
        return f"array_length(list_filter(r._violations, lambda v: {test})) > 0"

    owner = f"list_contains({owned}, {{f}})"
    malformed = f"NOT list_contains({missing}, {{c}})"  # present, but the contract rejects its value
    bad_cost = f"{{f}} = 'cost' AND {malformed}"
    caller_join, caller, caller_src = caller_joins(con)
    # A table, not a view: the attribution and the scoring read it about ten times.
    con.execute(
        # A cost the contract rejects (negative, not a number) is no evidence: the record is not attributable,
        # and a negative amount counts as 0, so no share of spend leaves [0, 100]% (CON002 shows it as logged).
        "CREATE OR REPLACE TEMP TABLE attribution AS " + charged_sql(
            f"SELECT r._row, r.team_id, {team} AS owner, greatest(coalesce(r.cost, 0), 0) AS cost, "
            f"NOT {violated(f'{owner} OR ({bad_cost})')} AND NOT ({blocked}) AS attributable,"
            f" nullif(r.service_id, '') AS service, nullif(r.api_key_id, '') AS key_id,"
            f" nullif(r.api_key_alias, '') AS key_alias, lower(r.environment) AS env, CAST(r.timestamp AS DATE) AS day,"
            f" {violated(f'{owner} AND {malformed}')} AS bad_owner, {violated(bad_cost)} AS bad_cost,"
            f" c._row IS NOT NULL AS is_copy, nullif(trim(r.team_name), '') AS team_name, {caller} AS _for, {caller_src} AS _for_src"
            f" FROM llm r{joins} LEFT JOIN {copies} c ON c._row = r._row{caller_join}", policy)
    )


def attribute(con: duckdb.DuckDBPyConnection, findings: list[Finding], policy: "Policy | None" = None) -> Attribution:
    """Spend per team and in total, each request once; the unallocated bucket and what causes it."""
    attributable_view(con, findings, policy)
    rows = con.execute(
        "SELECT team, count(*), sum(cost), coalesce(sum(cost) FILTER (WHERE attributable), 0)"
        " FROM attribution WHERE team IS NOT NULL AND NOT is_copy GROUP BY 1 ORDER BY 3 DESC, 1"
    ).fetchall()
    names = team_names(con, policy)
    teams = [TeamScore(t, int(n), Decimal(c), Decimal(a), name=names.get(t)) for t, n, c, a in rows]
    on_behalf = views(con, teams, names, policy.on_behalf_of if policy else "owner")
    total, attributable, records, un_n, copies, copies_cost = con.execute(
        "SELECT coalesce(sum(cost) FILTER (WHERE NOT is_copy), 0),"
        " coalesce(sum(cost) FILTER (WHERE attributable AND NOT is_copy), 0), count(*),"
        " count(*) FILTER (WHERE NOT attributable AND NOT is_copy), count(*) FILTER (WHERE is_copy),"
        " coalesce(sum(cost) FILTER (WHERE is_copy), 0) FROM attribution"
    ).fetchall()[0]
    causes = []
    by_code = {f.code: f for f in findings}
    for code, n, c in con.execute(
        "SELECT f.code, count(DISTINCT a._row), sum(a.cost) FROM attribution a JOIN finding_rows f USING (_row)"
        " WHERE NOT a.attributable AND NOT a.is_copy GROUP BY 1 ORDER BY 3 DESC, 1"
    ).fetchall():
        if code in by_code:
            causes.append({"code": code, "name": by_code[code].name, "records": int(n), "cost": Decimal(c)})
    return Attribution(Decimal(total), Decimal(attributable), int(records), teams, int(un_n), causes,
                       copies=int(copies), copies_cost=Decimal(copies_cost), on_behalf=on_behalf)


def team_names(con: duckdb.DuckDBPyConnection, policy: "Policy | None" = None) -> dict[str, str]:
    """Team -> display name: the registry's, else the name its records carry most often (ties: the first in
    sort order, so the same input always gives the same name). A team that owns no LLM record (an agent team
    charged only in the caller view) has a name only from the registry."""
    out = {r[0]: r[1] for r in con.execute(
        # owner, not team: the name a record logs with its team id is its owner's, whoever is charged
        "SELECT owner, team_name FROM attribution WHERE owner IS NOT NULL AND team_name IS NOT NULL AND NOT is_copy"
        " GROUP BY 1, 2 QUALIFY row_number() OVER (PARTITION BY owner ORDER BY count(*) DESC, team_name) = 1"
    ).fetchall()}
    for tid, t in (policy.teams.items() if policy else ()):
        if t.name:
            out[tid] = t.name
    return out


def key_owners_from_data(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    """Key id -> its one team when every request on it carries that same team, else None. The team as resolved
    (the attribution's owner): a spelling or a name typed where the id goes is that team, not a second owner."""
    out = {}
    for key, teams, untagged, team in con.execute(
        "SELECT key_id, count(DISTINCT owner), count(*) FILTER (WHERE owner IS NULL), min(owner)"
        " FROM attribution WHERE key_id IS NOT NULL GROUP BY 1"  # already nullif'd there
    ).fetchall():
        out[key] = team if teams == 1 and untagged == 0 else None
    return out


def daily(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Spend per UTC day, each request once (records with no valid timestamp under day None)."""
    return [
        {"day": None if d is None else str(d), "records": int(n), "cost": Decimal(c), "attributable_cost": Decimal(ac)}
        for d, n, c, ac in con.execute(
            "SELECT day, count(*), sum(cost), coalesce(sum(cost) FILTER (WHERE attributable), 0)"
            " FROM attribution WHERE NOT is_copy GROUP BY 1 ORDER BY 1 NULLS LAST"
        ).fetchall()
    ]
