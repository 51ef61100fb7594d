"""Who can be charged: attributable spend per team and for the whole data set, and the
unallocated bucket with its causes.

A record's cost is *attributable* when its ownership fields (team, service, cost center,
environment) are all present and valid by the contract, and no rule that blocks attribution
(e.g. missing-owner, free-form-tag) flagged it. Everything else is the unallocated bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

from auditor.contract.schema import OWNERSHIP_FIELDS
from auditor.contract.sql import lit
from auditor.findings import Finding

ZERO = Decimal(0)


def pct(part: Decimal, whole: Decimal) -> float:
    """Percentage to 2 decimals; 100 when there is nothing to attribute."""
    if not whole:
        return 100.0
    return float((Decimal(100) * part / whole).quantize(Decimal("0.01")))


@dataclass
class TeamScore:
    team_id: str
    records: int
    cost: Decimal
    attributable_cost: Decimal
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def attributable_pct(self) -> float:
        return pct(self.attributable_cost, self.cost)


@dataclass
class Attribution:
    total_cost: Decimal
    attributable_cost: Decimal
    records: int
    teams: list[TeamScore]
    unallocated_records: int
    unallocated_causes: list[dict[str, Any]]

    @property
    def unattributed_cost(self) -> Decimal:
        return self.total_cost - self.attributable_cost

    @property
    def attributable_pct(self) -> float:
        return pct(self.attributable_cost, self.total_cost)


def attributable_view(con: duckdb.DuckDBPyConnection, findings: list[Finding]) -> None:
    """``attribution(_row, team_id, cost, attributable)`` over the LLM records."""
    blocking = [f.code for f in findings if f.blocks_attribution]
    owned = "[" + ", ".join(lit(f) for f in OWNERSHIP_FIELDS) + "]"
    blocked = (
        f"_row IN (SELECT _row FROM finding_rows WHERE code IN ({', '.join(lit(c) for c in blocking)}))" if blocking else "false"
    )
    con.execute(
        "CREATE OR REPLACE VIEW attribution AS SELECT _row, team_id, coalesce(cost, 0) AS cost, "
        f"len(list_filter(_violations, lambda v: list_contains({owned}, split_part(v, ':', 1)))) = 0 AND NOT ({blocked})"
        " AS attributable FROM llm"
    )


def attribute(con: duckdb.DuckDBPyConnection, findings: list[Finding]) -> Attribution:
    attributable_view(con, findings)
    rows = con.execute(
        "SELECT team_id, count(*), sum(cost), coalesce(sum(cost) FILTER (WHERE attributable), 0)"
        " FROM attribution WHERE team_id IS NOT NULL AND team_id <> '' GROUP BY 1 ORDER BY 3 DESC, 1"
    ).fetchall()
    teams = [TeamScore(t, int(n), Decimal(c), Decimal(a)) for t, n, c, a in rows]
    total, attributable, records, un_n = con.execute(
        "SELECT coalesce(sum(cost), 0), coalesce(sum(cost) FILTER (WHERE attributable), 0), count(*),"
        " count(*) FILTER (WHERE NOT attributable) FROM attribution"
    ).fetchall()[0]
    causes = []
    by_code = {f.code: f for f in findings}
    for code, n, c in con.execute(
        "SELECT f.code, count(DISTINCT a._row), sum(a.cost) FROM attribution a JOIN finding_rows f USING (_row)"
        " WHERE NOT a.attributable GROUP BY 1 ORDER BY 3 DESC, 1"
    ).fetchall():
        if code in by_code:
            causes.append({"code": code, "name": by_code[code].name, "records": int(n), "cost": Decimal(c)})
    return Attribution(Decimal(total), Decimal(attributable), int(records), teams, int(un_n), causes)
