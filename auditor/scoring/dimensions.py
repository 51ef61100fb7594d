"""The confidence score's dimensions, and the shares and weighted mean it is made of (docs/scoring.md)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

ZERO = Decimal(0)
ONE = Decimal(1)
VARIANCE_ZERO_AT = Decimal(10)  # the reconciliation share reaches 0 at 10 percentage points of variance


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

