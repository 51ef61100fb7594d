"""Run the selected rules over the record table and turn their hits into findings.

Flagged records go to the ``finding_rows`` table (code, _row, detail, fix), from which findings
are aggregated (count, $ at risk, per team, sample ids) and ``--export-findings`` is written.
"""

from __future__ import annotations

import re

from decimal import Decimal
from typing import Callable, Iterable

import duckdb

from auditor.copies import ensure_copies, reset_copies
from auditor.contract.sql import lit
from auditor.findings import Finding
from auditor.fmt import usd
from auditor.policy import Policy
from auditor.profile import stage
from auditor.rules.base import LLM, REGISTRY, SEVERITIES, Rule, RuleContext
from auditor.rules.identity import reset_implied_callers
from auditor.rules.owner_values import forget as forget_resolved

SAMPLE_IDS = 10


class SelectionError(ValueError):
    pass



# Messages open with "{count} <noun>s [({cost})] <verb>"; for one record the noun and verb are made singular.
_OPENING = re.compile(r"\{count\} ((?:\w+ )?\w+?)s( \(\{cost\}\))? (\w+)")
_SINGULAR_VERB = {"are": "is", "were": "was", "have": "has", "carry": "carries", "lack": "lacks", "use": "uses",
                  "mix": "mixes", "look": "looks", "contain": "contains", "duplicate": "duplicates"}


def _singular(template: str) -> str:
    return _OPENING.sub(lambda m: f"{{count}} {m.group(1)}{m.group(2) or ''} {_SINGULAR_VERB.get(m.group(3), m.group(3))}",
                        template, count=1)


def _fill(template: str, count: int, cost: str) -> str:
    """``template`` with its {count} and {cost} filled and {{ }} unescaped; any other brace stays as it is (a
    rule's message may quote log values, and ``str.format`` would fail on a team named ``{"a": 1}``)."""
    values = {"count": f"{count:,}", "cost": cost}
    return re.sub(r"\{\{|\}\}|\{(count|cost)\}", lambda m: values[m.group(1)] if m.group(1) else m.group(0)[0],
                  _singular(template) if count == 1 else template)

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


def check_config(policy: Policy) -> None:
    """Every ``[rules.<code or name>]`` table of the policy names a rule, and each of its keys is ``severity`` or
    a parameter of that rule: a misspelt name or parameter would otherwise be ignored without a word."""
    from rapidfuzz import process

    names = sorted({*REGISTRY, *(r.name for r in REGISTRY.values())})
    for key, table in sorted(policy.rules.get("config", {}).items()):
        rule = find_rule(key)
        if rule is None:
            near = process.extractOne(key, names, score_cutoff=70)
            hint = f" (did you mean {near[0]}?)" if near else " (see `audit-logs rules`)"
            raise SelectionError(f"policy: [rules.{key}] names no rule{hint}")
        known = ["severity", *sorted(rule.params)]
        for param in sorted(table):
            if param not in known:
                near = process.extractOne(param, known, score_cutoff=70)
                hint = f"did you mean {near[0]}?" if near else "its settings: " + ", ".join(known)
                raise SelectionError(f"policy: [rules.{key}] {param}: not a setting of {rule.code} {rule.name} ({hint})")


def find_rule(token: str) -> Rule | None:
    t = token.strip()
    return REGISTRY.get(t.upper()) or next((r for r in REGISTRY.values() if r.name == t.lower()), None)


_COLUMNS = (("code", "VARCHAR"), ("_row", "BIGINT"), ("detail", "VARCHAR"), ("fix", "VARCHAR"), ("blocks", "BOOLEAN"))


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE OR REPLACE VIEW {LLM} AS SELECT * FROM records WHERE record_kind = 'llm'")
    reset_copies(con)
    ensure_copies(con, LLM)
    reset_implied_callers(con)
    forget_resolved(con)
    _publish(con, [])


def _publish(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    """``finding_rows``: the flagged records of every rule, one table per rule under one view (no copy)."""
    empty = "SELECT " + ", ".join(f"NULL::{t} AS {c}" for c, t in _COLUMNS) + " WHERE false"
    con.execute("CREATE OR REPLACE TEMP VIEW finding_rows AS " + (" UNION ALL ".join(f"SELECT * FROM {t}" for t in tables) or empty))


def run_rules(con: duckdb.DuckDBPyConnection, policy: Policy, rules: list[Rule],
              on_rule: Callable[[Rule], None] | None = None) -> list[Finding]:
    """``on_rule``: called as each rule starts (the progress display)."""
    with stage("rules: prepare (copies)"):
        prepare(con)
    findings, tables = [], []
    for rule in rules:
        if on_rule is not None:
            on_rule(rule)
        with stage(f"rule {rule.code} {rule.name}") as st:
            finding = _run_rule(con, policy, rule, tables)
            st.rows = finding.count if finding is not None else 0
        if finding is not None:
            findings.append(finding)
    # No order is kept: every reader of finding_rows sorts (the insert order of a large table is not stable anyway).
    _publish(con, tables)
    return findings


def _run_rule(con: duckdb.DuckDBPyConnection, policy: Policy, rule: Rule, tables: list[str]) -> Finding | None:
    """One rule's hits into its own table (appended to ``tables``), and its finding (None: nothing flagged)."""
    cfg = policy.rule_config(rule.code, rule.name)
    severity = cfg.get("severity", rule.severity)
    if severity not in SEVERITIES:
        raise SelectionError(f"policy: rule {rule.code}: unknown severity {severity!r}")
    params = {**rule.params, **{k: v for k, v in cfg.items() if k != "severity"}}
    hits = rule.func(RuleContext(con, policy, params, rule))
    if hits is None:
        return None
    cols = _columns(con, hits.sql)  # optional: fix, and blocks (per record; NULL = the rule's blocks_attribution)
    # The rule's query runs once, into its own table: the aggregates and every later reader use it.
    table = f"_fr_{rule.code.lower()}"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {lit(rule.code)} AS code, _row, detail,"
        f" {'fix' if 'fix' in cols else 'NULL::VARCHAR AS fix'}, {'blocks' if 'blocks' in cols else 'NULL::BOOLEAN AS blocks'}"
        f" FROM ({hits.sql})"
    )
    n, distinct = con.execute(f"SELECT count(*), count(DISTINCT _row) FROM {table}").fetchall()[0]
    if n != distinct:
        # One row per record: DISTINCT ON only for a rule that repeats a record (it costs a pass over every
        # hit), keeping the first detail in sort order so that the same input gives the same row.
        con.execute(f"ALTER TABLE {table} RENAME TO {table}_all")
        con.execute(f"CREATE TEMP TABLE {table} AS SELECT DISTINCT ON (_row) * FROM {table}_all"
                    " ORDER BY _row, detail NULLS LAST, fix NULLS LAST, blocks NULLS LAST")
        con.execute(f"DROP TABLE {table}_all")
    tables.append(table)
    return _aggregate(con, rule, severity, hits, table)


def _columns(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    return [d[0] for d in con.execute(f"SELECT * FROM ({sql}) LIMIT 0").description]


def _aggregate(con: duckdb.DuckDBPyConnection, rule: Rule, severity: str, hits, rows: str) -> Finding | None:
    """The finding of a rule whose flagged records (one ``_row`` each) ``rows`` selects."""
    per_team = con.execute(
        f"SELECT coalesce(r.team_id, ''), count(*), coalesce(sum(r.cost), 0) FROM {rows} h"
        " JOIN records r USING (_row) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    count = sum(int(n) for _, n, _ in per_team)
    if count == 0 and not hits.extra.get("count"):
        return None
    cost = sum((Decimal(c) for _, _, c in per_team), Decimal(0))
    samples = _sample_ids(con, rows)
    count = count or int(hits.extra.get("count", 0))
    return Finding(
        code=rule.code,
        name=rule.name,
        category=rule.category,
        severity=severity,
        count=count,
        cost=cost,
        message=_fill(hits.message, count, usd(cost)),
        sample_request_ids=samples,
        teams={t: {"count": int(n), "cost": Decimal(c)} for t, n, c in per_team},
        extra=hits.extra,
        blocks_attribution=rule.blocks_attribution,
    )


def _sample_ids(con: duckdb.DuckDBPyConnection, rows: str) -> list[str]:
    """The first SAMPLE_IDS distinct request ids of the records ``rows`` selects, in sort order. A top-N over the joined rows
    with the duplicates dropped here is much cheaper than a DISTINCT over every flagged request id; copies
    of one request (duplicate-request) can crowd the top rows, so fetch more until enough are distinct."""
    limit = SAMPLE_IDS
    while True:
        top = con.execute(
            f"SELECT r.request_id FROM {rows} h JOIN records r USING (_row) WHERE r.request_id IS NOT NULL ORDER BY 1 LIMIT ?",
            [limit],
        ).fetchall()
        ids = list(dict.fromkeys(r[0] for r in top))
        if len(ids) >= SAMPLE_IDS or len(top) < limit:
            return ids[:SAMPLE_IDS]
        limit *= 10
