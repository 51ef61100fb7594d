"""Implied-unit-price regimes per (provider, model, batch), with no catalog needed (``regimes``, called by the
pricing build): ``_prc_regime`` (per stale record: the regime it was priced at and the one that superseded it)
and ``_prc_regimes`` (one row per superseded regime).

Candidate price vectors (per token: uncached input, cached, cache write, output) are the known versions of the
key (base band) and its price snapshots; records no candidate explains seed new candidates, fitted by least
squares on a sample of the earliest day whose unexplained records are at least half of its records (``_seed``;
numpy, per key, vectorized); a fitted price is kept only where it explains at least half of those records, and
more of them than it has free prices (``_seed_regime``). Each record belongs to the first candidate that explains its cost within the tolerance; a
candidate with records is a regime. Regime B supersedes regime A when B starts after A, A had >= 2 records
before B started, B has >= 2 records, from B's first record on B has more records than A, and each held a
price list in force: A at least half of the key's records before B started, B at least half of them from then
on (``_SEED_SHARE``). A record of A dated after B's first record is stale: priced at a regime the model had
left. Two prices that each explain a few percent of the records all along (costs off the price list that a
known price happens to match) are no price change: their records stay cost-mismatch (PRC004).

The stale records come out as numpy arrays (their _row, their regime's number, their cost at the new regime)
and meet their regime's text in one join in DuckDB: no Python object per flagged record.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb
import numpy as np
import pyarrow as pa

# regime detection ignores records whose expected cost is under this many tolerance floors (rounding noise)
_REGIME_MIN_FLOORS = 100
_MAX_FITTED = 8
# a seed fits an evenly spaced sample of this many of its day's open records: four prices need far fewer, the
# fitted price is then checked on every record of the key, and the trimming costs a fit per dropped record
_FIT_ROWS = 256
_FIT_MIN = 6
# a fitted price must explain at least this share of the unexplained records it was fitted on (``_seed_regime``)
_SEED_SHARE = 0.5



def regimes(con: duckdb.DuckDBPyConnection, tol) -> None:
    """``_prc_regime`` and ``_prc_regimes`` from ``_prc_rec``, ``_prc_versions`` and ``_prc_snap`` (``tol``:
    the pricing Tolerance)."""
    floor = float(tol.usd) * _REGIME_MIN_FLOORS
    pct = float(tol.pct) / 100
    usd = float(tol.usd)
    # Keys numbered once on the distinct keys (not a window over every record), so the records sort on an integer.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _prc_keys AS
        SELECT provider, model, batch, row_number() OVER (ORDER BY provider, model, batch) - 1 AS k
        FROM (SELECT DISTINCT provider, model, batch FROM _prc_rec WHERE cost > 0 AND tin + tout > 0 AND NOT cache_hit)""")
    keys = con.execute("SELECT provider, model, batch FROM _prc_keys ORDER BY k").fetchall()
    known = _known(con)
    out = _Out()
    # One key's records at a time: memory holds the largest key's records, not every priced record.
    for k, key in enumerate(keys):
        cols = con.execute("""
            SELECT r._row, epoch_us(r.ts) AS t, CAST(epoch_us(CAST(r.day AS TIMESTAMP)) // 86400000000 AS BIGINT) AS d,
                   r.tuncached, r.tcached, r.twrite, r.tout, CAST(r.cost AS DOUBLE) AS y
            FROM _prc_rec r JOIN _prc_keys k USING (provider, model, batch)
            WHERE k.k = ? AND r.cost > 0 AND r.tin + r.tout > 0 AND NOT r.cache_hit
            ORDER BY r.ts, r._row""", [k]).fetchnumpy()
        if len(cols["_row"]) == 0:
            continue
        part = {
            "rid": np.asarray(cols["_row"], dtype=np.int64), "t": np.asarray(cols["t"], dtype=np.int64),
            "day": np.asarray(cols["d"], dtype=np.int64), "y": np.asarray(cols["y"], dtype=float),
            "x": np.column_stack([np.asarray(cols[c], dtype=float) for c in ("tuncached", "tcached", "twrite", "tout")]),
        }
        del cols
        key = tuple(key)
        _key_regimes(part, key, known.get(key, []), pct, usd, floor, out)
    out.write(con)


def _known(con: duckdb.DuckDBPyConnection) -> dict[tuple, list]:
    """Per key, the per-token vectors of its known versions (base band) and of its price snapshots."""
    known: dict[tuple, list] = {}
    for provider, model, batch, ins, cac, wri, out in con.execute("""
            SELECT provider, model, batch, in_tok, cached_tok, write_tok, out_tok FROM _prc_versions WHERE band_start = -1
            UNION ALL
            SELECT DISTINCT c.provider, c.model, c.batch, s.in_tok, s.cached_tok, s.write_tok, s.out_tok
            FROM _prc_snap s JOIN (SELECT DISTINCT provider, model, batch, snap_id FROM _prc_rec) c USING (snap_id, batch)
            WHERE s.band_start = -1""").fetchall():
        known.setdefault((provider, model, batch), []).append([float(ins), float(cac), float(wri), float(out)])
    return known


class _Out:
    """What the keys found: per stale record only its _row, its superseded regime's number and its cost at the
    new regime (numpy arrays, no Python object per record); per regime one row. Written as two tables."""

    _GROUPS = ("gid", "a_first", "a_last", "switch", "b_n", "a_prices", "b_prices")
    _REGIMES = ("provider", "model", "batch", "old_from", "old_until", "switch", "old_prices", "new_prices",
                "new_records", "stale_records")

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.gids: list[np.ndarray] = []
        self.costs: list[np.ndarray] = []
        self.groups: dict[str, list] = {k: [] for k in self._GROUPS}
        self.regimes: dict[str, list] = {k: [] for k in self._REGIMES}

    def add(self, key: tuple, rid, b_cost, a_first: int, a_last: int, switch: int, n_b: int, a_text: str, b_text: str) -> None:
        gid = len(self.groups["gid"])
        self.rows.append(rid)
        self.costs.append(b_cost)
        self.gids.append(np.full(len(rid), gid, dtype=np.int64))
        for k, val in zip(self._GROUPS, (gid, a_first, a_last, switch, n_b, a_text, b_text)):
            self.groups[k].append(val)
        for k, val in zip(self._REGIMES, (*key, a_first, a_last, switch, a_text, b_text, n_b, len(rid))):
            self.regimes[k].append(val)

    def write(self, con: duckdb.DuckDBPyConnection) -> None:
        cat = lambda parts, dtype: np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
        recs = pa.table({"_row": pa.array(cat(self.rows, np.int64), pa.int64()), "gid": pa.array(cat(self.gids, np.int64), pa.int64()),
                         "b_cost": pa.array(cat(self.costs, float), pa.float64())})
        ts = pa.timestamp("us")
        g_schema = pa.schema([("gid", pa.int64()), ("a_first", ts), ("a_last", ts), ("switch", ts), ("b_n", pa.int64()),
                              ("a_prices", pa.string()), ("b_prices", pa.string())])
        con.register("_prc_arrow_r", recs)
        con.register("_prc_arrow_g", pa.table(self.groups, schema=g_schema))
        con.execute("""CREATE OR REPLACE TEMP TABLE _prc_regime AS SELECT r._row, {'a_first': g.a_first, 'a_last': g.a_last,
            'switch': g.switch, 'b_n': g.b_n, 'a_prices': g.a_prices, 'b_prices': g.b_prices,
            'b_cost': CAST(round(r.b_cost, 12) AS DECIMAL(38,12))} AS regime FROM _prc_arrow_r r JOIN _prc_arrow_g g USING (gid)""")
        con.unregister("_prc_arrow_r")
        con.unregister("_prc_arrow_g")
        r_schema = pa.schema([("provider", pa.string()), ("model", pa.string()), ("batch", pa.bool_()),
                              ("old_from", ts), ("old_until", ts), ("switch", ts), ("old_prices", pa.string()),
                              ("new_prices", pa.string()), ("new_records", pa.int64()), ("stale_records", pa.int64())])
        con.register("_prc_arrow", pa.table(self.regimes, schema=r_schema))
        con.execute("CREATE OR REPLACE TEMP TABLE _prc_regimes AS SELECT * FROM _prc_arrow")
        con.unregister("_prc_arrow")


def _vec_text(v) -> str:
    """Per-token vector -> ``$1/$2 per 1M`` (cached / cache write when they differ)."""
    per = [Decimal(repr(float(x) * 1e6)).quantize(Decimal("0.0001")).normalize() for x in v]
    text = f"${per[0]:f}/${per[3]:f} per 1M"
    if per[1] != per[0]:
        text += f" (cached ${per[1]:f})"
    return text


def _key_regimes(part, key, known, pct, usd, floor, out: _Out) -> None:
    rid, day, x, y = part["rid"], part["day"], part["x"], part["y"]
    n_rows = len(rid)

    def explains(v):
        e = x @ v
        return (np.abs(y - e) <= np.maximum(e * pct, usd)) & (e > floor)

    cands: list = []
    for v in known:
        v = np.array(v)
        if not any(np.allclose(v, c) for c in cands):
            cands.append(v)
    assigned = np.full(n_rows, -1)
    for i, v in enumerate(cands):
        assigned[(assigned < 0) & explains(v)] = i
    # records too small to judge take no part
    usable = y > floor
    tried = np.zeros(n_rows, dtype=bool)
    fitted = 0
    while fitted < _MAX_FITTED:
        open_ = (assigned < 0) & usable & ~tried
        if not open_.any():
            break
        sel, spent = _seed(open_, usable, day)
        if sel is None:
            break
        fitted += 1
        v = _seed_regime(x, y, sel, assigned, explains, pct, usd)
        if v is None:
            tried[spent] = True
            continue
        cands.append(v)
        assigned[(assigned < 0) & explains(v)] = len(cands) - 1
    _stale(part, key, cands, assigned, usable, out)


def _seed(open_, usable, day):
    """(records to fit, records that a failed fit rules out) for the next seed, or (None, None).

    The seed day is the earliest day whose open (unexplained) records are at least half of its usable ones: a
    new price in force holds most of a day's records, so a day of a few stray costs is skipped without a fit
    (before, each such day spent one of the key's ``_MAX_FITTED`` fits, and the stray costs made "regimes").
    The fit takes an evenly spaced sample of the day's open records (``_FIT_ROWS``), and a failure rules out
    the whole day; a quiet day (under ``_FIT_MIN`` records) takes the next open records in time too."""
    d = day - day.min()
    per_day_open = np.bincount(d[open_], minlength=d.max() + 1)
    per_day = np.bincount(d[usable], minlength=d.max() + 1)
    days = np.flatnonzero((per_day_open > 0) & (2 * per_day_open >= per_day))
    if len(days) == 0:
        return None, None
    on_day = np.flatnonzero(open_ & (d == days[0]))
    if len(on_day) < _FIT_MIN:
        nxt = np.flatnonzero(open_ & (d >= days[0]))[:_FIT_MIN]
        return nxt, nxt
    step = -(-len(on_day) // _FIT_ROWS)
    return on_day[::step], on_day


def _seed_regime(x, y, sel, assigned, explains, pct, usd):
    """The price fitted on the unexplained records ``sel``, or None where they show no price in force.

    A stale price in gateway logs is one exact price list, charged on all of a model's records over a period (the
    old list price kept after a change, until the gateway's map is updated). So a fitted price must explain at
    least half of the records it was fitted on (``_trimmed_fit`` gives up once it cannot), and more of them than
    it has free prices (the rank of their token mix): a fit through as many records as unknowns matches them
    exactly whatever their costs, which proves nothing. Costs off every price by random factors (cost-mismatch,
    PRC004) pass neither test, where before each trimmed fit made a "regime" of a few percent of them."""
    cur, v = _trimmed_fit(x, y, sel, pct, usd)
    if v is None:
        return None
    seen = x[cur].any(axis=0)
    for c in (1, 2):  # no cached / cache-write tokens to fit on: assume the input price
        if not seen[c]:
            v[c] = v[0]
    if not (v >= -1e-15).all():
        return None
    hit = (assigned[sel] < 0) & explains(v)[sel]
    n_hit = int(hit.sum())
    if n_hit < max(2, _SEED_SHARE * len(sel)) or n_hit <= np.linalg.matrix_rank(x[sel[hit]]):
        return None
    return v


def _stale(part, key, cands, assigned, usable, out: _Out) -> None:
    """The superseded regimes of one key and their stale records, into ``out``."""
    t, x = part["t"], part["x"]
    regimes = np.unique(assigned[assigned >= 0]).tolist()
    if len(regimes) < 2:
        return
    first = {g: t[assigned == g].min() for g in regimes}
    stale_by = {}
    for a in regimes:
        ma = assigned == a
        for b in sorted(regimes, key=lambda g: first[g]):
            if b == a or first[b] <= first[a]:
                continue
            if _supersedes(ma, assigned == b, t >= first[b], usable):
                stale_by[a] = b
                break
    for a, b in stale_by.items():
        ma, sw = assigned == a, first[b]
        flagged = ma & (t > sw)
        if not flagged.any():
            continue
        a_first, a_last = int(t[ma].min()), int(t[ma & (t < sw)].max())
        out.add(key, part["rid"][flagged], x[flagged] @ cands[b], a_first, a_last, int(sw), int((assigned == b).sum()),
                _vec_text(cands[a]), _vec_text(cands[b]))


def _supersedes(ma, mb, after, usable) -> bool:
    """Whether regime B (``mb``) took over from regime A (``ma``) at B's first record (``after``: from then on).

    A price change moves a model's records from one price list to the next: A must have held at least half of
    the key's usable records before B started and B at least half of them from then on (a replica still at A
    takes the rest). Without the shares, two prices that each matched a few percent of costs off the price list
    all month made a "change" wherever the later-starting one had more records than the other."""
    before = ~after
    n_before, n_after = (usable & before).sum(), (usable & after).sum()
    a_before, b_after = (ma & before).sum(), (mb & after).sum()
    return bool(a_before >= 2 and mb.sum() >= 2 and b_after > (ma & after).sum()
                and a_before >= _SEED_SHARE * n_before and b_after >= _SEED_SHARE * n_after)


try:  # the LAPACK gufunc behind np.linalg.lstsq (private; numpy 1.x and 2.x have it)
    from numpy.linalg import _umath_linalg

    _LSTSQ = _umath_linalg.lstsq
except (ImportError, AttributeError):  # pragma: no cover - another numpy
    _LSTSQ = None
_EPS = float(np.finfo(np.float64).eps)


def _lstsq(a, b):
    """``np.linalg.lstsq(a, b, rcond=None)[0]`` for float64 ``a`` (m x 4) and ``b`` (m): the same LAPACK call with
    the same rcond, without the wrapper's per-call checks and error-state context (a fifth of its time at these
    sizes, where the trimming calls it once per dropped record). The wrapper itself where the gufunc is missing,
    and for a result that is not finite (it then raises LinAlgError as before)."""
    if _LSTSQ is not None and a.dtype == np.float64 and b.dtype == np.float64 and a.shape[0] > 0:
        v = _LSTSQ(a, b[:, None], _EPS * max(a.shape), signature="ddd->ddid")[0][:, 0].copy()
        if np.isfinite(v).all():
            return v
    return np.linalg.lstsq(a, b, rcond=None)[0]


def _trimmed_fit(x, y, sel, pct, usd, keep=_SEED_SHARE):
    """(records kept, fit) for the records ``sel``: drop the worst outlier, refit, until the fit explains at
    least 60% of what is left (within the tolerance), then refit on those. (records left, None) once fewer than
    ``keep`` of ``sel`` are left: the fit can then no longer explain that share of them (``_seed_regime``).

    One lstsq per dropped record, so giving up at ``keep`` bounds a fit of costs off every price at half its
    records (before: all but a few, 52k fits at 300k flagged records). Each step gathers its rows once and calls
    LAPACK directly (``_lstsq``); the values are those of the loop with np.linalg.lstsq (tests/test_regimes.py).
    Tried and taken back (benchmarks/RESULTS.md): deciding from the normal equations within a bound of lstsq's
    fit (as many numpy calls per step: slower), and dropping the k worst at once where a bound proves one-by-one
    steps would (the residuals lie too close together: no batch was ever proved)."""
    cur = sel
    need = keep * len(sel)
    xc, yc = x[cur], y[cur]
    v = _lstsq(xc, yc)
    while len(cur) >= 2:
        e = xc @ v
        ae = np.maximum(np.abs(e), usd)
        res = np.abs(yc - e) / ae
        ok = res <= np.maximum(pct, usd / ae)
        if ok.sum() >= max(2, 0.6 * len(cur)):
            cur = cur[ok]
            if len(cur) < need:
                return cur, None
            v = _lstsq(x[cur], y[cur])
            break
        cur = np.delete(cur, int(np.argmax(res)))
        if len(cur) < need:
            return cur, None
        xc, yc = x[cur], y[cur]
        v = _lstsq(xc, yc)
    return cur, v
