"""Owner-value resolution, shared by free-form-tag and the key and environment rules: every
distinct value of team_id, service_id, cost_center, environment (and each tag) is mapped to the
owner it means, from the policy's registry when it has one, else from clusters of spellings in
the data. All fuzzy work runs on the distinct values only (never per record), so its cost does not
grow with the number of records.

Clustering, per field:

* normal form: camelCase split, lower case, every separator (space, ``_ - . / :``) removed, so
  "Support Automation", "support_automation" and "SupportAutomation" are one spelling;
* two normal forms are the same owner when rapidfuzz's ``fuzz.ratio`` is at least ``fuzzy_cutoff``
  AND a token guard holds: the same digits in the same order (``cc-4210`` is not ``cc-4201``), the
  same number of words, and each pair of differing words is an abbreviation (a prefix of at least 4
  letters and half the word: "supp" / "support") or a typo (edit distance 1 for words of 6+ letters,
  2 for 10+; for words of 4-5 letters only a dropped, added or swapped letter: "infa" / "infra", not
  "data" / "date"). So "search-api" / "search-ui", "team-a" / "team-b" and "billing" / "billing-eu" stay
  apart;
* clusters are stars around a centre (no chaining): with a registry the centres are the registry's
  values; without one, the normal forms in order of (passes the policy's pattern, spend, records,
  value), each unassigned one becoming the centre of the next cluster.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pyarrow as pa

from auditor.contract.sql import lit
from auditor.engine import temp_table
from auditor.policy import Policy
from auditor.rules.base import LLM
from auditor.rules.spellings import Neighbours, dominant_shape, normal_form, words
from auditor.rules.team_records import DUPLICATE, NAME_AS_ID, logged_team_names, mark_duplicates, mark_names_as_ids

OWNER_FIELDS = ("team_id", "service_id", "cost_center", "environment")
TAG_FIELDS = (*OWNER_FIELDS, "tags")
TAG_PARAMS: dict[str, Any] = {"fuzzy_cutoff": 85, "fields": list(TAG_FIELDS), "max_clusters_in_report": 100}

@dataclass
class Value:
    """One distinct value of one field, and what it resolves to."""

    field: str
    value: str
    records: int
    cost: Decimal
    bad: bool  # fails the policy's pattern / enum for the field
    canonical: str | None = None  # the owner value it means (None: unknown)
    # known | alias | canonical | variant | fuzzy | unknown | invalid | off-shape | duplicate-record | team-name
    status: str = "unknown"
    source: str = "data"  # registry | data
    shape: str | None = None  # off-shape: the pattern most values of the field follow, and this one does not
    # duplicate-record: the two team names that are spellings of one team; team-name: the name the value is (quoted)
    names: str | None = None

    @property
    def flagged(self) -> bool:
        return self.status in ("variant", "fuzzy", "unknown", "invalid", "off-shape", DUPLICATE, NAME_AS_ID)

    @property
    def blocks(self) -> bool:
        """Attribution is blocked when the value is not a registry value (with a registry) or does not
        pass the policy's pattern; a spelling variant in data without a registry still names an owner."""
        if self.field == "tags":
            return False
        return self.bad or self.source == "registry"


def registry_values(policy: Policy, field: str) -> dict[str, str]:
    """Known spellings of ``field`` in the registry -> the owner value each means (aliases map to the team)."""
    out: dict[str, str] = {}
    teams = sorted(policy.teams.values(), key=lambda t: t.team_id)
    if field == "team_id":
        for t in teams:
            out[t.team_id] = t.team_id
        for t in teams:
            for a in t.aliases:
                out.setdefault(a, t.team_id)
    elif field == "service_id":
        for t in teams:
            for s in t.services:
                out.setdefault(s, s)
    elif field == "cost_center":
        for c in (*policy.cost_centers, *(t.cost_center for t in teams if t.cost_center)):
            out.setdefault(c, c)
    elif field == "environment":
        for e in (*policy.environments, *(e for t in teams for e in t.environments)):
            out.setdefault(e, e)
    return out


VALUES_CACHE = "_owner_values"  # per connection; the runner drops it before the rules run


def _distinct_values(ctx_con, table: str, fields: tuple[str, ...]) -> list[tuple[str, str, int, Decimal, bool]]:
    """``(field, value, records, cost, bad)`` per distinct value of ``fields``. Several rules resolve the same
    fields: each field is read from the records once per run and kept in a temp table."""
    ctx_con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {VALUES_CACHE} (tbl VARCHAR, f VARCHAR, v VARCHAR, n BIGINT,"
                    " cost DECIMAL(38,12), bad BOOLEAN)")
    done = {r[0] for r in ctx_con.execute(f"SELECT DISTINCT f FROM {VALUES_CACHE} WHERE tbl = ?", [table]).fetchall()}
    parts = []
    for f in fields:
        if f in done:
            continue
        if f == "tags":
            parts.append(f"SELECT 'tags' AS f, unnest(list_distinct(tags)) AS v, cost, false AS bad FROM {table}")
        else:
            bad = f"(list_contains(_violations, {lit(f + ':pattern')}) OR list_contains(_violations, {lit(f + ':enum')}))"
            parts.append(f"SELECT {lit(f)} AS f, \"{f}\" AS v, cost, {bad} AS bad FROM {table}")
    if parts:
        ctx_con.execute(
            f"INSERT INTO {VALUES_CACHE} SELECT {lit(table)}, f, v, count(*), coalesce(sum(cost), 0)::DECIMAL(38,12),"
            " bool_or(bad) FROM (" + " UNION ALL ".join(parts) + ") WHERE v IS NOT NULL AND v <> '' GROUP BY f, v"
        )
    return ctx_con.execute(
        f"SELECT f, v, n, cost, bad FROM {VALUES_CACHE} WHERE tbl = ? AND list_contains(?, f) ORDER BY f, v",
        [table, list(fields)],
    ).fetchall()


def _resolve_registry(values: list[Value], known: dict[str, str], cutoff: float) -> None:
    by_norm: dict[str, str] = {}
    norm_words: dict[str, tuple[str, ...]] = {}
    for k in sorted(known):  # deterministic: first spelling in sorted order wins a shared normal form
        n = normal_form(k)
        by_norm.setdefault(n, known[k])
        norm_words.setdefault(n, words(k))
    index = Neighbours(norm_words.items())
    for v in values:
        v.source = "registry"
        if v.value in known:
            v.canonical = known[v.value]
            v.status = "known" if known[v.value] == v.value else "alias"
            continue
        n = normal_form(v.value)
        if n in by_norm:
            v.canonical, v.status = by_norm[n], "variant"
            continue
        found = index.matches(n, words(v.value), norm_words.__getitem__, cutoff)
        if found:  # best score, then the first in sorted order
            v.canonical, v.status = by_norm[found[0][0]], "fuzzy"
        else:
            v.canonical, v.status = None, "invalid" if v.bad else "unknown"


def _resolve_data(values: list[Value], cutoff: float) -> None:
    groups: dict[str, list[Value]] = {}
    for v in values:
        groups.setdefault(normal_form(v.value), []).append(v)

    def rank(n: str) -> tuple:
        """Centres first: spellings that pass the policy's pattern, then most spend, most records, the value."""
        g = groups[n]
        return (all(v.bad for v in g), -sum((v.cost for v in g), Decimal(0)), -sum(v.records for v in g), n)

    def group_words(n: str) -> tuple[str, ...]:
        return max((words(v.value) for v in groups[n]), key=lambda w: (len(w), w))

    order = sorted(groups, key=rank)
    gwords = {n: group_words(n) for n in order}
    index = Neighbours(gwords.items())
    unassigned = set(order)
    for centre in order:
        if centre not in unassigned:
            continue
        unassigned.discard(centre)
        members = [centre] + [c for c, _ in index.matches(centre, gwords[centre], gwords.__getitem__, cutoff, unassigned)]
        unassigned.difference_update(members)
        cluster = [v for n in members for v in groups[n]]
        canon = min(cluster, key=lambda v: (v.bad, -v.cost, -v.records, v.value))
        for v in cluster:
            v.source = "data"
            if v.bad:
                v.canonical, v.status = (None if canon.bad else canon.value), "invalid"
            elif v is canon:
                v.canonical, v.status = v.value, "canonical"
            else:
                v.canonical = canon.value
                v.status = "variant" if normal_form(v.value) == normal_form(canon.value) else "fuzzy"


def _flag_off_shape(values: list[Value]) -> None:
    """Without a policy pattern: when the field's values follow one shape (``FIN-`` and four digits on 90% of the
    spend), the owners that break it are flagged, with the shape in the detail. The owners are the values that
    stand for themselves: canonical ones in the data; with a registry, the ones it lists (known) and the ones it
    does not (unknown: flagged anyway, the shape says what they break). A value the registry lists is never
    off-shape: the registry decides."""
    cost = sum((v.cost for v in values), Decimal(0))
    found = dominant_shape((v.value, v.cost if cost > 0 else v.records) for v in values
                           if v.status in ("canonical", "known", "unknown"))
    if found is None:
        return
    pattern, share, _ = found
    rx = re.compile(pattern)
    # A share that rounds to 100% is shown to the first decimal, rounded down: a value breaks the shape, so not 100%.
    pct = f"{share * 100:.0f}" if share * 100 < Decimal("99.5") else f"{(share * 100).quantize(Decimal('0.1'), ROUND_FLOOR)}"
    for v in values:
        if v.status in ("canonical", "unknown") and not rx.match(v.value):
            v.status, v.canonical, v.shape = "off-shape", None, f"{pattern} ({pct}% of the {'spend' if cost > 0 else 'records'})"


RESOLVED_CACHE = "_owner_resolved"  # what each value resolves to, per (table, field, cutoff); dropped with VALUES_CACHE
# The same, as the Value objects the rules read: three rules ask for 100k team ids, and reading them back from the
# table (DuckDB decimals into Python) cost about 0.5 s a time. Per connection; forget() when the table is dropped.
_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def forget(con) -> None:
    """Drop what ``resolve`` keeps for ``con`` (with the cache tables: the records may have changed)."""
    _MEMO.pop(con, None)
    con.execute(f"DROP TABLE IF EXISTS {VALUES_CACHE}")
    con.execute(f"DROP TABLE IF EXISTS {RESOLVED_CACHE}")


def resolve(con, policy: Policy, table: str = LLM, fields: tuple[str, ...] = TAG_FIELDS,
            cutoff: float | None = None) -> dict[str, list[Value]]:
    """Every distinct value of ``fields`` with what it resolves to (see the module docstring). Three rules
    resolve the same fields in one run: each field is clustered once and the result kept in a temp table."""
    if cutoff is None:
        cutoff = float({**TAG_PARAMS, **policy.rule_config("TAG001", "free-form-tag")}["fuzzy_cutoff"])
    memo = _MEMO.setdefault(con, {})
    if all((table, cutoff, f) in memo for f in fields):
        return {f: list(memo[(table, cutoff, f)]) for f in fields}
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {RESOLVED_CACHE} (tbl VARCHAR, cutoff DOUBLE, f VARCHAR, v VARCHAR,"
                " n BIGINT, cost DECIMAL(38,12), bad BOOLEAN, canonical VARCHAR, status VARCHAR, source VARCHAR, shape VARCHAR,"
                " names VARCHAR)")
    done = {r[0] for r in con.execute(f"SELECT DISTINCT f FROM {RESOLVED_CACHE} WHERE tbl = ? AND cutoff = ?",
                                      [table, cutoff]).fetchall()}
    todo = tuple(f for f in fields if f not in done)
    if todo:
        fresh: dict[str, list[Value]] = {f: [] for f in todo}
        for f, v, n, c, bad in _distinct_values(con, table, todo):
            fresh[f].append(Value(f, v, int(n), Decimal(c), bool(bad)))
        for f, values in fresh.items():
            known = registry_values(policy, f) if f != "tags" else {}
            if known:
                _resolve_registry(values, known, cutoff)
            else:
                _resolve_data(values, cutoff)
            if f == "team_id":
                _second_team_records(con, table, values, cutoff, policy)
            if f != "tags" and not {"pattern", "enum"} & set(policy.fields.get(f) or {}):
                _flag_off_shape(values)
        _store_resolved(con, table, cutoff, [v for vs in fresh.values() for v in vs])
    out: dict[str, list[Value]] = {f: [] for f in fields}
    for f, v, n, c, bad, canon, status, source, shp, names in con.execute(
            f"SELECT f, v, n, cost, bad, canonical, status, source, shape, names FROM {RESOLVED_CACHE}"
            " WHERE tbl = ? AND cutoff = ? AND list_contains(?, f) ORDER BY f, v", [table, cutoff, list(fields)]).fetchall():
        out[f].append(Value(f, v, int(n), Decimal(c), bool(bad), canon, status, source, shp, names))
    for f, values in out.items():
        memo[(table, cutoff, f)] = values
    return {f: list(vs) for f, vs in out.items()}


def _second_team_records(con, table: str, values: list[Value], cutoff: float, policy: Policy) -> None:
    """Team ids judged by their names: second team records, and names typed where the id goes (team_records).
    The names are the ones the records carry with their ids, and the registry's (``[teams.X] name``)."""
    rows = logged_team_names(con, table)
    names = {tid: name for tid, name, _, _ in rows}
    by_name: dict[str, Value] = {}
    for _, name, n, c in rows:
        v = by_name.setdefault(name, Value("team_name", name, 0, Decimal(0), False))
        v.records, v.cost = v.records + int(n), v.cost + Decimal(c)
    registered = {t.team_id: t.name for t in policy.teams.values() if t.name}
    for tid, name in sorted(registered.items()):
        names.setdefault(tid, name)
        by_name.setdefault(name, Value("team_name", name, 0, Decimal(0), False))
    clustered = list(by_name.values())
    _resolve_data(clustered, cutoff)
    team_of = mark_duplicates(values, names, clustered)
    for tid, name in sorted(registered.items()):  # a registry name beside the one the logs carry
        team = next((t for t in team_of.values() if t.value == tid), None)
        if team is not None:
            team_of.setdefault(name, team)
    # Team ids no record names: matched against the names as against a registry's spellings.
    probes = [Value(v.field, v.value, v.records, v.cost, v.bad) for v in values if v.value not in names]
    if probes and team_of:
        _resolve_registry(probes, {name: name for name in team_of}, cutoff)
        mark_names_as_ids(values, names, team_of, {p.value: p.canonical for p in probes if p.canonical is not None})


def _store_resolved(con, table: str, cutoff: float, values: list[Value]) -> None:
    cols = {"f": [v.field for v in values], "v": [v.value for v in values], "n": [v.records for v in values],
            "cost": [v.cost for v in values], "bad": [v.bad for v in values], "canonical": [v.canonical for v in values],
            "status": [v.status for v in values], "source": [v.source for v in values], "shape": [v.shape for v in values],
            "names": [v.names for v in values]}
    types = {"cost": pa.decimal128(38, 12), "canonical": pa.string(), "shape": pa.string(), "names": pa.string()}
    arrow = pa.table({k: pa.array(c, types.get(k)) for k, c in cols.items()})
    con.register("_owner_resolved_arrow", arrow)
    con.execute(f"INSERT INTO {RESOLVED_CACHE} SELECT {lit(table)}, {float(cutoff)!r}, f, v, n, cost, bad, canonical,"
                " status, source, shape, names FROM _owner_resolved_arrow")
    con.unregister("_owner_resolved_arrow")


def canonical_table(con, resolved: dict[str, list[Value]], name: str) -> str:
    """A temp table ``name(f, v, canon)``: each distinct value and the owner value it means (itself when unknown)."""
    rows = [(v.field, v.value, v.canonical if v.canonical is not None else v.value) for vs in resolved.values() for v in vs]
    return temp_table(con, name, {"f": pa.array([r[0] for r in rows], pa.string()), "v": pa.array([r[1] for r in rows], pa.string()),
                                  "canon": pa.array([r[2] for r in rows], pa.string())})
