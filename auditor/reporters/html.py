"""The HTML readiness report: one self-contained file a FinOps lead opens offline.

Who can be charged back, who cannot, and what to fix first, ranked by money. Inline CSS, charts as
inline SVG computed here, one small inline script (sortable tables) allowed by a hash in the page's
Content-Security-Policy, which also forbids every network request. Every value that comes from the
logs goes through jinja2's autoescaping and :func:`auditor.redact.mask_text`; the report holds
aggregates and samples from ``AuditResult.to_dict()`` (the same figures as the JSON output), never
every record, never a prompt or a response.
"""

from __future__ import annotations

import base64
import hashlib
import re
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from auditor.fmt import pct, plural, usd, variance_side
from auditor.redact import mask_text
from auditor.reporters import views
from auditor.reporters.charts import _dec, _num, daily_chart, reconciliation_chart, team_chart
from auditor.result import AuditResult

FORMAT = "html"
TEMPLATES = Path(__file__).parent / "templates"
MAX_TABLE_ROWS = 50
CELL_ITEMS = 8  # items of a list in one table cell (the rest are counted; all of them are in --format json)

# Which rules feed which report section (by rule name; unknown names still appear under "Findings by rule").
SECTION_RULES = {
    "keys": ("copied-key", "environment-bleed"),
    "tags": ("free-form-tag",),
    "pricing": ("stale-price", "cost-mismatch", "unpriced-model", "missing-cost"),
    "retries": ("unlinked-retry", "duplicate-request"),
}

SORT_SCRIPT = """
(function () {
  function key(cell) {
    var v = cell.getAttribute('data-sort');
    if (v !== null && v !== '' && !isNaN(Number(v))) { return Number(v); }
    return (v !== null ? v : cell.textContent).trim().toLowerCase();
  }
  function cmp(a, b) {
    if (typeof a === 'number' && typeof b === 'number') { return a - b; }
    return String(a).localeCompare(String(b));
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('thead th').forEach(function (th, col) {
      th.setAttribute('tabindex', '0');
      th.setAttribute('role', 'button');
      function sort() {
        var body = table.tBodies[0];
        var asc = th.getAttribute('aria-sort') !== 'ascending';
        table.querySelectorAll('thead th').forEach(function (o) { o.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var c = cmp(key(r1.cells[col]), key(r2.cells[col]));
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener('click', sort);
      th.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); } });
    });
  });
  window.addEventListener('beforeprint', function () {
    document.querySelectorAll('details').forEach(function (d) { d.setAttribute('open', ''); });
  });
})();
""".strip()


def _masked(v: Any) -> Any:
    """Every string in the report data, masked once more (log values are untrusted text)."""
    if isinstance(v, str):
        return mask_text(v)
    if isinstance(v, dict):
        return {_masked(k) if isinstance(k, str) else k: _masked(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_masked(x) for x in v]
    return v


_MONEY_NAME = re.compile(r"(^|_)(cost|spend|amount|difference|usd|variance|(invoice|ledger|usage|billed|log)_total)($|_)")
_NOT_MONEY = re.compile(r"(_pct|_percent|_count|records|requests)$")


def _is_money(name: str | None) -> bool:
    n = (name or "").lower()
    return bool(_MONEY_NAME.search(n)) and not _NOT_MONEY.search(n)


def table_of(value: Any, name: str | None = None) -> dict[str, Any]:
    """A finding's ``details`` (any JSON shape) as something the template can lay out: a table, key/values, text.
    Columns and keys that name money (cost, spend, difference, ...) show as dollars."""
    if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        cols: list[str] = []
        for row in value[:MAX_TABLE_ROWS]:
            for k in row:
                if k not in cols:
                    cols.append(k)
        cols = [c for c in cols if any(not _empty(r.get(c)) for r in value[:MAX_TABLE_ROWS])][:9]
        return {"kind": "table", "cols": cols, "rows": [[_list_cell(r.get(c), c) for c in cols] for r in value[:MAX_TABLE_ROWS]],
                "more": max(0, len(value) - MAX_TABLE_ROWS)}
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if not _empty(v)}  # no label with nothing after it
        return {"kind": "dict", "entries": [(k, table_of(v, k)) for k, v in list(value.items())[:MAX_TABLE_ROWS]],
                "more": max(0, len(value) - MAX_TABLE_ROWS)}
    if isinstance(value, list):
        return {"kind": "text", "text": ", ".join(_cell(x) for x in value[:MAX_TABLE_ROWS])
                + (f" … and {len(value) - MAX_TABLE_ROWS} more" if len(value) > MAX_TABLE_ROWS else "")}
    return {"kind": "text", "text": _cell(value, name)}


_OWNER_KEYS = ("team", "team_id", "service", "service_id", "cost_center", "environment", "owner")


def _empty(v: Any) -> bool:
    """Nothing to show: no value, an empty list or table, a zero count, or a table of only zeros ("dangling":
    {"records": 0, "cost": "0"})."""
    if isinstance(v, dict):
        return all(_empty(x) or x in ("0", 0.0) for x in v.values())
    return v is None or v == "" or v == [] or (isinstance(v, int) and not isinstance(v, bool) and v == 0)


def _list_cell(v: Any, name: str | None = None) -> Any:
    """A table cell: a list of objects (a tag cluster's spellings) stays a list, one line per item."""
    if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
        return [_cell(x) for x in v[:CELL_ITEMS]] + ([f"… and {len(v) - CELL_ITEMS} more"] if len(v) > CELL_ITEMS else [])
    return _cell(v, name)


def _cell(v: Any, name: str | None = None) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, dict):
        # A null owner is a value of its own ("no team"), not nothing: the row's figures are that owner's.
        return "; ".join(f"{str(k).replace('_', ' ')}: {'(none)' if x is None and k in _OWNER_KEYS else _cell(x, k)}"
                         for k, x in list(v.items())[:12] if not _empty(x) or (x is None and k in _OWNER_KEYS))
    if isinstance(v, list):
        return ", ".join(_cell(x) for x in v[:20]) + (" …" if len(v) > 20 else "")
    if _is_money(name) and isinstance(v, (int, float, str, Decimal)):
        try:
            return usd(Decimal(str(v)))
        except Exception:  # noqa: BLE001 - not a number after all: show it as it is
            return str(v)
    if isinstance(v, float):
        return f"{v:,.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _safe(fmt):
    """A money/percent filter that shows a malformed value as text instead of failing the report."""
    def apply(v: Any, *args: Any) -> str:
        try:
            return fmt(v, *args)
        except Exception:  # noqa: BLE001
            return "n/a" if v is None else str(v)
    return apply


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.ChainableUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["usd"] = _safe(usd)
    env.filters["pct"] = _safe(pct)
    env.filters["num"] = lambda v: f"{v:,}" if isinstance(v, int) else v
    env.filters["variance_side"] = variance_side
    env.filters["plural"] = lambda v, noun: plural(v, noun) if isinstance(v, int) else f"{v} {noun}s"
    return env


def _rule_docs() -> dict[str, dict[str, str]]:
    from auditor.rules import REGISTRY

    return {r.code: {"doc": r.doc, "summary": r.summary, "blocks": r.blocks_attribution} for r in REGISTRY.values()}


MAX_KEY_ROWS = 10


def _paragraphs(doc: str) -> list[str]:
    """A rule's docstring as paragraphs: its source line breaks are not the reader's (they left ragged lines)."""
    out = []
    for par in re.split(r"\n\s*\n", doc.strip()):
        lines = [x.strip() for x in par.splitlines() if x.strip()]
        if lines and all(re.match(r"([-*]|\d+\.)\s", x) for x in lines[1:]) and len(lines) > 1:
            out.append("\n".join(lines))  # a list: keep one item a line
        elif lines:
            out.append(" ".join(lines))
    return out


def _fix_money(fx: dict[str, Any]) -> float:
    """The money a fix recovers: the spend it makes attributable (ownership fixes), else the spend at risk it
    corrects (pricing, duplicates, keys): the larger of the two when a fix does both."""
    return _num(fx["money"])


def _rest(keys: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not keys:
        return None
    return {"rows": keys, "count": len(keys), "cost": sum((_dec(k["cost"]) for k in keys), Decimal(0)),
            "records": sum(int(k.get("records") or 0) for k in keys)}


def context(result: AuditResult) -> dict[str, Any]:
    d = _masked(result.to_dict())
    docs = _masked(_rule_docs())
    findings = []
    for f in d["findings"]:
        doc = docs.get(f["code"], {}).get("doc", "")
        findings.append({**f, "doc": doc, "doc_paragraphs": _paragraphs(doc),
                         "blocks": docs.get(f["code"], {}).get("blocks", False),
                         "details_view": table_of(f["details"]) if f.get("details") else None})
    by_name = {f["name"]: f for f in findings}
    sections = {k: [by_name[n] for n in names if n in by_name] for k, names in SECTION_RULES.items()}
    checked = {dim["key"]: dim["checked"] for dim in d["sections"].get("scoring", {}).get("dimensions", [])}
    all_fixes = sorted(({**fx, "team_id": t["team_id"], "team_label": t.get("label"), "money": _fix_money(fx)} for t in d["teams"] for fx in t.get("top_fixes", [])),
                       key=lambda x: (-x["money"], x["team_id"], x.get("code", "")))[:10]
    unnamed_keys = sorted(({**k, "team_id": t["team_id"], "team_label": t.get("label")} for t in d["teams"] for k in t.get("production_keys", []) if not k["named"]),
                          key=lambda k: (-_num(k["cost"]), k["team_id"], str(k["key"])))
    rec = d.get("reconciliation")
    return {
        "d": d,
        "s": d["summary"],
        "v": d["verdict"],
        "findings": findings,
        "sections": sections,
        "checked": checked,
        "all_fixes": all_fixes,
        "unnamed_keys": unnamed_keys[:MAX_KEY_ROWS],
        "unnamed_rest": _rest(unnamed_keys[MAX_KEY_ROWS:]),
        "unnamed_total": sum((_dec(k["cost"]) for k in unnamed_keys), Decimal(0)),
        "unnamed_count": len({k["key"] for k in unnamed_keys}),  # distinct keys (a shared key is a row per team)
        "unnamed_rows": len(unnamed_keys),
        "unnamed_shared": len({k["key"] for k in unnamed_keys if not k.get("owner")}),
        "team_chart": team_chart(d),
        "daily_chart": daily_chart(d["sections"].get("daily", [])),
        "reconciliation_chart": reconciliation_chart(rec.get("chart") or []) if rec else None,
        "daily": d["sections"].get("daily", []),
        "scoring": d["sections"].get("scoring", {}),
        "reconciliation": rec,
        "reconciliation_view": table_of(rec) if rec else None,
        "views_shown": views.shown(d),  # spend made on behalf of other teams: both views in the team table
        "views_sentence": views.sentence(d),
        "other_view_teams": views.other_view_rows(d),
        "ready_count": len(d["verdict"].get("chargeback_teams", [])),
        "team_count": len(d["teams"]),
    }


def render(result: AuditResult) -> str:
    digest = base64.b64encode(hashlib.sha256(SORT_SCRIPT.encode("utf-8")).digest()).decode("ascii")
    csp = (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; img-src data:; "
           "font-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'")
    html = _env().get_template("report.html.j2").render(**context(result), csp=csp, script=SORT_SCRIPT)
    return mask_text(html)
