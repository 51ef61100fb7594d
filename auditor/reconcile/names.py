"""Names on a bill and in a log rarely match: ``gpt-4o-mini-2024-07-18, cached input`` on an OpenAI
cost line, ``USE1-Claude4.6Sonnet-input-tokens`` in a Bedrock export, ``claude-sonnet-4-6`` in the
gateway log. This module turns both sides into the same provider, model key and token type."""

from __future__ import annotations

import re
from functools import lru_cache

# Token types, the same on both sides.
INPUT = "input"  # uncached input
CACHED = "cached_input"  # prompt-cache reads
CACHE_WRITE = "cache_write"  # prompt-cache writes
OUTPUT = "output"
TOKEN_TYPES = (INPUT, CACHED, CACHE_WRITE, OUTPUT)

_PROVIDERS = {
    "openai": "openai", "open ai": "openai", "openai, l.l.c.": "openai", "openai llc": "openai",
    "anthropic": "anthropic", "anthropic pbc": "anthropic", "claude": "anthropic",
    "bedrock": "bedrock", "aws_bedrock": "bedrock", "aws bedrock": "bedrock", "amazon bedrock": "bedrock",
    "amazon bedrock service": "bedrock", "amazonbedrock": "bedrock", "bedrock_converse": "bedrock",
    "azure": "azure", "azure_openai": "azure", "azure openai": "azure", "azure openai service": "azure",
    "azure_ai": "azure", "azure ai foundry": "azure", "foundry models": "azure", "microsoft": "azure",
    "vertex_ai": "vertex_ai", "vertex": "vertex_ai", "vertex ai": "vertex_ai", "google vertex ai": "vertex_ai",
    "vertex_ai_beta": "vertex_ai", "gemini": "vertex_ai", "google": "vertex_ai", "google cloud": "vertex_ai",
}


@lru_cache(maxsize=4096)
def provider_key(name: str | None) -> str:
    """``Amazon Bedrock`` / ``aws_bedrock`` -> ``bedrock``; unknown names lower-cased as they are."""
    if not name:
        return "unknown"
    n = " ".join(str(name).strip().lower().split())
    if n in _PROVIDERS:
        return _PROVIDERS[n]
    for word, key in (("bedrock", "bedrock"), ("azure", "azure"), ("vertex", "vertex_ai"), ("openai", "openai"),
                      ("anthropic", "anthropic")):
        if word in n:
            return key
    return n


_DATE_SUFFIX = re.compile(r"[-@_](?:20\d\d-?[01]\d-?[0-3]\d|[01]\d[0-3]\d)$")  # -2024-07-18, -20241022, @20240620, -0718
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")  # anthropic.claude-3-5-sonnet-20240620-v1:0
_PREFIXES = ("openai/", "anthropic/", "bedrock/", "azure/", "vertex_ai/", "gemini/", "models/", "publishers/google/models/")
_REGION_PREFIX = re.compile(r"^(?:us|eu|apac|global|jp|au)\.")
_VENDOR_PREFIX = re.compile(r"^(?:anthropic|amazon|meta|mistral|cohere|ai21|openai|deepseek|qwen|writer|zai)\.")


@lru_cache(maxsize=65536)
def model_key(name: str | None) -> str:
    """A key that is equal for the spellings of one model: lower case, no provider prefix, no snapshot
    date, no Bedrock version; word parts sorted, number parts kept in order.

    ``gpt-4o-mini-2024-07-18`` == ``gpt-4o-mini``; ``Claude4.6Sonnet`` == ``claude-sonnet-4-6``;
    ``anthropic.claude-3-5-sonnet-20240620-v1:0`` == ``claude-3-5-sonnet``.
    """
    if not name:
        return ""
    n = str(name).strip().lower()
    for p in _PREFIXES:
        if n.startswith(p):
            n = n[len(p):]
    n = n.rsplit("/", 1)[-1]
    n = _REGION_PREFIX.sub("", n)
    n = _VENDOR_PREFIX.sub("", n)
    n = _BEDROCK_VERSION.sub("", n)
    for _ in range(2):
        n = _DATE_SUFFIX.sub("", n)
    n = re.sub(r"-latest$", "", n)
    parts = re.findall(r"[a-z]+|\d+", n)
    words = sorted(p for p in parts if not p.isdigit())
    numbers = [str(int(p)) for p in parts if p.isdigit()]
    return " ".join(words) + "|" + ".".join(numbers)


def token_type_of(text: str | None) -> str | None:
    """The token type a meter / SKU / line label names, or None."""
    if not text:
        return None
    t = str(text).lower().replace("_", " ").replace("-", " ")
    if "uncached" in t or "non cached" in t:
        return INPUT
    if "cache" in t and ("write" in t or "creation" in t or "create" in t):
        return CACHE_WRITE
    if "cached" in t or ("cache" in t and ("read" in t or "hit" in t)):
        return CACHED
    if re.search(r"\b(output|outp|completion|generated)\b", t) or re.search(r"\bout\b", t):
        return OUTPUT
    if re.search(r"\b(input|inp|prompt)\b", t):
        return INPUT
    return None


def is_batch(text: str | None) -> bool:
    return bool(text) and re.search(r"\bbatch(es)?\b", str(text).lower().replace("_", " ").replace("-", " ")) is not None


# OpenAI Costs API line_item: "gpt-4o-mini-2024-07-18, input", "gpt-5.5-2026-04-23, cached input",
# "priority | gpt-5.6, output, long context", "gpt-audio-mini-2025-12-15 audio, input", "web search tool calls".
def parse_openai_line_item(line_item: str | None) -> tuple[str | None, str | None, dict]:
    """(model, token type, qualifiers) for an OpenAI cost line; model None for non-model charges."""
    if not line_item:
        return None, None, {}
    text = str(line_item).strip()
    quals: dict = {}
    if "|" in text:
        tier, text = (s.strip() for s in text.split("|", 1))
        quals["tier"] = tier
    parts = [p.strip() for p in text.split(",")]
    if len(parts) < 2:
        return None, token_type_of(text), quals
    head = parts[0]
    m = re.match(r"^(\S+)(?:\s+(audio|text|image|realtime))?$", head)
    if not m:
        return None, token_type_of(text), quals
    if m.group(2):
        quals["modality"] = m.group(2)
    tt = token_type_of(parts[1])
    rest = [p for p in parts[2:] if p]
    if rest:
        quals["qualifiers"] = rest
    if is_batch(text) or quals.get("tier", "").lower() == "batch":
        quals["batch"] = True
    return m.group(1), tt, quals


# Bedrock CUR usage types: USE1-Claude4.6Sonnet-input-tokens, USE1-Claude3Sonnet-output-tokens-batch,
# USE1-Claude4Sonnet-cache-write-input-token-count-1-hour, USE1-Claude4.6Opus-input-tokens-cross-region-global,
# USW2-anthropic.claude-opus-4-8-mantle-cache-write-tokens-global-standard.
_BEDROCK_USAGE = re.compile(
    r"^(?:[A-Z]{2,4}\d?-)?(?P<model>.+?)-(?:mantle-)?(?P<meter>cache-read-input-token-count|cache-write-input-token-count"
    r"|cache-read-tokens|cache-write-tokens|input-tokens|output-tokens|input-token-count|output-token-count)"
    r"(?P<rest>(?:-.*)?)$", re.IGNORECASE)


def parse_bedrock_usage_type(usage_type: str | None) -> tuple[str | None, str | None, bool]:
    """(model, token type, batch) from a Bedrock usage type, or (None, None, False)."""
    if not usage_type:
        return None, None, False
    m = _BEDROCK_USAGE.match(str(usage_type).strip())
    if not m:
        return None, None, False
    return m.group("model"), token_type_of(m.group("meter")), is_batch(m.group("rest"))
