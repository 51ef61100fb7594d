"""The unlogged-traffic evidence of one day against its neighbours (auditor.reconcile.evidence.gap)."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from auditor.reconcile.evidence import gap
from auditor.reconcile.ledger import LedgerDay
from auditor.reconcile.rows import Row

DAY = date(2026, 5, 13)


def day(d: date, per_hour: list[int], price: str = "0.01") -> LedgerDay:
    cost = [Decimal(price) * n for n in per_hour]
    return LedgerDay(day=d, provider="openai", model_key="gpt-4o-mini", records=sum(per_hour), hours=list(per_hour),
                     hour_cost=cost, hour_recorded=list(cost), cost=sum(cost, Decimal(0)))


def series(today: list[int]) -> dict[date, LedgerDay]:
    busy = [0] * 8 + [10] * 8 + [0] * 8  # 80 records a day, 08:00-16:00
    out = {DAY + timedelta(days=k): day(DAY + timedelta(days=k), busy) for k in (-3, -2, -1, 1, 2, 3)}
    out[DAY] = day(DAY, today)
    return out


def row() -> Row:
    return Row(provider="openai", model_key="gpt-4o-mini", day=DAY, start=DAY, end=DAY + timedelta(days=1))


def test_loss_inside_busy_hours_is_estimated_from_the_record_count():
    # every busy hour has records, but only 40 of the usual 80: no empty hour shows the loss
    g = gap(row(), series([0] * 8 + [5] * 8 + [0] * 8))
    assert g is not None and g.hours == []
    assert g.estimate == Decimal("0.40")  # 40 missing records at the neighbours' $0.01 per record
    assert "40 missing records" in g.text


def test_empty_hours_are_the_measure_and_the_count_is_not_added():
    # hours 08-11 empty, the rest as usual: the empty hours alone explain the 40 missing records
    g = gap(row(), series([0] * 12 + [10] * 4 + [0] * 8))
    assert g is not None and g.hours == [8, 9, 10, 11]
    assert g.estimate == Decimal("0.40")
    assert "missing records" not in g.text


def test_a_normal_day_is_no_gap():
    assert gap(row(), series([0] * 8 + [10] * 8 + [0] * 8)) is None
