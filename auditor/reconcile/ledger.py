"""The ledger side: what the gateway logs say was spent, from the ``records`` table (``llm`` view).

Accepted LLM records with the copies of a request left out (auditor/copies.py: by ``request_id``, refined
by ``trace_id``; the first record by ``_row`` is kept; records without a request id are all kept), aggregated per UTC day x provider x model, with token counts per
token type, batch cost, attributable cost (the ``attribution`` view of auditor/scoring.py) and, where the
gateway logged the unit prices it used (``price_snapshot``), the cost per token type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import duckdb

from auditor.contract.sql import MONEY, lit
from auditor.copies import ensure_copies
from auditor.reconcile import names

ZERO = Decimal(0)
PRICE = "DECIMAL(38,18)"


@dataclass
class LedgerDay:
    day: date
    provider: str  # provider key
    model_key: str
    models: dict[str, int] = field(default_factory=dict)  # names as logged -> records
    cost: Decimal = ZERO
    attributable: Decimal = ZERO
    records: int = 0
    tokens: dict[str, int] = field(default_factory=dict)
    batch_cost: Decimal = ZERO
    batch_records: int = 0
    snap_cost: Decimal = ZERO  # cost of the records with complete unit prices in price_snapshot
    snap_parts: dict[str, Decimal] = field(default_factory=dict)  # token type -> tokens x logged unit price
    dup_records: int = 0
    dup_cost: Decimal = ZERO
    hours: list[int] = field(default_factory=lambda: [0] * 24)
    # cost per UTC hour at the price in effect (recorded cost + the pricing rules' difference): what the same
    # hours of a neighbouring day are expected to cost when this day lacks them
    hour_cost: list[Decimal] = field(default_factory=lambda: [ZERO] * 24)
    hour_recorded: list[Decimal] = field(default_factory=lambda: [ZERO] * 24)  # the recorded cost per hour
    # (hour, team or "" unallocated) -> [cost at the price in effect, recorded cost]: whose traffic the same hours
    # of a neighbouring day carry, so that traffic missing from them undercharges those teams, not nobody
    hour_teams: dict[tuple, list] = field(default_factory=dict)
    pricing: dict[str, list] = field(default_factory=dict)  # pricing rule code -> [records, recorded cost]
    teams: dict[str, Decimal] = field(default_factory=dict)  # team (or "" unallocated) -> cost
    dup_teams: dict[str, Decimal] = field(default_factory=dict)  # team -> cost of the duplicate copies
    # evidence of the pricing rules per kind (missing_cost, stale_price, cost_mismatch, unpriced):
    # [records, difference to the price in effect (None: no price known), recorded cost, records without a price]
    evidence: dict[str, list] = field(default_factory=dict)
    evidence_teams: dict[tuple, Decimal] = field(default_factory=dict)  # (kind, team) -> difference
    # (team, token type) -> tokens of $0 records with no price, per team so that their estimate undercharges a
    # named team, not nobody
    unpriced_team_tokens: dict[tuple, int] = field(default_factory=dict)
    stale_since: set = field(default_factory=set)  # the days the prices the stale records missed took effect

    @property
    def model(self) -> str:
        return max(self.models.items(), key=lambda kv: (kv[1], kv[0]))[0] if self.models else self.model_key


def _has(con, name: str) -> bool:
    return con.has(name)


def pricing_codes() -> dict[str, str]:
    """Codes -> names of the pricing rules (their findings say a record's cost is not the published price)."""
    try:
        from auditor.rules import REGISTRY
    except Exception:  # noqa: BLE001 - the reconciliation works without the rules
        return {}
    return {r.code: r.name for r in REGISTRY.values() if r.category == "pricing"}


def ledger_source(con: duckdb.DuckDBPyConnection) -> str:
    """SQL for the de-duplicated ledger records (one row per record kept, plus the duplicates' counts)."""
    base = "llm" if _has(con, "llm") else "(SELECT * FROM records WHERE record_kind = 'llm')"
    if _has(con, "attribution"):
        att = "LEFT JOIN attribution a USING (_row)"
        # a.team, not a.team_id: the team chargeback charges (an alias or a free-form spelling resolved to the
        # registry team, the policy's on_behalf_of view), so team effects and credit shares name the teams
        # the report's team table does
        team, attributable = "a.team", "coalesce(a.attributable, false)"
    else:
        att, team, attributable = "", "l.team_id", "false"
    snap = "l.price_snapshot"
    copies = ensure_copies(con)
    return f"""
        SELECT l._row, l.request_id, l.timestamp, l.provider, l.model, coalesce(l.cost, 0)::{MONEY} AS cost,
               -- a gateway cache hit never reached the provider: its tokens are not on any bill
               CASE WHEN coalesce(l.cache_hit, false) THEN 0
                    ELSE greatest(coalesce(l.input_tokens, 0) - coalesce(l.cached_input_tokens, 0), 0) END AS t_input,
               CASE WHEN coalesce(l.cache_hit, false) THEN 0 ELSE coalesce(l.cached_input_tokens, 0) END AS t_cached,
               CASE WHEN coalesce(l.cache_hit, false) THEN 0 ELSE coalesce(l.cache_write_tokens, 0) END AS t_write,
               CASE WHEN coalesce(l.cache_hit, false) THEN 0 ELSE coalesce(l.output_tokens, 0) END AS t_output,
               coalesce(l.batch, false) AS batch,
               {team} AS team_id, {attributable} AS attributable,
               TRY_CAST({snap}->>'input_cost_per_token' AS {PRICE}) AS p_in,
               TRY_CAST({snap}->>'output_cost_per_token' AS {PRICE}) AS p_out,
               TRY_CAST({snap}->>'cache_read_input_token_cost' AS {PRICE}) AS p_cached,
               TRY_CAST({snap}->>'cache_creation_input_token_cost' AS {PRICE}) AS p_write,
               -- a copy of a request (auditor/copies.py: the rule's and the money figures' definition) is not kept
               CASE WHEN c._row IS NULL THEN 1 ELSE 2 END AS _n
        FROM {base} l {att} LEFT JOIN {copies} c ON c._row = l._row
    """


EVIDENCE_KINDS = ("missing_cost", "stale_price", "cost_mismatch", "unpriced")


def load_ledger(con: duckdb.DuckDBPyConnection) -> tuple[dict[tuple, LedgerDay], dict]:
    """Ledger days keyed by (day, provider key, model key), and totals of what was left out."""
    # One pass over the records for every query below (a temp table, not a CTE evaluated four times).
    con.execute(f"CREATE OR REPLACE TEMP TABLE _rec_ledger AS {ledger_source(con)}")
    out: dict[tuple, LedgerDay] = {}
    _days(con, out)
    _hours(con, out)
    _pricing_findings(con, out)
    _evidence(con, out)
    undated = con.execute("SELECT count(*), coalesce(sum(cost), 0) FROM _rec_ledger WHERE timestamp IS NULL AND _n = 1").fetchall()[0]
    return out, {"undated_records": int(undated[0]), "undated_cost": Decimal(undated[1])}


def _key(day, provider, model) -> tuple:
    return (day, names.provider_key(provider), names.model_key(model))


def _days(con: duckdb.DuckDBPyConnection, out: dict[tuple, LedgerDay]) -> None:
    rows = con.execute("""
        SELECT CAST(timestamp AS DATE) AS day, provider, model, (_n > 1) AS dup,
               coalesce(team_id, '') AS team, attributable, batch,
               count(*) AS n, sum(cost) AS cost, sum(t_input) AS ti, sum(t_cached) AS tc, sum(t_write) AS tw, sum(t_output) AS tout,
               sum(cost) FILTER (WHERE p_in IS NOT NULL AND p_out IS NOT NULL) AS snap_cost,
               sum(t_input * p_in) FILTER (WHERE p_in IS NOT NULL AND p_out IS NOT NULL) AS s_in,
               sum(t_cached * coalesce(p_cached, p_in)) FILTER (WHERE p_in IS NOT NULL AND p_out IS NOT NULL) AS s_cached,
               sum(t_write * coalesce(p_write, p_in)) FILTER (WHERE p_in IS NOT NULL AND p_out IS NOT NULL) AS s_write,
               sum(t_output * p_out) FILTER (WHERE p_in IS NOT NULL AND p_out IS NOT NULL) AS s_out
        FROM _rec_ledger WHERE timestamp IS NOT NULL
        GROUP BY ALL ORDER BY day, provider, model, dup, team, attributable, batch
    """).fetchall()
    for (day, provider, model, dup, team, attributable, batch, n, cost, ti, tc, tw, tout,
         snap_cost, s_in, s_cached, s_write, s_out) in rows:
        key = _key(day, provider, model)
        d = out.get(key)
        if d is None:
            d = out[key] = LedgerDay(day, key[1], key[2])
        cost = Decimal(cost or 0)
        tk = team if attributable and team else ""
        if dup:
            d.dup_records += int(n)
            d.dup_cost += cost
            d.dup_teams[tk] = d.dup_teams.get(tk, ZERO) + cost
            continue
        d.models[model or ""] = d.models.get(model or "", 0) + int(n)
        d.cost += cost
        d.records += int(n)
        if attributable:
            d.attributable += cost
        d.teams[tk] = d.teams.get(tk, ZERO) + cost
        for tt, v in ((names.INPUT, ti), (names.CACHED, tc), (names.CACHE_WRITE, tw), (names.OUTPUT, tout)):
            d.tokens[tt] = d.tokens.get(tt, 0) + int(v or 0)
        if batch:
            d.batch_cost += cost
            d.batch_records += int(n)
        if snap_cost is not None:
            d.snap_cost += Decimal(snap_cost)
            for tt, v in ((names.INPUT, s_in), (names.CACHED, s_cached), (names.CACHE_WRITE, s_write), (names.OUTPUT, s_out)):
                d.snap_parts[tt] = d.snap_parts.get(tt, ZERO) + Decimal(v or 0)


def _hours(con: duckdb.DuckDBPyConnection, out: dict[tuple, LedgerDay]) -> None:
    for day, provider, model, h, team, n, cost in con.execute("""
        SELECT CAST(timestamp AS DATE) AS day, provider, model, hour(timestamp) AS h,
               CASE WHEN attributable THEN coalesce(team_id, '') ELSE '' END AS team, count(*), sum(cost)
        FROM _rec_ledger WHERE timestamp IS NOT NULL AND _n = 1 GROUP BY ALL ORDER BY day, provider, model, h, team
    """).fetchall():
        d = out[_key(day, provider, model)]
        cost = Decimal(cost or 0)
        d.hours[int(h)] += int(n)
        d.hour_cost[int(h)] += cost
        d.hour_recorded[int(h)] += cost
        # several logged spellings of one provider or model share a LedgerDay: add, never overwrite
        ht = d.hour_teams.setdefault((int(h), team), [ZERO, ZERO])
        ht[0] += cost
        ht[1] += cost


def _pricing_findings(con: duckdb.DuckDBPyConnection, out: dict[tuple, LedgerDay]) -> None:
    codes = pricing_codes()
    if not codes or not _has(con, "finding_rows"):
        return
    in_list = ", ".join("'" + c.replace("'", "''") + "'" for c in codes)
    for day, provider, model, code, n, cost in con.execute(f"""
        SELECT CAST(r.timestamp AS DATE) AS day, r.provider, r.model, f.code, count(DISTINCT r._row), sum(r.cost)
        FROM _rec_ledger r JOIN (SELECT DISTINCT code, _row FROM finding_rows WHERE code IN ({in_list})) f USING (_row)
        WHERE r.timestamp IS NOT NULL AND r._n = 1 GROUP BY ALL ORDER BY day, r.provider, r.model, f.code
    """).fetchall():
        d = out.get(_key(day, provider, model))
        if d is not None:
            d.pricing[code] = [int(n), Decimal(cost or 0)]


# The variance cause each pricing rule's findings are evidence of, by rule name (its stable identity), in the
# order a record flagged by several is counted under: once, by the first.
EVIDENCE_OF = {"missing-cost": "missing_cost", "stale-price": "stale_price", "cost-mismatch": "cost_mismatch",
               "unpriced-model": "unpriced"}


def _evidence(con: duckdb.DuckDBPyConnection, out: dict[tuple, LedgerDay]) -> None:
    """Each record a pricing rule flags, once (missing-cost, then stale-price, cost-mismatch, unpriced-model),
    with its difference to the price in effect: the cost the pricing build published in ``price_in_effect``
    (for a stale price, the price it should have moved to) minus the recorded cost."""
    codes = {name: code for code, name in pricing_codes().items() if name in EVIDENCE_OF}
    if not _has(con, "finding_rows") or not codes:
        return
    ref = "p.expected_cost" if _has(con, "price_in_effect") else "CAST(NULL AS DECIMAL(38,12))"
    joins = " LEFT JOIN price_in_effect p USING (_row)" if ref.startswith("p.") else ""
    since = "p.current_from" if joins else "CAST(NULL AS DATE)"
    flags = ", ".join(f"bool_or(code = {lit(c)}) AS {EVIDENCE_OF[n]}" for n, c in codes.items())
    kinds = [k for k in EVIDENCE_OF.values() if k in {EVIDENCE_OF[n] for n in codes}]
    diffs = {"missing_cost": ref, "stale_price": ref.replace("expected_cost", "current_cost"), "cost_mismatch": ref}
    kind_sql = "CASE " + " ".join(f"WHEN f.{k} THEN {lit(k)}" for k in kinds) + " END"
    diff_sql = "CASE " + " ".join(f"WHEN f.{k} THEN {diffs[k]} - r.cost" for k in kinds if k in diffs) + " END"
    rows = con.execute(f"""
        WITH f AS (SELECT _row, {flags} FROM finding_rows WHERE code IN ({', '.join(lit(c) for c in codes.values())})
                   GROUP BY _row),
        e AS (
            SELECT r.*, {kind_sql} AS kind, CAST({diff_sql} AS {MONEY}) AS diff, {since} AS since
            FROM _rec_ledger r JOIN f USING (_row){joins}
            WHERE r._n = 1 AND r.timestamp IS NOT NULL
        )
        SELECT CAST(timestamp AS DATE) AS day, provider, model, coalesce(team_id, '') AS team, attributable, kind,
               hour(timestamp) AS h, count(*), sum(diff), sum(cost), count(*) - count(diff),
               sum(t_input) FILTER (WHERE diff IS NULL AND cost = 0), sum(t_cached) FILTER (WHERE diff IS NULL AND cost = 0),
               sum(t_write) FILTER (WHERE diff IS NULL AND cost = 0), sum(t_output) FILTER (WHERE diff IS NULL AND cost = 0),
               list(DISTINCT since) FILTER (WHERE since IS NOT NULL)
        FROM e GROUP BY ALL ORDER BY day, provider, model, team, attributable, kind, h
    """).fetchall()
    for day, provider, model, team, attributable, kind, h, n, diff, cost, unknown, ti, tc, tw, tout, sinces in rows:
        d = out.get(_key(day, provider, model))
        if d is None:
            continue
        ev = d.evidence.setdefault(kind, [0, None, ZERO, 0])
        ev[0] += int(n)
        ev[2] += Decimal(cost or 0)
        ev[3] += int(unknown)
        tk = team if attributable and team else ""
        if diff is not None:
            ev[1] = (ev[1] or ZERO) + Decimal(diff)
            d.evidence_teams[(kind, tk)] = d.evidence_teams.get((kind, tk), ZERO) + Decimal(diff)
            d.hour_cost[int(h)] += Decimal(diff)
            d.hour_teams.setdefault((int(h), tk), [ZERO, ZERO])[0] += Decimal(diff)
        if kind == "stale_price":
            d.stale_since.update(sinces or ())
        if kind == "missing_cost":
            for tt, v in ((names.INPUT, ti), (names.CACHED, tc), (names.CACHE_WRITE, tw), (names.OUTPUT, tout)):
                if v:
                    d.unpriced_team_tokens[(tk, tt)] = d.unpriced_team_tokens.get((tk, tt), 0) + int(v)
