"""Top-level JSON arrays read element by element in a bounded window of the file's text: a record of any size
is one element, and the file's size does not matter. A malformed element is one reject (the scan for its end uses
brackets and strings only), and reading goes on at the next one."""

from __future__ import annotations

import codecs
import json
import re
from typing import Any, Iterator

# The record limit of every reader (readers.MAX_LINE_BYTES is this): past it a record is one reject, in a JSON Lines
# line as in an array element, so a 70 MB element is not accepted in one shape and rejected in the other.
MAX_RECORD_BYTES = 64 << 20

_SURROGATE = re.compile("[\udc80-\udcff]")
ARRAY_CHUNK_CHARS = 8 << 20


class _Text:
    """A growing window of a file's text, decoded incrementally (bytes that are not UTF-8 kept as lone
    surrogates, so the element that holds them can be rejected), with the line number of any offset."""

    def __init__(self, fh):
        self.fh, self.dec = fh, codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self.text, self.base, self.line, self.line_pos, self.eof = "", 0, 1, 0, False
        self.error: str | None = None

    def more(self, n: int | None = None) -> bool:
        if self.eof:
            return False
        try:
            block = self.fh.read(n or ARRAY_CHUNK_CHARS)  # looked up at each call, so a test can shrink the window
        except Exception as exc:  # noqa: BLE001 - a cut compressed stream: what was read stays, the cut is reported
            self.error, block = f"the file ends early or is corrupt ({type(exc).__name__}: {exc})", b""
        self.text += self.dec.decode(block, final=not block)
        self.eof = not block
        return True

    def line_of(self, i: int) -> int:
        if i < self.line_pos:
            return self.line - self.text.count("\n", i, self.line_pos)
        self.line += self.text.count("\n", self.line_pos, i)
        self.line_pos = i
        return self.line

    def drop(self, i: int) -> int:
        """Forget the text before ``i`` (returns the new index of ``i``)."""
        self.line_of(i)
        self.text, self.line_pos = self.text[i:], 0
        return 0

    def skip_ws(self, i: int, chars: str = " \t\r\n") -> int:
        while True:
            n = len(self.text)
            while i < n and self.text[i] in chars:
                i += 1
            if i < n or not self.more():
                return i


_DELIM = re.compile(r'[,\]"\[{}]')


def _element_end(t: _Text, i: int) -> int | None:
    """Where the array element starting at ``i`` ends (index of the ``,`` or ``]`` after it, at depth 0), by
    brackets and strings only, so a malformed element can be skipped; None at the end of the file."""
    depth, j = 0, i
    while True:
        m = _DELIM.search(t.text, j)
        if m is None:
            j = len(t.text)
            if not t.more():
                return None
            continue
        c, j = m.group(), m.end()
        if c == '"':
            j = _string_end(t, j)
            if j is None:
                return None
        elif c in "[{":
            depth += 1
        elif depth == 0 and c in ",]":
            return m.start()
        elif c in "]}":
            depth = max(depth - 1, 0)


def _string_end(t: _Text, j: int) -> int | None:
    """The index after the ``"`` that closes the string whose text starts at ``j``; None at the end of the file.

    str.find, not a regular expression: a per-character regex over a string of tens of MB, retried from its start
    each time the window grows, took minutes. A quote closes the string when an even number of backslashes
    precede it; the search resumes where the window ended."""
    k = j
    while True:
        q = t.text.find('"', k)
        if q < 0:
            k = len(t.text)
            if not t.more():
                return None
            continue
        b = q
        while b > j and t.text[b - 1] == "\\":
            b -= 1
        if (q - b) % 2 == 0:
            return q + 1
        k = q + 1


def _decode_element(dec: json.JSONDecoder, t: _Text, i: int) -> tuple[object, int] | None:
    """The JSON value at ``i``, reading more of the file only as far as the element's end."""
    try:
        value, end = dec.raw_decode(t.text, i)
    except RecursionError:
        return None
    except json.JSONDecodeError:
        stop = _element_end(t, i)  # reads on to the element's end: it may only have been cut by the window
        if stop is None:
            return None
        try:
            value, end = dec.raw_decode(t.text[:stop], i)
        except (json.JSONDecodeError, RecursionError):
            return None
    # A value that ends at the window's end may go on (a number cut in two): read on to be sure.
    while end >= len(t.text) and t.more():
        try:
            value, end = dec.raw_decode(t.text, i)
        except (json.JSONDecodeError, RecursionError):
            return None
    return value, end


def _array_elements(t: _Text, i: int, rejects: Any) -> Iterator[tuple[int, int, str, object]]:
    """(line, index, text, value) of each element of the array whose ``[`` is at ``i``, in a bounded window;
    a malformed element is one reject and reading goes on at the next element."""
    dec = json.JSONDecoder()
    i, index = i + 1, 0
    while True:
        i = t.skip_ws(i)
        if i >= len(t.text):
            rejects.add(t.line_of(i), t.error or "the JSON array is not closed (file truncated?)")
            t.pos = i
            return
        if t.text[i] == "]":
            t.pos = i + 1
            return
        if t.text[i] == "," and index:
            i += 1
            continue
        got = _decode_element(dec, t, i)
        line = t.line_of(i)
        end = None
        if got is not None:
            value, end = got
            after = t.skip_ws(end)
            if after < len(t.text) and t.text[after] not in ",]":
                got = None  # e.g. a missing comma: the element is not cleanly delimited
        if got is None:
            stop = _element_end(t, i)
            if stop is None:
                rejects.add(line, t.error or f"array element {index} is malformed or cut short (file truncated?)")
                t.pos = len(t.text)
                return
            reason = _element_reason(t.text[i:stop])
            rejects.add(line, f"malformed JSON in array element {index}: {reason}")
            i = stop
        else:
            raw = t.text[i:end]
            if len(raw) > MAX_RECORD_BYTES:  # characters: a lower bound of the bytes
                rejects.add(line, f"array element {index} longer than {MAX_RECORD_BYTES >> 20} MiB")
            elif _SURROGATE.search(raw):
                rejects.add(line, f"array element {index} is not UTF-8 text")
            else:
                yield line, index, raw, value
            i = end
        index += 1
        if i > ARRAY_CHUNK_CHARS:
            i = t.drop(i)


def _element_reason(raw: str) -> str:
    try:
        json.loads(raw)
    except json.JSONDecodeError as exc:
        return exc.msg
    except RecursionError:
        return "nested too deeply"
    return "not delimited by a comma"
