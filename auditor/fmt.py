"""How money and counts read in human-facing text (console, HTML, Markdown)."""

from __future__ import annotations

from decimal import Decimal


def usd(value: Decimal | str | int | float | None) -> str:
    """``$1,240.00``; amounts under a cent keep their significant digits (``$0.000027``)."""
    if value is None:
        return "n/a"
    d = Decimal(str(value))
    if d != 0 and abs(d) < Decimal("0.01"):
        text = format(d.normalize(), "f")
        return ("-$" if d < 0 else "$") + text.lstrip("-")
    q = d.quantize(Decimal("0.01"))
    return ("-$" if q < 0 else "$") + f"{abs(q):,.2f}"


def pct(value: float | None, of: Decimal | str | int | float | None = 1) -> str:
    """``12.3%``; ``n/a`` when the share is of nothing (``of`` is the denominator: zero is never 100%)."""
    if value is None or (of is not None and Decimal(str(of)) == 0):
        return "n/a"
    return f"{value:.1f}%"


def plural(count: int, noun: str) -> str:
    """``1 request``, ``2,000 requests``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
