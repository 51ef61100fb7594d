"""A Markdown summary for a pull-request comment or ``$GITHUB_STEP_SUMMARY`` (GitHub-flavoured tables).

Verdict first, then the summary table (records, cost, attributable spend), the findings with the $
they put at risk, the teams, and for ``check-schema`` the pass/fail per file. Table cells are escaped
(``|``, newlines, and Markdown/HTML markup that log text could carry), so untrusted log values cannot
break a table, inject a link or an HTML tag, or @-mention anyone.
"""

from __future__ import annotations

import re

from auditor.fmt import pct, plural, usd
from auditor.locations import flagged
from auditor.redact import mask_text, safe_text
from auditor.reporters import views
from auditor.result import AuditResult

FORMAT = "markdown"
MAX_ROWS = 50
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def cell(value: object) -> str:
    """One table cell: single line, Markdown and HTML specials escaped."""
    text = mask_text(str(value)).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    # "@name" in log text would notify a GitHub user or team from a PR comment: break the mention.
    return _MD_SPECIAL.sub(r"\\\1", text).replace("@", "@\u200b").strip()


def table(header: list[str], rows: list[list[object]], align: str) -> list[str]:
    marks = {"<": ":---", ">": "---:", "^": ":---:"}
    out = ["| " + " | ".join(cell(h) for h in header) + " |",
           "| " + " | ".join(marks[a] for a in align) + " |"]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return out


def _teams(d: dict) -> list[str]:
    """The team table; with spend made on behalf of other teams, both views and which one the cost column is."""
    both = views.shown(d)
    has_tier = any("tier" in t for t in d["teams"])
    header = (["team", "records", "cost", "attributable"] + (["score", "tier"] if has_tier else [])
              + (["owner view", "caller view"] if both else []))
    rows = []
    for t in d["teams"][:MAX_ROWS]:
        row = [t.get("label") or t["team_id"], f"{t['records']:,}", usd(t["cost"]), pct(t["attributable_pct"], t["cost"])]
        if has_tier:
            row += [t.get("score", ""), t.get("tier", "")]
        rows.append(row + ([usd(t["owner_view_cost"]), usd(t["caller_view_cost"])] if both else []))
    for t in views.other_view_rows(d)[:MAX_ROWS] if both else ():  # charged nothing in this view
        rows.append([t["label"]] + ["-"] * (len(header) - 3) + [usd(t["owner_view_cost"]), usd(t["caller_view_cost"])])
    lines = ([cell(views.sentence(d)), ""] if both else []) + table(
        header, rows, "<>>>" + ("><" if has_tier else "") + (">>" if both else ""))
    if len(d["teams"]) > MAX_ROWS:
        lines.append(f"\n…and {len(d['teams']) - MAX_ROWS:,} more teams (see the JSON report).")
    return lines


def render(result: AuditResult) -> str:
    d = result.to_dict()
    s, gate = d["summary"], d["gate"]
    check = d["sections"].get("check_schema") if isinstance(d.get("sections"), dict) else None
    title = "audit-logs check-schema" if check else "audit-logs"
    icon = "✅" if gate["passed"] else "❌"
    lines = [f"## {icon} {title}: {'PASS' if gate['passed'] else 'FAIL'}", ""]
    sentence = (d.get("verdict") or {}).get("sentence")
    if sentence:
        lines += [cell(sentence), ""]
    if gate["reasons"]:
        lines += [f"- {cell(r)}" for r in gate["reasons"]] + [""]

    lines += ["### Summary", ""]
    lines += table(["", "value"], [
        ["records read", f"{s['read']:,}"],
        ["LLM requests", f"{s['records']:,}"],
        ["rejected (unreadable)", f"{s['rejected']:,}"],
        ["total cost", usd(s["total_cost"])],
        ["attributable cost", f"{usd(s['attributable_cost'])} ({pct(s['attributable_pct'], s['total_cost'])})"],
        ["unattributed cost", usd(s["unattributed_cost"])],
    ], "<>")
    lines.append("")

    if check:
        lines += ["### Files", ""]
        rows = []
        for f in check["files"]:
            failing = [x for x in f["failures"] if x.get("fails_gate")]
            first = next((x["first"][0] for x in failing if x["first"]), None)
            where = f"{f['path']}:{first['line']}" if first and first.get("line") else ""
            rows.append(["✅ pass" if f["passed"] else "❌ fail", f["path"], f"{f['records']:,}", f"{f['rejected']:,}",
                         ", ".join(f"{x['code']} ({x['count']:,})" for x in f["failures"]) or "none",
                         ", ".join(k for x in f["failures"] for k in x["fields"]) or "", where])
        lines += table(["result", "file", "records", "unreadable", "rules", "failing fields", "first offender"],
                       rows[:MAX_ROWS], "<<>><<<")
        lines.append("")

    lines += ["### Findings", ""]
    if d["findings"]:
        failing = set(gate.get("failing", []))
        rows = []
        for f in d["findings"][:MAX_ROWS]:
            loc = flagged(result, f["code"], 1)
            rows.append([f["code"], f["name"], f["severity"] + (" (fails gate)" if f["code"] in failing else ""),
                         f"{f['count']:,}", usd(f["cost"]), str(loc[0]) if loc else "", f["message"]])
        lines += table(["code", "rule", "severity", "records", "$ at risk", "first at", "what it means"], rows, "<<<>><<")
    else:
        lines.append("No findings.")
    lines.append("")

    if d["teams"]:
        lines += ["### Teams", ""] + _teams(d) + [""]

    u = d["unallocated"]
    if u["records"]:
        lines += [f"**Unallocated:** {usd(u['cost'])} in {plural(u['records'], 'record')} that no team can be charged for.", ""]

    b = gate.get("baseline")
    if b:
        lines += [f"### Baseline `{cell(b['path'])}`", ""]
        lines += table(["code", "rule", "status", "records (baseline)", "$ (baseline)"],
                       [[r["code"], r["name"], r["status"], f"{r['count']:,} ({r['baseline_count']:,})",
                         f"{usd(r['cost'])} ({usd(r['baseline_cost'])})"] for r in b["rules"]], "<<<>>")
        lines.append("")
    lines.append(f"<sub>audit-logs {d['tool']['version']} · report schema {d['schema_version']} · "
                 f"rules run: {cell(', '.join(d.get('rules') or [])) or 'n/a'}</sub>")
    return safe_text("\n".join(lines)) + "\n"
