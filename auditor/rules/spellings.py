"""Spellings of one owner: normal forms, the same-owner guard, and an index that finds the candidates.

Clustering compares every distinct value with the others. Doing that with ``process.extract`` over all of
them is quadratic in the distinct values: 100k service names took minutes. The guard in ``same_owner``
is strict enough to block on exactly: two spellings can only be the same owner when they have the same
number of words and the same digits, and each pair of words is equal, an abbreviation (shares the
first 4 letters) or a typo of at most 2 edits (shares a deletion variant). ``Neighbours`` indexes the
words by those keys, so a lookup only scores the spellings that could pass the guard, and it finds every
one of them: the index changes the cost, never the clusters (except that a typo in a word of more than 40
letters is not looked for: such a word only matches when equal or abbreviated).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from functools import lru_cache
from itertools import combinations

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

_SEP = re.compile(r"[\s_\-./:]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_DIGITS = re.compile(r"[0-9]+")

# Longer values are compared only exactly: a 1 MB "team name" is data damage, not a spelling, and its
# deletion variants alone would cost more than the rest of the audit.
MAX_FUZZY_CHARS = 256
_MAX_DELETION_WORD = 40  # 2-deletion variants grow with the square of the word: 780 at 40 letters


def normal_form(value: str) -> str:
    """Case and separators removed: the spelling-independent form of an owner value."""
    return _SEP.sub("", value.strip().lower())


def words(value: str) -> tuple[str, ...]:
    return tuple(w for w in _SEP.split(_CAMEL.sub(" ", value.strip()).lower()) if w)


def _word_alike(a: str, b: str) -> bool:
    if a == b:
        return True
    if a.isdigit() or b.isdigit():
        return False
    short, long_ = sorted((a, b), key=len)
    if len(short) >= 4 and long_.startswith(short) and 2 * len(short) >= len(long_):
        return True  # abbreviation: supp / support
    if len(short) >= 6:
        allowed = 2 if len(short) >= 10 else 1
        return OSA.distance(a, b) <= allowed  # typo: suport / support
    if len(short) >= 4 and OSA.distance(a, b) == 1:
        # short words: a dropped, added or swapped letter (infa / infra), not a changed one (data / date)
        return len(a) != len(b) or sorted(a) == sorted(b)
    return False


def same_owner(a: tuple[str, ...], b: tuple[str, ...], score: float, cutoff: float) -> bool:
    """Whether two spellings (as word tuples) name the same owner: see the tags module docstring."""
    if "".join(a) == "".join(b):
        return True
    if score < cutoff or len(a) != len(b):
        return False
    if _DIGITS.findall("-".join(a)) != _DIGITS.findall("-".join(b)):
        return False
    return all(_word_alike(x, y) for x, y in zip(a, b))


@lru_cache(maxsize=1 << 16)  # owner names share their words ("team", "api"): each word's keys are built once
def word_keys(word: str) -> frozenset[str]:
    """Keys two alike words always share (``_word_alike``): the word, its 4-letter prefix (abbreviations),
    its 1-deletion variants (one edit or swap) and, from 10 letters, its 2-deletion variants (two edits).
    Computed for distinct words only (``Neighbours``), never per value."""
    keys = {word}
    if word.isdigit() or len(word) < 4:
        return frozenset(keys)
    keys.add("\x00" + word[:4])  # a prefix key cannot collide with a word: no word holds NUL
    if len(word) <= _MAX_DELETION_WORD:
        keys.update(word[:i] + word[i + 1:] for i in range(len(word)))
        if len(word) >= 10:
            keys.update(word[:i] + word[i + 1:j] + word[j + 1:] for i, j in combinations(range(len(word)), 2))
    return frozenset(keys)


def _shape(ws: tuple[str, ...]) -> tuple[int, tuple[str, ...]]:
    return len(ws), tuple(_DIGITS.findall("-".join(ws)))


class Neighbours:
    """The spellings that could be the same owner as a given one, found by blocking on words.

    Two levels, because owner names share their words ("team", "platform", "api"): the distinct words are
    indexed by ``word_keys``, so each word's alike words (``_word_alike``) are found once; the spellings are
    indexed by (word count, digits, position, word), a few entries each. ``candidates`` returns the spellings
    of the same shape whose word at one position (the one with the fewest) is alike to the query's: a
    superset of what ``same_owner`` accepts, so callers score and guard each one.
    """

    def __init__(self, items: Iterable[tuple[str, tuple[str, ...]]] = ()) -> None:
        self._word_index: dict[str, set[str]] = defaultdict(set)  # word key -> distinct words
        self._words: set[str] = set()
        self._alike: dict[str, tuple[str, ...]] = {}
        self._items: dict[tuple, set[str]] = defaultdict(set)  # (shape, position, word) -> normal forms
        for n, ws in items:
            self.add(n, ws)

    def add(self, n: str, ws: tuple[str, ...]) -> None:
        if len(n) > MAX_FUZZY_CHARS or not ws:
            return
        shape = _shape(ws)
        for pos, w in enumerate(ws):
            if w not in self._words:
                self._words.add(w)
                self._alike.clear()  # a new word may be alike to one already looked up
                for k in word_keys(w):
                    self._word_index[k].add(w)
            self._items[(shape, pos, w)].add(n)

    def alike(self, w: str) -> tuple[str, ...]:
        """The indexed words alike to ``w`` (``w`` itself among them when indexed)."""
        found = self._alike.get(w)
        if found is None:
            near = {x for k in word_keys(w) for x in self._word_index.get(k, ())}
            found = self._alike[w] = tuple(x for x in near if _word_alike(w, x))
        return found

    def candidates(self, n: str, ws: tuple[str, ...]) -> set[str]:
        if len(n) > MAX_FUZZY_CHARS or not ws:
            return set()
        shape = _shape(ws)
        # Scan only the narrowest word position: the guard checks the other words anyway, and a union
        # over a common word ("team", "service") would make every lookup as large as the index.
        best: list[set[str]] = []
        best_size = -1
        for pos, w in enumerate(ws):
            buckets = [b for b in (self._items.get((shape, pos, x)) for x in self.alike(w)) if b]
            size = sum(len(b) for b in buckets)
            if not size:
                return set()
            if best_size < 0 or size < best_size:
                best, best_size = buckets, size
        out: set[str] = set().union(*best)
        out.discard(n)
        return out

    def matches(self, n: str, ws: tuple[str, ...], words_of, cutoff: float, among=None) -> list[tuple[str, float]]:
        """``(normal form, fuzz.ratio)`` of every indexed spelling that passes ``same_owner`` with ``n``
        (restricted to ``among`` when given), best score first, then in sorted order."""
        out = []
        for c in self.candidates(n, ws):
            if among is not None and c not in among:
                continue
            score = fuzz.ratio(n, c)
            if score >= cutoff and same_owner(ws, words_of(c), score, cutoff):
                out.append((c, score))
        return sorted(out, key=lambda cs: (-cs[1], cs[0]))


# --- value shapes: the convention an organisation's values follow (cost centers "FIN-" and four digits) ---

SHAPE_SHARE = Decimal("0.9")  # a shape is the organisation's when values of that shape carry 90% of the field's weight
SHAPE_MIN_VALUES = 3  # ... and at least this many distinct values follow it (one value is not a convention)


_META = re.compile(r"([.^$*+?{}\[\]\\|()])")


def _escape(text: str) -> str:
    return _META.sub(r"\\\1", text)  # only what is special outside a class: "cc-" stays readable


def shape(value: str) -> str:
    """The regular expression a value's shape is: digits become ``[0-9]{n}``, everything else stays literal
    (``FIN-1234`` -> ``^FIN-[0-9]{4}$``)."""
    out, last = [], 0
    for m in _DIGITS.finditer(value):
        out.append(_escape(value[last:m.start()]))
        out.append(f"[0-9]{{{len(m.group(0))}}}")
        last = m.end()
    out.append(_escape(value[last:]))
    return "^" + "".join(out) + "$"


def dominant_shape(values: Iterable[tuple[str, Any]]) -> tuple[str, Decimal, int] | None:
    """``(pattern, share of the weight, distinct values)`` of the shape most of ``(value, weight)`` follow (weight:
    records or cost), or None when no shape is dominant (see SHAPE_SHARE, SHAPE_MIN_VALUES)."""
    per: dict[str, list] = {}
    total = 0
    for v, n in values:
        acc = per.setdefault(shape(v), [0, 0])
        acc[0] += n
        acc[1] += 1
        total += n
    if not per or not total:
        return None
    pattern, (records, distinct) = min(per.items(), key=lambda kv: (-kv[1][0], kv[0]))
    share = Decimal(records) / Decimal(total)
    if share < SHAPE_SHARE or distinct < SHAPE_MIN_VALUES:
        return None
    return pattern, share, distinct
