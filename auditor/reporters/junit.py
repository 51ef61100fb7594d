"""JUnit XML, which every CI server shows as a test report.

The audit: one ``<testsuite>`` per rule category (contract, ownership, pricing, ...) with one
``<testcase>`` per rule that ran, so the report shows what was checked as well as what failed; plus a
``gate`` suite with one testcase per threshold that is set (attributable %, unattributed cost,
variance). A testcase fails exactly when its finding fails the gate (at or above ``--fail-on`` and,
with ``--baseline``, new or grown), so the JUnit report and the exit code agree; a finding that does
not fail the gate (below ``--fail-on``, or known in the baseline) passes with its message in
``<system-out>``.

``check-schema``: one ``<testsuite>`` per input file, one testcase per contract rule.

Follows the Jenkins/Ant JUnit dialect (Jenkins xunit ``junit-10.xsd``), which GitLab, Azure DevOps,
CircleCI and the GitHub test-report actions read; validated against that XSD in the tests.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET

from auditor.fmt import plural, usd
from auditor.locations import flagged
from auditor.redact import escape_controls, mask_text
from auditor.result import AuditResult

FORMAT = "junit"
SAMPLE = 10
# Characters XML 1.0 cannot carry at all, and surrogates (log text is untrusted).
_BAD_XML = re.compile("[\ufffe\uffff\ud800-\udfff]")


def _clean(text: str) -> str:
    """Masked, every control character but newline and tab written visibly (``\\x1b``; XML 1.0 cannot hold most
    of them at all, and a CI log viewer would act on the rest)."""
    return _BAD_XML.sub("\ufffd", escape_controls(mask_text(str(text)), keep="\n\t"))


def _suite(parent: ET.Element, name: str, cases: list[ET.Element], timestamp: str) -> ET.Element:
    failures = sum(1 for c in cases if c.find("failure") is not None)
    s = ET.SubElement(parent, "testsuite", {
        "name": name, "tests": str(len(cases)), "failures": str(failures), "errors": "0", "skipped": "0",
        "time": "0", "timestamp": timestamp, "hostname": _host(),
    })
    s.extend(cases)
    return s


def _host() -> str:
    try:
        return socket.gethostname() or "localhost"
    except OSError:  # pragma: no cover
        return "localhost"


def _case(classname: str, name: str, *, failure: tuple[str, str, str] | None = None, out: str | None = None) -> ET.Element:
    c = ET.Element("testcase", {"classname": classname, "name": _clean(name), "time": "0"})
    if failure is not None:
        message, typ, body = failure
        f = ET.SubElement(c, "failure", {"message": _clean(message), "type": typ})
        f.text = _clean(body)
    if out:
        so = ET.SubElement(c, "system-out")
        so.text = _clean(out)
    return c


def _finding_body(result: AuditResult, f, baseline_rows: dict) -> str:
    lines = [f.message, "", f"{f.code} {f.name} ({f.category}, severity {f.severity}): {plural(f.count, 'record')}, {usd(f.cost)} at risk"]
    row = baseline_rows.get(f.code)
    if row:
        lines.append(f"baseline: {row['status']} (was {plural(row['baseline_count'], 'record')}, ${row['baseline_cost']})")
    locs = flagged(result, f.code, SAMPLE)
    if locs:
        lines += ["", "First flagged records:"]
        lines += [f"  {loc}  {loc.request_id or ''}  {loc.detail}".rstrip() for loc in locs]
    teams = sorted(f.teams.items(), key=lambda kv: -kv[1]["cost"])[:10]
    if teams:
        lines += ["", "Teams:"] + [f"  {t or '(no team)'}: {plural(v['count'], 'record')}, {usd(v['cost'])}" for t, v in teams]
    lines += ["", f"Explain: audit-logs explain {f.code}"]
    return "\n".join(lines)


def render(result: AuditResult) -> str:
    from auditor.rules import REGISTRY

    # The suite's timestamp is the data's last day, not the wall clock: same input, same report.
    daily = result.sections.get("daily") or []
    timestamp = f"{daily[-1]['day']}T00:00:00" if daily else "1970-01-01T00:00:00"
    root = ET.Element("testsuites", {"name": "audit-logs"})
    failing = set(result.gate.failing)
    by_code = {f.code: f for f in result.findings}
    baseline_rows = {r["code"]: r for r in (result.gate.baseline or {}).get("rules", [])}
    codes = result.rules or sorted(by_code)

    section = result.sections.get("check_schema")
    if section:
        for entry in section["files"]:
            per = {x["code"]: x for x in entry["failures"]}
            cases = []
            for code in codes:
                rule = REGISTRY.get(code)
                name = f"{code} {rule.name if rule else by_code[code].name}"
                x = per.get(code)
                if x is None:
                    cases.append(_case(f"audit-logs.check-schema.{entry['path']}", name))
                    continue
                body = [f"{entry['path']}: {plural(x['count'], 'record')} flagged by {code} {x['name']}"]
                body += [f"  {k}: {v:,}" for k, v in x["fields"].items()]
                body += [f"  {entry['path']}:{o['line']}  {o.get('request_id') or ''}  {o['detail']}" for o in x["first"]]
                text = "\n".join(body)
                if x.get("fails_gate"):
                    cases.append(_case(f"audit-logs.check-schema.{entry['path']}", name,
                                       failure=(f"{plural(x['count'], 'record')}: " + ", ".join(x["fields"]) if x["fields"] else f"{plural(x['count'], 'record')}",
                                                x["severity"], text)))
                else:
                    cases.append(_case(f"audit-logs.check-schema.{entry['path']}", name, out=text))
            _suite(root, f"check-schema {entry['path']}", cases, timestamp)
    else:
        categories: dict[str, list[ET.Element]] = {}
        for code in codes:
            rule = REGISTRY.get(code)
            f = by_code.get(code)
            category = rule.category if rule else (f.category if f else "other")
            name = f"{code} {rule.name if rule else f.name}"
            classname = f"audit-logs.{category}"
            if f is None:
                case = _case(classname, name)
            elif code in failing:
                case = _case(classname, name, failure=(f.message, f.severity, _finding_body(result, f, baseline_rows)))
            else:
                why = ("known in the baseline" if code in baseline_rows and baseline_rows[code]["status"] != "new"
                       else f"severity {f.severity} is below --fail-on {result.gate.settings.get('fail_on')}")
                case = _case(classname, name, out=f"{why}\n\n" + _finding_body(result, f, baseline_rows))
            categories.setdefault(category, []).append(case)
        for category in sorted(categories):
            _suite(root, f"audit-logs.{category}", categories[category], timestamp)

    gate_cases = _gate_cases(result)
    if gate_cases:
        _suite(root, "audit-logs.gate", gate_cases, timestamp)

    suites = root.findall("testsuite")
    root.set("tests", str(sum(int(s.get("tests")) for s in suites)))
    root.set("failures", str(sum(int(s.get("failures")) for s in suites)))
    root.set("errors", "0")
    root.set("time", "0")
    for el in root.iter():  # every attribute too: file paths and names in classname and suite names are log data
        for k, v in el.attrib.items():
            el.set(k, _clean(v))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _gate_cases(result: AuditResult) -> list[ET.Element]:
    """One testcase per threshold that is set; it fails with the gate's own reason."""
    s = result.gate.settings
    reasons = result.gate.reasons
    checks = [
        ("min_attributable_pct", "attributable spend", "attributable spend"),
        ("max_unattributed_cost", "unattributed cost", "unattributed cost"),
        ("max_variance_pct", "reconciliation variance", "reconciliation variance"),
    ]
    cases = []
    for key, label, prefix in checks:
        if s.get(key) is None:
            continue
        reason = next((r for r in reasons if r.startswith(prefix)), None)
        name = f"{key.replace('_', '-')} {s[key]:g}" if isinstance(s[key], (int, float)) else f"{key} {s[key]}"
        cases.append(_case("audit-logs.gate", name, failure=(reason, "threshold", reason) if reason else None))
    return cases
