"""Issue 18, "Outputs that are unsafe to open": control characters and markup in every owner field never reach
a terminal or a CI log raw (text, -o report.txt, markdown, GitHub annotations, check-schema); JUnit (audit and
check-schema) parses with real parsers whatever the values hold; JSON and SARIF parse; every CSV export cell is
safe to open in a spreadsheet (OWASP), while Parquet and JSON Lines keep the raw value; and 20 runs of the same
input give byte-identical outputs."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import xmlschema
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from junitparser import JUnitXml

from auditor import audit
from auditor.cli import main
from auditor.redact import escape_controls
from auditor.reporters import formats, renderer

ROOT = Path(__file__).resolve().parents[2]
JUNIT_XSD = xmlschema.XMLSchema(str(ROOT / "tests" / "data" / "junit-10.xsd"))
# What no text output may hold: C0 controls but newline, DEL, C1 controls, Unicode line separators and bidi overrides.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
NASTY = ["\x1b[2J", "\x1b]0;pwned\x07", "\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\", "\x08\x08\x08",
         "\x9b31m", "\r", "\t", "\x00", "\x7f", "\u202e", "\u2028", "<script>", "|", "`", "*", "@channel", "%0A",
         "::error::", "]]>", "&amp;", "=HYPERLINK(\"http://evil\")", "+1", "-2", "@SUM(A1)"]
OWNER_FIELDS = ("team", "service", "cost_center", "environment", "alias", "user", "tags", "feature", "request_id")


def _doc(i: int, field: str | None = None, value: str = "") -> dict:
    slm = {"service": "triage", "cost_center": "cc-1", "environment": "production", "feature": "f1"}
    meta = {"user_api_key_hash": f"9f86d081884c7d659a2feaa0c55ad0{i % 10}5", "user_api_key_alias": "support-prod",
            "user_api_key_team_id": "support", "user_api_key_user_id": "u-1", "spend_logs_metadata": slm}
    doc = {"id": f"req-{i}", "call_type": "acompletion", "response_cost": 0.001 * (i % 3), "custom_llm_provider": "openai",
           "model": "gpt-4o-mini", "prompt_tokens": 100, "completion_tokens": 20, "status": "success",
           "startTime": 1777888000.0 + i, "cache_hit": False, "request_tags": ["support"], "metadata": meta}
    target = {"team": (meta, "user_api_key_team_id"), "service": (slm, "service"), "cost_center": (slm, "cost_center"),
              "environment": (slm, "environment"), "alias": (meta, "user_api_key_alias"), "feature": (slm, "feature"),
              "user": (meta, "user_api_key_user_id"), "request_id": (doc, "id")}
    if field == "tags":
        doc["request_tags"] = ["support", value]
    elif field is not None:
        obj, key = target[field]
        obj[key] = value
    return doc


def _write(path: Path, docs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return path


def _nasty_docs(values: list[str]) -> list[dict]:
    docs, i = [_doc(0)], 1
    for v in values:
        for f in OWNER_FIELDS:
            docs.append(_doc(i, f, v))
            i += 1
    return docs


def _assert_text_safe(name: str, text: str) -> None:
    m = RAW_CONTROL.search(text)
    assert m is None, f"{name}: raw control character {m.group(0)!r} at {m.start()}: {text[max(0, m.start() - 40):m.start() + 10]!r}"


def _assert_junit_parses(name: str, text: str) -> None:
    JUNIT_XSD.validate(text)  # raises on XML that does not parse or does not fit the schema
    xml = JUnitXml.fromstring(text)
    assert sum(1 for _ in xml) >= 1, name


def _check_all(result, tmp: Path) -> None:
    for fmt in ("text", "markdown", "github"):
        _assert_text_safe(fmt, renderer(fmt)(result))
    _assert_junit_parses("junit", renderer("junit")(result))
    for fmt in ("json", "sarif"):
        text = renderer(fmt)(result)
        json.loads(text)
        _assert_text_safe(fmt, text)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.text(alphabet=st.sampled_from(list("\x00\x07\x08\x09\x0a\x0d\x1b\x7f\x85\x9b\u2028\u202e<>&\"'|`*_[]@%:,=+-") + ["a", "Z", "0", " "]),
                        min_size=1, max_size=12), min_size=1, max_size=3))
def test_control_and_markup_characters_in_owner_fields_never_reach_an_output_raw(tmp_path_factory, values):
    tmp = tmp_path_factory.mktemp("ctl")
    path = _write(tmp / "in.jsonl", _nasty_docs(values))
    _check_all(audit([path]), tmp)


def test_known_escape_sequences_in_every_text_output(tmp_path):
    path = _write(tmp_path / "in.jsonl", _nasty_docs(NASTY))
    result = audit([path])
    _check_all(result, tmp_path)
    runner = CliRunner()
    report = tmp_path / "report.txt"
    res = runner.invoke(main, ["audit", str(path), "-o", str(report), "--exit-zero"])
    assert res.exit_code == 0, res.output
    raw = report.read_bytes().decode("utf-8")
    _assert_text_safe("-o report.txt", raw)
    assert "\\x1b" in raw  # shown, escaped: the analyst sees that a team name holds an escape sequence
    res = runner.invoke(main, ["audit", str(path), "--exit-zero", "-q"])
    _assert_text_safe("stdout", res.output)
    for fmt in ("text", "junit", "github", "markdown", "json", "sarif"):
        res = runner.invoke(main, ["check-schema", str(path), "--format", fmt, "--exit-zero"])
        assert res.exit_code == 0, (fmt, res.output)
        if fmt == "junit":
            _assert_junit_parses("check-schema junit", res.output)
            continue
        if fmt in ("json", "sarif"):
            json.loads(res.output)
        _assert_text_safe(f"check-schema {fmt}", res.output)


def test_check_schema_junit_parses_with_a_control_character_in_a_path_and_a_value(tmp_path):
    odd = tmp_path / "lo\x1bgs\x07"
    odd.mkdir()
    docs = [_doc(1, "team", "a\x1b[31mred\x00"), _doc(2, "request_id", ""), _doc(3, "environment", "\x0b\x0c")]
    path = _write(odd / "in.jsonl", docs)
    res = CliRunner().invoke(main, ["check-schema", str(path), "--format", "junit", "--exit-zero"])
    assert res.exit_code == 0, res.output
    _assert_junit_parses("check-schema junit", res.output)
    res = CliRunner().invoke(main, ["audit", str(path), "--format", "junit", "--exit-zero", "-q"])
    _assert_junit_parses("audit junit", res.output)


def test_escape_controls_is_visible_and_total():
    assert escape_controls("a\x1b[2Jb\nc") == "a\\x1b[2Jb\nc"
    assert escape_controls("\x9b\u202e") == "\\x9b\\u202e"
    assert escape_controls("plain text, émigré ✓") == "plain text, émigré ✓"


def test_csv_export_cells_are_safe_and_parquet_jsonl_keep_the_raw_value(tmp_path):
    formulas = ["=HYPERLINK(\"http://evil\",\"x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR"]
    docs = [_doc(0)] + [_doc(i + 1, f, v) for i, (f, v) in enumerate((f, v) for v in formulas for f in OWNER_FIELDS)]
    path = _write(tmp_path / "in.jsonl", docs)
    runner = CliRunner()
    out = {}
    for ext in ("csv", "jsonl", "parquet"):
        exp = tmp_path / f"f.{ext}"
        res = runner.invoke(main, ["audit", str(path), "--export-findings", str(exp), "--exit-zero", "-q"])
        assert res.exit_code == 0, res.output
        out[ext] = exp
    with open(out["csv"], newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    unsafe = []
    for r in rows:
        for k, v in r.items():
            if v[:1] in ("=", "+", "-", "@", "\t", "\r") and not re.fullmatch(r"-?\d+(\.\d+)?", v):
                unsafe.append((k, v))
    assert not unsafe, unsafe[:5]
    prefixed = {r["team_id"] for r in rows if r["team_id"].startswith("'")}
    assert {"'" + f for f in formulas} <= prefixed
    # the raw value is kept where no spreadsheet formula runs
    jsonl_teams = {json.loads(line)["team_id"] for line in out["jsonl"].read_text(encoding="utf-8").splitlines()}
    parquet_teams = {t for (t,) in duckdb.execute(f"SELECT team_id FROM read_parquet('{out['parquet'].as_posix()}')").fetchall()}
    assert set(formulas) <= jsonl_teams and set(formulas) <= parquet_teams


# One process per run (its own PYTHONHASHSEED): the CLI writes report.txt, the HTML report and the CSV export as a
# user runs it; then the same logs are audited without and with the invoices and every format is rendered, so each
# output of both modes is compared across the 20 runs (issue 18: report.txt, and the JSON report with --invoice).
_RUN = """
import sys
from pathlib import Path
from auditor import audit
from auditor.cli import main
from auditor.reporters import formats, renderer
from auditor.reporters.export import export_findings
out, policy, bills, *paths = sys.argv[1:]
try:
    main(["audit", *paths, "-q", "--exit-zero", "-o", f"{out}/report.txt", "--html", f"{out}/report.html",
          "--export-findings", f"{out}/findings.csv"], standalone_mode=False)
except SystemExit:
    pass
for mode, invoices in (("plain", None), ("invoice", sorted(Path(bills).glob("*.json")))):
    result = audit(paths, policy, invoices=invoices)
    for fmt in sorted(formats()):
        Path(out, f"{mode}.{fmt}").write_text(renderer(fmt)(result), encoding="utf-8")
    export_findings(result, f"{out}/{mode}-findings.csv")
"""


# Each run is a process of its own with its own hash seed, the inputs in one order or the other. The suite runs 4
# (about 14 s each); the 20: AUDIT_LOGS_DETERMINISM_RUNS=20 python -m pytest tests/adversarial/test_outputs.py -k repeated
RUNS = int(os.environ.get("AUDIT_LOGS_DETERMINISM_RUNS", "4"))


def test_repeated_runs_give_byte_identical_outputs(tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    _write(data / "nasty.jsonl", _nasty_docs(NASTY[:6]))
    samples = ROOT / "sample_logs"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    digests: dict[str, set[bytes]] = {}
    for run in range(RUNS):
        outdir = tmp_path / f"run{run}"
        outdir.mkdir()
        order = [str(samples), str(data)] if run % 2 == 0 else [str(data), str(samples)]
        cmd = [sys.executable, "-c", _RUN, str(outdir), str(samples / "policy.toml"), str(ROOT / "sample_invoices"), *order]
        subprocess.run(cmd, check=True, env={**env, "PYTHONHASHSEED": str(run)}, cwd=tmp_path, timeout=300)
        for f in sorted(outdir.iterdir()):
            digests.setdefault(f.name, set()).add(f.read_bytes())
    every = {f"{mode}.{fmt}" for mode in ("plain", "invoice") for fmt in formats()}
    assert {"report.txt", "report.html", "findings.csv", "plain-findings.csv", "invoice-findings.csv"} | every == set(digests)
    invoice_json = next(iter(digests["invoice.json"])).decode()
    assert '"reconciliation": {' in invoice_json and '"causes"' in invoice_json  # the invoices were reconciled
    for name, contents in digests.items():
        assert len(contents) == 1, f"{name}: {len(contents)} different outputs in {RUNS} runs"
