"""The two views of spend made on behalf of another team, as the text, Markdown and HTML team tables show them.

The figures are the JSON report's (``teams[].owner_view_cost`` ..., ``sections.on_behalf_of``); this module
only decides when the columns are worth showing and words the sentence saying which view the totals use.
"""

from __future__ import annotations

from typing import Any

from auditor.fmt import plural, usd


def section(d: dict[str, Any]) -> dict[str, Any]:
    return (d.get("sections") or {}).get("on_behalf_of") or {}


def shown(d: dict[str, Any]) -> bool:
    """Both views are shown when they differ, or when the policy chose the caller view (a reader must see
    that the figures are not the serving teams' own, even when nothing moved)."""
    ob = section(d)
    return bool(ob) and (bool(ob.get("records")) or ob.get("view") == "caller" or bool(ob.get("other_view_teams")))


def sentence(d: dict[str, Any]) -> str:
    """Which view the team figures use, what moves between the views, and that both total the same."""
    ob = section(d)
    moved = f"{plural(int(ob.get('records') or 0), 'request')} ({usd(ob.get('cost'))}) made for another team's agent"
    if ob.get("view") == "caller":
        text = (f'Team spend is the caller view ([attribution] on_behalf_of = "caller"): {moved} are charged to the '
                "calling team, not to the team that served them.")
    else:
        text = (f'Team spend is the owner view ([attribution] on_behalf_of = "owner", the default): {moved} are charged '
                'to the team that served them; on_behalf_of = "caller" charges the calling team.')
    logged = int(ob.get("logged_records") or 0)
    if ob.get("records"):
        text += f" {logged:,} of them say so in on_behalf_of, {int(ob['records']) - logged:,} are implied by their trace."
    text += f" Both views total {usd(ob.get('teams_total'))}."
    others = ob.get("other_view_teams") or []
    if others:
        text += " Charged only in the other view: " + ", ".join(t["label"] for t in others) + "."
    return text


def other_view_rows(d: dict[str, Any]) -> list[dict[str, Any]]:
    """Teams charged nothing in the report's view, with both views' figures (so each view column sums to its total)."""
    return list(section(d).get("other_view_teams") or [])
