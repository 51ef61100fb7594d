"""Invoice-only credits and charges, allocated to teams by their list cost (docs/reconciliation.md)."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_EVEN
from typing import Any

from auditor.reconcile.causes import UNASSIGNED
from auditor.reconcile.lines import InvoiceLine
from auditor.reconcile.ledger import LedgerDay
from auditor.reconcile.rows import CENT, ZERO, pct
from auditor.spend import team_label

ALLOCATION_FORMULA = (
    "credit_to_team = credit x team_list_cost / total_list_cost, where list cost is the de-duplicated ledger cost "
    "(the gateway's list-price cost) of the credit's provider inside the credit's charge period for FOCUS rows, and in "
    "the whole reconciled period for credit lines of the OpenAI / Anthropic cost APIs (their day is the day the credit "
    "was posted, not the spend it applies to), or when the charge period has no ledger spend; spend without an attributable team goes to the unallocated bucket; "
    "each share is rounded to the cent (half-even) and the rounding difference goes to the largest share, so the "
    "shares add up to the credit exactly. Credits are shown separately and never change a request's cost."
)


def _base(l: InvoiceLine, in_scope: dict[tuple, LedgerDay]) -> tuple[list[LedgerDay], str]:
    s, e = l.start.date(), (l.end - timedelta(microseconds=1)).date() + timedelta(days=1)
    # FOCUS rows carry the period a credit applies to; the cost APIs only the day it was posted.
    base = [d for d in in_scope.values() if d.provider == l.provider and s <= d.day < e] if l.format == "focus" else []
    if base:
        return base, "provider and charge period"
    base = [d for d in in_scope.values() if d.provider == l.provider]
    if base:
        return base, "provider, whole reconciled period"
    return list(in_scope.values()), "whole ledger"


def allocate(other: list[InvoiceLine], in_scope: dict[tuple, LedgerDay], team_names: dict[str, str] | None = None) -> dict[str, Any]:
    names = team_names or {}
    lines_out, per_team = [], {}
    for l in other:
        s, e = l.start.date(), (l.end - timedelta(microseconds=1)).date() + timedelta(days=1)
        base, scope = _base(l, in_scope)
        teams: dict[str, Any] = {}
        for d in base:
            for t, c in d.teams.items():
                teams[t or UNASSIGNED] = teams.get(t or UNASSIGNED, ZERO) + c
        total = sum(teams.values(), ZERO)
        shares = []
        if total:
            exact = {t: l.amount * c / total for t, c in teams.items()}
            rounded = {t: v.quantize(CENT, rounding=ROUND_HALF_EVEN) for t, v in exact.items()}
            diff = l.amount - sum(rounded.values(), ZERO)
            if diff:
                top = max(exact, key=lambda t: (abs(exact[t]), t))
                rounded[top] += diff
            for t in sorted(teams, key=lambda t: (-teams[t], t)):
                shares.append({"team_id": t, "name": names.get(t), "label": team_label(t, names.get(t)),
                               "list_cost": teams[t], "share_pct": pct(teams[t], total), "allocated": rounded[t]})
                per_team[t] = per_team.get(t, ZERO) + rounded[t]
        lines_out.append({"source": l.source, "ref": l.ref, "label": l.label, "category": l.category,
                          "provider": l.provider, "period": f"{s.isoformat()}..{e.isoformat()}", "amount": l.amount,
                          "basis": scope, "allocation": shares})
    return {
        "total": sum((l.amount for l in other), ZERO),
        "formula": ALLOCATION_FORMULA,
        "lines": lines_out,
        "by_team": [{"team_id": t, "allocated": v} for t, v in sorted(per_team.items(), key=lambda kv: (kv[1], kv[0]))],
    }
