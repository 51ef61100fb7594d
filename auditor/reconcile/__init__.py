"""Reconcile the gateway ledger against the provider bill (docs/reconciliation.md).

``reconcile(con, invoice_paths, threshold_pct=...)`` reads the invoices (OpenAI Costs / Usage API pages,
Anthropic cost / usage reports, FOCUS CSV or Parquet), compares them per day x provider x model (and token
type) with the de-duplicated records in ``con``, splits the variance of every row into components computed
from evidence (decompose.py), groups them into causes across rows (causes.py) and allocates invoice-only credits to teams. The result is a JSON-able dict (Decimals are
written as exact strings by ``AuditResult.to_dict``).
"""

from auditor.reconcile.causes import CAUSE_TITLES
from auditor.reconcile.credits import ALLOCATION_FORMULA
from auditor.reconcile.engine import reconcile
from auditor.reconcile.invoices import FORMATS, InvoiceError, InvoiceLine, read_invoices

__all__ = ["ALLOCATION_FORMULA", "CAUSE_TITLES", "FORMATS", "InvoiceError", "InvoiceLine", "read_invoices", "reconcile"]
