"""The policy file: what this organisation requires of a chargeback record, who its owners are,
and when the audit passes. TOML (``audit-logs.toml``, or ``[tool.audit-logs]`` in pyproject.toml),
validated against ``schemas/policy.schema.json``; every key is documented in docs/policy.md."""

from __future__ import annotations

import json
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
    key_scope: str = "team"  # [keys] scope: the unit a gateway key belongs to (copied-key)
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
            cost_center=t.get("cost_center"),
            services=tuple(t.get("services", ())),
            keys=tuple(t.get("keys", ())),
            environments=tuple(t.get("environments", ())),
            aliases=tuple(t.get("aliases", ())),
            production_only=bool(t.get("production_only", False)),
        )
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
        key_scope=doc.get("keys", {}).get("scope", "team"),
        source=origin,
    )
    try:
        policy.schema  # noqa: B018 - validates the [fields] overrides
    except SchemaOverrideError as exc:
        raise PolicyError(f"{origin}: {exc}") from None
    return policy


def load_policy(path: str | Path | None = None) -> Policy:
    """Read a policy file; with no path, ``audit-logs.toml`` or pyproject's ``[tool.audit-logs]`` in the
    current directory when present, else the defaults."""
    if path is None:
        for candidate in (Path("audit-logs.toml"), Path("pyproject.toml")):
            if candidate.is_file():
                doc = _read_toml(candidate)
                if candidate.name == "pyproject.toml":
                    doc = doc.get("tool", {}).get("audit-logs")
                    if doc is None:
                        continue
                return from_dict(doc, str(candidate))
        return Policy()
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
