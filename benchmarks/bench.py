"""Benchmark: the full audit against a bare DuckDB scan and a plain jsonschema loop, on the same file.

    python benchmarks/bench.py -n 1000000              # 1M LiteLLM records as JSON Lines
    python benchmarks/bench.py --parquet -n 10000000   # 10M records as hive-partitioned Parquet
    python benchmarks/bench.py -n 300000 --flagged      # "flagged everywhere": most records carry 2+ findings

Each phase runs in its own subprocess; its wall time and peak RSS (``ru_maxrss`` of that child,
from ``os.wait4``) are measured from outside:

(a) audit       the real CLI: ``python -m auditor.cli FILE --format json -o ... --html ...`` (all rules,
                scoring, JSON report, and the HTML report when that format exists), with ``--profile``: its
                stage table (wall, CPU, rows, peak RSS of each stage) is printed after the results
(b) scan        DuckDB alone: read_json / read_parquet of the same input, count(*), sum(response_cost),
                count(DISTINCT team) -- the floor for anything that reads every record
(c) jsonschema  what a user would otherwise write: per record json.loads, a plain dict mapping of the
                LiteLLM fields to the chargeback record, and jsonschema validation (all errors) against
                schemas/chargeback-record.schema.json. Timed on a sample (``--sample``) and
                extrapolated linearly to N; the output says so.

Inputs are generated once (benchmarks/generate.py, fixed seed) into ``--workdir`` and reused; ``--flagged``
generates them with generate.FLAGGED_RATES (nearly every record on another team's key and at a stale price).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCHEMA = ROOT / "schemas" / "chargeback-record.schema.json"
LAST_CPU = 0.0
TARGETS = {"a_over_b": 2.5, "c_over_a": 10.0, "jsonl_rss_mb": 1024, "parquet_rss_mb": 2048}


# ---- phases (run in a child process: ``bench.py --phase NAME INPUT``) ---------------------------------

def phase_scan(path: str, parquet: bool) -> dict:
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if parquet:
        src = f"read_parquet('{path}/**/*.parquet', hive_partitioning = true)"
    else:
        src = f"read_json('{path}', format = 'newline_delimited')"
    n, cost, teams = con.execute(
        f"SELECT count(*), sum(response_cost), count(DISTINCT metadata.user_api_key_team_id) FROM {src}"
    ).fetchall()[0]
    return {"records": int(n), "cost": float(cost), "teams": int(teams)}


def _get(doc, path: str):
    for key in path.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _first(doc, *paths):
    for p in paths:
        v = _get(doc, p)
        if v is not None and v != "":
            return v
    return None


def to_chargeback(doc: dict, source_file: str, line: int) -> dict:
    """The plain-Python mapping a user would write: LiteLLM payload -> chargeback record."""
    from datetime import datetime, timezone

    ts = doc.get("startTime")
    if isinstance(ts, (int, float)):
        ts = datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    key = _get(doc, "model_map_information.model_map_key")
    out = {
        "request_id": _first(doc, "id", "litellm_call_id"),
        "timestamp": ts,
        "provider": doc.get("custom_llm_provider"),
        "model": doc.get("model"),
        "input_tokens": doc.get("prompt_tokens"),
        "output_tokens": doc.get("completion_tokens"),
        "cost": doc.get("response_cost"),
        "pricing_source": f"litellm/model_map:{key}" if key else None,
        "status": doc.get("status"),
        "retry_count": int(_first(doc, "hidden_params.additional_headers.x-litellm-attempted-retries", "metadata.attempted_retries") or 0),
        "team_id": _first(doc, "metadata.user_api_key_team_id", "metadata.spend_logs_metadata.team_id"),
        "service_id": _first(doc, "metadata.spend_logs_metadata.service"),
        "cost_center": _first(doc, "metadata.spend_logs_metadata.cost_center"),
        "environment": _first(doc, "metadata.spend_logs_metadata.environment"),
        "api_key_id": _first(doc, "metadata.user_api_key_hash", "metadata.user_api_key_alias"),
        "api_key_alias": _get(doc, "metadata.user_api_key_alias"),
        "cached_input_tokens": _first(doc, "metadata.usage_object.prompt_tokens_details.cached_tokens"),
        "cache_write_tokens": _first(doc, "metadata.usage_object.cache_creation_input_tokens"),
        "model_version": _get(doc, "hidden_params.litellm_model_name"),
        "retry_of": _first(doc, "metadata.spend_logs_metadata.retry_of"),
        "trace_id": doc.get("trace_id"),
        "principal": _first(doc, "metadata.user_api_key_user_id", "end_user"),
        "workflow_id": _first(doc, "metadata.spend_logs_metadata.workflow"),
        "cache_hit": doc.get("cache_hit"),
        "tags": doc.get("request_tags"),
        "operation": doc.get("call_type"),
        "price_snapshot": _get(doc, "model_map_information.model_map_value"),
        "source_format": "litellm",
        "source_file": source_file,
        "source_line": line,
    }
    return {k: v for k, v in out.items() if v is not None or k in ("team_id", "service_id", "cost_center", "environment")}


def phase_jsonschema(path: str, parquet: bool, sample: int) -> dict:
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    n = bad = 0
    t0 = time.perf_counter()
    if parquet:
        import pyarrow.dataset as ds

        dataset = ds.dataset(path, format="parquet", partitioning="hive")
        for batch in dataset.to_batches(batch_size=10_000):
            for doc in batch.to_pylist():
                n += 1
                errors = list(validator.iter_errors(to_chargeback(doc, path, n)))
                bad += bool(errors)
                if n >= sample:
                    break
            if n >= sample:
                break
    else:
        with open(path, "rb") as fh:
            for line in fh:
                n += 1
                doc = json.loads(line)
                errors = list(validator.iter_errors(to_chargeback(doc, path, n)))
                bad += bool(errors)
                if n >= sample:
                    break
    return {"records": n, "invalid": bad, "seconds_in_loop": time.perf_counter() - t0}


def phase_audit_api(path: str) -> dict:
    """Not used by default: the audit through the Python API (for profiling with py-spy)."""
    from auditor import audit
    from auditor.reporters import formats, renderer

    result = audit([path])
    out = {"json": len(renderer("json")(result))}
    if "html" in formats():
        out["html"] = len(renderer("html")(result))
    return out


# ---- driver ------------------------------------------------------------------------------------------

# Each child prints its own VmHWM at exit. ru_maxrss from wait4 is not used: Linux carries the parent's
# high-water mark over fork + exec into the child's, so a parent that generated the input (hundreds of MB)
# would inflate every phase's figure.
_PEAK = ("import atexit, runpy, sys\n"
         "def _peak():\n"
         "    for line in open('/proc/self/status'):\n"
         "        if line.startswith('VmHWM:'):\n"
         "            sys.stderr.write('BENCH_VMHWM_KB=' + line.split()[1] + '\\n')\n"
         "atexit.register(_peak)\n"
         "sys.argv = sys.argv[1:]\n"
         "if sys.argv[0] == '-m':\n"
         "    sys.argv = sys.argv[1:]\n"
         "    runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)\n"
         "else:\n"
         "    runpy.run_path(sys.argv[0], run_name='__main__')\n")


def run(cmd: list[str], env: dict | None = None) -> tuple[float, float, str, str]:
    """Run ``cmd`` (``[python, script-or--m, ...]``); (wall seconds, peak RSS MiB of that process, stdout, stderr).
    Its CPU seconds (user + system) go to ``LAST_CPU``: on a shared machine they say more than the wall time."""
    global LAST_CPU
    cmd = [cmd[0], "-c", _PEAK, *cmd[1:]]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    # Read the pipes first (a full pipe would block the child), then reap it with wait4 for its rusage.
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    LAST_CPU = usage.ru_utime + usage.ru_stime
    if proc.returncode not in (0, 1):  # audit-logs exits 1 when the logs fail the policy
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-4000:]}")
    peaks = [int(l.split("=", 1)[1]) for l in err.splitlines() if l.startswith("BENCH_VMHWM_KB=")]
    err = "".join(l + "\n" for l in err.splitlines() if not l.startswith("BENCH_VMHWM_KB="))
    return wall, (peaks[-1] if peaks else usage.ru_maxrss) / 1024, out, err


def ensure_input(n: int, workdir: Path, parquet: bool, seed: int, flagged: bool = False) -> Path:
    sys.path.insert(0, str(HERE))
    import generate

    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / (f"litellm-{n}-s{seed}" + ("-flagged" if flagged else "") + ("-parquet" if parquet else ".jsonl"))
    rates = generate.FLAGGED_RATES if flagged else None
    done = target.with_name(target.name + ".done")
    if done.exists():
        print(f"input: {target} (reused)")
        return target
    t0 = time.perf_counter()
    if parquet:
        counts = generate.write_parquet(n, target, seed, rates)
    else:
        counts = generate.write_jsonl(n, target, seed, rates=rates)
    done.write_text(json.dumps(counts), encoding="utf-8")
    print(f"input: {target} generated in {time.perf_counter() - t0:.1f}s; defects: {counts}")
    return target


def size_of(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*.parquet"))
    return path.stat().st_size


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1]) / 1024 ** 2
    except (OSError, StopIteration):
        mem = 0
    import duckdb

    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, DuckDB {duckdb.__version__}")


def main() -> None:
    ap = argparse.ArgumentParser(description="audit-logs benchmark")
    ap.add_argument("-n", "--records", type=int, default=1_000_000)
    ap.add_argument("--parquet", action="store_true", help="hive-partitioned Parquet instead of JSON Lines")
    ap.add_argument("--workdir", default="/tmp/audit-logs-bench")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--flagged", action="store_true", help="flagged everywhere: generate.FLAGGED_RATES")
    ap.add_argument("--sample", type=int, default=100_000, help="records the jsonschema loop is timed on")
    ap.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb",
                    help="where the audit's rules run; spark: a local[2] session (its JVM's memory is not in the peak RSS)")
    ap.add_argument("--skip", action="append", default=[], choices=["audit", "scan", "jsonschema"])
    ap.add_argument("--phase", choices=["scan", "jsonschema", "audit-api"], help=argparse.SUPPRESS)
    ap.add_argument("input", nargs="?", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.phase:
        if args.phase == "scan":
            res = phase_scan(args.input, args.parquet)
        elif args.phase == "jsonschema":
            res = phase_jsonschema(args.input, args.parquet, args.sample)
        else:
            res = phase_audit_api(args.input)
        print(json.dumps(res))
        return

    print(machine())
    workdir = Path(args.workdir)
    path = ensure_input(args.records, workdir, args.parquet, args.seed, args.flagged)
    n = args.records
    print(f"{n:,} records, {size_of(path) / 1e6:,.0f} MB {'Parquet' if args.parquet else 'JSONL'}")
    me = [sys.executable, str(Path(__file__).resolve())] + (["--parquet"] if args.parquet else [])
    res: dict[str, dict] = {}

    if "audit" not in args.skip:
        sys.path.insert(0, str(ROOT))
        from auditor.reporters import formats

        out_json, out_html = workdir / "report.json", workdir / "report.html"
        cmd = [sys.executable, "-m", "auditor.cli", str(path), "--format", "json", "-o", str(out_json), "-q", "--exit-zero",
               "--profile"]
        if args.engine == "spark":
            cmd += ["--engine", "spark", "--spark-master", "local[2]"]
        if "html" in formats():
            cmd += ["--html", str(out_html)]
        env = dict(os.environ)  # AUDIT_LOGS_DEBUG=1 passes through: a failure then shows its traceback
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        wall, rss, _, stages = run(cmd, env)
        # --profile resets VmHWM at each stage (per-stage peaks); its total line keeps the process's peak.
        total = [l for l in stages.splitlines() if l.startswith("total (top-level stages)")]
        if total:
            rss = max(rss, float(total[0].split("MB (the process")[0].split()[-1].replace(",", "")))
        report = json.loads(out_json.read_text(encoding="utf-8"))
        summary = report.get("summary", {})
        res["audit"] = {"s": wall, "cpu": LAST_CPU, "rss": rss, "note": f"JSON{' + HTML' if 'html' in formats() else ''} report; "
                        f"{summary.get('records', '?'):,} records, {len(report.get('findings', []))} findings, "
                        f"attributable {summary.get('attributable_pct')}%", "stages": stages}
    if "scan" not in args.skip:
        wall, rss, out, _ = run(me + ["--phase", "scan", str(path)])
        r = json.loads(out)
        res["scan"] = {"s": wall, "cpu": LAST_CPU, "rss": rss, "note": f"count {r['records']:,}, {r['teams']} teams, sum ${r['cost']:,.2f}"}
    if "jsonschema" not in args.skip:
        sample = min(args.sample, n)
        wall, rss, out, _ = run(me + ["--sample", str(sample), "--phase", "jsonschema", str(path)])
        r = json.loads(out)
        scale = n / r["records"]
        res["jsonschema"] = {"s": wall * scale, "cpu": LAST_CPU * scale, "rss": rss,
                             "note": (f"timed on {r['records']:,} records ({wall:.1f}s), extrapolated x{scale:g}"
                                      if scale != 1 else f"{r['invalid']:,} invalid")}

    print()
    print(f"{'phase':<12} {'seconds':>9} {'CPU s':>7} {'records/s':>11} {'peak RSS':>10}  notes")
    for name, label in (("audit", "(a) audit"), ("scan", "(b) scan"), ("jsonschema", "(c) jsonschema")):
        if name in res:
            r = res[name]
            print(f"{label:<14} {r['s']:>7.1f} {r['cpu']:>7.1f} {n / r['s']:>11,.0f} {r['rss']:>7,.0f} MB  {r['note']}")
    if "audit" in res:
        print("\nstages of the audit (--profile):\n" + res["audit"]["stages"], end="")
    print()
    ok = True
    rss_target = TARGETS["parquet_rss_mb"] if args.parquet else TARGETS["jsonl_rss_mb"]
    if "audit" in res:
        good = res["audit"]["rss"] <= rss_target
        ok &= good
        print(f"peak RSS of the audit: {res['audit']['rss']:,.0f} MB (target <= {rss_target:,} MB) {'ok' if good else 'MISSED'}")
    if "audit" in res and "scan" in res:
        ratio = res["audit"]["s"] / res["scan"]["s"]
        good = ratio <= TARGETS["a_over_b"]
        ok &= good
        print(f"a/b = {ratio:.2f} (target <= {TARGETS['a_over_b']}) {'ok' if good else 'MISSED'};"
              f" in CPU seconds {res['audit']['cpu'] / max(res['scan']['cpu'], 1e-9):.2f}")
    if "audit" in res and "jsonschema" in res:
        ratio = res["jsonschema"]["s"] / res["audit"]["s"]
        good = ratio >= TARGETS["c_over_a"]
        ok &= good
        print(f"c/a = {ratio:.1f} (target >= {TARGETS['c_over_a']}) {'ok' if good else 'MISSED'}")
    if "audit" not in res:
        print("targets not evaluated: the audit phase was skipped")
    elif "scan" not in res or "jsonschema" not in res:
        print("only the RSS target evaluated (a phase was skipped): " + ("met" if ok else "MISSED"))
    else:
        print("all targets met" if ok else "some targets missed")


if __name__ == "__main__":
    main()
