"""A finding: one rule's verdict over the data set, with the money it puts at risk."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

SEVERITY_RANK = {"error": 3, "warning": 2, "info": 1}


@dataclass
class Finding:
    code: str
    name: str
    category: str
    severity: str
    count: int  # records flagged
    cost: Decimal  # the cost those records carry: the $ at risk
    message: str
    sample_request_ids: list[str] = field(default_factory=list)
    teams: dict[str, dict[str, Any]] = field(default_factory=dict)  # team_id ("" = none) -> {count, cost}
    extra: dict[str, Any] = field(default_factory=dict)
    blocks_attribution: bool = False

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self.severity]
