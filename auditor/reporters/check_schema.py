"""Console output of ``audit-logs check-schema``: pass/fail per file, the failing fields and the
file:line of the first offenders. Not an ``--format`` of the audit (it defines no FORMAT)."""

from __future__ import annotations

from auditor.fmt import plural
from auditor.redact import safe_text
from auditor.result import AuditResult


def render(result: AuditResult) -> str:
    section = result.sections.get("check_schema") or {}
    files = section.get("files", [])
    lines = []
    for f in files:
        extra = f", {f['rejected']:,} unreadable" if f.get("rejected") else ""
        fmt = f" [{f['format']}]" if f.get("format") else ""
        lines.append(f"{'PASS' if f['passed'] else 'FAIL'}  {f['path']}{fmt}  {plural(f['records'], 'record')}{extra}")
        for x in f["failures"]:
            note = "" if x.get("fails_gate") else "  (does not fail the gate)"
            fields = ", ".join(f"{k} ({v:,})" for k, v in x["fields"].items())
            lines.append(f"  {x['code']} {x['name']} [{x['severity']}]: {plural(x['count'], 'record')}"
                         + (f": {fields}" if fields else "") + note)
            for o in x["first"]:
                where = f"{f['path']}:{o['line']}" if o.get("line") else f["path"]
                rid = f"  {o['request_id']}" if o.get("request_id") else ""
                lines.append(f"    {where}{rid}  {o['detail']}")
    passed, failed = section.get("passed", 0), section.get("failed", 0)
    lines.append("")
    lines.append(f"{plural(len(files), 'file')} checked against the chargeback record contract "
                 f"({', '.join(section.get('rules', result.rules))}): {passed} passed, {failed} failed")
    lines.append(f"Policy  {result.policy.source}")  # as the audit's text report names it
    b = result.gate.baseline
    if b:
        known = [r for r in b["rules"] if r["status"] in ("unchanged", "changed", "shrunk")]
        if known:
            lines.append(f"baseline {b['path']}: {plural(len(known), 'known finding')} {'does' if len(known) == 1 else 'do'} not fail the check")
    lines.append(result.gate.line)
    return safe_text("\n".join(lines)) + "\n"
