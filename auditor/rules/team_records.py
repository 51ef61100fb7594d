"""Duplicate team records: two team ids whose names are spellings of one team.

A gateway's team record has an id (LiteLLM: a UUID) and a name (its team alias). When someone creates a second
team as "Data Platform" beside "data-platform", the ids differ and every id-based check sees two teams: one
team's spend is split across two records and nothing looks wrong. The names tell: clustered like any owner value
(owner_values._resolve_data), a name cluster holding several ids is one team with several records. The record with the
most spend is the team; the others are flagged (free-form-tag) with it as the fix.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

DUPLICATE = "duplicate-record"


def logged_team_names(con, table: str) -> list[tuple[str, str, int, Decimal]]:
    """``(team_id, name, records, cost)``: each logged team id with the name most of its records carry (ties: the
    first in sort order, as scoring.attribution.team_names, which reads the attribution the rules come before)."""
    if "team_name" not in {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}:
        return []
    return con.execute(
        "SELECT team_id, team_name, sum(n) OVER w, sum(cost) OVER w FROM ("
        " SELECT team_id, team_name, count(*) AS n, coalesce(sum(cost), 0)::DECIMAL(38,12) AS cost"
        f" FROM {table} WHERE team_id <> '' AND team_name <> '' GROUP BY ALL)"
        " WINDOW w AS (PARTITION BY team_id)"
        " QUALIFY row_number() OVER (PARTITION BY team_id ORDER BY n DESC, team_name) = 1 ORDER BY team_id"
    ).fetchall()


def mark_duplicates(ids: list[Any], names: dict[str, str], clustered: list[Any]) -> None:
    """Mark the team id Values (``ids``) that are a second record of another team. ``names``: id -> its name;
    ``clustered``: the distinct names as resolved Values (``canonical``: the name each is a spelling of)."""
    cluster_of = {v.value: v.canonical or v.value for v in clustered}
    by_cluster: dict[str, list[Any]] = {}
    for v in ids:
        if v.value in names:
            by_cluster.setdefault(cluster_of[names[v.value]], []).append(v)
    for members in by_cluster.values():
        if len(members) < 2:
            continue
        team = min(members, key=lambda v: (-v.cost, -v.records, v.value))
        for v in members:
            # A value already flagged for its own spelling keeps that finding; an unknown one (no registry
            # entry) is still unknown: the registry, not the names, decides there.
            if v is team or v.flagged or v.source == "registry":
                continue
            v.canonical, v.status = team.canonical or team.value, DUPLICATE
            v.names = f"{names[v.value]!r} beside {names[team.value]!r}"
