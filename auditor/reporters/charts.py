"""Chart geometry for the HTML report: inline SVG, computed here so the template only places shapes.

Labels are exact (decimal) figures formatted by ``auditor.fmt``; only the geometry is floating point.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from auditor.fmt import plural, usd

MAX_TEAM_BARS = 20


def _num(v: Any) -> float:
    return float(_dec(v))


def _nice_ticks(top: float, n: int = 4) -> list[float]:
    if top <= 0:
        return [0.0]
    raw = top / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [step * i for i in range(int(math.ceil(top / step)) + 1)]


def _tick_labels(ticks: list[float]) -> list[str]:
    """Axis labels at one precision for the whole axis, so equal steps read as equal ($0.025, $0.050, $0.075)."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else (ticks[0] or 1.0)
    if ticks[-1] >= 1000:
        return [_short_usd(t) for t in ticks]
    decimals = 0
    while decimals < 12 and abs(round(step, decimals) - step) > step * 1e-6:
        decimals += 1
    if ticks[-1] >= 1 and decimals == 1:
        decimals = 2  # dollars and cents
    return [f"${t:,.{decimals}f}" for t in ticks]


def _short_usd(v: float) -> str:
    if v >= 1_000_000:
        return f"${v / 1_000_000:.1f}M"
    if v >= 10_000:
        return f"${v / 1000:.0f}k"
    if v >= 1000:
        return f"${v / 1000:.1f}k"
    if v >= 1 or v == 0:
        return f"${v:,.0f}" if v >= 10 or v == 0 else f"${v:.1f}"
    return f"${v:.2g}"


def _dec(v: Any) -> Decimal:
    try:
        return Decimal(str(v)) if v is not None else Decimal(0)
    except Exception:  # noqa: BLE001 - a malformed figure charts as 0
        return Decimal(0)


def team_chart(d: dict[str, Any]) -> dict[str, Any]:
    """Horizontal stacked bars: attributable vs not, per team, plus spend that carries no team.
    Labels are exact (decimal) figures; only the geometry is floating point."""
    rows = [(t.get("label") or t["team_id"], _dec(t["attributable_cost"]), _dec(t["cost"]) - _dec(t["attributable_cost"])) for t in d["teams"]]
    if len(rows) > MAX_TEAM_BARS:
        rest = rows[MAX_TEAM_BARS - 1:]
        rows = rows[:MAX_TEAM_BARS - 1] + [(f"{len(rest)} other teams", sum((r[1] for r in rest), Decimal(0)),
                                            sum((r[2] for r in rest), Decimal(0)))]
    no_team = _dec(d["summary"]["total_cost"]) - sum((_dec(t["cost"]) for t in d["teams"]), Decimal(0))
    if no_team > 0:
        rows.append(("(no team)", Decimal(0), no_team))
    top = float(max((a + u for _, a, u in rows), default=Decimal(0))) or 1.0
    ticks = _nice_ticks(top)
    scale_top = ticks[-1] or 1.0
    label_w, bar_w, row_h = 190, 560, 28
    bars = []
    for i, (label, att, un) in enumerate(rows):
        wa, wu = bar_w * float(att) / scale_top, bar_w * float(un) / scale_top
        bars.append({"label": label if len(label) <= 28 else label[:27] + "…", "full": label, "y": 8 + i * row_h,
                     "wa": round(wa, 2), "wu": round(wu, 2), "xu": round(label_w + wa, 2),
                     "text_x": round(label_w + wa + wu + 6, 2), "total": usd(att + un), "att": usd(att), "un": usd(un)})
    height = 8 + len(rows) * row_h + 24
    return {"bars": bars, "label_w": label_w, "bar_w": bar_w, "height": height, "width": label_w + bar_w + 90,
            "ticks": [{"x": round(label_w + bar_w * t / scale_top, 2), "label": lab} for t, lab in zip(ticks, _tick_labels(ticks))],
            "axis_y": height - 18}


def _dated(days: list[dict[str, Any]]) -> list[tuple[Any, dict[str, Any]]]:
    import datetime as dt

    out = []
    for x in days:
        try:
            out.append((dt.date.fromisoformat(str(x.get("day"))[:10]), x))
        except (TypeError, ValueError):
            continue
    return sorted(out, key=lambda p: p[0])


def _time_axis(dates: list[Any], left: float, width: float, gap: float = 50) -> dict[str, Any]:
    """x of each day's centre on a time axis, so a gap in the logs shows as a gap, with labels that carry the
    year. Runs of days more than 31 days apart are drawn as segments of a broken axis, with a marked break."""
    import datetime as dt

    segments: list[list[Any]] = [[dates[0]]]
    for prev, cur in zip(dates, dates[1:]):
        if (cur - prev).days > 31:
            segments.append([])
        segments[-1].append(cur)
    slots = sum((seg[-1] - seg[0]).days + 1 for seg in segments)
    unit = (width - gap * (len(segments) - 1)) / max(slots, 1)
    xs: dict[Any, float] = {}
    labels, breaks = [], []
    x0 = float(left)
    for n, seg in enumerate(segments):
        first, span = seg[0], (seg[-1] - seg[0]).days + 1
        for day in seg:
            xs[day] = x0 + ((day - first).days + 0.5) * unit
        # labels: the first and last day of each segment, and about one a week inside long ones
        every = max(1, math.ceil(span / max(2, int(span * unit / 90))))
        last_x = -1e9
        for k in sorted({0, span - 1, *range(0, span, every)}):
            lx = x0 + (k + 0.5) * unit
            if lx - last_x < 80 and k != 0:
                continue
            labels.append({"x": round(lx, 2), "text": (first + dt.timedelta(days=k)).isoformat()})
            last_x = lx
        x0 += span * unit
        if n < len(segments) - 1:
            breaks.append({"x": round(x0 + gap / 2, 2), "days": (segments[n + 1][0] - seg[-1]).days - 1})
            x0 += gap
    return {"xs": xs, "unit": unit, "labels": labels, "breaks": breaks}


def _y_ticks(top: float, top_pad: float, plot_h: float) -> tuple[float, list[dict[str, Any]]]:
    ticks = _nice_ticks(top or 1.0)
    scale_top = ticks[-1] or 1.0
    return scale_top, [{"y": round(top_pad + plot_h - plot_h * t / scale_top, 2), "label": lab}
                       for t, lab in zip(ticks, _tick_labels(ticks))]


def daily_chart(days: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Stacked bars per day (attributable, unattributed) on a time axis (``_time_axis``)."""
    dated = _dated(days)
    if not dated:
        return None
    left, width, top_pad, plot_h = 70, 820, 10, 200
    axis = _time_axis([d for d, _ in dated], left, width)
    scale_top, ticks = _y_ticks(max(_num(x["cost"]) for _, x in dated), top_pad, plot_h)
    bw = min(36.0, max(1.0, axis["unit"] * 0.8))
    base = top_pad + plot_h
    bars = []
    for day, x in dated:
        c, a = _num(x["cost"]), _num(x["attributable_cost"])
        ha, hu = plot_h * a / scale_top, plot_h * max(0.0, c - a) / scale_top
        bars.append({"x": round(axis["xs"][day] - bw / 2, 2), "w": round(bw, 2), "ya": round(base - ha, 2),
                     "ha": round(ha, 2), "yu": round(base - ha - hu, 2), "hu": round(hu, 2),
                     "title": f"{day.isoformat()}: {usd(x['cost'])} ({usd(x['attributable_cost'])} attributable, "
                              f"{plural(x['records'], 'request')})"})
    return {"bars": bars, "width": left + width + 10, "height": top_pad + plot_h + 30, "left": left,
            "base": base, "right": left + width, "breaks": axis["breaks"], "ticks": ticks,
            "labels": axis["labels"], "label_y": top_pad + plot_h + 18}


def reconciliation_chart(days: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Invoice and ledger side by side per day on the same time axis as the daily spend, with a marker under
    the days that hold a row over the variance threshold (and only those)."""
    dated = _dated(days)
    if not dated:
        return None
    left, width, top_pad, plot_h = 70, 820, 10, 180
    axis = _time_axis([d for d, _ in dated], left, width)
    top = max(max(_num(x["invoice"]), _num(x["ledger"])) for _, x in dated)
    scale_top, ticks = _y_ticks(top, top_pad, plot_h)
    bw = min(16.0, max(0.5, axis["unit"] * 0.4))
    base = top_pad + plot_h
    bars = []
    for day, x in dated:
        hi = plot_h * max(0.0, _num(x["invoice"])) / scale_top
        hl = plot_h * max(0.0, _num(x["ledger"])) / scale_top
        cx = axis["xs"][day]
        bars.append({"xi": round(cx - bw, 2), "xl": round(cx, 2), "w": round(bw, 2), "yi": round(base - hi, 2),
                     "hi": round(hi, 2), "yl": round(base - hl, 2), "hl": round(hl, 2), "flagged": bool(x.get("flagged")),
                     "title": f"{day.isoformat()}: invoice {usd(x['invoice'])}, ledger {usd(x['ledger'])}"
                              + (" (a row over the threshold)" if x.get("flagged") else "")})
    return {"bars": bars, "width": left + width + 10, "height": top_pad + plot_h + 30, "left": left, "base": base,
            "right": left + width, "breaks": axis["breaks"], "ticks": ticks, "labels": axis["labels"],
            "label_y": top_pad + plot_h + 20}
