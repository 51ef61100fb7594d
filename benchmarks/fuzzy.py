"""Benchmark: the audit when owner values are many and distinct, or huge (issue 18, "inputs that make the
audit quadratic").

    python benchmarks/fuzzy.py                    # all three cases below
    python benchmarks/fuzzy.py --case distinct -n 100000

Cases (records are canonical JSON Lines, read with ``--input-format canonical``; one record per value):

distinct   N records, each with its own team name made of 2-3 words from a vocabulary of 2,000 made-up words
           plus a number, 1 in 20 a one-letter typo of another name (so clusters exist and must be found)
huge1mb    two records whose team_id is 1 MB of text
huge100kb  100 records whose team_id is 100 KB of text each

Each case runs the real CLI (``python -m auditor.cli``, all rules, JSON report) in a subprocess; the wall time and
the child's peak RSS (``ru_maxrss`` from ``os.wait4``) are printed. Nothing is extrapolated.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _record(i: int, team: str) -> dict:
    return {"request_id": f"r{i}", "timestamp": f"2026-03-{1 + i % 28:02d}T10:00:00Z", "provider": "openai",
            "model": "gpt-4o-mini", "input_tokens": 100, "output_tokens": 20, "cost": 0.000027, "pricing_source": "gateway", "status": "success", "retry_count": 0,
            "team_id": team, "service_id": "svc", "cost_center": "cc-1000", "environment": "production",
            "api_key_id": f"key-{i % 50}"}


def _distinct_names(n: int, rng: random.Random) -> list[str]:
    vocab = sorted({"".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 10))) for _ in range(2000)})
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        if names and rng.random() < 0.05:  # a typo of an existing name
            base = rng.choice(names)
            k = rng.randrange(len(base))
            name = base[:k] + rng.choice(string.ascii_lowercase) + base[k + 1:]
        else:
            name = "-".join(rng.choice(vocab) for _ in range(rng.randint(2, 3))) + f"-{rng.randint(0, 99)}"
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _write(path: Path, teams: list[str]) -> None:
    with path.open("w") as fh:
        for i, team in enumerate(teams):
            fh.write(json.dumps(_record(i, team)) + "\n")


def _run(path: Path, out: Path, profile: bool = False) -> tuple[float, float, int, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "auditor.cli", str(path), "--input-format", "canonical",
                             "--format", "json", "-o", str(out), *(["--profile"] if profile else [])], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read().decode()  # read before waiting: the stage table may fill the pipe
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status)
    if rc not in (0, 1):
        sys.exit(f"audit failed (exit {rc}): {err[-2000:]}")
    if profile:
        print(err.rstrip())
    return wall, usage.ru_maxrss / 1024, rc, usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", choices=["distinct", "huge1mb", "huge100kb", "all"], default="all")
    ap.add_argument("-n", type=int, default=100_000, help="records (= distinct names) for the distinct case")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--profile", action="store_true", help="print the audit's stage table (--profile) after each case")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    cases = ["distinct", "huge1mb", "huge100kb"] if args.case == "all" else [args.case]
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            path = Path(tmp) / f"{case}.jsonl"
            if case == "distinct":
                teams = _distinct_names(args.n, rng)
            elif case == "huge1mb":
                teams = ["".join(rng.choice(string.ascii_lowercase + " -") for _ in range(1 << 20)) for _ in range(2)]
            else:
                teams = ["".join(rng.choice(string.ascii_lowercase + " -") for _ in range(100_000)) for _ in range(100)]
            _write(path, teams)
            wall, rss, rc, cpu = _run(path, Path(tmp) / f"{case}.json", args.profile)
            report = json.loads((Path(tmp) / f"{case}.json").read_text())
            tag = next((f for f in report.get("findings", []) if f.get("code") == "TAG001"), None)
            print(f"{case:10s} records={len(teams):>7,d} size={path.stat().st_size / 1e6:7.1f} MB  audit {wall:7.2f} s"
                  f" (CPU {cpu:6.2f} s)  peak RSS {rss:7.0f} MB  exit {rc}  free-form-tag records={tag and tag.get('count')}")


if __name__ == "__main__":
    main()
