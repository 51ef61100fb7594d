"""The JSON report is a versioned contract: schemas/audit-report.schema.json (draft 2020-12).

Real runs (the CLI's JSON output) must validate; the schema must have teeth (it rejects what the
contract forbids) while leaving the objects other features grow open.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from click.testing import CliRunner

from auditor.cli import main
from auditor.result import REPORT_SCHEMA_VERSION
from ci_samples import REPO, bad, good, sample_dir
from helpers import record, write_jsonl

SCHEMA = json.loads((REPO / "schemas" / "audit-report.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _errors(doc):
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(doc)]


def _json_run(args) -> dict:
    r = CliRunner().invoke(main, [*args, "--format", "json"])
    assert r.exit_code in (0, 1), r.output
    return json.loads(r.stdout)


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["properties"]["schema_version"]["pattern"] == r"^1\.[0-9]+$"
    assert REPORT_SCHEMA_VERSION.startswith("1.")


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good(Path("good.jsonl"))
    bad(Path("bad.jsonl"))
    Path("empty.jsonl").write_text("", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("args", [
    ["good.jsonl"],
    ["good.jsonl", "bad.jsonl", "empty.jsonl"],
    ["bad.jsonl", "--fail-on", "never", "--min-attributable-pct", "50", "--max-unattributed-cost", "1"],
    ["check-schema", "good.jsonl", "bad.jsonl"],
], ids=["clean", "defects", "thresholds", "check-schema"])
def test_real_runs_validate(files, args):
    doc = _json_run(args)
    assert _errors(doc) == []


def test_run_with_baseline_validates(files):
    r = CliRunner().invoke(main, ["bad.jsonl", "--baseline", "b.json", "--update-baseline", "-q", "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert _errors(doc) == [] and doc["gate"]["baseline"]["updated"] is True
    doc = _json_run(["bad.jsonl", "good.jsonl", "--baseline", "b.json"])
    assert _errors(doc) == []


def test_sample_logs_report_validates(tmp_path):
    logs = sample_dir(tmp_path)
    doc = _json_run([str(logs)])
    assert _errors(doc) == [] and doc["summary"]["records"] > 0
    doc = _json_run(["check-schema", str(logs)])
    assert _errors(doc) == []


def test_money_is_exact(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    costs = ["0.000027", "0.1", "0.2", "1240.000001"]
    write_jsonl(Path("m.jsonl"), [record(request_id=f"m{i}", cost=float(c)) for i, c in enumerate(costs)])
    doc = _json_run(["m.jsonl"])
    assert Decimal(doc["summary"]["total_cost"]) == sum(Decimal(c) for c in costs)
    assert doc["summary"]["total_cost"] == "1240.300028"


def test_schema_has_teeth(files):
    doc = _json_run(["good.jsonl", "bad.jsonl"])
    assert _errors(doc) == []
    broken = []
    d = copy.deepcopy(doc); d["summary"]["total_cost"] = 6.875; broken.append(d)             # a float, not a string
    d = copy.deepcopy(doc); d["summary"]["total_cost"] = "6.8750"; broken.append(d)          # trailing zero
    d = copy.deepcopy(doc); d["summary"]["total_cost"] = "6.875e0"; broken.append(d)         # exponent
    d = copy.deepcopy(doc); del d["summary"]["attributable_pct"]; broken.append(d)          # core key missing
    d = copy.deepcopy(doc); del d["teams"][0]["attributable_cost"]; broken.append(d)
    d = copy.deepcopy(doc); d["findings"][0]["severity"] = "fatal"; broken.append(d)
    d = copy.deepcopy(doc); d["findings"][0]["code"] = "own1"; broken.append(d)
    d = copy.deepcopy(doc); d["schema_version"] = "2.0"; broken.append(d)
    d = copy.deepcopy(doc); del d["gate"]["passed"]; broken.append(d)
    d = copy.deepcopy(doc); d["inputs"][0]["records"] = -1; broken.append(d)
    for n, d in enumerate(broken):
        assert _errors(d), f"broken document {n} validated"


def test_open_objects_accept_new_keys(files):
    doc = _json_run(["good.jsonl", "bad.jsonl"])
    doc["verdict"]["new_key"] = 1
    doc["teams"][0]["new_metric"] = {"x": 1}
    doc["sections"]["new_section"] = []
    doc["summary"]["new_total"] = "1"
    doc["reconciliation"] = {"summary_line": "x", "anything": [1, 2]}
    assert _errors(doc) == []


# The JSON writer: json.dumps(indent=2) to the byte for short lists, one compact item per line for long ones.
_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                     lambda kids: st.lists(kids, max_size=70) | st.dictionaries(st.text(max_size=4), kids, max_size=4),
                     max_leaves=200)


@settings(max_examples=150, deadline=None)
@given(_json)
def test_json_writer_is_json_dumps_indent_2_or_one_item_per_line(doc):
    from auditor.reporters import json_report

    text = json_report.dumps(doc)
    assert json.loads(text) == doc
    if not _has_long_list(doc, json_report.LONG_LIST):
        assert text == json.dumps(doc, indent=2, ensure_ascii=False)
    else:
        # "\n" only: splitlines() also splits at U+0085 and U+2028, which a key may hold
        assert len(text.split("\n")) <= len(json.dumps(doc, indent=2, ensure_ascii=False).split("\n"))


def _has_long_list(x, n: int) -> bool:
    if isinstance(x, list):
        return len(x) > n or any(_has_long_list(v, n) for v in x)
    if isinstance(x, dict):
        return any(_has_long_list(v, n) for v in x.values())
    return False
