"""Scale properties that do not need a big input to check: the fuzzy tag comparison runs on distinct
values only, so its work does not grow with the number of records; the loader's secret pre-filter
never hides a secret the full pattern would find."""

from __future__ import annotations

import re

import pytest

from auditor import audit
from auditor.loaders.pipeline import SECRET_HINTS
from auditor.redact import SECRET_PATTERN
from helpers import record, write_jsonl

TEAMS = ["support-automation", "suport-automation", "Support_Automation", "search-relevance", "search-relevence",
         "finance-ops", "finanace-ops", "data-platform", "legal-review", "legal_review"]
SERVICES = ["ticket-triage", "ticket_triage", "query-rewrite", "invoice-extract", "sql-assistant"]
TAGS = [["prod"], ["Prod", "beta"], ["production"], ["experiment"], ["exp", "internal"], ["Internal"], []]


def _records(copies: int) -> list[dict]:
    out = []
    for c in range(copies):
        for i in range(60):
            out.append(record(request_id=f"r{c}-{i}", team_id=TEAMS[i % len(TEAMS)], service_id=SERVICES[i % len(SERVICES)],
                              environment=["production", "prod", "Production", "staging"][i % 4], tags=TAGS[i % len(TAGS)]))
    return out


class _Counting:
    """Stands in for a rapidfuzz module: forwards every call, and notes the strings each call compared."""

    def __init__(self, wrapped, log: list):
        self._wrapped, self._log = wrapped, log

    def __getattr__(self, name):
        fn = getattr(self._wrapped, name)
        if not callable(fn):
            return fn

        def call(*args, **kwargs):
            strings = []
            for a in args[:2]:
                if isinstance(a, str):
                    strings.append(a)
                elif isinstance(a, (list, tuple, dict, set)):
                    strings.extend(str(x) for x in (a.values() if isinstance(a, dict) else a))
            self._log.append((name, tuple(strings)))
            return fn(*args, **kwargs)

        return call


def _fuzzy_work(monkeypatch, tmp_path, copies: int) -> list:
    tags = pytest.importorskip("auditor.rules.spellings")
    log: list = []
    with monkeypatch.context() as m:
        for attr in ("process", "fuzz", "OSA"):
            if hasattr(tags, attr):
                m.setattr(tags, attr, _Counting(getattr(tags, attr), log))
        path = write_jsonl(tmp_path / f"x{copies}.jsonl", _records(copies))
        result = audit([path], select=["TAG"])
    assert result.attribution.records == 60 * copies
    return log


def test_fuzzy_tag_work_does_not_grow_with_records(monkeypatch, tmp_path):
    small = _fuzzy_work(monkeypatch, tmp_path, 1)
    big = _fuzzy_work(monkeypatch, tmp_path, 10)
    assert small, "the tag rule compared nothing: has it stopped using rapidfuzz?"
    # Same distinct values -> the same number of fuzzy calls, over the same strings.
    assert len(big) == len(small)
    assert sum(len(s) for _, s in big) == sum(len(s) for _, s in small)
    assert {s for _, strings in big for s in strings} == {s for _, strings in small for s in strings}


EXAMPLES = [
    "sk-proj-" + "a" * 40, "sk-ant-api03-" + "b" * 30, "sk-" + "c" * 30, "sk_live_" + "d" * 20, "AKIA" + "E" * 16,
    "AIza" + "f" * 35, "ghp_" + "g" * 36, "github_pat_" + "h" * 45, "xoxb-" + "1" * 12, "hf_" + "i" * 32,
    "gsk_" + "j" * 42, "sk-lf-" + "1" * 24, "Bearer " + "k" * 24, "bearer " + "l" * 24, "BEARER\t" + "m" * 24,
    "eyJ" + "n" * 20 + ".eyJ" + "o" * 20 + "." + "p" * 12, "Authorization: Basic " + "q" * 12,
    "-----BEGIN RSA PRIVATE KEY-----", "https://u:p@h", "api-key: " + "a" * 32,
    "AKIA" + "S" * 16 + ":" + "t" * 40, "xapp-1-" + "A" * 12,
]


@pytest.mark.parametrize("secret", EXAMPLES)
def test_secret_hints_cover_every_branch(secret):
    assert re.search(SECRET_PATTERN, secret), "example no longer matches: update EXAMPLES"
    assert any(h in secret for h in SECRET_HINTS)


def test_every_rule_has_a_hint():
    # A match of every rule holds one of its literal hints (checked on the rule's own examples above), and every
    # rule's hints are among the load's pre-filter hints.
    from auditor.redact import RULES

    for rule_id, pattern, hints in RULES:
        assert hints and set(hints) <= set(SECRET_HINTS), rule_id
        examples = [e for e in EXAMPLES if re.search(pattern, e)]
        assert examples, f"no example for rule {rule_id}"
        for e in examples:
            assert any(h in e for h in hints), (rule_id, e)


def test_public_langfuse_key_is_not_a_secret():
    assert not re.search(SECRET_PATTERN, "pk-lf-" + "0" * 24)
