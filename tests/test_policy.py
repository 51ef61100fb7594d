"""The policy file: found by default, validated against its schema, clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from auditor.policy import Policy, PolicyError, load_policy


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = load_policy()
    assert isinstance(p, Policy) and p.thresholds["attributable_pct"] == 95.0 and p.thresholds["variance_pct"] == 2.0


def test_audit_logs_toml_is_found(tmp_path, monkeypatch):
    (tmp_path / "audit-logs.toml").write_text('[thresholds]\nattributable_pct = 90\n[teams.support]\ncost_center = "cc-4210"\n')
    monkeypatch.chdir(tmp_path)
    p = load_policy()
    assert p.thresholds["attributable_pct"] == 90 and p.teams["support"].cost_center == "cc-4210"


def test_pyproject_tool_table(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.audit-logs.gate]\nfail_on = "warning"\n')
    monkeypatch.chdir(tmp_path)
    assert load_policy().gate == {"fail_on": "warning"}


@pytest.mark.parametrize("text,needle", [
    ("[thresholds]\nattributable_pct = 150\n", "thresholds.attributable_pct"),
    ("[gate]\nfail_on = \"sometimes\"\n", "gate.fail_on"),
    ("[teams.a]\ncost_centre = \"x\"\n", "teams.a"),
    ("not = toml = at all", "not valid TOML"),
    ("[fields.cost_center]\npattern = \"^cc-\"\nlength = 3\n", "fields.cost_center"),
])
def test_bad_policy_is_a_clear_error(tmp_path, text, needle):
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as exc:
        load_policy(path)
    assert str(path) in str(exc.value) and needle in str(exc.value)


def test_bad_policy_exits_2_without_traceback(tmp_path):
    (tmp_path / "p.toml").write_text("[thresholds]\nattributable_pct = -1\n")
    (tmp_path / "a.jsonl").write_text("{}\n")
    proc = subprocess.run([sys.executable, "-m", "auditor.cli", str(tmp_path / "a.jsonl"), "--policy", str(tmp_path / "p.toml")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "p.toml" in proc.stderr


@pytest.mark.parametrize("text,needle", [
    ("[rules.copied-keys]\nseverity = \"info\"\n", "[rules.copied-keys] names no rule (did you mean copied-key?)"),
    ("[rules.KEY001]\nfoo = 1\n", "[rules.KEY001] foo: not a setting of KEY001 copied-key"),
    ("[rules.copied-key]\ndimension = [\"team_id\"]\n", "did you mean dimensions?"),
])
def test_misspelt_rule_settings_are_an_error_not_ignored(tmp_path, text, needle):
    from auditor import audit
    from auditor.rules import SelectionError

    (tmp_path / "p.toml").write_text(text)
    (tmp_path / "a.jsonl").write_text("{}\n")
    with pytest.raises(SelectionError) as exc:
        audit([tmp_path / "a.jsonl"], tmp_path / "p.toml")
    assert needle in str(exc.value)


def test_known_rule_settings_by_code_or_name_are_accepted(tmp_path):
    from auditor import audit

    (tmp_path / "p.toml").write_text("[rules.KEY001]\nseverity = \"info\"\n[rules.free-form-tag]\nfuzzy_cutoff = 90\n")
    from helpers import record, write_jsonl

    write_jsonl(tmp_path / "a.jsonl", [record()])  # one LLM record: an audit of nothing is an input error now
    result = audit([tmp_path / "a.jsonl"], tmp_path / "p.toml")
    assert "KEY001" in result.rules and "TAG001" in result.rules
