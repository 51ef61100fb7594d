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
