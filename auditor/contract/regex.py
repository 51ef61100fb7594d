"""Translate JSON Schema ``pattern`` regexes (as Python's ``re`` reads them) to RE2 for DuckDB.

The jsonschema library checks ``pattern`` with ``re.search``; DuckDB's ``regexp_matches`` uses
RE2 with the same search semantics. They differ on a few points that this translation closes,
so both give the same verdict:

* ``$`` in Python also matches just before a final newline; in RE2 only at the very end.
* ``\\d``, ``\\w`` and ``\\s`` are Unicode-aware in Python and ASCII-only in RE2.
"""

from __future__ import annotations

_CLASS_ESCAPES = {
    "d": r"\p{Nd}",
    "D": r"\P{Nd}",
    "w": r"\p{L}\p{N}_",
    "s": r"\s\x0b\x1c-\x1f\x85\p{Z}",
}


def to_re2(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            if e in ("d", "w", "s"):
                body = _CLASS_ESCAPES[e]
                out.append(body if in_class else f"[{body}]")
            elif e == "D" and not in_class:
                out.append(_CLASS_ESCAPES["D"])
            elif e in ("W", "S") and not in_class:
                out.append(f"[^{_CLASS_ESCAPES[e.lower()]}]")
            else:
                out.append(c + e)
            i += 2
            continue
        if in_class:
            if c == "]" and not (out and out[-1] in ("[", "[^")):
                in_class = False
            out.append(c)
        elif c == "[":
            in_class = True
            if i + 1 < n and pattern[i + 1] == "^":
                out.append("[^")
                i += 2
                if i < n and pattern[i] == "]":  # a leading ] is literal
                    out.append(r"\]")
                    i += 1
                continue
            out.append("[")
            if i + 1 < n and pattern[i + 1] == "]":
                out.append(r"\]")
                i += 2
                continue
        elif c == "$":
            out.append(r"(?:\n?$)")
        else:
            out.append(c)
        i += 1
    return "".join(out)
