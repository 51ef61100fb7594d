"""The price sources: genai-prices (bundled, dated), user catalogs (TOML/CSV), LiteLLM's model map
(with the date the user says it applies from) and LiteLLM's per-record price snapshot.

Every source answers for one (provider, model, batch) with a list of :class:`Version`; nothing here
reads records. No source touches the network: genai-prices is used from its bundled snapshot.
"""

from __future__ import annotations

import csv
import json
import re
import tomllib
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable

import genai_prices
from genai_prices import Usage
from genai_prices import types as gp

from auditor.policy import PolicyError
from auditor.pricing.prices import (
    BASE_BAND,
    DEFAULT_BATCH_DISCOUNT_PCT,
    MILLION,
    Band,
    PriceSet,
    Version,
    discount,
    price_set,
)


class PricingError(PolicyError):
    """A price file the policy names is unusable; the message names the file, the row and the field."""


# Our provider names (LiteLLM's custom_llm_provider and friends) -> genai-prices provider ids.
GENAI_PROVIDERS = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "azure": "azure",
    "azure_ai": "azure",
    "azure_openai": "azure",
    "anthropic": "anthropic",
    "bedrock": "aws",
    "bedrock_converse": "aws",
    "aws": "aws",
    "aws_bedrock": "aws",
    "amazon": "aws",
    "vertex_ai": "google",
    "vertex_ai_beta": "google",
    "vertex": "google",
    "gemini": "google",
    "google": "google",
    "google_ai_studio": "google",
    "mistral": "mistral",
    "groq": "groq",
    "deepseek": "deepseek",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "together_ai": "together",
    "together": "together",
    "fireworks_ai": "fireworks",
    "fireworks": "fireworks",
    "openrouter": "openrouter",
    "xai": "x-ai",
    "x-ai": "x-ai",
    "perplexity": "perplexity",
    "cerebras": "cerebras",
    "databricks": "databricks",
    "meta_llama": "meta",
    "moonshot": "moonshotai",
    "cloudflare": "cloudflare",
}


def genai_provider_id(provider: str) -> str | None:
    """The genai-prices provider id for one of our provider names; None when genai-prices has no such
    provider (an internal or self-hosted model is then never priced by guessing from its name)."""
    p = provider.strip().lower()
    pid = GENAI_PROVIDERS.get(p, p)
    from genai_prices.data_snapshot import find_provider_by_id, get_snapshot

    return pid if find_provider_by_id(get_snapshot().providers, pid) is not None else None


def _strip_provider_prefix(provider: str, model: str) -> str:
    head, sep, tail = model.partition("/")
    if sep and head.lower() in (provider.lower(), GENAI_PROVIDERS.get(provider.lower(), "")):
        return tail
    return model


# ---------------------------------------------------------------- genai-prices

def _d(v: Any) -> Decimal:
    return v if isinstance(v, Decimal) else Decimal(str(v))


def _genai_price_set(mp: gp.ModelPrice) -> PriceSet:
    """Bands from a genai-prices ModelPrice (tiered prices: the tier applies when input tokens > start)."""
    keys = {"input": mp.input_mtok, "cached_input": mp.cache_read_mtok, "cache_write": mp.cache_write_mtok,
            "output": mp.output_mtok}
    starts = sorted({t.start for v in keys.values() if isinstance(v, gp.TieredPrices) for t in v.tiers})

    def at(v: Any, start: int) -> Decimal | None:
        if v is None:
            return None
        if isinstance(v, gp.TieredPrices):
            price = v.base
            for t in v.tiers:
                if t.start <= start:
                    price = t.price
            return _d(price)
        return _d(v)

    bands = []
    for start in [BASE_BAND, *starts]:
        vals = {k: at(v, start) for k, v in keys.items()}
        inp = vals["input"] if vals["input"] is not None else Decimal(0)
        bands.append(Band(start, inp,
                          inp if vals["cached_input"] is None else vals["cached_input"],
                          inp if vals["cache_write"] is None else vals["cache_write"],
                          vals["output"] if vals["output"] is not None else Decimal(0)))
    return tuple(bands)


_BATCH = {"processing": "batch"}


def genai_versions(provider: str, model: str, batch: bool, when: date) -> list[Version]:
    """The dated price versions genai-prices knows for (provider, model), for batch or standard requests.

    One ``genai_prices.calc_price`` call finds the model and the price in effect on ``when``; the model's
    other price periods (its ``ConditionalPrice`` start dates, and for batch the batch variant's start
    dates) are read from the model it returns, one price per period. No price at all -> [].
    """
    pid = genai_provider_id(provider)
    if pid is None:
        return []
    ref = _strip_provider_prefix(provider, model)
    ts = datetime(when.year, when.month, when.day, tzinfo=timezone.utc)
    try:
        calc = genai_prices.calc_price(Usage(input_tokens=0, output_tokens=0), ref, provider_id=pid,
                                       genai_request_timestamp=ts, price_context=_BATCH if batch else None)
    except LookupError:
        return []
    info: gp.ModelInfo = calc.model
    use_ctx = batch and any(info is m for m in calc.provider.models)
    label = f"genai-prices {genai_prices.__version__} {calc.provider.id}/{info.id}"

    conds = [] if isinstance(info.prices, gp.ModelPrice) else list(info.prices)
    starts = {c.constraint.start_date for c in conds if isinstance(c.constraint, gp.StartDateConstraint)}
    if use_ctx:
        starts |= {v.constraint.start_date for v in info.price_variants or ()
                   if v.when == _BATCH and isinstance(v.constraint, gp.StartDateConstraint)}
    # prices that alternate by time of day (off-peak) are all in effect on a day
    by_time = [_genai_price_set(c.prices) for c in conds if isinstance(c.constraint, gp.TimeOfDateConstraint)]

    periods = sorted(starts)
    bounds: list[date | None] = [None, *periods]
    versions = []
    for i, start in enumerate(bounds):
        end = bounds[i + 1] if i + 1 < len(bounds) else None
        at = datetime(1970, 1, 1, tzinfo=timezone.utc) if start is None else datetime(
            start.year, start.month, start.day, tzinfo=timezone.utc)
        # the price at the start of the period, standard and (for batch) with the batch variant
        std = info.get_prices(at)
        ps = _genai_price_set(std)
        if batch:
            variant = info.get_prices(at, _BATCH) if use_ctx else std
            ps = discount(ps, DEFAULT_BATCH_DISCOUNT_PCT) if variant == std else _genai_price_set(variant)
        alts = [ps] + [a for a in (discount(x, DEFAULT_BATCH_DISCOUNT_PCT) if batch else x for x in by_time) if a != ps]
        versions.append(Version("genai-prices", label, start, end, tuple(alts)))
    return versions


# ---------------------------------------------------------------- user catalog

CATALOG_COLUMNS = ("provider", "model", "effective_from", "effective_to", "input_per_1m", "cached_input_per_1m",
                   "cache_write_per_1m", "output_per_1m", "batch_discount_pct", "note")


def _date(v: Any, where: str) -> date | None:
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v).strip()[:10])
    except ValueError:
        raise PricingError(f"{where}: not a date (YYYY-MM-DD): {v!r}") from None


def _price(v: Any, where: str, required: bool = False) -> Decimal | None:
    if v is None or v == "":
        if required:
            raise PricingError(f"{where}: required")
        return None
    try:
        d = Decimal(str(v).strip().lstrip("$"))
    except InvalidOperation:
        raise PricingError(f"{where}: not a number: {v!r}") from None
    if not d.is_finite() or d < 0:
        raise PricingError(f"{where}: must be a non-negative number: {v!r}")
    return d


class CatalogRow:
    __slots__ = ("provider", "model", "version", "batch_version")

    def __init__(self, raw: dict[str, Any], where: str, label: str):
        unknown = sorted(set(raw) - set(CATALOG_COLUMNS))
        if unknown:
            raise PricingError(f"{where}: unknown column(s) {', '.join(unknown)} (columns: {', '.join(CATALOG_COLUMNS)})")
        for key in ("provider", "model"):
            if not str(raw.get(key) or "").strip():
                raise PricingError(f"{where}: {key}: required")
        self.provider = str(raw["provider"]).strip().lower()
        self.model = str(raw["model"]).strip().lower()
        start = _date(raw.get("effective_from"), f"{where}: effective_from")
        end = _date(raw.get("effective_to"), f"{where}: effective_to")
        if start and end and end <= start:
            raise PricingError(f"{where}: effective_to {end} is not after effective_from {start}")
        ps = price_set(
            _price(raw.get("input_per_1m"), f"{where}: input_per_1m", True),
            _price(raw.get("output_per_1m"), f"{where}: output_per_1m", True),
            _price(raw.get("cached_input_per_1m"), f"{where}: cached_input_per_1m"),
            _price(raw.get("cache_write_per_1m"), f"{where}: cache_write_per_1m"),
        )
        pct = _price(raw.get("batch_discount_pct"), f"{where}: batch_discount_pct")
        pct = DEFAULT_BATCH_DISCOUNT_PCT if pct is None else pct
        if pct > 100:
            raise PricingError(f"{where}: batch_discount_pct must be 0..100")
        self.version = Version("catalog", label, start, end, (ps,))
        self.batch_version = Version("catalog", label, start, end, (discount(ps, pct),))

    def matches(self, provider: str, model: str) -> bool:
        return self.provider in ("*", provider.lower()) and self.model == model.lower()


def read_catalog(path: Path) -> list[CatalogRow]:
    """Rows of a user price catalog: TOML (``[[prices]]`` tables) or CSV (a header row), same columns."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PricingError(f"{path}: cannot read price catalog: {exc.strerror or exc}") from None
    label = f"catalog {path.name}"
    if path.suffix.lower() == ".toml":
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PricingError(f"{path}: not valid TOML: {exc}") from None
        rows = doc.get("prices")
        if not isinstance(rows, list):
            raise PricingError(f"{path}: expected [[prices]] tables")
        return [CatalogRow(r, f"{path}: prices[{i}]", label) for i, r in enumerate(rows)]
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        return [CatalogRow({k.strip(): v for k, v in r.items() if k is not None and v not in (None, "")},
                           f"{path}: line {i + 2}", label) for i, r in enumerate(reader)]
    raise PricingError(f"{path}: a price catalog must be .toml or .csv")


def catalog_versions(rows: Iterable[CatalogRow], provider: str, model: str, batch: bool) -> list[Version]:
    """A catalog's versions for (provider, model), in file order (a later row wins where dates overlap)."""
    return [r.batch_version if batch else r.version for r in rows if r.matches(provider, model)]


# ---------------------------------------------------------------- LiteLLM

_LITELLM_KEYS = {
    "input": "input_cost_per_token",
    "cached_input": "cache_read_input_token_cost",
    "cache_write": "cache_creation_input_token_cost",
    "output": "output_cost_per_token",
}
_ABOVE = re.compile(r"^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|"
                    r"cache_creation_input_token_cost)_above_(\d+)k_tokens$")


# No model costs $1,000 a token (the dearest list prices are under $0.001): a larger "price" is damage in the
# log, read as no price (the record's cost is then checked against the other sources) rather than overflowing
# the DECIMAL(38,12) cost arithmetic and stopping the audit.
MAX_PER_TOKEN = Decimal(1000)


def _per_1m(v: Any) -> Decimal | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        d = Decimal(str(v))
    except InvalidOperation:
        return None
    return d * MILLION if d.is_finite() and 0 <= d <= MAX_PER_TOKEN else None


def litellm_price_set(entry: dict[str, Any], batch: bool) -> PriceSet | None:
    """A price set from a LiteLLM model map entry (per-token costs); None without input and output cost.
    Batch: ``*_batches`` costs when given, else the standard cost less the default batch discount
    (LiteLLM halves the price for batch calls without a batch cost)."""
    vals = {k: _per_1m(entry.get(v)) for k, v in _LITELLM_KEYS.items()}
    if vals["input"] is None and vals["output"] is None:
        return None
    inp = vals["input"] or Decimal(0)
    out = vals["output"] or Decimal(0)
    tiers: dict[int, dict[str, Decimal]] = {}
    for key, value in entry.items():
        m = _ABOVE.match(key)
        if m and _per_1m(value) is not None:
            field = next(k for k, v in _LITELLM_KEYS.items() if v == m.group(1))
            tiers.setdefault(int(m.group(2)) * 1000, {})[field] = _per_1m(value)
    base = price_set(inp, out, vals["cached_input"], vals["cache_write"])[0]
    bands = [base]
    for start in sorted(tiers):
        t = tiers[start]
        bands.append(Band(start, t.get("input", base.input), t.get("cached_input", base.cached_input),
                          t.get("cache_write", base.cache_write), t.get("output", base.output)))
    ps: PriceSet = tuple(bands)
    if batch:
        bi, bo = _per_1m(entry.get("input_cost_per_token_batches")), _per_1m(entry.get("output_cost_per_token_batches"))
        if bi is not None or bo is not None:
            ps = tuple(Band(b.start, bi if bi is not None else b.input, b.cached_input, b.cache_write,
                            bo if bo is not None else b.output) for b in ps)
        else:
            ps = discount(ps, DEFAULT_BATCH_DISCOUNT_PCT)
    return ps


class LiteLLMMap:
    """LiteLLM's model_prices_and_context_window.json, in effect from the date the user gives."""

    def __init__(self, path: Path, effective_from: date):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise PricingError(f"{path}: cannot read LiteLLM model prices: {exc.strerror or exc}") from None
        except json.JSONDecodeError as exc:
            raise PricingError(f"{path}: not valid JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise PricingError(f"{path}: expected a JSON object of models")
        self.entries = {k.lower(): v for k, v in doc.items() if k != "sample_spec" and isinstance(v, dict)}
        self.effective_from = effective_from
        self.label = f"LiteLLM model map {path.name}"

    def entry(self, provider: str, model: str) -> dict[str, Any] | None:
        p, m = provider.lower(), model.lower()
        if (e := self.entries.get(f"{p}/{m}")) is not None:
            return e
        e = self.entries.get(m)
        if e is None:
            return None
        lp = str(e.get("litellm_provider") or "").lower()
        if not lp or lp == p or lp.startswith(p) or "/" in m or GENAI_PROVIDERS.get(lp) == GENAI_PROVIDERS.get(p, p):
            return e
        return None

    def versions(self, provider: str, model: str, batch: bool) -> list[Version]:
        e = self.entry(provider, model)
        ps = litellm_price_set(e, batch) if e is not None else None
        return [] if ps is None else [Version("litellm-map", self.label, self.effective_from, None, (ps,))]


def snapshot_price_set(text: str, batch: bool) -> PriceSet | None:
    """The price set of one record's LiteLLM price snapshot (model_map_information.model_map_value)."""
    try:
        doc = json.loads(text)
    except (TypeError, json.JSONDecodeError):
        return None
    return litellm_price_set(doc, batch) if isinstance(doc, dict) else None
