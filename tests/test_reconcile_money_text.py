"""One amount reads the same in the reconciliation line, the decomposition table and the causes (issue 16:
the rows of the table must be seen to add up, so a component may not read $0.00365 in one place and
$0.00364 in another)."""

from __future__ import annotations

from decimal import Decimal as D

from auditor import fmt
from auditor.reconcile import rows


def test_evidence_money_is_the_report_money_rule():
    # 0.0036447 is $0.00364; rounding it to 6 places first gave 0.003645 and then $0.00365
    for v in (D("0.0036447"), D("-0.0036447"), D("4E-7"), D("0.0149999"), D("12.345")):
        assert rows.usd(v) == fmt.usd(v), v
    assert rows.usd(D("4E-7")) != "$0.00"  # never $0.00 for an amount that is not zero
    assert rows.signed(D("0.0036447")) == "+$0.00364"
