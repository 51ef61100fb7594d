"""Prices: which unit price was in effect for a (provider, model) on a day, from which source, and
every record's cost recomputed from its tokens at that price (DECIMAL arithmetic in DuckDB).

Sources, highest precedence first (a higher source wins on the days its dates cover):

1. **User catalogs** (``[pricing] catalogs = ["prices.toml", "negotiated.csv"]``): negotiated prices,
   internal or fine-tuned models. Paths are relative to the working directory or the policy file.
2. **LiteLLM's model_prices_and_context_window.json** (``[pricing] litellm_model_prices = {path = "...",
   effective_from = "2026-05-01"}``): it carries no dates, so it applies from the date given, open-ended.
   ``*_above_NNNk_tokens`` costs become long-context bands, ``*_batches`` costs the batch price.
3. **genai-prices** (bundled, offline): dated prices per provider and model (``ConditionalPrice`` periods,
   long-context tiers, batch variants). Our provider names are mapped to its ids (``bedrock`` -> ``aws``,
   ``vertex_ai``/``gemini`` -> ``google``, ``azure`` -> ``azure``, ...); an unknown provider is never priced.

A record's own **price snapshot** (LiteLLM ``model_map_information.model_map_value``, the ``price_snapshot``
field) shows the price the gateway used; it is the reference when no source above knows the model, and
otherwise evidence in the finding.

Catalog format (TOML: one ``[[prices]]`` table per row; CSV: a header row with the same column names)::

    [[prices]]
    provider = "openai"              # our provider name as logged; "*" = any provider
    model = "gpt-4o-mini"            # the model as logged (case-insensitive, exact)
    effective_from = 2026-05-01      # UTC date the price starts (inclusive); omit = always
    effective_to = 2026-07-01        # UTC date it ends (exclusive); omit = open-ended
    input_per_1m = 0.12              # USD per 1M uncached input tokens (required)
    cached_input_per_1m = 0.06       # USD per 1M cache-read input tokens (default: the input price)
    cache_write_per_1m = 0.15        # USD per 1M cache-write input tokens (default: the input price)
    output_per_1m = 0.48             # USD per 1M output tokens (required)
    batch_discount_pct = 50          # % off every price for batch requests (default 50)
    note = "EA 2026 rate"            # free text

    provider,model,effective_from,effective_to,input_per_1m,cached_input_per_1m,cache_write_per_1m,output_per_1m,batch_discount_pct,note
    internal,llama-ft,2026-06-01,,0.40,0.10,,1.20,0,self-hosted

Rows of one catalog for the same model may not need to be ordered; where their dates overlap, the later
row wins. Prices may be written as strings ("0.075") to keep them exact.

Recomputed cost = (input - cached - cache writes) x input + cached x cached_input + cache writes x
cache_write + output x output, per 1M tokens, at the version in effect on the record's UTC date, in the
band its input tokens fall in, with batch prices for ``batch = true``. Other units (audio, images, web
searches) are not recomputed.
"""

from auditor.pricing.prices import Band, Version, describe, overlay, price_set
from auditor.pricing.sources import GENAI_PROVIDERS, PricingError, genai_provider_id, genai_versions, read_catalog
from auditor.pricing.table import PriceBook, Tolerance, build, per_model, tolerance

__all__ = [
    "GENAI_PROVIDERS", "Band", "PriceBook", "PricingError", "Tolerance", "Version", "build", "describe",
    "genai_provider_id", "genai_versions", "overlay", "per_model", "price_set", "read_catalog", "tolerance",
]
