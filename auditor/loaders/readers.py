"""Turn one input file into a stream of JSON documents, each with where it came from.

Every reader yields Arrow record batches of ``doc`` (JSON text), ``source_line`` (1-based line of
the file the document starts on) and ``source_index`` (position inside the line or array: the
span index in an OTLP line, the element index of a JSON array). Anything that is not a usable
document is reported to ``rejects`` with its line and reason; nothing is dropped silently.
JSON validity itself is checked later, vectorized, by the engine (see ``loaders.pipeline``).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pyarrow as pa

from auditor.loaders.arrays import _SURROGATE, MAX_RECORD_BYTES, _array_elements, _Text
from auditor.loaders.sources import open_binary

BATCH_ROWS = 65_536
BLOCK_BYTES = 16 << 20
JSONL_BLOCK_BYTES = 16 << 20  # one Arrow batch per block: about 10k records of 1.5 KB
# One record's text: longer is one rejected record. DuckDB builds a record's row in its buffer pool, capped at
# 800MB while loading (pipeline.LOAD_MEMORY_LIMIT); a 150 MB line needed a 512 MiB block there and the whole
# audit stopped out of memory (issue 18). 64 MiB leaves room under the cap; no gateway writes such a record.
MAX_LINE_BYTES = MAX_RECORD_BYTES
MAX_DOCUMENT_BYTES = 1 << 30

DOC_SCHEMA = pa.schema([("doc", pa.string()), ("source_line", pa.int64()), ("source_index", pa.int64())])


@dataclass
class Rejects:
    """Unreadable records of one file: (line, reason)."""

    items: list[tuple[int, str]] = field(default_factory=list)

    def add(self, line: int, reason: str) -> None:
        self.items.append((line, reason))


class _Batcher:
    def __init__(self) -> None:
        self.docs: list[str] = []
        self.lines: list[int] = []
        self.idx: list[int | None] = []

    def add(self, doc: str, line: int, index: int | None = None) -> None:
        self.docs.append(doc)
        self.lines.append(line)
        self.idx.append(index)

    def full(self) -> bool:
        return len(self.docs) >= BATCH_ROWS

    def flush(self) -> pa.RecordBatch:
        batch = pa.record_batch(
            [pa.array(self.docs, pa.string()), pa.array(self.lines, pa.int64()), pa.array(self.idx, pa.int64())],
            schema=DOC_SCHEMA,
        )
        self.__init__()
        return batch


def _skip_rest_of_line(fh) -> bytes:
    """Read past the end of an over-long line; returns what follows its newline."""
    while True:
        block = fh.read(BLOCK_BYTES)
        if not block:
            return b""
        nl = block.find(b"\n")
        if nl >= 0:
            return block[nl + 1 :]


def _raw_lines(path: Path, rejects: Rejects) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of each non-blank line, reading big blocks; a truncated compressed
    stream ends the file with a reject instead of an exception."""
    lineno = 0
    pending = b""
    with open_binary(path) as fh:
        while True:
            try:
                block = fh.read(BLOCK_BYTES)
            except (EOFError, OSError, Exception) as exc:  # gzip/zstd raise several types on a cut stream
                rejects.add(lineno + 1, f"the file ends early or is corrupt ({type(exc).__name__}: {exc}); lines after {lineno} could not be read")
                return
            if not block:
                break
            block = pending + block
            parts = block.split(b"\n")
            pending = parts.pop()
            for part in parts:
                lineno += 1
                if len(part) > MAX_LINE_BYTES:  # a line that ends in this block is checked too, not only a pending one
                    rejects.add(lineno, f"line longer than {MAX_LINE_BYTES >> 20} MiB")
                elif part.strip():
                    yield lineno, part
            if len(pending) > MAX_LINE_BYTES:
                lineno += 1
                rejects.add(lineno, f"line longer than {MAX_LINE_BYTES >> 20} MiB")
                pending = _skip_rest_of_line(fh)
        if pending.strip():
            lineno += 1
            yield lineno, pending


def line_numbers(path: Path) -> Iterator[int]:
    """The numbers of the non-blank lines of a plain or compressed file."""
    for line, _ in _raw_lines(path, Rejects()):
        yield line


def _decode(raw: bytes, line: int, rejects: Rejects) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        rejects.add(line, f"not UTF-8 text (byte {exc.start})")
        return None
    return text.lstrip("\ufeff").rstrip("\r")


def _read_block(fh, n: int, state: dict) -> bytes:
    """Up to ``n`` bytes; a cut .gz/.zst stream first gives the bytes it could decompress, then raises."""
    if "exc" in state:
        raise state.pop("exc")
    read1 = getattr(fh, "read1", None)
    if read1 is None:
        return fh.read(n)
    buf = bytearray()
    while len(buf) < n:
        try:
            chunk = read1(n - len(buf))
        except Exception as exc:  # noqa: BLE001 - re-raised on the next call, after the readable lines
            if not buf:
                raise
            state["exc"] = exc
            break
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def _line_blocks(path: Path, rejects: Rejects) -> Iterator[tuple[int, bytes]]:
    """(number of the first line, bytes of whole lines without the last newline) per block of the file:
    the same lines, numbers and rejects as :func:`_raw_lines`, without a Python step per line."""
    lineno = 0
    pending = b""
    state: dict = {}
    with open_binary(path) as fh:
        while True:
            try:
                block = _read_block(fh, JSONL_BLOCK_BYTES, state)
            except (EOFError, OSError, Exception) as exc:  # gzip/zstd raise several types on a cut stream
                rejects.add(lineno + 1, f"the file ends early or is corrupt ({type(exc).__name__}: {exc}); lines after {lineno} could not be read")
                return
            if not block:
                break
            if pending:
                # The pending line ends in this block: past the limit it is one reject (it was checked only while
                # it stayed pending, so a line up to a block longer than the limit passed).
                nl = block.find(b"\n")
                if 0 <= nl and len(pending) + nl > MAX_LINE_BYTES:
                    lineno += 1
                    rejects.add(lineno, f"line longer than {MAX_LINE_BYTES >> 20} MiB")
                    pending, block = b"", block[nl + 1:]
                    if not block:
                        continue
            block = pending + block if pending else block
            cut = block.rfind(b"\n")
            if cut < 0:
                pending = block
            else:
                pending = block[cut + 1 :]
                yield lineno + 1, block[:cut]
                lineno += block.count(b"\n", 0, cut) + 1
            if len(pending) > MAX_LINE_BYTES:
                lineno += 1
                rejects.add(lineno, f"line longer than {MAX_LINE_BYTES >> 20} MiB")
                pending = _skip_rest_of_line(fh)
        if pending.strip():
            yield lineno + 1, pending


_BLANK = r"^[ \t\n\r\x0b\x0c]*$"  # what bytes.strip() removes


def _block_batch(first: int, data: bytes, rejects: Rejects) -> pa.RecordBatch | None:
    """One block of lines to a batch, vectorized: split at newlines (zero-copy; each document keeps its
    newline, which is JSON whitespace), drop blank lines, check UTF-8, strip a BOM."""
    import numpy as np
    import pyarrow.compute as pc

    nl = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    offsets = np.empty(len(nl) + 2, np.int64)
    offsets[0], offsets[1:-1], offsets[-1] = 0, nl + 1, len(data)
    lines = pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    numbers = pa.array(np.arange(first, first + len(lines), dtype=np.int64))
    blank = pc.match_substring_regex(lines, _BLANK)
    if pc.any(blank).as_py():
        keep = pc.invert(blank)
        lines, numbers = lines.filter(keep), numbers.filter(keep)
    try:
        text = lines.cast(pa.large_string())
    except pa.ArrowInvalid:  # some line is not UTF-8: find which, in Python, for this block only
        good, docs = [], []
        for line, raw in zip(numbers.to_pylist(), lines.to_pylist()):
            doc = _decode(raw.rstrip(b"\n"), line, rejects)
            good.append(doc is not None)
            if doc is not None:
                docs.append(doc)
        numbers = numbers.filter(pa.array(good, pa.bool_()))
        text = pa.array(docs, pa.large_string())
    else:
        if pc.any(pc.starts_with(text, "\ufeff")).as_py():
            text = pc.utf8_ltrim(text, characters="\ufeff")
    if len(text) == 0:
        return None
    return pa.record_batch([text, numbers, pa.nulls(len(text), pa.int64())], schema=_LARGE_DOC_SCHEMA)


_LARGE_DOC_SCHEMA = pa.schema([("doc", pa.large_string()), ("source_line", pa.int64()), ("source_index", pa.int64())])


def read_jsonl(path: Path, rejects: Rejects) -> Iterator[pa.RecordBatch]:
    """One Arrow batch per block of about JSONL_BLOCK_BYTES; no Python step per line (unless a block holds
    a line that is not UTF-8)."""
    for first, data in _line_blocks(path, rejects):
        batch = _block_batch(first, data, rejects)
        if batch is not None:
            yield batch


def _line_counter(text: str) -> Callable[[int], int]:
    """Line number (1-based) of a character offset, for offsets that only grow."""
    state = {"pos": 0, "line": 1}

    def line_of(offset: int) -> int:
        state["line"] += text.count("\n", state["pos"], offset)
        state["pos"] = offset
        return state["line"]

    return line_of


def _read_text(path: Path, rejects: Rejects) -> str | None:
    with open_binary(path) as fh:
        try:
            data = fh.read(MAX_DOCUMENT_BYTES + 1)
        except Exception as exc:  # a cut compressed stream
            rejects.add(1, f"the file ends early or is corrupt ({type(exc).__name__}: {exc})")
            return None
    if len(data) > MAX_DOCUMENT_BYTES:
        rejects.add(1, "a single JSON document larger than 1 GiB: write it as JSON Lines instead")
        return None
    try:
        return data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        rejects.add(data.count(b"\n", 0, exc.start) + 1, f"not UTF-8 text (byte {exc.start})")
        return None


def _read_array(t: _Text, i: int, rejects: Rejects, b: _Batcher) -> Iterator[pa.RecordBatch]:
    """The elements of the array whose ``[`` is at ``i``, one record each, streamed; the caller continues
    after the array at t.pos."""
    for line, index, raw, _ in _array_elements(t, i, rejects):
        b.add(raw, line, index)
        if b.full():
            yield b.flush()


def json_values(path: Path, rejects: Rejects) -> Iterator[tuple[int, int | None, object]]:
    """(line, index in its top-level array or None, value) of each JSON value of a file. Top-level arrays are
    streamed element by element, so a readers' memory does not grow with the file (a pretty-printed export of
    spans or observations can be many GB); anything else (one object, several written one after another) is
    parsed whole, up to MAX_DOCUMENT_BYTES."""
    with open_binary(path) as fh:
        t = _Text(fh)
        t.more()
        if t.text.startswith("\ufeff"):
            t.text = t.text[1:]
        i = t.skip_ws(0)
        if i < len(t.text) and t.text[i] == "[":
            while i < len(t.text) and t.text[i] == "[":
                for line, index, _, value in _array_elements(t, i, rejects):
                    yield line, index, value
                i = t.skip_ws(t.pos)
            if i < len(t.text):
                rejects.add(t.line_of(i), "text after the end of the JSON array")
            return
    text = _read_text(path, rejects)
    if text is not None:
        for line, _, _, doc in json_documents(text, rejects):
            yield line, None, doc


def json_documents(text: str, rejects: Rejects, i: int = 0) -> Iterator[tuple[int, int, int, object]]:
    """(line, start, end, value) of each JSON document of ``text`` from ``i``, written one after another with
    only whitespace between (the SDK's ConsoleSpanExporter prints each span so). One that does not parse is one
    reject at its line, and ends the sequence: where the next document would start is unknown."""
    dec = json.JSONDecoder()
    line_of = _line_counter(text)  # counting from the start for every document would be quadratic in the file
    n = len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            return
        try:
            value, end = dec.raw_decode(text, i)
        except json.JSONDecodeError as exc:
            rejects.add(exc.lineno, f"malformed JSON: {exc.msg}")
            return
        except RecursionError:
            rejects.add(line_of(i), "malformed JSON: nested too deeply")
            return
        yield line_of(i), i, end, value
        i = end


def read_json_document(path: Path, rejects: Rejects, unwrap: Callable[[object], list | None] | None = None) -> Iterator[pa.RecordBatch]:
    """A file holding JSON documents: arrays of records (each element one record, with its own line number;
    streamed, so the file's size does not matter; several arrays one after the other are each read), an
    object wrapping a list (``{"data": [...]}``), or a single record object. Text after the last document is
    one reject."""
    b = _Batcher()
    with open_binary(path) as fh:
        t = _Text(fh)
        t.more()
        if t.text.startswith("\ufeff"):
            t.text = t.text[1:]
        i = t.skip_ws(0)
        if i < len(t.text) and t.text[i] == "[":
            while i < len(t.text) and t.text[i] == "[":
                yield from _read_array(t, i, rejects, b)
                i = t.skip_ws(t.pos)
            if i < len(t.text):
                rejects.add(t.line_of(i), "text after the end of the JSON array")
            if b.docs:
                yield b.flush()
            return
        while t.more():
            if len(t.text) > MAX_DOCUMENT_BYTES:
                rejects.add(1, "a single JSON object larger than 1 GiB: write it as JSON Lines instead")
                return
    text = t.text
    if _SURROGATE.search(text):
        bad = _SURROGATE.search(text).start()
        rejects.add(text.count("\n", 0, bad) + 1, "not UTF-8 text")
        return
    first = next(json_documents(text, rejects, i), None)  # one document: what follows it is a reject, not read
    if first is None:
        return
    _, i, end, obj = first
    items = unwrap(obj) if unwrap else None
    if items is None and isinstance(obj, dict) and isinstance(obj.get("data"), list):
        items = obj["data"]
    if items is None:
        b.add(text[i:end], text.count("\n", 0, i) + 1)
    else:
        for index, item in enumerate(items):
            try:
                b.add(json.dumps(item), 1, index)
            except RecursionError:
                rejects.add(1, f"element {index} of the list: nested too deeply")
            if b.full():
                yield b.flush()
    rest = len(text) - len(text[end:].lstrip())
    if rest < len(text):
        rejects.add(text.count("\n", 0, rest) + 1, "text after the end of the JSON document")
    if b.docs:
        yield b.flush()


def read_csv(path: Path, rejects: Rejects) -> Iterator[pa.RecordBatch]:
    """CSV with a header row; each row becomes an object of strings (the mapping reads types)."""
    b = _Batcher()
    with open_binary(path) as raw:
        # Bytes that are not UTF-8 stay as lone surrogates: the row holding them is rejected, the next rows read.
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
        reader = csv.reader(text)
        try:
            header = next(reader, None)
        except (UnicodeDecodeError, csv.Error) as exc:
            rejects.add(1, f"unreadable CSV header: {exc}")
            return
        if not header:
            return
        if any(_SURROGATE.search(h) for h in header):
            rejects.add(1, "unreadable CSV header: not UTF-8 text")
            return
        header = [h.lstrip("\ufeff").strip() for h in header]
        start = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError as exc:
                rejects.add(start, f"not UTF-8 text ({exc.reason}); the rest of the file could not be read")
                break
            except csv.Error as exc:
                rejects.add(start, f"malformed CSV: {exc}")
                start = reader.line_num + 1
                continue
            if not row or all(not c.strip() for c in row):
                start = reader.line_num + 1
                continue
            if any(_SURROGATE.search(c) for c in row):
                rejects.add(start, "not UTF-8 text")
            elif len(row) != len(header):
                rejects.add(start, f"row has {len(row)} cells, the header has {len(header)}")
            else:
                b.add(json.dumps(dict(zip(header, row))), start)
                if b.full():
                    yield b.flush()
            start = reader.line_num + 1
    if b.docs:
        yield b.flush()
