"""Issue 15, item 4: pricing provenance from the gateway, and a source that carries none said once, not per record.

The LiteLLM records start from LiteLLM's own StandardLoggingPayload fixture (tests/data/upstream), changed only in
the fields under test.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from click.testing import CliRunner

from auditor.cli import main

UPSTREAM = Path(__file__).resolve().parent / "data" / "upstream"
PAYLOAD = json.loads((UPSTREAM / "litellm/gcs_pub_sub_body/standard_logging_payload.json").read_text())
SPAN = UPSTREAM / "envoy-ai-gateway/testopeninference-spans/chat-streaming-detailed-usage.json"


def _doc(*args) -> dict:
    r = CliRunner().invoke(main, [*map(str, args), "--format", "json", "-q"])
    assert r.exit_code in (0, 1), r.output
    return json.loads(r.stdout)


def _payloads(tmp_path: Path, edits: list) -> Path:
    rows = []
    for i, edit in enumerate(edits):
        p = copy.deepcopy(PAYLOAD)
        p["id"] = f"chatcmpl-{i}"
        edit(p)
        rows.append(json.dumps(p))
    path = tmp_path / "litellm.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _missing_fields(doc: dict) -> dict:
    return next((f["details"]["fields"] for f in doc["findings"] if f["code"] == "CON001"), {})


def test_litellm_priced_without_a_logged_map_key_is_litellms_cost_calculator(tmp_path):
    def no_map(p):
        p.pop("model_map_information")

    def custom_price(p):  # LiteLLM logs model_map_key "" when a deployment's custom price was used
        p["model_map_information"] = {"model_map_key": "", "model_map_value": None}

    def unpriced(p):
        p.pop("model_map_information")
        p["response_cost"] = None

    def keep(p):
        pass

    doc = _doc(_payloads(tmp_path, [keep, no_map, custom_price, unpriced]))
    from auditor.api import load_records
    from auditor.policy import Policy

    loaded = load_records([tmp_path / "litellm.jsonl"], Policy())
    got = [r[0] for r in loaded.con.execute("SELECT pricing_source FROM records ORDER BY request_id").fetchall()]
    assert got == ["litellm/model_map:gpt-4o", "litellm/cost-calculator",
                                            "litellm/cost-calculator", None]
    # the one record LiteLLM did not price still lacks its price source (and its cost)
    assert _missing_fields(doc).get("pricing_source") == 1
    assert "no_pricing_source" not in doc["inputs"][0]


def test_a_source_that_logs_no_price_source_is_one_note_not_a_finding_per_record(tmp_path):
    doc = _doc(SPAN)
    inp = doc["inputs"][0]
    assert inp["no_pricing_source"] == doc["summary"]["records"] == 1
    assert sum("pricing_source:" in n for n in inp["notes"]) == 1
    assert "pricing_source" not in _missing_fields(doc)
    # the cost is still judged: no cost on a call that used tokens is PRC001
    assert any(f["code"] == "PRC001" for f in doc["findings"])


def test_a_file_where_some_records_carry_a_price_source_still_flags_the_others(tmp_path):
    def no_source(p):
        p.pop("model_map_information")
        p["response_cost"] = None

    doc = _doc(_payloads(tmp_path, [lambda p: None, no_source, no_source]))
    assert _missing_fields(doc).get("pricing_source") == 2
    assert "no_pricing_source" not in doc["inputs"][0]


def test_the_note_is_per_file_whatever_the_file_before_it(tmp_path):
    """The file's rows are those after the previous file's last _row: the last record of a LiteLLM file before an
    OTLP file must neither hide the OTLP file's note nor lose its own pricing_source check."""
    def no_source(p):
        p.pop("model_map_information")
        p["response_cost"] = None

    first = _payloads(tmp_path, [lambda p: None, no_source, lambda p: None])  # last record has a source
    doc = _doc(first, SPAN)
    by_name = {Path(i["path"]).name: i for i in doc["inputs"]}
    assert by_name[SPAN.name]["no_pricing_source"] == 1
    assert "no_pricing_source" not in by_name[first.name]
    assert _missing_fields(doc).get("pricing_source") == 1  # the LiteLLM record without one, still flagged
