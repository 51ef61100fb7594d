"""The baseline: today's findings, recorded so that CI fails only on what is new or growing.

``audit-logs PATH --baseline audit-logs-baseline.json --update-baseline`` writes the file;
``audit-logs PATH --baseline audit-logs-baseline.json`` compares with it (or ``[gate] baseline`` in the
policy, a path relative to the policy file). Per rule the file holds the number of records flagged,
their cost (exact decimal string), the severity and a SHA-256 of the sorted flagged request ids (plus
the ids themselves when there are at most ``MAX_IDS``). The JSON has sorted keys and no timestamp, so
the same findings always give the same bytes and the file diffs cleanly in review.

A finding fails the gate (at or above ``fail_on``) when, compared with the baseline, it is

- ``new``: its rule has no entry in the baseline, or
- ``grown``: it flags more records, or more cost, than the baseline recorded.

Otherwise it is ``unchanged`` (same records), ``changed`` (no more records or cost, but not the same
request ids: the defect moved) or ``shrunk`` (fewer records or less cost), and does not fail the
gate. A baseline rule that no longer has a finding is ``fixed``: run ``--update-baseline`` to ratchet
the baseline down so it cannot come back unnoticed. Thresholds (attributable %, unattributed cost,
variance) are not baselined: they always apply.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from auditor.findings import Finding
from auditor.fmt import usd

BASELINE_VERSION = 1
MAX_IDS = 1000
COVERED = ("unchanged", "changed", "shrunk")


class BaselineError(ValueError):
    """The baseline file cannot be used; the message names the file."""


def _money(d: Decimal) -> str:
    if d == 0:
        return "0"
    return format(d.normalize(), "f")


def flagged_ids(con, code: str) -> list[str]:
    """The sorted distinct request ids rule ``code`` flagged (records without an id are left out)."""
    if con is None:
        return []
    try:
        rows = con.execute(
            "SELECT DISTINCT r.request_id FROM finding_rows f JOIN records r USING (_row)"
            " WHERE f.code = ? AND r.request_id IS NOT NULL ORDER BY 1",
            [code],
        ).fetchall()
    except Exception:  # noqa: BLE001 - no record table: no ids
        return []
    return [str(r[0]) for r in rows]


def ids_hash(ids: list[str]) -> str:
    h = hashlib.sha256()
    for i in ids:
        h.update(i.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def entries(findings: list[Finding], con) -> dict[str, dict[str, Any]]:
    out = {}
    for f in findings:
        ids = flagged_ids(con, f.code)
        entry: dict[str, Any] = {
            "name": f.name,
            "severity": f.severity,
            "count": int(f.count),
            "cost": _money(Decimal(f.cost)),
            "request_ids_sha256": ids_hash(ids),
        }
        if len(ids) <= MAX_IDS:
            entry["request_ids"] = ids
        out[f.code] = entry
    return out


def render(findings: list[Finding], con) -> str:
    """The baseline file's text: deterministic (sorted keys, no timestamp)."""
    doc = {"audit_logs_baseline": BASELINE_VERSION, "findings": entries(findings, con)}
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(path: str | Path, findings: list[Finding], con) -> Path:
    path = Path(path)
    try:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(findings, con), encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"{path}: cannot write the baseline: {exc.strerror or exc}") from None
    return path


def read(path: str | Path) -> dict[str, dict[str, Any]]:
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"{path}: no such baseline file (create it with --update-baseline)") from None
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read the baseline: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: not a baseline file (invalid JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("audit_logs_baseline") != BASELINE_VERSION or not isinstance(doc.get("findings"), dict):
        raise BaselineError(f"{path}: not an audit-logs baseline (version {BASELINE_VERSION}) file")
    for code, e in doc["findings"].items():
        try:
            ok = isinstance(e, dict) and int(e["count"]) >= 0 and Decimal(str(e["cost"])).is_finite()
        except (KeyError, TypeError, ValueError, InvalidOperation):
            ok = False
        if not ok:
            raise BaselineError(f"{path}: findings.{code}: needs a count and a cost")
    return doc["findings"]


@dataclass
class Comparison:
    """The findings compared with a baseline, per rule code."""

    path: str
    status: dict[str, str] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    updated: bool = False

    def covers(self, f: Finding) -> bool:
        """True when the baseline already knows this finding at this size: it does not fail the gate."""
        return self.status.get(f.code) in COVERED

    def describe(self, f: Finding) -> str:
        row = next((r for r in self.rows if r["code"] == f.code), None)
        if row is None or row["status"] == "new":
            return "new since the baseline"
        return (f"grew since the baseline: {row['baseline_count']:,} -> {row['count']:,} records, "
                f"{usd(Decimal(str(row['baseline_cost'])))} -> {usd(Decimal(str(row['cost'])))}")

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "updated": self.updated, "rules": self.rows}


def compare(findings: list[Finding], baseline: dict[str, dict[str, Any]], con, path: str) -> Comparison:
    cmp = Comparison(path)
    for f in sorted(findings, key=lambda f: f.code):
        b = baseline.get(f.code)
        cost = Decimal(f.cost)
        row: dict[str, Any] = {"code": f.code, "name": f.name, "count": int(f.count), "cost": _money(cost)}
        if b is None:
            status = "new"
            row.update(baseline_count=0, baseline_cost="0")
        else:
            b_count, b_cost = int(b["count"]), Decimal(str(b["cost"]))
            row.update(baseline_count=b_count, baseline_cost=_money(b_cost))
            if f.count > b_count or cost > b_cost:
                status = "grown"
            else:
                ids = flagged_ids(con, f.code)
                same_ids = b.get("request_ids_sha256") in (None, ids_hash(ids))
                if f.count == b_count and cost == b_cost:
                    status = "unchanged" if same_ids else "changed"
                else:
                    status = "shrunk"
                if not same_ids and isinstance(b.get("request_ids"), list):
                    known = set(b["request_ids"])
                    row["newly_flagged_request_ids"] = [i for i in ids if i not in known][:10]
        row["status"] = status
        cmp.status[f.code] = status
        cmp.rows.append(row)
    present = {f.code for f in findings}
    for code in sorted(set(baseline) - present):
        b = baseline[code]
        cmp.status[code] = "fixed"
        cmp.rows.append({"code": code, "name": b.get("name", ""), "count": 0, "cost": "0",
                         "baseline_count": int(b["count"]), "baseline_cost": _money(Decimal(str(b["cost"]))),
                         "status": "fixed"})
    return cmp


def resolve(policy, overrides: dict[str, Any] | None) -> str | None:
    """The baseline path: the command line's as given, or the policy's relative to the policy file."""
    cli = (overrides or {}).get("baseline")
    if cli:
        return str(cli)
    pol = (policy.gate or {}).get("baseline")
    if not pol:
        return None
    p = Path(pol)
    src = Path(policy.source)
    if not p.is_absolute() and src.suffix in (".toml",) and src.parent != Path(""):
        p = src.parent / p
    return str(p)


@dataclass
class Planned:
    """The baseline of one run, settled before the audit: where it is, whether this run writes it, and (when it
    only compares) its entries, read once."""

    path: str | None
    update: bool
    entries: dict[str, dict[str, Any]] | None = None


def plan(policy, overrides: dict[str, Any] | None, *, update: bool = False) -> Planned:
    """Before the audit: the baseline to compare with is read (a bad file fails in a moment, not after the audit),
    the one to write has a directory to go to."""
    path = resolve(policy, overrides)
    if path is None:
        if update:
            raise BaselineError("--update-baseline needs a baseline file: --baseline FILE or [gate] baseline in the policy")
        return Planned(None, False)
    if update:
        if not Path(path).parent.is_dir():
            raise BaselineError(f"{path}: cannot write the baseline: no such directory {Path(path).parent}")
        return Planned(path, True)
    return Planned(path, False, read(path))


def apply(planned: Planned, findings: list[Finding], con) -> Comparison | None:
    """Write the baseline (``update``) and/or compare the findings with it; None when there is no baseline."""
    if planned.path is None:
        return None
    if planned.update:
        write(planned.path, findings, con)
    # After a write, what is compared with is the file as it reads back, as the next run will read it.
    cmp = compare(findings, read(planned.path) if planned.update else planned.entries, con, planned.path)
    cmp.updated = planned.update
    return cmp
