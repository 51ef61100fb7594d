"""LiteLLM's other shapes end to end: the raw callback kwargs (the StandardLoggingPayload under
``standard_logging_object``, what a CustomLogger receives) and a SpendLogs row's ``env:`` request tag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.api import load_records
from auditor.policy import Policy

UPSTREAM = Path(__file__).resolve().parent / "data" / "upstream" / "litellm" / "gcs_pub_sub_body"
FIELDS = "request_id, model, provider, input_tokens, output_tokens, cost, timestamp"


def _read(path: Path) -> tuple[str, list[tuple]]:
    loaded = load_records([path], Policy())
    assert loaded.rejected == 0, loaded.rejects
    return loaded.inputs[0].format, loaded.con.execute(f"SELECT {FIELDS} FROM records ORDER BY _row").fetchall()


@pytest.mark.parametrize("container", ["jsonl", "json"])
def test_callback_kwargs_read_as_their_payload(tmp_path, container):
    payload = json.loads((UPSTREAM / "standard_logging_payload.json").read_text(encoding="utf-8"))
    kwargs = {"model": payload["model"], "call_type": "acompletion", "litellm_call_id": payload["id"],
              "litellm_params": {"metadata": {}}, "stream": False, "standard_logging_object": payload}
    bare, wrapped = tmp_path / "payload.jsonl", tmp_path / f"kwargs.{container}"
    bare.write_text(json.dumps(payload) + "\n")
    wrapped.write_text(json.dumps(kwargs) + "\n" if container == "jsonl" else json.dumps([kwargs, kwargs], indent=2))
    fmt, got = _read(wrapped)
    _, want = _read(bare)
    assert fmt == "litellm-kwargs"
    assert got == want * (1 if container == "jsonl" else 2)


def test_spendlogs_env_request_tag_is_the_environment(tmp_path):
    row = json.loads((UPSTREAM / "spend_logs_payload.json").read_text(encoding="utf-8"))
    row["request_tags"] = ["team:search", "env:prod"]
    p = tmp_path / "spend.json"
    p.write_text(json.dumps([row]))
    loaded = load_records([p], Policy())
    assert loaded.inputs[0].format == "litellm-spendlogs"
    assert loaded.con.execute("SELECT environment FROM records").fetchall() == [("prod",)]
