"""sqlfluff-style rule cases: tests/rule_cases/<rule-name>.json holds pass and fail cases for one rule.

A case file is ``{"rule": "copied-key", "policy": {...}, "cases": [{"name": ..., "records": [...],
"flagged": ["r2", ...], "cost": "0.00054", "policy": {...}}]}``. Each record is merged onto the valid
base record (tests/helpers.py); ``null`` values stay null and a value of "<absent>" removes the field.
``flagged`` lists the request ids the rule must flag (and no other); ``cost`` (optional) is the exact $
at risk. The policy is a policy-file document (as parsed TOML); a case's policy replaces the file's.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from auditor import audit
from auditor.policy import from_dict
from auditor.rules import REGISTRY
from helpers import record, write_jsonl

CASES_DIR = Path(__file__).parent / "rule_cases"


def _cases():
    for path in sorted(CASES_DIR.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for case in doc["cases"]:
            yield pytest.param(doc["rule"], doc.get("policy", {}), case, id=f"{path.stem}:{case['name']}")


def _records(case):
    for i, raw in enumerate(case["records"]):
        overrides = {k: (... if v == "<absent>" else v) for k, v in raw.items()}
        overrides.setdefault("request_id", f"r{i + 1}")
        yield record(**overrides)


@pytest.mark.parametrize("rule,policy,case", list(_cases()))
def test_rule_case(tmp_path, rule, policy, case):
    path = write_jsonl(tmp_path / "records.jsonl", _records(case))
    result = audit([path], from_dict(case.get("policy", policy)), select=[rule])
    finding = next((f for f in result.findings if f.name == rule), None)
    flagged = set()
    if finding is not None:
        rows = result.con.execute(
            "SELECT DISTINCT r.request_id FROM finding_rows f JOIN records r USING (_row) WHERE f.code = ?", [finding.code]
        ).fetchall()
        flagged = {r[0] for r in rows}
    assert flagged == set(case["flagged"]), case.get("why", "")
    if "cost" in case:
        assert finding is not None
        assert finding.cost == Decimal(case["cost"])


def test_every_rule_has_cases():
    covered = {json.loads(p.read_text())["rule"] for p in CASES_DIR.glob("*.json")}
    missing = sorted(r.name for r in REGISTRY.values() if r.name not in covered and r.name != "unreadable-record")
    assert not missing, f"rules without a case file in tests/rule_cases/: {missing}"
