"""Issue 15, item 6: `audit-logs init PATH...` drafts a policy from the logs, and it round-trips: the audit
with the draft as written flags what the audit without a policy flags (plus the services no team carries),
and accepting a suggestion (uncommenting the aliases) removes exactly its findings."""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from auditor.api import audit
from auditor.cli import main
from auditor.rules.spellings import dominant_shape, shape
from auditor.policy import from_dict, load_policy
from helpers import record, write_jsonl

SAMPLE_LOGS = Path(__file__).resolve().parent.parent / "sample_logs"


def _flagged(result, code: str) -> dict[str, int]:
    return dict(result.con.execute("SELECT detail, count(*) FROM finding_rows WHERE code = ? GROUP BY 1", [code]).fetchall())


def _init(tmp_path: Path, *paths) -> Path:
    out = tmp_path / "audit-logs.toml"
    r = CliRunner().invoke(main, ["init", *map(str, paths), "-o", str(out)])
    assert r.exit_code == 0, r.output
    return out


def test_init_round_trips_on_sample_logs(tmp_path):
    draft = _init(tmp_path, SAMPLE_LOGS)
    doc = tomllib.loads(draft.read_text())
    bare = audit([SAMPLE_LOGS], from_dict({}))
    assert set(doc["teams"]) == {t.team_id for t in bare.attribution.teams}
    for t in bare.attribution.teams:  # the name the logs carry, and the evidence as a comment
        assert doc["teams"][t.team_id].get("name", t.team_id) == (t.name or t.team_id)
        assert re.search(rf'\[teams\."{re.escape(t.team_id)}"\]\n# {t.records:,} records', draft.read_text())

    drafted = audit([SAMPLE_LOGS], load_policy(draft))
    before, after = _flagged(bare, "TAG001"), _flagged(drafted, "TAG001")
    new = {d: n for d, n in after.items() if d not in before}
    assert {d: n for d, n in after.items() if d in before} == before  # every spelling still flagged, same records
    assert new and all("service_id" in d and "not in the ownership registry" in d for d in new)
    for d in new:  # ... and each extra one is a service the draft lists for a person to place
        assert f'#   "{re.search(r"service_id .(.+?). is not", d).group(1)}":' in draft.read_text()
    for code in ("KEY001", "ENV001", "OWN001", "INT001"):
        assert _flagged(drafted, code) == _flagged(bare, code), code

    # accept the suggested aliases: their spellings' findings go, nothing else changes
    accepted = draft.read_text().replace("# aliases = ", "aliases = ")
    draft.write_text(accepted)
    aliased = {a for t in tomllib.loads(accepted)["teams"].values() for a in t.get("aliases", [])}
    assert aliased
    fixed = _flagged(audit([SAMPLE_LOGS], load_policy(draft)), "TAG001")
    assert fixed == {d: n for d, n in after.items() if not any(f"team_id '{a}'" in d for a in aliased)}


def test_init_keys_shared_by_teams_are_suggestions_not_entries(tmp_path):
    records = [record(request_id=f"a{i}", api_key_id="key-shared", team_id="team-a", cost=1) for i in range(3)]
    records += [record(request_id=f"b{i}", api_key_id="key-shared", team_id="team-b", cost=0.5) for i in range(2)]
    records += [record(request_id=f"c{i}", api_key_id="key-a-only", team_id="team-a", cost=0.25) for i in range(2)]
    logs = write_jsonl(tmp_path / "logs.jsonl", records)
    text = _init(tmp_path, logs).read_text()
    doc = tomllib.loads(text)
    assert doc["teams"]["team-a"]["keys"] == ["key-a-only"]
    assert "keys" not in doc["teams"]["team-b"]
    assert '# key "key-shared" carries this team\'s traffic (3 records, $3.00) and also team-b (2 records, $1.00)' in text


def test_init_does_not_overwrite_without_force(tmp_path):
    logs = write_jsonl(tmp_path / "logs.jsonl", [record(request_id="r1")])
    out = tmp_path / "audit-logs.toml"
    out.write_text("# mine\n")
    r = CliRunner().invoke(main, ["init", str(logs), "-o", str(out)])
    assert r.exit_code == 2 and "--force" in r.output and out.read_text() == "# mine\n"
    r = CliRunner().invoke(main, ["init", str(logs), "-o", str(out), "--force"])
    assert r.exit_code == 0 and "[teams." in out.read_text()


def test_shape_inference():
    assert shape("FIN-1234") == "^FIN-[0-9]{4}$" and shape("a.b(1)") == r"^a\.b\([0-9]{1}\)$"
    values = [(f"FIN-{1000 + i}", 10) for i in range(20)] + [("q3 campaign", 5)]
    pattern, share, distinct = dominant_shape(values)
    assert pattern == "^FIN-[0-9]{4}$" and distinct == 20 and share == Decimal(200) / Decimal(205)
    assert dominant_shape([("alpha", 5), ("beta", 5), ("gamma", 5)]) is None  # no convention: no shape
    assert dominant_shape([("cc-1000", 100)]) is None  # one value is not a convention


def test_init_leaves_an_off_shape_cost_center_to_a_person(tmp_path):
    """A cost center off the shape the others follow is a comment, not a registry entry: registered, it would no
    longer be flagged, and the draft would hide what the audit without it shows."""
    records = [record(request_id=f"r{i}", team_id=f"team-{i % 4}", cost_center=f"FIN-{1000 + i % 4}", cost=1) for i in range(20)]
    records.append(record(request_id="q3", team_id="team-0", service_id="ticket-triage", cost_center="q3 campaign", cost=0.1))
    logs = write_jsonl(tmp_path / "logs.jsonl", records)
    text = _init(tmp_path, logs).read_text()
    assert "q3 campaign" not in tomllib.loads(text).get("registry", {}).get("cost_centers", [])
    assert '# cost_center "q3 campaign" (1 records, $0.10) does not follow the shape of the others, ^FIN-[0-9]{4}$' in text
    assert _flagged(audit([logs], load_policy(tmp_path / "audit-logs.toml")), "TAG001") == _flagged(audit([logs], from_dict({})), "TAG001")
