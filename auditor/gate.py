"""Does the audit pass? The gate compares the result with the policy's [gate] table and the
command-line overrides. Exit codes: 0 passes, 1 fails, 2 unusable input or usage error."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from auditor.findings import SEVERITY_RANK, Finding

FAIL_ON = ("error", "warning", "info", "never")


@dataclass
class GateResult:
    passed: bool
    reasons: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    failing: list[str] = field(default_factory=list)  # codes of the findings that fail the gate
    baseline: dict[str, Any] | None = None  # the comparison with --baseline (auditor.baseline)

    @property
    def line(self) -> str:
        """``PASS``, or ``FAIL: why`` (the last line of the text reports, and what the CLI says on stderr)."""
        return ("PASS" if self.passed else "FAIL") + (": " + "; ".join(self.reasons) if self.reasons else "")


def gate_settings(policy_gate: dict[str, Any], overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    settings = {"fail_on": "error", "min_attributable_pct": None, "max_unattributed_cost": None, "max_variance_pct": None,
                "baseline": None}
    settings.update({k: v for k, v in policy_gate.items() if k in settings})
    settings.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return settings


def evaluate(findings: list[Finding], *, attributable_pct: float, unattributed_cost: Decimal,
             variance_pct: float | None, settings: dict[str, Any], baseline: Any = None) -> GateResult:
    """``baseline``: an ``auditor.baseline.Comparison``; findings it covers (known, not grown) do not fail."""
    reasons = []
    failing: list[Finding] = []
    fail_on = settings["fail_on"]
    if fail_on != "never":
        floor = SEVERITY_RANK[fail_on]
        failing = [f for f in findings if f.rank >= floor and not (baseline is not None and baseline.covers(f))]
        if failing:
            reasons.append(
                f"{len(failing)} {'new or grown ' if baseline is not None else ''}finding(s) at severity {fail_on} or above: "
                + ", ".join(f"{f.code} {f.name}" + (f" ({baseline.describe(f)})" if baseline is not None else "")
                            for f in failing[:5])
                + ("…" if len(failing) > 5 else "")
            )
    lo = settings.get("min_attributable_pct")
    if lo is not None and attributable_pct < float(lo):
        reasons.append(f"attributable spend {attributable_pct:.2f}% is below the minimum {float(lo):g}%")
    hi = settings.get("max_unattributed_cost")
    if hi is not None and unattributed_cost > Decimal(str(hi)):
        reasons.append(f"unattributed cost ${unattributed_cost:,.2f} is above the maximum ${Decimal(str(hi)):,.2f}")
    mv = settings.get("max_variance_pct")
    if mv is not None and variance_pct is not None and abs(variance_pct) > float(mv):
        reasons.append(f"reconciliation variance {variance_pct:.2f}% is above the maximum {float(mv):g}%")
    return GateResult(not reasons, reasons, settings, [f.code for f in failing],
                      baseline.to_dict() if baseline is not None else None)
