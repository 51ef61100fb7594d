"""The data set's tier and the one-sentence verdict a finance lead reads first."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from auditor.fmt import usd

if TYPE_CHECKING:  # pragma: no cover
    from auditor.result import AuditResult
    from auditor.scoring.tiers import Thresholds

ZERO = Decimal(0)
TIER_READY, TIER_SHOWBACK, TIER_NOT_READY = "chargeback-ready", "showback", "not-ready"


def dataset_verdict(result: "AuditResult", th: "Thresholds", ds_score: float) -> dict[str, Any]:
    """The whole data set's tier, reasons and sentence, from the teams' tiers (call after every team is scored)."""
    a = result.attribution
    by_tier: dict[str, list] = {TIER_READY: [], TIER_SHOWBACK: [], TIER_NOT_READY: []}
    for t in a.teams:
        by_tier[t.extra["tier"]].append(t)
    ready_cost = sum((t.cost for t in by_tier[TIER_READY]), ZERO)
    reasons = th.reasons(a.attributable_pct, a.total_cost)
    not_ready = len(by_tier[TIER_SHOWBACK]) + len(by_tier[TIER_NOT_READY])
    if not_ready:
        reasons.append(f"{not_ready} of {len(a.teams)} teams are not chargeback-ready")
    tier = th.tier(reasons, a.attributable_pct, ready=bool(a.teams))
    ready = tier == TIER_READY
    labels = {k: [t.label for t in v] for k, v in by_tier.items()}
    return {
        "ready": ready,
        "tier": tier,
        "score": ds_score,
        "sentence": _sentence(result, ready, labels[TIER_READY], labels[TIER_SHOWBACK], labels[TIER_NOT_READY],
                              ready_cost, reasons),
        "reasons": reasons,
        "chargeback_teams": [t.team_id for t in by_tier[TIER_READY]],
        "showback_teams": [t.team_id for t in by_tier[TIER_SHOWBACK]],
        "not_ready_teams": [t.team_id for t in by_tier[TIER_NOT_READY]],
        "chargeback_ready_cost": _money(ready_cost),
        "thresholds": {"attributable_pct": th.ready_pct, "variance_pct": th.max_var, "showback_attributable_pct": th.showback_pct},
    }


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
        who = "" if len(show) + len(not_ready) == 1 else f"{biggest.label}: "
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