"""Pricing rules: is each record's cost the price in effect at its timestamp times its tokens?

All four rules read the price tables that ``auditor.pricing.build`` creates once per audit: each record's
cost recomputed from its tokens (uncached input, cached input, cache writes, output, batch) at the price
version in effect on its UTC date (user catalog over LiteLLM model map over genai-prices; the record's
LiteLLM price snapshot when nothing else knows the model), compared within ``[pricing] tolerance_pct``
(default 1%) or ``tolerance_usd`` (default $0.000001), whichever is larger. The $ at risk of a finding is
the cost the flagged records carry; the recomputed difference is in the finding's details.
"""

from __future__ import annotations

from decimal import Decimal

from auditor.fmt import usd
from auditor.pricing import build, per_model, tolerance
from auditor.rules.base import Hits, RuleContext, rule


def _usd(expr: str) -> str:
    """SQL: a DECIMAL as ``$0.00027`` (no trailing zeros)."""
    return (f"('$' || CASE WHEN {expr} = 0 THEN '0' ELSE rtrim(rtrim(CAST(CAST({expr} AS DECIMAL(38,12)) AS VARCHAR), '0'), '.') END)")


def _num(expr: str) -> str:
    """SQL: a DOUBLE price as ``$0.15``."""
    return f"('$' || CAST(round({expr}, 6) AS VARCHAR))"


def _version(v: str) -> str:
    """SQL: ``genai-prices ... openai/o3 2025-06-10 to now: $2/$8 per 1M``."""
    f, t = f'CAST({v}."from" AS VARCHAR)', f'CAST({v}."to" AS VARCHAR)'
    return (f"({v}.label || CASE WHEN {f} IS NULL AND {t} IS NULL THEN '' WHEN {f} IS NULL THEN ' until ' || {t}"
            f" WHEN {t} IS NULL THEN ' from ' || {f} ELSE ' ' || {f} || ' to ' || {t} END || ': ' || {v}.prices)")


def _mk(r: tuple) -> str:
    return f"{r[0]}/{r[1]}"


def _money_rows(rows: list[dict]) -> list[dict]:
    return [{k: (_money(v) if isinstance(v, Decimal) else v) for k, v in r.items()} for r in rows]


def _money(d: Decimal | None) -> str | None:
    """Exact decimal text without exponent or trailing zeros."""
    if d is None:
        return None
    return "0" if d == 0 else format(d.normalize(), "f")


@rule("PRC001", "missing-cost", "error")
def missing_cost(ctx: RuleContext) -> Hits:
    """A request used tokens but carries no cost (null or 0), and it was not a cache hit.

    What it checks: input_tokens + output_tokens > 0 while cost is null or 0 and cache_hit is not true. The
    detail gives the cost at the price in effect on the record's date, when a price is known.

    Why it matters: severity error. The provider bills these tokens, but the chargeback charges the team
    nothing: the spend lands in no team's total and the invoice cannot be reconciled. Typical causes are
    custom or unknown models the gateway has no price for and fallbacks that drop the cost.
    The $ at risk of this finding is the recorded cost ($0); the estimated missing spend is in its details.

    Bad: {"request_id": "r1", "model": "gpt-4o-mini", "input_tokens": 1000, "output_tokens": 200, "cost": 0, "cache_hit": false}

    Good: {"request_id": "r1", "model": "gpt-4o-mini", "input_tokens": 1000, "output_tokens": 200, "cost": 0.00027}
    """
    build(ctx.con, ctx.policy, ctx.table)
    where = ("coalesce(l.input_tokens, 0) + coalesce(l.output_tokens, 0) > 0 AND NOT coalesce(l.cache_hit, false)"
             " AND (l.cost IS NULL OR l.cost = 0)")
    sql = f"""
        SELECT l._row,
               coalesce(CAST(l.input_tokens AS VARCHAR), '0') || ' input / ' || coalesce(CAST(l.output_tokens AS VARCHAR), '0')
               || ' output tokens but cost ' || CASE WHEN l.cost IS NULL THEN 'null' ELSE '$0' END
               || CASE WHEN c.cur IS NOT NULL THEN '; at the price in effect ' || {_usd('c.cur.expected')} || ' (' || {_version('c.cur')} || ')'
                       WHEN c.snap_expected IS NOT NULL THEN '; at the gateway''s price snapshot ' || {_usd('c.snap_expected')}
                       ELSE '; no price known for ' || coalesce(l.provider, '?') || '/' || coalesce(l.model, '?') END AS detail,
               CASE WHEN c.ref_expected IS NOT NULL THEN 'record the cost: ' || {_usd('c.ref_expected')} END AS fix
        FROM {ctx.table} l LEFT JOIN _prc_class c USING (_row)
        WHERE {where}"""
    est = ctx.scalar(f"SELECT sum(c.ref_expected) FROM {ctx.table} l LEFT JOIN _prc_class c USING (_row) WHERE {where}")
    unknown = ctx.scalar(f"SELECT count(*) FROM {ctx.table} l LEFT JOIN _prc_class c USING (_row) WHERE {where}"
                         " AND c.ref_expected IS NULL")
    models = per_model(ctx.con, "c.has_tokens AND NOT c.cache_hit AND (c.cost IS NULL OR c.cost = 0)")
    return Hits(
        sql=sql,
        message="{count} requests carry no cost (null or $0, not cache hits) although tokens were used: "
        + ("their spend cannot be estimated: no price is known for their models" if est is None else
           "an estimated " + usd(est) + " at the prices in effect is charged to no team"
           + (f" ({unknown:,} of them for models with no known price, not in that estimate)" if unknown else ""))
        + ".",
        extra={"estimated_missing_cost": None if est is None else _money(est), "records_without_price": int(unknown), "models": _money_rows(models)},
    )


@rule("PRC002", "unpriced-model", "warning")
def unpriced_model(ctx: RuleContext) -> Hits:
    """A request's model has no known price on its date.

    What it checks: no price in genai-prices, the price catalogs, the LiteLLM model map or the record's own
    price snapshot. For each record with tokens or cost (and not a cache hit), some price source has a price
    for its provider and model in effect on its UTC date. The finding lists the models and their spend.

    Why it matters: severity warning. Without a price the recorded cost cannot be verified or recomputed, so
    a wrong or stale cost goes unnoticed; the cost itself may still be right, which is why this is a warning
    and not an error. Internal and fine-tuned models need a catalog entry ([pricing] catalogs).

    Bad: {"provider": "internal", "model": "llama-ft", "input_tokens": 1000, "output_tokens": 200, "cost": 0.0009}

    Good: {"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 1000, "output_tokens": 200, "cost": 0.00027}
    """
    build(ctx.con, ctx.policy, ctx.table)
    where = "(has_tokens OR cost > 0) AND NOT cache_hit AND NOT coalesce(has_current, false) AND snap_expected IS NULL"
    sql = f"""
        SELECT _row,
               'no price for ' || provider || '/' || model || ' on ' || CAST(day AS VARCHAR)
               || CASE WHEN last_older IS NOT NULL THEN ' (the last price ended ' || CAST(last_older."to" AS VARCHAR) || ': ' || {_version('last_older')} || ')'
                       WHEN n_versions > 0 THEN ' (its first known price starts later)'
                       ELSE ' in genai-prices, the price catalogs or the LiteLLM model map' END AS detail,
               'add ' || provider || '/' || model || ' to a price catalog ([pricing] catalogs)' AS fix
        FROM _prc_class WHERE {where}"""
    rows = ctx.rows(f"SELECT provider, model, count(*), coalesce(sum(cost), 0) FROM _prc_class WHERE {where}"
                    " GROUP BY 1, 2 ORDER BY 4 DESC, 1, 2")
    listed = ", ".join(f"{_mk(r)} ({int(r[2]):,} requests, {usd(r[3])})" for r in rows[:5])
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return Hits(
        sql=sql,
        message="{count} requests ({cost}) use models with no known price: " + (listed or "none") + more
        + "; their cost cannot be checked against a price. Add them to a price catalog.",
        extra={"models": [{"provider": p, "model": m, "records": int(n), "recorded_cost": _money(c)} for p, m, n, c in rows]},
    )


@rule("PRC003", "stale-price", "error")
def stale_price(ctx: RuleContext) -> Hits:
    """A request's cost was computed with a price that was no longer in effect at its timestamp.

    What it checks: the recorded cost matches (within the tolerance) an older price version of the model but
    not the version in effect on the record's UTC date, e.g. o3 after the 2025-06-10 cut ($10/$40 -> $2/$8
    per 1M) still priced at $10/$40. Also without any catalog: per provider and model, the implied unit price
    (cost / token mix) forms regimes over time; a record still priced at a regime that the model's other
    records had left before its timestamp is stale, with both regimes and their dates.

    Why it matters: severity error. The team is charged a price that no longer exists, so its chargeback
    differs from the invoice by a known amount (over-charged after a price cut, under-charged after a rise).
    A gateway with an outdated model map or a stale replica keeps doing it until it is updated.

    Bad: {"timestamp": "2025-06-12T10:00:00Z", "provider": "openai", "model": "o3", "input_tokens": 1000, "output_tokens": 1000, "cost": 0.05}

    Good: {"timestamp": "2025-06-12T10:00:00Z", "provider": "openai", "model": "o3", "input_tokens": 1000, "output_tokens": 1000, "cost": 0.01}
    """
    build(ctx.con, ctx.policy, ctx.table)
    sql = f"""
        SELECT c._row,
               CASE WHEN c.verdict = 'stale' THEN
                 'recorded ' || {_usd('c.cost')} || ' matches the older price ' || {_version('c.old_match')}
                 || '; in effect on ' || CAST(c.day AS VARCHAR) || ': ' || {_version('c.cur')} || ' = ' || {_usd('c.cur.expected')}
               ELSE
                 'recorded ' || {_usd('c.cost')} || ' implies ' || g.regime.a_prices || ', the price of ' || c.provider || '/'
                 || c.model || ' from ' || strftime(g.regime.a_first, '%Y-%m-%d') || ' to ' || strftime(g.regime.a_last, '%Y-%m-%d')
                 || '; its other records moved to ' || g.regime.b_prices || ' from ' || strftime(g.regime.switch, '%Y-%m-%d %H:%M')
                 || ' (' || g.regime.b_n || ' records)'
               END AS detail,
               CASE WHEN c.verdict = 'stale' THEN 'reprice at ' || {_usd('c.cur.expected')} || ' (' || c.cur.label || ')'
                    ELSE 'reprice at ' || {_usd('g.regime.b_cost')} || ' (the current rate) and update the gateway''s price for ' || c.model END AS fix
        FROM _prc_class c LEFT JOIN _prc_regime g USING (_row)
        WHERE c.verdict = 'stale' OR g._row IS NOT NULL"""
    models = per_model(ctx.con, "c.verdict = 'stale' OR g._row IS NOT NULL",
                       "CASE WHEN c.verdict = 'stale' THEN c.ref_expected ELSE g.regime.b_cost END")
    diff = ctx.scalar("SELECT sum(c.cost - CASE WHEN c.verdict = 'stale' THEN c.ref_expected ELSE g.regime.b_cost END)"
                      " FROM _prc_class c LEFT JOIN _prc_regime g USING (_row) WHERE c.verdict = 'stale' OR g._row IS NOT NULL")
    regimes = ctx.rows("SELECT * FROM _prc_regimes ORDER BY provider, model, batch, switch")
    return Hits(
        sql=sql,
        message="{count} requests ({cost}) were priced at a price no longer in effect at their timestamp"
        + (f"; at the prices in effect they would cost {usd(diff)} less" if diff and diff > 0 else
           f"; at the prices in effect they would cost {usd(-diff)} more" if diff and diff < 0 else "")
        + ". Update the gateway's price table and reprice them.",
        extra={
            "difference_vs_price_in_effect": _money(diff),
            "models": _money_rows(models),
            "regimes": [{"provider": p, "model": m, "batch": b, "old_from": str(af), "old_until": str(al),
                         "switch": str(sw), "old_price": op, "new_price": np_, "new_records": int(nn), "stale_records": int(ns)}
                        for p, m, b, af, al, sw, op, np_, nn, ns in regimes],
        },
    )


@rule("PRC004", "cost-mismatch", "warning")
def cost_mismatch(ctx: RuleContext) -> Hits:
    """A request's cost matches no known price of its model within the tolerance.

    What it checks: the recorded cost differs from the cost recomputed from its tokens at the price in effect
    (and from every older version) by more than [pricing] tolerance_pct (default 1%) of it or tolerance_usd
    (default $0.000001), whichever is larger. Recomputed: uncached input at the input price, cached input at
    the cache-read price, cache writes at the cache-write price, output at the output price, batch prices for
    batch requests. The detail says whether the cost matches a price not yet in effect or the gateway's own
    price snapshot.

    Why it matters: severity warning. The team's charge cannot be explained by any published or agreed price:
    cached tokens billed at the full rate, cache writes counted twice, a negotiated rate missing from the
    catalog, or a unit the recomputation does not cover (audio, images, web search). It needs a look, not
    necessarily a correction.

    Bad: {"model": "gpt-4o-mini", "input_tokens": 1000, "cached_input_tokens": 800, "output_tokens": 200, "cost": 0.00027}

    Good: {"model": "gpt-4o-mini", "input_tokens": 1000, "cached_input_tokens": 800, "output_tokens": 200, "cost": 0.00018}
    """
    build(ctx.con, ctx.policy, ctx.table)
    tol = tolerance(ctx.policy)
    sql = f"""
        SELECT _row,
               'recorded ' || {_usd('cost')} || ', at the price in effect ' || {_usd('ref_expected')} || ' ('
               || coalesce({_version('cur')}, 'the gateway''s price snapshot: ' || snap_prices) || ')'
               || CASE WHEN ref_expected > 0 THEN ', ' || printf('%+.1f', 100 * (CAST(cost AS DOUBLE) / CAST(ref_expected AS DOUBLE) - 1)) || '%' ELSE '' END
               || CASE WHEN new_match IS NOT NULL THEN '; it matches a later price not yet in effect: ' || {_version('new_match')}
                       WHEN cur IS NOT NULL AND snap_match THEN '; it matches the gateway''s own price snapshot (' || snap_prices || ')'
                       WHEN cur IS NOT NULL AND snap_expected IS NOT NULL THEN '; the gateway''s price snapshot gives ' || {_usd('snap_expected')}
                       ELSE '' END AS detail,
               CASE WHEN cur IS NOT NULL AND snap_match THEN 'if the gateway''s price is an agreed rate, add it to a price catalog; else reprice at ' || {_usd('ref_expected')}
                    ELSE 'reprice at ' || {_usd('ref_expected')} END AS fix
        FROM _prc_class WHERE verdict = 'mismatch' AND _row NOT IN (SELECT _row FROM _prc_regime)"""
    models = per_model(ctx.con, "c.verdict = 'mismatch' AND g._row IS NULL")
    diff = ctx.scalar("SELECT sum(cost - ref_expected) FROM _prc_class WHERE verdict = 'mismatch'"
                      " AND _row NOT IN (SELECT _row FROM _prc_regime)")
    return Hits(
        sql=sql,
        message="{count} requests ({cost}) carry a cost that matches no known price of their model within "
        + f"{tol.text} (net difference to the price in effect: {usd(diff or 0)}).",
        extra={"tolerance_pct": str(tol.pct), "tolerance_usd": str(tol.usd),
               "difference_vs_price_in_effect": _money(diff), "models": _money_rows(models)},
    )
