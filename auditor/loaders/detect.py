"""Which format a file is in: its container (JSON Lines, one JSON document, CSV, Parquet) and its
source (LiteLLM, SpendLogs, OTLP, a preset, or canonical records), decided from its first record."""

from __future__ import annotations

import csv
import io
import itertools
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterator

from auditor.loaders.mapping import Mapping_, MappingError, load_mapping, parse_mapping
from auditor.loaders.otlp import CLOUDWATCH_SPAN_FIELDS, OTLP_SPAN_FIELDS
from auditor.loaders.sources import PARQUET_MAGIC, InputError, head_bytes, open_binary

import tomllib


@dataclass(frozen=True)
class Detected:
    container: str  # jsonl | json | csv | parquet | empty | text (lines of an unknown format) | binary
    source: str  # a preset name, "otlp", or "mapping:<file>"
    reason: str


@lru_cache(maxsize=None)
def presets() -> dict[str, Mapping_]:
    out = {}
    for entry in sorted(resources.files("auditor").joinpath("loaders", "presets").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            doc = tomllib.loads(entry.read_text(encoding="utf-8"))
            m = parse_mapping(doc, f"preset {entry.name}")
            out[m.name] = m
    return out


def get_mapping(name_or_path: str) -> Mapping_:
    """A preset by name, or a mapping TOML file by path."""
    p = presets()
    if name_or_path in p:
        return p[name_or_path]
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return load_mapping(path)
    raise MappingError(f"unknown format {name_or_path!r}: use one of {', '.join(sorted(p))}, or a mapping .toml file")


def _first_line(head: bytes) -> bytes:
    for line in head.split(b"\n"):
        if line.strip():
            return line.strip()
    return b""


SAMPLE_LINES = 5  # lines looked at when the first one is damaged or a header
FIRST_RECORD_MAX = 64 << 20  # as readers.MAX_LINE_BYTES: a longer first record is not read for detection


def _lines(path: Path) -> Iterator[bytes]:
    """The file's non-blank lines, each read whole however long (up to FIRST_RECORD_MAX), lazily."""
    with open_binary(path) as fh:
        pending = b""
        while True:
            try:
                block = fh.read1(1 << 20) if hasattr(fh, "read1") else fh.read(1 << 20)
            except Exception:  # noqa: BLE001 - a damaged stream: what was read decides, the reader reports the rest
                block = b""
            if not block:
                break
            pending += block
            while (nl := pending.find(b"\n")) >= 0:
                line, pending = pending[:nl], pending[nl + 1:]
                if line.strip():
                    yield line
            if len(pending) > FIRST_RECORD_MAX:
                return
        if pending.strip():
            yield pending


def _json_line(line: bytes) -> object:
    try:
        return json.loads(line.decode("utf-8").lstrip("\ufeff").strip())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None


def _first_value(path: Path, element: bool) -> object:
    """Parsed from a growing prefix of the file (never the whole file when it is big; None past FIRST_RECORD_MAX):
    with ``element``, the first element of the JSON array the file holds; else the JSON object it opens with."""
    dec = json.JSONDecoder()
    with open_binary(path) as fh:
        data = b""
        while True:
            try:
                block = fh.read(max(len(data), 1 << 16))
            except Exception:  # noqa: BLE001 - damaged stream
                block = b""
            data += block
            text = data.decode("utf-8", errors="ignore").lstrip("\ufeff").lstrip()
            if text.startswith("[" if element else "{"):
                j = len(text) - len(text[1:].lstrip()) if element else 0
                try:
                    return dec.raw_decode(text, j)[0]
                except (json.JSONDecodeError, RecursionError):
                    pass
            if not block or len(data) > FIRST_RECORD_MAX:
                return None


def _sample_keys(path: Path, head: bytes) -> tuple[str, list[set[str]]]:
    """(container, keys of the first records) of a file: its first record read whole, however long it is; when
    the first line is damaged or an object that is not a record (a header), the next few lines are looked at too."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = text.lstrip().lstrip("\x00")
    if not stripped:
        return "empty", []
    if stripped[0] in "[{":
        lines = list(itertools.islice(_lines(path), SAMPLE_LINES))
        parsed = [_json_line(line) for line in lines]
        objects = [set(v) for v in parsed if isinstance(v, dict)]
        whole = len(lines) == 1 and isinstance(parsed[0], dict)
        if whole and isinstance(parsed[0].get("data"), list):
            pass  # one object wrapping a list of records, on one line: a JSON document
        elif whole or len(lines) > 1 and sum(v is not None for v in parsed) >= max(1, len(lines) // 2):
            # JSON Lines (some lines may be damaged, or each an array of records: the reader rejects those)
            for v in parsed:
                if isinstance(v, list):
                    objects += [set(e) for e in v[:1] if isinstance(e, dict)]
            return "jsonl", objects
        if stripped[0] == "[":
            elem = _first_value(path, element=True)
            return "json", [set(elem)] if isinstance(elem, dict) else []
        return "json", _document_keys(text, path)
    if b"\x00" in head[:4096]:
        return "binary", []
    line = _first_line(head).decode("utf-8", errors="replace").lstrip("\ufeff")
    try:
        header = next(csv.reader(io.StringIO(line)))
    except (csv.Error, StopIteration):
        return "unknown", []
    if len(header) >= 2 and all(h.strip() and len(h) < 200 for h in header):
        return "csv", [{h.strip().lstrip("\ufeff") for h in header}]
    if len(header) >= 2:  # comma-separated, but the first row has empty or very long cells: data, not names
        return "headless", []
    return "unknown", []


def _document_keys(text: str, path: Path) -> list[set[str]]:
    """Keys of a pretty-printed JSON object document: whole in ``text`` (the head), else read on from the file (a
    Langfuse trace whose ``trace`` object alone fills the head has ``observations`` after it), else the top-level
    hints in the head."""
    dec = json.JSONDecoder()
    i = len(text) - len(text.lstrip())
    try:
        obj, _ = dec.raw_decode(text, i)
    except (json.JSONDecodeError, RecursionError):
        obj = _first_value(path, element=False)
    if obj is None:
        return [{k for k in ("resourceSpans", "data", "observations", "batch", "trace", "standard_logging_object")
                 if f'"{k}"' in text[:4096]}]
    if isinstance(obj, dict) and isinstance(obj.get("data"), list) and obj["data"] and isinstance(obj["data"][0], dict):
        return [set(obj["data"][0])]
    return [set(obj)] if isinstance(obj, dict) else []


def source_by_shape(keys: set[str]) -> tuple[str, str] | None:
    """(source, reason) for the exports recognised by their envelope rather than by their records' fields."""
    if "resourceSpans" in keys:
        return "otlp", "OTLP ExportTraceServiceRequest (resourceSpans)"
    if {"name", "attributes"} <= keys and not keys - OTLP_SPAN_FIELDS:
        return "otlp", "OTLP Span objects (proto3 JSON) outside an ExportTraceServiceRequest"
    if {"name", "attributes"} <= keys and (keys & {"spanContext", "context"} and keys & {"startTime", "start_time"}
                                           or {"span_id", "trace_id"} <= keys
                                           or not keys - {"name", "attributes", "parent_span_id", "parentSpanId"}):
        return "otlp", "OpenTelemetry spans as JSON objects (name, ids, attributes object), not OTLP"
    if {"name", "attributes", "traceId", "spanId"} <= keys and not keys - OTLP_SPAN_FIELDS - CLOUDWATCH_SPAN_FIELDS:
        return "otlp", "OpenTelemetry spans as CloudWatch stores them (aws/spans: OTLP names, attributes as objects)"
    if "raw_otel_json" in keys and not keys - {"timestamp", "raw_otel_json"}:
        return "otlp", "CloudWatch aws/spans query results (timestamp, raw_otel_json)"
    if "batch" in keys and not keys - {"batch", "metadata"}:
        return "langfuse-api", "Langfuse ingestion batch (batch of trace/observation events)"
    if "observations" in keys and ({"trace"} <= keys or {"id", "timestamp"} <= keys or "userId" in keys):
        return "langfuse-api", "Langfuse trace with its observations"
    if "standard_logging_object" in keys:
        return "litellm-kwargs", "LiteLLM callback kwargs (standard_logging_object)"
    return None


def best_preset(keys: set[str]) -> tuple[str, str] | None:
    scored = []
    for name, m in presets().items():
        if not m.detect_keys:
            continue
        hits = sorted(keys & set(m.detect_keys))
        if len(hits) >= m.detect_min:
            scored.append((len(hits) / len(m.detect_keys), len(hits), name, hits))
    if not scored:
        return None
    scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
    _, _, name, hits = scored[0]
    return name, f"fields {', '.join(hits[:4])}{'…' if len(hits) > 4 else ''}"


def detect(path: Path, forced: str | None = None) -> Detected:
    try:
        head = head_bytes(path)
    except InputError as exc:  # e.g. a .gz cut before its first block: one unreadable file, not an unusable audit
        return Detected("binary", "none", str(exc).split(": ", 1)[-1])
    if head.startswith(PARQUET_MAGIC):
        import pyarrow.parquet as pq

        try:
            keys = set(pq.read_schema(path).names)
            samples = [keys]
        except Exception as exc:  # pyarrow raises ArrowInvalid / OSError for damaged files: one rejected file
            return Detected("binary", "none", f"unreadable Parquet file: {exc}")
        container = "parquet"
    else:
        container, samples = _sample_keys(path, head)
        keys = samples[0] if samples else set()
    if container == "empty":
        return Detected("empty", forced or "none", "the file is empty")
    if container == "headless" and not forced:
        return Detected("text", "none", "CSV without a header row? (its first row has empty or very long cells, so it"
                        " holds data, not column names)")
    if container in ("binary", "unknown") and not forced:
        return Detected("text" if container == "unknown" else container, "none", "not JSON, JSON Lines, CSV or Parquet")
    if forced:
        return Detected(container if container not in ("binary", "unknown", "headless") else "jsonl", forced, "--format")
    shape = source_by_shape(keys)
    if shape is not None:
        return Detected(container, *shape)
    found = best_preset(keys)
    for later in samples[1:]:
        if found is not None:
            break
        if "resourceSpans" in later:
            return Detected(container, "otlp", "OTLP ExportTraceServiceRequest (resourceSpans)")
        found = best_preset(later)  # the first record was a header or damaged: the next one decides
    if found is None and container == "jsonl" and "data" in keys:
        found = _api_pages(path)
    if found is None:
        return Detected(container, "none", "no known log format matches its fields: " + ", ".join(sorted(keys)[:8]))
    return Detected(container, found[0], found[1])


def _api_pages(path: Path) -> tuple[str, str] | None:
    """Langfuse API responses saved one page per line (``{data: [...], meta}``), as a script paging through
    GET /api/public/observations writes them. Only Langfuse's reader unwraps ``data`` on each line; for any
    other source such a line would be read as one record, so those stay unrecognised."""
    first = _json_line(next(_lines(path), b""))
    items = first.get("data") if isinstance(first, dict) else None
    if not (isinstance(items, list) and items and isinstance(items[0], dict)):
        return None
    found = best_preset(set(items[0])) or source_by_shape(set(items[0]))
    if found is None or found[0] != "langfuse-api":
        return None
    return "langfuse-api", f"Langfuse API pages ({{data, meta}}) one per line: {found[1]}"
