"""Mappings: how a source format's fields become canonical record fields.

A mapping is a TOML table ``[fields]`` of ``canonical_field = SPEC`` where SPEC is

* a path string: ``"metadata.team"`` (dotted keys, ``[n]`` for list items) or a JSON pointer
  ``"/attributes/gen_ai.request.model"`` for keys that contain dots;
* a list of paths: the first one that holds a value (not null, not "") wins; an item of the list may
  itself be a table ``{path = "model", transform = "provider_prefix"}``, its transform applied before
  that test;
* a table ``{path = ..., transform = ..., ...}`` or ``{value = ...}`` for a constant.

Transforms (``transform = "name"``): ``timestamp`` (``unit = "s"|"ms"|"us"|"ns"`` for numbers; strings
are read as ISO 8601; one without an offset is local time in the policy's ``timezone``, UTC by default), ``cents`` (divide by 100, exactly), ``number``, ``integer``,
``boolean`` (also "True"/"false"/"1"/"0"; "None"/"null" text is null, as Python-written exports have it), ``string``, ``lower``, ``split`` (comma-separated text to a
list), ``map`` (``map = {from = "to"}``, ``default = ...``), ``prefix`` (``prefix = "litellm/"``) and
``provider_prefix`` (the provider of a LiteLLM-style model name, ``anthropic/claude-sonnet-4-6`` ->
``anthropic``; null when the name has no ``/``) and ``tag`` (``tag = ["env", "environment"]``: from a list of tags, the
value of the first ``env:prod`` / ``env=prod`` item, ``prod``; null when none) and ``sum_keys``
(``prefixes = ["input", "cache_read"]``: the sum of an object's numbers under keys with one of those prefixes, ``total``
excepted, for usage split into disjoint parts; null when no key matches) and ``label`` (``label = "litellm/cost-calculator"``:
that text wherever the path holds a value, null where it does not: "this source priced the request" when the
source logs that it priced it but not how).
A value that a transform cannot convert is passed on unchanged, so the contract check reports it.

``json_fields = ["metadata"]`` names top-level fields that hold JSON as text (CSV cells, SpendLogs).
Mappings compile to one DuckDB SELECT over a batch of JSON documents: each document is parsed once.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from auditor.contract.schema import FIELDS
from auditor.contract.sql import ident, json_literal, lit

TRANSFORMS = ("timestamp", "cents", "number", "integer", "boolean", "string", "lower", "split", "map", "prefix",
              "provider_prefix", "tag", "sum_keys", "label")
_UNITS = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}
FIELD_NAMES = {f.name for f in FIELDS}
EXTRA_FIELDS = ("record_kind",)  # not in the contract: "llm", or "agent"/"tool"/"other" for trace context spans


class MappingError(ValueError):
    """A mapping file or preset is not usable; the message names the file and the entry."""


@dataclass(frozen=True)
class FieldSpec:
    paths: tuple[str | FieldSpec, ...] = ()  # a FieldSpec item: one path with its own transform
    value: Any = None
    transform: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Mapping_:
    name: str
    description: str
    fields: Mapping[str, FieldSpec]
    json_fields: tuple[str, ...] = ()
    detect_keys: tuple[str, ...] = ()
    detect_min: int = 0
    origin: str = ""
    # The reader whose documents the paths point into: "" the file's own records; "otlp" / "langfuse-api" the rows
    # those readers build (``/merged/...``, ``/owner/...``), so a copy of their preset can map what they find.
    reader: str = ""


READERS = ("otlp", "langfuse-api")


def to_pointer(path: str) -> str:
    """``metadata.a[0].b`` -> ``/metadata/a/0/b``; a path starting with ``/`` is already a pointer."""
    if path.startswith("/"):
        return path
    parts: list[str] = []
    for key in path.split("."):
        while "[" in key and key.endswith("]"):
            head, _, idx = key.partition("[")
            parts.append(head)
            key = idx[:-1]
        parts.append(key)
    return "/" + "/".join(_escape(p) for p in parts if p != "")


def _escape(key: str) -> str:
    """One key as a JSON pointer token (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def _keys(pointer: str) -> list[str]:
    """The keys of a JSON pointer (``/a/b~1c`` -> ``["a", "b/c"]``)."""
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]


def _spec(name: str, raw: Any, where: str) -> FieldSpec:
    if isinstance(raw, str):
        return FieldSpec(paths=(raw,))
    if isinstance(raw, list) and raw and all(isinstance(p, (str, dict)) for p in raw):
        items: list[str | FieldSpec] = []
        for p in raw:
            if isinstance(p, dict):
                item = _spec(name, p, where)
                if len(item.paths) != 1 or item.value is not None or not isinstance(item.paths[0], str):
                    raise MappingError(f"{where}: field {name!r}: a table in a list of paths needs one path (and no value)")
                p = item if item.transform else item.paths[0]
            items.append(p)
        return FieldSpec(paths=tuple(items))
    if isinstance(raw, dict):
        raw = dict(raw)
        paths = raw.pop("path", None)
        has_value = "value" in raw
        value = raw.pop("value", None)
        transform = raw.pop("transform", None)
        if isinstance(paths, str):
            paths = [paths]
        if not paths and not has_value:
            raise MappingError(f"{where}: field {name!r} needs a path or a value")
        if paths and not all(isinstance(p, str) and p for p in paths):
            raise MappingError(f"{where}: field {name!r}: path must be a string or a list of strings")
        if transform is not None and transform not in TRANSFORMS:
            raise MappingError(f"{where}: field {name!r}: unknown transform {transform!r} (known: {', '.join(TRANSFORMS)})")
        if transform == "map" and not isinstance(raw.get("map"), dict):
            raise MappingError(f"{where}: field {name!r}: transform 'map' needs a map = {{from = \"to\"}} table")
        if transform == "timestamp" and raw.get("unit", "s") not in _UNITS:
            raise MappingError(f"{where}: field {name!r}: unit must be one of {', '.join(_UNITS)}")
        if transform == "tag" and not (isinstance(raw.get("tag"), list) and raw["tag"]
                                       and all(isinstance(t, str) and re.fullmatch(r"[A-Za-z0-9_.-]+", t) for t in raw["tag"])):
            raise MappingError(f"{where}: field {name!r}: transform 'tag' needs tag = [\"env\", ...] (names of letters, digits, _ . -)")
        if transform == "sum_keys" and not (isinstance(raw.get("prefixes"), list) and raw["prefixes"]
                                            and all(isinstance(t, str) and re.fullmatch(r"[A-Za-z0-9_.-]+", t)
                                                    for t in raw["prefixes"])):
            raise MappingError(f"{where}: field {name!r}: transform 'sum_keys' needs prefixes = [\"input\", ...]")
        if transform == "label" and not (isinstance(raw.get("label"), str) and raw["label"]):
            raise MappingError(f"{where}: field {name!r}: transform 'label' needs label = \"text\"")
        allowed = {"map", "default", "prefix", "unit", "tag", "prefixes", "label"}
        unknown = set(raw) - allowed
        if unknown:
            raise MappingError(f"{where}: field {name!r}: unknown key(s) {', '.join(sorted(unknown))}")
        return FieldSpec(paths=tuple(paths or ()), value=value, transform=transform, options=raw)
    raise MappingError(f"{where}: field {name!r}: expected a path, a list of paths or a table")


def parse_mapping(doc: Mapping[str, Any], origin: str) -> Mapping_:
    fields_raw = doc.get("fields")
    if not isinstance(fields_raw, dict) or not fields_raw:
        raise MappingError(f"{origin}: a mapping needs a [fields] table")
    fields: dict[str, FieldSpec] = {}
    for name, raw in fields_raw.items():
        if name not in FIELD_NAMES and name not in EXTRA_FIELDS:
            raise MappingError(f"{origin}: [fields] names {name!r}, which is not a field of the chargeback record")
        if name in ("source_format", "source_file", "source_line", "source_index"):
            raise MappingError(f"{origin}: {name!r} is provenance; the loader sets it")
        fields[name] = _spec(name, raw, origin)
    detect = doc.get("detect", {}) or {}
    json_fields = doc.get("json_fields", []) or []
    if not isinstance(json_fields, list) or not all(isinstance(x, str) for x in json_fields):
        raise MappingError(f"{origin}: json_fields must be a list of field names")
    name = str(doc.get("name") or Path(origin).stem)
    reader = doc.get("reader", name if name in READERS else "")
    if reader not in ("", *READERS):
        raise MappingError(f"{origin}: reader = {reader!r}: use one of {', '.join(READERS)}, or leave it out to map the file's own records")
    return Mapping_(
        name=name,
        reader=reader,
        description=str(doc.get("description", "")),
        fields=fields,
        json_fields=tuple(json_fields),
        detect_keys=tuple(detect.get("keys", ())),
        detect_min=int(detect.get("min", len(detect.get("keys", ())) and 1)),
        origin=origin,
    )


def load_mapping(path: str | Path) -> Mapping_:
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"{path}: cannot read mapping file: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: not valid TOML: {exc}") from None
    return parse_mapping(doc, str(path))


# ---- SQL compilation -------------------------------------------------------------------------

# The values tested here come out of json_extract / json(), which write JSON minified: null is `null` and
# the empty string `""`, so plain text comparison suffices (no parse of each value).
_EMPTY = "({v} IS NULL OR {v}::VARCHAR IN ('null', '\"\"'))"


def _present(v: str) -> str:
    return f"CASE WHEN {_EMPTY.format(v=v)} THEN NULL ELSE {v} END"


def _transform(spec: FieldSpec, v: str) -> str:
    t, o = spec.transform, spec.options
    if t is None:
        return v
    # json_type/->> take v once: the text-based shortcuts of contract.sql repeat v, and v is often itself a
    # nested expression (fallback paths, CSV coercion), which would grow the statement exponentially.
    jt = f"json_type({v})"
    s = f"({v}->>'$')"
    if t == "timestamp":
        # A string without an offset is read in the session's TimeZone (the policy's ``timezone``, UTC by default;
        # pipeline.load sets it), then written in UTC.
        per = _UNITS[o.get("unit", "s")]
        micros = f"CAST(round(TRY_CAST({s} AS DOUBLE) * {per!r}) AS BIGINT)"
        iso = "'%Y-%m-%dT%H:%M:%S.%fZ'"
        return (
            f"CASE WHEN {jt} IN ('BIGINT', 'UBIGINT', 'DOUBLE') OR ({jt} = 'VARCHAR' AND TRY_CAST({s} AS DOUBLE) IS NOT NULL)"
            f" THEN COALESCE(to_json(strftime(TRY(make_timestamp({micros})), {iso})), {v})"
            f" WHEN {jt} = 'VARCHAR' THEN COALESCE(to_json(strftime(TRY_CAST({s} AS TIMESTAMPTZ) AT TIME ZONE 'UTC', {iso})), {v})"
            f" ELSE {v} END"
        )
    if t == "cents":
        return (
            f"CASE WHEN {jt} IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'VARCHAR') AND TRY_CAST({s} AS DECIMAL(38,12)) IS NOT NULL"
            f" THEN to_json(TRY_CAST({s} AS DECIMAL(38,12)) * CAST(0.01 AS DECIMAL(3,2))) ELSE {v} END"
        )
    if t in ("number", "integer"):
        return (
            f"CASE WHEN {jt} = 'VARCHAR' AND json_valid(trim({s})) AND json_type(json(trim({s}))) IN ('BIGINT', 'UBIGINT', 'DOUBLE')"
            f" THEN json(trim({s})) ELSE {v} END"
        )
    if t == "boolean":
        return (
            f"CASE WHEN {jt} = 'VARCHAR' AND lower(trim({s})) IN ('true', '1', 'yes') THEN 'true'::JSON"
            f" WHEN {jt} = 'VARCHAR' AND lower(trim({s})) IN ('false', '0', 'no') THEN 'false'::JSON"
            f" WHEN {jt} = 'VARCHAR' AND lower(trim({s})) IN ('none', 'null') THEN NULL"
            f" WHEN {jt} IN ('BIGINT', 'UBIGINT') AND {s} IN ('0', '1') THEN ({s} = '1')::JSON ELSE {v} END"
        )
    if t == "string":
        return f"CASE WHEN {jt} IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'BOOLEAN') THEN to_json({s}) ELSE {v} END"
    if t == "lower":
        return f"CASE WHEN {jt} = 'VARCHAR' THEN to_json(lower({s})) ELSE {v} END"
    if t == "split":
        return (
            f"CASE WHEN {jt} = 'VARCHAR' AND json_valid({s}) AND json_type(json({s})) = 'ARRAY' THEN json({s})"
            f" WHEN {jt} = 'VARCHAR' THEN to_json(list_filter(list_transform(string_split({s}, ','), lambda x: trim(x)), lambda x: x <> ''))"
            f" ELSE {v} END"
        )
    if t == "map":
        cases = " ".join(f"WHEN {lit(str(k))} THEN {json_literal(val)}" for k, val in sorted(o["map"].items()))
        default = json_literal(o["default"]) if "default" in o else v
        return f"CASE WHEN {v} IS NULL THEN {json_literal(o['default']) if 'default' in o else 'NULL'} ELSE CASE {s} {cases} ELSE {default} END END"
    if t == "prefix":
        # "" stays "": a prefix on nothing would read as a value (LiteLLM logs model_map_key "" for custom prices).
        return f"CASE WHEN {jt} = 'VARCHAR' AND {s} <> '' THEN to_json({lit(o['prefix'])} || {s}) ELSE {v} END"
    if t == "tag":
        # The value of the first ``name:value`` (or ``name=value``) item of a list of tags: env:prod -> prod.
        names = "|".join(re.escape(n) for n in o["tag"])
        pat = lit(f"^({names})\\s*[:=]\\s*(.+)$")
        items = f"CAST(json_extract_string({v}, '$[*]') AS VARCHAR[])"
        hit = f"list_filter({items}, lambda x: regexp_matches(lower(x), {pat.lower()}))"
        return (f"CASE WHEN {jt} = 'ARRAY' AND len({hit}) > 0"
                f" THEN to_json(trim(regexp_extract({hit}[1], {pat}, 2, 'i'))) END")
    if t == "sum_keys":
        # The sum of an object's numbers under keys starting with one of the prefixes ("total" excepted): usage split
        # into disjoint parts (Langfuse's input + input_cached_tokens + ...). NULL when no key matches.
        pat = lit("^(" + "|".join(re.escape(x) for x in o["prefixes"]) + ")")
        keys = f"list_filter(json_keys({v}), lambda k: regexp_matches(k, {pat}) AND k <> 'total')"
        key_path = "'$.\"' || k || '\"'"  # a JSON path quoting the key: keys may hold dots
        nums = f"list_transform({keys}, lambda k: TRY_CAST(json_extract_string({v}, {key_path}) AS DECIMAL(38,6)))"
        return (f"CASE WHEN {jt} = 'OBJECT' AND len(list_filter({nums}, lambda x: x IS NOT NULL)) > 0"
                f" THEN to_json(list_sum(list_filter({nums}, lambda x: x IS NOT NULL))) END")
    if t == "label":
        return f"CASE WHEN {jt} IS NOT NULL AND {jt} <> 'NULL' THEN to_json({lit(o['label'])}) END"
    if t == "provider_prefix":
        return f"CASE WHEN {jt} = 'VARCHAR' AND strpos({s}, '/') > 1 THEN to_json(split_part({s}, '/', 1)) END"
    raise MappingError(f"unknown transform {t}")


def _coerce(field_name: str, v: str) -> str:
    """For text-only sources (CSV): read typed values out of strings, by the field's contract type."""
    spec = next(f for f in FIELDS if f.name == field_name) if field_name in FIELD_NAMES else None
    empty = f"CASE WHEN json_type({v}) = 'VARCHAR' AND trim({v}->>'$') = '' THEN NULL ELSE {v} END"
    if spec is None or spec.main_type == "string":
        return empty
    t = {"integer": "integer", "number": "number", "boolean": "boolean", "array": "split"}.get(spec.main_type)
    if t is None:  # object
        return (
            f"CASE WHEN json_type({v}) = 'VARCHAR' AND json_valid({v}->>'$') THEN json({v}->>'$') ELSE {empty} END"
        )
    return _transform(FieldSpec(transform=t), f"({empty})")


def _field_selects(mapping: Mapping_, ref, coerce: bool) -> tuple[list[str], list[str], list[str]]:
    """The three layers of per-field SELECT items over the path references ``ref(path)`` gives: the raw value
    (first path holding a value), the transformed value, and (``coerce``) the CSV coercion."""
    raw, cols, coerced = [], [], []
    def one(p: str | FieldSpec) -> str:
        return ref(p) if isinstance(p, str) else _transform(p, ref(p.paths[0]))

    for name, spec in mapping.fields.items():
        if spec.paths:
            # A single path keeps null, "" and absent apart (the contract check tells them apart);
            # with fallbacks, the first path that holds a value wins.
            if len(spec.paths) == 1 and spec.value is None:
                v = one(spec.paths[0])
            else:
                v = f"COALESCE({', '.join(_present(one(p)) for p in spec.paths)})"
            if spec.value is not None:
                v = f"COALESCE({v}, {json_literal(spec.value)})"
        else:
            v = json_literal(spec.value)
        col = ident(name)
        raw.append(f"{v} AS {col}")
        # A transform, and the CSV coercion, read their input several times: each reads the column of the
        # SELECT below it, not a copy of the expression each time (nested copies made a statement grow
        # exponentially; the CSV statement took most of a second to plan).
        cols.append(f"{_transform(spec, col)} AS {col}")
        if coerce:
            coerced.append(f"{_coerce(name, col)} AS {col}")
    return raw, cols, coerced


def _layers(inner: str, passed: str, raw: list[str], cols: list[str], coerced: list[str]) -> str:
    keep = f"SELECT source_line, source_index{passed}, "
    out = f"{keep}{', '.join(cols)} FROM ({keep}{', '.join(raw)} FROM ({inner}))"
    return f"{keep}{', '.join(coerced)} FROM ({out})" if coerced else out


def compile_select(mapping: Mapping_, source: str, *, coerce: bool = False, extra: Mapping[str, str] | None = None) -> str:
    """A SELECT over ``source`` (columns doc JSON-text, source_line, source_index) giving one JSON column
    per mapped canonical field plus source_line and source_index, and the ``extra`` expressions over
    ``doc`` (by name), which are computed while the document is parsed anyway."""
    extra = dict(extra or {})
    roots = ["doc"] + [f"_jf{i}" for i in range(len(mapping.json_fields))]
    jf_index = {name: i for i, name in enumerate(mapping.json_fields)}
    per_root: dict[str, list[str]] = {r: [] for r in roots}
    refs: dict[tuple[str, str], str] = {}
    subs = _sub_roots(mapping, jf_index)
    per_sub: dict[str, list[str]] = {prefix: [] for prefix in subs}

    def ref(path: str) -> str:
        pointer = to_pointer(path)
        head = pointer[1:].split("/", 1)[0]
        root, rest = "doc", pointer
        prefix = next((x for x in subs if pointer.startswith(x + "/")), None)
        if prefix is not None and head not in jf_index:
            key = ("sub", pointer)
            if key not in refs:
                ref(prefix)  # the sub-object itself comes out of the document's one parse
                per_sub[prefix].append(pointer[len(prefix):])
                refs[key] = f"_s{subs.index(prefix)}[{len(per_sub[prefix])}]"
            return refs[key]
        if head in jf_index:
            root = f"_jf{jf_index[head]}"
            rest = "/" + pointer[1:].split("/", 1)[1] if "/" in pointer[1:] else ""
            if rest == "":
                rest = "$"  # the whole field: extracted like any other path (the inner SELECT projects only the lists)
        key = (root, rest)
        if key not in refs:
            per_root[root].append(rest)
            refs[key] = f"_l{roots.index(root)}[{len(per_root[root])}]"
        return refs[key]

    raw, cols, coerced = _field_selects(mapping, ref, coerce)
    jf_cols = "".join(
        f", CASE WHEN json_type(doc, {lit(to_pointer(n))}) = 'VARCHAR' AND json_valid(doc->>{lit(to_pointer(n))})"
        f" THEN json(doc->>{lit(to_pointer(n))}) ELSE json_extract(doc, {lit(to_pointer(n))}) END AS _jf{i}"
        for i, n in enumerate(mapping.json_fields)
    )
    lists = ", ".join(
        f"json_extract({root}, [{', '.join(lit(p) for p in per_root[root])}]) AS _l{i}"
        for i, root in enumerate(roots)
        if per_root[root]
    )
    extras = "".join(f", {expr} AS {name}" for name, expr in extra.items())
    passed = "".join(f", {name}" for name in extra)
    inner = (
        f"SELECT source_line, source_index{passed}{', ' + lists if lists else ''}"
        f" FROM (SELECT source_line, source_index, doc{extras}{jf_cols} FROM {source})"
    )
    if subs:
        sub_lists = ", ".join(
            f"json_extract({refs[('doc', prefix)]}, [{', '.join(lit(p) for p in per_sub[prefix])}]) AS _s{j}"
            for j, prefix in enumerate(subs)
        )
        inner = f"SELECT *, {sub_lists} FROM ({inner})"
    return _layers(inner, passed, raw, cols, coerced)


class NotColumnar(ValueError):
    """A mapping that a typed (Parquet) schema cannot give column by column (it reads JSON held as text):
    such a file is read as JSON documents instead."""


def _is_json(typ) -> bool:
    return getattr(typ, "extension_name", None) == "arrow.json"


def column_ref(schema, path: str) -> str:
    """SQL for one mapping path over the columns of a typed ``schema`` (a pyarrow schema), giving what
    ``json_extract`` gives for that path of the row written as JSON (``to_json`` of the row): SQL NULL
    when a key or list item on the way is not there or a value on the way is null, ``null`` when the value
    itself is null, and otherwise the value written as JSON."""
    import pyarrow as pa

    parts = _keys(to_pointer(path))
    if parts[0] not in schema.names:
        return "NULL::JSON"
    typ, expr, absent = schema.field(parts[0]).type, ident(parts[0]), []
    for depth, part in enumerate(parts[1:], start=1):
        absent.append(f"{expr} IS NULL")
        if _is_json(typ):  # JSON text: the rest of the path is looked up in it, as in the document
            rest = "/" + "/".join(_escape(p) for p in parts[depth:])
            return f"CASE WHEN {' OR '.join(absent)} THEN NULL::JSON ELSE json_extract({expr}::JSON, {lit(rest)}) END"
        if pa.types.is_struct(typ):
            names = [typ.field(i).name for i in range(typ.num_fields)]
            if part not in names:
                return "NULL::JSON"
            expr, typ = f"struct_extract({expr}, {lit(part)})", typ.field(names.index(part)).type
        elif pa.types.is_map(typ) and (pa.types.is_string(typ.key_type) or pa.types.is_large_string(typ.key_type)):
            absent.append(f"NOT map_contains({expr}, {lit(part)})")
            expr, typ = f"map_extract_value({expr}, {lit(part)})", typ.item_type
        elif (pa.types.is_list(typ) or pa.types.is_large_list(typ)) and part.isdigit() and (part == "0" or part[0] != "0"):
            absent.append(f"len({expr}) <= {int(part)}")
            expr, typ = f"{expr}[{int(part) + 1}]", typ.value_type
        else:  # a key of a list, a number or a text: not there
            return "NULL::JSON"
    value = f"coalesce(to_json({expr}), 'null'::JSON)"
    return f"CASE WHEN {' OR '.join(absent)} THEN NULL::JSON ELSE {value} END" if absent else value


def compile_columns(mapping: Mapping_, source: str, schema, *, extra: Mapping[str, str] | None = None) -> str:
    """Like :func:`compile_select`, over a typed table ``source`` (Parquet) whose pyarrow ``schema`` is known:
    each mapped path is read from its column (no JSON document is written for the row and parsed again), and
    gives the same JSON value that :func:`compile_select` would give for the row written as JSON. ``source``
    has the columns of ``schema`` plus source_line and source_index; ``extra`` expressions are over its columns.
    Raises NotColumnar for a mapping that reads JSON held as text (``json_fields``)."""
    if mapping.json_fields:
        raise NotColumnar("the mapping reads JSON held as text")
    extra = dict(extra or {})
    names: dict[str, str] = {}  # path -> the column of the inner SELECT holding its value

    def ref(path: str) -> str:
        return names.setdefault(path, f"_p{len(names)}")

    raw, cols, _ = _field_selects(mapping, ref, False)
    extras = "".join(f", {expr} AS {name}" for name, expr in extra.items())
    passed = "".join(f", {name}" for name in extra)
    values = "".join(f", {column_ref(schema, path)} AS {name}" for path, name in names.items())
    inner = f"SELECT source_line, source_index{extras}{values} FROM {source}"
    return _layers(inner, passed, raw, cols, [])


# A nested object that this many mapped paths read from is extracted once and read from there:
# json_extract's cost grows with the number of paths looked up from the document's root.
SUB_ROOT_MIN_PATHS = 4


def _sub_roots(mapping: Mapping_, jf_index: Mapping[str, int]) -> list[str]:
    """Pointer prefixes (two levels deep, ``/metadata/spend_logs_metadata``) under which at least
    SUB_ROOT_MIN_PATHS of the mapping's document paths lie."""
    counts: dict[str, set[str]] = {}
    for spec in mapping.fields.values():
        for path in spec.paths:
            path = path if isinstance(path, str) else path.paths[0]
            parts = to_pointer(path)[1:].split("/")
            if len(parts) > 2 and parts[0] not in jf_index:
                counts.setdefault("/" + "/".join(parts[:2]), set()).add(path)
    return sorted(prefix for prefix, paths in counts.items() if len(paths) >= SUB_ROOT_MIN_PATHS)
