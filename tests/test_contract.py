"""The vectorized contract check gives exactly the verdicts of the jsonschema library, record by record."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.contract.schema import FIELDS, base_schema, effective_schema
from auditor.loaders import load
from auditor.policy import PolicyError, from_dict
from helpers import BASE_RECORD, record

PROVENANCE = {"source_format": "canonical", "source_file": "x.jsonl", "source_line": 1}
CHECKED = [f for f in FIELDS if f.group != "provenance"]
ABSENT = object()

_any_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
_tricky_text = st.sampled_from(["", " ", "x", "Ünïcödé", "a\n", "production", "success", "eval", "cc-4210", "CC 4210",
                                "2026-05-04T10:00:00Z", "2026-05-04T10:00:00.123456789Z", "2026-05-04T10:00:00Z\n",
                                "2026-05-04 10:00:00", "2026-05-04T10:00:00+02:00", "٢٠٢٦-05-04T10:00:00Z"])


def _value_for(field):
    valid = BASE_RECORD.get(field.name)
    options = [st.just(ABSENT), st.none(), st.just(""), _tricky_text, _any_json]
    if valid is not None:
        options.insert(0, st.just(valid))
    if field.main_type == "integer":
        options += [st.integers(-5, 10**12), st.floats(-10, 1e6, allow_nan=False), st.just(3.0), st.just("12")]
    if field.main_type == "number":
        options += [st.floats(-1, 1e4, allow_nan=False, allow_infinity=False), st.integers(-3, 10**9), st.just("0.5")]
    if field.main_type == "boolean":
        options += [st.booleans(), st.just("true"), st.just(1)]
    if field.main_type == "array":
        options += [st.lists(st.text(max_size=5), max_size=3), st.lists(_any_json, max_size=3)]
    if "enum" in field.spec:
        options += [st.sampled_from([e for e in field.spec["enum"] if e is not None]), st.just("SUCCESS")]
    return st.one_of(*options)


records = st.fixed_dictionaries({f.name: _value_for(f) for f in CHECKED}).map(
    lambda d: {k: v for k, v in d.items() if v is not ABSENT}
)


def jsonschema_failures(validator, rec: dict) -> set[str]:
    failed = set()
    for err in validator.iter_errors({**rec, **PROVENANCE}):
        if err.validator == "required":
            failed.add(re.match(r"'(.+)' is a required property", err.message).group(1))
        elif err.absolute_path:
            failed.add(str(err.absolute_path[0]))
        else:
            raise AssertionError(f"unexpected top-level error: {err.message}")
    return failed


def engine_failures(tmp_path: Path, recs: list[dict], schema: dict) -> tuple[list[set[str]], bool]:
    """Each record's failed fields, and whether any record of the file carries a price source."""
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    loaded = load([path], fmt="canonical", schema=schema)
    rows = loaded.con.execute("SELECT _violations FROM records ORDER BY _row").fetchall()
    assert len(rows) == len(recs)
    priced = loaded.con.execute("SELECT count(*) FILTER (WHERE pricing_source <> '') FROM records").fetchone()[0] > 0
    return [{v.split(":", 1)[0] for v in r[0]} for r in rows], priced


POLICY_FIELDS = {
    "required": ["trace_id"],
    "cost_center": {"pattern": "^cc-[0-9]{4}$"},
    "environment": {"enum": ["production", "staging", "dev"]},
    "outcome": {"enum": ["success", "failure"]},
}


@pytest.mark.parametrize("overrides", [None, POLICY_FIELDS], ids=["base", "policy"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(records, min_size=1, max_size=25))
def test_same_verdicts_as_jsonschema(tmp_path, overrides, batch):
    schema = effective_schema(overrides)
    validator = jsonschema.Draft202012Validator(schema)
    got, priced = engine_failures(tmp_path, batch, schema)
    for rec, fields in zip(batch, got):
        want = jsonschema_failures(validator, rec)
        if not priced:  # a file none of whose records says how it was priced gets one input note instead
            want.discard("pricing_source")
        assert fields == want, json.dumps(rec)


def test_valid_base_record_passes_both(tmp_path):
    schema = base_schema()
    assert jsonschema_failures(jsonschema.Draft202012Validator(schema), record()) == set()
    assert engine_failures(tmp_path, [record()], schema)[0] == [set()]


def test_schema_is_valid_draft_2020_12_and_documented():
    schema = base_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for name, spec in schema["properties"].items():
        assert len(spec.get("description", "")) > 20, f"{name} needs a description a finance reader understands"
    required = set(schema["required"])
    for name in ("request_id", "timestamp", "provider", "model", "input_tokens", "output_tokens", "cost", "pricing_source",
                 "status", "retry_count", "team_id", "service_id", "cost_center", "environment", "api_key_id"):
        assert name in required
    for name in ("cached_input_tokens", "cache_write_tokens", "model_version", "provider_response_id", "retry_of", "trace_id",
                 "span_id", "parent_span_id", "principal", "on_behalf_of", "workflow_id", "prompt_template_id", "feature",
                 "product_line", "customer_tenant", "cache_hit", "batch", "outcome", "traffic_class", "tags"):
        assert name in schema["properties"] and name not in required


def test_policy_tightens_only():
    with pytest.raises(PolicyError, match="unknown field"):
        from_dict({"fields": {"team": {"pattern": "x"}}})
    with pytest.raises(PolicyError, match="provenance"):
        from_dict({"fields": {"source_file": {"pattern": "x"}}})
    with pytest.raises(PolicyError, match="string fields only"):
        from_dict({"fields": {"cost": {"pattern": "x"}}})
    p = from_dict({"fields": {"required": ["feature"]}})
    assert "feature" in p.schema["required"] and p.schema["properties"]["feature"]["type"] == "string"
