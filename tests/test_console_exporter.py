"""Spans captured from the OpenTelemetry SDK's ConsoleSpanExporter (issue 14).

The SDK prints each finished span as its own pretty-printed JSON object, one after another with no
array or separator, so a captured stdout is a sequence of documents. The spans here are written by the
real SDK, not by hand.
"""
from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest

import auditor
from auditor.policy import Policy

trace = pytest.importorskip("opentelemetry.sdk.trace")
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor  # noqa: E402


def _capture(n: int) -> str:
    out = io.StringIO()
    provider = trace.TracerProvider(resource=Resource.create({"service.name": "search-api"}))
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=out)))
    tracer = provider.get_tracer("test")
    for i in range(n):
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.system", "openai")
            span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            span.set_attribute("gen_ai.usage.input_tokens", 100 + i)
            span.set_attribute("gen_ai.usage.output_tokens", 20)
            span.set_attribute("gen_ai.usage.cost", 0.001 * (i + 1))
            span.set_attribute("team.name", "search")
        with tracer.start_as_current_span("retrieve"):
            pass
    provider.shutdown()
    return out.getvalue()


def test_concatenated_console_spans_are_all_read(tmp_path):
    text = _capture(4)
    # the captured stream is not one JSON document: that is the point of the test
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    path = tmp_path / "console.txt"
    path.write_text(text)
    result = auditor.audit([path], Policy())
    (src,) = result.inputs
    assert (src.records, src.context_spans, src.rejected) == (4, 4, 0)
    rows = result.con.execute("SELECT team_id, input_tokens, cost FROM records WHERE record_kind = 'llm' "
                              "ORDER BY input_tokens").fetchall()
    assert [r[1] for r in rows] == [100, 101, 102, 103]
    assert {r[0] for r in rows} == {"search"}
    assert sum(Decimal(r[2]) for r in rows) == Decimal("0.010")


def test_damaged_second_span_is_reported_with_its_line(tmp_path):
    text = _capture(2)
    cut = text.index("}\n{", text.index("}\n{") + 1) + 2
    path = tmp_path / "console.txt"
    path.write_text(text[:cut] + "{ broken\n")
    result = auditor.audit([path], Policy())
    (src,) = result.inputs
    # the two spans before the damage are kept, the damaged object is one reject at its own line
    assert (src.records, src.context_spans, src.rejected) == (1, 1, 1)
    (reject,) = result.rejects
    assert reject.line == text[:cut].count("\n") + 1 and "malformed JSON" in reject.reason
