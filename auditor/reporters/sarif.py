"""SARIF 2.1.0 (OASIS), for GitHub code scanning and any SARIF viewer.

One run. ``tool.driver.rules`` lists every registered rule (id = code, name, the docstring as help,
default level); each finding is one result whose location is the first flagged record
(``artifactLocation.uri`` = the record's source file, ``region.startLine`` = its line) and whose
``relatedLocations`` are a sample of the other flagged records. ``properties`` carry the record
count and the $ at risk as an exact decimal string. Validated in the tests against the official
SARIF 2.1.0 JSON Schema.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from auditor import __version__
from auditor.locations import Location, flagged
from auditor.redact import json_safe, mask_text
from auditor.result import AuditResult

FORMAT = "sarif"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/audit-logs/audit-logs"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
# SARIF's baselineState for auditor.baseline's statuses.
BASELINE_STATE = {"new": "new", "grown": "updated", "changed": "updated", "shrunk": "updated", "unchanged": "unchanged"}
RELATED = 10


def uri(path: str) -> str:
    """A relative URI reference for a path under the working directory, else an absolute file: URI."""
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.relative_to(Path.cwd())
        except ValueError:
            return p.as_uri()
    return quote(PurePosixPath(*p.parts).as_posix() if p.parts else str(path), safe="/")


def _physical(loc: Location) -> dict:
    phys: dict = {"artifactLocation": {"uri": uri(loc.source_file), "uriBaseId": "%SRCROOT%"}}
    if loc.line:
        phys["region"] = {"startLine": loc.line}
    return phys


def _rules() -> list:
    from auditor.rules import REGISTRY

    out = []
    for r in sorted(REGISTRY.values(), key=lambda r: r.code):
        doc = r.doc
        out.append({
            "id": r.code,
            "name": r.name,
            "shortDescription": {"text": r.summary or r.name},
            "fullDescription": {"text": doc or r.summary or r.name},
            "help": {"text": doc or r.summary or r.name, "markdown": _help_markdown(r)},
            "helpUri": f"{INFORMATION_URI}#rules",
            "defaultConfiguration": {"level": LEVELS[r.severity]},
            "properties": {"category": r.category, "blocks_attribution": r.blocks_attribution,
                           "tags": ["chargeback", r.category]},
        })
    return out


def _help_markdown(r) -> str:
    lines = [f"**{r.code} {r.name}** ({r.category}, default severity {r.severity})", ""]
    for para in r.doc.split("\n\n"):
        if para.startswith(("Bad:", "Good:")):
            label, _, rest = para.partition(":")
            lines += [f"{label}:", "", "```json", rest.strip(), "```", ""]
        else:
            lines += [para, ""]
    lines.append(f"Explain locally: `audit-logs explain {r.code}`")
    return "\n".join(lines)


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def render(result: AuditResult) -> str:
    rules = _rules()
    index = {r["id"]: i for i, r in enumerate(rules)}
    baseline = {r["code"]: r["status"] for r in (result.gate.baseline or {}).get("rules", [])}
    failing = set(result.gate.failing)
    results = []
    for f in result.findings:
        locs = flagged(result, f.code, RELATED + 1)
        res: dict = {
            "ruleId": f.code,
            "level": LEVELS[f.severity],
            "message": {"text": mask_text(f.message)},
        }
        if f.code in index:
            res["ruleIndex"] = index[f.code]
        if locs:
            first = locs[0]
            res["locations"] = [{"physicalLocation": _physical(first),
                                 "message": {"text": mask_text(_loc_text(first))}}]
            res["relatedLocations"] = [
                {"id": n, "physicalLocation": _physical(loc), "message": {"text": mask_text(_loc_text(loc))}}
                for n, loc in enumerate(locs[1:], start=1)
            ]
            if not res["relatedLocations"]:
                del res["relatedLocations"]
        elif result.inputs:
            # A data-set-wide finding: point at the first input so code scanning can show it.
            res["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": uri(result.inputs[0].path),
                                                                           "uriBaseId": "%SRCROOT%"}}}]
        first_where = str(locs[0]) if locs else ""
        res["partialFingerprints"] = {"auditLogsFinding/v1": _fingerprint(f.code, first_where.split(":")[0])}
        if f.code in baseline:
            res["baselineState"] = BASELINE_STATE.get(baseline[f.code], "new")
        res["properties"] = {
            "name": f.name,
            "category": f.category,
            "severity": f.severity,
            "count": f.count,
            "cost": _money(f.cost),
            "fails_gate": f.code in failing,
            "sample_request_ids": [mask_text(i) for i in f.sample_request_ids],
            "teams": [{"team_id": t or None, "count": v["count"], "cost": _money(v["cost"])} for t, v in f.teams.items()],
        }
        results.append(res)
    d = result.to_dict()
    run = {
        "tool": {"driver": {"name": "audit-logs", "version": __version__, "semanticVersion": __version__,
                            "informationUri": INFORMATION_URI, "rules": rules}},
        "invocations": [{
            "executionSuccessful": True,
            "exitCode": result.exit_code,
            "workingDirectory": {"uri": Path.cwd().as_uri() + "/"},
            "properties": {"gate": d["gate"]},
        }],
        "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
        "artifacts": [{"location": {"uri": uri(i.path), "uriBaseId": "%SRCROOT%"}, "roles": ["analysisTarget"],
                       "properties": {"format": i.format, "records": i.records, "rejected": i.rejected}}
                      for i in result.inputs],
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {"summary": d["summary"], "rules_run": result.rules},
    }
    doc = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json_safe(json.dumps(doc, indent=2, ensure_ascii=False)) + "\n"


def _loc_text(loc: Location) -> str:
    parts = [p for p in (loc.request_id and f"request {loc.request_id}", loc.detail) if p]
    return ": ".join(parts) if parts else str(loc)


def _money(v) -> str:
    from auditor.result import money

    return money(v) or "0"
