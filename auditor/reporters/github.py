"""GitHub Actions workflow commands: annotations on the run and on the pull request's files.

One ``::error`` / ``::warning`` / ``::notice`` line per finding and input file, at the first record
the rule flagged in that file (``file=``, ``line=``), titled with the rule, e.g.::

    ::error file=sample_logs/litellm.jsonl,line=12,title=OWN001 missing-owner::3 requests ($0.51) ...

then one ``::error`` per gate reason that is not about a finding (thresholds), and a plain summary
line. Data and property values are escaped as GitHub's runner expects (actions/toolkit
``command.ts``): ``%`` -> ``%25``, CR -> ``%0D``, LF -> ``%0A`` everywhere, and in property values
also ``:`` -> ``%3A`` and ``,`` -> ``%2C``. GitHub shows at most 10 annotations of each level per
step, so the most costly findings come first (the findings' own order).
"""

from __future__ import annotations

import re

from auditor.fmt import pct, plural, usd
from auditor.locations import first_per_file
from auditor.redact import escape_controls, mask_text
from auditor.result import AuditResult

FORMAT = "github"
LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(s: str) -> str:
    # Other control characters (ESC, BEL, C1) are made visible: the runner's log is shown in a terminal emulator.
    return escape_controls(s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"), keep="")


def escape_property(s: str) -> str:
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **props: object) -> str:
    """``::level key=value,...::message`` with GitHub's escaping; None-valued properties are left out."""
    items = [f"{k}={escape_property(str(v))}" for k, v in props.items() if v is not None and v != ""]
    return f"::{level}{' ' + ','.join(items) if items else ''}::{escape_data(message)}"


def render(result: AuditResult) -> str:
    lines = []
    failing = set(result.gate.failing)
    for f in result.findings:
        # A finding that does not fail the gate is shown one level lower, so the annotations agree with the exit code.
        level = LEVELS[f.severity] if f.code in failing or f.severity == "info" else "notice"
        title = f"{f.code} {f.name}"
        per_file = first_per_file(result, f.code)
        if not per_file:
            lines.append(command(level, mask_text(f"{f.message} ({plural(f.count, 'record')}, {usd(f.cost)} at risk)"), title=title))
            continue
        for loc, n in per_file:
            detail = f" First here: {loc.request_id + ': ' if loc.request_id else ''}{loc.detail}." if loc.detail else ""
            message = f"{f.message} In this file: {plural(n, 'record')}.{detail} Run `audit-logs explain {f.code}`."
            lines.append(command(level, mask_text(message), file=loc.source_file, line=loc.line, title=title))
    for reason in result.gate.reasons:
        if re.match(r"[\d,]+ (new or grown )?findings? at severity ", reason):
            continue  # already annotated above, finding by finding
        lines.append(command("error", mask_text(reason), title="audit-logs gate"))
    s = result.summary()
    verdict = "PASS" if result.gate.passed else "FAIL"
    lines.append(escape_data(mask_text(
        f"audit-logs {verdict}: {plural(s['records'], 'record')}, {usd(s['total_cost'])} total, "
        f"{usd(s['attributable_cost'])} attributable ({pct(s['attributable_pct'], s['total_cost'])}), "
        f"{plural(len(result.findings), 'finding')}, {len(failing)} failing the gate"
    )))
    return "\n".join(lines) + "\n"
