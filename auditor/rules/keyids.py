"""Gateway key ids as every output shows them, and who owns a key by the registry.

Shared by ``copied-key``, ``environment-bleed`` and scoring, so none of them imports another rule module.
Key ids never appear in full in any output: :func:`mask_key` keeps human aliases ("key-support-prod")
readable and shortens anything that looks like a secret or a hash to a prefix and suffix (``88dc…6b4b``),
with :func:`auditor.redact.mask`.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pyarrow as pa

from auditor.redact import has_secret, mask

_OPAQUE_RUN = re.compile(r"[A-Za-z0-9+/=]{12,}")


# Scoring masks each team's production keys: 100k teams on a few hundred keys ran the secret scan 100k times (1 s).
@lru_cache(maxsize=1 << 16)
def mask_key(key: str) -> str:
    """A key id as every output shows it: an alias stays readable; a secret, hash or opaque token
    (a run of 12+ letters/digits holding a digit, or 16+ hex digits) becomes ``abcd…wxyz``."""
    k = key.strip()
    if "[masked secret]" in k:
        return "[masked secret]"
    if has_secret(k):
        return mask(k)
    if any(re.search(r"[0-9]", run) for run in _OPAQUE_RUN.findall(k)) or re.search(r"[0-9a-fA-F]{16,}", k):
        return mask(k)
    return k


def key_label_table(con, keys_sql: str, name: str) -> str:
    """Temp table ``name(k, label)`` with the masked label of each distinct key ``keys_sql`` yields."""
    keys = [r[0] for r in con.execute(f"SELECT DISTINCT k FROM ({keys_sql}) WHERE k IS NOT NULL ORDER BY 1").fetchall()]
    arrow = pa.table({"k": pa.array(keys, pa.string()), "label": pa.array([mask_key(k) for k in keys], pa.string())})
    con.register(f"{name}_arrow", arrow)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")
    return name


def registry_key_owners(policy) -> dict[str, str]:
    """Key -> the one registry team that lists it in ``keys`` (a key listed by two teams has no owner)."""
    owners: dict[str, set[str]] = {}
    for t in policy.teams.values():
        for k in t.keys:
            owners.setdefault(k, set()).add(t.team_id)
    return {k: next(iter(ts)) for k, ts in owners.items() if len(ts) == 1}
