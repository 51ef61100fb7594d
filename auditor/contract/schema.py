"""Load the canonical record schema and apply a policy's field overrides to it."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

SCHEMA_NAME = "chargeback-record.schema.json"


def schema_path(name: str = SCHEMA_NAME):
    return resources.files("auditor").joinpath("schemas", name)


@lru_cache(maxsize=None)
def _load(name: str) -> str:
    return schema_path(name).read_text(encoding="utf-8")


def base_schema() -> dict:
    return json.loads(_load(SCHEMA_NAME))


@dataclass(frozen=True)
class Field:
    """One property of the canonical record, as the rest of the pipeline needs it."""

    name: str
    types: tuple[str, ...]  # JSON types, "null" included when the field may be null
    group: str  # required | ownership | recommended | provenance
    required: bool
    spec: Mapping[str, Any]

    @property
    def main_type(self) -> str:
        return next(t for t in self.types if t != "null")

    @property
    def nullable(self) -> bool:
        return "null" in self.types


def fields_of(schema: Mapping[str, Any]) -> tuple[Field, ...]:
    required = set(schema.get("required", ()))
    out = []
    for name, spec in schema["properties"].items():
        t = spec["type"]
        types = tuple(t) if isinstance(t, list) else (t,)
        out.append(Field(name, types, spec.get("x-group", "recommended"), name in required, spec))
    return tuple(out)


FIELDS: tuple[Field, ...] = fields_of(base_schema())
OWNERSHIP_FIELDS = tuple(f.name for f in FIELDS if f.group == "ownership")


class SchemaOverrideError(ValueError):
    pass


def effective_schema(overrides: Mapping[str, Any] | None = None) -> dict:
    """The base schema tightened by a policy's ``[fields]`` table.

    ``overrides`` looks like ``{"required": ["feature"], "cost_center": {"pattern": "^cc-[0-9]{4}$"},
    "environment": {"enum": ["production", "staging"]}}``. Overrides only tighten: a field made
    required loses ``null`` from its type; provenance fields cannot be changed.
    """
    schema = base_schema()
    if not overrides:
        return schema
    props = schema["properties"]
    overrides = dict(overrides)
    extra_required = list(overrides.pop("required", []) or [])
    for name in extra_required:
        if name not in props:
            raise SchemaOverrideError(f"fields.required names unknown field {name!r}")
        if name not in schema["required"]:
            schema["required"].append(name)
        spec = props[name]
        if isinstance(spec["type"], list):
            types = [t for t in spec["type"] if t != "null"]
            spec["type"] = types[0] if len(types) == 1 else types
        if "enum" in spec:
            spec["enum"] = [v for v in spec["enum"] if v is not None]
    for name, tweak in overrides.items():
        if name not in props:
            raise SchemaOverrideError(f"[fields.{name}]: unknown field {name!r}")
        spec = props[name]
        if spec.get("x-group") == "provenance":
            raise SchemaOverrideError(f"[fields.{name}]: provenance fields are set by the loaders")
        main = spec["type"] if isinstance(spec["type"], str) else next(t for t in spec["type"] if t != "null")
        tweak = copy.deepcopy(dict(tweak))
        for key, value in tweak.items():
            if key in ("pattern", "minLength", "maxLength") and main != "string":
                raise SchemaOverrideError(f"[fields.{name}]: {key} applies to string fields only")
            if key in ("minimum", "maximum") and main not in ("integer", "number"):
                raise SchemaOverrideError(f"[fields.{name}]: {key} applies to numeric fields only")
            if key == "enum":
                if not isinstance(value, list) or not value:
                    raise SchemaOverrideError(f"[fields.{name}]: enum must be a non-empty list")
                if isinstance(spec["type"], list) and "null" in spec["type"]:
                    value = [*value, None]
            elif key not in ("pattern", "minLength", "maxLength", "minimum", "maximum", "description"):
                raise SchemaOverrideError(f"[fields.{name}]: unsupported key {key!r}")
            spec[key] = value
    return schema
