"""What every mail tells people besides its news: names (not codes), the platform link, who to call, the 文号.

All of it is season data (`contacts:` in programmes/seasons/<season>.yaml) or a setting
(FACTORY_REVIEW_PLATFORM_URL); templates show it through `_macros` `footer_*`.
"""

from __future__ import annotations

from typing import Any

from models.enums import MINISTRY_UNIT

MINISTRY_NAMES = ("工业和信息化部", "MIIT")


def unit_names(season: Any, code: str) -> tuple[str, str]:
    """(Chinese, English) names of a unit as people read them; a code the season doesn't know stays a code."""
    if code == MINISTRY_UNIT:
        return MINISTRY_NAMES
    return season.display_name(code)  # type: ignore[no-any-return]


def _contact(season: Any, unit: str, track: str, source: str) -> Any:
    """The contact of the notice that set the rule (`source`'s first key, e.g. "430 §1(二)2" → 430) among the
    unit's lineage; else the nearest contact up the lineage for the track."""
    key = source.split()[0].rstrip(";") if source else ""
    lineage = {"*", *(season.lineage(unit) if season.has_unit(unit) else ())}
    for contact in season.contacts:
        if key and contact.source.split()[0] == key and contact.unit in lineage:
            return contact
    return season.contact_for(unit if unit != MINISTRY_UNIT else "*", track)


def contact_facts(season: Any, unit: str, track: str, source: str = "") -> dict[str, str]:
    """The responsible contact for `unit` on `track` and the notice (文号) it answers for."""
    contact = _contact(season, unit, track, source)
    if contact is None:
        return {"contact_office": "", "contact_person": "", "contact_phone": "", "notice": ""}
    return {
        "contact_office": contact.authority_zh,
        "contact_person": contact.person,
        "contact_phone": contact.phone,
        "notice": contact.notice,
    }


def platform_url() -> str:
    from models.settings import get_settings

    return get_settings().platform_url.rstrip("/")


def common(season: Any, unit: str, track: str, source: str = "") -> dict[str, Any]:
    """The facts every template's footer needs."""
    return {**contact_facts(season, unit, track, source), "platform_url": platform_url()}
