"""Where in the input files a finding is: file:line of a sample of the records each rule flagged.

Shared by the CI formats (SARIF locations, GitHub annotations, JUnit failure text, Markdown) and by
``audit-logs check-schema``. Reads the ``finding_rows`` and ``rejects`` tables of ``result.con``;
a result without a connection (e.g. rebuilt from JSON) simply has no locations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.redact import mask_text
from auditor.result import AuditResult

SAMPLE = 10
# The rule that reports unreadable records: its locations are the rejects, not records.
UNREADABLE = "INT002"


@dataclass(frozen=True)
class Location:
    source_file: str
    line: int | None
    request_id: str | None
    detail: str

    def __str__(self) -> str:
        return f"{self.source_file}:{self.line}" if self.line else self.source_file


def _con_ok(result: AuditResult) -> bool:
    if result.con is None:
        return False
    try:
        result.con.execute("SELECT 1 FROM finding_rows LIMIT 0")
        return True
    except Exception:  # noqa: BLE001 - no table, no locations
        return False


def flagged(result: AuditResult, code: str, limit: int = SAMPLE) -> list[Location]:
    """The first ``limit`` records (in file, line order) that rule ``code`` flagged."""
    if code == UNREADABLE:
        return [Location(r.source_file, r.line or None, None, mask_text(r.reason)) for r in result.rejects[:limit]]
    if not _con_ok(result):
        return []
    rows = result.con.execute(
        "SELECT r.source_file, r.source_line, r.request_id, coalesce(f.detail, '') FROM finding_rows f"
        " JOIN records r USING (_row) WHERE f.code = ?"
        " ORDER BY r.source_file, r.source_line NULLS LAST, r.source_index NULLS LAST, r._row LIMIT ?",
        [code, limit],
    ).fetchall()
    return [Location(str(f), int(line) if line is not None and int(line) > 0 else None, rid, mask_text(str(d)))
            for f, line, rid, d in rows]


def first_per_file(result: AuditResult, code: str) -> list[tuple[Location, int]]:
    """Per input file: the first record rule ``code`` flagged there, and how many it flagged there."""
    if code == UNREADABLE:
        out: dict[str, tuple[Location, int]] = {}
        for r in result.rejects:
            loc, n = out.get(r.source_file, (Location(r.source_file, r.line or None, None, mask_text(r.reason)), 0))
            out[r.source_file] = (loc, n + 1)
        return [out[k] for k in sorted(out)]
    if not _con_ok(result):
        return []
    rows = result.con.execute(
        "SELECT source_file, arg_min(struct_pack(l := source_line, i := request_id, d := detail),"
        " struct_pack(a := source_line, b := source_index, c := _row)), count(*)"
        " FROM (SELECT r.source_file, r.source_line, r.source_index, r._row, r.request_id, coalesce(f.detail, '') AS detail"
        " FROM finding_rows f JOIN records r USING (_row) WHERE f.code = ?) GROUP BY 1 ORDER BY 1",
        [code],
    ).fetchall()
    out_list = []
    for src, first, n in rows:
        line = first["l"]
        out_list.append((Location(str(src), int(line) if line is not None and int(line) > 0 else None, first["i"],
                                  mask_text(str(first["d"]))), int(n)))
    return out_list


def per_file(result: AuditResult, limit: int = 5) -> list[dict[str, Any]]:
    """One entry per input file: does it pass the gate, and which rules flagged how many of its records,
    with file:line of the first offenders. A file fails when it holds a record of a finding that fails
    the gate (at or above fail-on, and not covered by the baseline). Used by ``check-schema``."""
    failing = set(result.gate.failing)
    by_file: dict[str, dict[str, Any]] = {}
    for i in result.inputs:
        by_file[i.path] = {"path": i.path, "format": i.format, "records": i.records, "rejected": i.rejected,
                           "passed": True, "failures": []}
    codes = {f.code: f for f in result.findings}
    counts: dict[tuple[str, str], int] = {}
    if _con_ok(result) and codes:
        for src, code, n in result.con.execute(
            "SELECT r.source_file, f.code, count(*) FROM finding_rows f JOIN records r USING (_row)"
            " GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall():
            counts[(str(src), code)] = int(n)
    for r in result.rejects:
        counts[(r.source_file, UNREADABLE)] = counts.get((r.source_file, UNREADABLE), 0) + 1
    for (src, code), n in sorted(counts.items()):
        f = codes.get(code)
        if f is None:
            continue
        entry = by_file.setdefault(src, {"path": src, "format": None, "records": 0, "rejected": 0,
                                         "passed": True, "failures": []})
        first = _first_in_file(result, code, src, limit)
        entry["failures"].append({
            "code": code, "name": f.name, "severity": f.severity, "count": n, "fails_gate": code in failing,
            "fields": _fields(result, code, src),
            "first": [{"line": loc.line, "request_id": loc.request_id, "detail": loc.detail} for loc in first],
        })
        if code in failing:
            entry["passed"] = False
    return [by_file[k] for k in sorted(by_file)]


def _first_in_file(result: AuditResult, code: str, src: str, limit: int) -> list[Location]:
    if code == UNREADABLE:
        return [Location(r.source_file, r.line or None, None, mask_text(r.reason))
                for r in result.rejects if r.source_file == src][:limit]
    rows = result.con.execute(
        "SELECT r.source_file, r.source_line, r.request_id, coalesce(f.detail, '') FROM finding_rows f"
        " JOIN records r USING (_row) WHERE f.code = ? AND r.source_file = ?"
        " ORDER BY r.source_line NULLS LAST, r.source_index NULLS LAST, r._row LIMIT ?",
        [code, src, limit],
    ).fetchall()
    return [Location(str(f), int(line) if line is not None and int(line) > 0 else None, rid, mask_text(str(d)))
            for f, line, rid, d in rows]


def _fields(result: AuditResult, code: str, src: str) -> dict[str, int]:
    """For the contract rules: the failing checks (``field: code``) among the records of ``src`` that
    rule ``code`` flagged, with how many records fail each."""
    from auditor.contract.schema import OWNERSHIP_FIELDS
    from auditor.contract.sql import MISSING_CODES

    keep = {
        "OWN001": lambda f, c: f in OWNERSHIP_FIELDS and c in MISSING_CODES,
        "CON001": lambda f, c: f not in OWNERSHIP_FIELDS and c in MISSING_CODES,
        "CON002": lambda f, c: c not in MISSING_CODES,
    }.get(code)
    if keep is None or not _con_ok(result):
        return {}
    rows = result.con.execute(
        "SELECT v, count(*) FROM (SELECT unnest(r._violations) AS v FROM finding_rows f JOIN records r USING (_row)"
        " WHERE f.code = ? AND r.source_file = ?) GROUP BY 1 ORDER BY 1",
        [code, src],
    ).fetchall()
    out = {}
    for v, n in rows:
        field, _, check = str(v).partition(":")
        if keep(field, check):
            out[f"{field}: {check}"] = int(n)
    return out
