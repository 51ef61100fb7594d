"""A registry drafted from the logs: what ``audit-logs init PATH...`` writes (issue 15, item 6).

The draft is an ``audit-logs.toml`` whose every entry carries its evidence (records, $) as a comment. It
registers what the logs already show as the usual value (each team's id and name, its services, the keys
that carry only its traffic, its environments and main cost center, the cost centers and environments
seen) and only *suggests*, in comments, what needs a person's decision: another spelling of a team id or
a service (an alias to accept, or a value to fix at the source), a key that carries several teams'
traffic, a cost-center shape that most values follow. So the audit with the draft as written flags the
same spellings and shared keys as the audit without it (and, in addition, the services that no request with
a team carries: the draft lists them for a person to place), and each suggestion a user accepts removes its
findings.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable

from auditor.fmt import usd
from auditor.policy import from_dict
from auditor.redact import MARKER
from auditor.rules.base import LLM
from auditor.rules.spellings import dominant_shape
from auditor.rules.owner_values import Value, resolve
from auditor.rules.team_records import DUPLICATE, NAME_AS_ID

@dataclass
class _Team:
    team_id: str
    records: int = 0
    cost: Decimal = Decimal(0)
    name: str | None = None
    spellings: list[tuple[str, int, Decimal]] = field(default_factory=list)
    services: dict[str, list] = field(default_factory=dict)  # service -> [records, cost]
    environments: dict[str, list] = field(default_factory=dict)
    cost_centers: dict[str, list] = field(default_factory=dict)
    keys: list[tuple[str, int, Decimal]] = field(default_factory=list)
    shared_keys: list[tuple[str, int, Decimal, list[str]]] = field(default_factory=list)


def _q(s: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML ones)."""
    return json.dumps(s, ensure_ascii=False)


def _ev(records: int, cost: Decimal) -> str:
    return f"{records:,} records, {usd(cost)}"


def _usable(v: str | None) -> bool:
    return bool(v) and MARKER not in v


def _add(bucket: dict[str, list], value: str, records: int, cost) -> None:
    """Sum (records, cost) per value: several logged spellings add up under the value they resolve to."""
    acc = bucket.setdefault(value, [0, Decimal(0)])
    acc[0] += int(records)
    acc[1] += Decimal(cost)


def _canon(resolved: dict[str, list[Value]], fld: str) -> dict[str, str]:
    return {v.value: (v.canonical or v.value) for v in resolved.get(fld, [])}


def _collect(con) -> tuple[dict[str, _Team], dict[str, list[Value]]]:
    """Per resolved team, from the de-duplicated LLM records of the audit's ``attribution`` table."""
    from auditor.scoring.attribution import team_names

    resolved = resolve(con, from_dict({}), LLM, ("team_id", "service_id", "cost_center", "environment"))
    teams: dict[str, _Team] = {}
    for team, spelling, n, c in con.execute(
            "SELECT owner, team_id, count(*), sum(cost) FROM attribution WHERE NOT is_copy AND owner IS NOT NULL"
            " GROUP BY 1, 2 ORDER BY 1, 2").fetchall():
        t = teams.setdefault(team, _Team(team))
        t.records += int(n)
        t.cost += Decimal(c)
        if spelling and spelling != team:
            t.spellings.append((spelling, int(n), Decimal(c)))
    for tid, name in team_names(con).items():
        if tid in teams:
            teams[tid].name = name
    services, cost_centers = _canon(resolved, "service_id"), _canon(resolved, "cost_center")
    for team, svc, env, cc, n, c in con.execute(
            "SELECT a.owner, a.service, r.environment, r.cost_center, count(*), sum(a.cost) FROM attribution a"
            " JOIN llm r USING (_row) WHERE NOT a.is_copy AND a.owner IS NOT NULL GROUP BY ALL ORDER BY ALL").fetchall():
        t = teams[team]
        for bucket, value in ((t.services, services.get(svc, svc)), (t.environments, env),
                              (t.cost_centers, cost_centers.get(cc, cc))):
            if _usable(value):
                _add(bucket, value, n, c)
    for key, per_team in _keys(con).items():
        owner, n, c = per_team[0]
        if len(per_team) == 1:
            teams[owner].keys.append((key, n, c))
        else:
            teams[owner].shared_keys.append((key, n, c, [f"{t} ({_ev(tn, tc)})" for t, tn, tc in per_team[1:]]))
    return teams, resolved


def _keys(con) -> dict[str, list[tuple[str, int, Decimal]]]:
    """Key -> [(team, records, cost)], the team with the most spend first."""
    out: dict[str, list[tuple[str, int, Decimal]]] = {}
    for key, team, n, c in con.execute(
            "SELECT key_id, owner, count(*), sum(cost) FROM attribution WHERE NOT is_copy AND owner IS NOT NULL"
            " AND key_id IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 4 DESC, 2").fetchall():
        if _usable(key):
            out.setdefault(key, []).append((team, int(n), Decimal(c)))
    return out


def _list(items: Iterable[str]) -> str:
    return "[" + ", ".join(_q(x) for x in items) + "]"


def _spelling_note(v: Value | None) -> str:
    if v is None:
        return ""
    if v.status == DUPLICATE:
        return f" (a second team record: names {v.names})"
    return f" (the team's name {v.names}, not its id)" if repr(v.value) == v.names else f" (a spelling of the team's name {v.names})"


def _team_lines(t: _Team, resolved: dict[str, list[Value]]) -> list[str]:
    lines = [f"[teams.{_q(t.team_id)}]", f"# {_ev(t.records, t.cost)}"]
    if t.name and t.name != t.team_id:
        lines.append(f"name = {_q(t.name)}")
    if t.spellings:
        why = {v.value: v for v in resolved.get("team_id", []) if v.status in (DUPLICATE, NAME_AS_ID)}
        lines.append("# Other spellings of this team id in the logs (free-form-tag): accept them as aliases, or fix them")
        lines.append("# at the source:")
        lines.append(f"# aliases = {_list(s for s, _, _ in t.spellings)}")
        lines += [f"#   {_q(s)}: {_ev(n, c)}" + _spelling_note(why.get(s)) for s, n, c in t.spellings]
    by_cost = lambda d: sorted(d.items(), key=lambda kv: (-kv[1][1], kv[0]))  # noqa: E731
    ccs = by_cost(t.cost_centers)
    if ccs:
        lines.append(f"cost_center = {_q(ccs[0][0])}  # {_ev(*ccs[0][1])}"
                     + (f"; also seen: {', '.join(f'{c} ({_ev(*e)})' for c, e in ccs[1:])}" if ccs[1:] else ""))
    for key, items in (("services", by_cost(t.services)), ("environments", by_cost(t.environments))):
        if items:
            lines.append(f"{key} = [")
            lines += [f"  {_q(v)},  # {_ev(*e)}" for v, e in items]
            lines.append("]")
    variants = sorted(v.value for v in resolved.get("service_id", []) if v.canonical in t.services
                      and v.status in ("variant", "fuzzy"))
    if variants:
        lines.append(f"# service spellings mapped to the services above (free-form-tag): {', '.join(variants)}")
    if t.keys:
        lines.append("keys = [")
        lines += [f"  {_q(k)},  # {_ev(n, c)}" for k, n, c in sorted(t.keys)]
        lines.append("]")
    for k, n, c, others in sorted(t.shared_keys):
        lines.append(f"# key {_q(k)} carries this team's traffic ({_ev(n, c)}) and also {'; '.join(others)}:")
        lines.append("# a copied key (copied-key). Add it to the keys of the team that owns it.")
    return lines


def _registry_lines(con, teams: dict[str, _Team], resolved: dict[str, list[Value]]) -> list[str]:
    """Cost centers no team has as its own, and every environment, with their evidence (each request once)."""
    canon = {f: {v.value: v.canonical or v.value for v in resolved.get(f, [])} for f in ("cost_center", "environment")}
    # A value off the shape the field's other values follow is a decision (fix it at the source, or accept it), not
    # an entry: registered, it would no longer be flagged.
    off_shape = {f: {v.value: v.shape for v in resolved.get(f, []) if v.status == "off-shape"} for f in canon}
    own = {max(t.cost_centers.items(), key=lambda kv: (kv[1][1], kv[0]))[0] for t in teams.values() if t.cost_centers}
    lines = ["[registry]"]
    for key, fld in (("cost_centers", "cost_center"), ("environments", "environment")):
        totals: dict[str, list] = {}
        odd: dict[str, list] = {}
        for value, n, c in con.execute(f"SELECT r.{fld}, count(*), sum(a.cost) FROM attribution a JOIN llm r USING (_row)"
                                       " WHERE NOT a.is_copy GROUP BY 1 ORDER BY 1").fetchall():
            value = canon[fld].get(value, value)
            if _usable(value) and not (fld == "cost_center" and value in own):
                _add(odd if value in off_shape[fld] else totals, value, n, c)
        if totals:
            lines.append(f"{key} = [")
            lines += [f"  {_q(v)},  # {_ev(*e)}" for v, e in sorted(totals.items())]
            lines.append("]")
        for v, e in sorted(odd.items()):
            lines.append(f"# {fld} {_q(v)} ({_ev(*e)}) does not follow the shape of the others, {off_shape[fld][v]}"
                         f" (free-form-tag): fix it at the source, or add it to {key}")
    return lines if len(lines) > 1 else []


def _unowned_lines(con, teams: dict[str, _Team], resolved: dict[str, list[Value]]) -> list[str]:
    """Services seen only on requests without a team: the registry has no place for them but under a team."""
    canon = {v.value: v.canonical or v.value for v in resolved.get("service_id", [])}
    owned = {s for t in teams.values() for s in t.services}
    rows: dict[str, list] = {}
    for svc, n, c in con.execute("SELECT service, count(*), sum(cost) FROM attribution WHERE NOT is_copy AND owner IS NULL"
                                 " AND service IS NOT NULL GROUP BY 1 ORDER BY 1").fetchall():
        svc = canon.get(svc, svc)
        if _usable(svc) and svc not in owned:
            _add(rows, svc, n, c)
    if not rows:
        return []
    return ["", "# Services seen only on requests that carry no team. Add each to the services of the team that owns it;",
            "# until then the audit with this policy flags them (free-form-tag: not in the ownership registry):",
            *[f"#   {_q(svc)}: {_ev(*e)}" for svc, e in sorted(rows.items())]]


def _shape_lines(resolved: dict[str, list[Value]]) -> list[str]:
    lines = []
    for fld in ("cost_center", "service_id", "team_id"):
        values = [(v.value, v.records) for v in resolved.get(fld, []) if _usable(v.value)]
        found = dominant_shape(values)
        if not found:
            continue
        pattern, share, distinct = found
        off = sorted(v for v, _ in values if not re.fullmatch(pattern[1:-1], v))
        lines.append(f"[fields.{fld}]")
        note = (f"# {share * 100:.1f}% of the records' {fld} values ({distinct:,} distinct) have this shape"
                + (f"; these do not: {', '.join(off[:10])}{' …' if len(off) > 10 else ''}" if off else ""))
        lines.append(note)
        # Active only when every value already follows it: a draft that adds findings is not a draft.
        lines.append(("" if not off else "# ") + f"pattern = {_q(pattern)}")
        lines.append("")
    return lines


def draft(result) -> str:
    """The draft policy text for an audit ``result`` run without a registry (``result.con`` holds its tables)."""
    teams, resolved = _collect(result.con)
    paths = ", ".join(sorted({i.path for i in result.inputs if i.records}))
    out = ["# audit-logs.toml, drafted by `audit-logs init` from the logs, for a person to review.",
           f"# From: {paths}",
           f"# {result.attribution.records - result.attribution.copies:,} LLM requests, {usd(result.attribution.total_cost)}"
           " (each request once). Each entry says what it rests on.",
           "# What needs a decision is a comment: uncomment to accept it. docs/policy.md describes every key.", ""]
    out += _shape_lines(resolved)
    for t in sorted(teams.values(), key=lambda t: (-t.cost, t.team_id)):
        out += _team_lines(t, resolved)
        out.append("")
    out += _registry_lines(result.con, teams, resolved)
    out += _unowned_lines(result.con, teams, resolved)
    text = "\n".join(out).rstrip() + "\n"
    from_dict(_parse(text), "(draft)")  # the draft must load: a bug here must not reach the user's file
    return text


def _parse(text: str) -> dict[str, Any]:
    return tomllib.loads(text)
