"""The CI output formats, each checked against its spec with a real parser or schema:

- SARIF: the official SARIF 2.1.0 JSON Schema (tests/data/sarif-schema-2.1.0.json, see tests/data/README.md),
  plus RFC 3986 for every artifact URI (the schema's uri-reference format is not checked by draft-04 validators);
- JUnit: xmlschema against Jenkins' junit-10.xsd (tests/data/junit-10.xsd), and junitparser;
- GitHub: a regex that follows GitHub's documented workflow-command syntax and escaping (actions/toolkit);
- Markdown: markdown-it-py with GitHub-flavoured tables, rendering and reading back every table.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from junitparser import Failure, JUnitXml
from markdown_it import MarkdownIt
from rfc3986_validator import validate_rfc3986

from auditor.api import audit, check_schema
from auditor.fmt import usd
from auditor.reporters import formats, renderer
from auditor.reporters.github import command, escape_data, escape_property
from auditor.rules import REGISTRY
from ci_samples import BAD_FIRST_LINE, bad, good

DATA = Path(__file__).parent / "data"
SARIF_SCHEMA = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
JUNIT_XSD = xmlschema.XMLSchema(str(DATA / "junit-10.xsd"))


@pytest.fixture
def inputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good(Path("good.jsonl"))
    bad(Path("bad.jsonl"))
    return ["good.jsonl", "bad.jsonl"]


@pytest.fixture
def result(inputs):
    return audit(inputs)


def test_every_ci_format_is_discovered():
    assert {"json", "text", "sarif", "junit", "github", "markdown"} <= set(formats())


# ---------------------------------------------------------------- SARIF

def _validate_sarif(doc):
    validator = jsonschema.Draft4Validator(SARIF_SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    uris = []

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "uri":
                    uris.append(v)
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(doc)
    for u in uris:
        assert validate_rfc3986(u, rule="URI_reference"), u
    return uris


def test_sarif_validates_against_the_official_schema(result):
    doc = json.loads(renderer("sarif")(result))
    _validate_sarif(doc)
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1


def test_sarif_rules_come_from_the_registry_with_their_docstrings(result):
    run = json.loads(renderer("sarif")(result))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(REGISTRY)
    for r in rules:
        rule = REGISTRY[r["id"]]
        assert r["name"] == rule.name
        assert r["help"]["text"] == rule.doc
        assert r["shortDescription"]["text"] == rule.summary
        assert r["defaultConfiguration"]["level"] == {"error": "error", "warning": "warning", "info": "note"}[rule.severity]


def test_sarif_results_per_finding_with_location_count_and_cost(result):
    run = json.loads(renderer("sarif")(result))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert set(by_rule) == {f.code for f in result.findings}
    for f in result.findings:
        r = by_rule[f.code]
        assert rules[r["ruleIndex"]]["id"] == f.code
        assert r["level"] == {"error": "error", "warning": "warning", "info": "note"}[f.severity]
        assert r["properties"]["count"] == f.count
        assert Decimal(r["properties"]["cost"]) == f.cost
        assert r["properties"]["fails_gate"] == (f.code in result.gate.failing)
    for code, line in BAD_FIRST_LINE.items():
        loc = by_rule[code]["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "bad.jsonl"
        assert loc["region"]["startLine"] == line
    # CON002 flags two records: the second is a related location with its own line.
    related = by_rule["CON002"]["relatedLocations"]
    assert [x["physicalLocation"]["region"]["startLine"] for x in related] == [6]
    assert run["invocations"][0]["exitCode"] == 1 and run["invocations"][0]["executionSuccessful"] is True


def test_sarif_of_clean_logs_and_of_check_schema_validate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good(Path("clean dir with space.jsonl"), cost=0.00027)
    doc = json.loads(renderer("sarif")(check_schema(["clean dir with space.jsonl"])))
    uris = _validate_sarif(doc)
    assert doc["runs"][0]["results"] == []
    assert "clean%20dir%20with%20space.jsonl" in uris
    bad(Path("bad.jsonl"))
    doc = json.loads(renderer("sarif")(check_schema(["bad.jsonl"])))
    _validate_sarif(doc)
    assert {r["ruleId"] for r in doc["runs"][0]["results"]} == set(BAD_FIRST_LINE)


# ---------------------------------------------------------------- JUnit

def _junit(text: str, tmp_path: Path) -> JUnitXml:
    JUNIT_XSD.validate(text)  # raises with the offending element when invalid
    path = tmp_path / "report.xml"
    path.write_text(text, encoding="utf-8")
    return JUnitXml.fromfile(str(path))


def test_junit_validates_and_lists_every_rule_that_ran(result, tmp_path):
    xml = _junit(renderer("junit")(result), tmp_path)
    cases = {}
    for suite in xml:
        assert suite.name.startswith("audit-logs.")
        for case in suite:
            cases[case.name.split()[0]] = (suite.name, case)
    assert set(cases) == set(result.rules)  # passing rules are there too: the report shows what was checked
    for code, (suite_name, case) in cases.items():
        assert suite_name == f"audit-logs.{REGISTRY[code].category}"
        failed = any(isinstance(r, Failure) for r in case.result)
        assert failed == (code in result.gate.failing), code
    failing = [c for c in result.gate.failing]
    assert xml.failures == len(failing) and xml.tests == len(result.rules)
    own = cases["OWN001"][1]
    failure = next(r for r in own.result if isinstance(r, Failure))
    assert "bad.jsonl:2" in failure.text and failure.type == "error"
    # A warning below --fail-on passes, with its message in system-out.
    warn = [f for f in result.findings if f.code not in result.gate.failing]
    assert warn
    assert "below --fail-on" in cases[warn[0].code][1].system_out


def test_junit_escapes_untrusted_log_text(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from helpers import record, write_jsonl

    write_jsonl(Path("x.jsonl"), [record(request_id="r<&>\"'\u0001", team_id=None, service_id="s]]>x")])
    text = renderer("junit")(audit(["x.jsonl"]))
    xml = _junit(text, tmp_path)
    assert xml.failures >= 1


def test_junit_threshold_gates_are_testcases(inputs, tmp_path):
    res = audit(inputs, gate={"fail_on": "never", "min_attributable_pct": 99.0, "max_unattributed_cost": 100.0})
    xml = _junit(renderer("junit")(res), tmp_path)
    gate = next(s for s in xml if s.name == "audit-logs.gate")
    by = {c.name.split()[0]: c for c in gate}
    assert set(by) == {"min-attributable-pct", "max-unattributed-cost"}
    assert any(isinstance(r, Failure) for r in by["min-attributable-pct"].result)
    assert not by["max-unattributed-cost"].result
    assert xml.failures == 1


def test_junit_check_schema_has_a_suite_per_file(inputs, tmp_path):
    res = check_schema(inputs)
    xml = _junit(renderer("junit")(res), tmp_path)
    suites = {s.name: s for s in xml}
    assert set(suites) == {"check-schema good.jsonl", "check-schema bad.jsonl"}
    assert suites["check-schema good.jsonl"].failures == 0
    assert suites["check-schema bad.jsonl"].failures == 4
    assert suites["check-schema bad.jsonl"].tests == len(res.rules)


# ---------------------------------------------------------------- GitHub workflow commands

# docs.github.com "Workflow commands for GitHub Actions": ::error file={name},line={line},endLine={endLine},title={title}::{message}
PROPERTY_KEYS = {"file", "line", "endLine", "col", "endColumn", "title"}
COMMAND = re.compile(r"^::(?P<level>error|warning|notice)(?: (?P<props>[^:\r\n]*))?::(?P<message>[^\r\n]*)$")
PROPERTY = re.compile(r"^(?P<key>[A-Za-z]+)=(?P<value>[^,:\r\n]*)$")


def _unescape(s: str) -> str:
    return s.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def _parse(line: str):
    m = COMMAND.match(line)
    assert m, line
    props = {}
    for item in (m["props"] or "").split(",") if m["props"] else []:
        p = PROPERTY.match(item)
        assert p, item
        assert p["key"] in PROPERTY_KEYS
        props[p["key"]] = _unescape(p["value"])
    assert "%" not in re.sub(r"%(25|0D|0A)", "", m["message"])  # every % in the message is escaped
    return m["level"], props, _unescape(m["message"])


def test_github_escaping_follows_the_toolkit():
    assert escape_data("50%\r\nnext: a, b") == "50%25%0D%0Anext: a, b"
    assert escape_property("a: b, c%\n") == "a%3A b%2C c%25%0A"
    line = command("error", "boom: 100%\nsecond line", file="dir,1/a:b.jsonl", line=3, title="T, 1: x")
    assert _parse(line) == ("error", {"file": "dir,1/a:b.jsonl", "line": "3", "title": "T, 1: x"}, "boom: 100%\nsecond line")


def test_github_annotations_point_at_the_first_offending_line(result):
    text = renderer("github")(result)
    lines = text.splitlines()
    commands = [_parse(line) for line in lines if line.startswith("::")]
    plain = [line for line in lines if not line.startswith("::")]
    assert len(plain) == 1 and plain[0].startswith("audit-logs FAIL")
    errors = {p["title"].split()[0]: p for level, p, _ in commands if level == "error"}
    for code, line in BAD_FIRST_LINE.items():
        assert errors[code]["file"] == "bad.jsonl" and errors[code]["line"] == str(line)
    # Findings that do not fail the gate are notices, so the annotations agree with the exit code.
    assert {p["title"].split()[0] for level, p, _ in commands if level == "error"} == set(result.gate.failing)
    # The record id with , : % survives escaping.
    messages = [m for _, _, m in commands]
    assert any("b6,x:y%z" in m for m in messages)


def test_github_threshold_reasons_become_annotations(inputs):
    res = audit(inputs, gate={"fail_on": "never", "min_attributable_pct": 99.0})
    cmds = [_parse(line) for line in renderer("github")(res).splitlines() if line.startswith("::")]
    gate = [(lvl, m) for lvl, p, m in cmds if p.get("title") == "audit-logs gate"]
    assert gate and gate[0][0] == "error" and "attributable spend" in gate[0][1]


# ---------------------------------------------------------------- Markdown

def _tables(md: str):
    """Every table as (header cells, rows of cells), read from markdown-it-py's GFM table tokens."""
    tokens = MarkdownIt("commonmark", {"html": False}).enable("table").parse(md)
    tables, current, row, in_cell = [], None, None, False
    for t in tokens:
        if t.type == "table_open":
            current = []
        elif t.type == "tr_open":
            row = []
        elif t.type in ("th_open", "td_open"):
            in_cell = True
            row.append("")
        elif t.type in ("th_close", "td_close"):
            in_cell = False
        elif t.type == "inline" and in_cell:
            row[-1] = "".join(c.content for c in t.children if c.type in ("text", "code_inline", "softbreak"))
        elif t.type == "tr_close":
            current.append(row)
        elif t.type == "table_close":
            tables.append((current[0], current[1:]))
            current = None
    return tables


def test_markdown_renders_verdict_summary_findings_and_teams(result):
    md = renderer("markdown")(result)
    assert md.startswith("## ❌ audit-logs: FAIL")
    tables = _tables(md)
    by_header = {tuple(h): rows for h, rows in tables}
    summary = next(rows for h, rows in by_header.items() if h == ("", "value"))
    assert dict(summary)["total cost"] == usd(result.summary()["total_cost"])
    findings = next(rows for h, rows in by_header.items() if "$ at risk" in h)
    header = next(h for h in by_header if "$ at risk" in h)
    assert len(findings) == len(result.findings)
    for row, f in zip(findings, result.findings):
        assert len(row) == len(header)  # untrusted text never adds or removes a cell
        assert row[0] == f.code and row[header.index("$ at risk")] == usd(f.cost)
        assert row[header.index("records")] == f"{f.count:,}"
    teams = next(rows for h, rows in by_header.items() if h[0] == "team")
    team_ids = [r[0] for r in teams]
    # The hostile team id stays in its cell, without HTML and without a working @-mention.
    hostile = next(t for t in team_ids if t.startswith("ops|"))
    assert "<b>" in hostile and "@\u200bocto-team" in hostile
    html = MarkdownIt("commonmark", {"html": False}).enable("table").render(md)
    assert "<b>x</b>" not in html


def test_markdown_check_schema_lists_files(inputs):
    md = renderer("markdown")(check_schema(inputs))
    assert md.startswith("## ❌ audit-logs check-schema: FAIL")
    files = next(rows for h, rows in _tables(md) if h[:2] == ["result", "file"])
    by_file = {r[1]: r for r in files}
    assert by_file["good.jsonl"][0].endswith("pass") and by_file["bad.jsonl"][0].endswith("fail")
    assert by_file["bad.jsonl"][-1] == "bad.jsonl:3"  # first offender of the first failing rule (CON001)


def test_markdown_of_passing_logs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good(Path("ok.jsonl"), cost=0.00027)
    md = renderer("markdown")(check_schema(["ok.jsonl"]))
    assert md.startswith("## ✅ audit-logs check-schema: PASS") and "No findings." in md
