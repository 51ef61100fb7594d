"""A confidence score and a readiness tier per team and for the whole data set, and the verdict sentence.

Reads the ``attribution`` table (auditor/scoring/attribution.py): each request once, copies left out of every
figure except the duplicate rule's own $ at risk.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Iterable

import duckdb

from auditor.contract.sql import lit
from auditor.findings import Finding
from auditor.fmt import plural, variance_side
from auditor.scoring.attribution import daily, key_owners_from_data, registry_key_owners
from auditor.scoring.dimensions import DIMENSIONS, confidence, dimension_of, reconciliation_share, share, variance_of
from auditor.scoring.fixes import counted, fix_groups, rows_by_team, top_fixes
from auditor.scoring.verdict import TIER_NOT_READY, TIER_READY, TIER_SHOWBACK, dataset_verdict
from auditor.spend import TeamScore

if TYPE_CHECKING:  # pragma: no cover
    from auditor.policy import Policy
    from auditor.result import AuditResult

ZERO = Decimal(0)
DEFAULT_SHOWBACK_PCT = 50.0
ALL = "\x00all"  # the whole data set, in the per-team tables (no team id can be this)


@dataclass
class Thresholds:
    ready_pct: float
    showback_pct: float
    max_var: float
    variance: float | None

    @classmethod
    def of(cls, result: "AuditResult") -> "Thresholds":
        th = result.policy.thresholds
        return cls(float(th.get("attributable_pct", 95.0)), float(th.get("showback_attributable_pct", DEFAULT_SHOWBACK_PCT)),
                   float(th.get("variance_pct", 2.0)), variance_of(result.reconciliation))

    def reasons(self, attributable_pct: float, cost: Decimal) -> list[str]:
        """The reasons shared by a team and the data set: attributable spend, reconciliation variance."""
        out = []
        if not cost:
            # Zero is not 100% (nor 0%): with no spend there is no attributable share to compare with the threshold.
            out.append("no recorded spend ($0): the attributable share is n/a")
        elif attributable_pct < self.ready_pct:
            out.append(f"attributable spend {attributable_pct:.1f}% is below {self.ready_pct:g}%")
        if self.variance is not None and abs(self.variance) >= self.max_var:
            out.append(f"reconciliation variance {abs(self.variance):.2f}% ({variance_side(self.variance)}) is not below {self.max_var:g}%")
        return out

    def tier(self, reasons: list[str], attributable_pct: float, ready: bool = True) -> str:
        if not reasons and ready:
            return TIER_READY
        return TIER_SHOWBACK if attributable_pct >= self.showback_pct else TIER_NOT_READY


def flagged_by_dimension(con: duckdb.DuckDBPyConnection, findings: list[Finding], copy_codes: list[str]
                         ) -> dict[tuple[str, str], Decimal]:
    """Flagged cost per (team, dimension), and for the whole data set (team ALL)."""
    dim_rows = [(f.code, d) for f in findings if (d := dimension_of(f.category, f.name))]
    flagged: dict[tuple[str, str], Decimal] = {}
    if not dim_rows:
        return flagged
    values = ", ".join(f"({lit(c)}, {lit(d)})" for c, d in dim_rows)
    for team, dim, cost, whole in con.execute(
        f"WITH d AS (SELECT DISTINCT f._row, f.code, m.dim FROM finding_rows f JOIN (VALUES {values}) m(code, dim) USING (code)),"
        f" dd AS (SELECT DISTINCT a._row, a.team, a.cost, d.dim FROM attribution a JOIN d USING (_row) WHERE {counted('a', copy_codes, 'd.code')})"
        " SELECT team, dim, sum(cost), grouping(team) = 1 FROM dd GROUP BY GROUPING SETS ((team, dim), (dim))"
    ).fetchall():
        if whole:
            flagged[(ALL, dim)] = Decimal(cost)
        elif team is not None:
            flagged[(team, dim)] = Decimal(cost)
    return flagged


def _production_keys(con: duckdb.DuckDBPyConnection, policy: "Policy") -> tuple[dict[str, list[tuple]], Callable]:
    """Per team, the production keys it uses (key id, alias, records, cost), and who owns a key."""
    reg_owners = registry_key_owners(policy)
    data_owners = key_owners_from_data(con) if not reg_owners else {}
    env_list = "[" + ", ".join(lit(e.lower()) for e in policy.production_environments) + "]"
    # Per charged team, with the team that used the key (the record's owner): in the caller view a team is
    # charged for requests another team made on its keys, and the key must be that team's, not the caller's.
    prod_keys = rows_by_team(con.execute(
        "SELECT team, key_id, key_alias, count(*), sum(cost), owner FROM attribution"
        f" WHERE team IS NOT NULL AND NOT is_copy AND list_contains({env_list}, env) AND coalesce(key_id, key_alias) IS NOT NULL"
        " GROUP BY 1, 2, 3, 6 ORDER BY 1, 5 DESC, 2, 3, 6"  # a total order: one key id may come with several aliases
    ).fetchall())

    def key_owner(key_id: str | None, alias: str | None) -> str | None:
        if reg_owners:
            return reg_owners.get(key_id or "") or reg_owners.get(alias or "")
        return data_owners.get(key_id or "")

    return prod_keys, key_owner


def _team_keys(t: TeamScore, prod_keys: dict[str, list[tuple]], key_owner: Callable) -> list[dict[str, Any]]:
    from auditor.rules.keyids import mask_key  # key ids are shown masked in every output

    keys = []
    for key_id, alias, n, c, user in prod_keys.get(t.team_id, []):
        owner = key_owner(key_id, alias)
        keys.append({"key": mask_key(key_id or alias) if (key_id or alias) else None, "records": int(n),
                     "cost": Decimal(c), "owner": owner, "named": owner == user,
                     **({"used_by": user} if user != t.team_id else {})})  # a serving team, in the caller view
    return keys


def _team_reasons(t: TeamScore, th: Thresholds, bad_cost: int, keys: list[dict[str, Any]],
                  label: Callable[[str], str] = str) -> list[str]:
    reasons = th.reasons(t.attributable_pct, t.cost)
    if bad_cost:
        reasons.append(f"{plural(bad_cost, 'request')} with an invalid cost (negative or not a number)")
    unnamed = [k for k in keys if not k["named"]]
    if unnamed:
        first = unnamed[0]
        who = f"is owned by {label(first['owner'])}" if first["owner"] else "has no single named owner"
        if "used_by" in first:
            who = f"used by {label(first['used_by'])} on this team's behalf, {who}"
        n = plural(len({k["key"] for k in unnamed}), "production key")  # distinct keys: one key may be a row per user
        whose = "this team (or the team that used it on its behalf)" if any("used_by" in k for k in unnamed) else "this team"
        reasons.append(f"{n} without {whose} as named owner (e.g. {first['key']} {who})")
    return reasons


class _Components:
    """A team's score parts, the clean-spend share per dimension, from its cost, attributable and flagged cost.

    With many small teams most share one (cost, attributable, flagged) key (one request at one price each): the
    score and its rounded parts are computed once per key (100k teams: about 2 s of the scoring)."""

    def __init__(self, flagged: dict[tuple[str, str], Decimal], checked: set, variance: float | None):
        self.flagged, self.checked, self.variance = flagged, checked, variance
        self._dims = [d.key for d in DIMENSIONS[1:-1]]
        self._memo: dict[tuple, tuple[float, dict[str, float | None]]] = {}

    def of(self, team: str, cost: Decimal, attributable: Decimal) -> dict[str, Decimal | None]:
        comp: dict[str, Decimal | None] = {"attribution": share(cost - attributable, cost)}
        for k in self._dims:
            comp[k] = share(self.flagged.get((team, k), ZERO), cost) if k in self.checked else None
        comp["reconciliation"] = reconciliation_share(self.variance)
        return comp

    def scored(self, team: str, cost: Decimal, attributable: Decimal) -> tuple[float, dict[str, float | None]]:
        """The team's score and its rounded parts."""
        key = (cost, attributable, *(self.flagged.get((team, k)) for k in self._dims))
        if (hit := self._memo.get(key)) is None:
            comp = self.of(team, cost, attributable)
            hit = self._memo[key] = (confidence(comp), _rounded(comp))
        return hit


def score(result: "AuditResult", rules: Iterable[Any] | None = None) -> None:
    """Score every team and the data set; fill ``result.verdict``, the team entries, and report sections.

    ``rules`` are the rules that ran: a dimension none of whose rules ran is "not checked" and left out of
    the weighted mean (its share is unknown, not perfect). Call after ``result.reconciliation`` is set.
    """
    con = result.con
    assert con is not None
    th = Thresholds.of(result)
    by_code = {f.code: f for f in result.findings}
    copy_codes = [f.code for f in result.findings if f.name == "duplicate-request"]
    checked = {dimension_of(x.category, x.name) for x in (result.findings if rules is None else rules)}
    flagged = flagged_by_dimension(con, result.findings, copy_codes)

    parts = _Components(flagged, checked, th.variance)
    fixes, per_rule = fix_groups(con, by_code, copy_codes)
    prod_keys, key_owner = _production_keys(con, result.policy)
    # Records whose logged cost the contract rejects: what the team would be charged is not known.
    bad_costs = dict(con.execute("SELECT team, count(*) FROM attribution WHERE bad_cost AND NOT is_copy"
                                 " AND team IS NOT NULL GROUP BY 1 ORDER BY 1").fetchall())
    labels = {t.team_id: t.label for t in result.attribution.teams}
    for t in result.attribution.teams:
        team_score, rounded = parts.scored(t.team_id, t.cost, t.attributable_cost)
        keys = _team_keys(t, prod_keys, key_owner)
        reasons = _team_reasons(t, th, int(bad_costs.get(t.team_id, 0)), keys, lambda team: labels.get(team, team))
        t.extra.update({
            "score": team_score,
            "tier": th.tier(reasons, t.attributable_pct),
            "tier_reasons": reasons,
            "components": dict(rounded),
            "rules": [{"code": code, "name": by_code[code].name, "count": int(n), "cost": Decimal(c)}
                      for code, n, c in per_rule.get(t.team_id, []) if code in by_code],
            "production_keys": keys,
            "top_fixes": top_fixes(fixes.get(t.team_id, []), by_code),
        })
    a = result.attribution
    comp_all = parts.of(ALL, a.total_cost, a.attributable_cost)
    result.verdict = dataset_verdict(result, th, confidence(comp_all))
    result.summary_extra.update({"confidence_score": result.verdict["score"], "tier": result.verdict["tier"]})
    result.sections["scoring"] = _scoring_section(th, checked, comp_all)
    result.sections["daily"] = daily(con)


def _rounded(comp: dict[str, Decimal | None]) -> dict[str, float | None]:
    return {k: (None if v is None else float(v.quantize(Decimal("0.0001")))) for k, v in comp.items()}


def _scoring_section(th: Thresholds, checked: set, comp_all: dict[str, Decimal | None]) -> dict[str, Any]:
    shares = _rounded(comp_all)
    return {
        "formula": "score = 100 x sum(weight x share) / sum(weight), over the dimensions that were checked",
        "dimensions": [{"key": d.key, "label": d.label, "weight": d.weight, "share": d.question,
                        "checked": (d.key == "attribution" or d.key in checked) if d.key != "reconciliation" else th.variance is not None,
                        "data_set_share": shares.get(d.key)}
                       for d in DIMENSIONS],
        "tiers": {
            TIER_READY: f">= {th.ready_pct:g}% attributable spend, < {th.max_var:g}% reconciliation variance when an invoice is "
                        "given, and the team is the named owner of every production key it uses",
            TIER_SHOWBACK: f"not chargeback-ready, >= {th.showback_pct:g}% attributable spend: show the cost, do not charge it yet",
            TIER_NOT_READY: f"below {th.showback_pct:g}% attributable spend",
        },
    }
