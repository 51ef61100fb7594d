"""Progress on standard error: shown on a terminal, quiet in CI, when piped, and with --quiet."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from auditor import audit
from auditor import progress as prog
from helpers import record, write_jsonl


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_should_show_only_on_a_terminal_outside_ci():
    assert prog.should_show(False, FakeTTY(), env={})
    assert not prog.should_show(True, FakeTTY(), env={})  # --quiet
    assert not prog.should_show(False, FakeTTY(), env={"CI": "true"})  # CI
    assert not prog.should_show(False, io.StringIO(), env={})  # a pipe or file


def test_line_has_records_rate_and_eta():
    t = [100.0]
    p = prog.Progress(FakeTTY(), clock=lambda: t[0])
    p.set_total(1000)
    t[0] = 110.0
    p.add_bytes(250)
    p(50_000)
    line = p.line()
    assert "50,000 records read" in line
    assert "5,000 records/s" in line
    assert "25%" in line and "ETA 0:30" in line
    p.close()
    assert p.stream.getvalue().endswith("\r")  # the status line is cleared


def test_redraws_are_throttled():
    t = [0.0]
    out = FakeTTY()
    p = prog.Progress(out, clock=lambda: t[0])
    for _ in range(100):
        p(10)
    assert out.getvalue().count("\r") == 1
    t[0] = 1.0
    p(10)
    assert out.getvalue().count("\r") == 2


def test_audit_api_calls_progress_with_record_counts(tmp_path):
    from auditor import audit

    path = write_jsonl(tmp_path / "a.jsonl", [record(request_id=f"r{i}") for i in range(25)])
    seen: list[int] = []
    audit([path], progress=seen.append)
    assert sum(seen) == 25


def _run_cli_on_pty(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI with standard error on a pseudo-terminal; (exit code, what the terminal showed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "auditor.cli", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("quiet,ci,shown", [(False, False, True), (True, False, False), (False, True, False)])
def test_cli_progress_on_a_terminal(tmp_path, monkeypatch, quiet, ci, shown):
    path = write_jsonl(tmp_path / "a.jsonl", [record(request_id=f"r{i}") for i in range(30)])
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    if ci:
        env["CI"] = "true"
    args = [str(path), "--format", "json", "-o", str(tmp_path / "out.json"), "--exit-zero"] + (["--quiet"] if quiet else [])
    code, shown_text = _run_cli_on_pty(args, env)
    assert code == 0
    assert ("records read" in shown_text) == shown


def test_cli_is_quiet_when_stderr_is_not_a_terminal(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [record(request_id=f"r{i}") for i in range(30)])
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    proc = subprocess.run([sys.executable, "-m", "auditor.cli", str(path), "--format", "json", "--exit-zero"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0
    assert "records read" not in proc.stderr


class _Bytes:
    """A progress that records each step of bytes read, and where each file ended."""

    def __init__(self):
        self.total, self.done, self.steps, self.records = None, 0, [], 0

    def __call__(self, n):
        self.records += n

    def set_total(self, total):
        self.total = total

    def add_bytes(self, n):
        self.done += n
        self.steps.append(self.done)

    def file_done(self, done):
        self.steps.append(("file done", done))


def _gz(path, text):
    import gzip

    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(text)
    return path


@pytest.mark.parametrize("kind", ["jsonl.gz", "csv", "parquet"])
def test_progress_counts_bytes_of_the_file_on_disk_as_it_is_read(tmp_path, monkeypatch, kind):
    """A .gz or CSV file's percentage moves while it is read and never passes the file's size (before, a .gz sat at
    0% and a CSV, counted by the JSON made of its rows, ran to 100% early), and Parquet counts too."""
    import random

    import pyarrow as pa
    import pyarrow.parquet as pq

    from auditor.loaders import readers

    monkeypatch.setattr(readers, "BATCH_ROWS", 200)
    monkeypatch.setattr(readers, "JSONL_BLOCK_BYTES", 64 << 10)
    rnd = random.Random(5)
    # random ids, so the .gz is several of its reader's reads long (repeated text compresses into one)
    rows = [record(request_id=f"r{i}-{rnd.randbytes(120).hex()}", service_id=f"svc-{rnd.getrandbits(40):x}") for i in range(3000)]
    if kind == "jsonl.gz":
        path = _gz(tmp_path / "a.jsonl.gz", "".join(json.dumps(r) + "\n" for r in rows))
    elif kind == "csv":
        cols = sorted({k for r in rows for k in r if not isinstance(r[k], (dict, list))})
        path = tmp_path / "a.csv"
        pd.DataFrame([{c: r.get(c) for c in cols} for r in rows]).to_csv(path, index=False)
    else:
        path = tmp_path / "a.parquet"
        pq.write_table(pa.Table.from_pylist([{k: v for k, v in r.items() if not isinstance(v, (dict, list))} for r in rows]), path)
    seen = _Bytes()
    result = audit([path], progress=seen)
    size = path.stat().st_size
    assert seen.total == size and seen.records == result.to_dict()["summary"]["read"] == 3000
    during = [s for s in seen.steps if not isinstance(s, tuple)]
    assert seen.steps[-1] == ("file done", size)
    assert during == sorted(during) and all(s <= size for s in during)
    if kind != "parquet":  # one statement: DuckDB's own estimate, polled twice a second, may not be sampled
        moved = sorted({s for s in during if 0 < s < size})
        assert len(moved) >= 3, seen.steps
