"""Which format a file is in: its container (JSON Lines, one JSON document, CSV, Parquet) and its
source (LiteLLM, SpendLogs, OTLP, a preset, or canonical records), decided from its first record."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from auditor.loaders.mapping import Mapping_, MappingError, load_mapping, parse_mapping
from auditor.loaders.sources import PARQUET_MAGIC, InputError, head_bytes

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


def _sample_keys(head: bytes) -> tuple[str, set[str]]:
    """(container, keys of the first record) from a file's first bytes."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if not stripped:
        return "empty", set()
    line = _first_line(head).decode("utf-8", errors="replace").lstrip("\ufeff")
    if stripped[0] in "[{":
        try:
            first = json.loads(line)
        except json.JSONDecodeError:
            first = None
        if isinstance(first, dict) and not (len(text.strip().splitlines()) == 1 and isinstance(first.get("data"), list)):
            return "jsonl", set(first)
        # One JSON document (pretty-printed object, or an array): look at its first record.
        dec = json.JSONDecoder()
        i = len(text) - len(stripped)
        if stripped[0] == "[":
            j = i + 1
            while j < len(text) and text[j] in " \t\r\n":
                j += 1
            try:
                elem, _ = dec.raw_decode(text, j)
            except json.JSONDecodeError:
                return "json", set()
            return "json", set(elem) if isinstance(elem, dict) else set()
        try:
            obj, _ = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            # The head may cut a big document: find the keys at least at the top level.
            return "json", {k for k in ("resourceSpans", "data", "observations", "batch", "trace", "standard_logging_object")
                            if f'"{k}"' in text[:4096]}
        if isinstance(obj, dict) and isinstance(obj.get("data"), list) and obj["data"] and isinstance(obj["data"][0], dict):
            return "json", set(obj["data"][0])
        return "json", set(obj) if isinstance(obj, dict) else set()
    if b"\x00" in head[:4096]:
        return "binary", set()
    try:
        header = next(csv.reader(io.StringIO(line)))
    except (csv.Error, StopIteration):
        return "unknown", set()
    if len(header) >= 2 and all(h.strip() and len(h) < 200 for h in header):
        return "csv", {h.strip().lstrip("\ufeff") for h in header}
    if len(header) >= 2:  # comma-separated, but the first row has empty or very long cells: data, not names
        return "headless", set()
    return "unknown", set()


def source_by_shape(keys: set[str]) -> tuple[str, str] | None:
    """(source, reason) for the exports recognised by their envelope rather than by their records' fields."""
    if "resourceSpans" in keys:
        return "otlp", "OTLP ExportTraceServiceRequest (resourceSpans)"
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
        except Exception as exc:  # pyarrow raises ArrowInvalid / OSError for damaged files: one rejected file
            return Detected("binary", "none", f"unreadable Parquet file: {exc}")
        container = "parquet"
    else:
        container, keys = _sample_keys(head)
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
    if found is None:
        return Detected(container, "none", "no known log format matches its fields: " + ", ".join(sorted(keys)[:8]))
    return Detected(container, found[0], found[1])
