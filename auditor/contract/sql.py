"""Compile the contract to DuckDB SQL: one expression per field, evaluated over a whole table.

Each canonical field is held as a DuckDB ``JSON`` value (SQL NULL when the source had no value
at all), so that the check sees exactly what a JSON document would hold. :func:`check_expr`
returns, per record, NULL when the field passes and otherwise a short code saying why, in the
order the jsonschema keywords would complain:

``absent`` ``null`` ``empty`` (missing: required field absent, null, or the empty string),
``type`` ``pattern`` ``enum`` ``minimum`` ``maximum`` ``minLength`` ``maxLength`` ``items``.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from auditor.contract.regex import to_re2
from auditor.contract.schema import Field

MISSING_CODES = ("absent", "null", "empty")
MONEY = "DECIMAL(38,12)"

_SQL_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": MONEY,
    "boolean": "BOOLEAN",
    "array": "VARCHAR[]",
    "object": "JSON",
}


def lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier (a column or field name from the data may hold any character)."""
    return '"' + name.replace('"', '""') + '"'


def sql_type(field: Field) -> str:
    if field.name == "timestamp":
        return "TIMESTAMP"
    return _SQL_TYPES[field.main_type]


def json_type_sql(v: str) -> str:
    """``json_type(v)`` for a minified JSON value (what json_extract returns), read from its first
    character instead of parsing it: the loader needs it for every field of every record. Numbers
    are BIGINT (digits only) or DOUBLE, which is all the type tests below tell apart."""
    t = f"CAST({v} AS VARCHAR)"
    return (f"CASE left({t}, 1) WHEN '\"' THEN 'VARCHAR' WHEN '{{' THEN 'OBJECT' WHEN '[' THEN 'ARRAY'"
            f" WHEN 't' THEN 'BOOLEAN' WHEN 'f' THEN 'BOOLEAN' WHEN 'n' THEN 'NULL' WHEN '' THEN NULL"
            f" ELSE CASE WHEN regexp_matches({t}, '[.eE]') THEN 'DOUBLE' ELSE 'BIGINT' END END")


def json_text_sql(v: str, jt: str) -> str:
    """``v->>'$'`` (a string's value, any other value's JSON text) given ``jt`` from :func:`json_type_sql`;
    only a string with an escape sequence is parsed."""
    t = f"CAST({v} AS VARCHAR)"
    return (f"CASE {jt} WHEN 'NULL' THEN NULL WHEN 'VARCHAR' THEN CASE WHEN contains({t}, '\\') THEN ({v}->>'$')"
            f" ELSE {t}[2:-2] END ELSE {t} END")


def _type_test(t: str, v: str, jt: str | None = None, text: str | None = None) -> str:
    jt = jt or f"json_type({v})"
    text = text or f"({v}->>'$')"
    return {
        "string": f"{jt} = 'VARCHAR'",
        "integer": f"({jt} IN ('BIGINT', 'UBIGINT') OR ({jt} = 'DOUBLE' AND isfinite(TRY_CAST({text} AS DOUBLE))"
        f" AND TRY_CAST({text} AS DOUBLE) = floor(TRY_CAST({text} AS DOUBLE))))",
        "number": f"{jt} IN ('BIGINT', 'UBIGINT', 'DOUBLE')",
        "boolean": f"{jt} = 'BOOLEAN'",
        "array": f"{jt} = 'ARRAY'",
        "object": f"{jt} = 'OBJECT'",
        "null": f"{jt} = 'NULL'",
    }[t]


def check_expr(field: Field, spec: Mapping[str, Any], v: str, *, jt: str | None = None, text: str | None = None,
               items: str | None = None) -> str:
    """SQL giving NULL when JSON value ``v`` satisfies ``spec``, else a violation code.

    ``jt`` / ``text``: columns already holding ``json_type(v)`` / ``v->>'$'`` (the loader computes
    them once per field instead of parsing ``v`` again in every branch); ``items``: for an array, a column
    already holding ``json_extract(v, '$[*]')``."""
    types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    main = next(t for t in types if t != "null")
    required = field.required
    jt = jt or f"json_type({v})"
    text = text or f"({v}->>'$')"
    num = f"TRY_CAST({text} AS DOUBLE)"  # DuckDB does not short-circuit: never a hard cast
    whens = [f"WHEN {v} IS NULL THEN {'NULL' if not required else lit('absent')}"]
    if "null" in types:
        whens.append(f"WHEN {jt} = 'NULL' THEN NULL")
    else:
        whens.append(f"WHEN {jt} = 'NULL' THEN {lit('null')}")
    whens.append(f"WHEN NOT ({_type_test(main, v, jt, text)}) THEN 'type'")
    if main == "string":
        if spec.get("minLength", 0) >= 1:
            whens.append(f"WHEN {text} = '' THEN {lit('empty')}")
        if "minLength" in spec:
            whens.append(f"WHEN length({text}) < {int(spec['minLength'])} THEN 'minLength'")
        if "maxLength" in spec:
            whens.append(f"WHEN length({text}) > {int(spec['maxLength'])} THEN 'maxLength'")
        if "pattern" in spec:
            whens.append(f"WHEN NOT regexp_matches({text}, {lit(to_re2(spec['pattern']))}) THEN 'pattern'")
    if "enum" in spec:
        values = [e for e in spec["enum"] if e is not None]
        if main == "string":
            listed = ", ".join(lit(e) for e in values) or "NULL"
            whens.append(f"WHEN {text} NOT IN ({listed}) THEN 'enum'")
    if main in ("integer", "number"):
        if "minimum" in spec:
            whens.append(f"WHEN {num} < {float(spec['minimum'])!r} THEN 'minimum'")
        if "maximum" in spec:
            whens.append(f"WHEN {num} > {float(spec['maximum'])!r} THEN 'maximum'")
    if main == "array" and "items" in spec:
        item_type = spec["items"]["type"]
        # Items come out of json_extract minified: their type is read from their first character.
        whens.append(
            f"WHEN len(list_filter({items or f'json_extract({v}, {chr(39)}$[*]{chr(39)})'},"
            f" lambda x: NOT ({_type_test(item_type, 'x', json_type_sql('x'))}))) > 0 THEN 'items'"
        )
    return "CASE " + " ".join(whens) + " ELSE NULL END"


def typed_expr(field: Field, v: str, *, jt: str | None = None, text: str | None = None, items: str | None = None) -> str:
    """SQL turning JSON value ``v`` into the field's SQL type; NULL when it has the wrong JSON type.
    ``jt`` / ``text`` / ``items`` as for :func:`check_expr`."""
    t = field.main_type
    jt = jt or f"json_type({v})"
    text = text or f"({v}->>'$')"
    if field.name == "timestamp":
        # The contract pattern guarantees ISO 8601 UTC; TRY_CAST keeps a bad value NULL. Digits beyond the
        # microsecond are cut; the regex runs only where there may be some (7 or more characters after a '.').
        t = f"rtrim({text}, 'Z')"
        return (
            f"CASE WHEN {jt} = 'VARCHAR' THEN TRY_CAST(CASE WHEN strpos({t}, '.') > 0 AND length({t}) - strpos({t}, '.') > 6"
            f" THEN regexp_replace({t}, '(\\.[0-9]{{6}})[0-9]+$', '\\1') ELSE {t} END AS TIMESTAMP) END"
        )
    if t == "string":
        return f"CASE WHEN {jt} = 'VARCHAR' THEN {text} END"
    if t == "integer":
        return (
            f"CASE WHEN {jt} IN ('BIGINT', 'UBIGINT') THEN TRY_CAST({text} AS BIGINT) "
            f"WHEN {jt} = 'DOUBLE' THEN TRY_CAST(TRY_CAST({text} AS DOUBLE) AS BIGINT) END"
        )
    if t == "number":
        return f"CASE WHEN {jt} IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN TRY_CAST({text} AS {MONEY}) END"
    if t == "boolean":
        return f"CASE WHEN {jt} = 'BOOLEAN' THEN ({text})::BOOLEAN END"
    if t == "array":
        return f"CASE WHEN {jt} = 'ARRAY' THEN list_transform({items or f'json_extract({v}, {chr(39)}$[*]{chr(39)})'}, lambda x: x->>'$') END"
    if t == "object":
        return f"CASE WHEN {jt} = 'OBJECT' THEN {v} END"
    raise ValueError(f"no SQL type for {field.name}: {t}")


def json_literal(value: Any) -> str:
    return f"{lit(json.dumps(value))}::JSON"
