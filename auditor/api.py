"""The Python API: ``audit(paths, policy) -> AuditResult``. The CLI is a thin layer over this.

Stages, in one direction: loaders -> record table -> rules -> findings -> scoring -> result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

import pyarrow as pa

from auditor.gate import evaluate, gate_settings
from auditor.loaders import Loaded, load
from auditor.policy import Policy, load_policy
from auditor.result import AuditResult
from auditor.rules import run_rules, select_rules
from auditor.scoring import attribute


def load_records(paths: Iterable[str | Path], policy: Policy, *, fmt: str | None = None,
                 progress: Callable[[int], None] | None = None) -> Loaded:
    loaded = load([str(p) for p in paths], fmt=fmt, schema=policy.schema, progress=progress)
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
          gate: dict[str, Any] | None = None, progress: Callable[[int], None] | None = None) -> AuditResult:
    """Audit the logs under ``paths`` against ``policy`` (a Policy, a policy file path, or None for the defaults).

    Raises ``auditor.loaders.InputError`` / ``MappingError`` / ``auditor.policy.PolicyError`` /
    ``auditor.rules.SelectionError`` for input that cannot be used at all.
    """
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    rules = select_rules(select if select is not None else policy.rules.get("select"),
                         [*(policy.rules.get("ignore") or []), *(ignore or [])])
    loaded = load_records(paths, policy, fmt=fmt, progress=progress)
    findings = run_rules(loaded.con, policy, rules)
    findings.sort(key=lambda f: (-f.rank, -f.cost, f.code))
    attribution = attribute(loaded.con, findings)
    settings = gate_settings(policy.gate, gate)
    result_gate = evaluate(findings, attributable_pct=attribution.attributable_pct,
                           unattributed_cost=attribution.unattributed_cost, variance_pct=None, settings=settings)
    return AuditResult(
        policy=policy,
        inputs=loaded.inputs,
        rejects=loaded.rejects,
        context_spans=loaded.context_spans,
        attribution=attribution,
        findings=findings,
        gate=result_gate,
        con=loaded.con,
    )
