"""The command line: a thin layer over ``auditor.audit``.

Exit codes: 0 the logs pass the policy, 1 they fail it, 2 usage error or unusable input.
"""

from __future__ import annotations

import os
from contextlib import contextmanager, nullcontext
import sys
from pathlib import Path

import click

from auditor import __version__

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


# Every output format of `audit` (tests/test_first_use.py holds it equal to auditor.reporters.formats()).
FORMATS_HELP = "text, json, html, or a CI format: sarif, junit, github, markdown"


class _DefaultGroup(click.Group):
    """``audit-logs PATH...`` runs the audit; ``audit-logs rules`` etc. run a subcommand."""

    def parse_args(self, ctx, args):
        if not args:
            click.echo(ctx.get_help())
            click.echo("\nNo PATH given: `audit` is the default command, so `audit-logs PATH...` audits PATH "
                       "(e.g. `audit-logs sample_logs/`); `audit-logs audit --help` lists its options.", err=True)
            ctx.exit(EXIT_ERROR)
        first = args[0]
        if first not in self.commands and first not in ("--help", "-h", "--version"):
            near = self._near_command(first)
            if near:
                raise click.UsageError(f"no such command {first!r} and no such file: did you mean `audit-logs {near}`?", ctx)
            args = ["audit", *args]
        return super().parse_args(ctx, args)

    def _near_command(self, word: str) -> str | None:
        """The subcommand ``word`` is a typo of, unless ``word`` names an existing path (or a glob, or stdin)."""
        if word == "-" or word.startswith("-") or os.path.exists(word) or any(c in word for c in "*?[/\\."):
            return None
        import difflib

        names = list(self.commands)  # "auidt sample_logs/" is a typo of the default command too
        folded = {n.replace("-", "").replace("_", ""): n for n in names}
        key = word.lower().replace("-", "").replace("_", "")
        if key in folded:
            return folded[key]
        hit = difflib.get_close_matches(key, list(folded), n=1, cutoff=0.7)
        return folded[hit[0]] if hit else None


def _fail(message: str) -> None:
    click.echo(f"audit-logs: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _usage_errors():
    from auditor.loaders import InputError, MappingError
    from auditor.policy import PolicyError
    from auditor.rules import SelectionError
    from auditor.reporters.export import ExportError
    from auditor.baseline import BaselineError
    from auditor.engine import EngineError

    return (InputError, MappingError, PolicyError, SelectionError, ExportError, BaselineError, EngineError)


@contextmanager
def _no_traceback():
    """The promise: usage errors and unusable input exit 2 with one clear line, never a traceback."""
    try:
        yield
    except _usage_errors() as exc:
        _fail(str(exc))
    except OSError as exc:
        if exc.filename is None:
            raise
        # An output that cannot be written (no such directory, no permission, disk full): a usage error.
        _fail(f"cannot write {exc.filename}: {exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("AUDIT_LOGS_DEBUG"):
            raise
        _fail(f"internal error ({type(exc).__name__}: {exc}); set AUDIT_LOGS_DEBUG=1 for the traceback and please report it")


def _check_outputs(outputs: dict[str, str | None], export: str | None = None, engine: str = "duckdb") -> None:
    """Every output is checked before the audit runs: a typo in a path or a format fails in a moment,
    not after minutes of work. ``outputs``: option name -> path (None or '-' for none/standard output)."""
    if export:
        from auditor.reporters.export import FORMATS, is_dataset

        suffix = Path(export.rstrip("/\\")).suffix.lower()
        if suffix not in FORMATS:
            _fail(f"--export-findings {export}: unknown format {suffix or '(no extension)'!r}: "
                  f"name a {', '.join(sorted(FORMATS))} file (or a directory of part files: end it with /)")
        if not is_dataset(export):
            outputs = {**outputs, "--export-findings": export}
        elif "://" in export and not export.startswith("file://") and engine != "spark":
            _fail(f"--export-findings {export}: writing to object storage needs --engine spark; name a local file or directory")
        elif "://" not in export:  # a local directory of part files, made (or replaced) by the engine
            parent = Path(export.rstrip("/\\")).parent
            if not parent.is_dir() or not os.access(parent, os.W_OK):
                _fail(f"--export-findings {export}: cannot write there: {parent} is not a writable directory")
    for option, raw in outputs.items():
        if raw in (None, "-"):
            continue
        path = Path(raw)
        parent = path.parent if str(path.parent) else Path(".")
        if path.is_dir():
            _fail(f"{option} {raw}: is a directory; name a file")
        if not parent.is_dir():
            _fail(f"{option} {raw}: cannot write there: no such directory {parent}")
        if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            _fail(f"{option} {raw}: cannot write there: permission denied")
        if not path.exists():
            # os.access says yes for root everywhere, and for file systems that refuse new files (/proc, a
            # read-only mount): creating the file is the only test that holds.
            try:
                path.open("x").close()
                path.unlink()
            except OSError as exc:
                _fail(f"{option} {raw}: cannot write there: {exc.strerror or exc}")


def _write(text: str, output: str | None) -> None:
    if output in (None, "-"):
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")


@click.group(cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="audit-logs")
def main():
    """Are these LLM gateway logs good enough to charge spend back to teams, and what must be fixed first?

    `audit` is the default command: `audit-logs PATH...` is `audit-logs audit PATH...`.

    \b
    Exit codes (every command):
      0  the logs pass the gate (or --exit-zero)
      1  they fail it: findings at --fail-on severity or above (new or grown
         ones with --baseline), or a threshold missed
      2  usage error, bad policy or baseline file, or unusable input
    """


class _Bounded(click.FloatRange):
    """A finite number in a range: a threshold outside it is a usage error, not a gate that can never (or always) fail."""

    def __init__(self, lo: float, hi: float | None, unit: str):
        super().__init__(min=lo, max=hi)
        self.unit = unit

    def convert(self, value, param, ctx):
        rv = super().convert(value, param, ctx)
        if rv != rv or rv in (float("inf"), float("-inf")):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return rv

    def get_metavar(self, param, *args, **kwargs):  # noqa: ARG002 - click 8.2 passes ctx
        return self.unit


def _split(values: tuple[str, ...]) -> list[str] | None:
    out = [v.strip() for raw in values for v in raw.split(",") if v.strip()]
    return out or None


@main.command("audit")
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "-f", "out_format", default="text", show_default=True,
              help=f"Output format: {FORMATS_HELP} (see docs/ci.md).")
@click.option("-o", "--output", help="Write the report here instead of standard output.")
@click.option("--html", "html_path", help="Also write the self-contained HTML readiness report to this file.")
@click.option("--policy", "policy_path", help="Policy file (TOML); default audit-logs.toml or [tool.audit-logs] in pyproject.toml.")
@click.option("--input-format", "--mapping", "input_format",
              help="Skip detection: a format name (litellm, litellm-spendlogs, litellm-kwargs, otlp, canonical, langfuse, langfuse-api, helicone, portkey) or a mapping .toml file.")
@click.option("--export-findings", help="Write one row per flagged record per rule (.csv, .parquet or .jsonl); a path ending "
              "in / (or a URI such as s3a://…/findings.parquet with --engine spark) is a directory of part files.")
@click.option("--select", multiple=True, help="Only these rules (codes, code prefixes or names; comma-separated or repeated).")
@click.option("--ignore", multiple=True, help="Leave out these rules.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info", "never"]), help="Fail on findings of this severity or above (default: error).")
@click.option("--min-attributable-pct", type=_Bounded(0, 100, "PCT"), help="Fail when attributable spend is below this percentage (0-100).")
@click.option("--max-unattributed-cost", type=_Bounded(0, None, "USD"), help="Fail when unattributed cost (USD, >= 0) is above this.")
@click.option("--max-variance-pct", type=_Bounded(0, None, "PCT"), help="Fail when the reconciliation variance is above this percentage (>= 0).")
@click.option("--invoice", "invoices", multiple=True,
              help="Reconcile against this provider bill (repeatable): OpenAI costs/usage API JSON, Anthropic cost/usage "
                   "report JSON, or a FOCUS CSV/Parquet export (docs/reconciliation.md).")
@click.option("--baseline", "baseline_path", help="Fail only on findings that are new or grown since this baseline file.")
@click.option("--update-baseline", is_flag=True, help="Write today's findings to the --baseline file (then compare with it).")
@click.option("--exit-zero", is_flag=True, help="Always exit 0 when the audit ran (still 2 for unusable input).")
@click.option("-q", "--quiet", is_flag=True, help="No progress on standard error.")
@click.option("--profile", "profile", is_flag=True,
              help="Print each stage's wall time, CPU time, rows and peak memory to standard error at the end.")
@click.option("--engine", "engine_name", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help="Where the rules run after the load: embedded DuckDB, or Apache Spark (the spark extra).")
@click.option("--spark-master", help="With --engine spark: the master URL of a new session (default local[*]).")
@click.option("--spark-remote", help="With --engine spark: a Spark Connect server, e.g. sc://host:15002.")
def audit_cmd(paths, out_format, output, html_path, policy_path, input_format, export_findings, select, ignore,
              fail_on, min_attributable_pct, max_unattributed_cost, max_variance_pct, baseline_path, update_baseline,
              exit_zero, quiet, invoices=(), profile=False, engine_name="duckdb", spark_master=None, spark_remote=None):
    """Audit the gateway logs in PATHS (files, directories, globs; .gz and .zst too)."""
    from auditor.api import audit
    from auditor.profile import Profiler
    from auditor.reporters import formats

    if out_format not in formats():
        _fail(f"unknown --format {out_format!r}: use one of {', '.join(formats())}")
    _check_outputs({"-o/--output": output, "--html": html_path}, export_findings, engine_name)
    gate = {"fail_on": fail_on, "min_attributable_pct": min_attributable_pct,
            "max_unattributed_cost": max_unattributed_cost, "max_variance_pct": max_variance_pct, "baseline": baseline_path}
    prof = Profiler() if profile else None
    if engine_name != "spark" and (spark_master or spark_remote):
        _fail("--spark-master and --spark-remote need --engine spark")
    with _no_traceback(), (prof.active() if prof else nullcontext()):
        from auditor.progress import for_cli

        engine = None
        if engine_name == "spark":  # started first: no Java or no pyspark fails before the load, not after it
            from auditor.engine import spark_engine

            engine = spark_engine(master=spark_master, remote=spark_remote)

        progress = for_cli(quiet)  # None unless standard error is a terminal (and not CI, not --quiet)
        try:
            result = audit(paths, policy_path, fmt=input_format, select=_split(select), ignore=_split(ignore), gate=gate,
                           update_baseline=update_baseline, invoices=list(invoices) or None, progress=progress,
                           engine=engine)
            if progress:
                progress.phase("writing reports")
            text, html = _render(result, out_format, html_path, export_findings)
            if progress:
                progress.finish()
        finally:
            if progress:
                progress.close()
        _baseline_note(result, quiet)
        _write(text, output)
        if html is not None:
            _write(html, html_path)
        if not quiet and not (out_format == "text" and output in (None, "-")):
            # The text report ends with this line; a machine format on stdout or a report in a file does not
            # say why the exit code is what it is, so standard error does (CI logs show it).
            from auditor.redact import mask_text

            click.echo(mask_text(f"audit-logs: {result.gate.line}"), err=True)
    if prof:  # standard error only: the report on standard output is the same with or without --profile
        click.echo(prof.table(), err=True, nl=False)
    sys.exit(EXIT_PASS if exit_zero else result.exit_code)


def _render(result, out_format: str, html_path: str | None, export_findings: str | None) -> tuple[str, str | None]:
    """The report text, the HTML report (when asked for) and the findings export, each a profiled stage
    (rows: the characters it wrote; the export: the rows it wrote)."""
    from auditor.profile import stage
    from auditor.reporters import renderer

    with stage(f"render {out_format}") as st:
        text = renderer(out_format)(result)
        st.rows = len(text)
    html = None
    if html_path:
        with stage("render html") as st:
            html = renderer("html")(result)
            st.rows = len(html)
    if export_findings:
        from auditor.reporters.export import export_findings as export

        with stage("export findings") as st:
            st.rows = export(result, export_findings)
    return text, html


def _baseline_note(result, quiet: bool) -> None:
    b = result.gate.baseline
    if b and b.get("updated") and not quiet:
        click.echo(f"audit-logs: wrote baseline {b['path']} ({len(b['rules'])} rules)", err=True)


@main.command("check-schema")
@click.argument("paths", nargs=-1, required=True, metavar="SAMPLE...")
@click.option("--format", "-f", "out_format", default="text", show_default=True,
              help="Output format: text, json, sarif, junit, github or markdown.")
@click.option("-o", "--output", help="Write the report here instead of standard output.")
@click.option("--policy", "policy_path", help="Policy file (TOML): its [fields] tighten the contract.")
@click.option("--input-format", "--mapping", "input_format", help="Skip detection: a format name or a mapping .toml file.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info", "never"]), help="Fail on findings of this severity or above (default: error).")
@click.option("--baseline", "baseline_path", help="Fail only on contract findings that are new or grown since this baseline file.")
@click.option("--update-baseline", is_flag=True, help="Write today's contract findings to the --baseline file.")
@click.option("--exit-zero", is_flag=True, help="Always exit 0 when the check ran (still 2 for unusable input).")
@click.option("-q", "--quiet", is_flag=True, help="No messages on standard error.")
def check_schema_cmd(paths, out_format, output, policy_path, input_format, fail_on, baseline_path, update_baseline,
                     exit_zero, quiet):
    """Check gateway log SAMPLES against the chargeback record contract only (rules CON*, OWN001,
    INT002; no pricing, no scoring): pass/fail per file, with the failing fields and file:line of
    the first offenders. For pre-merge CI and pre-commit."""
    from auditor.api import check_schema
    from auditor.reporters import formats, renderer

    allowed = [f for f in ("text", "json", "sarif", "junit", "github", "markdown") if f == "text" or f in formats()]
    if out_format not in allowed:
        _fail(f"check-schema: unknown --format {out_format!r}: use one of {', '.join(allowed)}")
    _check_outputs({"-o/--output": output})
    with _no_traceback():
        result = check_schema(paths, policy_path, fmt=input_format, gate={"fail_on": fail_on, "baseline": baseline_path},
                              update_baseline=update_baseline)
        _baseline_note(result, quiet)
        if out_format == "text":
            from auditor.reporters.check_schema import render
        else:
            render = renderer(out_format)
        _write(render(result), output)
    sys.exit(EXIT_PASS if exit_zero else result.exit_code)


@main.command("init")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("-o", "--output", default="audit-logs.toml", show_default=True,
              help="Where to write the draft policy (`-` for standard output).")
@click.option("--input-format", "--mapping", "input_format", help="Skip detection: a format name or a mapping .toml file.")
@click.option("--force", is_flag=True, help="Replace the output file if it exists.")
def init_cmd(paths, output, input_format, force):
    """Draft a policy (audit-logs.toml) from the logs in PATHS: teams with their names, services, keys,
    environments and cost centers, each with its evidence (records, $) as a comment. Other spellings,
    shared keys and value shapes are suggestions in comments, for a person to accept. Review the draft,
    then audit with it (`audit-logs PATH...` finds ./audit-logs.toml)."""
    from auditor.api import audit
    from auditor.draft import draft
    from auditor.policy import from_dict

    target = None if output == "-" else Path(output)
    if target is not None and target.exists() and not force:
        _fail(f"{output} exists: review it, or give --force to replace it")
    _check_outputs({"-o/--output": output})
    with _no_traceback():
        result = audit(paths, from_dict({}, "(no policy: init drafts one)"), fmt=input_format)
        text = draft(result)
        if target is None:
            click.echo(text, nl=False)
        else:
            target.write_text(text, encoding="utf-8")
            n = result.attribution.records - result.attribution.copies
            click.echo(f"audit-logs: wrote {output}: {len(result.attribution.teams)} teams from {n:,} LLM requests."
                       " Review it; what needs a decision is a comment.", err=True)
    sys.exit(EXIT_PASS)


@main.command("rules")
@click.option("--format", "-f", "out_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: one line per rule; json: code, name, category, severity, blocks_attribution, summary, "
                   "parameters and documentation of each rule.")
def rules_cmd(out_format):
    """List every rule: code, name, default severity, what it checks."""
    from auditor.rules import REGISTRY

    rules = sorted(REGISTRY.values(), key=lambda r: r.code)
    if out_format == "json":
        import json

        doc = [{"code": r.code, "name": r.name, "category": r.category, "severity": r.severity,
                "blocks_attribution": bool(r.blocks_attribution), "summary": r.summary,
                "parameters": {k: v for k, v in (r.params or {}).items()}, "doc": r.doc} for r in rules]
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False, default=str))
        return
    for r in rules:
        click.echo(f"{r.code}  {r.name:<24} {r.severity:<8} {r.summary}")


@main.command("explain")
@click.argument("rule")
def explain_cmd(rule):
    """Print one rule's documentation (by code or name)."""
    from auditor.rules import find_rule

    r = find_rule(rule)
    if r is None:
        _fail(f"no rule {rule!r} (see `audit-logs rules`)")
    click.echo(f"{r.code} {r.name} ({r.category}, default severity {r.severity}"
               f"{', blocks attribution' if r.blocks_attribution else ''})\n")
    click.echo(r.doc)
    if r.params:
        click.echo("\nParameters (set in the policy's [rules." + r.name + "] table):")
        for k, v in r.params.items():
            click.echo(f"  {k} = {v!r}")


if __name__ == "__main__":  # pragma: no cover
    main()
