"""The README documents every contract field and every rule, and its commands name real options."""

from pathlib import Path

from auditor.contract.schema import FIELDS
from auditor.rules import REGISTRY

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_contract_field_is_documented():
    missing = [f.name for f in FIELDS if f"`{f.name}`" not in README]
    assert not missing


def test_every_rule_is_listed():
    missing = [r.name for r in REGISTRY.values() if f"`{r.name}`" not in README or r.code not in README]
    assert not missing


def test_quick_start_commands_present():
    assert "audit-logs sample_logs/" in README
    assert "bash .ci/run" in README
