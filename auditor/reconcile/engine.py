"""Invoice vs ledger: the variance table per day x provider x model, its decomposition into causes
(auditor/reconcile/decompose.py, causes.py), coverage and the allocation of invoice-only credits
(credits.py). Everything here is Decimal; percentages are floats rounded to 2 decimals for display only."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Iterable

import duckdb

from auditor.fmt import plural, variance_side
from auditor.reconcile import names
from auditor.reconcile.causes import CAUSE_TITLES, ORDER, build, decomposition
from auditor.reconcile.credits import allocate
from auditor.reconcile.decompose import Decomposer
from auditor.reconcile.invoices import USAGE, InvoiceLine, read_invoices
from auditor.reconcile.ledger import LedgerDay, load_ledger, pricing_codes
from auditor.reconcile.rows import CENT, HUNDRED, ZERO, Row, line_key, pct, q, signed, usd

SPLIT_SNAPSHOT = "unit prices the gateway logged with each record (price_snapshot)"
SPLIT_PRICING = "tokens x unit prices from auditor.pricing"
SPLIT_PROPORTIONAL = "proportional to the invoice's own split (the ledger has no unit prices for this row)"


class Reconciler:
    def __init__(self, con: duckdb.DuckDBPyConnection, lines: list[InvoiceLine], threshold_pct: float,
                 team_names: dict[str, str] | None = None):
        self.con = con
        self.team_names = team_names or {}
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
            mk = line_key(l)
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
            if k not in claimed and (d.cost or d.records or d.dup_records):
                rows.append(Row(d.provider, d.model_key, d.day, d.day, d.day + timedelta(days=1), ledger=[d]))
        index: dict[tuple, list[Row]] = {}
        for r in rows:
            index.setdefault((r.provider, r.model_key), []).append(r)
        for c in self.counted:
            for r in index.get((c.provider, line_key(c)), []) + index.get((c.provider, "*"), []):
                if r.start <= c.start.date() < r.end:
                    r.counted.append(c)
                    break
        rows.sort(key=lambda r: (r.start, r.end, r.provider, r.model, r.model_key))
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
            i, led = inv_tt.get(tt, ZERO), q(led_tt.get(tt, ZERO))
            toks = r.tokens(tt)
            out.append({
                "token_type": tt, "invoice": i, "ledger": led, "variance": i - led, "variance_pct": pct(i - led, i),
                "ledger_tokens": toks, "invoice_tokens": inv_tokens.get(tt, counted.get(tt)),
                "invoice_price_per_1m": (i * 1_000_000 / toks).quantize(Decimal("0.0001")) if toks and i else None,
                "split": method,
            })
        return out

    # -- result --------------------------------------------------------------------------------------------
    def row_out(self, r: Row) -> dict[str, Any]:
        inv, led = r.invoice, r.led
        comps = [{"code": c, "amount": r.comp[c]} for c in ORDER if r.comp.get(c)]
        return {
            "day": r.day.isoformat() if r.day else None,
            "period": None if r.day else f"{r.start.isoformat()}..{r.end.isoformat()}",
            "provider": r.provider, "model": r.model,
            "invoice": inv, "ledger": led, "variance": inv - led, "variance_pct": pct(inv - led, inv),
            "flagged": self.flagged(r), "records": r.records,
            "attributable": sum((d.attributable for d in r.ledger), ZERO), "invoice_lines": len(r.lines),
            "token_types": self.token_rows(r), "causes": [c["code"] for c in comps],
            # invoice - (ledger + duplicates_cost) = sum of components, exactly
            "duplicates_cost": r.dup, "components": comps, "residual": r.comp.get("unexplained", ZERO),
        }

    def coverage(self, inv_usage: Decimal) -> tuple[float | None, float | None]:
        explained = attributable_explained = ZERO
        for r in self.rows:
            inv, led = r.invoice, r.led
            m = min(max(inv, ZERO), max(led, ZERO))
            explained += m
            if led > 0:
                attributable_explained += m * sum((d.attributable for d in r.ledger), ZERO) / led
        if not inv_usage:
            return None, None
        return pct(explained, inv_usage), pct(attributable_explained, inv_usage)

    def run(self) -> dict[str, Any]:
        self.scope()
        self.build_rows()
        Decomposer(self.rows, self.in_scope, self.flagged).run()
        rows_out = [self.row_out(r) for r in self.rows]
        inv_usage = sum((l.amount for l in self.usage), ZERO)
        inv_total = sum((l.amount for l in self.priced), ZERO)
        led_total = sum((d.cost for d in self.in_scope.values()), ZERO)
        variance = inv_total - led_total
        variance_pct = pct(variance, inv_total)
        if variance_pct is None:
            variance_pct = 0.0 if not led_total else 100.0
        coverage, attributable_pct = self.coverage(inv_usage)
        credits = allocate(self.other, self.in_scope, self.team_names)
        causes = build(self.rows, self.other, pricing_codes() | {"INT001": "duplicate-request"}, self.team_names, credits)
        decomp = decomposition(self.rows, causes, inv_total, led_total, self.scope_info["duplicates_cost"])
        flagged = sum(1 for r in rows_out if r["flagged"])
        named = [c for c in causes if c["code"] != "unexplained"]
        line = (f"Reconciliation: invoice {usd(inv_total)} vs ledger {usd(led_total)}: variance {usd(variance)} "
                f"({variance_pct:+.2f}%, {variance_side(variance)})"
                + (f", ledger covers {coverage:.1f}% of the invoice's usage charges ({attributable_pct:.1f}% attributable to a team)"
                   if coverage is not None else "")
                + f"; {plural(flagged, 'day/model row')} over {float(self.threshold):g}%; "
                + (("causes: " + ", ".join(f"{CAUSE_TITLES[c['code']].lower()} {signed(c['amount'])}" for c in named))
                   if named else "no cause found")
                + f"; explained {decomp['explained_pct']:.1f}%, unexplained {usd(decomp['unexplained'])}.")
        return {
            "summary": {
                "invoice_total": inv_total, "invoice_usage_total": inv_usage, "invoice_only_total": credits["total"],
                "ledger_total": led_total, "variance": variance, "variance_pct": variance_pct,
                "usage_variance": inv_usage - led_total,
                "coverage_pct": coverage, "attributable_pct_of_invoice": attributable_pct,
                "threshold_pct": float(self.threshold), "flagged_rows": flagged,
                "explained_pct": decomp["explained_pct"], "unexplained": decomp["unexplained"],
                "direction": decomp["statement"],
                "period": {p: {"start": s.isoformat(), "end": e.isoformat()} for p, (s, e) in sorted(self.spans.items())},
                "summary_line": line,
            },
            "summary_line": line,
            "rows": rows_out,
            "decomposition": decomp,
            "causes": causes,
            "credits": credits,
            "chart": self.chart(),
            "inputs": self.inputs(),
        }

    def chart(self) -> list[dict[str, Any]]:
        per_day: dict[Any, list] = {}
        for r in self.rows:
            if r.day:
                acc = per_day.setdefault(r.day, [ZERO, ZERO, False])
                acc[0] += r.invoice
                acc[1] += r.led
                acc[2] = acc[2] or self.flagged(r)
        return [{"day": d.isoformat(), "invoice": inv, "ledger": led, "flagged": flag}
                for d, (inv, led, flag) in sorted(per_day.items())]

    def inputs(self) -> dict[str, Any]:
        return {
            "ledger": {
                "records": sum(d.records for d in self.in_scope.values()),
                "basis": ("accepted LLM records, de-duplicated as INT001 duplicate-request does (request_id, refined by "
                          "trace_id when copies disagree; first record kept), cost per UTC day"),
                **self.scope_info,
            },
            "token_split": sorted(self.split_methods),
            "coverage_formula": ("coverage = sum over rows of min(invoice, ledger) / invoice usage charges; "
                                 "attributable = the same, weighted by each row's attributable share of ledger cost"),
        }


def reconcile(con: duckdb.DuckDBPyConnection, invoices: Iterable[str] | tuple[list, list], *,
              threshold_pct: float = 2.0, team_names: dict[str, str] | None = None) -> dict[str, Any]:
    """Reconcile the ledger in ``con`` (``records`` / ``llm`` / ``attribution``) against the invoice files, or
    against what ``read_invoices`` already read from them (``(lines, files)``). ``team_names`` (team id -> display
    name) lets the team effects read "Name (id)" as the report's team table does."""
    lines, files = invoices if isinstance(invoices, tuple) else read_invoices(list(invoices))
    rec = Reconciler(con, lines, threshold_pct, team_names).run()
    rec["inputs"]["invoices"] = [{"path": f.path, "format": f.format, "lines": f.lines, "amount": f.amount,
                                  **({"note": f.note} if f.note else {})} for f in files]
    return rec
