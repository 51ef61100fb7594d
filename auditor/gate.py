"""Does the audit pass? The gate compares the result with the policy's [gate] table and the
command-line overrides. Exit codes: 0 passes, 1 fails, 2 unusable input or usage error."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from auditor.findings import SEVERITY_RANK, Finding
from auditor.fmt import plural, usd, variance_side


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
    _check_ranges(settings)
    return settings


_RANGES = {"min_attributable_pct": (0, 100), "max_unattributed_cost": (0, None), "max_variance_pct": (0, None)}


def _check_ranges(settings: dict[str, Any]) -> None:
    """A limit out of range, or NaN (which TOML allows and every comparison ignores, so it would turn the gate off
    silently), is a usage error, whether it came from the policy, the CLI or the Python API."""
    import math

    from auditor.policy import PolicyError

    for key, (lo, hi) in _RANGES.items():
        v = settings.get(key)
        if v is None:
            continue
        ok = isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) and math.isfinite(float(v))
        if not ok or float(v) < lo or (hi is not None and float(v) > hi):
            want = f"{lo}..{hi}" if hi is not None else f"a number >= {lo}"
            raise PolicyError(f"gate {key} = {v!r}: must be {want}")
    if settings.get("fail_on") not in FAIL_ON:
        raise PolicyError(f"gate fail_on = {settings.get('fail_on')!r}: must be one of {', '.join(FAIL_ON)}")


def _pct_text(d: Decimal) -> str:
    return f"{d:.2f}%"


def _limit_text(d: Decimal) -> str:
    return f"{float(d):g}%"


def _exact(d: Decimal, money: bool) -> str:
    text = "0" if d == 0 else format(d.normalize(), "f")
    return ("-$" + text[1:] if text.startswith("-") else "$" + text) if money else text + "%"


def _apart(actual: Decimal, limit: Decimal, fmt, limit_fmt=None) -> tuple[str, str]:
    """Both figures as ``fmt`` shows them, or exactly when rounding would make them read the same
    (never "$1.00 is above the maximum $1.00")."""
    a, b = fmt(actual), (limit_fmt or fmt)(limit)
    if a == b or fmt(actual) == fmt(limit):
        money = fmt is usd
        return _exact(actual, money), _exact(limit, money)
    return a, b


def evaluate(findings: list[Finding], *, attributable_pct: float, unattributed_cost: Decimal,
             variance_pct: float | None, settings: dict[str, Any], baseline: Any = None,
             total_cost: Decimal | None = None, records: int = 0) -> GateResult:
    """``baseline``: an ``auditor.baseline.Comparison``; findings it covers (known, not grown) do not fail.
    ``total_cost`` and ``records``: LLM requests that carry no cost at all fail the gate (nothing to charge)."""
    reasons = []
    failing: list[Finding] = []
    fail_on = settings["fail_on"]
    if fail_on != "never":
        floor = SEVERITY_RANK[fail_on]
        failing = [f for f in findings if f.rank >= floor and not (baseline is not None and baseline.covers(f))]
        if failing:
            reasons.append(
                f"{plural(len(failing), ('new or grown ' if baseline is not None else '') + 'finding')} at severity {fail_on} or above: "
                + ", ".join(f"{f.code} {f.name}" + (f" ({baseline.describe(f)})" if baseline is not None else "")
                            for f in failing[:5])
                + ("…" if len(failing) > 5 else "")
            )
    if total_cost is not None and total_cost == 0 and records:
        # Zero is not 100%: requests that carry no cost cannot be charged back, whatever the thresholds say.
        reasons.append(f"the {records:,} LLM request{' carries' if records == 1 else 's carry'} no cost ($0 in total): nothing can be charged back")
    lo = settings.get("min_attributable_pct")
    if lo is not None and attributable_pct < float(lo):
        a, b = _apart(Decimal(str(attributable_pct)), Decimal(str(lo)), _pct_text, _limit_text)
        reasons.append(f"attributable spend {a} is below the minimum {b}")
    hi = settings.get("max_unattributed_cost")
    if hi is not None and unattributed_cost > Decimal(str(hi)):
        a, b = _apart(Decimal(unattributed_cost), Decimal(str(hi)), usd)
        reasons.append(f"unattributed cost {a} is above the maximum {b}")
    mv = settings.get("max_variance_pct")
    if mv is not None and variance_pct is not None and abs(variance_pct) > float(mv):
        a, b = _apart(Decimal(str(variance_pct)), Decimal(str(mv)), _pct_text, _limit_text)
        reasons.append(f"reconciliation variance {a} ({variance_side(variance_pct)}) is above the maximum {b}")
    return GateResult(not reasons, reasons, settings, [f.code for f in failing],
                      baseline.to_dict() if baseline is not None else None)
