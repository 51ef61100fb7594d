"""The Python API: ``audit(paths, policy) -> AuditResult``. The CLI is a thin layer over this.

Stages, in one direction: loaders -> record table -> rules -> findings -> scoring -> result.
"""

from __future__ import annotations

import glob
import os
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable, Iterable

import pyarrow as pa

from auditor.baseline import apply as apply_baseline
from auditor.baseline import plan as plan_baseline
from auditor.gate import evaluate, gate_settings
from auditor.loaders import InputError, Loaded, load
from auditor.loaders.sources import is_uri
from auditor.policy import Policy, load_policy
from auditor.profile import Profiler, stage
from auditor.result import AuditResult
from auditor.rules import check_config, run_rules, select_rules
from auditor.scoring import attribute, score


STDIN = "-"


def load_records(paths: Iterable[str | Path], policy: Policy, *, fmt: str | None = None,
                 progress: Callable[[int], None] | None = None, engine: Any = None) -> Loaded:
    """The record table and the rejects. URIs (``engine`` a Spark engine: see :func:`_input_engine`) are read by
    Spark's executors into its ``records`` view; local paths by DuckDB on this machine."""
    paths = [str(p) for p in paths]
    if any(is_uri(p) for p in paths):
        from auditor.engine.spark_load import load as spark_load

        loaded = spark_load(engine, paths, fmt=fmt, schema=policy.schema, timezone=policy.timezone)
    elif STDIN in paths:
        loaded = _load_with_stdin(paths, policy, fmt, progress)
    else:
        loaded = load(paths, fmt=fmt, schema=policy.schema, progress=progress, timezone=policy.timezone)
    rejects = pa.table({
        "source_file": pa.array([r.source_file for r in loaded.rejects], pa.string()),
        "line": pa.array([r.line for r in loaded.rejects], pa.int64()),
        "reason": pa.array([r.reason for r in loaded.rejects], pa.string()),
    })
    loaded.con.register("_rejects_arrow", rejects)
    loaded.con.execute("CREATE OR REPLACE TABLE rejects AS SELECT * FROM _rejects_arrow")
    loaded.con.unregister("_rejects_arrow")
    return loaded


def _load_with_stdin(paths: list[str], policy: Policy, fmt: str | None, progress) -> Loaded:
    """``-`` reads standard input: spooled to a temporary file (detection and the careful route need to read
    it twice), loaded, then named ``-`` in the inputs, the rejects and the records' source_file."""
    import dataclasses
    import shutil
    import sys
    import tempfile

    from auditor.contract.sql import lit

    with tempfile.TemporaryDirectory(prefix="audit-logs-stdin-") as tmp:
        spool = str(Path(tmp) / "stdin")
        with open(spool, "wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
        loaded = load([spool if p == STDIN else p for p in dict.fromkeys(paths)], fmt=fmt, schema=policy.schema,
                      progress=progress, timezone=policy.timezone)
    for i in loaded.inputs:
        if i.path == spool:
            i.path = STDIN
    loaded.rejects = [dataclasses.replace(r, source_file=STDIN) if r.source_file == spool else r for r in loaded.rejects]
    loaded.con.execute(f"UPDATE records SET source_file = {lit(STDIN)} WHERE source_file = {lit(spool)}")
    return loaded


# What a format calls an LLM call, for the message when none was found.
_LLM_RECORD = {
    "otlp": "no span with gen_ai.* or OpenInference LLM attributes",
    "langfuse": "no GENERATION or EMBEDDING observation",
}


def no_llm_message(loaded: Loaded) -> str:
    """What was read, file by file, when none of it is an LLM request: the user sees why nothing was judged."""
    first_reject: dict[str, str] = {}
    for r in loaded.rejects:
        first_reject.setdefault(r.source_file, f"line {r.line}: {r.reason}")
    parts = []
    for i in loaded.inputs[:5]:
        bits = []
        if i.context_spans:
            kinds = "trace context spans" if i.format != "langfuse" else "non-LLM observations"
            bits.append(f"{i.context_spans:,} {kinds}, none an LLM call ({_LLM_RECORD.get(i.format, 'no record with a model and tokens')})")
        if i.rejected:
            bits.append(f"{i.rejected:,} rejected (first: {first_reject.get(i.path, 'see the rejects')})")
        parts.append(f"{i.path} [{i.format}]: " + ("; ".join(bits) or "empty"))
    if len(loaded.inputs) > 5:
        parts.append(f"and {len(loaded.inputs) - 5} more files")
    return (f"nothing to audit: {loaded.read:,} record{'' if loaded.read == 1 else 's'} read, none is an LLM request "
            f"(accepted {loaded.records + loaded.context_spans:,}, rejected {loaded.rejected:,}). " + "; ".join(parts))


def _check_forced_format(loaded: Loaded, fmt: str) -> None:
    """A format forced with --input-format that finds neither a model nor a cost in any record of a file is the wrong format for it: say so, and what detection makes of the file, instead of auditing
    rows of nulls."""
    from auditor.loaders.detect import detect

    for i in loaded.inputs:
        if not i.records or i.path == STDIN:
            continue
        found = loaded.con.execute(
            "SELECT count(*) FROM records WHERE source_file = ? AND record_kind = 'llm'"
            " AND (model IS NOT NULL OR cost IS NOT NULL)", [i.path]).fetchone()[0]
        if found == 0:
            if is_uri(i.path):  # detecting it again would read it through Spark: the format is named instead
                raise InputError(f"{i.path}: --input-format {fmt} finds none of its fields in this {i.container} file "
                                 f"({i.records:,} records, none with a model or a cost): it is not {fmt}; leave "
                                 "--input-format out to have its format detected")
            det = detect(Path(i.path))
            guess = (f"detection reads it as {det.source} ({det.reason})" if det.source != "none"
                     else f"detection does not recognise it either: {det.reason}")
            raise InputError(f"{i.path}: --input-format {fmt} finds none of its fields in this {i.container} file "
                             f"({i.records:,} records, none with a model or a cost): it is not {fmt}; {guess}")


def _as_list(paths: Iterable[str | Path] | str | Path) -> list[str]:
    """``audit("file.jsonl")`` means one path, not its characters."""
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    return [os.fspath(p) for p in paths]


def skipped_files(paths: Iterable[str]) -> list[dict[str, str]]:
    """Hidden files a directory walk passed over (the loaders never read them); reported, not silent. Files
    skipped for their extension and unreadable ones are inputs of their own (status skipped / unreadable)."""
    from auditor.loaders.sources import _is_hidden

    out = []
    for raw in paths:
        for d in ([Path(m) for m in glob.glob(raw, recursive=True)] if glob.has_magic(raw) and not os.path.lexists(raw)
                  else [Path(raw)]):
            if not d.is_dir():
                continue
            for sub in sorted(d.rglob("*"), key=lambda p: p.as_posix()):
                if sub.is_file() and _is_hidden(sub.relative_to(d)):
                    out.append({"path": str(sub), "reason": "hidden file (name or folder starts with a dot)"})
    return out


def audit(paths: Iterable[str | Path] | str | Path, policy: Policy | str | Path | None = None, *, fmt: str | None = None,
          select: Iterable[str] | None = None, ignore: Iterable[str] | None = None,
          gate: dict[str, Any] | None = None, progress: Callable[[int], None] | None = None,
          update_baseline: bool = False, invoices: Iterable[str | Path] | None = None,
          scoring: bool = True, profile: Profiler | None = None, engine: Any = None) -> AuditResult:
    """Audit the logs under ``paths`` against ``policy`` (a Policy, a policy file path, or None for the defaults).

    Raises ``auditor.loaders.InputError`` / ``MappingError`` / ``auditor.policy.PolicyError`` /
    ``auditor.rules.SelectionError`` for input that cannot be used at all. With ``invoices`` (provider bills,
    docs/reconciliation.md) the ledger is reconciled against them (``auditor.reconcile.InvoiceError``).
    ``profile``: an ``auditor.profile.Profiler`` that records each stage's wall time, rows and peak memory.
    ``engine``: where the rules run after the load: None or ``"duckdb"`` (embedded), ``"spark"`` (a local session),
    or an engine object such as ``auditor.engine.spark.SparkEngine(spark)`` for an existing SparkSession.
    """
    with (profile.active() if profile is not None else nullcontext()):
        return _audit(paths, policy, fmt=fmt, select=select, ignore=ignore, gate=gate, progress=progress,
                      update_baseline=update_baseline, invoices=invoices, scoring=scoring, engine=engine)


def _input_engine(paths: list[str], engine: Any):
    """``engine``, started before the load when a URI is to be read (only a Spark engine reads one, and the
    whole load is then on Spark: a URI and a local path in one audit would be two record tables)."""
    uris = [p for p in paths if is_uri(p)]
    if not uris:
        return engine
    if engine is None or engine == "duckdb" or (not isinstance(engine, str) and getattr(engine, "name", "") != "spark"):
        raise InputError(f"{uris[0]}: a URI input is read by Spark's executors: add --engine spark "
                         "(pip install 'audit-logs[spark]'), or copy the files to a local path")
    local = [p for p in paths if not is_uri(p)]
    if local:
        raise InputError(f"{local[0]}: a local path next to a URI input; with URIs, name every input as one "
                         f"(file://{os.path.abspath(local[0])} on a local session), or audit them separately")
    if engine == "spark":
        from auditor.engine import spark_engine

        engine = spark_engine()
    return engine


def _engine(loaded: Loaded, engine: Any):
    """The engine the stages after the load run on, holding the loaded record table."""
    from auditor.engine import DuckDBEngine, spark_engine

    if engine is not None and loaded.con is engine:  # loaded by Spark itself (URI inputs)
        return engine
    if engine is None or engine == "duckdb":
        return DuckDBEngine(loaded.con)
    if engine == "spark":
        engine = spark_engine()
    if isinstance(engine, str):
        from auditor.engine import EngineError

        raise EngineError(f"unknown engine {engine!r}: duckdb or spark")
    with stage("engine: hand the record table over", rows=loaded.records):
        engine.adopt(loaded.con)
    return engine


def _audit(paths, policy, *, fmt, select, ignore, gate, progress, update_baseline, invoices, scoring, engine) -> AuditResult:
    paths = _as_list(paths)
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    check_config(policy)
    settings = gate_settings(policy.gate, gate)  # a bad limit is a usage error before the audit, not after it
    baseline = plan_baseline(policy, gate, update=update_baseline)
    read = None
    if invoices:  # read (and so checked) before the audit: a wrong --invoice fails in a moment
        from auditor.reconcile import read_invoices

        with stage("read invoices"):
            read = read_invoices([str(p) for p in invoices])
    rules = select_rules(select if select is not None else policy.rules.get("select"),
                         [*(policy.rules.get("ignore") or []), *(ignore or [])])
    if not rules:
        from auditor.rules import SelectionError

        raise SelectionError("the rule selection leaves no rule to run (every --select / [rules] select rule is also "
                             "ignored): an audit with no rule would pass anything")
    engine = _input_engine(paths, engine)
    loaded = load_records(paths, policy, fmt=fmt, progress=progress, engine=engine)
    if loaded.read == 0:
        # Nothing to judge is not a pass: an empty export must not turn a CI gate green.
        raise InputError("no records in " + ", ".join(i.path for i in loaded.inputs) + ": every input file is empty")
    if loaded.records == 0:
        # Context spans only, or every record rejected: 0 of $0 is not 100% attributable, and not a pass.
        raise InputError(no_llm_message(loaded))
    if fmt is not None:
        _check_forced_format(loaded, fmt)
    from auditor.progress import phase

    con = _engine(loaded, engine)
    phase(progress, "checking rules", len(rules))
    findings = run_rules(con, policy, rules,
                         on_rule=(lambda r: progress.step(f"{r.code} {r.name}")) if hasattr(progress, "step") else None)
    phase(progress, "scoring teams")
    findings.sort(key=lambda f: (-f.rank, -f.cost, f.code))
    with stage("attribution", rows=loaded.records):
        attribution = attribute(con, findings, policy)
    reconciliation = None
    if invoices:
        from auditor.reconcile import reconcile

        phase(progress, "reconciling with the invoice")
        with stage("reconciliation", rows=loaded.records):
            reconciliation = reconcile(con, read,
                                       threshold_pct=float(policy.thresholds.get("variance_pct", 2.0)),
                                       team_names={t.team_id: t.name for t in attribution.teams if t.name})
    with stage("baseline"):
        comparison = apply_baseline(baseline, findings, con)  # --baseline
    result_gate = evaluate(findings, attributable_pct=attribution.attributable_pct,
                           unattributed_cost=attribution.unattributed_cost,
                           variance_pct=reconciliation["summary"]["variance_pct"] if reconciliation else None,
                           settings=settings, baseline=comparison, total_cost=attribution.total_cost,
                           records=attribution.records)
    result = AuditResult(
        policy=policy,
        inputs=loaded.inputs,
        rejects=loaded.rejects,
        context_spans=loaded.context_spans,
        attribution=attribution,
        findings=findings,
        gate=result_gate,
        reconciliation=reconciliation,
        con=con,
        rules=[r.code for r in rules],
        skipped=sorted(skipped_files(paths) + [{"path": i.path, "reason": i.detected} for i in loaded.inputs
                                               if i.container in ("skipped", "unreadable")], key=lambda x: x["path"]),
    )
    # Scores, tiers, verdict and report aggregates; keep this last (it reads result.reconciliation).
    if scoring:  # check-schema skips it
        with stage("scoring", rows=len(attribution.teams)):
            score(result, rules)
    return result


# The contract rules: what `audit-logs check-schema` runs (no pricing, identity or reconciliation rules).
CONTRACT_RULES = ("CON", "OWN001", "INT002")


def check_schema(paths: Iterable[str | Path] | str | Path, policy: Policy | str | Path | None = None, *, fmt: str | None = None,
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
