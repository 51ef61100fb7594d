"""The examples in the repository are run, not just read: the GitHub Actions workflow's `run:` lines,
the pre-commit hook's entry with the example config's args, and the example policy.

Each file is first validated by the tool that will read it: the workflow against GitHub's workflow
schema (as vendored by check-jsonschema), the hook manifest and the config by pre-commit's own loader.
The commands run against sample_logs/ when it has been generated, else against a small stand-in.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from auditor.policy import load_policy, policy_schema
from ci_samples import REPO, sample_dir

WORKFLOW = REPO / "examples" / "github-actions" / "audit-logs.yml"
HOOKS = REPO / ".pre-commit-hooks.yaml"
PRE_COMMIT_CONFIG = REPO / "examples" / "pre-commit-config.yaml"
POLICY = REPO / "examples" / "audit-logs.toml"
SARIF_SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


@pytest.fixture
def workdir(tmp_path):
    """A working directory with sample_logs/ in it: the repository's log files when generated, else a stand-in."""
    work = tmp_path / "work"
    work.mkdir()
    sample_dir(work)
    return work


def _bash(cmd: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    # The examples call `audit-logs` by name, as a user's shell would: put the console script of the
    # interpreter running the tests first on PATH, so a venv that is not activated (CI) is the one tested.
    bindir = str(Path(sys.executable).parent)
    path = os.pathsep.join([bindir, os.environ.get("PATH", "")])
    return subprocess.run(["bash", "-c", cmd], cwd=cwd, env={**os.environ, "PATH": path, **(env or {})},
                          capture_output=True, text=True, timeout=600)


# ---------------------------------------------------------------- GitHub Actions

def test_workflow_is_a_valid_github_workflow():
    from importlib import resources

    schema = json.loads(resources.files("check_jsonschema").joinpath(
        "builtin_schemas", "vendor", "github-workflows.json").read_text(encoding="utf-8"))
    doc = _load_workflow()
    jsonschema.validate(doc, schema)
    steps = doc["jobs"]["audit-logs"]["steps"]
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif"))
    written = [s["run"] for s in steps if "run" in s and "--format sarif" in s["run"]]
    assert written and f"-o {upload['with']['sarif_file']}" in written[0]
    assert doc["permissions"]["security-events"] == "write"
    assert any("$GITHUB_STEP_SUMMARY" in s.get("run", "") and "--format markdown" in s["run"] for s in steps)


def _load_workflow() -> dict:
    doc = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    if True in doc:  # YAML 1.1 (PyYAML) reads the key `on` as a boolean; GitHub reads it as "on"
        doc["on"] = doc.pop(True)
    return doc


def _audit_commands(doc) -> list[tuple[str, str]]:
    out = []
    for step in doc["jobs"]["audit-logs"]["steps"]:
        for line in step.get("run", "").splitlines():
            if line.strip().startswith("audit-logs"):
                out.append((step["name"], line.strip()))
    return out


def test_workflow_commands_run_on_sample_logs(workdir):
    commands = _audit_commands(_load_workflow())
    assert len(commands) == 3
    summary = workdir / "step-summary.md"
    for name, cmd in commands:
        p = _bash(cmd, workdir, {"GITHUB_STEP_SUMMARY": str(summary)})
        assert p.returncode in (0, 1), f"{name}: {cmd}\n{p.stderr}"  # 2 would be a broken example
        if "--exit-zero" in cmd:
            assert p.returncode == 0
        if "--format github" in cmd:
            for line in p.stdout.splitlines():
                assert re.match(r"^(::(error|warning|notice)( [^:]*)?::.*|audit-logs (PASS|FAIL): .*)$", line), line
    sarif = json.loads((workdir / "audit-logs.sarif").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    assert summary.read_text(encoding="utf-8").startswith("## ")


# ---------------------------------------------------------------- pre-commit

def test_pre_commit_manifest_and_config_load_with_pre_commit():
    from pre_commit.clientlib import load_config, load_manifest

    hooks = load_manifest(str(HOOKS))
    assert [h["id"] for h in hooks] == ["audit-logs-check-schema"]
    assert hooks[0]["entry"].split()[:2] == ["audit-logs", "check-schema"]
    config = load_config(str(PRE_COMMIT_CONFIG))
    used = [h["id"] for repo in config["repos"] for h in repo["hooks"]]
    assert used == ["audit-logs-check-schema"]


def test_pre_commit_hook_runs_on_changed_samples(workdir):
    from pre_commit.clientlib import load_config, load_manifest

    hook = load_manifest(str(HOOKS))[0]
    configured = load_config(str(PRE_COMMIT_CONFIG))["repos"][0]["hooks"][0]
    # What pre-commit would pass: the staged files matching both the config's and the hook's `files`.
    files = sorted(p.relative_to(workdir).as_posix() for p in (workdir / "sample_logs").rglob("*") if p.is_file())
    files = [f for f in files if re.search(configured.get("files", ""), f) and re.search(hook["files"], f)]
    assert files
    cmd = [*shlex.split(hook["entry"]), *configured.get("args", []), *hook["args"], *files]
    p = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=600)
    assert p.returncode in (0, 1), p.stderr
    for f in files:
        assert re.search(rf"^(PASS|FAIL)  {re.escape(f)}", p.stdout, re.M), f
    # A clean sample passes the hook, a broken one fails it.
    from ci_samples import bad, good

    (workdir / "new").mkdir()
    good(workdir / "new" / "ok.jsonl", cost=0.00027)
    bad(workdir / "new" / "broken.jsonl")
    base = [*shlex.split(hook["entry"]), *configured.get("args", [])]
    assert subprocess.run([*base, "new/ok.jsonl"], cwd=workdir, capture_output=True).returncode == 0
    assert subprocess.run([*base, "new/ok.jsonl", "new/broken.jsonl"], cwd=workdir, capture_output=True).returncode == 1


# ---------------------------------------------------------------- the example policy and its docs

def test_example_policy_loads_and_runs(workdir):
    policy = load_policy(POLICY)
    assert policy.teams and policy.gate["fail_on"] == "error" and policy.thresholds["attributable_pct"] == 95
    p = _bash(f"audit-logs sample_logs/ --policy {shlex.quote(str(POLICY))} --format json", workdir)
    assert p.returncode in (0, 1), p.stderr
    assert json.loads(p.stdout)["policy"]["source"] == str(POLICY)


def _keys(schema: dict, prefix: str = "") -> set[str]:
    out = set()
    for k, v in (schema.get("properties") or {}).items():
        out.add(f"{prefix}{k}")
        out |= _keys(v, f"{prefix}{k}.")
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        out |= _keys(extra, f"{prefix}<name>.")
    return out


def test_policy_docs_cover_every_schema_key():
    """docs/policy.md documents the policy field by field: every key of the schema is named there,
    and every property in the schema has a description."""
    doc = (REPO / "docs" / "policy.md").read_text(encoding="utf-8")
    schema = policy_schema()
    for key in sorted(_keys(schema)):
        leaf = key.split(".")[-1]
        assert any(f in doc for f in (f"`{leaf}`", f"[{leaf}]", f"[{leaf}.", f"{leaf} =")), key

    def described(s: dict, where: str):
        for k, v in (s.get("properties") or {}).items():
            assert "description" in v, f"{where}{k}"
            described(v, f"{where}{k}.")
        if isinstance(s.get("additionalProperties"), dict):
            described(s["additionalProperties"], f"{where}<name>.")

    described(schema, "")
    assert "```toml" in doc and POLICY.name in doc


def test_policy_docs_example_is_the_shipped_example():
    import tomllib

    doc = (REPO / "docs" / "policy.md").read_text(encoding="utf-8")
    block = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    assert tomllib.loads(block) == tomllib.loads(POLICY.read_text(encoding="utf-8"))
