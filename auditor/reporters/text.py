"""The console summary: what a FinOps analyst reads first."""

from __future__ import annotations

from decimal import Decimal

from auditor.fmt import pct, plural, usd
from auditor.redact import safe_text
from auditor.reporters import views
from auditor.result import AuditResult

FORMAT = "text"

# How a finding stands against --baseline: new and grown ones fail the gate, baselined ones do not.
_BASELINE_MARK = {"new": "new", "grown": "grown", "unchanged": "baselined", "changed": "baselined (moved)",
                  "shrunk": "baselined (shrunk)"}


def _table(rows: list[list[str]], align: str) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, r in enumerate(rows):
        cells = [c.ljust(w) if a == "<" else c.rjust(w) for c, w, a in zip(r, widths, align)]
        out.append("  " + "  ".join(cells).rstrip())
        if n == 0:
            out.append("  " + "  ".join("-" * w for w in widths))
    return out


def _at_risk(f: dict) -> str:
    """A finding's $ at risk; for records that carry no cost (missing-cost), the estimate at the prices in effect."""
    details = f.get("details") or {}
    if "estimated_missing_cost" in details and Decimal(str(f["cost"])) == 0:
        est = details["estimated_missing_cost"]  # None: no price is known, so there is nothing to estimate from
        return f"est. {usd(est)}" if est is not None and Decimal(str(est)) > 0 else "no estimate"
    return usd(f["cost"])


def _teams(d: dict) -> list[str]:
    """The team table; with spend made on behalf of other teams, both views and which one the cost column is."""
    both = views.shown(d)
    header = ["team", "records", "cost", "attributable"]
    has_tier = any("tier" in t for t in d["teams"])
    if has_tier:
        header += ["score", "tier"]
    if both:
        header += ["owner view", "caller view"]
    rows = [header]
    for t in d["teams"]:
        row = [t.get("label") or t["team_id"], f"{t['records']:,}", usd(t["cost"]), pct(t["attributable_pct"], t["cost"])]
        if has_tier:
            row += [str(t.get("score", "")), str(t.get("tier", ""))]
        rows.append(row + ([usd(t["owner_view_cost"]), usd(t["caller_view_cost"])] if both else []))
    for t in views.other_view_rows(d) if both else ():  # charged nothing in this view: no figure but the views
        rows.append([t["label"]] + ["-"] * (len(header) - 3) + [usd(t["owner_view_cost"]), usd(t["caller_view_cost"])])
    return (["  " + views.sentence(d)] if both else []) + _table(rows, "<>>>" + ("><" if has_tier else "") + (">>" if both else ""))


def render(result: AuditResult) -> str:
    d = result.to_dict()
    s = d["summary"]
    lines = []
    if d["verdict"].get("sentence"):
        lines += [d["verdict"]["sentence"], ""]
    lines.append(f"Policy  {d['policy']['source']}")
    lines.append("")
    lines.append("Inputs")
    for i in d["inputs"]:
        if i["container"] in ("skipped", "unreadable"):  # passed over by the directory walk, with why
            lines.append(f"  {i['path']}  {i['detected_by']}" + ("  (counted as 1 rejected)" if i["rejected"] else ""))
            continue
        extra = f", {i['context_spans']:,} trace context spans" if i["context_spans"] else ""
        lines.append(f"  {i['path']}  [{i['format']}, {i['container']}]  {plural(i['records'], 'record')}{extra}, {i['rejected']:,} rejected")
        lines.extend(f"    {n}" for n in i.get("notes", ()))
    listed = {i["path"] for i in d["inputs"]}
    for sk in d.get("skipped") or []:
        if sk["path"] not in listed:  # files skipped for their extension or unreadable are inputs, listed above
            lines.append(f"  {sk['path']}  skipped: {sk['reason']}")
    lines.append("")
    lines.append(
        f"Records  read {s['read']:,} = accepted {s['records'] + s['context_spans']:,} + rejected {s['rejected']:,}"
        + (f"  ({s['context_spans']:,} of the accepted are trace context spans, not LLM requests)" if s["context_spans"] else "")
    )
    lines.append(f"Total cost           {usd(s['total_cost'])}" + ("  each request counted once" if s.get("copies") else ""))
    if s.get("copies"):  # every money figure leaves the copies out; say what a naive sum of the logs would give
        lines.append(f"  copies not counted {usd(s['copies_cost'])}  ({plural(s['copies'], 'record')} repeating a request"
                     f" already counted, duplicate-request; {usd(s['logged_cost'])} as logged)")
    lines.append(f"Attributable cost    {usd(s['attributable_cost'])}  ({pct(s['attributable_pct'], s['total_cost'])})  complete, valid owner")
    lines.append(f"Unattributed cost    {usd(s['unattributed_cost'])}")
    if d["rejects"]:
        lines += ["", "Rejected records (first 10)"]
        lines += [f"  {r['source_file']}:{r['line']}: {r['reason']}" for r in d["rejects"][:10]]
    base = d["gate"].get("baseline")
    status = {r["code"]: r["status"] for r in (base or {}).get("rules", [])}
    if d["findings"]:
        lines += ["", "Findings" + (f" (compared with the baseline {base['path']})" if base else "")]
        rows = [["code", "rule", "severity", "records", "$ at risk"] + (["baseline"] if base else [])]
        rows += [[f["code"], f["name"], f["severity"], f"{f['count']:,}", _at_risk(f)]
                 + ([_BASELINE_MARK.get(status.get(f["code"], "new"), "new")] if base else []) for f in d["findings"]]
        lines += _table(rows, "<<<>><")
        fixed = [r for r in (base or {}).get("rules", []) if r["status"] == "fixed"]
        if fixed:
            lines.append("  fixed since the baseline: " + ", ".join(f"{r['code']} {r['name']}" for r in fixed)
                         + " (run --update-baseline to lock that in)")
        lines.append("")
        for f in d["findings"]:
            lines.append(f"  {f['code']} {f['name']}: {f['message']}")
    else:
        lines += ["", "Findings: none"]
    if d["teams"]:
        lines += ["", "Teams"]
        lines += _teams(d)
    u = d["unallocated"]
    if u["records"]:
        lines += ["", f"Unallocated bucket  {usd(u['cost'])} in {plural(u['records'], 'record')}"]
        for c in u["causes"]:
            lines.append(f"  {c['code']} {c['name']}: {plural(c['records'], 'record')}, {usd(c['cost'])}")
    if d.get("reconciliation"):
        lines += _reconciliation(d["reconciliation"])
    lines += ["", result.gate.line]
    return safe_text("\n".join(lines)) + "\n"


def _reconciliation(r: dict) -> list[str]:
    """The reconciliation line, the decomposition table that adds up and one line per cause, with its team effects."""
    lines: list[str] = []
    if r.get("summary_line"):
        lines += ["", r["summary_line"]]
    dec = r.get("decomposition")
    if dec:  # the table adds up: ledger as logged + each component = invoice
        lines.append("  " + dec["statement"])
        rows = [["Decomposition (invoice - ledger)", "Amount", "Rules"], ["Ledger as logged", usd(dec["ledger_as_logged"]), ""]]
        rows += [[f"{'+' if Decimal(str(c['amount'])) > 0 else '-'} {c['title']}", usd(c["amount"]), ", ".join(c["rules"])]
                 for c in dec["components"]]
        rows += [["= Invoice", usd(dec["invoice_total"]), f"explained {dec['explained_pct']}%"]]
        lines += ["  " + x for x in _table(rows, "<><")]
    for c in r.get("causes") or []:  # one line per cause, with its first piece of evidence and its effect
        ev = (c.get("evidence") or [""])[0]
        lines.append(f"  {c.get('summary') or c['title']}: {ev}" + (f" (+{len(c['evidence']) - 1} more)" if len(c.get("evidence") or []) > 1 else "")
                     + (f"; {c['effect']}" if c.get("effect") else ""))
        said = [t["sentence"] for t in c.get("teams") or [] if t.get("sentence")]
        if said:  # the "stale prices overcharge team X by $0.08": the effect on each team's bill
            basis = f" ({c['team_basis']})" if c.get("team_basis") else ""
            lines.append(f"    by team{basis}: " + "; ".join(said[:5]) + (f"; and {plural(len(said) - 5, 'more team')}" if len(said) > 5 else ""))
    return lines
