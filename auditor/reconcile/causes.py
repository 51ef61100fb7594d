"""The decomposition's components grouped into causes across rows: amount, days, models, records, the rule
findings each rests on, its evidence, and what it does to a team's bill if chargeback used the ledger as
it is. Signs are invoice minus ledger: + means the invoice is higher (teams would be undercharged),
- means the ledger is higher (teams would be overcharged)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from auditor.fmt import plural
from auditor.reconcile.lines import InvoiceLine
from auditor.reconcile.rows import ZERO, Row, pct, signed, usd
from auditor.spend import team_label

UNASSIGNED = "(unallocated)"

CAUSE_TITLES = {
    "duplicates": "Duplicate records",
    "missing_cost": "Records at $0 or unpriced",
    "stale_price": "Stale prices",
    "cost_mismatch": "Cost differs from the published price",
    "cached_token_pricing": "Cached-token pricing",
    "batch_discount": "Batch discount not in the ledger",
    "unlogged_traffic": "Unlogged traffic",
    "price_change": "Price change not applied",
    "charges_not_logged": "Non-token charges the gateway does not log",
    "invoice_credits": "Discounts and credits on the invoice only",
    "invoice_only_charges": "Charges on the invoice only (tax, adjustments, purchases)",
    "rounding": "Rounding",
    "unexplained": "Unexplained residual",
}
# The order of the decomposition table: the ledger's own errors, then what it lacks, then the invoice's own.
ORDER = tuple(CAUSE_TITLES)

# The rule findings each cause rests on.
CAUSE_RULES = {
    "duplicates": ["INT001"],
    "missing_cost": ["PRC001", "PRC002"],
    "stale_price": ["PRC003"],
    "cost_mismatch": ["PRC004"],
    "cached_token_pricing": ["PRC004"],
    "batch_discount": ["PRC004"],
}

EXPLAINED_FORMULA = ("explained_pct = sum of |component| over the components other than the unexplained residual / "
                     "sum of |component| over all components x 100 (the share of the movement between invoice and "
                     "ledger that evidence accounts for); rounding counts as explained")


# What each cause is called when it is the subject of a team's sentence ("stale prices overcharge Search (search)
# by $0.08"), and whether the verb is plural. Rounding and the residual rest on no record, so they have no team.
_SUBJECT = {
    "unlogged_traffic": ("unlogged traffic", False),
    "invoice_credits": ("credits on the invoice only", True),
    "invoice_only_charges": ("charges on the invoice only", True),
    "duplicates": ("duplicate records", True),
    "missing_cost": ("records at $0 or unpriced", True),
    "stale_price": ("stale prices", True),
    "cost_mismatch": ("costs that differ from the published price", True),
    "cached_token_pricing": ("cached tokens at the full rate", True),
    "batch_discount": ("batch requests at the full rate", True),
    "price_change": ("the price change not applied", False),
}


# Causes without records of their own reach a team through a share, and the report says which.
_SHARE_BASIS = {
    "price_change": "each by its share of the row's cost",
    "unlogged_traffic": "an estimate, each by its share of the logged traffic around the gap",
    "invoice_credits": "each by its share of list cost",
    "invoice_only_charges": "each by its share of list cost",
}


def team_sentence(code: str, label: str, amount: Decimal) -> str:
    """``stale prices overcharge Search (search) by $0.08``: what the cause does to one team's bill if chargeback
    used the ledger as logged (a negative component means the ledger, and so the team's charge, is too high)."""
    subject, many = _SUBJECT.get(code, (CAUSE_TITLES[code].lower(), False))
    verb = ("overcharge" if amount < 0 else "undercharge") + ("" if many else "s")
    return f"{subject} {verb} {label} by {usd(abs(amount))}"


def effect(amount: Decimal) -> str:
    """What a component does to the teams' bills if chargeback used the ledger as it is."""
    if amount > 0:
        return f"the invoice is {usd(amount)} higher: charged back as logged, teams pay {usd(amount)} less than the provider bills (undercharged)"
    if amount < 0:
        return f"the ledger is {usd(-amount)} higher: charged back as logged, teams pay {usd(-amount)} more than the provider bills (overcharged)"
    return "no effect on the bill"


def _team_effect(amount: Decimal) -> str:
    return f"undercharged by {usd(amount)}" if amount > 0 else f"overcharged by {usd(-amount)}" if amount < 0 else "unchanged"


def _span(days: list[str]) -> str:
    if not days:
        return "the whole period"
    return days[0] if len(days) == 1 else f"{days[0]}..{days[-1]} ({len(days)} days)"


def build(rows: list[Row], other: list[InvoiceLine], rule_names: dict[str, str],
          team_names: dict[str, str] | None = None, allocation: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The causes across rows; ``allocation`` is credits.allocate's result, whose per-line team shares are the
    per-team effect of the invoice-only lines."""
    causes: dict[str, dict[str, Any]] = {}
    for r in rows:
        for code in ORDER:
            if code not in r.comp or not r.comp[code]:
                continue
            c = causes.setdefault(code, _new(code))
            amount = r.comp[code]
            c["amount"] += amount
            c["records"] += r.comp_records.get(code, 0)
            c["rows"].append({"day": (r.day or r.start).isoformat(), "period": None if r.day else f"{r.start}..{r.end}",
                              "provider": r.provider, "model": r.model, "amount": amount, "variance": r.variance})
            c["evidence"] += r.evid.get(code, [])
            for t, v in r.team_effect.get(code, {}).items():
                c["_teams"][t or UNASSIGNED] = c["_teams"].get(t or UNASSIGNED, ZERO) + v
    credits = [l for l in other if l.amount < 0 or l.category == "credit"]
    charges = [l for l in other if l not in credits]
    for code, ls in (("invoice_credits", credits), ("invoice_only_charges", charges)):
        if ls:
            c = causes.setdefault(code, _new(code))
            c["amount"] = sum((l.amount for l in ls), ZERO)
            c["evidence"].append(f"{plural(len(ls), 'line')} {'exists' if len(ls) == 1 else 'exist'} only on the invoice, {usd(c['amount'])}: "
                                 + "; ".join(f"{l.label} {usd(l.amount)}" for l in ls[:5]) + ("…" if len(ls) > 5 else "")
                                 + "; allocated to teams separately (see credits)")
            _credit_teams(c, ls, allocation)
    out = [_finish(c, rule_names, team_names or {}) for c in causes.values()]
    out.sort(key=lambda c: (c["code"] in ("rounding", "unexplained"), c["code"] == "unexplained", -abs(c["amount"]), c["code"]))
    return out


def _credit_teams(c: dict[str, Any], lines: list[InvoiceLine], allocation: dict[str, Any] | None) -> None:
    keys = {(l.source, l.ref, l.label, l.amount) for l in lines}
    for line in (allocation or {}).get("lines", []):
        if (line["source"], line["ref"], line["label"], line["amount"]) not in keys:
            continue
        shares = line["allocation"] or [{"team_id": UNASSIGNED, "allocated": line["amount"]}]
        for s in shares:
            c["_teams"][s["team_id"]] = c["_teams"].get(s["team_id"], ZERO) + s["allocated"]


def _new(code: str) -> dict[str, Any]:
    return {"code": code, "title": CAUSE_TITLES[code], "amount": ZERO, "records": 0, "rows": [], "evidence": [], "_teams": {}}


def _finish(c: dict[str, Any], rule_names: dict[str, str], team_names: dict[str, str]) -> dict[str, Any]:
    code, amount = c["code"], c["amount"]
    days = sorted({w["day"] for w in c["rows"]})
    models = sorted({w["model"] for w in c["rows"]})
    rules = CAUSE_RULES.get(code, [])
    head = (f"{c['title'].lower()}: {signed(amount)}"
            + (f", {plural(c['records'], 'request')}" if c["records"] else "")
            + (f" of {', '.join(models[:4])}{' …' if len(models) > 4 else ''}" if models else "")
            + (f" on {_span(days)}" if c["rows"] else "")
            + (f", see {', '.join(rules)}" if rules else ""))
    teams = sorted(c.pop("_teams").items(), key=lambda kv: (-abs(kv[1]), kv[0]))
    c.update({
        "direction": "invoice_higher" if amount > 0 else "ledger_higher" if amount < 0 else "even",
        "effect": effect(amount),
        "summary": head,
        "rules": rules,
        "findings": [{"code": k, "name": rule_names.get(k, "")} for k in rules],
        "days": days,
        "models": models,
        "teams": [_team(code, t, team_names.get(t), v) for t, v in teams if v],
        "team_basis": _SHARE_BASIS.get(code) if teams else None,
    })
    c["evidence"] = [e for e in c["evidence"] if e]
    if code == "duplicates":
        c["removed_cost"] = -amount
    return c


def _team(code: str, team: str, name: str | None, amount: Decimal) -> dict[str, Any]:
    label = "the unallocated bucket" if team == UNASSIGNED else team_label(team, name)
    return {"team_id": team, "name": name, "amount": amount, "effect": _team_effect(amount),
            "sentence": team_sentence(code, label, amount)}


def decomposition(rows: list[Row], causes: list[dict[str, Any]], invoice_total: Decimal, ledger_total: Decimal,
                  dup_total: Decimal) -> dict[str, Any]:
    """The table whose lines add up: ledger as logged + every component = invoice, exactly."""
    variance = invoice_total - ledger_total - dup_total
    comps = sorted(causes, key=lambda c: ORDER.index(c["code"]))
    total = sum((c["amount"] for c in comps), ZERO)
    if total != variance:  # an invariant, not a tolerance: the residual is computed to make it hold
        raise AssertionError(f"reconciliation components add up to {total}, not the variance {variance}")
    residual = next((c["amount"] for c in comps if c["code"] == "unexplained"), ZERO)
    movement = sum((abs(c["amount"]) for c in comps), ZERO)
    explained_abs = movement - abs(residual)
    ledger_as_logged = ledger_total + dup_total
    side = ("the invoice is higher than the ledger as logged" if variance > 0 else
            "the ledger as logged is higher than the invoice" if variance < 0 else "the invoice and the ledger as logged agree")
    return {
        "ledger_as_logged": ledger_as_logged,
        "invoice_total": invoice_total,
        "variance": variance,
        "components": [{"code": c["code"], "title": c["title"], "amount": c["amount"], "rows": len(c["rows"]),
                        "rules": c["rules"], "effect": c["effect"]} for c in comps],
        "explained": variance - residual,
        "unexplained": residual,
        "explained_pct": pct(explained_abs, movement) if movement else 100.0,
        "explained_formula": EXPLAINED_FORMULA,
        "direction": "invoice_higher" if variance > 0 else "ledger_higher" if variance < 0 else "even",
        "statement": (f"{side[0].upper()}{side[1:]}" + (f" by {usd(abs(variance))}" if variance else "")
                      + f" ({usd(invoice_total)} invoice, {usd(ledger_as_logged)} ledger as logged"
                      + (f", {usd(ledger_total)} after removing duplicates" if dup_total else "") + "). "
                      + (effect(variance)[0].upper() + effect(variance)[1:] + ". " if variance else "")
                      + (f"The causes found account for {signed(variance - residual)} and {signed(residual)} is unexplained, "
                         f"together the {signed(variance)} ({pct(explained_abs, movement)}% of the movement explained)." if residual
                         else "Evidence explains all of it; nothing is unexplained.")),
        "rows_checked": len(rows),
    }
