"""Price versions and dated timelines.

A *price set* is what one price version charges: per 1M tokens for uncached input, cached input (cache
read), cache writes and output, in one or more *bands* (a band applies when the request's input tokens
exceed its ``start``; the base band starts at -1, so long-context tiers such as "above 200k tokens" are
further bands). A *version* is a price set with the dates it is in effect, ``[effective_from,
effective_to)`` by UTC date (``None`` = open), and where it comes from. A *timeline* is the list of
versions of one (provider, model, batch) after layering the sources: a higher layer (user catalog over
LiteLLM model map over genai-prices) wins wherever its dates cover.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Iterable, Sequence

MILLION = Decimal(1_000_000)
BASE_BAND = -1
# OpenAI, Anthropic, Google and Bedrock batch APIs bill 50% of the standard price; used where a source
# gives no batch price of its own (a catalog row may set its own batch_discount_pct).
DEFAULT_BATCH_DISCOUNT_PCT = Decimal(50)


@dataclass(frozen=True)
class Band:
    start: int  # applies when input_tokens > start
    input: Decimal  # USD per 1M uncached input tokens
    cached_input: Decimal  # USD per 1M cache-read input tokens
    cache_write: Decimal  # USD per 1M cache-write input tokens
    output: Decimal  # USD per 1M output tokens

    def discounted(self, pct: Decimal) -> "Band":
        f = (Decimal(100) - pct) / Decimal(100)
        return Band(self.start, self.input * f, self.cached_input * f, self.cache_write * f, self.output * f)


PriceSet = tuple[Band, ...]


def price_set(input: Decimal, output: Decimal, cached_input: Decimal | None = None,
              cache_write: Decimal | None = None, tiers: Iterable[Band] = ()) -> PriceSet:
    """One price set; a missing cache price is the input price (what the provider bills without one)."""
    base = Band(BASE_BAND, input, input if cached_input is None else cached_input,
                input if cache_write is None else cache_write, output)
    return (base, *sorted(tiers, key=lambda b: b.start))


def discount(ps: PriceSet, pct: Decimal) -> PriceSet:
    return tuple(b.discounted(pct) for b in ps)


def fmt_price(d: Decimal) -> str:
    """``$0.15`` / ``$2`` / ``$0.075``: a per-1M price as people write it. Any finite price formats (a price
    snapshot of 1e16 per token is absurd, but it is a record to report, not a reason to stop the audit)."""
    import decimal

    if not d.is_finite():
        return "n/a"
    with decimal.localcontext() as ctx:
        ctx.prec = max(28, d.adjusted() + 8)  # room for the integer digits and the six decimals
        q = d.quantize(Decimal("0.000001")).normalize()
    text = format(q, "f")
    if "." in text and len(text.split(".")[1]) == 1:
        text += "0"
    return "$" + text


def describe(ps: PriceSet) -> str:
    """``$0.15/$0.60 per 1M (cached $0.075)`` for the base band."""
    b = ps[0]
    text = f"{fmt_price(b.input)}/{fmt_price(b.output)} per 1M"
    extras = []
    if b.cached_input != b.input:
        extras.append(f"cached {fmt_price(b.cached_input)}")
    if b.cache_write != b.input:
        extras.append(f"cache write {fmt_price(b.cache_write)}")
    if len(ps) > 1:
        extras.append("+ long-context tiers")
    return text + (f" ({', '.join(extras)})" if extras else "")


@dataclass(frozen=True)
class Version:
    source: str  # catalog | litellm-map | genai-prices | snapshot
    label: str  # e.g. "catalog prices.toml", "genai-prices openai/o3"
    effective_from: date | None
    effective_to: date | None  # exclusive
    alternatives: tuple[PriceSet, ...]  # usually one; several when a source prices by time of day

    def covers(self, day: date | None) -> bool:
        """Whether the version is in effect on ``day`` (None = the beginning of time)."""
        if day is None:
            return self.effective_from is None
        return (self.effective_from is None or self.effective_from <= day) and (
            self.effective_to is None or day < self.effective_to)

    @property
    def dates(self) -> str:
        a = self.effective_from.isoformat() if self.effective_from else "always"
        if self.effective_to is None:
            return f"from {a}" if self.effective_from else "no end date"
        return f"{a} to {self.effective_to.isoformat()}"


def overlay(layers: Sequence[Sequence[Version]]) -> list[Version]:
    """Merge layers (lowest precedence first) into one timeline without overlaps: on each day the
    highest layer with a version in effect wins. Adjacent pieces of one version are joined again."""
    bounds = sorted({d for layer in layers for v in layer for d in (v.effective_from, v.effective_to) if d is not None})
    starts: list[date | None] = [None, *bounds]
    pieces: list[Version] = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else None
        winner = None
        for layer in layers:
            for v in layer:
                if v.covers(start):
                    winner = v
        if winner is None:
            continue
        piece = replace(winner, effective_from=start, effective_to=end)
        if pieces and pieces[-1].effective_to == start and _same(pieces[-1], piece):
            pieces[-1] = replace(pieces[-1], effective_to=end)
        else:
            pieces.append(piece)
    return pieces


def _same(a: Version, b: Version) -> bool:
    return (a.source, a.label, a.alternatives) == (b.source, b.label, b.alternatives)
