"""First use without surprises (issue 17): what a new user meets in the first hour, end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from auditor.cli import main
from helpers import record, write_jsonl


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def policy_file(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "policy.toml"
    p.write_text(text, encoding="utf-8")
    return p


# -- (a) policy patterns are validated when the policy loads ------------------------------------------------------

@pytest.mark.parametrize("pattern, why", [
    (r"^(?!tmp-)cc-[0-9]{4}$", "negative lookahead"),
    (r"^(?=cc)cc-[0-9]{4}$", "lookahead"),
    (r"(?<=x)cc", "lookbehind"),
    (r"^(cc)-\1$", "backreference"),
    (r"^(?P<a>c)(?P=a)$", "backreference"),
    (r"^cc-[0-9{4}$", "not a valid regular expression: unterminated character set"),
    (r"a{1001}", "above 1000"),
    (r"^(?>cc)-", "atomic group"),
    (r"^c++", "possessive"),
    (r"\w{1000}", "too large for RE2"),
    (r"^[[:alpha:]]+$", "POSIX character class"),
])
def test_unrunnable_pattern_is_a_policy_error_naming_file_key_and_why(tmp_path, pattern, why):
    pol = policy_file(tmp_path, f"[fields.cost_center]\npattern = {json.dumps(pattern)}\n")
    logs = write_jsonl(tmp_path / "a.jsonl", [record()])
    r = run(logs, "--policy", pol, "-q")
    assert r.exit_code == 2, r.output
    err = r.stderr
    assert f"{pol}: fields.cost_center.pattern" in err and why in err, err
    assert "internal error" not in err and "Traceback" not in err


@pytest.mark.parametrize("pattern", [r"^cc-\d{4}\Z", r"^\u0063c-[0-9]{4}$", r"(?i)^CC-[0-9]{4}$", r"^(?P<p>cc)-\d+$"])
def test_supported_pattern_gives_the_jsonschema_verdict(tmp_path, pattern):
    values = ["cc-4210", "cc-42100", "CC-4210", "xcc-4210", "cc-4210\n", "cc-٤٢١٠"]
    logs = write_jsonl(tmp_path / "a.jsonl", [record(request_id=f"r{i}", cost_center=v) for i, v in enumerate(values)])
    pol = policy_file(tmp_path, f"[fields.cost_center]\npattern = {json.dumps(pattern)}\n")
    r = run(logs, "--policy", pol, "--format", "json", "-q", "--select", "CON002")
    assert r.exit_code in (0, 1), r.output
    doc = json.loads(r.stdout)
    flagged = sum(f["count"] for f in doc["findings"] if f["code"] == "CON002")
    expected = sum(1 for v in values if not jsonschema.Draft202012Validator({"pattern": pattern}).is_valid(v))
    assert flagged == expected
    assert 0 < expected < len(values)  # the case tells both verdicts apart


# -- (b) unusable input is exit 2, with what was read; skipped files are named ----------------------------------

REPO = Path(__file__).resolve().parent.parent


def _binary(p: Path) -> Path:
    p.write_bytes(bytes(range(256)) * 8)
    return p


@pytest.mark.parametrize("name, make, said", [
    ("blob.jsonl", _binary, "1 record read"),
    ("data.csv", lambda p: p.write_text("a,b,c\n1,2,3\n4,5,6\n"), "2 records read"),
    ("conf.yaml", lambda p: p.write_text("team: x\nmodel: gpt-4o\n"), "2 records read"),
    ("unknown.jsonl", lambda p: p.write_text('{"a": 1}\n{"b": 2}\n{"c": 3}\n'), "3 records read"),
])
def test_nothing_readable_is_exit_2_saying_what_was_read(tmp_path, name, make, said):
    make(tmp_path / name)
    for fmt in ("text", "json"):
        r = run(tmp_path / name, "--format", fmt)
        assert r.exit_code == 2, r.output
        assert r.stdout == ""  # no report that could read as "100% attributable"
        assert "nothing to audit" in r.stderr and said in r.stderr and name in r.stderr, r.stderr
        assert "100" not in r.stderr


def test_context_spans_only_is_exit_2_naming_what_an_llm_record_is(tmp_path):
    rows = [json.loads(line) for line in (REPO / "sample_logs/langfuse_observations.jsonl").read_text().splitlines()]
    agents = [row for row in rows if row.get("type") != "GENERATION"]
    assert agents and len(agents) < len(rows)
    p = write_jsonl(tmp_path / "spans.jsonl", agents)
    r = run(p, "--input-format", "langfuse")
    assert r.exit_code == 2
    assert f"{len(agents)} records read, none is an LLM request" in r.stderr
    assert "none an LLM call (no GENERATION or EMBEDDING observation)" in r.stderr
    # the same file with its LLM records is audited
    assert run(write_jsonl(tmp_path / "all.jsonl", rows), "--input-format", "langfuse", "-q").exit_code in (0, 1)


def test_python_api_raises_input_error_for_no_llm_record(tmp_path):
    from auditor import audit
    from auditor.loaders import InputError

    with pytest.raises(InputError, match="none is an LLM request"):
        audit(_binary(tmp_path / "x.jsonl"))


def test_directory_walk_reports_skipped_files_with_why(tmp_path):
    d = tmp_path / "logs"
    d.mkdir()
    write_jsonl(d / "a.jsonl", [record()])
    for n in ("notes.txt", "README.md", "pyproject.toml", "ci.yaml", ".hidden.jsonl"):
        (d / n).write_text("x\n")
    r = run(d, "-q")
    assert r.exit_code in (0, 1)
    for n in ("notes.txt", "README.md", "pyproject.toml", "ci.yaml"):
        line = next(x for x in r.stdout.splitlines() if n in x)
        assert "skipped:" in line and Path(n).suffix in line and "not gateway logs" in line
    assert "hidden file" in next(x for x in r.stdout.splitlines() if ".hidden.jsonl" in x)
    doc = json.loads(run(d, "-q", "--format", "json").stdout)
    assert sorted(Path(s["path"]).name for s in doc["skipped"]) == [".hidden.jsonl", "README.md", "ci.yaml", "notes.txt", "pyproject.toml"]
    assert doc["summary"]["read"] == 1


# -- (c) outputs are checked before the audit ----------------------------------------------------------------------

@pytest.mark.parametrize("args, said", [
    (["--export-findings", "x.xlsx"], "unknown format '.xlsx'"),
    (["--export-findings", "x"], "(no extension)"),
    (["--html", "/nonexistent/dir/r.html"], "no such directory /nonexistent/dir"),
    (["-o", "/nonexistent/dir/r.json", "--format", "json"], "no such directory"),
    (["-o", "."], "is a directory"),
    (["--export-findings", "/proc/x.csv"], "cannot write there"),  # os.access says yes for root; creating says no
    (["--invoice", "big.jsonl"], "big.jsonl"),  # not an invoice: read before the audit
    (["--baseline", "nosuch.json"], "no such baseline file"),
    (["--baseline", "/nonexistent/b.json", "--update-baseline"], "no such directory"),
])
def test_bad_output_fails_before_the_audit(tmp_path, monkeypatch, args, said):
    from auditor import api

    monkeypatch.chdir(tmp_path)
    logs = write_jsonl(tmp_path / "big.jsonl", [record(request_id=f"r{i}") for i in range(200)])
    loads = []
    real = api.load
    monkeypatch.setattr(api, "load", lambda *a, **k: loads.append(a) or real(*a, **k))
    r = run(logs, *args)
    assert r.exit_code == 2 and said in r.stderr, r.output
    assert loads == []  # the logs were not even read: the audit did not run first
    assert run(logs, "-q", "-o", "ok.txt").exit_code in (0, 1)
    assert len(loads) == 1  # ... as a good run does
    assert not Path("x.xlsx").exists()


# -- (d) thresholds are range-checked; the gate's reason keeps the figures -----------------------------------------

@pytest.mark.parametrize("args", [
    ["--min-attributable-pct", "150"], ["--min-attributable-pct", "-1"], ["--max-unattributed-cost", "-5"],
    ["--max-variance-pct", "-0.5"], ["--max-variance-pct", "nan"], ["--max-unattributed-cost", "inf"],
])
def test_threshold_out_of_range_is_a_usage_error(tmp_path, args):
    r = run(write_jsonl(tmp_path / "a.jsonl", [record()]), *args)
    assert r.exit_code == 2 and args[0] in r.output and ("range" in r.output or "finite" in r.output)


@pytest.mark.parametrize("table", ["[gate]\nmax_variance_pct = nan", "[thresholds]\nvariance_pct = nan",
                                   "[gate]\nmin_attributable_pct = 150"])
def test_policy_limits_nan_or_out_of_range_are_a_policy_error(tmp_path, table):
    """nan passes every schema bound and turned the gate off silently."""
    logs = write_jsonl(tmp_path / "a.jsonl", [record()])
    r = run(logs, "--policy", policy_file(tmp_path, table))
    assert r.exit_code == 2 and ("nan" in r.output or "150" in r.output), r.output


def test_python_api_gate_limits_are_checked_before_the_audit(tmp_path):
    from auditor import audit
    from auditor.policy import PolicyError

    logs = write_jsonl(tmp_path / "a.jsonl", [record()])
    for gate in ({"min_attributable_pct": 150}, {"max_variance_pct": float("nan")}, {"fail_on": "sometimes"}):
        with pytest.raises(PolicyError, match="gate"):
            audit([logs], gate=gate)


def test_gate_reason_never_rounds_the_figures_away(tmp_path):
    from decimal import Decimal

    rows = [record(request_id="a", cost=1.0), record(request_id="b", team_id=None, cost=0.0026385)]
    logs = write_jsonl(tmp_path / "a.jsonl", rows)
    r = run(logs, "--fail-on", "never", "--max-unattributed-cost", "0", "-q")
    assert r.exit_code == 1
    assert "unattributed cost $0.00264 is above the maximum $0.00" in r.stdout  # three significant digits, not "$0.00"
    # when both would read the same at two decimals, both are given exactly
    rows = [record(request_id="a", cost=5.0), record(request_id="b", team_id=None, cost=1.004)]
    r = run(write_jsonl(tmp_path / "b.jsonl", rows), "--fail-on", "never", "--max-unattributed-cost", "1", "-q")
    assert "unattributed cost $1.004 is above the maximum $1" in r.stdout
    pct = Decimal(json.loads(run(tmp_path / "b.jsonl", "--format", "json", "-q").stdout)["summary"]["attributable_pct"].__str__())
    limit = pct + Decimal("0.0034")  # reads the same as pct at two decimals
    doc = json.loads(run(tmp_path / "b.jsonl", "--fail-on", "never", "--min-attributable-pct", str(limit),
                         "--format", "json", "-q").stdout)
    assert doc["gate"]["reasons"] == [f"attributable spend {pct.normalize()}% is below the minimum {limit}%"]


def test_requests_with_no_cost_are_never_100_percent_or_a_pass(tmp_path):
    logs = write_jsonl(tmp_path / "a.jsonl", [record(request_id=f"r{i}", cost=0) for i in range(3)])
    r = run(logs, "--fail-on", "never", "-q")
    assert r.exit_code == 1
    assert "100.0%" not in r.stdout and "(n/a)" in r.stdout
    assert "carry no cost" in r.stdout
    doc = json.loads(run(logs, "--fail-on", "never", "-q", "--format", "json").stdout)
    assert doc["summary"]["attributable_pct"] == 0 and all(t["attributable_pct"] == 0 for t in doc["teams"])
    # the tier reasons say why there is no share, not that a 0.0% share is below the threshold
    reasons = doc["verdict"]["reasons"] + [r for t in doc["teams"] for r in t["tier_reasons"]]
    assert reasons and not any("0.0%" in r for r in reasons), reasons
    assert any("n/a" in r for r in doc["verdict"]["reasons"]) and all(any("n/a" in r for r in t["tier_reasons"]) for t in doc["teams"])
    html = run(logs, "--fail-on", "never", "-q", "--html", tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert html.exit_code == 1 and "100.0%" not in page


# -- (e) selection, forced formats, the Python API ------------------------------------------------------------------

def test_select_and_ignore_the_same_rule_is_an_error(tmp_path):
    logs = write_jsonl(tmp_path / "a.jsonl", [record()])
    r = run(logs, "--select", "OWN001", "--ignore", "missing-owner")
    assert r.exit_code == 2 and "leaves no rule to run" in r.stderr
    assert run(logs, "--select", "OWN001", "--ignore", "PRC", "-q").exit_code == 0


def test_spendlogs_csv_forced_with_input_format(tmp_path):
    p = REPO / "sample_logs/litellm_spendlogs.csv"
    r = run(p, "--input-format", "litellm-spendlogs", "--format", "json", "-q")
    assert r.exit_code in (0, 1), r.output
    doc = json.loads(r.stdout)
    import csv

    rows = list(csv.DictReader(p.open(encoding="utf-8")))
    assert doc["inputs"][0]["format"] == "litellm-spendlogs" and doc["summary"]["rejected"] == 0
    assert doc["summary"]["read"] == len(rows)
    assert "malformed JSON" not in r.stdout


def test_api_takes_one_path_and_gives_money_as_decimal(tmp_path):
    from decimal import Decimal

    from auditor import audit

    p = write_jsonl(tmp_path / "file.jsonl", [record(request_id="a", cost=0.5), record(request_id="b", cost=0.25)])
    for arg in (str(p), p):
        result = audit(arg)
        s = result.summary()
        assert s["read"] == 2 and [i.path for i in result.inputs] == [str(p)]
        assert isinstance(s["total_cost"], Decimal) and s["total_cost"] == Decimal("0.75")
        assert all(isinstance(s[k], Decimal) for k in ("attributable_cost", "unattributed_cost"))
        assert all(isinstance(f.cost, Decimal) for f in result.findings)
        assert result.to_dict()["summary"]["total_cost"] == "0.75"


# -- (f) conventions users expect ----------------------------------------------------------------------------------

@pytest.mark.parametrize("typo, command", [("rule", "rules"), ("explian", "explain"), ("check_schema", "check-schema"),
                                           ("Rules", "rules"), ("chek-schema", "check-schema"), ("auidt", "audit")])
def test_mistyped_subcommand_suggests_the_command(tmp_path, monkeypatch, typo, command):
    monkeypatch.chdir(tmp_path)
    r = run(typo)
    assert r.exit_code == 2 and f"did you mean `audit-logs {command}`" in r.output
    # a file of that name is a path, not a typo
    write_jsonl(tmp_path / typo, [record()])
    r = run(typo, "-q")
    assert r.exit_code in (0, 1) and "did you mean" not in r.output


def test_no_arguments_says_audit_is_the_default():
    r = run()
    assert r.exit_code == 2
    assert "`audit` is the default command" in r.output and "Commands:" in r.output


def test_format_help_lists_every_format():
    from auditor.reporters import formats

    text = re.sub(r"\s+", " ", run("audit", "--help").output)
    listed = re.search(r"Output format: ([^()]*) \(see docs/ci.md\)", text).group(1)
    names = set(re.findall(r"[a-z]+", listed.replace("or a CI format", "")))
    assert names == set(formats()), (names, set(formats()))


def test_rules_as_json():
    from auditor.rules import REGISTRY

    r = run("rules", "--format", "json")
    assert r.exit_code == 0
    doc = json.loads(r.output)
    assert [x["code"] for x in doc] == sorted(REGISTRY)
    by = {x["code"]: x for x in doc}
    for code, rule in REGISTRY.items():
        assert by[code]["name"] == rule.name and by[code]["severity"] == rule.severity and by[code]["doc"] == rule.doc
    text = run("rules").output.splitlines()
    assert len(text) == len(doc)


def test_reads_standard_input(tmp_path):
    rows = [record(request_id="a", cost=0.5), record(request_id="b", team_id=None, cost=0.25)]
    data = "".join(json.dumps(x) + "\n" for x in rows) + "{broken\n"
    r = run("-", "--format", "json", "-q", input=data)
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    assert doc["inputs"][0]["path"] == "-" and doc["summary"]["read"] == 3 and doc["summary"]["total_cost"] == "0.75"
    assert doc["rejects"] == [{"source_file": "-", "line": 3, "reason": doc["rejects"][0]["reason"]}]
    r = run("-", "--export-findings", tmp_path / "f.jsonl", "-q", input=data)
    exported = [json.loads(x) for x in (tmp_path / "f.jsonl").read_text().splitlines()]
    assert exported and {x["source_file"] for x in exported} == {"-"}


def test_policy_found_in_a_parent_directory_and_named(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    (tmp_path / "audit-logs.toml").write_text('[fields.cost_center]\npattern = "^zz-[0-9]{4}$"\n')
    sub = tmp_path / "logs" / "may"
    sub.mkdir(parents=True)
    write_jsonl(sub / "a.jsonl", [record()])
    monkeypatch.chdir(sub)
    r = run("a.jsonl", "-q")
    assert "Policy  ../../audit-logs.toml" in r.stdout
    assert "CON002" in r.stdout  # the parent's pattern applied: cc-4210 is not zz-NNNN
    doc = json.loads(run("a.jsonl", "-q", "--format", "json").stdout)
    assert doc["policy"]["source"] == "../../audit-logs.toml"
    # the search stops at the repository root: a policy above it does not apply
    (tmp_path / ".git").rmdir()
    (sub / ".git").mkdir()
    r = run("a.jsonl", "-q")
    assert "Policy  (default policy)" in r.stdout and "CON002" not in r.stdout


def test_baseline_marks_findings_new_grown_and_baselined(tmp_path):
    one = write_jsonl(tmp_path / "one.jsonl", [record(request_id="a", team_id=None), record(request_id="b", pricing_source=None)])
    bl = tmp_path / "bl.json"
    assert run(one, "-q", "--baseline", bl, "--update-baseline").exit_code == 0
    two = write_jsonl(tmp_path / "two.jsonl", [record(request_id="a", team_id=None), record(request_id="b", pricing_source=None),
                                               record(request_id="c", team_id=None), record(request_id="d", status="ok")])
    r = run(two, "-q", "--baseline", bl)
    assert r.exit_code == 1
    marks = {line.split()[0]: line.split()[-1] for line in r.stdout.splitlines() if re.match(r"\s+[A-Z]{3}\d{3}\s+\S+\s+(error|warning|info)\s", line)}
    assert marks["OWN001"] == "grown" and marks["CON001"] == "baselined" and marks["CON002"] == "new"
    r = run(write_jsonl(tmp_path / "three.jsonl", [record(request_id="a", team_id=None)]), "-q", "--baseline", bl)
    assert r.exit_code == 0 and "fixed since the baseline: CON001 missing-field" in r.stdout


# -- (g) progress: bytes, phases, 100% -----------------------------------------------------------------------------

def test_progress_percentage_follows_bytes_and_ends_at_100():
    import io

    from auditor.progress import Progress

    class TTY(io.StringIO):
        def isatty(self):
            return True

    t = [0.0]
    p = Progress(TTY(), clock=lambda: t[0])
    p.set_total(4000)
    t[0] = 1.0
    p.add_bytes(1000)
    p(10)  # records alone do not move the percentage: 10 records of 1,000 bytes are 25%
    assert "25% of 3.9 KB" in p.line() and "ETA 0:03" in p.line()
    p.add_bytes(-50)  # never backwards
    p.file_done(500)
    assert "25%" in p.line()
    p.phase("checking rules", 3)
    p.step("OWN001 missing-owner")
    assert "checking rules 1 of 3 (OWN001 missing-owner)" in p.line() and p.done_bytes == 4000
    p.finish()
    out = p.stream.getvalue()
    assert out.rstrip().endswith("audit-logs: done, 100%: 10 records read in 0:01") and out.endswith("\n")


def test_cli_progress_shows_each_phase_and_ends_at_100(tmp_path):
    import os
    import pty
    import subprocess
    import sys

    path = write_jsonl(tmp_path / "a.jsonl", [record(request_id=f"r{i}") for i in range(300)])
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "auditor.cli", str(path), "-o", str(tmp_path / "out.txt"), "--exit-zero"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait() == 0
    shown = b"".join(chunks).decode("utf-8", "replace")
    frames = [f.strip() for f in re.split(r"[\r\n]", shown) if f.strip()]
    for phase in ("checking rules", "scoring teams", "writing reports"):
        assert any(phase in f for f in frames), (phase, frames)
    assert any(f.startswith("audit-logs: done, 100%: 300 records read") for f in frames), frames
    pcts = [int(m) for f in frames for m in re.findall(r"(\d+)% of", f)]
    assert pcts == sorted(pcts)


# -- issue 18: one absurd value is a finding, not an internal error ------------------------------------------------

def test_price_snapshot_of_1e16_per_token_does_not_stop_the_audit(tmp_path):
    lines = (REPO / "sample_logs/litellm_payload.jsonl").read_text().splitlines()[:20]
    rows = [json.loads(x) for x in lines]
    rows[0]["model_map_information"]["model_map_value"]["input_cost_per_token"] = 1e16
    rows[0]["model_map_information"]["model_map_value"]["output_cost_per_token"] = 1e16
    p = write_jsonl(tmp_path / "p.jsonl", rows)
    for fmt in ("text", "json"):
        r = run(p, "--format", fmt, "-q", "--html", tmp_path / "r.html")
        assert r.exit_code in (0, 1), r.output
        assert "internal error" not in r.output
    doc = json.loads(run(p, "--format", "json", "-q").stdout)
    assert doc["summary"]["read"] == 20 and doc["summary"]["rejected"] == 0


def test_fmt_price_formats_any_finite_price():
    from decimal import Decimal

    from auditor.pricing.prices import fmt_price

    assert fmt_price(Decimal("1e22")) == "$" + "1" + "0" * 22
    assert fmt_price(Decimal("0.15")) == "$0.15" and fmt_price(Decimal("0.075")) == "$0.075"
    assert fmt_price(Decimal("NaN")) == "n/a"


# -- (h) one money rule --------------------------------------------------------------------------------------------

def test_one_money_rule():
    from decimal import Decimal

    from hypothesis import given, strategies as st

    from auditor.fmt import usd

    assert usd("1240") == "$1,240.00" and usd("1.005") == "$1.01" and usd("0.24") == "$0.24"
    assert usd("0.0026385") == "$0.00264" and usd("0.000027") == "$0.000027" and usd("0") == "$0.00"
    assert usd("-0.0026385") == "-$0.00264" and usd("0.9996") == "$1.00"

    @given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), allow_nan=False, places=12))
    def prop(d):
        text = usd(d)
        if d != 0:
            assert text not in ("$0.00", "-$0.00")
        value = Decimal(text.replace("$", "").replace(",", ""))
        if abs(d) >= 1:
            assert text.split(".")[1].__len__() == 2 and abs(value - d) <= Decimal("0.005")
        elif d != 0:
            assert abs(value - d) <= abs(d) * Decimal("0.005")  # three significant digits

    prop()


def test_forced_format_that_finds_none_of_its_fields_says_so():
    r = run(REPO / "sample_logs/helicone_requests.csv", "--input-format", "litellm-spendlogs", "-q")
    assert r.exit_code == 2
    assert "--input-format litellm-spendlogs finds none of its fields" in r.stderr
    assert "detection reads it as helicone" in r.stderr and "malformed JSON" not in r.stderr
    assert run(REPO / "sample_logs/helicone_requests.csv", "--input-format", "helicone", "-q").exit_code in (0, 1)


def test_text_report_shows_the_missing_cost_estimate(tmp_path):
    from decimal import Decimal

    from auditor.fmt import usd

    logs = write_jsonl(tmp_path / "m.jsonl", [record(request_id="m1", cost=None), record(request_id="ok", cost=1.5)])
    doc = json.loads(run(logs, "-q", "--format", "json").stdout)
    est = Decimal(next(f for f in doc["findings"] if f["code"] == "PRC001")["details"]["estimated_missing_cost"])
    assert est > 0
    row = next(x for x in run(logs, "-q").stdout.splitlines() if x.strip().startswith("PRC001  "))
    assert row.rstrip().endswith(f"est. {usd(est)}")


# -- issue 17: one record is "1 request", in every output ------------------------------------------------------------

def test_one_flagged_record_is_one_request_not_1_requests(tmp_path):
    from auditor import audit
    from auditor.reporters import renderer

    recs = [record(request_id="a", team_id=None), record(request_id="b", cost=0),
            *[record(request_id=f"r{i}", team_id=None, cost=0) for i in range(3)]]
    one = audit([write_jsonl(tmp_path / "one.jsonl", recs[:2])])
    msgs = {f.name: f.message for f in one.findings}
    assert msgs["missing-owner"].startswith("1 request (") and " carries no complete owner" in msgs["missing-owner"]
    assert msgs["missing-cost"].startswith("1 request carries no cost")
    from auditor.reporters import check_schema

    for fmt in ("text", "html", "markdown", "junit", "github", "check-schema"):
        out = check_schema.render(one) if fmt == "check-schema" else renderer(fmt)(one)
        assert not re.search(r"(?<![\d,])1 (requests|records)\b", out), (fmt, re.findall(r".{40}(?<![\d,])1 (?:requests|records).{20}", out))
    many = audit([write_jsonl(tmp_path / "many.jsonl", recs[2:])])
    assert {f.name: f.message for f in many.findings}["missing-owner"].startswith("3 requests (")


def test_ci_run_puts_the_venv_first_on_path_before_the_tests(tmp_path):
    """.ci/run on a machine where nothing of the project is installed: the tests it starts find `audit-logs` in
    the venv it made (a fresh clone failed when the command was only on PATH from an earlier install). Run with
    stand-ins for python3, pip and Chromium, so only the script's own steps are under test."""
    import os
    import shutil
    import stat
    import subprocess

    clone = tmp_path / "clone"
    (clone / ".ci").mkdir(parents=True)
    shutil.copy(REPO / ".ci" / "run", clone / ".ci" / "run")
    bin_ = tmp_path / "bin"
    bin_.mkdir()

    def script(path, body):
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)

    # python3 -m venv DIR: a venv whose python reports, when asked to run pytest, which audit-logs the tests would get.
    fake_python = ('if [ "$1 $2" = "-m pytest" ]; then command -v audit-logs; exit 0; fi\nexit 0\n')
    script(bin_ / "python3", f'''if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin"
cat > "$3/bin/python" <<'X'
#!/bin/sh
{fake_python}X
printf '#!/bin/sh\\n' > "$3/bin/audit-logs"; chmod +x "$3/bin/python" "$3/bin/audit-logs"; fi
''')
    for tool in ("chromium", "chromedriver"):
        script(bin_ / tool, "exit 0\n")
    script(bin_ / "audit-logs", "exit 0\n")  # an earlier install elsewhere: the venv's must come first
    env = {"PATH": f"{bin_}:/usr/bin:/bin", "HOME": str(tmp_path)}
    run = subprocess.run(["bash", str(clone / ".ci" / "run")], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(clone / ".venv-ci" / "bin" / "audit-logs")
