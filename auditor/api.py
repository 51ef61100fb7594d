"""The Python API: ``audit(paths, policy) -> AuditResult``. The CLI is a thin layer over this.

Stages, in one direction: loaders -> record table -> rules -> findings -> scoring -> result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

import pyarrow as pa

from auditor.baseline import apply as apply_baseline
from auditor.gate import evaluate, gate_settings
from auditor.loaders import InputError, Loaded, load
from auditor.policy import Policy, load_policy
from auditor.result import AuditResult
from auditor.rules import check_config, run_rules, select_rules
from auditor.scoring import attribute, score


def load_records(paths: Iterable[str | Path], policy: Policy, *, fmt: str | None = None,
                 progress: Callable[[int], None] | None = None) -> Loaded:
    loaded = load([str(p) for p in paths], fmt=fmt, schema=policy.schema, progress=progress,
                  timezone=policy.timezone)
    rejects = pa.table({
        "source_file": pa.array([r.source_file for r in loaded.rejects], pa.string()),
        "line": pa.array([r.line for r in loaded.rejects], pa.int64()),
        "reason": pa.array([r.reason for r in loaded.rejects], pa.string()),
    })
    loaded.con.register("_rejects_arrow", rejects)
    loaded.con.execute("CREATE OR REPLACE TABLE rejects AS SELECT * FROM _rejects_arrow")
    loaded.con.unregister("_rejects_arrow")
    return loaded


def audit(paths: Iterable[str | Path], policy: Policy | str | Path | None = None, *, fmt: str | None = None,
          select: Iterable[str] | None = None, ignore: Iterable[str] | None = None,
          gate: dict[str, Any] | None = None, progress: Callable[[int], None] | None = None,
          update_baseline: bool = False, invoices: Iterable[str | Path] | None = None,
          scoring: bool = True) -> AuditResult:
    """Audit the logs under ``paths`` against ``policy`` (a Policy, a policy file path, or None for the defaults).

    Raises ``auditor.loaders.InputError`` / ``MappingError`` / ``auditor.policy.PolicyError`` /
    ``auditor.rules.SelectionError`` for input that cannot be used at all. With ``invoices`` (provider bills,
    docs/reconciliation.md) the ledger is reconciled against them (``auditor.reconcile.InvoiceError``).
    """
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    check_config(policy)
    rules = select_rules(select if select is not None else policy.rules.get("select"),
                         [*(policy.rules.get("ignore") or []), *(ignore or [])])
    loaded = load_records(paths, policy, fmt=fmt, progress=progress)
    if loaded.read == 0:
        # Nothing to judge is not a pass: an empty export must not turn a CI gate green.
        raise InputError("no records in " + ", ".join(i.path for i in loaded.inputs) + ": every input file is empty")
    findings = run_rules(loaded.con, policy, rules)
    findings.sort(key=lambda f: (-f.rank, -f.cost, f.code))
    attribution = attribute(loaded.con, findings, policy)
    reconciliation = None
    if invoices:
        from auditor.reconcile import reconcile

        reconciliation = reconcile(loaded.con, [str(p) for p in invoices],
                                   threshold_pct=float(policy.thresholds.get("variance_pct", 2.0)))
    settings = gate_settings(policy.gate, gate)
    comparison = apply_baseline(policy, gate, findings, loaded.con, update=update_baseline)  # --baseline
    result_gate = evaluate(findings, attributable_pct=attribution.attributable_pct,
                           unattributed_cost=attribution.unattributed_cost,
                           variance_pct=reconciliation["summary"]["variance_pct"] if reconciliation else None,
                           settings=settings, baseline=comparison)
    result = AuditResult(
        policy=policy,
        inputs=loaded.inputs,
        rejects=loaded.rejects,
        context_spans=loaded.context_spans,
        attribution=attribution,
        findings=findings,
        gate=result_gate,
        reconciliation=reconciliation,
        con=loaded.con,
        rules=[r.code for r in rules],
    )
    # Scores, tiers, verdict and report aggregates; keep this last (it reads result.reconciliation).
    if scoring:  # check-schema skips it
        score(result, rules)
    return result


# The contract rules: what `audit-logs check-schema` runs (no pricing, identity or reconciliation rules).
CONTRACT_RULES = ("CON", "OWN001", "INT002")


def check_schema(paths: Iterable[str | Path], policy: Policy | str | Path | None = None, *, fmt: str | None = None,
                 gate: dict[str, Any] | None = None, progress: Callable[[int], None] | None = None,
                 update_baseline: bool = False) -> AuditResult:
    """The fast pre-merge check: only the contract rules (CON*, OWN001, INT002) over ``paths``, with
    pass/fail per file in ``result.sections["check_schema"]``. Only ``fail_on`` and ``baseline`` of the
    gate apply (no attributable-spend or variance thresholds)."""
    import dataclasses

    from auditor.locations import per_file

    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    keep = ("fail_on", "baseline")
    policy = dataclasses.replace(policy, gate={k: v for k, v in policy.gate.items() if k in keep})
    result = audit(paths, policy, fmt=fmt, select=list(CONTRACT_RULES), progress=progress,
                   gate={k: v for k, v in (gate or {}).items() if k in keep}, update_baseline=update_baseline,
                   scoring=False)
    files = per_file(result)
    result.sections["check_schema"] = {"rules": result.rules, "files": files,
                                       "passed": sum(f["passed"] for f in files), "failed": sum(not f["passed"] for f in files)}
    return result
