"""Evidence from the ledger's own time series and the invoice's token counts: hours a day lacks against its
neighbouring days, the provider's usage reports, cached tokens and batch requests priced at the full rate.
Each function returns what it found (with the amount it supports, where it supports one) or None."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from auditor.fmt import plural
from auditor.reconcile import names
from auditor.reconcile.ledger import LedgerDay
from auditor.reconcile.rows import MONEY_QUANTUM, ZERO, Row, hours_text, median, usd

NEIGHBOUR_DAYS = 7  # a gap is judged against the same model's days within a week either side
MIN_NEIGHBOURS = 3  # fewer neighbouring days than this cannot show a gap


@dataclass
class Gap:
    """Hours of one day without records that carry traffic on most neighbouring days."""

    hours: list[int]
    estimate: Decimal  # sum over those hours of the neighbours' median cost at the price in effect
    neighbours: int
    text: str
    # team (or "" unallocated) -> its cost in the same hours of the neighbouring days: whom the missing
    # traffic most likely belonged to, the basis of its per-team effect
    weights: dict[str, Decimal]


def gap(r: Row, series: dict[date, LedgerDay], *, recorded: bool = False) -> Gap | None:
    """Hours without records (or a drop in records) against the neighbouring days of the same model; the
    hours are priced at the price in effect, or at the recorded cost when the invoice confirms those prices."""
    if not r.is_model_day:
        return None
    nb = [d for day, d in series.items() if day != r.day and abs((day - r.day).days) <= NEIGHBOUR_DAYS and d.records]
    if len(nb) < MIN_NEIGHBOURS:
        return None  # too few neighbouring days to call anything a gap
    today = series.get(r.day)
    hours = today.hours if today else [0] * 24
    count = today.records if today else 0
    med = median([d.records for d in nb])
    typical = [h for h in range(24) if sum(1 for d in nb if d.hours[h]) * 2 >= len(nb)]
    missing = [h for h in typical if hours[h] == 0]
    estimate = sum((Decimal(median([(d.hour_recorded if recorded else d.hour_cost)[h] for d in nb])) for h in missing), ZERO)
    weights = _team_weights(nb, set(missing), recorded)
    parts = []
    if count == 0:
        parts.append(f"no records at all on {r.day} (neighbouring days: median {med:g} records)")
    elif missing:
        share = sum(1 for h in missing for d in nb if d.hours[h])
        every = share == len(missing) * len(nb)
        parts.append(f"no records in {hours_text(missing)} UTC on {r.day}, hours that carry traffic on "
                     f"{'every one' if every else 'most'} of the {len(nb)} neighbouring days")
    short = count and med >= 4 and count < 0.8 * med
    if short:
        parts.append(f"{count} records on {r.day} against a median of {med:g} on the neighbouring days")
    if not parts:
        return None
    basis = "recorded prices" if recorded else "price in effect"
    if missing:
        parts.append(f"those hours cost {usd(estimate)} on a median neighbouring day at the {basis}")
    if short and not missing:
        # Traffic lost inside busy hours leaves no empty hour: the records the day lacks against its
        # neighbours, at their median cost per record, bound the loss from the count side. Empty hours,
        # when there are any, are the direct measure and the count would double what they already cover.
        per = median([sum(d.hour_recorded if recorded else d.hour_cost, ZERO) / d.records for d in nb])
        by_count = Decimal(str(med - count)) * Decimal(per)
        if by_count > estimate:
            estimate = by_count
            weights = _team_weights(nb, set(range(24)), recorded)
            parts.append(f"{med - count:g} missing records at the neighbouring days' median {usd(Decimal(per))} "
                         f"per record: {usd(by_count)} at the {basis}")
    return Gap(missing, estimate, len(nb), "; ".join(parts), weights)


def _team_weights(days: list[LedgerDay], hours: set[int], recorded: bool) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for d in days:
        for (h, team), (at_price, as_recorded) in d.hour_teams.items():
            if h in hours:
                out[team] = out.get(team, ZERO) + (as_recorded if recorded else at_price)
    return {t: v for t, v in out.items() if v > 0}


def split(amount: Decimal, weights: dict[str, Decimal]) -> dict[str, Decimal]:
    """``amount`` shared in proportion to ``weights``, each share at the money scale and the shares adding up
    to ``amount`` exactly (the rounding remainder goes to the largest share); all of it unallocated ("")
    without weights."""
    total = sum(weights.values(), ZERO)
    if not total:
        return {"": amount}
    shares = {t: (amount * w / total).quantize(MONEY_QUANTUM) for t, w in weights.items()}
    top = max(shares, key=lambda t: (abs(shares[t]), t))
    shares[top] += amount - sum(shares.values(), ZERO)
    return shares


def usage_gap(r: Row) -> tuple[Decimal | None, str] | None:
    """Tokens the invoice (or the provider's usage report) counts and the ledger lacks, priced at the
    invoice's own unit price per token type: (amount or None when the invoice gives no price, evidence)."""
    inv_tok = r.inv_tokens()
    if not inv_tok:
        return None
    inv_tt = r.inv_tt()
    amount, priced, parts = ZERO, False, []
    for tt in names.TOKEN_TYPES:
        if tt not in inv_tok:
            continue
        missing = inv_tok[tt] - r.tokens(tt)
        if missing <= 0:
            continue
        parts.append(f"{missing:,} {tt} tokens")
        if inv_tok[tt] and inv_tt.get(tt):
            amount += missing * inv_tt[tt] / inv_tok[tt]
            priced = True
    inv_req = sum(c.requests or 0 for c in r.counted)
    if not parts and not (inv_req and inv_req > r.records):
        return None
    total = sum(inv_tok.values())
    source = "invoice" if any(l.tokens is not None for l in r.lines) else "provider's usage report"
    text = (f"the {source} counts {total:,} tokens" + (f" in {plural(inv_req, 'request')}" if inv_req else "")
            + f", the ledger {sum(r.tokens(tt) for tt in names.TOKEN_TYPES):,} tokens in {plural(r.records, 'record')}"
            + (f": {', '.join(parts)} not logged" if parts else ""))
    if priced:
        text += f", {usd(amount)} at the invoice's own unit prices"
    return (amount if priced else None), text


def cached_full_rate(r: Row, over: Decimal) -> tuple[Decimal, str] | None:
    """Cached tokens the ledger priced at the full input rate, at the invoice's own two unit prices, when
    that explains ``over`` (how much the ledger is above the invoice) within 5%."""
    inv_tt = r.inv_tt()
    cached_amt = inv_tt.get(names.CACHED, ZERO)
    c_tok, i_tok = r.tokens(names.CACHED), r.tokens(names.INPUT)
    if not (c_tok and cached_amt > 0 and i_tok and inv_tt.get(names.INPUT) and over > 0):
        return None
    p_in, p_c = inv_tt[names.INPUT] / i_tok, cached_amt / c_tok
    expected = c_tok * (p_in - p_c)
    if expected <= 0 or abs(over - expected) > over * Decimal("0.05"):
        return None
    return -expected, (f"{c_tok:,} cached tokens of {r.model} on {r.day or r.start}: the invoice prices them at "
                       f"${(p_c * 1_000_000).quantize(Decimal('0.0001'))}/1M against "
                       f"${(p_in * 1_000_000).quantize(Decimal('0.0001'))}/1M for input; priced at the full input "
                       f"rate they cost {usd(expected)} more")


def batch_full_rate(r: Row, over: Decimal) -> tuple[Decimal, str] | None:
    """Batch requests the ledger priced at the online rate (the provider bills them at 50% off), when that
    explains ``over`` within 10%."""
    b_cost = sum((d.batch_cost for d in r.ledger), ZERO)
    b_recs = sum(d.batch_records for d in r.ledger)
    if over <= 0 or not b_cost or abs(over - b_cost / 2) > over * Decimal("0.1"):
        return None
    return -b_cost / 2, (f"{b_recs:,} batch records of {r.model} on {r.day or r.start} cost {usd(b_cost)} in the "
                         "ledger; the batch price (50% off) was not applied")
