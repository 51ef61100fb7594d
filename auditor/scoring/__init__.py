"""Who can be charged: attributable spend, a confidence score and a readiness tier per team and for
the whole data set, the top fixes ranked by money, and the unallocated bucket with its causes.

A record's cost is *attributable* when its ownership fields (team, service, cost center,
environment) are all present and valid by the contract, its cost is a valid amount (not negative,
a number), and no rule that blocks attribution (e.g. missing-owner, free-form-tag) flagged it.
Everything else is the unallocated bucket. A negative cost counts as 0 in every total and share.

Which records are a team's: auditor/scoring/attribution.py. Each request is counted once in every money
figure: the copies of a request (auditor/copies.py) are left out, and reported on a line of their own.

The confidence score (0-100) is a weighted mean of clean-spend shares, one per dimension
(see :data:`DIMENSIONS` and docs/scoring.md)::

    score = 100 x sum(weight_d x clean_d) / sum(weight_d)      over the dimensions that were checked

    clean_attribution = attributable cost / cost
    clean_d           = 1 - (cost of the records flagged by a rule of dimension d) / cost
    clean_reconciliation = max(0, 1 - |variance %| / 10)      only when an invoice is given

Every share only grows when a defect is fixed, so the score is monotone (tests/test_scoring.py).
The tier follows the seed's thresholds, read from ``policy.thresholds``.

Modules: ``attribution`` (who is charged what), ``dimensions`` (the score's parts), ``fixes`` (what to fix
first), ``tiers`` (score and tier per team), ``verdict`` (the data set's tier and sentence).
"""

from auditor.scoring.attribution import attributable_view, attribute, daily, registry_key_owners, team_names
from auditor.scoring.dimensions import (
    DIMENSIONS,
    VARIANCE_ZERO_AT,
    WEIGHTS,
    Dimension,
    confidence,
    dimension_of,
    reconciliation_share,
    share,
    variance_of,
)
from auditor.scoring.fixes import TOP_FIXES
from auditor.scoring.tiers import ALL, DEFAULT_SHOWBACK_PCT, score
from auditor.scoring.verdict import TIER_NOT_READY, TIER_READY, TIER_SHOWBACK
from auditor.spend import Attribution, TeamScore, pct, team_label

__all__ = [
    "ALL", "DEFAULT_SHOWBACK_PCT", "DIMENSIONS", "TIER_NOT_READY", "TIER_READY", "TIER_SHOWBACK", "TOP_FIXES",
    "VARIANCE_ZERO_AT", "WEIGHTS", "Attribution", "Dimension", "TeamScore", "attributable_view", "attribute",
    "confidence", "daily", "dimension_of", "pct", "reconciliation_share", "registry_key_owners", "score", "share",
    "team_label", "team_names", "variance_of",
]
