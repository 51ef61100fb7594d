"""The command line as a CI user meets it: --help, every --format, -o, and `check-schema`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from ci_samples import bad, good
from helpers import record, write_jsonl


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def logs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good(Path("good.jsonl"), cost=0.00027)
    bad(Path("bad.jsonl"))
    return tmp_path


def test_help_documents_exit_codes_and_commands():
    r = run("--help")
    assert r.exit_code == 0
    text = re.sub(r"\s+", " ", r.output)
    assert "Exit codes" in r.output
    assert "0 the logs pass the gate" in text and "1 they fail it" in text and "2 usage error" in text
    assert "check-schema" in r.output
    r = run("audit", "--help")
    for opt in ("--fail-on", "--min-attributable-pct", "--max-unattributed-cost", "--max-variance-pct",
                "--exit-zero", "--baseline", "--update-baseline", "sarif, junit, github, markdown"):
        assert opt in re.sub(r"\s+", " ", r.output), opt


def test_installed_console_script_exit_codes(logs):
    """The real entry point, as CI runs it (not only click's test runner)."""
    exe = [sys.executable, "-m", "auditor.cli"]
    assert subprocess.run([*exe, "check-schema", "good.jsonl"], capture_output=True).returncode == 0
    assert subprocess.run([*exe, "check-schema", "bad.jsonl"], capture_output=True).returncode == 1
    p = subprocess.run([*exe, "check-schema", "nothing-here.jsonl"], capture_output=True, text=True)
    assert p.returncode == 2 and "no such file" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "github", "markdown"])
def test_every_format_keeps_the_gate_exit_code(logs, fmt):
    assert run("good.jsonl", "bad.jsonl", "--format", fmt).exit_code == 1
    assert run("good.jsonl", "bad.jsonl", "--format", fmt, "--exit-zero").exit_code == 0
    r = run("good.jsonl", "bad.jsonl", "--format", fmt, "-o", f"out.{fmt}")
    assert r.exit_code == 1 and r.stdout == "" and Path(f"out.{fmt}").stat().st_size > 0


def test_check_schema_text_shows_files_fields_and_first_offenders(logs):
    r = run("check-schema", "good.jsonl", "bad.jsonl")
    assert r.exit_code == 1
    out = r.stdout
    assert "PASS  good.jsonl" in out and "FAIL  bad.jsonl" in out
    assert "OWN001 missing-owner [error]: 1 record: team_id: null (1)" in out
    assert "bad.jsonl:2  b2  no team_id" in out
    assert "CON001 missing-field [error]: 1 record: pricing_source: null (1)" in out
    assert "bad.jsonl:3  b3  missing pricing_source" in out
    assert "bad.jsonl:4  b4  status: enum" in out
    assert "bad.jsonl:5  malformed JSON" in out
    assert "2 files checked" in out and "1 passed, 1 failed" in out
    assert "\nPolicy  (default policy)\n" in r.output  # named as the audit's text report names it
    assert run("check-schema", "good.jsonl").exit_code == 0
    assert run("check-schema", "bad.jsonl", "--exit-zero").exit_code == 0
    assert run("check-schema", "bad.jsonl", "--fail-on", "never").exit_code == 0


def test_check_schema_runs_only_the_contract_rules(logs):
    r = run("check-schema", "good.jsonl", "bad.jsonl", "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["rules"] and all(re.match(r"^(CON\d+|OWN001|INT002)$", c) for c in doc["rules"])
    assert {"CON001", "CON002", "OWN001", "INT002"} <= set(doc["rules"])
    assert {f["code"] for f in doc["findings"]} == {"CON001", "CON002", "OWN001", "INT002"}  # no PRC/KEY findings
    assert doc["verdict"] == {} and "scoring" not in doc["sections"]  # no scoring either
    files = {f["path"]: f for f in doc["sections"]["check_schema"]["files"]}
    assert files["good.jsonl"]["passed"] and not files["bad.jsonl"]["passed"]
    own = next(x for x in files["bad.jsonl"]["failures"] if x["code"] == "OWN001")
    assert own["fields"] == {"team_id: null": 1} and own["first"][0]["line"] == 2


def test_check_schema_uses_the_policy_fields(logs):
    write_jsonl(Path("cc.jsonl"), [record(request_id="c1", cost_center="CC 4210"), record(request_id="c2")])
    assert run("check-schema", "cc.jsonl").exit_code == 0
    Path("p.toml").write_text('[fields.cost_center]\npattern = "^cc-[0-9]{4}$"\n', encoding="utf-8")
    r = run("check-schema", "cc.jsonl", "--policy", "p.toml")
    assert r.exit_code == 1 and "cost_center: pattern (1)" in r.stdout and "cc.jsonl:1  c1" in r.stdout


def test_check_schema_ignores_audit_thresholds(logs):
    """check-schema is the contract only: the policy's attributable-spend thresholds do not apply."""
    Path("p.toml").write_text("[gate]\nmin_attributable_pct = 100\n", encoding="utf-8")
    write_jsonl(Path("x.jsonl"), [record(request_id="x1")])
    assert run("check-schema", "x.jsonl", "--policy", "p.toml").exit_code == 0


def test_check_schema_formats_and_errors(logs):
    for fmt in ("json", "sarif", "junit", "github", "markdown"):
        r = run("check-schema", "bad.jsonl", "--format", fmt)
        assert r.exit_code == 1 and r.stdout, fmt
    assert run("check-schema", "bad.jsonl", "--format", "html").exit_code == 2
    assert run("check-schema").exit_code == 2
    r = run("check-schema", "missing.jsonl")
    assert r.exit_code == 2 and "missing.jsonl" in r.stderr


def test_check_schema_baseline(logs):
    assert run("check-schema", "bad.jsonl", "--baseline", "cs.json", "--update-baseline", "-q").exit_code == 0
    assert run("check-schema", "bad.jsonl", "--baseline", "cs.json").exit_code == 0
    r = run("check-schema", "bad.jsonl", "--baseline", "cs.json")
    assert re.search(r"[\d,]+ known findings? (does|do) not fail the check", r.stdout)


def test_text_total_says_how_much_is_duplicate_copies(tmp_path):
    from decimal import Decimal

    from auditor import audit
    from auditor.reporters import renderer
    from helpers import record, write_jsonl

    recs = [record(request_id=f"r{i}", cost=0.25) for i in range(3)]
    clean = renderer("text")(audit([write_jsonl(tmp_path / "clean.jsonl", recs)]))
    assert "copies not counted" not in clean
    result = audit([write_jsonl(tmp_path / "dup.jsonl", recs + [recs[0]])])
    dup = next(f for f in result.findings if f.name == "duplicate-request")
    assert dup.cost == Decimal("0.25")
    text = renderer("text")(result)
    # Every money figure counts each request once; the copy is on a line of its own, with the naive sum.
    assert "Total cost           $0.75  each request counted once" in text
    assert "  copies not counted $0.25  (1 record repeating a request already counted, duplicate-request; $1.00 as logged)" in text
    s = result.summary()
    assert (s["total_cost"], s["copies"], s["copies_cost"], s["logged_cost"]) == (Decimal("0.75"), 1, Decimal("0.25"), Decimal("1.00"))
    assert s["attributable_cost"] + s["unattributed_cost"] == s["total_cost"]
    assert [t.cost for t in result.attribution.teams] == [Decimal("0.75")]


def test_machine_formats_say_pass_or_fail_on_stderr(tmp_path):
    import subprocess
    import sys

    sample = Path(__file__).resolve().parent.parent / "sample_logs" / "litellm_payload.jsonl"
    args = [sys.executable, "-m", "auditor.cli", str(sample), "--format", "json"]
    p = subprocess.run(args, capture_output=True, text=True)
    assert p.returncode == 1 and json.loads(p.stdout)["gate"]["passed"] is False
    assert p.stderr.startswith("audit-logs: FAIL: ") and "findings at severity error" in p.stderr
    quiet = subprocess.run([*args, "-q"], capture_output=True, text=True)
    assert quiet.returncode == 1 and quiet.stderr == ""


def test_input_format_help_names_every_preset():
    """A user reads the format names off --help: each preset must be there (langfuse-api and litellm-kwargs were not)."""
    from auditor.loaders.detect import presets

    shown = " ".join(run("audit", "--help").output.split())
    assert all(name in shown for name in presets()), sorted(n for n in presets() if n not in shown)


def test_python_dash_m_auditor_runs_the_cli():
    r = subprocess.run([sys.executable, "-m", "auditor", "--version"], capture_output=True, text=True,
                       cwd=Path(__file__).resolve().parent.parent)
    assert r.returncode == 0 and "audit-logs" in r.stdout, r.stderr
