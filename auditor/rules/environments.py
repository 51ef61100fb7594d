"""Environment hygiene: non-production spend mixed into production, and eval traffic charged as production.

Shared definitions (also used by ``copied-key``):

* a record's **environment class** is ``production`` when its environment (trimmed, any case), or the
  value it resolves to (see ``owner_values.resolve``: registry value or canonical spelling), is one of the
  policy's ``[registry] production_environments`` (default production, prod); otherwise its
  resolved environment value. Records with no environment have no class and are never flagged here.
* a key's **class** (one per api_key_id, first match wins):
  1. ``production`` by the registry: in ``[registry] production_only_keys``, or in the ``keys`` of a
     team that is production-only (``production_only = true``, or ``environments`` all production);
  2. ``production`` by name: the key id or its alias matches ``production_key_pattern`` (``prod``,
     ``production``, ``prd`` as a word);
  3. ``nonproduction`` by name: the key id or its alias matches ``nonproduction_key_pattern``
     (``staging``, ``stage``, ``stg``, ``dev``, ``development``, ``sandbox``, ``qa``, ``uat``, ``test``);
  4. ``production`` by traffic: at least ``production_key_share`` (default 0.5) of the key's records
     that carry an environment are production.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from auditor.contract.sql import lit
from auditor.policy import Policy
from auditor.rules.base import LLM, Hits, RuleContext, rule
from auditor.rules.keyids import key_label_table
from auditor.engine import temp_table
from auditor.rules.owner_values import Value, canonical_table, resolve

VALID_KEY = "api_key_id IS NOT NULL AND api_key_id <> '' AND api_key_id NOT LIKE '%[masked secret]%'"

ENV_PARAMS: dict[str, Any] = {
    "production_key_share": 0.5,
    "production_key_pattern": r"(^|[^a-z0-9])(prod|production|prd)([^a-z0-9]|$)",
    "nonproduction_key_pattern": r"(^|[^a-z0-9])(staging|stage|stg|dev|development|sandbox|qa|uat|test)([^a-z0-9]|$)",
}

EVAL_PARAMS: dict[str, Any] = {
    "eval_pattern": (
        r"(^|[^a-z])(evals?|evaluations?|evaluators?|benchmarks?|benchmarking|regression[-_ ]?tests?"
        r"|golden[-_ ]?(sets?|datasets?)|red[-_ ]?team(ing)?|load[-_ ]?tests?|smoke[-_ ]?tests?)([^a-z]|$)"
    ),
    "eval_fields": ["tags", "workflow_id", "feature", "service_id", "prompt_template_id", "api_key_alias",
                    "api_key_id", "principal"],
}


def production_set(policy: Policy) -> list[str]:
    return sorted({e.strip().lower() for e in policy.production_environments if e.strip()})


def production_label(policy: Policy) -> str:
    """The name of the production class in details: the first of the policy's production environments."""
    return next((e.strip().lower() for e in policy.production_environments if e.strip()), "production")


def _in_list(expr: str, values: list[str]) -> str:
    return f"{expr} IN ({', '.join(lit(v) for v in values)})" if values else "false"


def production_only_teams(policy: Policy) -> list[str]:
    prod = set(production_set(policy))
    return sorted(t.team_id for t in policy.teams.values()
                  if t.production_only or (t.environments and all(e.strip().lower() in prod for e in t.environments)))


def production_only_cost_centers(policy: Policy) -> list[str]:
    """Cost centers every registry team of which is production-only."""
    po = set(production_only_teams(policy))
    by_cc: dict[str, list[str]] = {}
    for t in policy.teams.values():
        if t.cost_center:
            by_cc.setdefault(t.cost_center, []).append(t.team_id)
    return sorted(cc for cc, teams in by_cc.items() if all(t in po for t in teams))


def registry_production_keys(policy: Policy) -> list[str]:
    po = set(production_only_teams(policy))
    keys = set(policy.production_only_keys)
    for t in policy.teams.values():
        if t.team_id in po:
            keys.update(t.keys)
    return sorted(keys)


def env_class_table(con, policy: Policy, resolved: dict[str, list[Value]], name: str) -> str:
    """Temp table ``name(v, cls, is_prod)``: each distinct environment value, its class (the production
    label, or the value it resolves to) and whether that class is production (see the module docstring)."""
    prod = set(production_set(policy))
    label = production_label(policy)
    rows = []
    for v in resolved.get("environment", []):
        canon = v.canonical if v.canonical is not None else v.value
        is_prod = v.value.strip().lower() in prod or canon.strip().lower() in prod
        rows.append((v.value, label if is_prod else canon, is_prod))
    return temp_table(con, name, {"v": pa.array([r[0] for r in rows], pa.string()), "cls": pa.array([r[1] for r in rows], pa.string()),
                                  "is_prod": pa.array([r[2] for r in rows], pa.bool_())})


def key_class_table(con, policy: Policy, params: dict[str, Any], envcls: str, name: str, table: str = LLM) -> str:
    """Temp table ``name(k, cls, why)``: the class of every key (see the module docstring)."""
    p = {**ENV_PARAMS, **params}
    reg = registry_production_keys(policy)
    prod_pat, non_pat = lit(p["production_key_pattern"]), lit(p["nonproduction_key_pattern"])
    share = float(p["production_key_share"])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {name} AS
        WITH per AS (
            -- grouped by alias first: the patterns are matched once per (key, alias), not once per record
            SELECT k, sum(n)::BIGINT AS n, sum(np)::BIGINT AS np,
                   bool_or(regexp_matches(lower(alias), {prod_pat})) AS alias_prod,
                   bool_or(regexp_matches(lower(alias), {non_pat})) AS alias_non
            FROM (
                SELECT l.api_key_id AS k, coalesce(l.api_key_alias, '') AS alias,
                       count(ec.cls) AS n, count(*) FILTER (WHERE ec.is_prod) AS np
                FROM {table} l LEFT JOIN {envcls} ec ON ec.v = l.environment
                WHERE {VALID_KEY} GROUP BY 1, 2
            ) GROUP BY 1
        ), classed AS (
            SELECT k, np, n, CASE
                WHEN {_in_list('k', reg)} THEN 'production:registry'
                WHEN regexp_matches(lower(k), {prod_pat}) OR alias_prod THEN 'production:name'
                WHEN regexp_matches(lower(k), {non_pat}) OR alias_non THEN 'nonproduction:name'
                WHEN np > 0 AND np >= {share} * n THEN 'production:traffic'
            END AS c FROM per
        )
        SELECT k, split_part(c, ':', 1) AS cls, split_part(c, ':', 2) AS why, np, n FROM classed WHERE c IS NOT NULL
    """)
    return name


def key_home_env_table(con, envcls: str, keycls: str, name: str, table: str = LLM) -> str:
    """Temp table ``name(k, home)``: the environment class a key belongs to: none for a production key (rule 1
    judges it), else the class with the most spend on it (then most records, then name), a non-production
    class first for a key named as non-production."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {name} AS
        SELECT k, home FROM (
            SELECT l.api_key_id AS k, CASE WHEN any_value(kc.cls) = 'production' THEN NULL ELSE ec.cls END AS home,
                   row_number() OVER (PARTITION BY l.api_key_id
                                      ORDER BY coalesce(bool_or(kc.cls = 'nonproduction' AND ec.is_prod), false),
                                               sum(coalesce(l.cost, 0)) DESC, count(*) DESC, ec.cls) AS rn
            FROM {table} l JOIN {envcls} ec ON ec.v = l.environment LEFT JOIN {keycls} kc ON kc.k = l.api_key_id
            WHERE {VALID_KEY} GROUP BY l.api_key_id, ec.cls
        ) WHERE rn = 1 AND home IS NOT NULL
    """)
    return name


@rule("ENV001", "environment-bleed", "warning", params=ENV_PARAMS)
def environment_bleed(ctx: RuleContext) -> Hits | None:
    """Non-production traffic on production-only keys, teams or cost centers, or staging traffic in production totals.

    What it checks: three kinds of record. A record is production when its environment (trimmed, any
    case, or the registry value / canonical spelling it resolves to) is one of [registry]
    production_environments (default production, prod); non-production when it has any other
    environment; records with no environment are not judged. A key's class, first match wins:
    production-only in the registry ([registry] production_only_keys, or a key of a production-only
    team); production by name (id or alias matches production_key_pattern: prod, production, prd);
    non-production by name (nonproduction_key_pattern: staging, dev, sandbox, qa, uat, test, ...);
    production by traffic (at least production_key_share, default 0.5, of its records with an
    environment are production). Flagged:
    (1) a non-production record (staging, dev, ...) on a production key;
    (2) a non-production record of a team the registry marks production-only ([teams.X]
    production_only = true, or environments all production), or posted to a cost center whose every
    registry team is production-only;
    (3) a production record on a key that is non-production by name: staging/dev traffic mixed into
    production totals; (4) on any other key, a record whose environment class is not
    the one with the most spend on the key (then most records, then name): by default a key belongs
    to one team and one environment, so one key serving staging and dev is flagged on the smaller side. The $ at risk is the cost of the flagged records.

    Why it matters: non-production spend is budgeted apart. Staging load tests on a production key
    inflate the production bill a team is charged for, and a production-only team's key used from a
    dev laptop is both a cost leak and a security problem.

    Bad: {"api_key_id": "key-support-prod", "environment": "staging", "team_id": "support-automation"}

    Good: {"api_key_id": "key-support-staging", "environment": "staging", "team_id": "support-automation"}
    """
    resolved = resolve(ctx.con, ctx.policy, ctx.table, ("team_id", "cost_center", "environment"))
    canon = canonical_table(ctx.con, resolved, "_env001_canon")
    envcls = env_class_table(ctx.con, ctx.policy, resolved, "_env001_envcls")
    keycls = key_class_table(ctx.con, ctx.policy, ctx.params, envcls, "_env001_keycls", ctx.table)
    labels = key_label_table(ctx.con, f"SELECT DISTINCT api_key_id AS k FROM {ctx.table} WHERE {VALID_KEY}", "_env001_labels")
    home = key_home_env_table(ctx.con, envcls, keycls, "_env001_keyhome", ctx.table)
    teams_po = production_only_teams(ctx.policy)
    cc_po = production_only_cost_centers(ctx.policy)
    share_pct = "round(100.0 * kc.np / kc.n)::INTEGER"
    why = (
        "CASE kc.why WHEN 'registry' THEN 'production-only in the ownership registry'"
        " WHEN 'name' THEN 'named as a production key'"
        f" ELSE 'production traffic in ' || {share_pct} || '% of its requests' END"
    )
    nonprod = "NOT ec.is_prod"
    team_po = _in_list("ct.canon", teams_po)
    cc_po_sql = _in_list("coalesce(cc.canon, l.cost_center)", cc_po)
    reasons = (
        f"list_filter(["
        f"CASE WHEN {nonprod} AND kc.cls = 'production' THEN ec.cls || ' request on production key ' || kl.label || ' (' || {why} || ')' END, "
        f"CASE WHEN {nonprod} AND {team_po} THEN ec.cls || ' request from team ' || ct.canon || ', which the registry marks production-only' END, "
        f"CASE WHEN {nonprod} AND NOT ({team_po}) AND {cc_po_sql} THEN ec.cls || ' request posted to production-only cost center ' || coalesce(cc.canon, l.cost_center) END, "
        f"CASE WHEN ec.is_prod AND kc.cls = 'nonproduction' THEN 'request labelled ' || ec.cls || ' on key ' || kl.label || ', whose name says non-production: counted in production totals' END, "
        f"CASE WHEN ec.cls <> kh.home AND NOT (ec.is_prod AND kc.cls IS NOT DISTINCT FROM 'nonproduction') THEN ec.cls || ' request on key ' || kl.label || ', which mostly carries ' || kh.home || ': one key, two environments' END"
        f"], lambda x: x IS NOT NULL)"
    )
    fix = (
        "CASE WHEN kh.home IS NOT NULL AND ec.cls <> kh.home AND kc.cls IS DISTINCT FROM 'nonproduction'"
        " THEN 'give ' || ec.cls || ' its own key'"
        " WHEN ec.is_prod THEN 'send production traffic with a production key, or label it with the key''s environment'"
        " WHEN kc.cls = 'production' THEN 'give ' || ec.cls || ' its own non-production key'"
        " ELSE 'send ' || ec.cls || ' traffic from a non-production team or cost center' END"
    )
    sql = f"""
        SELECT _row, array_to_string(reasons, '; ') AS detail, fix FROM (
            SELECT l._row, {reasons} AS reasons, {fix} AS fix
            FROM {ctx.table} l
            JOIN {envcls} ec ON ec.v = l.environment
            LEFT JOIN {keycls} kc ON kc.k = l.api_key_id
            LEFT JOIN {labels} kl ON kl.k = l.api_key_id
            LEFT JOIN {home} kh ON kh.k = l.api_key_id
            LEFT JOIN {canon} ct ON ct.f = 'team_id' AND ct.v = l.team_id
            LEFT JOIN {canon} cc ON cc.f = 'cost_center' AND cc.v = l.cost_center
        ) WHERE array_length(reasons) > 0
    """
    ctx.con.execute(f"CREATE OR REPLACE TEMP TABLE _env001_rows AS {sql}")
    n = ctx.scalar("SELECT count(*) FROM _env001_rows")
    if not n:
        return None
    by_kind = ctx.rows(f"""
        SELECT CASE WHEN ec.is_prod AND kc.cls = 'nonproduction' THEN 'production records on non-production keys'
                    WHEN kh.home IS NOT NULL AND ec.cls <> kh.home THEN ec.cls || ' records on keys of another environment'
                    ELSE ec.cls || ' records on production keys, teams or cost centers' END AS kind,
               count(*), coalesce(sum(l.cost), 0)::DECIMAL(38,12)
        FROM _env001_rows r JOIN {ctx.table} l USING (_row) JOIN {envcls} ec ON ec.v = l.environment
        LEFT JOIN {keycls} kc ON kc.k = l.api_key_id LEFT JOIN {home} kh ON kh.k = l.api_key_id
        GROUP BY 1 ORDER BY 3 DESC, 1
    """)
    keys = ctx.rows(f"""
        SELECT kl.label, kc.cls, kc.why, ec.cls AS env, count(*), coalesce(sum(l.cost), 0)::DECIMAL(38,12)
        FROM _env001_rows r JOIN {ctx.table} l USING (_row) JOIN {envcls} ec ON ec.v = l.environment
        JOIN {keycls} kc ON kc.k = l.api_key_id JOIN {labels} kl ON kl.k = l.api_key_id
        GROUP BY 1, 2, 3, 4 ORDER BY 6 DESC, 1, 4
    """)
    return Hits(
        sql="SELECT _row, detail, fix FROM _env001_rows",
        message="{count} requests ({cost}) mix non-production and production spend: "
        + "; ".join(f"{k} ({c:,})" for k, c, _ in by_kind)
        + ". Production totals and the teams charged for them are wrong until each environment has its own keys.",
        extra={
            "kinds": [{"kind": k, "records": int(c), "cost": s} for k, c, s in by_kind],
            "keys": [{"key": lab, "key_class": cls, "key_class_by": why, "environment": env, "records": int(c), "cost": s}
                     for lab, cls, why, env, c, s in keys[:100]],
        },
    )


@rule("ENV002", "untagged-eval-traffic", "warning", params=EVAL_PARAMS)
def untagged_eval_traffic(ctx: RuleContext) -> Hits | None:
    """Evaluation traffic charged as production: eval spend hidden in production totals.

    What it checks: a record whose environment class is production (see environment-bleed) and whose
    traffic_class is not eval or test (null or production), but which looks like evaluation: a tag,
    workflow_id, feature, service_id, prompt_template_id, api_key_alias, api_key_id or principal
    (parameter eval_fields) matches eval_pattern as a word (eval, evals, evaluation, evaluator,
    benchmark, regression-test, golden-set, red-team, load-test, smoke-test; "retrieval" does not
    match). Records with traffic_class eval or test are visible as evaluation and are not flagged,
    whatever their environment. The $ at risk is the cost of the flagged records.

    Why it matters: chargeback that prices production tokens but hides eval tokens inside them
    makes evaluation look free to the team that skips it and expensive to the team that runs it
    (seed 001). Eval spend should be priced and visible as its own line.

    Bad: {"environment": "production", "traffic_class": null, "workflow_id": "nightly-regression-eval", "tags": ["eval"]}

    Good: {"environment": "production", "traffic_class": "eval", "workflow_id": "nightly-regression-eval", "tags": ["eval"]}
    """
    resolved = resolve(ctx.con, ctx.policy, ctx.table, ("environment",))
    envcls = env_class_table(ctx.con, ctx.policy, resolved, "_env002_envcls")
    pat = lit(ctx.params["eval_pattern"])
    fields = [f for f in ctx.params.get("eval_fields", EVAL_PARAMS["eval_fields"])]
    signals = []
    for f in fields:
        if f == "tags":
            signals.append(
                f"CASE WHEN array_length(list_filter(coalesce(l.tags, []), lambda t: regexp_matches(lower(t), {pat}))) > 0"
                f" THEN 'tag ' || list_filter(l.tags, lambda t: regexp_matches(lower(t), {pat}))[1] END"
            )
        elif f in ("workflow_id", "feature", "service_id", "prompt_template_id", "api_key_alias", "api_key_id",
                   "principal", "team_id", "product_line", "operation", "on_behalf_of"):
            value = f'l."{f}"'
            shown = lit(f) if f == "api_key_id" else f"{lit(f + ' ')} || {value}"  # never a key id in a detail
            signals.append(f"CASE WHEN regexp_matches(lower(coalesce({value}, '')), {pat}) THEN {shown} END")
    if not signals:
        return None
    sig = f"list_filter([{', '.join(signals)}], lambda x: x IS NOT NULL)"
    ctx.con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _env002_rows AS
        SELECT _row, 'looks like evaluation (' || array_to_string(sig, ', ') || ') but is charged as production (environment '
                     || environment || ', traffic_class ' || coalesce(traffic_class, 'not set') || ')' AS detail,
               'traffic_class: eval' AS fix, sig
        FROM (SELECT l._row, l.environment, l.traffic_class, {sig} AS sig
              FROM {ctx.table} l JOIN {envcls} ec ON ec.v = l.environment
              WHERE ec.is_prod AND coalesce(l.traffic_class, '') NOT IN ('eval', 'test'))
        WHERE array_length(sig) > 0
    """)
    if not ctx.scalar("SELECT count(*) FROM _env002_rows"):
        return None
    by_signal = ctx.rows(f"""
        SELECT split_part(s, ' ', 1) AS field, count(DISTINCT r._row), coalesce(sum(l.cost), 0)::DECIMAL(38,12)
        FROM (SELECT _row, unnest(sig) AS s FROM _env002_rows) r JOIN {ctx.table} l USING (_row)
        GROUP BY 1 ORDER BY 3 DESC, 1
    """)
    teams = ctx.rows(f"""
        SELECT coalesce(l.team_id, ''), count(*), coalesce(sum(l.cost), 0)::DECIMAL(38,12)
        FROM _env002_rows r JOIN {ctx.table} l USING (_row) GROUP BY 1 ORDER BY 3 DESC, 1
    """)
    return Hits(
        sql="SELECT _row, detail, fix FROM _env002_rows",
        message="{count} requests ({cost}) look like evaluation runs (by "
        + ", ".join(f for f, _, _ in by_signal)
        + ") but are charged as production: eval spend is hidden in production totals. Set traffic_class = eval on them.",
        extra={
            "signals": [{"field": f, "records": int(n), "cost": c} for f, n, c in by_signal],
            "teams": [{"team_id": t or None, "records": int(n), "cost": c} for t, n, c in teams],
        },
    )
