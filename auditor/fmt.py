"""How money and counts read in human-facing text (console, HTML, Markdown)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache


SIGNIFICANT = 3  # digits kept for amounts under $1


def usd(value: Decimal | str | int | float | None) -> str:
    """The one money rule of every human-facing output: cents from $1 up (``$1,240.00``), three significant
    digits below (``$0.24``, ``$0.0264``, ``$0.0000270`` reads ``$0.000027``), and never ``$0.00`` for an
    amount that is not zero. Exact figures are in the JSON output."""
    try:
        return _usd_cached(value)
    except TypeError:  # unhashable (a signalling NaN): formatted all the same
        return _usd(value)


def _usd(value: Decimal | str | int | float | None) -> str:
    if value is None:
        return "n/a"
    try:
        d = Decimal(str(value))
    except ArithmeticError:
        return "n/a"
    if not d.is_finite():
        return "n/a"
    sign = "-$" if d < 0 else "$"
    d = abs(d)
    if d == 0:
        return "$0.00"
    if d >= 1:
        return sign + f"{d.quantize(Decimal('0.01'), ROUND_HALF_UP):,.2f}"
    q = d.quantize(Decimal(1).scaleb(d.adjusted() - SIGNIFICANT + 1), ROUND_HALF_UP)
    if q >= 1:  # $0.9996 rounds up to a dollar
        return sign + "1.00"
    text = format(q.normalize(), "f")
    if len(text.split(".")[1]) < 2:
        text += "0"
    return sign + text


# Typed: a float and a Decimal that compare equal are written from different texts (str(value)). A team's fix
# texts and reasons name the same few amounts again and again (100k teams: 0.6 s of scoring).
_usd_cached = lru_cache(maxsize=1 << 16, typed=True)(_usd)


def pct(value: float | None, of: Decimal | str | int | float | None = 1) -> str:
    """``12.3%``; ``n/a`` when the share is of nothing (``of`` is the denominator: zero is never 100%)."""
    if value is None or (of is not None and Decimal(str(of)) == 0):
        return "n/a"
    return f"{value:.1f}%"


def plural(count: int, noun: str) -> str:
    """``1 request``, ``2,000 requests``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def variance_side(variance: Decimal | float | str | None) -> str:
    """Which side is higher, for a variance of invoice - logs: a bare "-26.07%" leaves the reader to work out
    that the logs (what chargeback would bill) are above what the provider bills."""
    if variance is None or Decimal(str(variance)) == 0:
        return "the logs match the invoice"
    return "the logs are above the invoice" if Decimal(str(variance)) < 0 else "the invoice is above the logs"
