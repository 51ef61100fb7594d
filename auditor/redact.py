"""What a raw credential looks like, and how every output shows one: masked.

Log fields are untrusted text. A raw provider key or bearer token can turn up in any field (an
alias set to the key itself, a header copied into metadata); whatever the audit prints, writes or
exports goes through :func:`mask_text`, and the loader masks such values in the record table.
"""

from __future__ import annotations

import re

# One alternation, RE2- and Python-compatible, each branch anchored on a literal prefix so the
# engine can skip quickly over text that holds none.
SECRET_PATTERN = (
    r"(?:sk-(?:proj-|ant-(?:api|admin)[0-9]{2}-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"
    r"|sk_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|AKIA[0-9A-Z]{16}"
    r"|AIza[0-9A-Za-z_\-]{35}"
    r"|gh[pousr]_[A-Za-z0-9]{36,}"
    r"|github_pat_[A-Za-z0-9_]{40,}"
    r"|xox[abposr]-[A-Za-z0-9\-]{10,}"
    r"|hf_[A-Za-z0-9]{30,}"
    r"|gsk_[A-Za-z0-9]{40,}"
    r"|pk-lf-[0-9a-f\-]{20,}|sk-lf-[0-9a-f\-]{20,}"
    r"|[Bb]earer\s+[A-Za-z0-9._~+/\-]{20,}=*)"
)
_RE = re.compile(SECRET_PATTERN)


def mask(secret: str) -> str:
    """``sk-proj-abcdef…wxyz`` -> ``sk-p…wxyz``: enough to find the key, never enough to use it."""
    s = secret.strip()
    if s.lower().startswith("bearer"):
        return "Bearer …" + s[-4:]
    return f"{s[:4]}…{s[-4:]}" if len(s) > 12 else "…"


def mask_text(text: str) -> str:
    return _RE.sub(lambda m: mask(m.group(0)), text)


def has_secret(text: str) -> bool:
    return bool(_RE.search(text))


def mask_sql(expr: str) -> str:
    """DuckDB expression replacing every secret inside the string expression ``expr`` by a marker."""
    return f"regexp_replace({expr}, '({SECRET_PATTERN})', '[masked secret]', 'g')"


def mask_sql_value(expr: str) -> str:
    """DuckDB expression giving :func:`mask` of the secret ``expr``."""
    return (
        f"CASE WHEN lower({expr}) LIKE 'bearer%' THEN 'Bearer …' || right({expr}, 4)"
        f" WHEN length({expr}) > 12 THEN left({expr}, 4) || '…' || right({expr}, 4) ELSE '…' END"
    )
