"""The policy file: what this organisation requires of a chargeback record, who its owners are,
and when the audit passes. TOML (``audit-logs.toml``, or ``[tool.audit-logs]`` in pyproject.toml),
validated against ``schemas/policy.schema.json``; every key is documented in docs/policy.md."""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from auditor.contract.schema import SchemaOverrideError, effective_schema

SEVERITIES = ("error", "warning", "info")


class PolicyError(ValueError):
    """The policy file is unusable; the message names the file and the key."""


@dataclass(frozen=True)
class Team:
    team_id: str
    name: str | None = None  # display name; None: the one the logs carry with the id
    cost_center: str | None = None
    services: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    production_only: bool = False


@dataclass
class Policy:
    fields: dict[str, Any] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    cost_centers: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    production_environments: tuple[str, ...] = ("production", "prod")
    production_only_keys: tuple[str, ...] = ()
    thresholds: dict[str, float] = field(default_factory=lambda: {"attributable_pct": 95.0, "variance_pct": 2.0})
    gate: dict[str, Any] = field(default_factory=dict)
    rules: dict[str, Any] = field(default_factory=dict)
    pricing: dict[str, Any] = field(default_factory=dict)
    # The zone a timestamp without an offset is read in (LiteLLM writes the proxy's local time in some fields).
    timezone: str = "UTC"
    key_scope: str = "team"  # [keys] scope: the unit a gateway key belongs to (copied-key)
    # [attribution] on_behalf_of: who pays for a request made for another team's agent ("owner" or "caller")
    on_behalf_of: str = "owner"
    source: str = "(default policy)"

    @property
    def schema(self) -> dict:
        return effective_schema(self.fields)

    @property
    def has_registry(self) -> bool:
        return bool(self.teams)

    def rule_config(self, code: str, name: str) -> dict[str, Any]:
        """The ``[rules.<code or name>]`` table for one rule (severity and parameters)."""
        per = self.rules.get("config", {})
        merged: dict[str, Any] = {}
        for key in (code, name):
            merged.update(per.get(key, {}))
        return merged


def policy_schema() -> dict:
    return json.loads(resources.files("auditor").joinpath("schemas", "policy.schema.json").read_text(encoding="utf-8"))


def _rules_table(raw: dict[str, Any]) -> dict[str, Any]:
    """``[rules]`` holds select/ignore and, as sub-tables, per-rule configuration."""
    out: dict[str, Any] = {"config": {}}
    for k, v in raw.items():
        if k in ("select", "ignore"):
            out[k] = list(v)
        else:
            out["config"][k] = dict(v)
    return out


def from_dict(doc: dict[str, Any], origin: str = "(policy)") -> Policy:
    try:
        jsonschema.validate(doc, policy_schema())
    except jsonschema.ValidationError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise PolicyError(f"{origin}: {where}: {exc.message}") from None
    teams = {}
    for tid, t in (doc.get("teams") or {}).items():
        teams[tid] = Team(
            team_id=tid,
            name=t.get("name"),
            cost_center=t.get("cost_center"),
            services=tuple(t.get("services", ())),
            keys=tuple(t.get("keys", ())),
            environments=tuple(t.get("environments", ())),
            aliases=tuple(t.get("aliases", ())),
            production_only=bool(t.get("production_only", False)),
        )
    for table in ("thresholds", "gate"):  # NaN passes every schema bound (no comparison holds) and turns a check off
        for key, v in (doc.get(table) or {}).items():
            if isinstance(v, float) and v != v:
                raise PolicyError(f"{origin}: {table}.{key}: nan is not a number this check can use")
    reg = doc.get("registry", {})
    thresholds = {"attributable_pct": 95.0, "variance_pct": 2.0, **doc.get("thresholds", {})}
    policy = Policy(
        fields=doc.get("fields", {}),
        teams=teams,
        cost_centers=tuple(reg.get("cost_centers", ())),
        environments=tuple(reg.get("environments", ())),
        production_environments=tuple(reg.get("production_environments", ("production", "prod"))),
        production_only_keys=tuple(reg.get("production_only_keys", ())),
        thresholds=thresholds,
        gate=doc.get("gate", {}),
        rules=_rules_table(doc.get("rules", {})),
        pricing=doc.get("pricing", {}),
        timezone=_timezone(doc.get("timezone", "UTC"), origin),
        key_scope=doc.get("keys", {}).get("scope", "team"),
        on_behalf_of=doc.get("attribution", {}).get("on_behalf_of", "owner"),
        source=origin,
    )
    try:
        policy.schema  # noqa: B018 - validates the [fields] overrides
    except SchemaOverrideError as exc:
        raise PolicyError(f"{origin}: {exc}") from None
    _check_patterns(policy.fields, origin)
    return policy


def _check_patterns(fields: dict[str, Any], origin: str) -> None:
    """Every ``[fields.<name>] pattern`` must be runnable by both regex engines, checked now rather than
    as an internal error in the middle of the audit."""
    from auditor.contract.regex import problem

    for name, spec in fields.items():
        if isinstance(spec, dict) and "pattern" in spec:
            why = problem(spec["pattern"])
            if why:
                raise PolicyError(f"{origin}: fields.{name}.pattern {spec['pattern']!r}: {why}")


def discover(start: Path | None = None) -> Path | None:
    """The policy that applies to ``start`` (default: the current directory): ``audit-logs.toml``, else a
    ``pyproject.toml`` with ``[tool.audit-logs]``, in that directory or the nearest parent that has one, as
    ruff and sqlfluff find their configuration. The search stops at the repository root (a ``.git``)."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "audit-logs.toml").is_file():
            return d / "audit-logs.toml"
        py = d / "pyproject.toml"
        if py.is_file() and _read_toml(py).get("tool", {}).get("audit-logs") is not None:
            return py
        if (d / ".git").exists():
            return None
    return None


def _shown(path: Path) -> str:
    """The policy's path as the reports name it: relative to the current directory when below or above it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return rel if rel.startswith(".") else os.path.join(".", rel)


def _timezone(name: str, origin: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PolicyError(f"{origin}: timezone: unknown time zone {name!r} (use an IANA name such as UTC or Europe/Berlin)") from None
    return name


def load_policy(path: str | Path | None = None) -> Policy:
    """Read a policy file; with no path, the one :func:`discover` finds (this directory or a parent), else
    the defaults. ``Policy.source`` names the file, so every report says which policy was used."""
    if path is None:
        found = discover()
        if found is None:
            return Policy()
        doc = _read_toml(found)
        if found.name == "pyproject.toml":
            doc = doc["tool"]["audit-logs"]
        return from_dict(doc, _shown(found))
    path = Path(path)
    doc = _read_toml(path)
    if path.name == "pyproject.toml":
        doc = doc.get("tool", {}).get("audit-logs", {})
    return from_dict(doc, str(path))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read policy file: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from None
