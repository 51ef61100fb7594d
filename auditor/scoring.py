"""Who can be charged: attributable spend, a confidence score and a readiness tier per team and for
the whole data set, the top fixes ranked by money, and the unallocated bucket with its causes.

A record's cost is *attributable* when its ownership fields (team, service, cost center,
environment) are all present and valid by the contract, its cost is a valid amount (not negative,
a number), and no rule that blocks attribution (e.g. missing-owner, free-form-tag) flagged it.
Everything else is the unallocated bucket. A negative cost counts as 0 in every total and share.

A team's records are the records whose team_id is its id or a recognised spelling of it (a registry
alias, or the canonical value the free-form-tag rule suggests), plus the records that carry no team
at all on a gateway key that the policy's registry gives to that team (its untagged traffic: it counts
against the team's readiness, and its cost is in the unallocated bucket until it is tagged).

The confidence score (0-100) is a weighted mean of clean-spend shares, one per dimension
(see :data:`DIMENSIONS` and docs/scoring.md)::

    score = 100 x sum(weight_d x clean_d) / sum(weight_d)      over the dimensions that were checked

    clean_attribution = attributable cost / cost
    clean_d           = 1 - (cost of the records flagged by a rule of dimension d) / cost
    clean_reconciliation = max(0, 1 - |variance %| / 10)      only when an invoice is given

Every share only grows when a defect is fixed, so the score is monotone (tests/test_scoring.py).
The tier follows the seed's thresholds, read from ``policy.thresholds``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Iterable

import duckdb

from auditor.contract.schema import OWNERSHIP_FIELDS
from auditor.contract.sql import MISSING_CODES, lit
from auditor.findings import Finding
from auditor.fmt import plural, usd

if TYPE_CHECKING:  # pragma: no cover
    from auditor.policy import Policy
    from auditor.result import AuditResult

ZERO = Decimal(0)
ONE = Decimal(1)

TIER_READY, TIER_SHOWBACK, TIER_NOT_READY = "chargeback-ready", "showback", "not-ready"
DEFAULT_SHOWBACK_PCT = 50.0
TOP_FIXES = 10  # per team in the JSON; the report shows the first 3
VARIANCE_ZERO_AT = Decimal(10)  # the reconciliation share reaches 0 at 10 percentage points of variance
ALL = "\x00all"  # the whole data set, in the per-team tables (no team id can be this)


@dataclass(frozen=True)
class Dimension:
    key: str
    label: str
    weight: int
    question: str


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("attribution", "Attributable spend", 50,
              "share of cost with a complete, valid owner (team, service, cost center, environment) and no "
              "finding that blocks attribution"),
    Dimension("keys", "Key hygiene", 10, "share of cost not on a shared or copied gateway key (keys rules, e.g. copied-key)"),
    Dimension("tags", "Tag validity", 10,
              "share of cost whose owner tags are present and canonical (ownership and tags rules: missing-owner, free-form-tag)"),
    Dimension("pricing", "Price confidence", 10,
              "share of cost that can be recomputed at the price in effect (pricing rules: stale-price, cost-mismatch, "
              "unpriced-model, missing-cost)"),
    Dimension("retries", "Retry linkage", 5, "share of cost not on retries without a link to their original request (retries rules)"),
    Dimension("duplicates", "No duplicates", 5, "share of cost not double-counted by re-delivered requests (integrity rules, e.g. duplicate-request)"),
    Dimension("hygiene", "Other record checks", 10,
              "share of cost with no other finding (required fields, malformed values, secrets, environments, identity)"),
    Dimension("reconciliation", "Reconciliation", 10,
              "1 - |variance between logs and invoice| / 10 percentage points, floored at 0; only when an invoice is given"),
)
WEIGHTS = {d.key: d.weight for d in DIMENSIONS}

_FIELD_NOUN = {"team_id": "a team", "service_id": "a service", "cost_center": "a cost center", "environment": "an environment"}


def pct(part: Decimal, whole: Decimal) -> float:
    """Percentage to 2 decimals; 0 when there is nothing to attribute (zero is never 100%: reporters show n/a)."""
    if not whole:
        return 0.0
    return float((Decimal(100) * part / whole).quantize(Decimal("0.01")))


@dataclass
class TeamScore:
    team_id: str
    records: int
    cost: Decimal
    attributable_cost: Decimal
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def attributable_pct(self) -> float:
        return pct(self.attributable_cost, self.cost)


@dataclass
class Attribution:
    total_cost: Decimal
    attributable_cost: Decimal
    records: int
    teams: list[TeamScore]
    unallocated_records: int
    unallocated_causes: list[dict[str, Any]]

    @property
    def unattributed_cost(self) -> Decimal:
        return self.total_cost - self.attributable_cost

    @property
    def attributable_pct(self) -> float:
        return pct(self.attributable_cost, self.total_cost)


# --- which team a record belongs to ----------------------------------------------------------------

def registry_key_owners(policy: "Policy | None") -> dict[str, str | None]:
    """Key id or alias -> the one team the registry gives it to (None when several teams list it)."""
    owners: dict[str, str | None] = {}
    for tid, team in (policy.teams if policy else {}).items():
        for k in team.keys:
            owners[k] = tid if owners.get(k, tid) == tid else None
    return owners


def _team_expr(policy: "Policy | None", findings: list[Finding]) -> tuple[str, str]:
    """(joins, expression) giving a record's team: the registry team its team_id spells (the free-form-tag
    rule's suggested canonical value, or a registry alias), else its team_id, else the registry owner of its key."""
    joins, parts = "", []
    ff = [f.code for f in findings if f.name == "free-form-tag"]
    if ff:
        joins += (" LEFT JOIN (SELECT _row, nullif(trim(regexp_extract(fix, 'team_id: ([^;]+)', 1)), '') AS team"
                  f" FROM finding_rows WHERE code = {lit(ff[0])} AND fix LIKE '%team_id: %') ff ON ff._row = r._row")
        parts.append("ff.team")
    aliases = {a: t.team_id for t in (policy.teams.values() if policy else ()) for a in t.aliases}
    if aliases:
        values = ", ".join(f"({lit(a)}, {lit(t)})" for a, t in sorted(aliases.items()))
        joins += f" LEFT JOIN (VALUES {values}) al(alias, team) ON al.alias = r.team_id"
        parts.append("al.team")
    parts.append("nullif(r.team_id, '')")
    owned = {k: t for k, t in registry_key_owners(policy).items() if t}
    if owned:
        values = ", ".join(f"({lit(k)}, {lit(t)})" for k, t in sorted(owned.items()))
        joins += (f" LEFT JOIN (VALUES {values}) k1(key, team) ON k1.key = r.api_key_id"
                  f" LEFT JOIN (VALUES {values}) k2(key, team) ON k2.key = r.api_key_alias")
        parts += ["k1.team", "k2.team"]
    return joins, f"coalesce({', '.join(parts)})"


def attributable_view(con: duckdb.DuckDBPyConnection, findings: list[Finding], policy: "Policy | None" = None) -> None:
    """``attribution(_row, team_id, team, cost, attributable)`` over the LLM records (``team``: see the module doc),
    plus what the scoring reads of each record, so that it need not join the records again: ``service`` and
    ``key_id``, ``key_alias`` (NULL when empty), ``env`` (environment, lower case), ``day`` (UTC date) and
    ``bad_owner`` (an ownership field is malformed)."""
    blocking = [f.code for f in findings if f.blocks_attribution]
    owned = "[" + ", ".join(lit(f) for f in OWNERSHIP_FIELDS) + "]"
    missing = "[" + ", ".join(lit(c) for c in MISSING_CODES) + "]"
    blocked = (
        # blocks = false: the rule flagged the record without blocking it (per record, e.g. free-form-tag)
        f"r._row IN (SELECT _row FROM finding_rows WHERE code IN ({', '.join(lit(c) for c in blocking)}) AND blocks IS NOT false)"
        if blocking else "false"
    )
    joins, team = _team_expr(policy, findings)

    def violated(test: str) -> str:  # SQL: some 'field:code' violation of the record passes ``test`` (over f, c)
        test = test.replace("{f}", "split_part(v, ':', 1)").replace("{c}", "split_part(v, ':', 2)")
        return f"len(list_filter(r._violations, lambda v: {test})) > 0"

    owner = f"list_contains({owned}, {{f}})"
    malformed = f"NOT list_contains({missing}, {{c}})"  # present, but the contract rejects its value
    bad_cost = f"{{f}} = 'cost' AND {malformed}"
    # A table, not a view: the attribution and the scoring read it about ten times.
    con.execute(
        # A cost the contract rejects (negative, not a number) is no evidence: the record is not attributable,
        # and a negative amount counts as 0, so no share of spend leaves [0, 100]% (CON002 shows it as logged).
        f"CREATE OR REPLACE TEMP TABLE attribution AS SELECT r._row, r.team_id, {team} AS team, greatest(coalesce(r.cost, 0), 0) AS cost, "
        f"NOT {violated(f'{owner} OR ({bad_cost})')} AND NOT ({blocked}) AS attributable,"
        f" nullif(r.service_id, '') AS service, nullif(r.api_key_id, '') AS key_id,"
        f" nullif(r.api_key_alias, '') AS key_alias, lower(r.environment) AS env, CAST(r.timestamp AS DATE) AS day,"
        f" {violated(f'{owner} AND {malformed}')} AS bad_owner, {violated(bad_cost)} AS bad_cost"
        f" FROM llm r{joins}"
    )


def attribute(con: duckdb.DuckDBPyConnection, findings: list[Finding], policy: "Policy | None" = None) -> Attribution:
    attributable_view(con, findings, policy)
    rows = con.execute(
        "SELECT team, count(*), sum(cost), coalesce(sum(cost) FILTER (WHERE attributable), 0)"
        " FROM attribution WHERE team IS NOT NULL GROUP BY 1 ORDER BY 3 DESC, 1"
    ).fetchall()
    teams = [TeamScore(t, int(n), Decimal(c), Decimal(a)) for t, n, c, a in rows]
    total, attributable, records, un_n = con.execute(
        "SELECT coalesce(sum(cost), 0), coalesce(sum(cost) FILTER (WHERE attributable), 0), count(*),"
        " count(*) FILTER (WHERE NOT attributable) FROM attribution"
    ).fetchall()[0]
    causes = []
    by_code = {f.code: f for f in findings}
    for code, n, c in con.execute(
        "SELECT f.code, count(DISTINCT a._row), sum(a.cost) FROM attribution a JOIN finding_rows f USING (_row)"
        " WHERE NOT a.attributable GROUP BY 1 ORDER BY 3 DESC, 1"
    ).fetchall():
        if code in by_code:
            causes.append({"code": code, "name": by_code[code].name, "records": int(n), "cost": Decimal(c)})
    return Attribution(Decimal(total), Decimal(attributable), int(records), teams, int(un_n), causes)


# --- the confidence score --------------------------------------------------------------------------

def dimension_of(category: str, name: str) -> str | None:
    """The score dimension a rule's findings count against (None: none besides attribution).

    A missing owner field (the ownership rules) counts against tag validity as well as attribution: an owner
    tag that is absent is no more valid than a free-form one, so filling it in with a free-form value never
    raises the score and replacing that with the canonical value raises it again.
    """
    if name == "unreadable-record":
        return None  # no record rows: the rejected records are in no team's figures
    return {"ownership": "tags", "keys": "keys", "tags": "tags", "pricing": "pricing", "retries": "retries",
            "integrity": "duplicates"}.get(category, "hygiene")


def share(flagged: Decimal, cost: Decimal) -> Decimal:
    """Clean share ``1 - flagged / cost`` in [0, 1]; 0 when there is no cost (nothing to judge is never a perfect score)."""
    if cost <= 0:
        return ZERO
    return min(ONE, max(ZERO, ONE - flagged / cost))


def reconciliation_share(variance_pct: float | None) -> Decimal | None:
    if variance_pct is None:
        return None
    return max(ZERO, ONE - abs(Decimal(str(variance_pct))) / VARIANCE_ZERO_AT)


def confidence(components: dict[str, Decimal | None]) -> float:
    """``100 x sum(w x share) / sum(w)`` over the dimensions present (not None), to one decimal."""
    used = {k: WEIGHTS[k] for k, v in components.items() if v is not None and k in WEIGHTS}
    if not used:
        return 100.0
    total = sum((Decimal(w) * components[k] for k, w in used.items()), ZERO)  # type: ignore[operator]
    return float((Decimal(100) * total / Decimal(sum(used.values()))).quantize(Decimal("0.1"), ROUND_HALF_UP))


def variance_of(reconciliation: dict[str, Any] | None) -> float | None:
    """The overall variance % of a reconciliation result (``variance_pct`` at the top or under ``summary``)."""
    if not reconciliation:
        return None
    for holder in (reconciliation, reconciliation.get("summary") or {}, reconciliation.get("totals") or {}):
        if isinstance(holder, dict) and holder.get("variance_pct") is not None:
            try:
                return float(holder["variance_pct"])
            except (TypeError, ValueError):
                return None
    return None


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


_DETAIL_RULES = ("missing-owner", "invalid-value", "missing-field")  # the fixes _fix_phrase words from details


def _fix_phrase(name: str, n: int, service: str | None, details: list[str]) -> str:
    svc = f"of service {service}" if service else "with no service"
    req = plural(n, "request")
    if name == "missing-owner":
        missing: list[str] = []
        for d in details:
            for f in d.removeprefix("no ").split(", "):
                if f in _FIELD_NOUN and _FIELD_NOUN[f] not in missing:
                    missing.append(_FIELD_NOUN[f])
        what = _and(missing) or "a complete owner"
        return f"tag {req} {svc} with {what}"
    fields: list[str] = []
    for d in details:  # invalid-value: "field: code, ..."; missing-field: "missing field, ..."
        for part in d.removeprefix("missing ").split(", "):
            f = part.split(":", 1)[0].strip()
            if f and f not in fields and len(fields) < 3:
                fields.append(f)
    named = _and(fields)
    phrases = {
        "invalid-value": f"correct the malformed {named or 'values'} on {req} {svc}",
        "missing-field": f"fill in {named or 'the required fields'} on {req} {svc}",
        "free-form-tag": f"replace free-form owner values on {req} {svc} with the registry's canonical values",
        "copied-key": f"give {req} {svc} their own gateway key (the key is shared)",
        "environment-bleed": f"move {req} {svc} off keys reserved for production",
        "stale-price": f"re-price {req} {svc} at the price in effect",
        "cost-mismatch": f"recompute the cost of {req} {svc} from tokens and the price list",
        "unpriced-model": f"add a price for the model of {req} {svc}",
        "missing-cost": f"record the cost of {req} {svc}",
        "unlinked-retry": f"link {req} {svc} to their original request (retry_of)",
        "duplicate-request": f"drop the duplicate deliveries among {req} {svc}",
        "secret-in-log": f"remove raw credentials from {req} {svc}",
        "missing-on-behalf-of": f"set on_behalf_of on {req} {svc}",
        "untagged-eval-traffic": f"mark {req} {svc} as evaluation traffic",
    }
    return phrases.get(name, f"fix {name} on {req} {svc}")


def _rows_by_team(rows: Iterable[tuple]) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for r in rows:
        out.setdefault(r[0], []).append(r[1:])
    return out


def _key_owners_from_data(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    """Key id -> its one team when every request on it carries that same team, else None."""
    out = {}
    for key, teams, untagged, team in con.execute(
        "SELECT api_key_id, count(DISTINCT nullif(team_id, '')), count(*) FILTER (WHERE nullif(team_id, '') IS NULL),"
        " min(nullif(team_id, '')) FROM llm WHERE nullif(api_key_id, '') IS NOT NULL GROUP BY 1"
    ).fetchall():
        out[key] = team if teams == 1 and untagged == 0 else None
    return out


def score(result: "AuditResult", rules: Iterable[Any] | None = None) -> None:
    """Score every team and the data set; fill ``result.verdict``, the team entries, and report sections.

    ``rules`` are the rules that ran: a dimension none of whose rules ran is "not checked" and left out of
    the weighted mean (its share is unknown, not perfect). Call after ``result.reconciliation`` is set.
    """
    con = result.con
    assert con is not None
    policy = result.policy
    th = policy.thresholds
    ready_pct = float(th.get("attributable_pct", 95.0))
    showback_pct = float(th.get("showback_attributable_pct", DEFAULT_SHOWBACK_PCT))
    max_var = float(th.get("variance_pct", 2.0))
    variance = variance_of(result.reconciliation)
    prod_envs = [e.lower() for e in policy.production_environments]

    by_code = {f.code: f for f in result.findings}
    if rules is None:
        checked = {dimension_of(f.category, f.name) for f in result.findings}
    else:
        checked = {dimension_of(r.category, r.name) for r in rules}
    dim_rows = [(f.code, dimension_of(f.category, f.name)) for f in result.findings]
    dim_rows = [(c, d) for c, d in dim_rows if d]
    dim_values = ", ".join(f"({lit(c)}, {lit(d)})" for c, d in dim_rows)

    # Flagged cost per (team, dimension), and for the whole data set (team ALL).
    flagged: dict[tuple[str | None, str], Decimal] = {}
    if dim_values:
        with_d = ("WITH d AS (SELECT DISTINCT f._row, m.dim FROM finding_rows f"
                  f" JOIN (VALUES {dim_values}) m(code, dim) USING (code))")
        for team, dim, cost, whole in con.execute(
            f"{with_d} SELECT a.team, d.dim, sum(a.cost), grouping(a.team) = 1 FROM attribution a JOIN d USING (_row)"
            " GROUP BY GROUPING SETS ((a.team, d.dim), (d.dim))"
        ).fetchall():
            if whole:
                flagged[(ALL, dim)] = Decimal(cost)
            elif team is not None:
                flagged[(team, dim)] = Decimal(cost)

    def components(team: str | None, cost: Decimal, attributable: Decimal) -> dict[str, Decimal | None]:
        comp: dict[str, Decimal | None] = {"attribution": share(cost - attributable, cost)}
        for d in DIMENSIONS[1:-1]:
            comp[d.key] = share(flagged.get((team, d.key), ZERO), cost) if d.key in checked else None
        comp["reconciliation"] = reconciliation_share(variance)
        return comp

    # Fixes: (team, rule, service) groups, with the cost that is not attributable today, and the part of it
    # whose owner values are malformed. One pass over the flagged records; the cost per rule per team is their sum.
    # Details only for the rules whose fix names the fields from them (see _fix_phrase).
    worded = [c for c, f in by_code.items() if f.name in _DETAIL_RULES] or [""]
    # The first five distinct details per group, in sort order (deterministic), from a spillable GROUP BY: a
    # list of every distinct detail per group would be held in memory whole (millions of records flagged).
    details: dict[tuple, list[str]] = {}
    for team, code, service, detail in con.execute(
        "SELECT a.team, f.code, a.service, f.detail FROM attribution a JOIN finding_rows f USING (_row)"
        f" WHERE a.team IS NOT NULL AND f.detail IS NOT NULL AND f.code IN ({', '.join(lit(c) for c in worded)})"
        " GROUP BY 1, 2, 3, 4 QUALIFY row_number() OVER (PARTITION BY a.team, f.code, a.service ORDER BY f.detail) <= 5"
        " ORDER BY 1, 2, 3 NULLS FIRST, 4"
    ).fetchall():
        details.setdefault((team, code, service), []).append(detail)
    fix_rows = [(*r, details.get((r[0], r[1], r[2]), [])) for r in con.execute(
        "SELECT a.team, f.code, a.service, count(*), sum(a.cost),"
        " coalesce(sum(a.cost) FILTER (WHERE NOT a.attributable), 0),"
        " coalesce(sum(a.cost) FILTER (WHERE NOT a.attributable AND a.bad_owner), 0)"
        " FROM attribution a JOIN finding_rows f USING (_row) WHERE a.team IS NOT NULL GROUP BY 1, 2, 3"
        " ORDER BY 1, 2, 3 NULLS FIRST"
    ).fetchall()]
    fixes = _rows_by_team(fix_rows)
    rule_totals: dict[tuple[str, str], list] = {}
    for team, code, _service, n, cost, *_ in fix_rows:
        total = rule_totals.setdefault((team, code), [0, ZERO])
        total[0] += n
        total[1] += cost
    per_rule = _rows_by_team((team, code, n, c) for (team, code), (n, c) in
                             sorted(rule_totals.items(), key=lambda x: (x[0][0], -x[1][1], x[0][1])))

    # Production keys per team and who owns them.
    reg_owners = registry_key_owners(policy)
    data_owners = _key_owners_from_data(con) if not reg_owners else {}
    env_list = "[" + ", ".join(lit(e) for e in prod_envs) + "]"
    prod_keys = _rows_by_team(con.execute(
        "SELECT team, key_id, key_alias, count(*), sum(cost) FROM attribution"
        f" WHERE team IS NOT NULL AND list_contains({env_list}, env) AND coalesce(key_id, key_alias) IS NOT NULL"
        " GROUP BY 1, 2, 3 ORDER BY 1, 5 DESC, 2, 3"  # a total order: one key id may come with several aliases
    ).fetchall())

    def key_owner(key_id: str | None, alias: str | None) -> str | None:
        if reg_owners:
            return reg_owners.get(key_id or "") or reg_owners.get(alias or "")
        return data_owners.get(key_id or "")

    from auditor.rules.keyids import mask_key as _mask_key  # key ids are shown masked in every output

    # Records whose logged cost the contract rejects: what the team would be charged is not known.
    bad_costs = dict(con.execute(
        "SELECT team, count(*) FROM attribution WHERE bad_cost AND team IS NOT NULL GROUP BY 1 ORDER BY 1").fetchall())

    for t in result.attribution.teams:
        comp = components(t.team_id, t.cost, t.attributable_cost)
        s = confidence(comp)
        keys = []
        for key_id, alias, n, c in prod_keys.get(t.team_id, []):
            owner = key_owner(key_id, alias)
            keys.append({"key": _mask_key(key_id or alias) if (key_id or alias) else None, "records": int(n), "cost": Decimal(c), "owner": owner,
                         "named": owner == t.team_id})
        reasons = []
        if t.attributable_pct < ready_pct:
            reasons.append(f"attributable spend {t.attributable_pct:.1f}% is below {ready_pct:g}%")
        if variance is not None and abs(variance) >= max_var:
            reasons.append(f"reconciliation variance {abs(variance):.2f}% is not below {max_var:g}%")
        if bad_costs.get(t.team_id):
            n = int(bad_costs[t.team_id])
            reasons.append(f"{plural(n, 'request')} with an invalid cost (negative or not a number)")
        unnamed = [k for k in keys if not k["named"]]
        if unnamed:
            first = unnamed[0]
            who = (f"is owned by {first['owner']}" if first["owner"] else "has no single named owner")
            reasons.append(f"{plural(len(unnamed), 'production key')} without this team as "
                           f"named owner (e.g. {first['key']} {who})")
        if not reasons:
            tier = TIER_READY
        elif t.attributable_pct >= showback_pct:
            tier = TIER_SHOWBACK
        else:
            tier = TIER_NOT_READY
        top = []
        for code, service, n, cost, unattributable, malformed_owner, details in fixes.get(t.team_id, []):
            f = by_code.get(code)
            if f is None:
                continue
            # The spend a fix makes attributable: only a rule that blocks attribution (or a malformed owner
            # value) holds spend back; other fixes make the cost right, and show the spend at risk.
            gain = Decimal(unattributable) if f.blocks_attribution else (
                Decimal(malformed_owner) if f.name == "invalid-value" else ZERO)
            blocking = gain > 0
            phrase = _fix_phrase(f.name, int(n), service, [d for d in details if d])
            top.append({
                "code": code, "rule": f.name, "service_id": service, "records": int(n), "cost": Decimal(cost),
                "attributable_gain": gain, "kind": "attribution" if blocking else "accuracy",
                "text": f"{phrase}: {usd(gain)}" if blocking else f"{phrase}: {usd(Decimal(cost))} at risk",
            })
        top.sort(key=lambda x: (x["kind"] != "attribution", -(x["attributable_gain"] or x["cost"]), x["code"],
                                x["service_id"] or ""))
        t.extra.update({
            "score": s,
            "tier": tier,
            "tier_reasons": reasons,
            "components": {k: (None if v is None else float(v.quantize(Decimal("0.0001")))) for k, v in comp.items()},
            "rules": [{"code": code, "name": by_code[code].name, "count": int(n), "cost": Decimal(c)}
                      for code, n, c in per_rule.get(t.team_id, []) if code in by_code],
            "production_keys": keys,
            "top_fixes": top[:TOP_FIXES],
        })

    a = result.attribution
    comp_all = components(ALL, a.total_cost, a.attributable_cost)
    ds_score = confidence(comp_all)
    ready_teams = [t.team_id for t in a.teams if t.extra["tier"] == TIER_READY]
    show_teams = [t.team_id for t in a.teams if t.extra["tier"] == TIER_SHOWBACK]
    not_teams = [t.team_id for t in a.teams if t.extra["tier"] == TIER_NOT_READY]
    ready_cost = sum((t.cost for t in a.teams if t.extra["tier"] == TIER_READY), ZERO)
    ds_reasons = []
    if a.attributable_pct < ready_pct:
        ds_reasons.append(f"attributable spend {a.attributable_pct:.1f}% is below {ready_pct:g}%")
    if variance is not None and abs(variance) >= max_var:
        ds_reasons.append(f"reconciliation variance {abs(variance):.2f}% is not below {max_var:g}%")
    if show_teams or not_teams:
        ds_reasons.append(f"{len(show_teams) + len(not_teams)} of {len(a.teams)} teams are not chargeback-ready")
    if not ds_reasons and a.teams:
        ds_tier = TIER_READY
    elif a.attributable_pct >= showback_pct:
        ds_tier = TIER_SHOWBACK
    else:
        ds_tier = TIER_NOT_READY
    ready = ds_tier == TIER_READY
    result.verdict = {
        "ready": ready,
        "tier": ds_tier,
        "score": ds_score,
        "sentence": _sentence(result, ready, ready_teams, show_teams, not_teams, ready_cost, ds_reasons),
        "reasons": ds_reasons,
        "chargeback_teams": ready_teams,
        "showback_teams": show_teams,
        "not_ready_teams": not_teams,
        "chargeback_ready_cost": _money(ready_cost),
        "thresholds": {"attributable_pct": ready_pct, "variance_pct": max_var, "showback_attributable_pct": showback_pct},
    }
    result.summary_extra.update({"confidence_score": ds_score, "tier": ds_tier})
    result.sections["scoring"] = {
        "formula": "score = 100 x sum(weight x share) / sum(weight), over the dimensions that were checked",
        "dimensions": [{"key": d.key, "label": d.label, "weight": d.weight, "share": d.question,
                        "checked": (d.key == "attribution" or d.key in checked) if d.key != "reconciliation" else variance is not None,
                        "data_set_share": None if comp_all.get(d.key) is None else float(comp_all[d.key].quantize(Decimal("0.0001")))}
                       for d in DIMENSIONS],
        "tiers": {
            TIER_READY: f">= {ready_pct:g}% attributable spend, < {max_var:g}% reconciliation variance when an invoice is "
                        "given, and the team is the named owner of every production key it uses",
            TIER_SHOWBACK: f"not chargeback-ready, >= {showback_pct:g}% attributable spend: show the cost, do not charge it yet",
            TIER_NOT_READY: f"below {showback_pct:g}% attributable spend",
        },
    }
    result.sections["daily"] = daily(con)


def daily(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Spend per UTC day (records with no valid timestamp under day None)."""
    return [
        {"day": None if d is None else str(d), "records": int(n), "cost": Decimal(c), "attributable_cost": Decimal(ac)}
        for d, n, c, ac in con.execute(
            "SELECT day, count(*), sum(cost), coalesce(sum(cost) FILTER (WHERE attributable), 0)"
            " FROM attribution GROUP BY 1 ORDER BY 1 NULLS LAST"
        ).fetchall()
    ]


def _money(d: Decimal) -> str:
    return "0" if d == 0 else format(d.normalize(), "f")


def _names(teams: list[str], limit: int = 3) -> str:
    return ", ".join(teams[:limit]) + (f" and {len(teams) - limit} more" if len(teams) > limit else "")


def _sentence(result: "AuditResult", ready: bool, ready_teams: list[str], show: list[str], not_ready: list[str],
              ready_cost: Decimal, reasons: list[str]) -> str:
    a = result.attribution
    n = len(a.teams)
    if not a.records:
        return "Not ready for chargeback: the input holds no LLM request records."
    if ready:
        return (f"Ready for chargeback: {'the only team meets' if n == 1 else f'all {n} teams meet'} the thresholds and "
                f"{a.attributable_pct:.1f}% of {usd(a.total_cost)} is attributable.")
    if not n:
        return f"Not ready for chargeback: no request carries a team, so none of {usd(a.total_cost)} can be charged."
    blocker = max(a.unallocated_causes, key=lambda c: c["cost"], default=None)
    tail = (f"; the largest cause of unallocated spend is {blocker['name']} ({usd(blocker['cost'])})"
            if blocker and blocker["cost"] > 0 else "")
    others = []
    if show:
        others.append(f"{_names(show)} {'stays' if len(show) == 1 else 'stay'} on showback")
    if not_ready:
        others.append(f"{_names(not_ready)} {'is' if len(not_ready) == 1 else 'are'} not ready")
    biggest = next((t for t in a.teams if t.extra.get("tier") != TIER_READY), None)
    because = ""
    if biggest and biggest.extra.get("tier_reasons"):
        who = "" if len(show) + len(not_ready) == 1 else f"{biggest.team_id}: "
        because = f" ({who}{biggest.extra['tier_reasons'][0]})"
    if ready_teams and not others:  # every team is ready; the data set is not (spend with no team, variance)
        who = f"the only team, {ready_teams[0]}" if n == 1 else f"all {n} teams"
        return (f"Partly ready: {who} ({usd(ready_cost)} of {usd(a.total_cost)}){',' if n == 1 else ''} can move "
                f"to chargeback, but the data set is not ready because {'; '.join(reasons) or 'of its unallocated spend'}"
                f"{tail}.")
    if ready_teams:
        return (f"Partly ready: {len(ready_teams)} of {n} teams ({_names(ready_teams)}, {usd(ready_cost)} of "
                f"{usd(a.total_cost)}) can move to chargeback; {' and '.join(others)}{because}{tail}.")
    return (f"Not ready for chargeback: no team meets the thresholds yet; {' and '.join(others)}{because}{tail}.")
