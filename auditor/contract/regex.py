"""Translate JSON Schema ``pattern`` regexes (as Python's ``re`` reads them) to RE2 for DuckDB.

The jsonschema library checks ``pattern`` with ``re.search``; DuckDB's ``regexp_matches`` uses
RE2 with the same search semantics. They differ on a few points that this translation closes,
so both give the same verdict:

* ``$`` in Python also matches just before a final newline; in RE2 only at the very end.
* ``\\d``, ``\\w`` and ``\\s`` are Unicode-aware in Python and ASCII-only in RE2.
* ``\\u`` + four hex digits (Python and ECMA 262) is ``\\x{...}`` in RE2; ``\\Z`` (Python: end of text) is ``\\z``.

What RE2 cannot run at all (it guarantees linear time, so it has no backtracking constructs) is
rejected when the policy loads, by :func:`problem`, with the reason: lookahead and lookbehind,
backreferences, conditionals, atomic groups and possessive quantifiers, a repetition count above
1000, and a pattern whose compiled program is too large for RE2.
"""

from __future__ import annotations

import re
from functools import lru_cache

try:  # the parser behind ``re``: the only exact way to find what a pattern contains
    import re._parser as _sre_parse  # Python 3.11+
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre_parse  # type: ignore[no-redef]

MAX_REPEAT = 1000  # RE2's limit on {n,m}

_UNSUPPORTED = {
    "ASSERT": "a lookahead or lookbehind ((?=...), (?<=...))",
    "ASSERT_NOT": "a negative lookahead or lookbehind ((?!...), (?<!...))",
    "GROUPREF": "a backreference (\\1, (?P=name))",
    "GROUPREF_EXISTS": "a conditional group ((?(1)...|...))",
    "ATOMIC_GROUP": "an atomic group ((?>...))",
    "POSSESSIVE_REPEAT": "a possessive quantifier (*+, ++, ?+)",
}

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
            if e == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", pattern[i + 2:i + 6]):
                out.append("\\x{" + pattern[i + 2:i + 6] + "}")
                i += 6
                continue
            if e == "Z" and not in_class:
                out.append(r"\z")
            elif e in ("d", "w", "s"):
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


def _walk(items):
    """Every (op name, argument) in a parsed pattern, nested groups included."""
    for op, av in items:
        yield str(op), av
        subs = []
        if str(op) in ("SUBPATTERN",):
            subs = [av[-1]]
        elif str(op) in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT", "ASSERT", "ASSERT_NOT"):
            subs = [av[-1]]
        elif str(op) == "ATOMIC_GROUP":
            subs = [av]
        elif str(op) == "BRANCH":
            subs = list(av[1])
        elif str(op) == "GROUPREF_EXISTS":
            subs = [x for x in av[1:] if x is not None]
        for sub in subs:
            yield from _walk(sub)


def problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used as a contract pattern, or None when it can.

    The verdict of record is Python's ``re.search`` (what the jsonschema library uses); the audit runs
    the same pattern in DuckDB's RE2. A pattern must therefore be valid for the first and runnable,
    after :func:`to_re2`, by the second."""
    if not isinstance(pattern, str):
        return "a pattern must be a string"
    if "[[:" in pattern or "[[=" in pattern or "[[." in pattern:
        # A POSIX class: RE2 reads [[:alpha:]] as a class of letters, Python as "[", ":", "a", ... (with a
        # FutureWarning): the two engines would disagree on every value.
        return ("a POSIX character class ([[:alpha:]] and the like) means different things in the two regex engines"
                " the audit uses; write it as a range ([A-Za-z], [0-9])")
    try:
        parsed = _sre_parse.parse(pattern)
    except re.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        return f"not a valid regular expression: {exc.msg}{where}"
    for op, av in _walk(parsed):
        if op in _UNSUPPORTED:
            return (f"{_UNSUPPORTED[op]} is not supported: patterns run in DuckDB's RE2 engine, which has no "
                    "backtracking constructs; write the pattern without it (or list the allowed values with enum)")
        if op in ("MAX_REPEAT", "MIN_REPEAT"):
            lo, hi = av[0], av[1]
            count = hi if hi != _sre_parse.MAXREPEAT else lo
            if count > MAX_REPEAT:
                return f"the repetition count {count} is above {MAX_REPEAT}, the most RE2 allows"
    return _re2_problem(to_re2(pattern))


@lru_cache(maxsize=256)
def _re2_problem(re2: str) -> str | None:
    import duckdb

    try:
        duckdb.connect().execute("SELECT regexp_matches('', ?)", [re2]).fetchall()
    except duckdb.Error as exc:
        msg = str(exc).split("Error: ", 1)[-1].strip()
        if "too large" in msg:
            return ("the pattern is too large for RE2 once compiled (each repetition is a copy of what it repeats, "
                    "and \\w or \\d expand to Unicode classes): lower the repetition counts or use [A-Za-z0-9_] / [0-9]")
        return f"DuckDB's RE2 engine cannot run it: {msg}"
    return None
