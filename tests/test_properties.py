"""Properties of the whole rule set on generated logs (hypothesis).

1. A generated record set with no defects yields no findings, for every rule (a policy whose registry
   holds exactly the generated owners and keys; costs are the model's price: gpt-4o-mini at $0.15 / 1M
   input and $0.60 / 1M output tokens; traces that cross teams carry on_behalf_of; retries carry retry_of).
2. Adding one defect of a kind yields exactly that finding: one record, its cost, no other rule. The kinds:
   this module's rules' defects (DEFECTS) and one clear defect for each other rule (OTHER_DEFECTS).
3. Findings (codes, counts, costs, flagged request ids) are invariant to record order and to splitting
   the input into several files.
4. The $ at risk and count per rule equal an independent computation made here, in Python, from the
   generated records (for the rules whose defects are generated: missing-owner, unlinked-retry,
   duplicate-request, secret-in-log, missing-on-behalf-of).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
import os
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor import audit
from auditor.policy import from_dict

TEAMS = {
    "support-automation": {"cost_center": "cc-1000", "services": ["ticket-triage"], "keys": ["key-support-prod"]},
    "research-tools": {"cost_center": "cc-2000", "services": ["web-search"], "keys": ["key-research-prod"]},
    "billing-ops": {"cost_center": "cc-3000", "services": ["invoice-reader"], "keys": ["key-billing-prod"]},
}
TEAM_IDS = sorted(TEAMS)
POLICY_DOC = {
    "teams": {t: {**v, "environments": ["production"]} for t, v in TEAMS.items()},
    "registry": {"environments": ["production"]},
}
PRICE_IN, PRICE_OUT = Decimal("0.15") / 10**6, Decimal("0.60") / 10**6
RAW_KEY = "sk-proj-Q2x9kT4mWv8bLp3sYz7nDf6hJr1cXa5eGu0i"
OWNER = ("team_id", "service_id", "cost_center", "environment")


@lru_cache(maxsize=1)
def policy():
    return from_dict(POLICY_DOC, "(properties)")


def priced(inp: int, out: int) -> Decimal:
    return inp * PRICE_IN + out * PRICE_OUT


def base(rid: str, team: str, second: int, inp: int, out: int) -> dict[str, Any]:
    t = TEAMS[team]
    return {
        "request_id": rid,
        "timestamp": f"2026-05-04T{10 + second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z",
        "provider": "openai", "model": "gpt-4o-mini",
        "input_tokens": inp, "output_tokens": out, "cost": float(priced(inp, out)),
        "pricing_source": "genai-prices", "status": "success", "retry_count": 0,
        "team_id": team, "service_id": t["services"][0], "cost_center": t["cost_center"],
        "environment": "production", "api_key_id": t["keys"][0],
    }


# --- generation ---------------------------------------------------------------------------------------

@dataclass
class Logs:
    records: list[dict[str, Any]] = field(default_factory=list)
    n: int = 0

    def rid(self, prefix: str = "r") -> str:
        self.n += 1
        return f"{prefix}{self.n:04d}"


tokens = st.tuples(st.integers(1, 5000), st.integers(1, 2000))


@st.composite
def clean_logs(draw) -> Logs:
    """Standalone requests, retried requests (failed attempts linked by retry_of) and traces (a root of one
    team calling other teams' records, which say on whose behalf)."""
    logs = Logs()
    second = 0
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["plain", "retried", "trace"]))
        team = draw(st.sampled_from(TEAM_IDS))
        second += draw(st.integers(1, 30))
        inp, out = draw(tokens)
        if kind == "plain":
            logs.records.append(base(logs.rid(), team, second, inp, out))
        elif kind == "retried":
            prev = None
            attempts = draw(st.integers(1, 3))
            for i in range(attempts + 1):
                last = i == attempts
                rec = base(logs.rid(), team, second + i, inp if last else 0, out if last else 0)
                rec.update(retry_count=i, status="success" if last else "failure")
                if prev:
                    rec["retry_of"] = prev
                if draw(st.booleans()):
                    rec["trace_id"] = f"grp-{logs.n}"
                prev = rec["request_id"]
                logs.records.append(rec)
        else:
            trace = f"t{logs.n:04d}"
            root = base(logs.rid(), team, second, inp, out)
            root.update(trace_id=trace, span_id=f"s{logs.n:04d}", principal="u-17")
            logs.records.append(root)
            parents = [root]
            for _ in range(draw(st.integers(1, 4))):
                parent = draw(st.sampled_from(parents))
                child_team = draw(st.sampled_from(TEAM_IDS))
                ci, co = draw(tokens)
                child = base(logs.rid(), child_team, second, ci, co)
                child.update(trace_id=trace, span_id=f"s{logs.n:04d}", parent_span_id=parent["span_id"])
                if child_team != team or parent.get("on_behalf_of"):
                    child["on_behalf_of"] = parent.get("on_behalf_of") or parent["team_id"]
                logs.records.append(child)
                parents.append(child)
    return logs


DEFECTS = ("missing-owner", "unlinked-retry", "dangling-retry", "duplicate-request", "secret-in-log", "missing-on-behalf-of")
# Defects of the other rules (their own semantics are tested in their case files; here: one defect, one finding).
OTHER_DEFECTS = {
    "cost-mismatch": lambda r: r.update(cost=float(Decimal(str(r["cost"])) * 3)),
    "missing-cost": lambda r: r.update(cost=0),
    "unpriced-model": lambda r: r.update(model="acme-internal-7b"),
    # a cost-center spelling (a team spelling would also make its key a copied-key, see copied-key's cases)
    "free-form-tag": lambda r: r.update(cost_center=r["cost_center"].replace("-", "_")),
    "copied-key": lambda r: r.update(team_id="support-automation", service_id="ticket-triage", cost_center="cc-1000",
                                     api_key_id="key-research-prod"),
    "untagged-eval-traffic": lambda r: r.update(tags=["eval"], workflow_id="nightly-eval-suite"),
    # o3 on 2025-06-20 still priced at the $10 / $40 per 1M it cost before the 2025-06-10 cut ($2 / $8)
    "stale-price": lambda r: r.update(model="o3", timestamp="2025-06-20T10:00:00Z",
                                      cost=float((r["input_tokens"] * 10 + r["output_tokens"] * 40) / Decimal(10**6))),
}
RULE_OF = {"dangling-retry": "unlinked-retry"}
ALL_DEFECTS = DEFECTS + tuple(OTHER_DEFECTS)


def add_defect(logs: Logs, kind: str, pick: int) -> dict[str, Any]:
    """Add one defect of ``kind`` (one new record), using the ``pick``-th existing record where one is needed."""
    src = logs.records[pick % len(logs.records)]
    team = src["team_id"] or TEAM_IDS[0]
    rec = base(logs.rid("d"), team, 7000 + logs.n, 1000 + logs.n, 100 + logs.n)
    if kind == "missing-owner":
        rec[OWNER[pick % 4]] = None
    elif kind == "unlinked-retry":
        rec.update(retry_count=1 + pick % 3)
    elif kind == "dangling-retry":
        rec.update(retry_count=1, retry_of=f"gone-{logs.n}")
    elif kind == "duplicate-request":
        rec = dict(src)
    elif kind == "secret-in-log":
        rec["feature"] = f"chat {RAW_KEY}"
    elif kind in OTHER_DEFECTS:
        OTHER_DEFECTS[kind](rec)
    elif kind == "missing-on-behalf-of":
        roots = [r for r in logs.records if r.get("span_id") and not r.get("parent_span_id")]
        if roots:
            root = roots[pick % len(roots)]
            other = TEAM_IDS[(TEAM_IDS.index(root["team_id"]) + 1) % len(TEAM_IDS)]
            rec = base(rec["request_id"], other, 7000 + logs.n, 1000, 100)
            rec.update(trace_id=root["trace_id"], span_id=f"x{logs.n:04d}", parent_span_id=root["span_id"])
        else:  # a new two-team trace
            rec = base(rec["request_id"], TEAM_IDS[1], 7000 + logs.n, 1000, 100)
            root = base(logs.rid("d"), TEAM_IDS[0], 7000 + logs.n, 500, 50)
            root.update(trace_id=f"dt{logs.n}", span_id=f"ds{logs.n}")
            logs.records.append(root)
            rec.update(trace_id=root["trace_id"], span_id=f"dx{logs.n}", parent_span_id=root["span_id"])
    logs.records.append(rec)
    return rec


# --- independent computation ------------------------------------------------------------------------

def _nz(v):
    return v not in (None, "")


def expected(records: list[dict[str, Any]]) -> dict[str, tuple[int, Decimal]]:
    """rule name -> (records flagged, $ at risk), computed here from the records without the auditor."""
    cost = lambda r: Decimal(str(r["cost"])) if r.get("cost") is not None else Decimal(0)  # noqa: E731
    out: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        if not all(_nz(r.get(f)) for f in OWNER):
            out["missing-owner"].append(r)
        if RAW_KEY in json.dumps(r):
            out["secret-in-log"].append(r)
    # duplicate-request: every copy after the first of a request id (trace ids: see the rule)
    groups = defaultdict(list)
    for r in records:
        traces = {x.get("trace_id") for x in records if x["request_id"] == r["request_id"] and _nz(x.get("trace_id"))}
        key = r.get("trace_id") if _nz(r.get("trace_id")) else (next(iter(traces)) if len(traces) == 1 else None)
        groups[(r["request_id"], key)].append(r)
    for copies in groups.values():
        out["duplicate-request"].extend(copies[1:])
    # unlinked-retry
    ids = [r["request_id"] for r in records]
    by_trace = defaultdict(set)
    for r in records:
        if _nz(r.get("trace_id")):
            by_trace[r["trace_id"]].add(r["request_id"])
    for r in records:
        link = r.get("retry_of")
        if _nz(link):
            if not any(i == link and i != r["request_id"] for i in ids):
                out["unlinked-retry"].append(r)
        elif (r.get("retry_count") or 0) > 0 and len(by_trace.get(r.get("trace_id"), ())) < 2:
            out["unlinked-retry"].append(r)
    # missing-on-behalf-of: the ancestors' teams, following parent_span_id within the trace
    spans = {}
    for r in records:
        if _nz(r.get("span_id")):
            spans.setdefault((r["trace_id"], r["span_id"]), r)
    for r in records:
        if not _nz(r.get("team_id")) or _nz(r.get("on_behalf_of")):
            continue
        node, seen, crosses = r, set(), False
        while _nz(node.get("parent_span_id")) and (node["trace_id"], node["parent_span_id"]) in spans:
            node = spans[(node["trace_id"], node["parent_span_id"])]
            if id(node) in seen:
                break
            seen.add(id(node))
            crosses |= _nz(node.get("team_id")) and node["team_id"] != r["team_id"]
        if crosses:
            out["missing-on-behalf-of"].append(r)
    return {k: (len(v), sum((cost(r) for r in v), Decimal(0))) for k, v in out.items() if v}


# --- running the audit ---------------------------------------------------------------------------------

def run(records: list[dict[str, Any]], parts: int = 1, select=None) -> dict[str, tuple[int, Decimal, frozenset]]:
    with TemporaryDirectory() as tmp:
        chunks = [records[i::parts] for i in range(parts)] if parts > 1 else [records]
        paths = []
        for i, chunk in enumerate(chunks):
            p = Path(tmp) / f"part-{i}.jsonl"
            p.write_text("".join(json.dumps(r) + "\n" for r in chunk), encoding="utf-8")
            paths.append(p)
        result = audit(paths, policy(), select=select)
        out = {}
        for f in result.findings:
            ids = frozenset(r[0] for r in result.con.execute(
                "SELECT r.request_id FROM finding_rows f JOIN records r USING (_row) WHERE f.code = ?", [f.code]).fetchall())
            out[f.name] = (f.count, f.cost, ids)
        return out


# Each example is a full audit (about a second on a busy machine); PROPERTY_EXAMPLES=10 runs ten times as many.
SCALE = int(os.environ.get("PROPERTY_EXAMPLES", "1"))


def SETTINGS(n):  # noqa: N802
    return settings(max_examples=n * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS(6)
@given(clean_logs())
def test_clean_logs_have_no_findings(logs):
    assert run(logs.records) == {}


@SETTINGS(12)
@given(clean_logs(), st.sampled_from(ALL_DEFECTS), st.integers(0, 1000))
def test_one_defect_gives_exactly_its_finding(logs, kind, pick):
    rec = add_defect(logs, kind, pick)
    found = run(logs.records)
    rule = RULE_OF.get(kind, kind)
    assert set(found) == {rule}, (kind, found)
    count, cost, ids = found[rule]
    assert count == 1 and ids == {rec["request_id"]}
    assert cost == Decimal(str(rec["cost"]))


@st.composite
def defective_logs(draw) -> Logs:
    logs = draw(clean_logs())
    for kind in draw(st.lists(st.sampled_from(ALL_DEFECTS), max_size=8)):
        add_defect(logs, kind, draw(st.integers(0, 1000)))
    return logs


@SETTINGS(5)
@given(defective_logs(), st.randoms(use_true_random=False), st.integers(1, 4))
def test_findings_invariant_to_order_and_split(logs, rnd, parts):
    """Shuffled, then dealt round-robin into ``parts`` files (1: order alone)."""
    whole = run(logs.records)
    shuffled = list(logs.records)
    rnd.shuffle(shuffled)
    assert run(shuffled, parts=parts) == whole


@SETTINGS(6)
@given(defective_logs())
def test_cost_at_risk_matches_an_independent_computation(logs):
    found = run(logs.records, select=["OWN001", "RET001", "INT001", "SEC001", "OBO001"])
    assert {k: (n, c) for k, (n, c, _) in found.items()} == expected(logs.records)


def test_generators_cover_every_defect_kind():
    """A fixed example of every defect, so a change that makes one impossible to generate is noticed."""
    logs = Logs()
    logs.records.append(base(logs.rid(), TEAM_IDS[0], 1, 1000, 200))
    for kind in DEFECTS:
        add_defect(logs, kind, 0)
    exp = expected(logs.records)
    assert set(exp) == {RULE_OF.get(k, k) for k in DEFECTS}
    assert exp["unlinked-retry"][0] == 2
    found = run(logs.records)
    assert {k: (n, c) for k, (n, c, _) in found.items()} == exp
