"""Mapping files: fallback paths with their own transform (provider_prefix), and the errors a bad entry gives."""

from __future__ import annotations

import json

import pytest

from auditor.loaders import load
from auditor.loaders.mapping import MappingError, load_mapping


def _spendlog(rid: str, model: str, **extra) -> dict:
    return {"request_id": rid, "call_type": "acompletion", "api_key": "88dc28d0f030c55e", "spend": 0.001,
            "prompt_tokens": 200, "completion_tokens": 100, "startTime": "2026-05-04T10:00:00Z", "model": model,
            "team_id": "team-a", "metadata": {}, "cache_key": "", "request_tags": [], **extra}


def test_provider_from_the_model_name_when_the_log_has_none(tmp_path):
    # Third-party SpendLogs exports put the provider only in the model name: "anthropic/claude-…".
    path = tmp_path / "spend.jsonl"
    rows = [_spendlog("r1", "anthropic/claude-sonnet-4-5"),
            _spendlog("r2", "gpt-4o", custom_llm_provider="openai"),
            _spendlog("r3", "openai/gpt-4o", custom_llm_provider="azure"),  # the log's own field wins
            _spendlog("r4", "my-model"),
            _spendlog("r5", "/odd")]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    loaded = load([str(path)])
    assert loaded.inputs[0].format == "litellm-spendlogs"
    got = loaded.con.execute("SELECT request_id, provider, model FROM records ORDER BY _row").fetchall()
    assert got == [("r1", "anthropic", "anthropic/claude-sonnet-4-5"), ("r2", "openai", "gpt-4o"),
                   ("r3", "azure", "openai/gpt-4o"), ("r4", None, "my-model"), ("r5", None, "/odd")]
    missing = loaded.con.execute("SELECT request_id FROM records WHERE list_contains(_violations, 'provider:absent')"
                                 " ORDER BY 1").fetchall()
    assert missing == [("r4",), ("r5",)]


def test_a_table_in_a_list_of_paths_needs_one_path(tmp_path):
    bad = tmp_path / "m.toml"
    bad.write_text('name = "m"\n[fields]\nprovider = ["p", {transform = "provider_prefix"}]\n', encoding="utf-8")
    with pytest.raises(MappingError, match="needs a path"):
        load_mapping(bad)
    bad.write_text('name = "m"\n[fields]\nprovider = ["p", {path = "model", transform = "nope"}]\n', encoding="utf-8")
    with pytest.raises(MappingError, match="unknown transform 'nope'"):
        load_mapping(bad)


def test_mapping_reader_is_one_the_loader_has(tmp_path):
    from auditor.loaders.mapping import MappingError, load_mapping

    p = tmp_path / "m.toml"
    p.write_text('name = "mine"\nreader = "jaeger"\n[fields]\nrequest_id = "id"\n')
    with pytest.raises(MappingError, match="reader = 'jaeger': use one of otlp, langfuse-api"):
        load_mapping(p)
    p.write_text('name = "mine"\nreader = "otlp"\n[fields]\nrequest_id = "spanId"\n')
    assert load_mapping(p).reader == "otlp"
