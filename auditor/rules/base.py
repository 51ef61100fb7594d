"""What a rule is, and how one runs.

A rule is a function over the canonical record table, registered with a stable code (category
prefix + number), a kebab-case name, a default severity and a docstring that is its user
documentation (sections: what it checks, why it matters, a bad record, a good record; a test
holds every rule to that). It returns :class:`Hits`: a SQL query giving the flagged records
(``_row``, ``detail``, optional ``fix``), one sentence for a team lead, and optional aggregates
for the report. The runner turns hits into findings with counts and money; rules never print.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

import duckdb

from auditor.policy import Policy

SEVERITIES = ("error", "warning", "info")
CATEGORIES = {
    "CON": "contract",
    "OWN": "ownership",
    "KEY": "keys",
    "TAG": "tags",
    "PRC": "pricing",
    "RET": "retries",
    "INT": "integrity",
    "SEC": "security",
    "ENV": "environments",
    "OBO": "identity",
}
# The view every rule reads: the LLM request records (trace context spans left out).
LLM = "llm"


@dataclass
class Hits:
    """What a rule found. ``sql`` selects ``_row, detail`` and optionally ``fix`` (a suggested
    correction) and ``blocks`` (per record: false lets a rule with ``blocks_attribution`` flag a record
    without blocking its attribution; NULL keeps the rule's default) from the record table; ``message`` is one sentence a team lead understands, and may
    use ``{count}`` and ``{cost}``; ``extra`` holds JSON-able aggregates for the report."""

    sql: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: str
    func: Callable[["RuleContext"], Hits | None]
    params: dict[str, Any]
    blocks_attribution: bool

    @property
    def category(self) -> str:
        return CATEGORIES[self.code[:3]]

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.func.__doc__ or "")

    @property
    def summary(self) -> str:
        return self.doc.split("\n", 1)[0]


REGISTRY: dict[str, Rule] = {}


def rule(code: str, name: str, severity: str, *, params: dict[str, Any] | None = None,
         blocks_attribution: bool = False) -> Callable:
    """Register a rule. ``blocks_attribution``: a record it flags cannot be charged to its team."""
    if code[:3] not in CATEGORIES or not code[3:].isdigit():
        raise ValueError(f"rule code {code!r} needs a category prefix ({', '.join(CATEGORIES)}) and a number")
    if severity not in SEVERITIES:
        raise ValueError(f"rule {code}: unknown severity {severity!r}")

    def register(func: Callable) -> Callable:
        if code in REGISTRY or any(r.name == name for r in REGISTRY.values()):
            raise ValueError(f"rule {code} {name}: code or name already used")
        REGISTRY[code] = Rule(code, name, severity, func, dict(params or {}), blocks_attribution)
        return func

    return register


@dataclass
class RuleContext:
    con: duckdb.DuckDBPyConnection
    policy: Policy
    params: dict[str, Any]
    rule: Rule
    table: str = LLM

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    def scalar(self, sql: str, params: list | None = None) -> Any:
        return self.rows(sql, params)[0][0]
