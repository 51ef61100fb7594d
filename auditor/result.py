"""AuditResult: everything an audit found, as the reporters and notebooks need it.

``to_dict()`` is the versioned JSON contract (schemas/audit-report.schema.json). Money is written
as exact decimal strings (``"0.000027"``), never floats, so no total drifts in transit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

import duckdb

from auditor import __version__
from auditor.findings import Finding
from auditor.gate import GateResult
from auditor.loaders import InputFile, Reject
from auditor.policy import Policy
from auditor.spend import Attribution, view_fields

REPORT_SCHEMA_VERSION = "1.0"
MAX_REJECTS_IN_REPORT = 1000


def money(d: Decimal | int | None) -> str | None:
    """Exact decimal text: no exponent, no trailing zeros (``Decimal('1.50E-7')`` -> ``"0.00000015"``)."""
    if d is None:
        return None
    return _money_text(d)


# A report of 100k teams writes 1.3M amounts, mostly the same few (one request's price): normalising each took
# 1 s. Equal decimals (1.5, 1.50) have one text, so caching on the value is exact.
@lru_cache(maxsize=1 << 16)
def _money_text(d: Decimal | int) -> str:
    d = Decimal(d)
    if d == 0:
        return "0"
    text = format(d.normalize(), "f")
    return text


@dataclass
class AuditResult:
    policy: Policy
    inputs: list[InputFile]
    rejects: list[Reject]
    context_spans: int
    attribution: Attribution
    findings: list[Finding]
    gate: GateResult
    summary_extra: dict[str, Any] = field(default_factory=dict)
    verdict: dict[str, Any] = field(default_factory=dict)
    reconciliation: dict[str, Any] | None = None
    sections: dict[str, Any] = field(default_factory=dict)  # report-only aggregates (daily spend, ...)
    rules: list[str] = field(default_factory=list)  # codes of the rules that ran (passing ones too)
    con: duckdb.DuckDBPyConnection | None = None  # the record table, for exports; not serialised
    skipped: list[dict[str, str]] = field(default_factory=list)  # files a directory walk passed over, with why

    @property
    def records(self) -> int:
        return self.attribution.records

    @property
    def rejected(self) -> int:
        return sum(i.rejected for i in self.inputs)

    @property
    def exit_code(self) -> int:
        return 0 if self.gate.passed else 1

    def summary(self) -> dict[str, Any]:
        """Counts and money of the whole audit; money as ``Decimal``, like ``findings[].cost``
        (``to_dict()`` writes them as exact decimal strings)."""
        a = self.attribution
        return {
            "read": self.records + self.context_spans + self.rejected,
            "records": self.records,
            "context_spans": self.context_spans,
            "rejected": self.rejected,
            "total_cost": Decimal(a.total_cost),
            "attributable_cost": Decimal(a.attributable_cost),
            "attributable_pct": a.attributable_pct,
            "unattributed_cost": Decimal(a.unattributed_cost),
            # Every money figure counts each request once; the copies of a request are on their own line.
            "requests": a.requests,
            "copies": a.copies,
            "copies_cost": Decimal(a.copies_cost),
            "logged_cost": Decimal(a.logged_cost),
            **self.summary_extra,
        }

    def to_dict(self) -> dict[str, Any]:
        labels = {t.team_id: t.label for t in self.attribution.teams}
        return {
            "schema_version": REPORT_SCHEMA_VERSION,
            "tool": {"name": "audit-logs", "version": __version__, "engine": getattr(self.con, "name", "duckdb")},
            "policy": {"source": self.policy.source},
            "summary": _jsonable(self.summary()),
            "verdict": self.verdict,
            "gate": {"passed": self.gate.passed, "reasons": self.gate.reasons,
                     "settings": {k: v for k, v in self.gate.settings.items() if v is not None},
                     "failing": self.gate.failing,
                     **({"baseline": self.gate.baseline} if self.gate.baseline is not None else {})},
            "rules": self.rules,
            "inputs": [
                {"path": i.path, "format": i.format, "container": i.container, "detected_by": i.detected,
                 "records": i.records, "context_spans": i.context_spans, "rejected": i.rejected,
                 **_input_notes(i, self.policy.timezone)}
                for i in self.inputs
            ],
            "skipped": self.skipped,
            "rejects": [{"source_file": r.source_file, "line": r.line, "reason": r.reason}
                        for r in self.rejects[:MAX_REJECTS_IN_REPORT]],
            "teams": [
                {"team_id": t.team_id, "name": t.name, "label": t.label, "records": t.records, "cost": money(t.cost),
                 "attributable_cost": money(t.attributable_cost), "attributable_pct": t.attributable_pct,
                 **_jsonable(view_fields(t)), **_jsonable(t.extra)}
                for t in self.attribution.teams
            ],
            "unallocated": {
                "cost": money(self.attribution.unattributed_cost),
                "records": self.attribution.unallocated_records,
                "causes": [_jsonable(c) for c in self.attribution.unallocated_causes],
            },
            "findings": [
                {"code": f.code, "name": f.name, "category": f.category, "severity": f.severity, "count": f.count,
                 "cost": money(f.cost), "message": f.message, "sample_request_ids": f.sample_request_ids,
                 "teams": [{"team_id": t or None, "label": labels.get(t, t) or None, "count": v["count"], "cost": money(v["cost"])}
                           for t, v in f.teams.items()],
                 "details": _jsonable(f.extra)}
                for f in self.findings
            ],
            "reconciliation": _jsonable(self.reconciliation) if self.reconciliation is not None else None,
            "sections": _jsonable({**self.sections, "on_behalf_of": self._on_behalf_section()}),
        }

    def _on_behalf_section(self) -> dict[str, Any]:
        """Which view the team figures use, and what moves between the two (auditor/scoring/behalf.py)."""
        ob = self.attribution.on_behalf
        total = sum((t.cost for t in self.attribution.teams), Decimal(0))
        return {"view": ob.view, "records": ob.records, "cost": ob.cost, "logged_records": ob.logged_records,
                "logged_cost": ob.logged_cost, "teams_total": total, "pairs": ob.pairs, "other_view_teams": ob.other_view_teams}


# Exact types JSON writes as they are. The report of 100k teams makes 4.7M calls here, most of them on these:
# one type lookup lets them through without a call each (1.3 s of the to_dict's 5 s on benchmarks/fuzzy.py).
_PLAIN = frozenset((str, int, float, bool, type(None)))


def _jsonable(v: Any) -> Any:
    t = type(v)
    if t in _PLAIN:
        return v
    if t is dict or (t is not list and t is not tuple and isinstance(v, dict)):
        return {(k if type(k) is str else str(k)): (x if type(x) in _PLAIN else _jsonable(x)) for k, x in v.items()}
    if t is list or t is tuple or isinstance(v, (list, tuple)):
        return [x if type(x) in _PLAIN else _jsonable(x) for x in v]
    if isinstance(v, Decimal):
        return money(v)
    return v


def _input_notes(i: InputFile, timezone: str) -> dict[str, Any]:
    """Where the owner fields came from and how many timestamps had no zone, for the inputs that say."""
    from auditor.loaders.conventions import notes

    out: dict[str, Any] = {}
    if i.ownership:
        out["ownership"] = i.ownership
    if i.naive_timestamps:
        out["naive_timestamps"] = i.naive_timestamps
    if i.no_pricing_source:
        out["no_pricing_source"] = i.no_pricing_source
    if i.wrapped_calls:
        out["wrapped_calls"] = i.wrapped_calls
    if i.provider_from_client:
        out["provider_from_client"] = i.provider_from_client
    if i.provider_from_wrapper:
        out["provider_from_wrapper"] = i.provider_from_wrapper
    lines = notes(i.ownership, i.naive_timestamps, timezone, i.format, i.no_pricing_source, i.wrapped_calls,
                  i.provider_from_client, i.provider_from_wrapper)
    if i.looks_like:
        lines = [f"read as {i.format} (--input-format), but the file looks like {i.looks_like}: if its costs or"
                 f" tokens read empty, use --input-format {i.looks_like.split(' ', 1)[0]}", *lines]
    if lines:
        out["notes"] = lines
    return out
