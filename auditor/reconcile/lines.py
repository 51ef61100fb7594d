"""The invoice line every bill reader produces, and the parsing of its amounts and times (a bad value is an
InvoiceError naming the file and where in it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from auditor.loaders.sources import InputError

USAGE, CREDIT, ADJUSTMENT, TAX, PURCHASE = "usage", "credit", "adjustment", "tax", "purchase"
DAY = timedelta(days=1)


class InvoiceError(InputError):
    """An invoice file that cannot be used (exit code 2); the message starts with the file name."""


@dataclass
class InvoiceLine:
    """One priced (or, for usage reports, counted) line of a bill."""

    source: str  # file
    format: str
    start: datetime  # UTC, naive
    end: datetime
    provider: str  # provider key (names.provider_key)
    model: str | None  # as the bill names it
    token_type: str | None
    amount: Decimal | None  # USD; None for token-count lines (usage reports)
    category: str = USAGE
    batch: bool = False
    tokens: int | None = None  # quantity of this token type, when the bill gives it
    requests: int | None = None
    list_cost: Decimal | None = None
    label: str = ""  # the bill's own words for the line
    ref: str = ""  # where in the file
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def day(self) -> date | None:
        """The UTC day when the line covers at most one day inside it, else None (a period line)."""
        if self.end - self.start <= DAY and (self.end - timedelta(microseconds=1)).date() == self.start.date():
            return self.start.date()
        return None


@dataclass
class InvoiceFile:
    path: str
    format: str
    lines: int = 0
    amount: Decimal = Decimal(0)
    ignored: int = 0
    ignored_amount: Decimal = Decimal(0)
    note: str = ""


# -- helpers -----------------------------------------------------------------------------------------

def _fail(path: Any, msg: str) -> InvoiceError:
    return InvoiceError(f"{path}: {msg}")


def _dec(value: Any, path, where: str, *, required: bool = True) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise _fail(path, f"{where}: amount missing")
        return None
    if isinstance(value, bool):
        raise _fail(path, f"{where}: amount {value!r} is not a number")
    try:
        d = Decimal(value) if isinstance(value, (str, Decimal, int)) else Decimal(repr(value))
    except (InvalidOperation, ValueError):
        raise _fail(path, f"{where}: amount {value!r} is not a number") from None
    if not d.is_finite():
        raise _fail(path, f"{where}: amount {value!r} is not a finite number")
    return d


def _int(value: Any) -> int:
    if value is None or value == "":
        return 0
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return 0


def _ts(value: Any, path, where: str) -> datetime:
    """Unix seconds or RFC 3339 / ISO 8601 text -> naive UTC datetime."""
    if value is None or value == "":
        raise _fail(path, f"{where}: time missing")
    try:
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), tz=timezone.utc).replace(tzinfo=None)
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        text = str(value).strip()
        if text.isdigit():
            return datetime.fromtimestamp(int(text), tz=timezone.utc).replace(tzinfo=None)
        dt = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
        return dt.astimezone(timezone.utc).replace(tzinfo=None) if dt.tzinfo else dt
    except (ValueError, OverflowError, OSError):
        raise _fail(path, f"{where}: time {value!r} is not unix seconds or an ISO 8601 time") from None
