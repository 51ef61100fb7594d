"""Run the selected rules over the record table and turn their hits into findings.

Flagged records go to the ``finding_rows`` table (code, _row, detail, fix), from which findings
are aggregated (count, $ at risk, per team, sample ids) and ``--export-findings`` is written.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable

import duckdb

from auditor.findings import Finding
from auditor.fmt import usd
from auditor.policy import Policy
from auditor.rules.base import LLM, REGISTRY, SEVERITIES, Rule, RuleContext

SAMPLE_IDS = 10


class SelectionError(ValueError):
    pass


def _matches(rule: Rule, token: str) -> bool:
    t = token.strip()
    return t.upper() == "ALL" or rule.code == t.upper() or rule.code.startswith(t.upper()) or rule.name == t.lower()


def select_rules(select: Iterable[str] | None = None, ignore: Iterable[str] | None = None) -> list[Rule]:
    """Rules chosen by codes, code prefixes (``PRC``) or names (``copied-key``); unknown tokens are an error."""
    rules = sorted(REGISTRY.values(), key=lambda r: r.code)
    for token in [*(select or []), *(ignore or [])]:
        if not any(_matches(r, token) for r in rules):
            raise SelectionError(f"no rule matches {token!r} (see `audit-logs rules`)")
    if select:
        rules = [r for r in rules if any(_matches(r, t) for t in select)]
    if ignore:
        rules = [r for r in rules if not any(_matches(r, t) for t in ignore)]
    return rules


def find_rule(token: str) -> Rule | None:
    t = token.strip()
    return REGISTRY.get(t.upper()) or next((r for r in REGISTRY.values() if r.name == t.lower()), None)


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE OR REPLACE VIEW {LLM} AS SELECT * FROM records WHERE record_kind = 'llm'")
    con.execute("CREATE OR REPLACE TABLE finding_rows (code VARCHAR, _row BIGINT, detail VARCHAR, fix VARCHAR, blocks BOOLEAN)")


def run_rules(con: duckdb.DuckDBPyConnection, policy: Policy, rules: list[Rule]) -> list[Finding]:
    prepare(con)
    findings = []
    for rule in rules:
        cfg = policy.rule_config(rule.code, rule.name)
        severity = cfg.get("severity", rule.severity)
        if severity not in SEVERITIES:
            raise SelectionError(f"policy: rule {rule.code}: unknown severity {severity!r}")
        params = {**rule.params, **{k: v for k, v in cfg.items() if k != "severity"}}
        hits = rule.func(RuleContext(con, policy, params, rule))
        if hits is None:
            continue
        cols = _columns(con, hits.sql)  # optional: fix, and blocks (per record; NULL = the rule's blocks_attribution)
        con.execute(
            f"INSERT INTO finding_rows SELECT DISTINCT ON (_row) ?, _row, detail, "
            f"{'fix' if 'fix' in cols else 'NULL'}, {'blocks' if 'blocks' in cols else 'NULL'} FROM ({hits.sql}) ORDER BY _row",
            [rule.code],
        )
        finding = _aggregate(con, rule, severity, hits)
        if finding is not None:
            findings.append(finding)
    return findings


def _columns(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    return [d[0] for d in con.execute(f"SELECT * FROM ({sql}) LIMIT 0").description]


def _aggregate(con: duckdb.DuckDBPyConnection, rule: Rule, severity: str, hits) -> Finding | None:
    per_team = con.execute(
        "SELECT coalesce(r.team_id, ''), count(*), coalesce(sum(r.cost), 0) FROM finding_rows f JOIN records r USING (_row)"
        " WHERE f.code = ? GROUP BY 1 ORDER BY 1",
        [rule.code],
    ).fetchall()
    count = sum(int(n) for _, n, _ in per_team)
    if count == 0 and not hits.extra.get("count"):
        return None
    cost = sum((Decimal(c) for _, _, c in per_team), Decimal(0))
    samples = [r[0] for r in con.execute(
        "SELECT DISTINCT r.request_id FROM finding_rows f JOIN records r USING (_row)"
        " WHERE f.code = ? AND r.request_id IS NOT NULL ORDER BY 1 LIMIT ?",
        [rule.code, SAMPLE_IDS],
    ).fetchall()]
    count = count or int(hits.extra.get("count", 0))
    return Finding(
        code=rule.code,
        name=rule.name,
        category=rule.category,
        severity=severity,
        count=count,
        cost=cost,
        message=hits.message.format(count=f"{count:,}", cost=usd(cost)),
        sample_request_ids=samples,
        teams={t: {"count": int(n), "cost": Decimal(c)} for t, n, c in per_team},
        extra=hits.extra,
        blocks_attribution=rule.blocks_attribution,
    )
