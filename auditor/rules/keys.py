"""Key hygiene: one gateway key carrying the traffic of several teams (or, with ``[keys] scope =
"service"``, of several services)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from auditor.contract.sql import lit
from auditor.fmt import plural
from auditor.rules.base import Hits, RuleContext, rule
from auditor.rules.environments import ENV_PARAMS, VALID_KEY, env_class_table, key_class_table, production_label
from auditor.rules.keyids import key_label_table, mask_key, registry_key_owners
from auditor.rules.owner_values import canonical_table, resolve
from auditor.rules.team_records import team_label_table

__all__ = ["copied_key", "key_label_table", "mask_key", "registry_key_owners"]

# The default unit of key ownership is the team (a LiteLLM team key shared by the team's services is
# normal); ``[keys] scope = "service"`` makes it the service. The environment side is environment-bleed's.
KEY_PARAMS: dict[str, Any] = {"dimensions": None, "max_keys_in_report": 100}
SCOPE_DIMENSIONS = {"team": ["team_id"], "service": ["team_id", "service_id"]}


def key_dimensions(ctx: RuleContext) -> set[str]:
    """The fields whose disagreement on one key is a copied key: the ``dimensions`` parameter when set,
    else those of the policy's ``[keys] scope``."""
    dims = ctx.params.get("dimensions")
    return set(dims) if dims else set(SCOPE_DIMENSIONS[ctx.policy.key_scope])


@rule("KEY001", "copied-key", "warning", params=KEY_PARAMS)
def copied_key(ctx: RuleContext) -> Hits | None:
    """One gateway key carries the traffic of several teams (or, with [keys] scope = "service", several services).

    What it checks: per api_key_id, the teams of its records, and their services when the policy's
    [keys] scope is "service" (default "team": a team key shared by the team's services is how LiteLLM
    team keys work, and is not flagged; a key carrying several environments is environment-bleed). Values are
    compared as the owners they mean (case, separators, registry aliases and the spelling clusters of
    free-form-tag resolved first, so a misspelt team is a free-form-tag, not a second team), and
    environments by class (production, prod and Production are one). Each key has a home:
    the team the registry lists the key under ([teams.X] keys, when exactly one team lists it), else
    the team with the most spend on the key (then most records, then name); the home team's service
    with the most spend; and the environment production when the key is a production key (as
    environment-bleed defines it: registry, name, or production traffic in at least half its records),
    else the home team's environment with the most spend. Flagged, and the $ at risk: every record of
    the key whose team is not the home team, or (home team) whose service is not the home service, or
    whose environment is not the home environment. The home side itself is not flagged; records with
    no team, service or environment are not compared on that field. Keys that look like secrets (masked
    by the loader) are left to secret-in-log. Parameter ``dimensions`` chooses which of team_id,
    service_id and environment count (default: team_id, plus service_id with scope "service"). The report lists each shared key (masked) with the teams,
    services and environments on it and the cost on each side.

    Why it matters: gateways report spend per key. A key copied into another team's service or a
    staging job charges that spend to the key's owner; the tags and the key disagree and either team
    can dispute the bill. A production key in staging is also environment-bleed.

    Bad: {"api_key_id": "key-support-prod", "team_id": "research", "service_id": "paper-summaries"}
    (beside the records of team support-automation on that key)

    Good: {"api_key_id": "key-research-prod", "team_id": "research", "service_id": "paper-summaries"}
    """
    dims = key_dimensions(ctx)
    con, t = ctx.con, ctx.table
    resolved = resolve(con, ctx.policy, t, ("team_id", "service_id", "environment"))
    canon = canonical_table(con, resolved, "_key001_canon")
    envcls = env_class_table(con, ctx.policy, resolved, "_key001_envcls")
    env_params = {**ENV_PARAMS, **ctx.policy.rule_config("ENV001", "environment-bleed")}
    keycls = key_class_table(con, ctx.policy, env_params, envcls, "_key001_keycls", t)
    owners = registry_key_owners(ctx.policy)
    owner_rows = ", ".join(f"({lit(k)}, {lit(o)})" for k, o in sorted(owners.items()))
    owner_sql = (f"SELECT * FROM (VALUES {owner_rows}) o(k, owner)" if owners
                 else "SELECT NULL::VARCHAR AS k, NULL::VARCHAR AS owner WHERE false")

    team = "ct.canon" if "team_id" in dims else "NULL::VARCHAR"
    service = "cs.canon" if "service_id" in dims else "NULL::VARCHAR"
    env = "ec.cls" if "environment" in dims else "NULL::VARCHAR"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _key001_base AS
        SELECT l._row, l.api_key_id AS k, {team} AS t, {service} AS s, {env} AS e, coalesce(l.cost, 0) AS c
        FROM {t} l
        LEFT JOIN {canon} ct ON ct.f = 'team_id' AND ct.v = l.team_id
        LEFT JOIN {canon} cs ON cs.f = 'service_id' AND cs.v = l.service_id
        LEFT JOIN {envcls} ec ON ec.v = l.environment
        WHERE {VALID_KEY}
    """)
    # Whether a record is flagged depends only on its (key, team, service, environment): the homes, the flags and
    # the report are computed on those groups (a few hundred), and only the hits read the records again.
    con.execute("CREATE OR REPLACE TEMP TABLE _key001_agg AS SELECT k, t, s, e, count(*) AS n, sum(c) AS c"
                " FROM _key001_base GROUP BY ALL")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _key001_home AS
        WITH tt AS (
            SELECT k, t, row_number() OVER (PARTITION BY k ORDER BY sum(c) DESC, sum(n) DESC, t) AS rn
            FROM _key001_agg WHERE t IS NOT NULL GROUP BY k, t
        ), home_t AS (
            SELECT kk.k, coalesce(o.owner, tt.t) AS home_t, o.owner IS NOT NULL AS registered
            FROM (SELECT DISTINCT k FROM _key001_agg) kk
            LEFT JOIN ({owner_sql}) o ON o.k = kk.k
            LEFT JOIN tt ON tt.k = kk.k AND tt.rn = 1
        ), ss AS (
            SELECT b.k, b.s, row_number() OVER (PARTITION BY b.k ORDER BY sum(b.c) DESC, sum(b.n) DESC, b.s) AS rn
            FROM _key001_agg b JOIN home_t h ON h.k = b.k AND b.t = h.home_t WHERE b.s IS NOT NULL GROUP BY b.k, b.s
        ), ee AS (
            SELECT b.k, b.e, row_number() OVER (PARTITION BY b.k ORDER BY sum(b.c) DESC, sum(b.n) DESC, b.e) AS rn
            FROM _key001_agg b JOIN home_t h ON h.k = b.k AND b.t = h.home_t WHERE b.e IS NOT NULL GROUP BY b.k, b.e
        )
        SELECT h.k, h.home_t, h.registered, ss.s AS home_s,
               CASE WHEN {'true' if 'environment' in dims else 'false'} AND kc.cls = 'production'
                    THEN {lit(production_label(ctx.policy))} ELSE ee.e END AS home_e,
               kc.cls = 'production' AS production_key
        FROM home_t h
        LEFT JOIN ss ON ss.k = h.k AND ss.rn = 1
        LEFT JOIN ee ON ee.k = h.k AND ee.rn = 1
        LEFT JOIN {keycls} kc ON kc.k = h.k
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _key001_flags AS
        SELECT b.*, b.d_team OR b.d_service OR b.d_env AS flagged FROM (
        SELECT b.*, h.home_t, h.registered, h.home_s, h.home_e,
               coalesce(b.t <> h.home_t, false) AS d_team,
               coalesce(b.t = h.home_t AND b.s <> h.home_s, false) AS d_service,
               coalesce(b.e <> h.home_e, false) AS d_env
        FROM _key001_agg b JOIN _key001_home h USING (k)) b
    """)
    con.execute("CREATE OR REPLACE TEMP TABLE _key001_shared AS SELECT DISTINCT k FROM _key001_flags WHERE flagged")
    if not ctx.scalar("SELECT count(*) FROM _key001_shared"):
        return None
    labels = key_label_table(con, "SELECT k FROM _key001_shared", "_key001_labels")
    teams = team_label_table(con, ctx.table, ctx.policy, "_key001_teams")
    sql = f"""
        SELECT b._row,
               'key ' || kl.label || ' belongs to ' || coalesce(ht.label, f.home_t, '(no team)')
               || CASE WHEN f.registered THEN ' (ownership registry)' ELSE ' (most spend on the key)' END
               || ', used here by ' || concat_ws(', ',
                    CASE WHEN f.d_team THEN 'team ' || coalesce(ut.label, f.t) END,
                    CASE WHEN f.d_service THEN 'service ' || f.s || ' (key''s service: ' || f.home_s || ')' END,
                    CASE WHEN f.d_env THEN 'environment ' || f.e || ' (key''s environment: ' || f.home_e || ')' END) AS detail,
               CASE WHEN f.d_team THEN 'give team ' || coalesce(ut.label, f.t) || ' its own key'
                    WHEN f.d_service THEN 'give service ' || f.s || ' its own key'
                    ELSE 'use a separate ' || f.e || ' key' END AS fix
        FROM _key001_base b
        JOIN (SELECT * FROM _key001_flags WHERE flagged) f
          ON f.k = b.k AND f.t IS NOT DISTINCT FROM b.t AND f.s IS NOT DISTINCT FROM b.s AND f.e IS NOT DISTINCT FROM b.e
        JOIN {labels} kl ON kl.k = b.k
        LEFT JOIN {teams} ht ON ht.t = f.home_t
        LEFT JOIN {teams} ut ON ut.t = f.t
    """

    # Report section: per shared key, who is on it and the cost on each side.
    limit = int(ctx.params.get("max_keys_in_report", 100))
    summary = ctx.rows(f"""
        SELECT f.k, kl.label, any_value(f.home_t), bool_or(f.registered), any_value(f.home_s), any_value(f.home_e),
               sum(f.n), sum(f.c)::DECIMAL(38,12), coalesce(sum(f.n) FILTER (WHERE f.flagged), 0),
               coalesce(sum(f.c) FILTER (WHERE f.flagged), 0)::DECIMAL(38,12)
        FROM _key001_flags f JOIN {labels} kl USING (k) GROUP BY 1, 2 ORDER BY 10 DESC, 9 DESC, 2, 1
    """)
    sides: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for dim, col in (("teams", "t"), ("services", "s"), ("environments", "e")):
        for k, v, n, c, flagged_n in ctx.rows(f"""
            SELECT k, {col}, sum(n), sum(c)::DECIMAL(38,12), coalesce(sum(n) FILTER (WHERE flagged), 0)
            FROM _key001_flags WHERE k IN (SELECT k FROM _key001_shared) GROUP BY 1, 2 ORDER BY 1, 4 DESC, 2 NULLS LAST
        """):
            sides.setdefault((k, dim), []).append(
                {"value": v, "records": int(n), "cost": Decimal(c), "flagged_records": int(flagged_n)})
    keys = []
    for k, label, home_t, registered, home_s, home_e, n, c, fn, fc in summary[:limit]:
        keys.append({
            "key": label,
            "owner": home_t, "owner_from": "registry" if registered else "most spend",
            "home_service": home_s, "home_environment": home_e,
            "records": int(n), "cost": Decimal(c), "flagged_records": int(fn), "flagged_cost": Decimal(fc),
            "teams": sides.get((k, "teams"), []),
            "services": sides.get((k, "services"), []),
            "environments": sides.get((k, "environments"), []),
        })
    n_keys = len(summary)
    n_teams = ctx.scalar("SELECT count(*) FROM (SELECT DISTINCT k FROM _key001_flags WHERE d_team)")
    return Hits(
        sql=sql,
        message="{count} requests ({cost}) used " + plural(n_keys, "API key")
        + (" that belong to another team or service" if "service_id" in dims else " that belong to another team")
        + (f" ({n_teams:,} shared across teams)" if n_teams else "")
        + ": per-key spend reports charge them to the key's owner while their tags name someone else. "
        + ("Give each team and service its own key." if "service_id" in dims else "Give each team its own key."),
        extra={"keys": keys, "keys_total": n_keys},
    )
