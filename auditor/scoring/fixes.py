"""What to fix first, per team: (rule, service) groups of flagged records, worded as an action, ranked by money."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

import duckdb

from auditor.contract.sql import lit
from auditor.findings import Finding
from auditor.fmt import plural, usd

ZERO = Decimal(0)
TOP_FIXES = 10  # per team in the JSON; the report shows the first 3
_FIELD_NOUN = {"team_id": "a team", "service_id": "a service", "cost_center": "a cost center", "environment": "an environment"}


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


def rows_by_team(rows: Iterable[tuple]) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for r in rows:
        out.setdefault(r[0], []).append(r[1:])
    return out


def counted(alias: str, copy_codes: list[str], code_col: str = "f.code") -> str:
    """SQL: the attribution row ``alias`` counts for a finding: a request, or a copy under the rule that flags copies
    (the copies are that rule's $ at risk, and in no other figure)."""
    if not copy_codes:
        return f"NOT {alias}.is_copy"
    return f"(NOT {alias}.is_copy OR {code_col} IN ({', '.join(lit(c) for c in copy_codes)}))"


def fix_groups(con: duckdb.DuckDBPyConnection, by_code: dict[str, Finding], copy_codes: list[str]
               ) -> tuple[dict[str, list[tuple]], dict[str, list[tuple]]]:
    """Per team: the (code, service, records, cost, unattributable cost, malformed-owner cost, details) groups,
    and the (code, records, cost) totals per rule, most costly first."""
    # Details only for the rules whose fix names the fields from them (see _fix_phrase). The first five
    # distinct details per group, in sort order (deterministic), from a spillable GROUP BY: a list of every
    # distinct detail per group would be held in memory whole (millions of records flagged).
    worded = [c for c, f in by_code.items() if f.name in _DETAIL_RULES] or [""]
    details: dict[tuple, list[str]] = {}
    for team, code, service, detail in con.execute(
        "SELECT a.team, f.code, a.service, f.detail FROM attribution a JOIN finding_rows f USING (_row)"
        f" WHERE a.team IS NOT NULL AND f.detail IS NOT NULL AND f.code IN ({', '.join(lit(c) for c in worded)})"
        f" AND {counted('a', copy_codes)}"
        " GROUP BY 1, 2, 3, 4 QUALIFY row_number() OVER (PARTITION BY a.team, f.code, a.service ORDER BY f.detail) <= 5"
        " ORDER BY 1, 2, 3 NULLS FIRST, 4"
    ).fetchall():
        details.setdefault((team, code, service), []).append(detail)
    fix_rows = [(*r, details.get((r[0], r[1], r[2]), [])) for r in con.execute(
        "SELECT a.team, f.code, a.service, count(*), sum(a.cost),"
        " coalesce(sum(a.cost) FILTER (WHERE NOT a.attributable), 0),"
        " coalesce(sum(a.cost) FILTER (WHERE NOT a.attributable AND a.bad_owner), 0)"
        f" FROM attribution a JOIN finding_rows f USING (_row) WHERE a.team IS NOT NULL AND {counted('a', copy_codes)}"
        " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 NULLS FIRST"
    ).fetchall()]
    rule_totals: dict[tuple[str, str], list] = {}
    for team, code, _service, n, cost, *_ in fix_rows:
        total = rule_totals.setdefault((team, code), [0, ZERO])
        total[0] += n
        total[1] += cost
    per_rule = rows_by_team((team, code, n, c) for (team, code), (n, c) in
                            sorted(rule_totals.items(), key=lambda x: (x[0][0], -x[1][1], x[0][1])))
    return rows_by_team(fix_rows), per_rule


def top_fixes(groups: list[tuple], by_code: dict[str, Finding]) -> list[dict[str, Any]]:
    """A team's fixes, by the money each recovers (see ``money``)."""
    top = []
    for code, service, n, cost, unattributable, malformed_owner, details in groups:
        f = by_code.get(code)
        if f is None:
            continue
        # The spend a fix makes attributable: only a rule that blocks attribution (or a malformed owner
        # value) holds spend back; other fixes make the cost right, and show the spend at risk.
        gain = Decimal(unattributable) if f.blocks_attribution else (
            Decimal(malformed_owner) if f.name == "invalid-value" else ZERO)
        blocking, cost = gain > 0, Decimal(cost)
        phrase = _fix_phrase(f.name, int(n), service, [d for d in details if d])
        # The money a fix recovers, and what it is ranked by: the larger of the spend it makes attributable and
        # the spend at risk it corrects; the text names both when they differ, so the order can be read off it.
        money = max(gain, cost)
        if not blocking:
            text = f"{phrase}: {usd(cost)} at risk"
        elif gain >= cost:
            text = f"{phrase}: {usd(gain)} made attributable"
        else:
            text = f"{phrase}: {usd(cost)} at risk, of which {usd(gain)} not attributable today"
        top.append({
            "code": code, "rule": f.name, "service_id": service, "records": int(n), "cost": cost,
            "attributable_gain": gain, "money": money, "kind": "attribution" if blocking else "accuracy", "text": text,
        })
    top.sort(key=lambda x: (-x["money"], x["code"], x["service_id"] or ""))
    return top[:TOP_FIXES]
