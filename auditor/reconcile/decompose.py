"""Invoice minus ledger, per row, split into components computed from evidence, not by elimination.

For each row (day x provider x model) the ledger *as logged* (duplicates included) is taken apart:

* ``duplicates``: minus the cost of the copies INT001 flags (the provider bills a request once);
* ``missing_cost``: records at $0 (PRC001) at the price in effect; $0 records of a model with no known price
  at the invoice's own unit price for that model (its amount per token type over the ledger's tokens);
* ``stale_price`` (PRC003), ``cost_mismatch`` (PRC004; ``cached_token_pricing`` / ``batch_discount`` when
  the invoice's own prices show that is what the mismatch is): the flagged records' price in effect minus
  their recorded cost;
* ``unlogged_traffic``: tokens the invoice (or the provider's usage report) counts and the ledger lacks, at
  the invoice's unit price; else hours with no records that carry traffic on most neighbouring days, at
  the neighbours' median cost of those hours; or a model the ledger never logged;
* ``price_change``: the invoice's price steps away from the price in effect from one day on (the ratio of
  invoice to the corrected ledger is 1 before and k after): (k - 1) x the corrected ledger;
* ``charges_not_logged``: non-token usage lines (web search, storage);
* ``rounding``: what is left when it is within the invoice's own rounding (half the last digit the bill
  writes, per line, at most half a cent) and the ledger's (1e-12 per record);
* ``unexplained``: the rest, exactly, so the components add up to the row's variance to the last digit.
"""

from __future__ import annotations

import statistics
from datetime import date
from decimal import Decimal

from auditor.fmt import plural
from auditor.reconcile import names
from auditor.reconcile.evidence import Gap, batch_full_rate, cached_full_rate, gap, split, usage_gap
from auditor.reconcile.ledger import LedgerDay
from auditor.reconcile.rows import MONEY_QUANTUM, ZERO, Row, price_text, q, quantum, signed, usd

PRICE_TOLERANCE = Decimal("0.01")  # invoice/ledger ratios within 1% count as "the same price"
# components that correct the ledger to the price in effect
PRICING = ("missing_cost", "stale_price", "cost_mismatch", "cached_token_pricing", "batch_discount")


def _owners(r: Row, g: Gap | None) -> dict[str, Decimal]:
    """The teams (by cost) a component without records of its own is shared among: for unlogged traffic the
    teams that carry the missing hours on the neighbouring days, else (tokens the invoice counts and the ledger
    lacks have no hour to look at; a price change applies to all of the row) the row's own records' teams."""
    if g and g.weights:
        return g.weights
    out: dict[str, Decimal] = {}
    for d in r.ledger:
        for t, v in d.teams.items():
            out[t] = out.get(t, ZERO) + v
    return {t: v for t, v in out.items() if v > 0}


def _merged(r: Row, kind: str) -> tuple[int, Decimal | None, Decimal, int, dict[str, Decimal]]:
    """(records, difference to the price in effect, recorded cost, records without a price, per team)."""
    n, diff, cost, unknown, teams = 0, None, ZERO, 0, {}
    for d in r.ledger:
        ev = d.evidence.get(kind)
        if not ev:
            continue
        n, cost, unknown = n + ev[0], cost + ev[2], unknown + ev[3]
        if ev[1] is not None:
            diff = (diff or ZERO) + ev[1]
        for (k, t), v in d.evidence_teams.items():
            if k == kind:
                teams[t] = teams.get(t, ZERO) + v
    return n, diff, cost, unknown, teams


class Decomposer:
    def __init__(self, rows: list[Row], in_scope: dict[tuple, LedgerDay], flagged):
        self.rows = rows
        self.flagged = flagged
        self.series: dict[tuple, dict[date, LedgerDay]] = {}
        for d in in_scope.values():
            self.series.setdefault((d.provider, d.model_key), {})[d.day] = d
        self.base: dict[int, Decimal] = {}  # the ledger at the price in effect, plus unlogged hours at that price
        self.target: dict[int, Decimal] = {}  # the invoice less unlogged tokens at the invoice's price
        self._unit_prices: dict[tuple, dict[str, Decimal]] = {}
        self.recorded_ok: set[tuple] = set()  # models the invoice bills at the recorded cost

    def run(self) -> None:
        for r in self.rows:
            self.row(r)
        self.confirm_recorded_prices()
        for r in self.rows:
            if not r.model_key.startswith("charge:") or r.ledger:
                corrected = r.led + sum((r.comp.get(c, ZERO) for c in PRICING), ZERO)
                recorded = (r.provider, r.model_key) in self.recorded_ok
                hour_est, tok_est = self.unlogged(r, corrected, recorded)
                self.base[id(r)] = corrected + hour_est
                self.target[id(r)] = r.invoice - tok_est
        self.price_changes()
        for r in self.rows:
            self.close(r)

    def row(self, r: Row) -> None:
        if r.model_key.startswith("charge:") and not r.ledger:
            r.add("charges_not_logged", r.invoice, f"{r.lines[0].label!r} ({usd(r.invoice)} on {r.day or r.start}) is "
                  "not a model's token charge: the gateway does not log it")
            return
        if r.dup:
            n = sum(d.dup_records for d in r.ledger)
            teams: dict[str, Decimal] = {}
            for d in r.ledger:
                for t, v in d.dup_teams.items():
                    teams[t] = teams.get(t, ZERO) - v
            r.add("duplicates", -r.dup, f"{n:,} extra {'copy' if n == 1 else 'copies'} of requests already logged for {r.where} ({usd(r.dup)}; "
                  "INT001 duplicate-request): the provider bills each request once", teams, records=n)
        self.pricing(r)

    def confirm_recorded_prices(self) -> None:
        """Where the invoice bills a model at the recorded cost and not at the price in effect (a published price
        that is not this account's: regional, negotiated), the stale / mismatch findings do not explain the
        variance: their components are dropped for that model and the rows say why."""
        votes: dict[tuple, list[int]] = {}
        for r in self.rows:
            pr = r.comp.get("stale_price", ZERO) + r.comp.get("cost_mismatch", ZERO)
            if not pr or not r.is_model_day or not r.led or r.invoice <= 0 or usage_gap(r) or \
                    gap(r, self.series.get((r.provider, r.model_key), {})):
                continue
            rec_ok = abs(r.invoice / r.led - 1) <= PRICE_TOLERANCE
            cor_ok = abs(r.invoice / (r.led + pr) - 1) <= PRICE_TOLERANCE
            v = votes.setdefault((r.provider, r.model_key), [0, 0])
            v[0 if rec_ok and not cor_ok else 1] += 1
        self.recorded_ok = {k for k, (yes, no) in votes.items() if yes > no}
        for r in self.rows:
            if (r.provider, r.model_key) not in self.recorded_ok:
                continue
            for code in ("stale_price", "cost_mismatch"):
                if r.comp.pop(code, None) is not None:
                    n = r.comp_records.pop(code, 0)
                    r.evid.pop(code, None)
                    r.team_effect.pop(code, None)
                    r.causes.remove(code)
                    r.notes.append(f"{plural(n, 'record')} flagged by {'PRC003' if code == 'stale_price' else 'PRC004'} {'is' if n == 1 else 'are'} billed "
                                   "at their recorded cost, not at the price in effect: the published price is not this "
                                   "account's (add the agreed price to a [pricing] catalog)")

    # -- the pricing rules' findings ----------------------------------------------------------------
    def pricing(self, r: Row) -> Decimal:
        """Components from the records the pricing rules flag; returns their sum."""
        before = sum(r.comp.values(), ZERO) - r.comp.get("duplicates", ZERO)
        n, diff, cost, unknown, teams = _merged(r, "missing_cost")
        if diff:
            r.add("missing_cost", q(diff), f"{plural(n - unknown, 'record')} of {r.where} logged at $0 or without a cost "
                  f"(PRC001 missing-cost): {usd(diff)} at the price in effect", teams, records=n - unknown)
        if unknown:
            est, basis, est_teams = self.unpriced_estimate(r)
            if est:
                r.add("missing_cost", est, f"{plural(unknown, 'record')} of {r.where} at $0 for a model with no known price "
                      f"(PRC001, PRC002 unpriced-model): {usd(est)} at {basis}", est_teams, records=unknown)
            else:
                r.notes.append(f"{plural(unknown, 'record')} at $0 for a model with no known price (PRC001, PRC002): their "
                               "cost cannot be estimated")
        n, diff, cost, _, teams = _merged(r, "stale_price")
        if diff:
            since = sorted({s for d in r.ledger for s in d.stale_since})
            # the day the missed price took effect: the "after its price change on ..." a reader checks first
            when = f" since {', '.join(map(str, since))}" if since else ""
            r.add("stale_price", q(diff), f"{plural(n, 'request')} of {r.where} priced at a price no longer in effect "
                  f"(PRC003 stale-price): recorded {usd(cost)}, {signed(diff)} at the price in effect{when}", teams, records=n)
        n, diff, cost, _, teams = _merged(r, "cost_mismatch")
        if diff:
            code, why = self._mismatch_kind(r, -diff)
            r.add(code, q(diff), f"{plural(n, 'request')} of {r.where} whose cost matches no published price (PRC004 "
                  f"cost-mismatch): recorded {usd(cost)}, {signed(diff)} at the price in effect" + why, teams, records=n)
        elif r.is_model_day and r.lines:
            self._full_rate_fallback(r, before)
        n, _, cost, _, _ = _merged(r, "unpriced")
        if n:
            r.notes.append(f"{plural(n, 'record')} ({usd(cost)}) of a model with no known price (PRC002 unpriced-model): their "
                           "cost cannot be checked against a price")
        return sum(r.comp.values(), ZERO) - r.comp.get("duplicates", ZERO) - before

    def _mismatch_kind(self, r: Row, over: Decimal) -> tuple[str, str]:
        for code, found in (("cached_token_pricing", cached_full_rate(r, over)), ("batch_discount", batch_full_rate(r, over))):
            if found:
                return code, "; " + found[1]
        return "cost_mismatch", ""

    def _full_rate_fallback(self, r: Row, before: Decimal) -> None:
        """No price is known for the model, but the invoice's own prices show cached or batch tokens at the full rate."""
        over = -(r.invoice - r.led - before)
        for code, found in (("cached_token_pricing", cached_full_rate(r, over)), ("batch_discount", batch_full_rate(r, over))):
            if found:
                r.add(code, q(found[0]), found[1] + " (from the invoice's own unit prices; no pricing rule flags these records)")
                return

    def unpriced_estimate(self, r: Row) -> tuple[Decimal, str, dict[str, Decimal]]:
        """(estimate, its basis, per team): the $0 records' tokens at the invoice's unit prices. The estimate is
        the sum of the teams' quantized shares, so the team effects add up to the component exactly."""
        tokens: dict[tuple, int] = {}
        for d in r.ledger:
            for k, v in d.unpriced_team_tokens.items():
                tokens[k] = tokens.get(k, 0) + v
        prices = self.unit_prices(r.provider, r.model_key)
        teams: dict[str, Decimal] = {}
        for (team, tt), v in tokens.items():
            if tt in prices:
                teams[team] = teams.get(team, ZERO) + v * prices[tt]
        teams = {t: q(v) for t, v in teams.items()}
        used = {tt for (_, tt), v in tokens.items() if v}
        text = ", ".join(f"{tt} ${price_text(prices[tt] * 1_000_000)}/1M" for tt in names.TOKEN_TYPES if tt in prices and tt in used)
        return sum(teams.values(), ZERO), f"the invoice's own unit prices for the model ({text})", teams

    def unit_prices(self, provider: str, model_key: str) -> dict[str, Decimal]:
        """The invoice's amount per token of one model over the whole period (its token counts, else the ledger's)."""
        key = (provider, model_key)
        if key not in self._unit_prices:
            amt: dict[str, Decimal] = {}
            tok: dict[str, int] = {}
            for r in self.rows:
                if (r.provider, r.model_key) != key:
                    continue
                inv_tok = r.inv_tokens()
                for tt, v in r.inv_tt().items():
                    amt[tt] = amt.get(tt, ZERO) + v
                    tok[tt] = tok.get(tt, 0) + (inv_tok[tt] if tt in inv_tok else r.tokens(tt))
            self._unit_prices[key] = {tt: v / tok[tt] for tt, v in amt.items() if tok.get(tt)}
        return self._unit_prices[key]

    # -- unlogged traffic --------------------------------------------------------------------------
    def unlogged(self, r: Row, corrected: Decimal, recorded: bool) -> tuple[Decimal, Decimal]:
        """(unlogged traffic at the price in effect, at the invoice's price): one of them is zero."""
        if not r.lines:
            return ZERO, ZERO
        ug = usage_gap(r)
        series = self.series.get((r.provider, r.model_key), {})
        g = gap(r, series, recorded=recorded)
        if ug and ug[0] and ug[0] > 0:
            amount = q(ug[0])
            r.add("unlogged_traffic", amount, f"{r.where}: {ug[1]}" + (f"; {g.text}" if g else ""),
                  split(amount, _owners(r, g)))
            return ZERO, amount
        if r.is_model_day and not series and r.invoice > 0:
            r.add("unlogged_traffic", r.invoice, f"{r.where}: the invoice bills {usd(r.invoice)}; the ledger has no record "
                  f"of {r.model} from {r.provider} in the whole period (not logged, or logged under a name the bill does not use)",
                  {"": r.invoice})
            return ZERO, r.invoice
        if g and g.estimate > 0 and r.invoice - corrected > 0:
            amount = q(g.estimate)
            r.add("unlogged_traffic", amount, f"{r.where}: {g.text}" + (f"; {ug[1]}" if ug else ""),
                  split(amount, _owners(r, g)))
            # read only if a residual is left: then the reader must know the estimate is a likely source of it
            r.notes.append(f"the unlogged hours ({signed(amount)}) are estimated from the same hours of the neighbouring "
                           "days, not measured (the invoice has no token counts): part of this may be that estimate's error")
            return amount, ZERO
        for found in (g.text if g else None, ug[1] if ug else None):
            if found:
                r.notes.append(found)
        return ZERO, ZERO

    # -- a price the invoice changed and the price tables do not know -------------------------------
    def price_changes(self) -> None:
        """A step in the invoice / corrected-ledger ratio of one model that the prices in effect do not show."""
        by_model: dict[tuple, list[Row]] = {}
        for r in self.rows:
            if r.is_model_day and self.target.get(id(r), ZERO) > 0 and self.base.get(id(r), ZERO) > 0:
                by_model.setdefault((r.provider, r.model_key), []).append(r)
        for (provider, _), rs in sorted(by_model.items()):
            rs.sort(key=lambda r: r.day)
            step = self._step([self.target[id(r)] / self.base[id(r)] for r in rs])
            if step is None:
                continue
            i, k = step
            before, affected = rs[:i], rs[i:]
            if not any(self.flagged(r) for r in affected):
                continue
            ev = (f"{affected[0].model} ({provider}): from {affected[0].day} the invoice is {float(k):.4g}x the ledger at "
                  f"the price in effect on all {len(affected)} days" + (f", and 1.00x on the {len(before)} days before" if before
                                                                         else " of the period (the ledger never had the invoice's price)"))
            ev += "; " + self._price_detail(before, affected)
            for n, r in enumerate(affected):
                amount = q((k - 1) * self.base[id(r)])
                r.add("price_change", amount, ev if n == 0 else None, split(amount, _owners(r, None)))

    @staticmethod
    def _step(ratios: list[Decimal]) -> tuple[int, Decimal] | None:
        for i in range(len(ratios)):
            after = ratios[i:]
            if len(after) < 2 and i > 0:
                return None
            k = Decimal(statistics.median(after))
            if abs(k - 1) <= PRICE_TOLERANCE:
                continue
            if all(abs(x - k) <= PRICE_TOLERANCE * k for x in after) and all(abs(x - 1) <= PRICE_TOLERANCE for x in ratios[:i]):
                return i, k
        return None

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
                    parts.append(f"invoice {tt} ${price_text(b_inv[tt])}/1M -> ${price_text(a_inv[tt])}/1M")
            if a_led is not None and b_led is not None:
                parts.append(f"ledger cost per 1M tokens ${price_text(b_led)} before, ${price_text(a_led)} after")
        else:
            parts += [f"invoice {tt} ${price_text(v)}/1M" for tt, v in a_inv.items()]
            if a_led is not None:
                parts.append(f"ledger cost per 1M tokens ${price_text(a_led)}")
        return ", ".join(parts) or "the invoice gives no token types to show the unit prices"

    # -- what is left ------------------------------------------------------------------------------
    def close(self, r: Row) -> None:
        """Rounding when the rest is within the bill's and the ledger's own rounding, else the residual."""
        rest = r.gross - sum(r.comp.values(), ZERO)
        if not rest:
            return
        bound = sum((quantum(l.amount) / 2 for l in r.lines), ZERO) + MONEY_QUANTUM * (r.records + len(r.ledger) + 1)
        if abs(rest) <= bound:
            r.add("rounding", rest, f"{r.where}: {signed(rest)}, within the rounding of the bill's {plural(len(r.lines), 'line')} "
                  f"and the ledger's {plural(r.records, 'record')} (at most {usd(bound)})")
            return
        why = "; ".join(r.notes) if r.notes else (
            "the invoice bills nothing for this model that day: a model name the bill spells differently, or traffic "
            "billed to another account or provider" if not r.lines else "no cause the data supports")
        r.add("unexplained", rest, f"{r.where}: invoice {usd(r.invoice)}, ledger {usd(r.led)}, {signed(rest)} not "
              f"explained by the components above; {why}")
