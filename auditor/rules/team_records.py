"""Duplicate team records: two team ids whose names are spellings of one team.

A gateway's team record has an id (LiteLLM: a UUID) and a name (its team alias). When someone creates a second
team as "Data Platform" beside "data-platform", the ids differ and every id-based check sees two teams: one
team's spend is split across two records and nothing looks wrong. The names tell: clustered like any owner value
(owner_values._resolve_data), a name cluster holding several ids is one team with several records. The record with the
most spend is the team; the others are flagged (free-form-tag) with it as the fix.

The names also resolve team id values that carry no name of their own: where the ids are a gateway's UUIDs, a
team typed by hand (a client's spend_logs_metadata on a personal key, another tool's team tag) is the team's
name or a spelling of it ("Support Automation", "support_automation"), not an id. Such a value means the team
of that name: it is flagged (free-form-tag) with the team's id as the fix, and its spend is that team's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pyarrow as pa

from auditor.engine import temp_table

DUPLICATE = "duplicate-record"
NAME_AS_ID = "team-name"


def logged_team_names(con, table: str) -> list[tuple[str, str, int, Decimal]]:
    """``(team_id, name, records, cost)``: each logged team id with the name most of its records carry (ties: the
    first in sort order, as scoring.attribution.team_names, which reads the attribution the rules come before)."""
    if "team_name" not in {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}:
        return []
    return con.execute(
        "SELECT team_id, team_name, n_all, cost_all FROM ("
        " SELECT *, sum(n) OVER (PARTITION BY team_id) AS n_all, sum(cost) OVER (PARTITION BY team_id) AS cost_all,"
        "  row_number() OVER (PARTITION BY team_id ORDER BY n DESC, team_name) AS pick FROM ("
        "  SELECT team_id, team_name, count(*) AS n, coalesce(sum(cost), 0)::DECIMAL(38,12) AS cost"
        f"  FROM {table} WHERE team_id <> '' AND team_name <> '' GROUP BY ALL))"
        " WHERE pick = 1 ORDER BY team_id"
    ).fetchall()


def team_label_table(con, table: str, policy: Any, name: str) -> str:
    """A temp table ``name(t, label)``: each named team id with the label every output gives a team, ``name (id)``;
    the registry's name first, else the one its records carry. For rule details, which come before the attribution."""
    from auditor.spend import team_label

    names = {tid: nm for tid, nm, _, _ in logged_team_names(con, table)}
    names.update({t.team_id: t.name for t in policy.teams.values() if t.name})
    rows = sorted((tid, team_label(tid, nm)) for tid, nm in names.items())
    return temp_table(con, name, {"t": pa.array([r[0] for r in rows], pa.string()),
                                  "label": pa.array([r[1] for r in rows], pa.string())})


# What a value's resolution says before the names are read. A value the registry knows (known, alias) is a team of its
# own, whatever its name; one flagged for its own spelling or shape keeps that finding. Left to the names: a value that
# is its own owner in the data (canonical) or a spelling of another id (variant, fuzzy: in the data, two spellings of a
# name typed where the id goes), and, with a registry, a value it does not list (unknown).
OPEN = ("canonical", "variant", "fuzzy", "unknown")
REGISTERED = ("known", "alias")


def mark_duplicates(ids: list[Any], names: dict[str, str], clustered: list[Any]) -> dict[str, Any]:
    """Mark the team id Values (``ids``) that are a second record of another team. ``names``: id -> its name;
    ``clustered``: the distinct names as resolved Values (``canonical``: the name each is a spelling of).
    Returns each name -> the team id Value it means: of the ids whose names are one cluster, the one the
    registry lists, else the one with the most spend."""
    cluster_of = {v.value: v.canonical or v.value for v in clustered}
    by_cluster: dict[str, list[Any]] = {}
    for v in ids:
        if v.value in names:
            by_cluster.setdefault(cluster_of[names[v.value]], []).append(v)
    team_of: dict[str, Any] = {}
    for cluster, members in by_cluster.items():
        team = min(members, key=lambda v: (v.status not in REGISTERED, -v.cost, -v.records, v.value))
        team_of[cluster] = team
        for v in members:
            if v is team or v.status not in OPEN or v.bad:
                continue
            v.canonical, v.status = team.canonical or team.value, DUPLICATE
            v.names = f"{names[v.value]!r} beside {names[team.value]!r}"
    return {name: team_of[c] for name, c in cluster_of.items() if c in team_of}


def mark_names_as_ids(ids: list[Any], names: dict[str, str], team_of: dict[str, Any], matched: dict[str, str]) -> None:
    """Mark the team id Values without a name of their own that are a team's name (``names`` of the Value: that
    name, quoted). ``matched``: such a value -> the name it is (or spells), as the caller's matcher found it;
    ``team_of``: name -> team Value (from mark_duplicates). A value clustered (in the id field) under a value
    marked here follows it."""
    marked: dict[str, Any] = {}
    for v in ids:
        name = matched.get(v.value)
        if name is None or v.value in names or v.status not in OPEN or v.bad:
            continue
        team = team_of[name]
        if team is v:
            continue
        v.canonical, v.status, v.names = team.canonical or team.value, NAME_AS_ID, repr(name)
        marked[v.value] = v
    for v in ids:
        lead = marked.get(v.canonical) if v.value not in marked and v.value not in names else None
        if lead is not None and v.status in OPEN and not v.bad:
            v.canonical, v.status, v.names = lead.canonical, NAME_AS_ID, lead.names
