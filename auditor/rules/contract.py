"""Rules that read the contract check: a field absent, empty or malformed, and records never read."""

from __future__ import annotations

from auditor.contract.schema import OWNERSHIP_FIELDS
from auditor.contract.sql import MISSING_CODES, lit
from auditor.rules.base import Hits, RuleContext, rule
from auditor.rules.identity import implied_owner_sql

_MISSING = "[" + ", ".join(lit(c) for c in MISSING_CODES) + "]"
_OWNERSHIP = "[" + ", ".join(lit(f) for f in OWNERSHIP_FIELDS) + "]"


def _violations(where: str) -> str:
    """Per record: the failed checks (as field:code) that satisfy ``where`` over ``f`` (field) and ``c`` (code)."""
    return (
        f"list_filter(list_transform(_violations, lambda v: {{'f': split_part(v, ':', 1), 'c': split_part(v, ':', 2)}}),"
        f" lambda x: {where})"
    )


@rule("OWN001", "missing-owner", "error", blocks_attribution=True)
def missing_owner(ctx: RuleContext) -> Hits:
    """A record has no team, service, cost center or environment.

    What it checks: each of team_id, service_id, cost_center and environment is present, not null and not
    the empty string.

    Why it matters: a request with no owner cannot be charged to anyone. Its cost goes to the unallocated
    bucket, which somebody (usually the platform team) absorbs until the gateway rejects untagged traffic.

    Bad: {"request_id": "r1", "team_id": "support", "service_id": "ticket-triage", "cost_center": "", "environment": null}

    Good: {"request_id": "r1", "team_id": "support", "service_id": "ticket-triage", "cost_center": "cc-4210", "environment": "production"}
    """
    v = _violations(f"list_contains({_OWNERSHIP}, x.f) AND list_contains({_MISSING}, x.c)")
    return Hits(
        # fix: for a record with no team inside a trace, the owner its nearest ancestor span carries.
        sql=f"SELECT _row, 'no ' || array_to_string(list_transform({v}, lambda x: x.f), ', ') AS detail, o.fix"
        f" FROM {ctx.table} LEFT JOIN ({implied_owner_sql()}) o USING (_row) WHERE array_length({v}) > 0",
        message="{count} requests ({cost}) carry no complete owner (team, service, cost center, environment): "
        "their cost cannot be charged to any team and goes to the unallocated bucket.",
    )


@rule("CON001", "missing-field", "error")
def missing_field(ctx: RuleContext) -> Hits:
    """A required field of the chargeback record is absent, null or empty.

    What it checks: every required field other than the ownership fields (request_id, timestamp, provider,
    model, input/output tokens, cost, pricing_source, status, retry_count, api_key_id, and any field the
    policy makes required) has a value.

    Why it matters: without tokens, cost, price source or key, a team can dispute its charge and Finance
    cannot show how the number was computed.

    Bad: {"request_id": "r1", "model": "gpt-4o-mini", "cost": 0.0042, "pricing_source": null, "api_key_id": ""}

    Good: {"request_id": "r1", "model": "gpt-4o-mini", "cost": 0.0042, "pricing_source": "litellm/model_map:gpt-4o-mini", "api_key_id": "key-support-prod"}
    """
    v = _violations(f"NOT list_contains({_OWNERSHIP}, x.f) AND list_contains({_MISSING}, x.c)")
    fields = ctx.rows(
        f"SELECT x.f, count(*) FROM (SELECT unnest({v}) AS x FROM {ctx.table}) GROUP BY 1 ORDER BY 2 DESC, 1"
    )
    return Hits(
        sql=f"SELECT _row, 'missing ' || array_to_string(list_transform({v}, lambda x: x.f), ', ') AS detail"
        f" FROM {ctx.table} WHERE array_length({v}) > 0",
        message="{count} requests ({cost}) lack a required field: "
        + ", ".join(f"{f} ({n:,})" for f, n in fields[:6]) + ".",
        extra={"fields": {f: int(n) for f, n in fields}},
    )


@rule("CON002", "invalid-value", "error")
def invalid_value(ctx: RuleContext) -> Hits:
    """A field has the wrong type, does not match its pattern, or is not one of its allowed values.

    What it checks: types (tokens are integers, cost a number), patterns (timestamp in UTC ISO 8601, and the
    policy's own, e.g. cost_center ^cc-[0-9]{4}$), enums (status, outcome, traffic_class, the policy's
    environments) and bounds (no negative tokens or cost).

    Why it matters: a malformed value is as good as a missing one for chargeback, and worse when it looks
    plausible: "CC 4210" posts to no ledger, "-3" tokens lower a team's bill.

    Bad: {"cost_center": "CC 4210", "input_tokens": "812", "status": "ok", "timestamp": "05/01/2026 10:00"}

    Good: {"cost_center": "cc-4210", "input_tokens": 812, "status": "success", "timestamp": "2026-05-01T10:00:00Z"}
    """
    v = _violations(f"NOT list_contains({_MISSING}, x.c)")
    fields = ctx.rows(
        f"SELECT x.f || ' (' || x.c || ')', count(*) FROM (SELECT unnest({v}) AS x FROM {ctx.table}) GROUP BY 1 ORDER BY 2 DESC, 1"
    )
    return Hits(
        sql=f"SELECT _row, array_to_string(list_transform({v}, lambda x: x.f || ': ' || x.c), ', ') AS detail"
        f" FROM {ctx.table} WHERE array_length({v}) > 0",
        message="{count} requests ({cost}) have a malformed field: " + ", ".join(f"{f} {n:,}" for f, n in fields[:6]) + ".",
        extra={"fields": {f: int(n) for f, n in fields}},
    )


@rule("INT002", "unreadable-record", "error")
def unreadable_record(ctx: RuleContext) -> Hits | None:
    """A record in the input could not be read at all.

    What it checks: every line or element of every input file is a JSON object (or CSV row, or OTLP request)
    in a recognised format. Each unreadable one is listed with file:line and the reason.

    Why it matters: a record that cannot be read is spend that no team is charged for and that the
    reconciliation cannot explain: truncated files and logger bugs hide money.

    Bad: {"id": "chatcmpl-1", "response_cost": 0.0042, "metadata": {"user_api_key_team_id": "support"   (cut off)

    Good: {"id": "chatcmpl-1", "response_cost": 0.0042, "metadata": {"user_api_key_team_id": "support"}}
    """
    n = ctx.scalar("SELECT count(*) FROM rejects")
    if not n:
        return None
    sample = ctx.rows("SELECT source_file || ':' || line || ': ' || reason FROM rejects ORDER BY source_file, line LIMIT 5")
    return Hits(
        sql=f"SELECT _row, '' AS detail FROM {ctx.table} WHERE false",
        message=f"{n:,} records could not be read (first: {sample[0][0]}); their spend is in no team's total.",
        extra={"count": int(n), "sample": [s[0] for s in sample]},
    )
