"""Issue 18, "Inputs that make the audit quadratic": owner values are compared only with the few that could be
the same owner, so the number of comparisons grows with the distinct values, not with their square, and a huge
value is never compared by edit distance at all. Counted, not timed (speed belongs in benchmarks/fuzzy.py, which
measures 100k distinct team names; see benchmarks/RESULTS.md)."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from types import SimpleNamespace

import pytest
from rapidfuzz import fuzz

from auditor import audit
from auditor.rules import spellings


def _names(n: int, rng: random.Random) -> list[str]:
    """n distinct team names of 2-3 words from 2,000 made-up words plus a number, 1 in 20 a typo of another."""
    vocab = sorted({"".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 10))) for _ in range(2000)})
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        if names and rng.random() < 0.05:
            base = rng.choice(names)
            k = rng.randrange(len(base))
            name = base[:k] + rng.choice(string.ascii_lowercase) + base[k + 1:]
        else:
            name = "-".join(rng.choice(vocab) for _ in range(rng.randint(2, 3))) + f"-{rng.randint(0, 99)}"
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _write(path: Path, teams: list[str]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i, team in enumerate(teams):
            fh.write(json.dumps({
                "request_id": f"r{i}", "timestamp": f"2026-03-{1 + i % 28:02d}T10:00:00Z", "provider": "openai",
                "model": "gpt-4o-mini", "input_tokens": 100, "output_tokens": 20, "cost": 0.000027,
                "pricing_source": "gateway", "status": "success", "retry_count": 0, "team_id": team,
                "service_id": "svc", "cost_center": "cc-1000", "environment": "production",
                "api_key_id": f"key-{i % 50}"}) + "\n")
    return path


@pytest.fixture
def counted(monkeypatch):
    """Every edit-distance comparison the clustering makes: fuzz.ratio on two spellings, _word_alike on two words."""
    calls = {"ratio": 0, "words": 0, "longest": 0}
    real_alike = spellings._word_alike

    def ratio(a, b, **kw):
        calls["ratio"] += 1
        calls["longest"] = max(calls["longest"], len(a), len(b))
        return fuzz.ratio(a, b, **kw)

    def alike(a, b):
        calls["words"] += 1
        calls["longest"] = max(calls["longest"], len(a), len(b))
        return real_alike(a, b)

    monkeypatch.setattr(spellings, "fuzz", SimpleNamespace(ratio=ratio))
    monkeypatch.setattr(spellings, "_word_alike", alike)
    return calls


def _audit_teams(path: Path):
    result = audit([path], fmt="canonical", select=["free-form-tag"])
    summary = result.summary()
    assert summary["read"] == summary["records"] and summary["rejected"] == 0
    return result


def test_comparisons_grow_linearly_with_distinct_team_names(tmp_path, counted):
    per_name = {}
    for n in (1000, 4000):
        counted.update(ratio=0, words=0)
        result = _audit_teams(_write(tmp_path / f"t{n}.jsonl", _names(n, random.Random(7))))
        assert any(f.code == "TAG001" for f in result.findings)  # the typos are found: clusters exist
        per_name[n] = (counted["ratio"] + counted["words"]) / n
    # All pairs would be n^2 / 2 comparisons (500 and 2,000 per name); blocking keeps a few per name, and four
    # times the names must not cost more than about four times the comparisons.
    assert per_name[1000] < 20 and per_name[4000] < 20, per_name
    assert per_name[4000] < 1.5 * per_name[1000], per_name


@pytest.mark.parametrize("count,size", [(2, 1 << 20), (20, 100_000)])
def test_huge_team_names_are_never_compared_by_edit_distance(tmp_path, counted, count, size):
    rng = random.Random(size)
    huge = ["t" + "".join(rng.choice(string.ascii_lowercase + " -") for _ in range(size - 2)) + "z" for _ in range(count)]
    # beside ordinary names, so the clustering runs; one huge name twice: equal values still group exactly
    teams = huge + [huge[0]] + ["support-automation", "support-automaton", "research"]
    result = _audit_teams(_write(tmp_path / "huge.jsonl", teams))
    assert result.records == len(teams)
    assert counted["longest"] <= spellings.MAX_FUZZY_CHARS, counted
    assert counted["ratio"] + counted["words"] < 50, counted
    # Each huge name is its own team (the one given twice has both records); compared by records and length, not
    # by value: the loader tidies whitespace in owner values, and a megabyte each would drown the message.
    big = sorted(t.records for t in result.attribution.teams if len(t.team_id) > 1000)
    assert big == [1] * (count - 1) + [2], big


def test_resolved_values_are_kept_per_connection_and_forgotten_with_the_tables(tmp_path):
    """resolve() hands the rules its Value objects from memory after the first call (the 100k-team speed-up);
    prepare() must forget them, or a second audit on the same connection would see the old values."""
    from auditor.policy import from_dict
    from auditor.rules.owner_values import resolve
    from auditor.rules.runner import prepare

    result = audit([_write(tmp_path / "a.jsonl", ["support-automation", "support-automaton", "research"])],
                   fmt="canonical", select=["free-form-tag"])
    con, policy = result.con, from_dict({})
    prepare(con)
    first = resolve(con, policy, fields=("team_id",))
    assert sorted(v.value for v in first["team_id"]) == ["research", "support-automation", "support-automaton"]
    again = resolve(con, policy, fields=("team_id",))
    assert [(v.value, v.canonical, v.status) for v in again["team_id"]] == [(v.value, v.canonical, v.status) for v in first["team_id"]]
    con.execute("UPDATE records SET team_id = 'platform' WHERE team_id = 'research'")
    prepare(con)
    assert sorted(v.value for v in resolve(con, policy, fields=("team_id",))["team_id"]) == [
        "platform", "support-automation", "support-automaton"]
