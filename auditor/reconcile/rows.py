"""The variance table's rows (one per day x provider x model of the invoice, plus ledger-only days) and the
small money and text helpers the reconciliation modules share."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from auditor.fmt import usd as _fmt_usd
from auditor.reconcile import names
from auditor.reconcile.lines import InvoiceLine
from auditor.reconcile.ledger import LedgerDay

ZERO = Decimal(0)
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
MONEY_QUANTUM = Decimal("0.000000000001")  # DECIMAL(38,12): the ledger's precision


def usd(d: Decimal) -> str:
    """Money in evidence text, by the report's one money rule (auditor.fmt.usd). No rounding of its own first:
    a second rounding made a component read $0.00365 in the reconciliation line and $0.00364 in the table."""
    return _fmt_usd(Decimal(d))


def signed(d: Decimal) -> str:
    """``+$0.12`` / ``-$0.08``: a component's sign is its direction (invoice minus ledger)."""
    return ("+" if d > 0 else "") + usd(d)


def pct(part: Decimal, whole: Decimal) -> float | None:
    if not whole:
        return None
    return float((HUNDRED * part / whole).quantize(CENT))


def q(d: Decimal) -> Decimal:
    return d.quantize(MONEY_QUANTUM)


def median(values: list) -> Any:
    return statistics.median(values) if values else 0


@dataclass
class Row:
    provider: str
    model_key: str
    day: date | None  # None: a period line (start..end)
    start: date
    end: date  # exclusive
    lines: list[InvoiceLine] = field(default_factory=list)
    ledger: list[LedgerDay] = field(default_factory=list)
    counted: list[InvoiceLine] = field(default_factory=list)  # usage-report token counts
    causes: list[str] = field(default_factory=list)
    # the decomposition (auditor/reconcile/decompose.py): code -> amount (invoice - ledger as logged),
    # code -> evidence sentences, code -> {team: amount}
    comp: dict[str, Decimal] = field(default_factory=dict)
    evid: dict[str, list[str]] = field(default_factory=dict)
    team_effect: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    comp_records: dict[str, int] = field(default_factory=dict)  # code -> records the component rests on
    notes: list[str] = field(default_factory=list)  # evidence that names no amount (for the residual)

    @property
    def invoice(self) -> Decimal:
        return sum((l.amount for l in self.lines), ZERO)

    @property
    def led(self) -> Decimal:
        return sum((d.cost for d in self.ledger), ZERO)

    @property
    def dup(self) -> Decimal:
        return sum((d.dup_cost for d in self.ledger), ZERO)

    @property
    def variance(self) -> Decimal:
        return self.invoice - self.led

    @property
    def gross(self) -> Decimal:
        """Invoice minus the ledger as logged (duplicates included): what the decomposition explains."""
        return self.invoice - self.led - self.dup

    @property
    def records(self) -> int:
        return sum(d.records for d in self.ledger)

    @property
    def where(self) -> str:
        return f"{self.model} ({self.provider}) on {self.day or f'{self.start}..{self.end}'}"

    @property
    def model(self) -> str:
        counts: dict[str, int] = {}
        for d in self.ledger:
            for m, n in d.models.items():
                counts[m] = counts.get(m, 0) + n
        if counts:
            return max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
        for l in self.lines:
            if l.model:
                return l.model
        if self.model_key == "*":
            return "(all models)"
        return self.lines[0].label if self.lines else self.model_key

    @property
    def is_model_day(self) -> bool:
        """A daily row of one named model (not a period line, not all models, not a non-token charge)."""
        return self.day is not None and self.model_key not in ("*", "") and not self.model_key.startswith("charge:")

    def tokens(self, tt: str) -> int:
        return sum(d.tokens.get(tt, 0) for d in self.ledger)

    def inv_tt(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for l in self.lines:
            if l.token_type:
                out[l.token_type] = out.get(l.token_type, ZERO) + l.amount
        return out

    def inv_tokens(self) -> dict[str, int]:
        """The invoice's own token counts per token type: its priced lines', else its usage reports'."""
        priced: dict[str, int] = {}
        for l in self.lines:
            if l.token_type and l.tokens is not None:
                priced[l.token_type] = priced.get(l.token_type, 0) + l.tokens
        counted: dict[str, int] = {}
        for c in self.counted:
            if c.token_type and c.tokens is not None:
                counted[c.token_type] = counted.get(c.token_type, 0) + c.tokens
        return {**counted, **priced}

    def add(self, code: str, amount: Decimal, evidence: str | None = None, teams: dict[str, Decimal] | None = None,
            records: int = 0) -> None:
        self.comp[code] = self.comp.get(code, ZERO) + amount
        if records:
            self.comp_records[code] = self.comp_records.get(code, 0) + records
        if evidence:
            self.evid.setdefault(code, []).append(evidence)
        if teams:
            t = self.team_effect.setdefault(code, {})
            for k, v in teams.items():
                t[k] = t.get(k, ZERO) + v
        if code not in self.causes:
            self.causes.append(code)


def line_key(l: InvoiceLine) -> str:
    if l.model:
        return names.model_key(l.model)
    if l.extra.get("ungrouped") or l.token_type:
        return "*"
    return "charge:" + l.label


def hours_text(hs: list[int]) -> str:
    runs, start, prev = [], None, None
    for h in hs:
        if start is None:
            start = prev = h
        elif h == prev + 1:
            prev = h
        else:
            runs.append((start, prev))
            start = prev = h
    if start is not None:
        runs.append((start, prev))
    return ", ".join(f"{a:02d}:00-{b + 1:02d}:00" for a, b in runs)


def price_text(d: Decimal) -> str:
    """A unit price: at least 2 decimals, at most 4 ($0.60, $0.075, $2.5001)."""
    text = format(d.quantize(Decimal("0.0001")).normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def quantum(d: Decimal) -> Decimal:
    """The step an amount was written with on the bill (``1.23`` -> 0.01): half of it is its rounding."""
    # JSON numbers lose trailing zeros (5.00 -> 5.0): a bill is at least cent-precise, so never above a cent.
    exp = d.as_tuple().exponent
    return min(Decimal(1).scaleb(exp), CENT) if isinstance(exp, int) else CENT
