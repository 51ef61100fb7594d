"""The gate: --fail-on, thresholds, the same keys in the policy's [gate] table, --exit-zero, exit codes
0 / 1 / 2, and the baseline (fail only on new or growing findings)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.api import audit
from auditor.baseline import BaselineError, render as render_baseline
from auditor.cli import main
from auditor.findings import Finding
from auditor.gate import evaluate, gate_settings
from auditor.policy import from_dict
from helpers import record, write_jsonl


def run(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    return r


@pytest.fixture
def logs(tmp_path, monkeypatch):
    """3 owned records of $1 and one without a team of $1: 75% attributable, $1 unattributed.
    Prices match gpt-4o-mini so only the contract rules have something to say."""
    monkeypatch.chdir(tmp_path)
    write_jsonl(Path("logs.jsonl"), [record(request_id="a1"), record(request_id="a2"), record(request_id="a3"),
                                     record(request_id="a4", team_id=None)])
    write_jsonl(Path("priced.jsonl"), [record(request_id=f"p{i}", cost=1.0, pricing_source=None) for i in range(3)]
                + [record(request_id="p9", cost=1.0, team_id=None)])
    return tmp_path


# ---------------------------------------------------------------- fail-on

def test_fail_on_severity(logs):
    policy = {"rules": {"missing-field": {"severity": "warning"}}}
    Path("warn.toml").write_text('[rules.missing-field]\nseverity = "warning"\n', encoding="utf-8")
    args = ["priced.jsonl", "--select", "CON001", "--policy", "warn.toml", "-q"]
    assert run(*args).exit_code == 0                          # default: fail on error only
    assert run(*args, "--fail-on", "warning").exit_code == 1
    assert run(*args, "--fail-on", "info").exit_code == 1
    assert run(*args, "--fail-on", "never").exit_code == 0
    res = audit(["priced.jsonl"], from_dict(policy), select=["CON001"], gate={"fail_on": "warning"})
    assert not res.gate.passed and res.gate.failing == ["CON001"]
    assert "1 finding at severity warning or above: CON001 missing-field" in res.gate.reasons[0]


def test_findings_fail_by_default_and_exit_zero(logs):
    assert run("logs.jsonl", "--select", "OWN001").exit_code == 1
    assert run("logs.jsonl", "--select", "OWN001", "--exit-zero").exit_code == 0


# ---------------------------------------------------------------- thresholds

def test_min_attributable_pct(logs):
    res = audit(["logs.jsonl"], select=["OWN001"], gate={"fail_on": "never"})
    assert res.attribution.attributable_pct == 75.0
    base = ["logs.jsonl", "--select", "OWN001", "--fail-on", "never"]
    assert run(*base, "--min-attributable-pct", "75").exit_code == 0     # at the minimum passes
    assert run(*base, "--min-attributable-pct", "75.01").exit_code == 1
    r = run(*base, "--min-attributable-pct", "90")
    assert r.exit_code == 1 and "attributable spend 75.00% is below the minimum 90%" in r.stdout


def test_max_unattributed_cost(logs):
    base = ["logs.jsonl", "--select", "OWN001", "--fail-on", "never"]
    unattributed = audit(["logs.jsonl"], select=["OWN001"]).attribution.unattributed_cost
    assert unattributed == Decimal("0.00027")
    assert run(*base, "--max-unattributed-cost", "0.00027").exit_code == 0
    r = run(*base, "--max-unattributed-cost", "0.00026")
    assert r.exit_code == 1 and "unattributed cost" in r.stdout


def test_max_variance_pct_needs_a_variance():
    settings = gate_settings({}, {"fail_on": "never", "max_variance_pct": 2.0})
    common = dict(attributable_pct=100.0, unattributed_cost=Decimal(0), settings=settings)
    assert evaluate([], variance_pct=None, **common).passed           # no invoice: nothing to compare
    assert evaluate([], variance_pct=1.99, **common).passed
    assert evaluate([], variance_pct=-2.0, **common).passed
    g = evaluate([], variance_pct=-2.5, **common)
    assert not g.passed and "reconciliation variance -2.50% (the logs are above the invoice) is above the maximum 2%" in g.reasons[0]


def test_policy_gate_table_and_cli_overrides(logs):
    Path("audit-logs.toml").write_text(
        '[gate]\nfail_on = "never"\nmin_attributable_pct = 80\nmax_unattributed_cost = 5\n', encoding="utf-8")
    base = ["logs.jsonl", "--select", "OWN001"]
    r = run(*base)  # audit-logs.toml in the working directory is found without --policy
    assert r.exit_code == 1 and "below the minimum 80%" in r.stdout
    assert run(*base, "--min-attributable-pct", "70").exit_code == 0   # the command line wins
    assert run(*base, "--fail-on", "error", "--min-attributable-pct", "70").exit_code == 1
    Path("audit-logs.toml").write_text('[gate]\nfail_on = "never"\nmax_unattributed_cost = 0.0001\n', encoding="utf-8")
    assert run(*base).exit_code == 1
    res = audit(["logs.jsonl"], "audit-logs.toml", select=["OWN001"])
    assert res.gate.settings["max_unattributed_cost"] == 0.0001 and not res.gate.passed


def test_gate_settings_precedence():
    s = gate_settings({"fail_on": "warning", "min_attributable_pct": 90}, {"fail_on": None, "min_attributable_pct": 50})
    assert s["fail_on"] == "warning" and s["min_attributable_pct"] == 50


# ---------------------------------------------------------------- exit code 2

def test_exit_code_2_for_usage_and_unusable_input(logs):
    assert run("missing.jsonl").exit_code == 2
    assert run("logs.jsonl", "--format", "nope").exit_code == 2
    assert run("logs.jsonl", "--fail-on", "fatal").exit_code == 2
    Path("bad.toml").write_text("[gate]\nfail_on = 'sometimes'\n", encoding="utf-8")
    r = run("logs.jsonl", "--policy", "bad.toml")
    assert r.exit_code == 2 and "gate.fail_on" in r.stderr
    assert run("missing.jsonl", "--exit-zero").exit_code == 2
    assert run("logs.jsonl", "--baseline", "nope.json").exit_code == 2
    assert run("logs.jsonl", "--update-baseline").exit_code == 2
    Path("junk.json").write_text("{not json", encoding="utf-8")
    r = run("logs.jsonl", "--baseline", "junk.json")
    assert r.exit_code == 2 and "junk.json" in r.stderr


# ---------------------------------------------------------------- baseline

def _write(records):
    write_jsonl(Path("day.jsonl"), records)


def test_baseline_fails_only_on_new_or_grown_findings(logs):
    owned = [record(request_id=f"ok{i}") for i in range(3)]
    _write(owned + [record(request_id="x1", team_id=None, cost=0.5), record(request_id="x2", pricing_source=None)])
    sel = ["--select", "OWN001,CON001,CON002", "-q"]
    assert run("day.jsonl", *sel).exit_code == 1
    r = run("day.jsonl", *sel, "--baseline", "baseline.json", "--update-baseline")
    assert r.exit_code == 0 and Path("baseline.json").is_file()
    doc = json.loads(Path("baseline.json").read_text())
    assert doc["findings"]["OWN001"] == {
        "cost": "0.5", "count": 1, "name": "missing-owner", "severity": "error",
        "request_ids": ["x1"], "request_ids_sha256": doc["findings"]["OWN001"]["request_ids_sha256"]}
    assert set(doc["findings"]) == {"OWN001", "CON001"}

    assert run("day.jsonl", *sel, "--baseline", "baseline.json").exit_code == 0       # same findings: pass

    # Grown: one more record without an owner.
    _write(owned + [record(request_id="x1", team_id=None, cost=0.5), record(request_id="x3", team_id=None, cost=0.01),
                    record(request_id="x2", pricing_source=None)])
    r = run("day.jsonl", *sel, "--baseline", "baseline.json")
    assert r.exit_code == 1 and "OWN001 missing-owner (grew since the baseline: 1 -> 2 records, $0.50 -> $0.51)" in r.stdout

    # Grown by cost only: same number of records, more money.
    _write(owned + [record(request_id="x1", team_id=None, cost=0.75), record(request_id="x2", pricing_source=None)])
    assert run("day.jsonl", *sel, "--baseline", "baseline.json").exit_code == 1

    # New: a rule that had no finding in the baseline.
    _write(owned + [record(request_id="x1", team_id=None, cost=0.5), record(request_id="x2", pricing_source=None),
                    record(request_id="x4", status="ok")])
    r = run("day.jsonl", *sel, "--baseline", "baseline.json")
    assert r.exit_code == 1 and "CON002 invalid-value (new since the baseline)" in r.stdout

    # Fixed and shrunk: pass; the JSON report says what changed.
    _write(owned + [record(request_id="x1", team_id=None, cost=0.25)])
    r = run("day.jsonl", *sel, "--baseline", "baseline.json", "--format", "json")
    assert r.exit_code == 0
    rows = {x["code"]: x["status"] for x in json.loads(r.stdout)["gate"]["baseline"]["rules"]}
    assert rows == {"OWN001": "shrunk", "CON001": "fixed"}

    # Moved: same count and cost, other records: does not fail, reported as changed with the new ids.
    _write(owned + [record(request_id="y1", team_id=None, cost=0.5), record(request_id="x2", pricing_source=None)])
    r = run("day.jsonl", *sel, "--baseline", "baseline.json", "--format", "json")
    assert r.exit_code == 0
    own = next(x for x in json.loads(r.stdout)["gate"]["baseline"]["rules"] if x["code"] == "OWN001")
    assert own["status"] == "changed" and own["newly_flagged_request_ids"] == ["y1"]


def test_baseline_respects_fail_on_and_thresholds(logs):
    _write([record(request_id="a"), record(request_id="b", team_id=None)])
    sel = ["--select", "OWN001", "-q"]
    assert run("day.jsonl", *sel, "--baseline", "b.json", "--update-baseline").exit_code == 0
    # Thresholds are not baselined.
    assert run("day.jsonl", *sel, "--baseline", "b.json", "--min-attributable-pct", "90").exit_code == 1
    # Update with a threshold that fails: the file is written, the exit code is still the gate's.
    r = run("day.jsonl", *sel, "--baseline", "b2.json", "--update-baseline", "--min-attributable-pct", "90")
    assert r.exit_code == 1 and Path("b2.json").is_file()


def test_baseline_file_is_deterministic(logs):
    _write([record(request_id="z"), record(request_id="b", team_id=None), record(request_id="a", team_id=None),
            record(request_id="c", pricing_source=None)])
    for name in ("one.json", "two.json"):
        assert run("day.jsonl", "--baseline", name, "--update-baseline", "-q").exit_code in (0, 1)
    one, two = Path("one.json").read_text(), Path("two.json").read_text()
    assert one == two
    doc = json.loads(one)
    assert one == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"   # sorted keys
    assert doc["findings"]["OWN001"]["request_ids"] == ["a", "b"]
    assert "time" not in one and "date" not in one


def test_baseline_from_policy_is_relative_to_the_policy_file(logs):
    Path("ci").mkdir()
    Path("ci/audit-logs.toml").write_text('[gate]\nbaseline = "known.json"\n', encoding="utf-8")
    _write([record(request_id="a"), record(request_id="b", team_id=None)])
    sel = ["--select", "OWN001", "-q", "--policy", "ci/audit-logs.toml"]
    assert run("day.jsonl", *sel).exit_code == 2                      # the baseline does not exist yet
    assert run("day.jsonl", *sel, "--update-baseline").exit_code == 0
    assert Path("ci/known.json").is_file()
    assert run("day.jsonl", *sel).exit_code == 0
    assert run("day.jsonl", "--select", "OWN001", "-q").exit_code == 1  # without the policy: no baseline


def test_baseline_read_errors(tmp_path):
    from auditor.baseline import read

    p = tmp_path / "b.json"
    p.write_text('{"audit_logs_baseline": 1, "findings": {"OWN001": {"count": "x"}}}')
    with pytest.raises(BaselineError, match="findings.OWN001"):
        read(p)
    p.write_text('{"findings": {}}')
    with pytest.raises(BaselineError, match="not an audit-logs baseline"):
        read(p)


def test_baseline_render_without_records():
    f = Finding("INT002", "unreadable-record", "integrity", "error", 3, Decimal(0), "3 records could not be read")
    doc = json.loads(render_baseline([f], None))
    assert doc["findings"]["INT002"]["count"] == 3 and doc["findings"]["INT002"]["request_ids"] == []


def test_max_variance_pct_end_to_end_with_an_invoice(tmp_path, monkeypatch):
    """$4.00 in the logs, $4.10 on an OpenAI Costs API page: variance 2.44%."""
    import datetime

    monkeypatch.chdir(tmp_path)
    write_jsonl(Path("v.jsonl"), [record(request_id=f"v{i}", cost=1.0) for i in range(4)])
    start = int(datetime.datetime(2026, 5, 4, tzinfo=datetime.timezone.utc).timestamp())
    Path("inv.json").write_text(json.dumps({"object": "page", "data": [{
        "object": "bucket", "start_time": start, "end_time": start + 86400, "results": [{
            "object": "organization.costs.result", "amount": {"value": 4.1, "currency": "usd"},
            "line_item": "gpt-4o-mini, input"}]}]}), encoding="utf-8")
    base = ["v.jsonl", "--invoice", "inv.json", "--fail-on", "never"]
    r = run(*base, "--max-variance-pct", "2")
    assert r.exit_code == 1 and "reconciliation variance 2.44% (the invoice is above the logs) is above the maximum 2%" in r.stdout
    assert run(*base, "--max-variance-pct", "2.5").exit_code == 0
    Path("p.toml").write_text('[gate]\nfail_on = "never"\nmax_variance_pct = 1\n', encoding="utf-8")
    assert run("v.jsonl", "--invoice", "inv.json", "--policy", "p.toml").exit_code == 1
    assert run("v.jsonl", "--policy", "p.toml").exit_code == 0   # no invoice: no variance to gate on


def test_baseline_is_read_once_per_run(logs, monkeypatch):
    """Read before the audit (so a bad file fails at once) and compared from what was read: not read again."""
    from auditor import baseline as bl

    _write([record(request_id="ok"), record(request_id="x1", team_id=None)])
    sel = ["--select", "OWN001", "-q", "--baseline", "b.json"]
    assert run("day.jsonl", *sel, "--update-baseline").exit_code == 0
    reads = []
    real = bl.read
    monkeypatch.setattr(bl, "read", lambda path: reads.append(path) or real(path))
    assert run("day.jsonl", *sel).exit_code == 0
    assert reads == ["b.json"]
