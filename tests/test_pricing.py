"""Prices and the pricing rules (PRC001-PRC004): genai-prices' dated prices, user catalogs, the LiteLLM model
map, per-record price snapshots, implied-price regimes, the tolerance, and the recomputation itself."""

from __future__ import annotations

import json
import random
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import genai_prices
import pytest

from auditor import audit
from auditor.policy import from_dict
from auditor.pricing import PricingError, genai_provider_id, genai_versions, read_catalog
from auditor.rules import REGISTRY
from helpers import record, write_jsonl

PRC = ["missing-cost", "unpriced-model", "stale-price", "cost-mismatch"]


def run(tmp_path: Path, records, policy: dict | None = None):
    path = write_jsonl(tmp_path / "records.jsonl", records)
    return audit([path], from_dict(policy or {}), select=PRC)


def flagged(result, name: str) -> dict[str, tuple[str, str | None]]:
    """request_id -> (detail, fix) of the records ``name`` flagged."""
    code = next(r.code for r in REGISTRY.values() if r.name == name)
    rows = result.con.execute(
        "SELECT r.request_id, f.detail, f.fix FROM finding_rows f JOIN records r USING (_row) WHERE f.code = ?", [code]
    ).fetchall()
    return {rid: (detail, fix) for rid, detail, fix in rows}


def finding(result, name: str):
    return next((f for f in result.findings if f.name == name), None)


def o3(rid: str, ts: str, cost: float, **kw):
    return record(request_id=rid, timestamp=ts, provider="openai", model="o3", input_tokens=1000, output_tokens=1000,
                  cost=cost, **kw)


# ------------------------------------------------------------------ the o3 price cut (genai-prices)

def test_genai_prices_knows_the_o3_cut():
    versions = genai_versions("openai", "o3", False, date(2025, 6, 12))
    assert [(v.effective_from, v.effective_to) for v in versions] == [(None, date(2025, 6, 10)), (date(2025, 6, 10), None)]
    old, new = (v.alternatives[0][0] for v in versions)
    assert (old.input, old.output) == (Decimal(10), Decimal(40))
    assert (new.input, new.output) == (Decimal(2), Decimal(8))


def test_o3_after_the_cut_at_the_old_price_is_stale(tmp_path):
    result = run(tmp_path, [
        o3("before", "2025-06-01T10:00:00Z", 0.05),  # $10/$40 per 1M: 0.01 + 0.04
        o3("stale", "2025-06-12T10:00:00Z", 0.05),
        o3("fresh", "2025-06-12T10:00:00Z", 0.01),  # $2/$8 per 1M: 0.002 + 0.008
    ])
    stale = flagged(result, "stale-price")
    assert set(stale) == {"stale"}
    detail, fix = stale["stale"]
    assert "$10/$40 per 1M" in detail and "until 2025-06-10" in detail
    assert "$2/$8 per 1M" in detail and "from 2025-06-10" in detail and "$0.01" in detail
    assert fix.startswith("reprice at $0.01")
    f = finding(result, "stale-price")
    assert f.cost == Decimal("0.05") and f.severity == "error"
    assert f.extra["difference_vs_price_in_effect"] == "0.04"
    row = f.extra["models"][0]
    assert (row["model"], row["records"], row["recorded_cost"], row["recomputed_cost"], row["difference"]) == (
        "o3", 1, "0.05", "0.01", "0.04")
    assert "genai-prices" in row["price_source"] and "2025-06-10" in row["price_in_effect"]
    assert not flagged(result, "cost-mismatch") and not flagged(result, "unpriced-model")


# ------------------------------------------------------------------ a user catalog over genai-prices

CATALOG_TOML = """
[[prices]]
provider = "openai"
model = "gpt-4o-mini"
effective_from = 2026-05-01
input_per_1m = "0.12"
cached_input_per_1m = "0.06"
output_per_1m = "0.48"
note = "EA 2026"

[[prices]]
provider = "internal"
model = "llama-ft"
input_per_1m = 1
output_per_1m = 2
batch_discount_pct = 0
"""


@pytest.mark.parametrize("fmt", ["toml", "csv"])
def test_catalog_overrides_genai_prices(tmp_path, fmt):
    if fmt == "toml":
        cat = tmp_path / "prices.toml"
        cat.write_text(CATALOG_TOML)
    else:
        cat = tmp_path / "prices.csv"
        cat.write_text(
            "provider,model,effective_from,effective_to,input_per_1m,cached_input_per_1m,cache_write_per_1m,output_per_1m,batch_discount_pct,note\n"
            "openai,gpt-4o-mini,2026-05-01,,0.12,0.06,,0.48,,EA 2026\n"
            "internal,llama-ft,,,1,,,2,0,self-hosted\n")
    result = run(tmp_path, [
        record(request_id="april-list", timestamp="2026-04-20T10:00:00Z", cost=0.00027),  # before the catalog: genai-prices
        record(request_id="may-negotiated", cost=0.000216),  # 1000 x 0.12 + 200 x 0.48 per 1M
        record(request_id="may-list", cost=0.00027),  # list price after the negotiated one took over
        record(request_id="ft", provider="internal", model="llama-ft", cost=0.0014),
        record(request_id="ft-batch", provider="internal", model="llama-ft", batch=True, cost=0.0014),
    ], {"pricing": {"catalogs": [str(cat)]}})
    assert set(flagged(result, "stale-price")) == {"may-list"}
    detail = flagged(result, "stale-price")["may-list"][0]
    assert f"catalog {cat.name}" in detail and "$0.12/$0.48 per 1M" in detail and "$0.15/$0.60 per 1M" in detail
    assert not flagged(result, "cost-mismatch")
    assert not flagged(result, "unpriced-model")


def test_catalog_relative_to_the_policy_file(tmp_path, monkeypatch):
    (tmp_path / "prices.toml").write_text(CATALOG_TOML)
    (tmp_path / "audit-logs.toml").write_text('[pricing]\ncatalogs = ["prices.toml"]\n')
    path = write_jsonl(tmp_path / "r.jsonl", [record(request_id="ft", provider="internal", model="llama-ft", cost=0.0014)])
    monkeypatch.chdir(Path("/"))
    result = audit([path], tmp_path / "audit-logs.toml", select=PRC)
    assert not result.findings


@pytest.mark.parametrize("text,error", [
    ('[[prices]]\nprovider = "openai"\nmodel = "x"\noutput_per_1m = 1\n', "input_per_1m: required"),
    ('[[prices]]\nprovider = "openai"\nmodel = "x"\ninput_per_1m = 1\noutput_per_1m = 1\nprice = 3\n', "unknown column"),
    ('[[prices]]\nprovider = "openai"\nmodel = "x"\ninput_per_1m = "cheap"\noutput_per_1m = 1\n', "not a number"),
    ('[[prices]]\nprovider = "openai"\nmodel = "x"\ninput_per_1m = 1\noutput_per_1m = 1\n'
     'effective_from = 2026-05-01\neffective_to = 2026-04-01\n', "is not after"),
])
def test_catalog_errors_name_the_row(tmp_path, text, error):
    cat = tmp_path / "bad.toml"
    cat.write_text(text)
    with pytest.raises(PricingError, match=error) as exc:
        read_catalog(cat)
    assert "prices[0]" in str(exc.value)


# ------------------------------------------------------------------ LiteLLM's model map, from a given date

def test_litellm_model_map_applies_from_its_date(tmp_path):
    model_map = tmp_path / "model_prices_and_context_window.json"
    model_map.write_text(json.dumps({
        "sample_spec": {"input_cost_per_token": 0, "output_cost_per_token": 0},
        "gpt-4o-mini": {"input_cost_per_token": 2e-7, "output_cost_per_token": 8e-7, "cache_read_input_token_cost": 1e-7,
                        "litellm_provider": "openai", "mode": "chat"},
        "internal/llama-ft": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6, "litellm_provider": "internal"},
    }))
    policy = {"pricing": {"litellm_model_prices": {"path": str(model_map), "effective_from": "2026-05-01"}}}
    result = run(tmp_path, [
        record(request_id="april-genai", timestamp="2026-04-30T23:59:59Z", cost=0.00027),
        record(request_id="may-map", cost=0.00036),  # 1000 x 0.20 + 200 x 0.80 per 1M
        record(request_id="may-genai", cost=0.00027),
        record(request_id="april-map", timestamp="2026-04-30T10:00:00Z", cost=0.00036),
        record(request_id="ft-may", provider="internal", model="llama-ft", cost=0.0014),
        record(request_id="ft-april", provider="internal", model="llama-ft", timestamp="2026-04-30T10:00:00Z", cost=0.0014),
    ], policy)
    assert set(flagged(result, "stale-price")) == {"may-genai"}
    mismatch = flagged(result, "cost-mismatch")
    assert set(mismatch) == {"april-map"}
    assert "later price not yet in effect" in mismatch["april-map"][0] and "2026-05-01" in mismatch["april-map"][0]
    unpriced = flagged(result, "unpriced-model")
    assert set(unpriced) == {"ft-april"} and "starts later" in unpriced["ft-april"][0]


# ------------------------------------------------------------------ the record's own price snapshot

SNAP_LIST = {"input_cost_per_token": 1.5e-7, "output_cost_per_token": 6e-7, "cache_read_input_token_cost": 7.5e-8}
SNAP_CUSTOM = {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}


def test_price_snapshot(tmp_path):
    cat = tmp_path / "prices.toml"
    cat.write_text(CATALOG_TOML.split("[[prices]]\nprovider = \"internal\"")[0])  # the gpt-4o-mini row only
    result = run(tmp_path, [
        # the gateway still used the list price after the negotiated rate took effect
        record(request_id="stale-snap", price_snapshot=SNAP_LIST, cost=0.00027),
        # a gateway price unknown to every catalog: the cost follows the snapshot
        record(request_id="custom-snap", price_snapshot=SNAP_CUSTOM, cost=0.0014),
        # internal model priced only by its snapshot
        record(request_id="ft-ok", provider="internal", model="llama-ft", price_snapshot=SNAP_CUSTOM, cost=0.0014),
        record(request_id="ft-off", provider="internal", model="llama-ft", price_snapshot=SNAP_CUSTOM, cost=0.002),
        # batch with a snapshot: half the snapshot price
        record(request_id="ft-batch", provider="internal", model="llama-ft", batch=True, price_snapshot=SNAP_CUSTOM, cost=0.0007),
    ], {"pricing": {"catalogs": [str(cat)]}})
    assert set(flagged(result, "stale-price")) == {"stale-snap"}
    mismatch = flagged(result, "cost-mismatch")
    assert set(mismatch) == {"custom-snap", "ft-off"}
    assert "matches the gateway's own price snapshot ($1/$2 per 1M)" in mismatch["custom-snap"][0]
    assert "add it to a price catalog" in mismatch["custom-snap"][1]
    assert "the gateway's price snapshot: $1/$2 per 1M" in mismatch["ft-off"][0]
    assert not flagged(result, "unpriced-model")


# ------------------------------------------------------------------ regimes no catalog knows

def _cost(i: int, o: int, pin: str, pout: str) -> float:
    return float((Decimal(i) * Decimal(pin) + Decimal(o) * Decimal(pout)) / Decimal(1_000_000))


MIXES = [(10000, 2000), (20000, 5000), (5000, 5000), (30000, 1000), (15000, 8000)]


def _llama_month(stale_days=(20,), proportional=False):
    """internal/llama-ft at $1/$2 per 1M until 2026-06-14, then $0.5/$1.5 (or $0.5/$1), two records a day with
    varying token mixes; on ``stale_days`` one more record still at $1/$2."""
    new = ("0.5", "1") if proportional else ("0.5", "1.5")
    recs = []
    for d in range(1, 31):
        for j in range(2):
            i, o = MIXES[(d + j) % len(MIXES)]
            price = ("1", "2") if d < 15 else new
            recs.append(record(request_id=f"d{d:02d}-{j}", timestamp=f"2026-06-{d:02d}T{10 + j}:00:00Z", provider="internal",
                               model="llama-ft", input_tokens=i, output_tokens=o, cost=_cost(i, o, *price)))
    for d in stale_days:
        recs.append(record(request_id=f"old-{d}", timestamp=f"2026-06-{d:02d}T15:30:00Z", provider="internal",
                           model="llama-ft", input_tokens=12000, output_tokens=3000, cost=_cost(12000, 3000, "1", "2")))
    return recs


@pytest.mark.parametrize("proportional", [False, True])
def test_regime_change_no_catalog_knows(tmp_path, proportional):
    result = run(tmp_path, _llama_month(stale_days=(20, 27), proportional=proportional))
    stale = flagged(result, "stale-price")
    assert set(stale) == {"old-20", "old-27"}, "earlier records at the old rate are not stale"
    detail, fix = stale["old-20"]
    assert "implies $1/$2 per 1M" in detail and "from 2026-06-01 to 2026-06-14" in detail
    assert ("moved to $0.5/$1 per 1M" if proportional else "moved to $0.5/$1.5 per 1M") in detail
    assert "from 2026-06-15 10:00" in detail
    new_cost = _cost(12000, 3000, "0.5", "1" if proportional else "1.5")
    assert fix.startswith(f"reprice at ${Decimal(repr(new_cost)).normalize():f}")
    f = finding(result, "stale-price")
    assert f.cost == 2 * Decimal("0.018")
    (regime,) = f.extra["regimes"]
    assert (regime["old_price"], regime["stale_records"], regime["new_records"]) == ("$1/$2 per 1M", 2, 32)
    assert regime["switch"].startswith("2026-06-15")
    # no regime change: nothing is stale
    clean = [r for r in _llama_month(stale_days=()) if r["timestamp"] < "2026-06-15"]
    assert not flagged(run(tmp_path, clean), "stale-price")


def test_negotiated_rate_no_catalog_knows(tmp_path):
    """gpt-4o-mini moves to a 20% discount on 2026-05-10 that no catalog has; a replica keeps the list price."""
    recs = []
    for d in range(1, 21):
        for j in range(3):
            i, o = MIXES[(d + j) % len(MIXES)]
            cost = _cost(i, o, "0.15", "0.60") if d < 10 else _cost(i, o, "0.12", "0.48")
            recs.append(record(request_id=f"d{d:02d}-{j}", timestamp=f"2026-05-{d:02d}T{10 + j}:00:00Z",
                               input_tokens=i, output_tokens=o, cost=cost))
    recs.append(record(request_id="replica", timestamp="2026-05-15T18:00:00Z", input_tokens=10000, output_tokens=2000,
                       cost=_cost(10000, 2000, "0.15", "0.60")))
    result = run(tmp_path, recs)
    assert set(flagged(result, "stale-price")) == {"replica"}
    mismatch = flagged(result, "cost-mismatch")
    assert len(mismatch) == 33 and all(k >= "d10" for k in mismatch), "the unknown new rate matches no known price"


def _noisy_month(rng: random.Random, days: int, per_day: int, off: int, new_from: int | None = None):
    """gpt-4o-mini, ``per_day`` records a day of which ``off`` are costed a random 5-60% above any price (a gateway
    or export that gets costs wrong, as in bench.py --flagged); the rest at the list price, or from day ``new_from``
    on at a 20% discount no catalog has."""
    recs = []
    for d in range(1, days + 1):
        for j in range(per_day):
            i, o = rng.randint(500, 30000), rng.randint(50, 8000)
            pin, pout = ("0.12", "0.48") if new_from and d >= new_from else ("0.15", "0.60")
            factor = Decimal(str(round(1.05 + 0.55 * rng.random(), 4))) if j < off else Decimal(1)
            if new_from and d >= new_from and abs(factor - Decimal("1.25")) < Decimal("0.03"):
                factor += Decimal("0.1")  # 1.25 x the discount is the list price: that record would be stale
            cost = float(Decimal(repr(_cost(i, o, pin, pout))) * factor)
            recs.append(record(request_id=f"{'off' if j < off else 'ok'}-{d:02d}-{j:02d}",
                               timestamp=f"2026-05-{d:02d}T{j // 4 + 1:02d}:{j % 4 * 15:02d}:00Z",
                               input_tokens=i, output_tokens=o, cost=cost))
    return recs


def test_costs_off_the_price_list_make_no_regime(tmp_path):
    """Costs a random 5-60% off the price list on 96% of the records are cost-mismatch: no fitted price explains a
    real share of them, so no "regime" and no stale-price finding (before: every trimmed fit made a regime of a
    few of them, and two regimes running side by side all month made a "price change")."""
    recs = _noisy_month(random.Random(7), days=20, per_day=25, off=24)
    result = run(tmp_path, recs)
    assert not flagged(result, "stale-price")
    assert set(flagged(result, "cost-mismatch")) == {r["request_id"] for r in recs if r["request_id"].startswith("off")}


def test_an_old_price_from_a_date_on_is_found_among_costs_off_the_price_list(tmp_path):
    """The same noise on a quarter of the records does not hide a real change: the unknown discount from
    2026-05-10, and a replica that keeps the list price after it, are still a superseded regime."""
    recs = _noisy_month(random.Random(11), days=20, per_day=8, off=2, new_from=10)
    replicas = [record(request_id=f"replica-{d}", timestamp=f"2026-05-{d}T18:00:00Z", input_tokens=10000,
                       output_tokens=2000, cost=_cost(10000, 2000, "0.15", "0.60")) for d in (12, 15)]
    result = run(tmp_path, recs + replicas)
    assert set(flagged(result, "stale-price")) == {"replica-12", "replica-15"}
    (regime,) = finding(result, "stale-price").extra["regimes"]
    assert regime["old_price"] == "$0.15/$0.6 per 1M (cached $0.075)" and regime["switch"].startswith("2026-05-10")
    mismatch = set(flagged(result, "cost-mismatch"))
    assert {r["request_id"] for r in recs if r["request_id"].startswith("off")} <= mismatch


# ------------------------------------------------------------------ tolerance

@pytest.mark.parametrize("cost,policy,bad", [
    (0.00027, {}, False),
    (0.0002726, {}, False),  # +0.96%
    (0.0002728, {}, True),  # +1.04%
    (0.0002728, {"tolerance_pct": 2}, False),
    (0.00026, {"tolerance_pct": 0, "tolerance_usd": 0.00001}, False),  # the $ floor
    (0.00025, {"tolerance_pct": 0, "tolerance_usd": 0.00001}, True),
])
def test_tolerance(tmp_path, cost, policy, bad):
    result = run(tmp_path, [record(request_id="r", cost=cost)], {"pricing": policy})
    assert bool(flagged(result, "cost-mismatch")) == bad
    if bad:
        f = finding(result, "cost-mismatch")
        pct = policy.get("tolerance_pct", 1)
        assert f"within {pct}% or $" in f.message


# ------------------------------------------------------------------ the recomputation, checked independently

PRICES = {  # USD per 1M: input, cached input, cache write, output (genai-prices' current values)
    ("openai", "gpt-4o-mini"): ("0.15", "0.075", "0.15", "0.6"),
    ("openai", "o3"): ("2", "0.5", "2", "8"),
    ("anthropic", "claude-3-5-sonnet-20241022"): ("3", "0.3", "3.75", "15"),
}


def _independent(r: dict) -> Decimal:
    pin, pcached, pwrite, pout = (Decimal(p) for p in PRICES[(r["provider"], r["model"])])
    cached, writes = r.get("cached_input_tokens") or 0, r.get("cache_write_tokens") or 0
    uncached = max(r["input_tokens"] - cached - writes, 0)
    total = (uncached * pin + cached * pcached + writes * pwrite + r["output_tokens"] * pout) / Decimal(1_000_000)
    if r.get("batch"):
        total = total / 2
    return total.quantize(Decimal("0.000000000001"), rounding=ROUND_HALF_UP)


def test_recomputed_cost_equals_an_independent_decimal_computation(tmp_path):
    rng = random.Random(7)
    recs = []
    for n in range(300):
        provider, model = rng.choice(list(PRICES))
        inp = rng.randint(0, 150_000)
        cached = rng.randint(0, inp // 2) if rng.random() < 0.5 else None
        writes = rng.randint(0, inp // 4) if provider == "anthropic" and rng.random() < 0.5 else None
        recs.append(record(request_id=f"r{n}", timestamp="2026-05-04T10:00:00Z", provider=provider, model=model,
                           input_tokens=inp, output_tokens=rng.randint(0, 8000), cached_input_tokens=cached,
                           cache_write_tokens=writes, batch=rng.random() < 0.2 and provider == "openai", cost=1))
    result = run(tmp_path, recs)
    got = dict(result.con.execute(
        "SELECT r.request_id, c.ref_expected FROM _prc_class c JOIN records r USING (_row)").fetchall())
    for r in recs:
        assert got[r["request_id"]] == _independent(r), r


def test_missing_cost_estimates_the_missing_spend(tmp_path):
    result = run(tmp_path, [record(request_id="a", cost=0), record(request_id="b", cost=None),
                            record(request_id="c", provider="internal", model="llama-ft", cost=0)])
    f = finding(result, "missing-cost")
    assert f.count == 3 and f.cost == 0
    assert f.extra["estimated_missing_cost"] == "0.00054" and f.extra["records_without_price"] == 1
    assert "an estimated $0.00054" in f.message
    fixes = flagged(result, "missing-cost")
    assert fixes["a"][1] == "record the cost: $0.00027" and fixes["c"][1] is None


# ------------------------------------------------------------------ genai-prices per distinct key, not per record

def test_genai_prices_is_called_per_distinct_key_not_per_record(tmp_path, monkeypatch):
    calls = []
    real = genai_prices.calc_price

    def counting(*args, **kwargs):
        calls.append((args[1], kwargs.get("provider_id")))
        return real(*args, **kwargs)

    monkeypatch.setattr(genai_prices, "calc_price", counting)
    recs = [record(request_id=f"r{i}", timestamp=f"2026-05-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
                   model="gpt-4o-mini" if i % 2 else "o3", cost=0.00027 if i % 2 else 0.0036)
            for i in range(1000)]
    result = run(tmp_path, recs)
    assert len(calls) == 2, calls  # one per distinct (provider, model); 28 days each, 1,000 records
    assert sorted(calls) == [("gpt-4o-mini", "openai"), ("o3", "openai")]
    assert not result.findings


def test_provider_names_map_to_genai_prices():
    assert genai_provider_id("bedrock") == "aws"
    assert genai_provider_id("vertex_ai") == "google"
    assert genai_provider_id("gemini") == "google"
    assert genai_provider_id("azure") == "azure"
    assert genai_provider_id("internal") is None


def test_long_context_tier(tmp_path):
    """genai-prices' tiered prices: above the threshold every input token is billed at the tier price."""
    versions = genai_versions("vertex_ai", "gemini-1.5-pro", False, date(2026, 5, 4))
    bands = versions[-1].alternatives[0]
    assert len(bands) == 2
    tier = bands[1]
    small = record(request_id="small", provider="vertex_ai", model="gemini-1.5-pro", input_tokens=1000, output_tokens=0,
                   cost=float(bands[0].input * 1000 / 1_000_000))
    big_tokens = tier.start + 1000
    big = record(request_id="big", provider="vertex_ai", model="gemini-1.5-pro", input_tokens=big_tokens, output_tokens=0,
                 cost=float(tier.input * big_tokens / 1_000_000))
    assert not run(tmp_path, [small, big]).findings


# ------------------------------------------------------------------ rule anatomy and the JSON output

def test_pricing_rules_are_documented():
    rules = {r.name: r for r in REGISTRY.values() if r.code.startswith("PRC")}
    assert {n: r.code for n, r in rules.items()} == {
        "missing-cost": "PRC001", "unpriced-model": "PRC002", "stale-price": "PRC003", "cost-mismatch": "PRC004"}
    for r in rules.values():
        for section in ("What it checks:", "Why it matters:", "Bad:", "Good:"):
            assert section in r.doc, (r.name, section)
        assert "severity " + r.severity in r.doc


def test_findings_serialize(tmp_path):
    result = run(tmp_path, [o3("stale", "2025-06-12T10:00:00Z", 0.05), record(request_id="z", cost=0),
                            record(request_id="ft", provider="internal", model="llama-ft")])
    doc = json.loads(json.dumps(result.to_dict()))
    names = {f["name"] for f in doc["findings"]}
    assert {"stale-price", "missing-cost", "unpriced-model"} <= names


def test_findings_invariant_to_order_and_file_split(tmp_path):
    recs = _llama_month(stale_days=(20,)) + [o3("stale", "2025-06-12T10:00:00Z", 0.05), o3("fresh", "2025-06-12T11:00:00Z", 0.01),
                                             record(request_id="mm", cost=0.001), record(request_id="zero", cost=0)]
    expected = {n: set(flagged(run(tmp_path, recs), n)) for n in PRC}
    shuffled = list(recs)
    random.Random(3).shuffle(shuffled)
    a = write_jsonl(tmp_path / "a.jsonl", shuffled[: len(shuffled) // 2])
    b = write_jsonl(tmp_path / "b.jsonl", shuffled[len(shuffled) // 2:])
    result = audit([b, a], from_dict({}), select=PRC)
    assert {n: set(flagged(result, n)) for n in PRC} == expected
    assert expected["stale-price"] == {"old-20", "stale"} and expected["cost-mismatch"] == {"mm"}


def test_missing_cost_with_no_known_price_says_no_estimate_not_zero(tmp_path):
    """Nothing to estimate from is not an estimate of $0: the details carry null and every output says so."""
    from auditor.reporters import renderer

    result = run(tmp_path, [record(request_id=f"c{i}", provider="internal", model="llama-ft", cost=0) for i in range(2)])
    f = finding(result, "missing-cost")
    assert f.extra["estimated_missing_cost"] is None and f.extra["records_without_price"] == 2
    assert "cannot be estimated" in f.message
    text = renderer("text")(result)
    line = next(x for x in text.splitlines() if "missing-cost" in x)
    assert "no estimate" in line and "$0.00" not in line
    page = renderer("html")(result)
    assert "not estimable" in page and "estimated missing cost" not in page.lower().replace("_", " ")
