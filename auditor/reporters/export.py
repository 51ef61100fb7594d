"""--export-findings: one row per flagged record per rule, with the record's provenance."""

from __future__ import annotations

from pathlib import Path

from auditor.contract.sql import lit
from auditor.result import AuditResult

FORMATS = {".csv": "(FORMAT csv, HEADER true)", ".parquet": "(FORMAT parquet)", ".jsonl": "(FORMAT json)", ".ndjson": "(FORMAT json)"}


class ExportError(ValueError):
    pass


def export_sql(result: AuditResult) -> str:
    names = ", ".join(f"({lit(f.code)}, {lit(f.name)}, {lit(f.severity)})" for f in result.findings) or "(NULL, NULL, NULL)"
    return (
        "SELECT f.code AS rule_code, n.name AS rule, n.severity, r.request_id, r.team_id, r.service_id,"
        " r.cost, f.detail, f.fix, r.source_file, r.source_line, r.source_index, r.trace_id, r.span_id"
        f" FROM finding_rows f JOIN records r USING (_row) JOIN (VALUES {names}) n(code, name, severity) ON n.code = f.code"
        " ORDER BY f.code, r.source_file, r.source_line, r.source_index, r._row"
    )


def export_findings(result: AuditResult, path: str | Path) -> int:
    """Write the findings rows; returns how many rows were written."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ExportError(f"{path}: --export-findings writes .csv, .parquet or .jsonl")
    assert result.con is not None
    sql = export_sql(result)
    # Masking: log values were masked when loaded (see loaders.pipeline); details are built from them.
    result.con.execute(f"COPY ({sql}) TO {lit(str(path))} {fmt}")
    return int(result.con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0])
