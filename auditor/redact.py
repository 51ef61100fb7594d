"""What a raw credential looks like, and how every output shows one: masked.

Log fields are untrusted text. A raw provider key or bearer token can turn up in any field (an
alias set to the key itself, a header copied into metadata, a key pasted into a prompt); whatever the
audit prints, writes or exports goes through :func:`mask_text`, and the loader masks such values in the
record table (``loaders.pipeline``).

The rule set. Each pattern is written for both regex engines the audit uses: RE2 (DuckDB's
``regexp_*`` functions, on the raw JSON text of every record while loading) and Python's ``re`` (the
renderers' last pass). So: no look-around, no back-references, no counted repetition above 1000.
Where a maintained rule exists it is ported from gitleaks' default configuration
(https://github.com/gitleaks/gitleaks, config/gitleaks.toml at 009e025ad4106ab333aa0b9dc4f2a884390d134c,
MIT licence, Copyright (c) 2019 Zachary Rice): aws-access-token (AKIA/ASIA only), gcp-api-key, github-pat / -oauth /
-app-token / -fine-grained-pat, slack tokens, jwt, private-key. Differences, and why:
- gitleaks' trailing ``(?:[\\x60'"\\s;]|\\\\[nr]|$)`` and leading ``\\b`` are replaced by a leading
  ``(?:\\\\[nrt]|\\b)``: the text scanned is JSON, where a key after a newline reads ``\\nsk-…``
  (``\\b`` alone misses it), and a key may be followed by any character in a prompt.
- Lengths are minimums (``{36,}``) where gitleaks has exact lengths: a longer token is still a token.
- No entropy filter and no allowlist (RE2 has neither): over-masking a log value is safe, a missed key is not.
Not in gitleaks (or removed from it), and added for LLM gateway logs: OpenAI/Anthropic/Langfuse secret keys
by prefix (gitleaks wants the ``T3BlbkFJ`` marker or exact lengths, which project and admin keys do not all
have), AWS secret access keys next to their key id, Azure OpenAI keys (32 hex
in an ``api-key`` header), ``Bearer`` / ``Basic`` authorization values (also BEARER, bearer) after a space or a tab
(also the JSON-escaped ``\\t``), and passwords in URLs (``scheme://user:pass@``).
A Langfuse public key (``pk-lf-…``) is public by design (its SDK writes it into every span): not a secret.
"""

from __future__ import annotations

import re

_LEAD = r"(?:\\[nrt]|\b)"  # a word boundary, or the JSON escape of a newline/tab right before the token
_SEP = r"(?:[\s\\'\"`:=,]|\\[nrt]){1,8}"  # between a header or key name and its value, raw or in JSON text
_TOKEN = r"[A-Za-z0-9._~+/\-]{20,}=*"

# (id, RE2/Python pattern, literal hints: one of which is in every match; the load runs the regex only on
# documents holding a hint). A hint's first character should be rare in JSON logs (see pipeline.SECRET_HINTS).
RULES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("openai-anthropic-langfuse-key",
     _LEAD + r"sk-(?:proj-|ant-(?:api|admin)[0-9]{2}-|svcacct-|admin-|lf-)?[A-Za-z0-9_\-]{20,}", ("k-",)),
    ("stripe-style-key", _LEAD + r"[sr]k_(?:live|test)_[A-Za-z0-9]{16,}", ("k_",)),
    ("groq-key", _LEAD + r"gsk_[A-Za-z0-9]{40,}", ("k_",)),
    ("aws-secret-access-key",  # a 40-character secret right after its key id ("AKIA…:secret", or the next JSON value)
     r"(?:AKIA|ASIA)[A-Z0-9]{16}(?:[^A-Za-z0-9/+]{1,6}[A-Za-z_\-]{1,40}){0,2}[^A-Za-z0-9/+]{1,6}[A-Za-z0-9/+]{40}",
     ("AKIA", "ASIA")),
    # AKIA: long-term keys, ASIA: temporary (STS) keys; gitleaks' rarer A3T/ABIA/ACCA would cost a hint scan each
    ("aws-access-token", _LEAD + r"(?:AKIA|ASIA)[A-Z0-9]{16}", ("AKIA", "ASIA")),
    ("azure-openai-key",  # the api-key header of Azure OpenAI: exactly 32 hex digits
     r"(?:api|Api|API)-(?:key|Key|KEY)" + _SEP + r"[0-9a-fA-F]{32}(?:[^0-9A-Za-z]|$)", ("-key", "-Key", "-KEY")),
    ("gcp-api-key", _LEAD + r"AIza[0-9A-Za-z_\-]{35}", ("AIza",)),
    ("github-token", _LEAD + r"gh[pousr]_[A-Za-z0-9]{36,}", ("gh",)),
    ("github-fine-grained-pat", _LEAD + r"github_pat_[A-Za-z0-9_]{40,}", ("github_pat_",)),
    ("slack-token", _LEAD + r"xox[abposre]-[A-Za-z0-9\-]{10,}", ("xox",)),
    ("slack-app-token", _LEAD + r"xapp-[0-9]-[A-Za-z0-9\-]{10,}", ("xapp-",)),
    ("huggingface-token", _LEAD + r"hf_[A-Za-z0-9]{30,}", ("hf_",)),
    ("jwt", _LEAD + r"eyJ[A-Za-z0-9_\-]{15,}\.eyJ[A-Za-z0-9_\-/\\]{15,}\.(?:[A-Za-z0-9_\-/\\]{10,}={0,2})?", (".eyJ",)),
    ("bearer-token", r"(?:[Bb]earer|BEARER)(?:[ \t]|\\t)+" + _TOKEN, ("Bearer", "bearer", "BEARER")),
    ("basic-auth",  # after an Authorization name, or padded base64 (a bare "basic questions" is no credential)
     r"(?:(?i:authorization)" + _SEP + r"(?:[Bb]asic|BASIC)(?:[ \t]|\\t)+[A-Za-z0-9+/]{6,}={0,2}"
     r"|(?:[Bb]asic|BASIC)(?:[ \t]|\\t)+[A-Za-z0-9+/]{10,}={1,2})", ("Basic", "basic", "BASIC")),
    ("private-key",
     r"-----BEGIN[ A-Z0-9_\-]{0,100}PRIVATE KEY(?: BLOCK)?-----[A-Za-z0-9+/=\s\\:,.\-]*", ("PRIVATE KEY",)),
    # (no counted repetition: "{1,20}" in front of "://", in every document, made the load three times slower)
    ("password-in-url", r"[A-Za-z][A-Za-z0-9+.\-]*:(?://|\\/\\/)[^\s:@/\"'\\]+:[^\s:@/\"'\\]+@", ("://", "\\/\\/")),
)

# Hints found in nearly every document ("://" is in every LiteLLM record: api_base), tested instead with a regex
# that starts with the hint: RE2 skips to each occurrence of the literal, so this costs about what the substring
# test does, and it spares the full pattern on the documents that hold a URL without a password.
HINT_REGEX = {"://": r"://[^\s:@/\"'\\]+:[^\s:@/\"'\\]+@"}

SECRET_PATTERN = "(?:" + "|".join(p for _, p, _ in RULES) + ")"
SECRET_HINTS: tuple[str, ...] = tuple(dict.fromkeys(h for _, _, hints in RULES for h in hints))

# Python's re tries a pattern at every position. The URL scheme ``[A-Za-z][A-Za-z0-9+.\-]*:`` then rescans the
# rest of every run of letters and digits: quadratic, 0.8 s on 16 KB of letters and an hour on a 1 MB team name
# (RE2 is linear). For re only, a scheme starts where its run starts (look-behind) and is taken without backtracking
# (possessive): the same URLs match, the match only starts earlier when the run begins with digits or "+.-",
# and mask() keeps the text before "://" as it is, so the masked output is the same.
_PY_PASSWORD_IN_URL = (r"(?<![A-Za-z0-9+.\-])[0-9+.\-]*+[A-Za-z][A-Za-z0-9+.\-]*+:(?://|\\/\\/)"
                       r"[^\s:@/\"'\\]++:[^\s:@/\"'\\]++@")
_RE = re.compile("(?:" + "|".join(_PY_PASSWORD_IN_URL if name == "password-in-url" else p for name, p, _ in RULES) + ")")

MARKER = "[masked secret]"
_CORE = re.compile(r"([A-Za-z0-9/+_.~=\-]{6,})[^A-Za-z0-9/+_.~=\-]*$")
_ESCAPE = re.compile(r"^\\[nrt]")


_CONTEXT = re.compile(r"(?i:aws|api|authorization|basic|a3t|akia|asia|abia|acca)")


def core(secret: str) -> str:
    """The credential itself inside a match that may also hold its context (a header or key name, a key id):
    the password of a URL, the token after Bearer, the last token after a name; else the match."""
    s = _ESCAPE.sub("", secret.strip()).replace("\\/", "/")
    if "://" in s:
        m = re.search(r":([^:@/]+)@$", s)
        return m.group(1) if m else ""
    if s[:6].lower() == "bearer" or (_CONTEXT.match(s) and len(s) > 20):
        m = _CORE.search(s)
        return m.group(1) if m else s
    return s


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def mask(secret: str) -> str:
    """``sk-proj-abcdef…wxyz`` -> ``sk-p…wxyz``: enough to find the key, never enough to use it."""
    s = _ESCAPE.sub("", secret.strip()).replace("\\/", "/")
    low = s.lower()
    if s.startswith("-----BEGIN"):
        return "-----BEGIN … PRIVATE KEY-----"
    if "://" in s:
        return s[: s.index("://") + 3] + "…:…@"
    c = core(s)
    if low.startswith("bearer"):
        return "Bearer …" + c[-4:]
    if "basic" in low and not low.startswith("aws"):
        return "Basic …" + c[-4:]
    return f"{c[:4]}…{c[-4:]}" if len(c) > 12 else "…"


# Above this size the renderers' last pass finds the secrets with RE2 (DuckDB's regexp functions, linear in the
# text, the engine the loader masks with) instead of Python's re, which tries every alternative at every
# position: a 172 MB JSON report took 76 s in re and 0.8 s in RE2.
_RE2_FROM_CHARS = 1 << 20


def mask_text(text: str) -> str:
    if len(text) >= _RE2_FROM_CHARS:
        return _mask_text_re2(text)
    return _RE.sub(lambda m: mask(m.group(0)), text)


def _mask_text_re2(text: str) -> str:
    import duckdb

    with duckdb.connect() as con:
        found = con.execute("SELECT list_distinct(regexp_extract_all(?, ?))", [text, SECRET_PATTERN]).fetchone()[0]
    # longest first, so a secret that holds a shorter one is masked whole; masking every copy of a matched
    # string (also one that stands where the pattern would not match) can only mask more, never less
    for secret in sorted(found or (), key=lambda m: (-len(m), m)):
        text = text.replace(secret, mask(secret))
    return text


def has_secret(text: str) -> bool:
    return bool(_RE.search(text))


def mask_sql(expr: str) -> str:
    """DuckDB expression replacing every secret inside the string expression ``expr`` by a marker."""
    return f"regexp_replace({expr}, {_lit(SECRET_PATTERN)}, '{MARKER}', 'g')"


def core_sql(expr: str) -> str:
    """DuckDB expression giving :func:`core` of the secret ``expr``."""
    s = f"replace(regexp_replace(trim({expr}), '^\\\\[nrt]', ''), '\\/', '/')"
    return (
        f"CASE WHEN contains({s}, '://') THEN regexp_extract({s}, ':([^:@/]+)@$', 1)"
        f" WHEN lower(left({s}, 6)) = 'bearer' OR (regexp_matches({s}, {_lit('^' + _CONTEXT.pattern)}) AND length({s}) > 20)"
        f" THEN coalesce(nullif(regexp_extract({s}, {_lit(_CORE.pattern)}, 1), ''), {s}) ELSE {s} END"
    )


def mask_sql_value(expr: str) -> str:
    """DuckDB expression giving :func:`mask` of the secret ``expr``."""
    s = f"replace(regexp_replace(trim({expr}), '^\\\\[nrt]', ''), '\\/', '/')"
    c = core_sql(expr)
    return (
        f"CASE WHEN starts_with({s}, '-----BEGIN') THEN '-----BEGIN … PRIVATE KEY-----'"
        f" WHEN contains({s}, '://') THEN left({s}, strpos({s}, '://') + 2) || '…:…@'"
        f" WHEN starts_with(lower({s}), 'bearer') THEN 'Bearer …' || right({c}, 4)"
        f" WHEN contains(lower({s}), 'basic') AND NOT starts_with(lower({s}), 'aws') THEN 'Basic …' || right({c}, 4)"
        f" WHEN length({c}) > 12 THEN left({c}, 4) || '…' || right({c}, 4) ELSE '…' END"
    )


# Characters that a terminal, a log viewer or an editor acts on instead of showing: C0 controls (ESC starts the
# clear-screen, window-title and hyperlink sequences; BEL, BS, CR rewrite what was shown), DEL, C1 controls
# (U+009B is an 8-bit CSI) and the Unicode line separators and bidirectional overrides ("Trojan Source").
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(ch: str) -> str:
    n = ord(ch)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def escape_controls(text: str, keep: str = "\n") -> str:
    """``text`` with every control character except those in ``keep`` written as a visible escape (``\\x1b``)."""
    return _CONTROLS.sub(lambda m: m.group(0) if m.group(0) in keep else _visible(m.group(0)), text)


def safe_text(text: str, keep: str = "\n") -> str:
    """What a text renderer prints: secrets masked, control characters made visible."""
    return escape_controls(mask_text(text), keep)


_JSON_RAW = re.compile("[\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def json_safe(text: str) -> str:
    """JSON text (``json.dumps`` output, which escapes C0 already) with DEL, C1 and the other invisible controls as
    ``\\u`` escapes (four hex digits): the same JSON value, safe to print. They can only stand inside strings."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group(0)):04x}", mask_text(text))
