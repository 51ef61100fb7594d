"""Same input, same report, whatever the order the files are named in."""

from pathlib import Path

from auditor import audit
from auditor.reporters import renderer

SAMPLES = Path(__file__).parent.parent / "sample_logs"


def test_reports_identical_whatever_the_file_order():
    files = [SAMPLES / "portkey_logs.json", SAMPLES / "helicone_requests.csv", SAMPLES / "langfuse_observations.jsonl"]
    outputs = []
    for order in (files, list(reversed(files))):
        result = audit(order)
        outputs.append({fmt: renderer(fmt)(result) for fmt in ("json", "text", "html", "sarif", "markdown", "junit", "github")})
    assert outputs[0] == outputs[1]
