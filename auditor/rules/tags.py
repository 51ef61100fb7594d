"""Tag hygiene: ownership values that are free text rather than known owners. The resolution of each
distinct value to the owner it means (registry or spelling clusters) is in :mod:`auditor.rules.owner_values`."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from auditor.contract.sql import lit
from auditor.rules.base import Hits, RuleContext, rule
from auditor.rules.owner_values import TAG_FIELDS, TAG_PARAMS, Value, resolve
from auditor.rules.team_records import DUPLICATE, NAME_AS_ID


def _detail(v: Value) -> str:
    field = "tag" if v.field == "tags" else v.field
    if v.status == "variant":
        return f"{field} {v.value!r} is another spelling of {v.canonical!r}"
    if v.status == "fuzzy":
        return f"{field} {v.value!r} looks like a misspelling of {v.canonical!r}"
    if v.status == DUPLICATE:
        return f"team_id {v.value!r} is a second team record of {v.canonical!r}: names {v.names}"
    if v.status == NAME_AS_ID:
        how = "" if repr(v.value) == v.names else "a spelling of "
        return f"team_id {v.value!r} is {how}the name {v.names} of team {v.canonical!r}, not its id"
    if v.status == "off-shape":
        return f"{field} {v.value!r} does not follow the shape of the other {field} values: {v.shape}"
    if v.status == "invalid":
        return f"{field} {v.value!r} does not match the policy's pattern for {field}" + (
            f" (probably {v.canonical!r})" if v.canonical else "")
    return f"{field} {v.value!r} is not in the ownership registry"


@rule("TAG001", "free-form-tag", "error", params=TAG_PARAMS, blocks_attribution=True)
def free_form_tag(ctx: RuleContext) -> Hits | None:
    """An ownership value is free text: not a known owner, or one of several spellings of one owner.

    What it checks: every distinct value of team_id, service_id, cost_center, environment and of each
    tag. With an ownership registry in the policy (``[teams.<id>]`` with services, cost_center,
    environments and aliases; ``[registry]`` cost_centers and environments) a value of a field the
    registry lists must be one of its values or aliases; otherwise the value is flagged, with the
    registry value it most likely means as the fix (same spelling up to case and separators, or a
    close fuzzy match). A value that fails the policy's ``[fields.<field>]`` pattern or enum is
    flagged too. For fields the registry does not list (and for tags), spellings are clustered
    (case and separators normalised, then rapidfuzz on the distinct values only, with a guard so
    "search-api" / "search-ui", "team-a" / "team-b" and "billing" / "billing-eu" stay apart); the
    spelling with the most spend (then records) is the canonical one and every other member of the
    cluster is flagged with it as the fix. Values alone in their cluster are not flagged. Team ids
    are also judged by their names (team_name, e.g. LiteLLM's team alias): several team ids whose
    names are spellings of one team ("data-platform" and "Data Platform") are one team with two
    records; the record with less spend is flagged, with the other as the fix. A team id that no record
    names but that is a logged team's name or a spelling of it ("Support Automation" typed by hand where
    the gateway's team ids are UUIDs) means that team: it is flagged, with the team's id as the fix, and
    its spend is that team's. Without a registry,
    a value that follows no shape its field's other values follow (cost centers "FIN-" and four
    digits on most of the spend, "q3 campaign" on the rest) is flagged with that shape.

    Which records block attribution: records whose value is not in the registry (with a registry for
    that field), or does not match the policy's pattern, cannot be posted to any ledger owner and go to
    the unallocated bucket. Without a registry, a spelling variant still names an owner (the canonical
    spelling): it is flagged, but its cost stays attributable. Tags never block attribution.
    Parameters: ``fuzzy_cutoff`` (rapidfuzz ratio, 0-100, default 85), ``fields`` (which fields to check).

    Why it matters: chargeback groups spend by these values. "support-automation", "Support
    Automation" and "supp-automation" become three owners on the bill, each too small to notice,
    and a value no registry knows cannot be posted to any cost center at all.

    Bad: {"team_id": "Support Automation", "service_id": "ticket_triage", "cost_center": "cc-4210"}

    Good: {"team_id": "support-automation", "service_id": "ticket-triage", "cost_center": "cc-4210"}
    """
    fields = tuple(f for f in ctx.params.get("fields", TAG_FIELDS) if f in TAG_FIELDS)
    if not fields:
        return None
    resolved = resolve(ctx.con, ctx.policy, ctx.table, fields, float(ctx.params["fuzzy_cutoff"]))
    flagged = [v for vs in resolved.values() for v in vs if v.flagged]
    if not flagged:
        return None
    arrow = pa.table({
        "f": pa.array([v.field for v in flagged], pa.string()),
        "v": pa.array([v.value for v in flagged], pa.string()),
        "detail": pa.array([_detail(v) for v in flagged], pa.string()),
        "fix": pa.array([None if v.canonical is None else f"{'tag' if v.field == 'tags' else v.field}: {v.canonical}"
                         for v in flagged], pa.string()),
        "blocks": pa.array([v.blocks for v in flagged], pa.bool_()),
        "id": pa.array(range(1, len(flagged) + 1), pa.int64()),
    })
    ctx.con.register("_tag001_arrow", arrow)
    ctx.con.execute("CREATE OR REPLACE TEMP TABLE _tag001_map AS SELECT * FROM _tag001_arrow")
    ctx.con.unregister("_tag001_arrow")
    # Per record: the details (and fixes) of its flagged values in (field, value) order, joined by '; '. Each owner
    # field holds one value per record, so it is a join with that field's flagged values (no GROUP BY over every
    # value); only tags (several per record) are grouped, over the records holding a flagged tag.
    columns = []  # per field, in field-name order: its detail, fix, blocks, and a column set when it has a hit
    joins = []
    for i, f in enumerate(sorted({v.field for v in flagged})):
        if f == "tags":
            # Most records hold one flagged tag: their detail is that tag's; ordered string_agg only for the others.
            joins.append(
                " LEFT JOIN (WITH tg AS (SELECT x._row, x.v, m.id, m.detail, m.fix, m.blocks"
                f" FROM (SELECT _row, unnest(list_distinct(tags)) AS v FROM {ctx.table}) x"
                " JOIN _tag001_map m ON m.f = 'tags' AND m.v = x.v),"
                " n AS (SELECT _row, count(*) AS n, min(id) AS id, bool_or(blocks) AS blocks FROM tg GROUP BY _row)"
                " SELECT n._row, m.detail, m.fix, n.blocks FROM n JOIN _tag001_map m USING (id) WHERE n.n = 1"
                " UNION ALL"
                " SELECT _row, string_agg(detail, '; ' ORDER BY v), string_agg(fix, '; ' ORDER BY v), bool_or(blocks)"
                f" FROM tg WHERE _row IN (SELECT _row FROM n WHERE n > 1) GROUP BY _row) m{i} ON m{i}._row = l._row"
            )
            columns.append((f"m{i}.detail", f"m{i}.fix", f"m{i}.blocks", f"m{i}._row"))
        else:
            joins.append(f" LEFT JOIN (SELECT * FROM _tag001_map WHERE f = {lit(f)}) m{i} ON m{i}.v = l.\"{f}\"")
            columns.append((f"m{i}.detail", f"m{i}.fix", f"m{i}.blocks", f"m{i}.v"))
    sql = (
        f"SELECT l._row, concat_ws('; ', {', '.join(c[0] for c in columns)}) AS detail,"
        f" nullif(concat_ws('; ', {', '.join(c[1] for c in columns)}), '') AS fix,"
        f" {' OR '.join(f'coalesce({c[2]}, false)' for c in columns)} AS blocks"
        f" FROM {ctx.table} l{''.join(joins)} WHERE {' OR '.join(f'{c[3]} IS NOT NULL' for c in columns)}"
    )

    # Report section: the clusters with a flagged member, and the values no registry knows.
    clusters: dict[tuple[str, str], list[Value]] = {}
    for vs in resolved.values():
        for v in vs:
            if v.canonical is not None:
                clusters.setdefault((v.field, v.canonical), []).append(v)
    shown = []
    for (field, canonical), members in clusters.items():
        if not any(m.flagged for m in members):
            continue
        members.sort(key=lambda m: (-m.cost, -m.records, m.value))
        shown.append({
            "field": field, "canonical": canonical, "source": members[0].source,
            "records": sum(m.records for m in members), "cost": sum((m.cost for m in members), Decimal(0)),
            "flagged_records": sum(m.records for m in members if m.flagged),
            "flagged_cost": sum((m.cost for m in members if m.flagged), Decimal(0)),
            "values": [{"value": m.value, "records": m.records, "cost": m.cost, "status": m.status} for m in members],
        })
    shown.sort(key=lambda c: (-c["flagged_cost"], -c["flagged_records"], c["field"], c["canonical"]))
    order = lambda u: (-u["cost"], -u["records"], u["field"], u["value"])  # noqa: E731
    unknown = sorted(({"field": v.field, "value": v.value, "records": v.records, "cost": v.cost, "status": v.status}
                      for v in flagged if v.canonical is None and v.status != "off-shape"), key=order)
    off_shape = sorted(({"field": v.field, "value": v.value, "records": v.records, "cost": v.cost, "shape": v.shape}
                        for v in flagged if v.status == "off-shape"), key=order)
    limit = int(ctx.params.get("max_clusters_in_report", 100))
    n_variants = sum(1 for v in flagged if v.canonical is not None and v.status not in (DUPLICATE, NAME_AS_ID))
    dups = [v for v in flagged if v.status == DUPLICATE]
    as_names = sorted((v for v in flagged if v.status == NAME_AS_ID), key=lambda v: (-v.cost, -v.records, v.value))
    n_unknown = len(unknown)
    parts_msg = []
    if n_variants:
        example = next((m for c in shown for m in c["values"] if m["status"] in ("variant", "fuzzy", "invalid")), None)
        parts_msg.append(
            f"{n_variants:,} value{'s are' if n_variants != 1 else ' is'} another spelling of a known owner"
            + (f" (e.g. {example['value']!r} for {next(c['canonical'] for c in shown if example in c['values'])!r})" if example else "")
        )
    if as_names:
        parts_msg.append(f"{len(as_names):,} team id{'s are' if len(as_names) != 1 else ' is'} a team's name where its id goes"
                         f" (e.g. {as_names[0].value!r} for {as_names[0].canonical!r}, named {as_names[0].names})")
    if dups:
        parts_msg.append(f"{len(dups):,} team record{'s are' if len(dups) != 1 else ' is'} a second record of another team"
                         f" (e.g. {dups[0].value!r} for {dups[0].canonical!r}: names {dups[0].names})")
    # Of the values with no owner to suggest: the ones that fail the policy's pattern or enum say so (e.g.
    # 'q3 campaign' against ^FIN-[0-9]{4}$), the others match no known owner.
    invalid = [u for u in unknown if u["status"] == "invalid"]
    n_no_owner = n_unknown - len(invalid)
    if invalid:
        parts_msg.append(f"{len(invalid):,} value{'s fail' if len(invalid) != 1 else ' fails'} the policy's pattern or enum"
                         f" for the field (e.g. {invalid[0]['field']} {invalid[0]['value']!r})")
    if n_no_owner:
        parts_msg.append(f"{n_no_owner:,} value{'s' if n_no_owner != 1 else ''} match{'' if n_no_owner != 1 else 'es'} no known owner"
                         + (" in the ownership registry" if ctx.policy.has_registry else ""))
    if off_shape:
        ex = off_shape[0]
        parts_msg.append(f"{len(off_shape):,} value{'s' if len(off_shape) != 1 else ''} break{'' if len(off_shape) != 1 else 's'}"
                         f" the shape the field's other values follow (e.g. {ex['field']} {ex['value']!r} against"
                         f" {ex['shape']})")
    message = ("{count} requests ({cost}) carry free-form owner values: " + "; ".join(parts_msg)
               + ". Chargeback would split their spend across spellings or post it to no one; map them to the canonical value.")
    return Hits(
        sql=sql,
        message=message,
        extra={
            "clusters": shown[:limit],
            "clusters_total": len(shown),
            "unknown_values": unknown[:limit],
            "unknown_values_total": n_unknown,
            **({"off_shape_values": off_shape[:limit], "off_shape_values_total": len(off_shape)} if off_shape else {}),
        },
    )
