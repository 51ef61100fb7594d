"""Small input files with known defects at known lines, for the CI-format, gate and CLI tests."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import record, write_jsonl

REPO = Path(__file__).resolve().parent.parent
SAMPLE_LOGS = REPO / "sample_logs"


def good(path: Path, n: int = 3, cost: float = 1.0) -> Path:
    return write_jsonl(path, [record(request_id=f"g{i}", cost=cost) for i in range(1, n + 1)])


def bad(path: Path) -> Path:
    """Line 1 valid; 2 missing owner ($2); 3 missing pricing_source; 4 invalid status; 5 malformed JSON;
    6 a team id with characters every output format must escape."""
    rows = [
        json.dumps(record(request_id="b1", cost=1.0)),
        json.dumps(record(request_id="b2", team_id=None, cost=2.0)),
        json.dumps(record(request_id="b3", pricing_source=None, cost=0.5)),
        json.dumps(record(request_id="b4", status="ok", cost=0.25)),
        '{"request_id": "b5", "cost": ',
        json.dumps(record(request_id="b6,x:y%z", team_id="ops|@octo-team <b>x</b>", status="50%\nfail", cost=0.125)),
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


# Where each contract rule first flags a record in bad.jsonl (file line numbers).
BAD_FIRST_LINE = {"OWN001": 2, "CON001": 3, "CON002": 4, "INT002": 5}


# Files in sample_logs/ that are not gateway logs: the provider invoices (for --invoice) and the
# generator's manifest of seeded defects. The examples run on the log files only.
NOT_LOGS = ("invoices/", "expected_defects.json")


def sample_dir(tmp_path: Path) -> Path:
    """The log files of the repository's sample_logs/ (linked into a fresh directory) when another change
    has generated it, else a small stand-in with known defects."""
    d = tmp_path / "sample_logs"
    d.mkdir(parents=True, exist_ok=True)
    logs = []
    if SAMPLE_LOGS.is_dir():
        for p in sorted(SAMPLE_LOGS.rglob("*")):
            rel = p.relative_to(SAMPLE_LOGS).as_posix()
            if p.is_file() and not rel.startswith(NOT_LOGS) and not any(part.startswith(".") for part in p.parts):
                logs.append((p, rel))
    if logs:
        for p, rel in logs:
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            (d / rel).symlink_to(p)
        return d
    good(d / "good.jsonl")
    bad(d / "bad.jsonl")
    return d
