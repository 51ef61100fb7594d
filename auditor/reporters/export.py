"""--export-findings: one row per flagged record per rule, with the record's provenance."""

from __future__ import annotations

from pathlib import Path

from auditor.contract.sql import lit
from auditor.result import AuditResult

FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "json", ".ndjson": "json"}


class ExportError(ValueError):
    pass


# Text columns of the export: log data, or built from it.
TEXT_COLUMNS = ("rule_code", "rule", "severity", "request_id", "team_id", "service_id", "detail", "fix", "source_file",
                "trace_id", "span_id")
_COLUMNS = {"rule_code": "f.code", "rule": "n.name", "severity": "n.severity", "detail": "f.detail", "fix": "f.fix"}
_ORDER = ("rule_code", "rule", "severity", "request_id", "team_id", "service_id", "cost", "detail", "fix", "source_file",
          "source_line", "source_index", "trace_id", "span_id")


def csv_cell(expr: str) -> str:
    """A text cell a spreadsheet will not run: one starting with =, +, -, @, TAB or CR gets a leading quote (OWASP's
    CSV injection guidance). Only the CSV export; Parquet and JSON Lines keep the value as it is."""
    return f"CASE WHEN regexp_matches({expr}, '^[=+@\\t\\r-]') THEN chr(39) || {expr} ELSE {expr} END"


def export_sql(result: AuditResult, csv: bool = False) -> str:
    names = ", ".join(f"({lit(f.code)}, {lit(f.name)}, {lit(f.severity)})" for f in result.findings) or "(NULL, NULL, NULL)"
    cols = []
    for c in _ORDER:
        expr = _COLUMNS.get(c, f"r.{c}")
        cols.append(f"{csv_cell(expr) if csv and c in TEXT_COLUMNS else expr} AS {c}")
    return (
        f"SELECT {', '.join(cols)}"
        f" FROM finding_rows f JOIN records r USING (_row) JOIN (VALUES {names}) n(code, name, severity) ON n.code = f.code"
        " ORDER BY f.code, r.source_file, r.source_line, r.source_index, r._row"
    )


def is_dataset(path: str | Path) -> bool:
    """A directory of part files rather than one file: a URI (``s3a://bucket/findings.parquet``, what a distributed
    engine writes to) or a path that ends with a slash (``out/findings.parquet/``)."""
    text = str(path)
    return "://" in text or text.endswith(("/", "\\"))


def export_findings(result: AuditResult, path: str | Path) -> int:
    """Write the findings rows, to one file or (:func:`is_dataset`) a directory of part files written by the
    engine's workers; returns how many rows were written."""
    raw = str(path)
    suffix = Path(raw.rstrip("/\\")).suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        raise ExportError(f"{raw}: --export-findings writes .csv, .parquet or .jsonl")
    assert result.con is not None
    sql = export_sql(result, csv=suffix == ".csv")
    # Masking: log values were masked when loaded (see loaders.pipeline); details are built from them.
    if is_dataset(raw):
        return result.con.write_parts(sql, raw, fmt)
    return result.con.write(sql, raw, fmt)
