"""Real records from the upstream projects' own repositories (tests/data/upstream, see PROVENANCE.md) audit right.

For each file the LLM record count, the total cost and the input/output tokens are computed here from the raw
JSON with plain ``json`` and the upstream project's own rules (what its docs say each field means), not through
auditor's loaders, and compared with the audit. Every file must hold LLM records: a file that reads as none is a
shape we do not recognise, which must never look clean.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

import auditor
from auditor.api import load_records
from auditor.policy import Policy

UPSTREAM = Path(__file__).resolve().parent / "data" / "upstream"
FILES = sorted(p for p in UPSTREAM.rglob("*") if p.suffix in (".json", ".jsonl"))
Q = Decimal("0.000000000001")
LLM_TYPES = {"GENERATION", "EMBEDDING"}


def dec(x) -> Decimal:
    return Decimal(repr(x) if isinstance(x, float) else str(x)).quantize(Q)


def _langfuse_tokens(obs: dict) -> tuple[int, int]:
    """Langfuse's usage parts are disjoint and sum to total: input parts (cached ones included) and output parts."""
    details = obs.get("usageDetails") or {}
    if details:
        ins = sum(v for k, v in details.items() if k != "total" and k.startswith(("input", "prompt", "cache_")))
        outs = sum(v for k, v in details.items() if k.startswith(("output", "completion")))
        return ins, outs
    usage = obs.get("usage") or {}
    return usage.get("input") or 0, usage.get("output") or 0


def _langfuse_cost(obs: dict) -> Decimal:
    for v in ((obs.get("costDetails") or {}).get("total"), obs.get("totalCost"), obs.get("calculatedTotalCost"),
              (obs.get("usage") or {}).get("totalCost")):
        if v is not None:
            return dec(v)
    return Decimal(0)


def _observations(doc: dict) -> list[dict]:
    if "batch" in doc:  # ingestion events: creates and updates of one observation share its body id
        merged: dict[str, dict] = {}
        for event in doc["batch"]:
            kind = event["type"].split("-")[0]
            if kind in ("trace", "score", "sdk"):
                continue
            obs = merged.setdefault(event["body"]["id"], {"type": kind.upper()})
            obs.update({k: v for k, v in event["body"].items() if v is not None})
        return list(merged.values())
    return doc["observations"]


def expected(path: Path) -> tuple[int, Decimal, int, int]:
    """(LLM records, total cost, input tokens, output tokens) from the raw file."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    if "batch" in doc or "observations" in doc:
        llm = [o for o in _observations(doc) if str(o.get("type")).upper() in LLM_TYPES]
        toks = [_langfuse_tokens(o) for o in llm]
        return len(llm), sum((_langfuse_cost(o) for o in llm), Decimal(0)), sum(t[0] for t in toks), sum(t[1] for t in toks)
    if "spend" in doc:  # LiteLLM SpendLogs row
        return 1, dec(doc["spend"]), doc["prompt_tokens"], doc["completion_tokens"]
    if "standard_logging_object" in doc:
        doc = doc["standard_logging_object"]
    if "response_cost" in doc:  # LiteLLM StandardLoggingPayload
        return 1, dec(doc["response_cost"]), doc["prompt_tokens"], doc["completion_tokens"]
    raise AssertionError(f"{path}: no independent reading of this shape in the test")


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(UPSTREAM).as_posix() for p in FILES])
def test_upstream_file(path: Path) -> None:
    n, cost, tokens_in, tokens_out = expected(path)
    assert n > 0, "every upstream fixture holds LLM calls"
    loaded = load_records([path], Policy())
    assert loaded.inputs[0].format != "none", loaded.inputs[0].detected
    assert loaded.rejected == 0, loaded.rejects
    got = loaded.con.execute(
        "SELECT count(*), coalesce(sum(cost), 0), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0)"
        " FROM records WHERE record_kind = 'llm'").fetchall()[0]
    assert (got[0], got[1].quantize(Q), got[2], got[3]) == (n, cost, tokens_in, tokens_out)
    result = auditor.audit([path])
    assert Decimal(result.summary()["total_cost"]) == cost


def test_enough_upstream_files() -> None:
    """The collection covers several projects (PROVENANCE.md lists each file)."""
    projects = {p.relative_to(UPSTREAM).parts[0] for p in FILES}
    provenance = (UPSTREAM / "PROVENANCE.md").read_text(encoding="utf-8")
    for p in FILES:
        assert p.relative_to(UPSTREAM).as_posix() in provenance, p
    assert len(projects) >= 2 and len(FILES) >= 7
