"""Invoice vs ledger: the variance table, coverage, likely causes and the allocation of invoice-only
credits. Everything here is Decimal; percentages are floats rounded to 2 decimals for display only."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Iterable

import duckdb

from auditor.fmt import usd as _fmt_usd
from auditor.reconcile import names
from auditor.reconcile.invoices import USAGE, InvoiceLine, read_invoices
from auditor.reconcile.ledger import LedgerDay, load_ledger

ZERO = Decimal(0)
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
PRICE_TOLERANCE = Decimal("0.01")  # invoice/ledger ratios within 1% count as "the same price"
SPLIT_SNAPSHOT = "unit prices the gateway logged with each record (price_snapshot)"
SPLIT_PRICING = "tokens x unit prices from auditor.pricing"
SPLIT_PROPORTIONAL = "proportional to the invoice's own split (the ledger has no unit prices for this row)"
UNASSIGNED = "(unallocated)"

CAUSE_TITLES = {
    "unlogged_traffic": "Unlogged traffic",
    "cached_token_pricing": "Cached-token pricing",
    "batch_discount": "Batch discount not in the ledger",
    "price_change": "Price change not applied",
    "duplicates": "Duplicate records",
    "invoice_credits": "Discounts and credits on the invoice only",
    "invoice_only_charges": "Charges on the invoice only (tax, adjustments, purchases)",
    "charges_not_logged": "Non-token charges the gateway does not log",
    "ledger_mispriced": "Gateway cost differs from the published price",
    "unexplained": "Unexplained",
}

ALLOCATION_FORMULA = (
    "credit_to_team = credit x team_list_cost / total_list_cost, where list cost is the de-duplicated ledger cost "
    "(the gateway's list-price cost) of the credit's provider inside the credit's charge period for FOCUS rows, and in "
    "the whole reconciled period for credit lines of the OpenAI / Anthropic cost APIs (their day is the day the credit "
    "was posted, not the spend it applies to), or when the charge period has no ledger spend; spend without an attributable team goes to the unallocated bucket; "
    "each share is rounded to the cent (half-even) and the rounding difference goes to the largest share, so the "
    "shares add up to the credit exactly. Credits are shown separately and never change a request's cost."
)


def usd(d: Decimal) -> str:
    """Money in evidence text: cents, or 6 significant decimals below a cent."""
    d = Decimal(d)
    return _fmt_usd(d.quantize(Decimal("0.000001")) if d and abs(d) < CENT else d)


def _pct(part: Decimal, whole: Decimal) -> float | None:
    if not whole:
        return None
    return float((HUNDRED * part / whole).quantize(CENT))


def _q(d: Decimal) -> Decimal:
    return d.quantize(Decimal("0.000000000001"))


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

    @property
    def invoice(self) -> Decimal:
        return sum((l.amount for l in self.lines), ZERO)

    @property
    def led(self) -> Decimal:
        return sum((d.cost for d in self.ledger), ZERO)

    @property
    def variance(self) -> Decimal:
        return self.invoice - self.led

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

    def tokens(self, tt: str) -> int:
        return sum(d.tokens.get(tt, 0) for d in self.ledger)

    def inv_tt(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for l in self.lines:
            if l.token_type:
                out[l.token_type] = out.get(l.token_type, ZERO) + l.amount
        return out


def _line_key(l: InvoiceLine) -> str:
    if l.model:
        return names.model_key(l.model)
    if l.extra.get("ungrouped") or l.token_type:
        return "*"
    return "charge:" + l.label


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


class Reconciler:
    def __init__(self, con: duckdb.DuckDBPyConnection, lines: list[InvoiceLine], threshold_pct: float):
        self.con = con
        self.lines = lines
        self.threshold = Decimal(str(threshold_pct))
        self.ledger, self.left_out = load_ledger(con)
        self.priced = [l for l in lines if l.amount is not None]
        self.usage = [l for l in self.priced if l.category == USAGE]
        self.other = [l for l in self.priced if l.category != USAGE]
        self.counted = [l for l in lines if l.amount is None]
        # Materiality: a row is worth explaining from a cent, or from 0.01% of the invoice when that is less
        # (so a small bill is not all below the floor), never below $0.000001.
        usage_total = abs(sum((l.amount for l in self.usage), ZERO))
        self.floor = max(min(CENT, usage_total / 10_000), Decimal("0.000001"))
        self.rows: list[Row] = []
        self.causes: dict[str, dict[str, Any]] = {}
        self.split_methods: set[str] = set()

    # -- scope and matching ------------------------------------------------------------------------
    def scope(self) -> None:
        """Which ledger days the invoices cover: their providers, inside their periods."""
        spans: dict[str, tuple[date, date]] = {}
        for l in self.lines:
            s, e = l.start.date(), (l.end - timedelta(microseconds=1)).date() + timedelta(days=1)
            if l.provider in spans:
                a, b = spans[l.provider]
                spans[l.provider] = (min(a, s), max(b, e))
            else:
                spans[l.provider] = (s, e)
        self.spans = spans
        self.in_scope: dict[tuple, LedgerDay] = {}
        out_recs, out_cost, dup_recs, dup_cost = 0, ZERO, 0, ZERO
        other_providers: dict[str, Decimal] = {}
        for k, d in self.ledger.items():
            span = spans.get(d.provider)
            if span and span[0] <= d.day < span[1]:
                self.in_scope[k] = d
                dup_recs += d.dup_records
                dup_cost += d.dup_cost
            else:
                out_recs += d.records
                out_cost += d.cost
                if not span:
                    other_providers[d.provider] = other_providers.get(d.provider, ZERO) + d.cost
        self.scope_info = {"out_of_scope_records": out_recs, "out_of_scope_cost": out_cost,
                           "providers_not_on_any_invoice": {p: c for p, c in sorted(other_providers.items())},
                           "duplicates_removed": dup_recs, "duplicates_cost": dup_cost, **self.left_out}

    def build_rows(self) -> None:
        groups: dict[tuple, Row] = {}
        for l in self.usage:
            mk = _line_key(l)
            day = l.day
            if day is not None:
                key = (day, day + timedelta(days=1), l.provider, mk)
            else:
                key = (l.start.date(), (l.end - timedelta(microseconds=1)).date() + timedelta(days=1), l.provider, mk)
            r = groups.get(key)
            if r is None:
                r = groups[key] = Row(l.provider, mk, day, key[0], key[1])
            r.lines.append(l)
        claimed: set[tuple] = set()
        # 1. daily lines naming a model; 2. period lines naming a model; 3. lines for all models of a provider.
        ordered = sorted(groups.values(), key=lambda r: (r.model_key == "*" or r.model_key.startswith("charge:"),
                                                       r.day is None, r.start, r.provider, r.model_key))
        by_model: dict[tuple, list[tuple]] = {}
        by_provider: dict[str, list[tuple]] = {}
        for k, d in self.in_scope.items():
            by_model.setdefault((d.provider, d.model_key), []).append(k)
            by_provider.setdefault(d.provider, []).append(k)
        for r in ordered:
            if r.model_key.startswith("charge:"):
                continue
            keys = by_provider.get(r.provider, []) if r.model_key == "*" else by_model.get((r.provider, r.model_key), [])
            for k in keys:
                d = self.in_scope[k]
                if k not in claimed and r.start <= d.day < r.end:
                    r.ledger.append(d)
                    claimed.add(k)
        rows = list(groups.values())
        for k, d in sorted(self.in_scope.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
            if k not in claimed and (d.cost or d.records):
                rows.append(Row(d.provider, d.model_key, d.day, d.day, d.day + timedelta(days=1), ledger=[d]))
        index: dict[tuple, list[Row]] = {}
        for r in rows:
            index.setdefault((r.provider, r.model_key), []).append(r)
        for c in self.counted:
            for r in index.get((c.provider, _line_key(c)), []) + index.get((c.provider, "*"), []):
                if r.start <= c.start.date() < r.end:
                    r.counted.append(c)
                    break
        rows.sort(key=lambda r: (r.start, r.provider, r.model))
        self.rows = rows

    def flagged(self, r: Row) -> bool:
        v = r.variance
        if abs(v) < self.floor:
            return False
        inv = r.invoice
        return inv == 0 or abs(HUNDRED * v / inv) > self.threshold

    # -- token types ---------------------------------------------------------------------------------
    def split(self, r: Row) -> tuple[dict[str, Decimal], str | None]:
        """The row's ledger cost per token type, and how it was split."""
        led = r.led
        snap_cost = sum((d.snap_cost for d in r.ledger), ZERO)
        if led and snap_cost >= led * Decimal("0.999"):
            parts: dict[str, Decimal] = {}
            for d in r.ledger:
                for tt, v in d.snap_parts.items():
                    parts[tt] = parts.get(tt, ZERO) + v
            total = sum(parts.values(), ZERO)
            if total:
                return {tt: led * v / total for tt, v in parts.items() if v}, SPLIT_SNAPSHOT
        inv_tt = r.inv_tt()
        inv = sum(inv_tt.values(), ZERO)
        if inv:
            return {tt: led * v / inv for tt, v in inv_tt.items()}, SPLIT_PROPORTIONAL
        return {}, None

    def token_rows(self, r: Row) -> list[dict[str, Any]]:
        inv_tt = r.inv_tt()
        if not inv_tt:
            return []
        led_tt, method = self.split(r)
        if method:
            self.split_methods.add(method)
        out = []
        counted: dict[str, int] = {}
        for c in r.counted:
            counted[c.token_type] = counted.get(c.token_type, 0) + (c.tokens or 0)
        inv_tokens: dict[str, int] = {}
        for l in r.lines:
            if l.token_type and l.tokens is not None:
                inv_tokens[l.token_type] = inv_tokens.get(l.token_type, 0) + l.tokens
        for tt in names.TOKEN_TYPES:
            if tt not in inv_tt and not r.tokens(tt):
                continue
            i, led = inv_tt.get(tt, ZERO), _q(led_tt.get(tt, ZERO))
            toks = r.tokens(tt)
            out.append({
                "token_type": tt, "invoice": i, "ledger": led, "variance": i - led, "variance_pct": _pct(i - led, i),
                "ledger_tokens": toks, "invoice_tokens": inv_tokens.get(tt, counted.get(tt)),
                "invoice_price_per_1m": (i * 1_000_000 / toks).quantize(Decimal("0.0001")) if toks and i else None,
                "split": method,
            })
        return out

    # -- causes ----------------------------------------------------------------------------------------
    def add_cause(self, code: str, r: Row | None, amount: Decimal, evidence: str) -> None:
        """Name a cause; a row's variance counts once, for the first cause named on it."""
        c = self.causes.setdefault(code, {"code": code, "title": CAUSE_TITLES[code], "amount": ZERO, "rows": [], "evidence": []})
        if r is None or not r.causes:
            c["amount"] += amount
        if r is not None:
            c["rows"].append({"day": (r.day or r.start).isoformat(), "provider": r.provider, "model": r.model,
                              "variance": r.variance})
            if code not in r.causes:
                r.causes.append(code)
        c["evidence"].append(evidence)

    def _series(self, provider: str, model_key: str) -> dict[date, LedgerDay]:
        return {d.day: d for d in self.in_scope.values() if d.provider == provider and d.model_key == model_key}

    def gap_evidence(self, r: Row) -> str | None:
        """Hours without records, or a drop in records, against the neighbouring days of the same model."""
        if r.day is None or r.model_key in ("*",) or r.model_key.startswith("charge:"):
            return None
        series = self._series(r.provider, r.model_key)
        if not series:
            return f"the ledger has no record of {r.model} from {r.provider} in the whole period"
        nb = [d for day, d in series.items() if day != r.day and abs((day - r.day).days) <= 7 and d.records]
        if not nb:
            return None
        today = series.get(r.day)
        hours = today.hours if today else [0] * 24
        count = today.records if today else 0
        med = _median([d.records for d in nb])
        if len(nb) < 3:
            return None  # too few neighbouring days to call anything a gap
        typical = [h for h in range(24) if sum(1 for d in nb if d.hours[h]) * 2 >= len(nb) and any(d.hours[h] for d in nb)]
        missing = [h for h in typical if hours[h] == 0]
        parts = []
        if count == 0:
            parts.append(f"no records at all on {r.day} (neighbouring days: median {med:g} records)")
        else:
            if missing:
                parts.append(f"no records in {_hours(missing)} UTC on {r.day}, hours that have records on "
                             f"{'most' if len(nb) > 2 else 'the'} neighbouring days")
            if med >= 4 and count < 0.8 * med:
                parts.append(f"{count} records on {r.day} against a median of {med:g} on the neighbouring days")
        return "; ".join(parts) or None

    def pricing_evidence(self, r: Row, codes: tuple[str, ...] | None = None) -> str | None:
        """The pricing rules' own findings on the row's records (auditor/rules/pricing.py)."""
        from auditor.reconcile.ledger import pricing_codes

        found: dict[str, list] = {}
        for d in r.ledger:
            for code, (n, cost) in d.pricing.items():
                if codes is not None and code not in codes:
                    continue
                f = found.setdefault(code, [0, ZERO])
                f[0] += n
                f[1] += cost
        if not found:
            return None
        rule_names = pricing_codes()
        recs = sum(d.records for d in r.ledger)
        return (f"{r.model} ({r.provider}) on {r.day or r.start}: invoice {usd(r.invoice)}, ledger {usd(r.led)}; "
                + "; ".join(f"{n} of {recs} records flagged by {code} {rule_names.get(code, '')} ({usd(c)} recorded)"
                            for code, (n, c) in sorted(found.items())))

    def usage_evidence(self, r: Row) -> str | None:
        if not r.counted:
            return None
        inv_tok = sum(c.tokens or 0 for c in r.counted)
        led_tok = sum(r.tokens(tt) for tt in names.TOKEN_TYPES)
        inv_req = sum(c.requests or 0 for c in r.counted)
        if inv_tok > led_tok * 1.01 or (inv_req and inv_req > sum(d.records for d in r.ledger)):
            return (f"the provider's usage report counts {inv_tok:,} tokens"
                    + (f" in {inv_req:,} requests" if inv_req else "")
                    + f"; the ledger {led_tok:,} tokens in {sum(d.records for d in r.ledger):,} records")
        return None

    def cached_evidence(self, r: Row) -> str | None:
        inv_tt = r.inv_tt()
        cached_amt = inv_tt.get(names.CACHED, ZERO)
        c_tok, i_tok = r.tokens(names.CACHED), r.tokens(names.INPUT)
        if cached_amt > 0 and c_tok == 0 and r.variance < 0:
            return (f"the invoice bills {usd(cached_amt)} of cached input for {r.model} on {r.day or r.start}, "
                    "but the ledger records no cached tokens: the gateway priced them as full-price input")
        if c_tok and cached_amt > 0 and i_tok and inv_tt.get(names.INPUT) and r.variance < 0:
            p_in = inv_tt[names.INPUT] / i_tok
            p_c = cached_amt / c_tok
            expected = c_tok * (p_in - p_c)
            over = -r.variance
            if expected > 0 and abs(over - expected) <= over * Decimal("0.05"):
                return (f"{c_tok:,} cached tokens of {r.model} on {r.day or r.start}: the invoice prices them at "
                        f"${(p_c * 1_000_000).quantize(Decimal('0.0001'))}/1M against ${(p_in * 1_000_000).quantize(Decimal('0.0001'))}/1M "
                        f"for input; priced at the full input rate they cost {usd(expected)} more, and the ledger is "
                        f"{usd(over)} above the invoice")
        return None

    def batch_evidence(self, r: Row) -> str | None:
        if r.variance >= 0:
            return None
        over = -r.variance
        inv_batch = sum((l.amount for l in r.lines if l.batch), ZERO)
        b_cost = sum((d.batch_cost for d in r.ledger), ZERO)
        b_recs = sum(d.batch_records for d in r.ledger)
        if b_cost and abs(over - b_cost / 2) <= over * Decimal("0.1"):
            return (f"{b_recs:,} batch records of {r.model} on {r.day or r.start} cost {usd(b_cost)} in the ledger; "
                    f"the ledger is {usd(over)} above the invoice, about half of that: the batch price (50% off) "
                    "was not applied in the ledger")
        if inv_batch and not b_cost:
            return (f"the invoice bills {usd(inv_batch)} of {r.model} on {r.day or r.start} at batch rates, the ledger "
                    "marks no record as batch and is above the invoice")
        return None

    def find_causes(self) -> None:
        explained: set[int] = set()
        for r in self.rows:
            if not self.flagged(r):
                continue
            if r.model_key.startswith("charge:") and not r.ledger:
                self.add_cause("charges_not_logged", r, r.variance,
                               f"{r.lines[0].label!r} ({usd(r.invoice)} on {r.day or r.start}) is not a model's token charge")
                explained.add(id(r))
                continue
            if r.variance < 0:
                for code, ev in (("cached_token_pricing", self.cached_evidence(r)), ("batch_discount", self.batch_evidence(r))):
                    if ev:
                        self.add_cause(code, r, r.variance, ev)
                        explained.add(id(r))
                        break
            else:
                # records the gateway logged without a cost (missing-cost, unpriced-model findings)
                pe = self.pricing_evidence(r, codes=("PRC001", "PRC002"))
                if pe:
                    self.add_cause("ledger_mispriced", r, r.variance, pe)
                    explained.add(id(r))
                ev = self.gap_evidence(r)
                ev2 = self.usage_evidence(r)
                if ev or ev2:
                    self.add_cause("unlogged_traffic", r, r.variance,
                                   f"{r.model} ({r.provider}) on {r.day or r.start}: invoice {usd(r.invoice)}, ledger "
                                   f"{usd(r.led)}; " + "; ".join(e for e in (ev, ev2) if e))
                    explained.add(id(r))
        self.price_changes(explained)
        for r in self.rows:
            if self.flagged(r) and id(r) not in explained and not r.causes:
                ev = self.pricing_evidence(r)
                if ev:
                    self.add_cause("ledger_mispriced", r, r.variance, ev)
        for r in self.rows:
            if self.flagged(r) and id(r) not in explained and not r.causes:
                why = ("the invoice bills nothing for this model that day: a model name the bill spells differently, "
                       "or traffic billed to another account or provider" if not r.lines else "no cause the data supports")
                self.add_cause("unexplained", r, r.variance,
                               f"{r.model} ({r.provider}) on {r.day or r.start}: invoice {usd(r.invoice)}, ledger {usd(r.led)}; {why}")
        dup_recs, dup_cost = self.scope_info["duplicates_removed"], self.scope_info["duplicates_cost"]
        if dup_recs:
            by = sorted(((d.dup_cost, d) for d in self.in_scope.values() if d.dup_records), key=lambda x: -x[0])[:3]
            self.add_cause("duplicates", None, ZERO,
                           f"{dup_recs:,} records repeat a request_id already in the ledger ({usd(dup_cost)}); they were "
                           "removed before comparing, so the gateway's own total is that much above the ledger shown here"
                           + ("; most on " + ", ".join(f"{d.model} {d.day} ({d.dup_records})" for _, d in by) if by else ""))
            self.causes["duplicates"]["removed_cost"] = dup_cost
        credits = [l for l in self.other if l.amount < 0 or l.category == "credit"]
        charges = [l for l in self.other if l not in credits]
        for code, ls in (("invoice_credits", credits), ("invoice_only_charges", charges)):
            if ls:
                total = sum((l.amount for l in ls), ZERO)
                self.add_cause(code, None, total,
                               f"{len(ls)} line(s) exist only on the invoice, {usd(total)}: "
                               + "; ".join(f"{l.label} {usd(l.amount)}" for l in ls[:5])
                               + ("…" if len(ls) > 5 else "") + "; allocated to teams separately (see credits)")

    def price_changes(self, explained: set[int]) -> None:
        """A step in the invoice/ledger ratio of one model that the ledger's own prices do not show."""
        by_model: dict[tuple, list[Row]] = {}
        for r in self.rows:
            if r.day is None or r.model_key == "*" or r.model_key.startswith("charge:") or id(r) in explained:
                continue
            if r.invoice > 0 and r.led > 0:
                by_model.setdefault((r.provider, r.model_key), []).append(r)
        for (provider, mk), rs in by_model.items():
            rs.sort(key=lambda r: r.day)
            ratios = [r.invoice / r.led for r in rs]
            step = None
            for i in range(len(rs)):
                after = ratios[i:]
                if len(after) < 2 and i > 0:
                    break
                k = Decimal(statistics.median(after))
                if abs(k - 1) <= PRICE_TOLERANCE:
                    continue
                if all(abs(x - k) <= PRICE_TOLERANCE * k for x in after) and all(abs(x - 1) <= PRICE_TOLERANCE for x in ratios[:i]):
                    step = (i, k)
                    break
            if step is None:
                continue
            i, k = step
            affected = rs[i:]
            if not any(self.flagged(r) for r in affected):
                continue
            since = affected[0].day
            amount = sum((r.variance for r in affected), ZERO)
            before = rs[:i]
            ev = (f"{affected[0].model} ({provider}): from {since} the invoice is {float(k):.4g}x the ledger on all "
                  f"{len(affected)} days" + (f", and 1.00x on the {len(before)} days before" if before else
                                             " of the period (the ledger never had the invoice's price)"))
            ev += "; " + self._price_detail(before, affected)
            flagged_by = sorted({code for r in affected for d in r.ledger for code in d.pricing})
            if flagged_by:
                ev += "; the pricing rules flag these records too (" + ", ".join(flagged_by) + ")"
            for r in affected:
                self.add_cause("price_change", r, ZERO, "")
            c = self.causes["price_change"]
            c["amount"] += amount
            c["evidence"] = [e for e in c["evidence"] if e] + [ev]

    def _price_detail(self, before: list[Row], after: list[Row]) -> str:
        def implied(rs: list[Row]) -> tuple[dict[str, Decimal], Decimal | None]:
            inv: dict[str, Decimal] = {}
            toks: dict[str, int] = {}
            led, all_toks = ZERO, 0
            for r in rs:
                for tt, v in r.inv_tt().items():
                    inv[tt] = inv.get(tt, ZERO) + v
                    toks[tt] = toks.get(tt, 0) + r.tokens(tt)
                led += r.led
                all_toks += sum(r.tokens(tt) for tt in names.TOKEN_TYPES)
            per = {tt: v * 1_000_000 / toks[tt] for tt, v in inv.items() if toks.get(tt)}
            return per, (led * 1_000_000 / all_toks if all_toks else None)

        a_inv, a_led = implied(after)
        parts = []
        if before:
            b_inv, b_led = implied(before)
            for tt in a_inv:
                if tt in b_inv and abs(a_inv[tt] - b_inv[tt]) > b_inv[tt] * PRICE_TOLERANCE:
                    parts.append(f"invoice {tt} ${_p(b_inv[tt])}/1M -> ${_p(a_inv[tt])}/1M")
            if a_led is not None and b_led is not None:
                parts.append(f"ledger cost per 1M tokens ${_p(b_led)} before, ${_p(a_led)} after")
        else:
            parts += [f"invoice {tt} ${_p(v)}/1M" for tt, v in a_inv.items()]
            if a_led is not None:
                parts.append(f"ledger cost per 1M tokens ${_p(a_led)}")
        return ", ".join(parts) or "the invoice gives no token types to show the unit prices"

    # -- credits -----------------------------------------------------------------------------------------
    def allocate(self) -> dict[str, Any]:
        lines_out, per_team = [], {}
        for l in self.other:
            s, e = l.start.date(), (l.end - timedelta(microseconds=1)).date() + timedelta(days=1)
            # FOCUS rows carry the period a credit applies to; the cost APIs only the day it was posted.
            base = [d for d in self.in_scope.values() if d.provider == l.provider and s <= d.day < e] if l.format == "focus" else []
            scope = "provider and charge period"
            if not base:
                base = [d for d in self.in_scope.values() if d.provider == l.provider]
                scope = "provider, whole reconciled period"
            if not base:
                base = list(self.in_scope.values())
                scope = "whole ledger"
            teams: dict[str, Decimal] = {}
            for d in base:
                for t, c in d.teams.items():
                    teams[t or UNASSIGNED] = teams.get(t or UNASSIGNED, ZERO) + c
            total = sum(teams.values(), ZERO)
            shares = []
            if total:
                exact = {t: l.amount * c / total for t, c in teams.items()}
                rounded = {t: v.quantize(CENT, rounding=ROUND_HALF_EVEN) for t, v in exact.items()}
                diff = l.amount - sum(rounded.values(), ZERO)
                if diff:
                    top = max(exact, key=lambda t: (abs(exact[t]), t))
                    rounded[top] += diff
                for t in sorted(teams, key=lambda t: (-teams[t], t)):
                    shares.append({"team_id": t, "list_cost": teams[t], "share_pct": _pct(teams[t], total),
                                   "allocated": rounded[t]})
                    per_team[t] = per_team.get(t, ZERO) + rounded[t]
            lines_out.append({"source": l.source, "ref": l.ref, "label": l.label, "category": l.category,
                              "provider": l.provider, "period": f"{s.isoformat()}..{e.isoformat()}", "amount": l.amount,
                              "basis": scope, "allocation": shares})
        return {
            "total": sum((l.amount for l in self.other), ZERO),
            "formula": ALLOCATION_FORMULA,
            "lines": lines_out,
            "by_team": [{"team_id": t, "allocated": v} for t, v in sorted(per_team.items(), key=lambda kv: (kv[1], kv[0]))],
        }

    # -- result --------------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        self.scope()
        self.build_rows()
        self.find_causes()
        rows_out = []
        explained = ZERO
        attributable_explained = ZERO
        for r in self.rows:
            inv, led = r.invoice, r.led
            m = min(max(inv, ZERO), max(led, ZERO))
            explained += m
            att = sum((d.attributable for d in r.ledger), ZERO)
            if led > 0:
                attributable_explained += m * att / led
            rows_out.append({
                "day": r.day.isoformat() if r.day else None,
                "period": None if r.day else f"{r.start.isoformat()}..{r.end.isoformat()}",
                "provider": r.provider, "model": r.model,
                "invoice": inv, "ledger": led, "variance": inv - led, "variance_pct": _pct(inv - led, inv),
                "flagged": self.flagged(r), "records": sum(d.records for d in r.ledger),
                "attributable": att, "invoice_lines": len(r.lines),
                "token_types": self.token_rows(r), "causes": list(r.causes),
            })
        inv_usage = sum((l.amount for l in self.usage), ZERO)
        inv_total = sum((l.amount for l in self.priced), ZERO)
        led_total = sum((d.cost for d in self.in_scope.values()), ZERO)
        variance = inv_total - led_total
        variance_pct = _pct(variance, inv_total)
        if variance_pct is None:
            variance_pct = 0.0 if not led_total else 100.0
        coverage = _pct(explained, inv_usage) if inv_usage else None
        attributable_pct = _pct(attributable_explained, inv_usage) if inv_usage else None
        causes = sorted(self.causes.values(), key=lambda c: (c["code"] in ("unexplained",), -abs(c["amount"]), c["code"]))
        for c in causes:
            c["evidence"] = [e for e in c["evidence"] if e]
        credits = self.allocate()
        days = sorted({r.day for r in self.rows if r.day})
        chart = [{"day": d.isoformat(),
                  "invoice": sum((r.invoice for r in self.rows if r.day == d), ZERO),
                  "ledger": sum((r.led for r in self.rows if r.day == d), ZERO)} for d in days]
        flagged = sum(1 for r in rows_out if r["flagged"])
        cause_names = ", ".join(CAUSE_TITLES[c["code"]].lower() for c in causes) or "none found"
        line = (f"Reconciliation: invoice {usd(inv_total)} vs ledger {usd(led_total)}: variance {usd(variance)} "
                f"({variance_pct:+.2f}%)"
                + (f", ledger covers {coverage:.1f}% of the invoice's usage charges ({attributable_pct:.1f}% attributable to a team)"
                   if coverage is not None else "")
                + f"; {flagged} day/model row(s) over {float(self.threshold):g}%; likely causes: {cause_names}.")
        split = sorted(self.split_methods)
        return {
            "summary": {
                "invoice_total": inv_total, "invoice_usage_total": inv_usage, "invoice_only_total": credits["total"],
                "ledger_total": led_total, "variance": variance, "variance_pct": variance_pct,
                "usage_variance": inv_usage - led_total,
                "coverage_pct": coverage, "attributable_pct_of_invoice": attributable_pct,
                "threshold_pct": float(self.threshold), "flagged_rows": flagged,
                "period": {p: {"start": s.isoformat(), "end": e.isoformat()} for p, (s, e) in sorted(self.spans.items())},
                "summary_line": line,
            },
            "summary_line": line,
            "rows": rows_out,
            "causes": causes,
            "credits": credits,
            "chart": chart,
            "inputs": {
                "ledger": {
                    "records": sum(d.records for d in self.in_scope.values()),
                    "basis": "accepted LLM records, de-duplicated by request_id (first record kept), cost per UTC day",
                    **self.scope_info,
                },
                "token_split": split,
                "coverage_formula": ("coverage = sum over rows of min(invoice, ledger) / invoice usage charges; "
                                     "attributable = the same, weighted by each row's attributable share of ledger cost"),
            },
        }


def _hours(hs: list[int]) -> str:
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


def _p(d: Decimal) -> str:
    """A unit price: at least 2 decimals, at most 4 ($0.60, $0.075, $2.5001)."""
    text = format(d.quantize(Decimal("0.0001")).normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def reconcile(con: duckdb.DuckDBPyConnection, invoices: Iterable[str], *, threshold_pct: float = 2.0) -> dict[str, Any]:
    """Reconcile the ledger in ``con`` (``records`` / ``llm`` / ``attribution``) against the invoice files."""
    lines, files = read_invoices(list(invoices))
    rec = Reconciler(con, lines, threshold_pct).run()
    rec["inputs"]["invoices"] = [{"path": f.path, "format": f.format, "lines": f.lines, "amount": f.amount,
                                  **({"note": f.note} if f.note else {})} for f in files]
    return rec
