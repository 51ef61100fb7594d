"""Who pays what: the attribution of spend to teams, as the scoring computes it and the result carries it.

Apart from :mod:`auditor.scoring` so that the result can hold it without importing the scoring (which
reads the result): data flows scoring -> result, never back.

Every money figure here counts each request once: the copies of a request (auditor/copies.py) are left
out and carried as ``copies`` / ``copies_cost`` of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)


def pct(part: Decimal, whole: Decimal) -> float:
    """Percentage to 2 decimals; 0 when there is nothing to attribute (zero is never 100%: reporters show n/a)."""
    if not whole:
        return 0.0
    return float((Decimal(100) * part / whole).quantize(Decimal("0.01")))


def team_label(team_id: str, name: str | None) -> str:
    """``name (id)`` when the team has a display name other than its id, else the id."""
    return f"{name} ({team_id})" if name and name != team_id else team_id


@dataclass
class TeamScore:
    team_id: str
    records: int  # requests, each counted once (copies of a request are not in it)
    cost: Decimal
    attributable_cost: Decimal
    extra: dict[str, Any] = field(default_factory=dict)
    name: str | None = None  # display name: the registry's, else the one the source logs with the id
    # Both views of requests made on behalf of another team (auditor/scoring/behalf.py); ``cost`` is the
    # policy's view. owner view = its own records; caller view = owner view - served_for_others + caused_via_others.
    owner_view_cost: Decimal = ZERO
    caller_view_cost: Decimal = ZERO
    served_for_others: Decimal = ZERO  # its records made for another team's agent
    caused_via_others: Decimal = ZERO  # other teams' records made for this team's agents

    @property
    def attributable_pct(self) -> float:
        return pct(self.attributable_cost, self.cost)

    @property
    def label(self) -> str:
        return team_label(self.team_id, self.name)


def view_fields(t: TeamScore) -> dict[str, Decimal]:
    """A team's figures in both views, as the JSON report writes them (teams[], sections.on_behalf_of)."""
    return {"owner_view_cost": t.owner_view_cost, "caller_view_cost": t.caller_view_cost,
            "served_for_others_cost": t.served_for_others, "caused_via_others_cost": t.caused_via_others}


@dataclass
class OnBehalf:
    """Requests made by one team's tool or model for another team's agent, and which view the team figures use.
    ``records``/``cost``: those requests (each once), the money that moves between the two views; ``logged_*``:
    the part whose on_behalf_of says so (the rest is implied by the trace); ``pairs``: per (caller, team) the
    same; ``other_view_teams``: teams charged only in the other view (no spend in this one), with both views."""

    view: str = "owner"
    records: int = 0
    cost: Decimal = ZERO
    logged_records: int = 0
    logged_cost: Decimal = ZERO
    pairs: list[dict[str, Any]] = field(default_factory=list)
    other_view_teams: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Attribution:
    """Money over the de-duplicated LLM records: each request once. ``records`` counts every accepted LLM
    record (copies too: records read = accepted + rejected); ``copies``/``copies_cost`` are the extra
    deliveries of a request that are left out of every money figure."""

    total_cost: Decimal
    attributable_cost: Decimal
    records: int
    teams: list[TeamScore]
    unallocated_records: int
    unallocated_causes: list[dict[str, Any]]
    copies: int = 0
    copies_cost: Decimal = ZERO
    on_behalf: OnBehalf = field(default_factory=OnBehalf)

    @property
    def unattributed_cost(self) -> Decimal:
        return self.total_cost - self.attributable_cost

    @property
    def attributable_pct(self) -> float:
        return pct(self.attributable_cost, self.total_cost)

    @property
    def requests(self) -> int:
        """LLM requests, each counted once (the records less their copies)."""
        return self.records - self.copies

    @property
    def logged_cost(self) -> Decimal:
        """The cost as logged, every copy included: what a naive sum of the logs gives."""
        return self.total_cost + self.copies_cost
