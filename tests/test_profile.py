"""--profile / audit(profile=Profiler()): every stage is listed with its rows, the load's rows are the records
read, the table goes to standard error only, and the report on standard output is the same without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from auditor import audit
from auditor.profile import Profiler, stage
from helpers import record, write_jsonl

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_logs"


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "auditor.cli", *args], capture_output=True, text=True, env=env, cwd=ROOT)


def test_every_stage_is_listed_and_the_load_rows_are_the_records_read(tmp_path):
    good = write_jsonl(tmp_path / "a.jsonl", [record(request_id=f"r{i}") for i in range(5)])
    bad = tmp_path / "b.jsonl"
    bad.write_text(json.dumps(record(request_id="x1")) + "\n{not json\n[1, 2]\n", encoding="utf-8")
    prof = Profiler()
    result = audit([good, bad], SAMPLES / "policy.toml", profile=prof, invoices=[ROOT / "sample_invoices"])
    names = [s.name for s in prof.stages]
    loads = [s for s in prof.stages if s.name.startswith("load ")]
    assert [s.name for s in loads] == [f"load {good.as_posix()}", f"load {bad.as_posix()}"]
    assert [s.rows for s in loads] == [5, 3]  # b.jsonl: one record and two rejected lines, all read
    summary = result.summary()
    assert prof.rows_of("load ") == summary["read"] == summary["records"] + summary["context_spans"] + summary["rejected"]
    from auditor.rules import REGISTRY

    for code in result.rules:
        assert f"rule {code} {REGISTRY[code].name}" in names
    for name in ("attribution", "reconciliation", "scoring", "pricing build"):
        assert name in names
    flagged = {s.name.split()[1]: s.rows for s in prof.stages if s.name.startswith("rule ")}
    for f in result.findings:
        assert flagged[f.code] == f.count
    assert all(s.wall >= 0 and s.peak_kb > 0 for s in prof.stages)
    pricing = next(s for s in prof.stages if s.name == "pricing build")
    assert pricing.depth == 1  # inside the first pricing rule's stage, whose peak is at least its own
    parent = next(s for s in prof.stages if s.name == "rule PRC001 missing-cost")
    assert parent.peak_kb >= pricing.peak_kb and parent.wall >= pricing.wall


def test_no_profiler_no_stages_and_a_profiler_only_records():
    with stage("nothing listens") as st:
        st.rows = 3  # no profiler active: nothing to record, nothing fails
    prof = Profiler()
    with prof.active():
        with stage("outer", rows=2):
            with stage("inner") as inner:
                inner.rows = 7
    assert [(s.name, s.depth, s.rows) for s in prof.stages] == [("outer", 0, 2), ("inner", 1, 7)]
    assert "outer" in prof.table() and "  inner" in prof.table()


def test_cli_profile_goes_to_stderr_and_leaves_stdout_unchanged():
    plain = _cli("sample_logs/", "--format", "json", "--exit-zero", "-q")
    profiled = _cli("sample_logs/", "--format", "json", "--exit-zero", "-q", "--profile")
    assert plain.returncode == profiled.returncode == 0, profiled.stderr
    assert profiled.stdout == plain.stdout  # the report does not know it was profiled
    assert plain.stderr == ""
    err = profiled.stderr
    assert err.splitlines()[0].split()[:5] == ["stage", "wall", "s", "CPU", "s"]
    for name in ("load sample_logs/litellm_payload.jsonl", "rule PRC003 stale-price", "attribution", "scoring",
                 "render json"):
        assert name in err
    read = json.loads(plain.stdout)["summary"]["read"]
    loads = [line for line in err.splitlines() if line.startswith("load ")]
    assert sum(int(line.split()[-3].replace(",", "")) for line in loads) == read


def test_cli_profile_times_each_renderer(tmp_path):
    out, html, export = tmp_path / "r.txt", tmp_path / "r.html", tmp_path / "f.csv"
    r = _cli("sample_logs/litellm_payload.jsonl", "-o", str(out), "--html", str(html), "--export-findings", str(export),
             "--exit-zero", "-q", "--profile")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    lines = {line.split("  ")[0].strip(): line for line in r.stderr.splitlines()}
    assert "render text" in lines and "render html" in lines and "export findings" in lines
    rows = int(lines["export findings"].split()[-3].replace(",", ""))
    assert rows == len(export.read_text(encoding="utf-8").splitlines()) - 1  # the header line
    assert int(lines["render text"].split()[-3].replace(",", "")) == len(out.read_text(encoding="utf-8"))
