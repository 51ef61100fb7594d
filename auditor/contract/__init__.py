"""The chargeback contract: the canonical record schema and its vectorized check.

``schemas/chargeback-record.schema.json`` is the single source of truth; a policy can
tighten it (extra required fields, patterns, enums). :func:`effective_schema` gives the
schema in force, :mod:`auditor.contract.sql` compiles it to DuckDB expressions that give,
per record and field, the same verdict as the ``jsonschema`` library.
"""

from auditor.contract.schema import (
    FIELDS,
    Field,
    base_schema,
    effective_schema,
    fields_of,
    schema_path,
)

__all__ = ["FIELDS", "Field", "base_schema", "effective_schema", "fields_of", "schema_path"]
