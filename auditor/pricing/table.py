"""Price tables in DuckDB and the vectorized recomputation of every record's cost.

1. SQL: the distinct (provider, model, batch, day) of the records.
2. Python, per distinct (provider, model, batch) only: the price timeline (catalog over LiteLLM map over
   genai-prices) -> ``_prc_versions`` (one row per version, alternative and band, per-1M and per-token
   prices); per distinct price snapshot text -> ``_prc_snap``.
3. SQL: each record joined to its versions; the expected cost of a record under a version is
   ``uncached*input + cached*cached_input + writes*cache_write + output*output`` in DECIMAL arithmetic
   (per-token prices DECIMAL(38,18), result DECIMAL(38,12)), uncached = input_tokens - cached - writes
   (input_tokens include cache reads and writes, as LiteLLM's prompt_tokens and genai-prices count them).
   Batch records join the batch prices.
4. ``_prc_class`` (a view over ``_prc_verdict``): one verdict per record: ok, stale (matches an older version),
   mismatch, unpriced (its snapshot cost ``snap_expected``/``snap_match`` only where a verdict or finding reads
   it), and ``_prc_regime``: records still priced at an implied-price regime the model had left (no catalog needed).
5. ``price_in_effect`` (_row, expected_cost, current_cost, current_from): the published evidence other modules read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from auditor.policy import Policy
from auditor.pricing.regimes import regimes as _regimes
from auditor.profile import stage
from auditor.pricing.prices import PriceSet, Version, describe, overlay
from auditor.pricing.sources import (
    CatalogRow,
    LiteLLMMap,
    PricingError,
    catalog_versions,
    genai_versions,
    read_catalog,
    snapshot_price_set,
)

DEFAULT_TOLERANCE_PCT = 1.0
DEFAULT_TOLERANCE_USD = 0.000001

_P = "DECIMAL(38,12)"
_T = "DECIMAL(38,18)"


@dataclass(frozen=True)
class Tolerance:
    pct: Decimal
    usd: Decimal

    def sql(self, cost: str, expected: str) -> str:
        return (f"(abs({cost} - {expected}) <= greatest({expected} * CAST('{self.pct / 100}' AS DECIMAL(18,10)),"
                f" CAST('{self.usd}' AS {_P})))")

    @property
    def text(self) -> str:
        return f"{self.pct.normalize():f}% or ${self.usd.normalize():f}"


def tolerance(policy: Policy) -> Tolerance:
    p = policy.pricing or {}
    return Tolerance(Decimal(str(p.get("tolerance_pct", DEFAULT_TOLERANCE_PCT))),
                     Decimal(str(p.get("tolerance_usd", DEFAULT_TOLERANCE_USD))))


def _resolve(path: str, policy: Policy) -> Path:
    p = Path(path).expanduser()
    if not p.is_absolute() and not p.exists():
        origin = Path(policy.source)
        if origin.is_file() and (origin.parent / p).exists():
            return origin.parent / p
    return p


class PriceBook:
    """The user's price sources from ``[pricing]`` (catalogs, LiteLLM model map) plus genai-prices."""

    def __init__(self, policy: Policy):
        cfg = policy.pricing or {}
        self.catalogs: list[CatalogRow] = []
        for c in cfg.get("catalogs", []):
            self.catalogs.extend(read_catalog(_resolve(c, policy)))
        self.litellm: LiteLLMMap | None = None
        if (lm := cfg.get("litellm_model_prices")) is not None:
            try:
                start = date.fromisoformat(str(lm["effective_from"])[:10])
            except ValueError:
                raise PricingError(f"[pricing] litellm_model_prices.effective_from: not a date: {lm['effective_from']!r}") from None
            self.litellm = LiteLLMMap(_resolve(lm["path"], policy), start)

    def timeline(self, provider: str, model: str, batch: bool, when: date) -> list[Version]:
        layers = [genai_versions(provider, model, batch, when)]
        if self.litellm is not None:
            layers.append(self.litellm.versions(provider, model, batch))
        layers.append(catalog_versions(self.catalogs, provider, model, batch))
        return overlay([layer for layer in layers if layer])


_VERSION_SCHEMA = pa.schema([
    ("provider", pa.string()), ("model", pa.string()), ("batch", pa.bool_()), ("version_no", pa.int32()),
    ("alt_no", pa.int32()), ("source", pa.string()), ("label", pa.string()), ("eff_from", pa.date32()),
    ("eff_to", pa.date32()), ("band_start", pa.int64()), ("prices", pa.string()),
    *[(f"{k}_1m", pa.string()) for k in ("in", "cached", "write", "out")],
])


def _band_rows(ps: PriceSet) -> list[tuple[int, list[str]]]:
    return [(b.start, [str(b.input), str(b.cached_input), str(b.cache_write), str(b.output)]) for b in ps]


def _load(con: duckdb.DuckDBPyConnection, name: str, rows: dict[str, list], schema: pa.Schema) -> None:
    """Arrow rows (prices as exact decimal text) -> a DuckDB temp table with DECIMAL per-1M and per-token prices."""
    full = schema
    for k in ("in", "cached", "write", "out"):
        rows[f"{k}_tok"] = [_per_token_text(v) for v in rows[f"{k}_1m"]]
        full = full.append(pa.field(f"{k}_tok", pa.string()))
    con.register("_prc_arrow", pa.table(rows, schema=full))
    cols = ", ".join(f.name for f in schema if not f.name.endswith("_1m"))
    prices = ", ".join(f"CAST({k}_1m AS {_P}) AS {k}_1m, CAST({k}_tok AS {_T}) AS {k}_tok"
                       for k in ("in", "cached", "write", "out"))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {cols}, {prices} FROM _prc_arrow")
    con.unregister("_prc_arrow")


def _per_token_text(per_1m: str) -> str:
    return format(Decimal(per_1m).scaleb(-6), "f")


def _empty(schema: pa.Schema) -> dict[str, list]:
    return {f.name: [] for f in schema}


def build(con: duckdb.DuckDBPyConnection, policy: Policy, table: str = "llm") -> None:
    """Create the ``_prc_*`` tables for ``table`` (once per connection and policy)."""
    if con.has("_prc_class"):
        return
    with stage("pricing build"):  # inside the first pricing rule's stage: --profile shows it apart
        _build(con, policy, table)


def _build(con: duckdb.DuckDBPyConnection, policy: Policy, table: str) -> None:
    tol = tolerance(policy)
    book = PriceBook(policy)

    priced = "provider IS NOT NULL AND provider <> '' AND model IS NOT NULL AND model <> '' AND timestamp IS NOT NULL"
    # Records refer to their price snapshot (a JSON text, the same few for every record) by a number.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _prc_snaps AS
        SELECT snap, row_number() OVER (ORDER BY snap) AS snap_id
        FROM (SELECT DISTINCT CAST(price_snapshot AS VARCHAR) AS snap FROM {table} WHERE {priced} AND price_snapshot IS NOT NULL)
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _prc_rec AS
        SELECT _row, timestamp AS ts, CAST(timestamp AS DATE) AS day, provider, model,
               coalesce(batch, false) AS batch, coalesce(cache_hit, false) AS cache_hit, cost,
               coalesce(input_tokens, 0) AS tin, coalesce(cached_input_tokens, 0) AS tcached,
               coalesce(cache_write_tokens, 0) AS twrite, coalesce(output_tokens, 0) AS tout,
               greatest(coalesce(input_tokens, 0) - coalesce(cached_input_tokens, 0) - coalesce(cache_write_tokens, 0), 0) AS tuncached,
               s.snap_id
        FROM {table} l LEFT JOIN _prc_snaps s ON s.snap = CAST(l.price_snapshot AS VARCHAR)
        WHERE {priced}
    """)

    # 1-2: distinct keys -> price versions (one genai-prices lookup per distinct (provider, model, batch))
    keys = con.execute("SELECT provider, model, batch, max(day) FROM _prc_rec GROUP BY ALL ORDER BY ALL").fetchall()
    rows = _empty(_VERSION_SCHEMA)
    for provider, model, batch, last_day in keys:
        for vno, v in enumerate(book.timeline(provider, model, batch, last_day)):
            for ano, ps in enumerate(v.alternatives):
                for start, prices in _band_rows(ps):
                    for k, val in zip(_VERSION_SCHEMA.names, [provider, model, batch, vno, ano, v.source, v.label,
                                                              v.effective_from, v.effective_to, start, describe(ps),
                                                              *prices]):
                        rows[k].append(val)
    _load(con, "_prc_versions", rows, _VERSION_SCHEMA)

    snap_schema = pa.schema([("snap", pa.string()), ("batch", pa.bool_()), ("band_start", pa.int64()),
                             ("prices", pa.string()), *[(f"{k}_1m", pa.string()) for k in ("in", "cached", "write", "out")]])
    srows = _empty(snap_schema)
    for snap, batch in con.execute("SELECT DISTINCT s.snap, r.batch FROM _prc_rec r JOIN _prc_snaps s USING (snap_id)"
                                   " ORDER BY ALL").fetchall():
        ps = snapshot_price_set(snap, batch)
        if ps is None:
            continue
        for start, prices in _band_rows(ps):
            for k, val in zip(snap_schema.names, [snap, batch, start, describe(ps), *prices]):
                srows[k].append(val)
    _load(con, "_prc_snap", srows, snap_schema)

    # band ends, and one id per version alternative (the rules read its label, dates and prices by id)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _prc_versions AS
        SELECT *, dense_rank() OVER (ORDER BY provider, model, batch, version_no, alt_no) AS vid,
               lead(band_start) OVER (PARTITION BY provider, model, batch, version_no, alt_no ORDER BY band_start) AS band_end,
               count(*) OVER (PARTITION BY provider, model, batch) = 1 AS single
        FROM _prc_versions""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _prc_vinfo AS
        SELECT DISTINCT vid, alt_no, label, source, eff_from AS "from", eff_to AS "to", prices FROM _prc_versions""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _prc_snap AS
        SELECT *, lead(band_start) OVER (PARTITION BY snap, batch ORDER BY band_start) AS band_end
        FROM _prc_snap JOIN _prc_snaps USING (snap)""")

    expected = lambda v: (f"CAST(r.tuncached * {v}.in_tok + r.tcached * {v}.cached_tok + r.twrite * {v}.write_tok"
                          f" + r.tout * {v}.out_tok AS {_P})")
    band = lambda v: f"r.tin > {v}.band_start AND ({v}.band_end IS NULL OR r.tin <= {v}.band_end)"
    rel = lambda v: (f"CASE WHEN ({v}.eff_from IS NULL OR {v}.eff_from <= r.day) AND ({v}.eff_to IS NULL OR r.day < {v}.eff_to)"
                     f" THEN 0 WHEN {v}.eff_to IS NOT NULL AND {v}.eff_to <= r.day THEN -1 ELSE 1 END")
    # 3: every record under every version of its (provider, model, batch), in the band its input falls in. Only for
    # keys with several price rows (versions, alternatives or bands); a key with a single row (the common case)
    # gives a record at most one row, which _prc_verdict joins directly instead of grouping.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _prc_eval AS
        SELECT _row, vid, alt_no, eff_from, eff_to, expected, rel, cost IS NOT NULL AND {tol.sql("cost", "expected")} AS matched
        FROM (
            SELECT r._row, r.cost, v.vid, v.alt_no, v.eff_from, v.eff_to, {expected('v')} AS expected, {rel('v')} AS rel
            FROM _prc_rec r JOIN _prc_versions v
              ON NOT v.single AND v.provider = r.provider AND v.model = r.model AND v.batch = r.batch AND {band('v')})
    """)
    # 4: per record, over its version rows: (name, aggregate, the same for a single row)
    per_record = [
        ("n_versions", "count(*)", "1"),
        ("has_current", "bool_or(rel = 0)", "rel = 0"),
        ("current_match", "bool_or(rel = 0 AND matched)", "rel = 0 AND matched"),
        ("cur_vid", "arg_min(vid, alt_no) FILTER (WHERE rel = 0)", "CASE WHEN rel = 0 THEN vid END"),
        ("cur_exp", "arg_min(expected, alt_no) FILTER (WHERE rel = 0)", "CASE WHEN rel = 0 THEN expected END"),
        ("old_vid", "arg_max(vid, eff_to) FILTER (WHERE rel = -1 AND matched)", "CASE WHEN rel = -1 AND matched THEN vid END"),
        ("old_exp", "arg_max(expected, eff_to) FILTER (WHERE rel = -1 AND matched)",
         "CASE WHEN rel = -1 AND matched THEN expected END"),
        ("new_vid", "arg_min(vid, eff_from) FILTER (WHERE rel = 1 AND matched)", "CASE WHEN rel = 1 AND matched THEN vid END"),
        ("new_exp", "arg_min(expected, eff_from) FILTER (WHERE rel = 1 AND matched)",
         "CASE WHEN rel = 1 AND matched THEN expected END"),
        ("last_vid", "arg_max(vid, eff_to) FILTER (WHERE rel = -1)", "CASE WHEN rel = -1 THEN vid END"),
    ]
    grouped = "{" + ", ".join(f"'{n}': {agg}" for n, agg, _ in per_record) + "}"
    single = "CASE WHEN vid IS NOT NULL THEN {" + ", ".join(f"'{n}': {one}" for n, _, one in per_record) + "} END"
    ms = tol.sql("cost", "snap_expected")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _prc_verdict AS
        WITH agg AS (SELECT _row, {grouped} AS ev FROM _prc_eval GROUP BY _row),
        one AS (
            SELECT r.*, v.vid, v.alt_no, {expected('v')} AS expected, {rel('v')} AS rel,
                   s.prices AS snap_prices, s.in_tok AS s_in, s.cached_tok AS s_cached, s.write_tok AS s_write,
                   s.out_tok AS s_out
            FROM _prc_rec r
              LEFT JOIN _prc_versions v
                ON v.single AND v.provider = r.provider AND v.model = r.model AND v.batch = r.batch AND {band('v')}
              LEFT JOIN _prc_snap s ON s.snap_id = r.snap_id AND s.batch = r.batch AND {band('s')}
        ),
        m AS (SELECT *, cost IS NOT NULL AND {tol.sql("cost", "expected")} AS matched FROM one),
        x AS (SELECT m.*, coalesce(agg.ev, {single}) AS ev FROM m LEFT JOIN agg USING (_row)),
        -- The cost at the price snapshot only where something reads it: the verdict and the reference cost when
        -- no price version is in effect (or it gives no cost), and the details of a mismatch. Elsewhere (a record
        -- whose cost matches the price in effect) snap_expected and snap_match are NULL.
        xs AS (
            SELECT *, CASE WHEN NOT coalesce(ev.current_match, false) OR ev.cur_exp IS NULL
                      THEN CAST(tuncached * s_in + tcached * s_cached + twrite * s_write + tout * s_out AS {_P}) END AS snap_expected
            FROM x
        ),
        xm AS (SELECT *, {ms} AS snap_match FROM xs)
        SELECT _row, ts, day, provider, model, batch, cache_hit, cost, tin, tcached, twrite, tout, tuncached,
               coalesce(ev.n_versions, 0) AS n_versions, coalesce(ev.has_current, false) AS has_current,
               ev.current_match, ev.cur_vid, ev.cur_exp, ev.old_vid, ev.old_exp, ev.new_vid, ev.new_exp, ev.last_vid,
               snap_expected, snap_prices, snap_match,
               tin + tout > 0 AS has_tokens,
               CASE
                 WHEN tin + tout = 0 OR cache_hit OR cost IS NULL OR cost = 0 THEN NULL
                 WHEN coalesce(ev.has_current, false) THEN
                   CASE WHEN ev.current_match THEN 'ok' WHEN ev.old_vid IS NOT NULL THEN 'stale' ELSE 'mismatch' END
                 WHEN snap_expected IS NOT NULL THEN CASE WHEN snap_match THEN 'ok' ELSE 'mismatch' END
                 ELSE 'unpriced'
               END AS verdict,
               coalesce(ev.cur_exp, snap_expected) AS ref_expected
        FROM xm
    """)
    # The details of the versions a record matched (label, source, dates, prices), as structs. A view: they
    # are built only for the records a query reads (the few a rule flags), not stored for every record.
    info = lambda alias, vid, exp: (f"CASE WHEN {vid} IS NOT NULL THEN {{'label': {alias}.label, 'source': {alias}.source,"
                                    f" 'from': {alias}.\"from\", 'to': {alias}.\"to\", 'prices': {alias}.prices, 'expected': {exp}}} END")
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW _prc_class AS
        SELECT c.* EXCLUDE (cur_vid, cur_exp, old_vid, old_exp, new_vid, new_exp, last_vid),
               {info('vc', 'c.cur_vid', 'c.cur_exp')} AS cur,
               {info('vo', 'c.old_vid', 'c.old_exp')} AS old_match,
               {info('vn', 'c.new_vid', 'c.new_exp')} AS new_match,
               {info('vl', 'c.last_vid', 'NULL')} AS last_older
        FROM _prc_verdict c
          LEFT JOIN _prc_vinfo vc ON vc.vid = c.cur_vid LEFT JOIN _prc_vinfo vo ON vo.vid = c.old_vid
          LEFT JOIN _prc_vinfo vn ON vn.vid = c.new_vid LEFT JOIN _prc_vinfo vl ON vl.vid = c.last_vid
    """)
    with stage("price regimes"):
        _regimes(con, tol)
    # What the reconciliation reads (and the only pricing table it may): per priced record, its cost at the price
    # in effect, and at the price it should have moved to (for a stale implied-price regime, the current regime's
    # cost, used only where no published price is known).
    # ``current_from``: the day that price took effect (NULL: always, or not known), so a stale price's evidence
    # can say since when the gateway should have charged it.
    con.execute("""
        CREATE OR REPLACE TEMP VIEW price_in_effect AS
        SELECT v._row, v.ref_expected AS expected_cost,
               CASE WHEN v.has_current THEN v.ref_expected ELSE coalesce(g.regime.b_cost, v.ref_expected) END AS current_cost,
               CASE WHEN v.has_current THEN CAST(vc."from" AS DATE) ELSE CAST(g.regime.switch AS DATE) END AS current_from
        FROM _prc_verdict v LEFT JOIN _prc_regime g USING (_row) LEFT JOIN _prc_vinfo vc ON vc.vid = v.cur_vid
    """)


def per_model(con: duckdb.DuckDBPyConnection, where: str, recomputed: str = "c.ref_expected") -> list[dict[str, Any]]:
    """Per (provider, model): records, recorded cost, recomputed cost (``recomputed``, an expression over
    ``c`` = _prc_class and ``g`` = _prc_regime), difference, price source and dates, for the records of
    ``_prc_class`` that satisfy ``where`` (over ``c`` and ``g``)."""
    # The distinct prices of a model in date order (DISTINCT alone gives them in an order that changes from run to run).
    # nullif: no such price is NULL, not '' (an aggregate over no rows is an empty list on some engines, NULL on others).
    texts = lambda text, day: (f"nullif(array_to_string(list_transform(list_sort(list(DISTINCT {{'day': {day}, 'text': {text}}})"
                               f" FILTER (WHERE {text} IS NOT NULL)), lambda x: x.text), '; '), '')")
    current = texts("""c.cur.prices || ' (' || coalesce(CAST(c.cur."from" AS VARCHAR), 'always') || ' to '
                       || coalesce(CAST(c.cur."to" AS VARCHAR), 'now') || ')'""", """coalesce(CAST(c.cur."from" AS VARCHAR), '')""")
    current_regime = texts("g.regime.b_prices || ' (from ' || strftime(g.regime.switch, '%Y-%m-%d') || ')'",
                           "strftime(g.regime.switch, '%Y-%m-%d')")
    older = texts("""c.old_match.prices || ' (' || coalesce(CAST(c.old_match."from" AS VARCHAR), 'always')
                     || ' to ' || CAST(c.old_match."to" AS VARCHAR) || ')'""", """coalesce(CAST(c.old_match."from" AS VARCHAR), '')""")
    older_regime = texts("""g.regime.a_prices || ' (' || strftime(g.regime.a_first, '%Y-%m-%d') || ' to '
                            || strftime(g.regime.a_last, '%Y-%m-%d') || ')'""", "strftime(g.regime.a_first, '%Y-%m-%d')")
    rows = con.execute(f"""
        SELECT c.provider, c.model, count(*), sum(c.cost), sum({recomputed}),
               coalesce(any_value(c.cur.label), any_value(CASE WHEN c.snap_prices IS NOT NULL THEN 'price snapshot' END),
                        any_value(CASE WHEN g._row IS NOT NULL THEN 'implied price regime' END)),
               coalesce({current}, {current_regime}),
               coalesce({older}, {older_regime})
        FROM _prc_class c LEFT JOIN _prc_regime g USING (_row) WHERE {where} GROUP BY 1, 2 ORDER BY 4 DESC NULLS LAST, 1, 2
    """).fetchall()
    out = []
    for provider, model, n, recorded, recomputed_cost, source, current, older in rows:
        out.append({
            "provider": provider, "model": model, "records": int(n),
            "recorded_cost": recorded, "recomputed_cost": recomputed_cost,
            "difference": (recorded - recomputed_cost) if recorded is not None and recomputed_cost is not None else None,
            "price_source": source, "price_in_effect": current, "older_price_matched": older,
        })
    return out
