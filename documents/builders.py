"""One builder per official document: read the database, check who may read it, return HTML (and PDF).

Who may read an application's documents: the enterprise itself, the units of its recommendation chain and
the units above them, the ministry, and auditors in scope — the same people who may read its history.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from documents.render import qr_svg, render_html
from models.clock import shanghai_text
from models.enums import MINISTRY_UNIT, TRACK_LABELS, Role, Tier, Track
from models.errors import NotAuthorised, NotFound
from models.tables import Actor, Application, Enterprise
from programmes.season import get_season
from programmes.summary_table import ATTACHMENT, HEADERS, TITLES, summary_rows
from states.lifecycle import State

PLEDGE_SOURCE = "真实性承诺书，川经信智能函〔2025〕319号附件2；251 §2(二)1"


def tier_label(tier: str) -> str:
    if tier in Tier.__members__.values():
        return Tier(tier).label
    from programmes.season import get_season

    return get_season().designation_kinds.get(tier, tier)  # a district call's kind, labelled by its season


def readable_by(actor: Actor, application: Application, enterprise: Enterprise) -> bool:
    """The enterprise, a unit of the chain or above it, the ministry, an auditor in scope."""
    if actor.role == Role.ENTERPRISE:
        return actor.unit == enterprise.credit_code
    if actor.unit == MINISTRY_UNIT and actor.role in (Role.MINISTRY_OFFICER, Role.ADMIN, Role.AUDITOR):
        return True
    if actor.role in (Role.LOCAL_OFFICER, Role.ADMIN, Role.AUDITOR):
        season = get_season(application.season)
        start = application.chain[0] if application.chain else enterprise.jurisdiction
        return actor.unit in application.chain or (season.has_unit(actor.unit) and season.is_within(start, actor.unit))
    return False


def load_readable(session: Session, application_id: int, viewer: Actor) -> tuple[Application, Enterprise]:
    """The application and its enterprise, or NotFound for an id the viewer may not read (no leak)."""
    application = session.get(Application, application_id)
    enterprise = session.get(Enterprise, application.enterprise_id) if application else None
    if application is None or enterprise is None or not readable_by(viewer, application, enterprise):
        raise NotFound(f"application {application_id} does not exist", rule="not-found")
    return application, enterprise


def _scenarios(content: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    for text in content.get("scenarios") or []:
        parts = [p.strip() for p in str(text).split("—", 2)]
        rows.append(dict(zip(("link", "scenario", "instance"), [*parts, "", ""][:3], strict=True)))
    return rows


def _materials(application: Application) -> list[dict[str, Any]]:
    season = get_season(application.season)
    given = (application.content or {}).get("materials") or {}
    checklist = season.checklist(application.tier) if application.track == Track.NATIONAL else None
    if checklist is None:
        return [{"name": key, "file": value} for key, value in given.items()]
    return [{"name": item.name_zh, "file": given.get(item.key)} for item in checklist.items]


def application_context(session: Session, application: Application, enterprise: Enterprise) -> dict[str, Any]:
    season = get_season(application.season)
    content = application.content or {}
    pledge = application.pledge or content.get("pledge") or {}
    lineage = season.lineage(enterprise.jurisdiction) if season.has_unit(enterprise.jurisdiction) else []
    return {
        "title": application.title,
        "footer": f"申报编号 {application.id} · {application.content_sha256 or '未冻结'}"[:60],
        "application_id": application.id,
        "season_title": season.title or season.name,
        "tier_label": tier_label(application.tier),
        "track_label": TRACK_LABELS.get(Track(application.track), application.track),
        "enterprise": enterprise,
        "jurisdiction": " ".join(season.unit(u).name_zh for u in reversed(lineage)) or enterprise.province,
        "contact_name": content.get("contact_name") or enterprise.contact_name,
        "contact_mobile": content.get("contact_mobile") or enterprise.contact_phone,
        "maturity": content.get("maturity_level", "—"),
        "ai_ratio": f"{content['ai_scenario_ratio']}%" if content.get("ai_scenario_ratio") is not None else "—",
        "future_modes": list(content.get("future_modes") or []),
        "scenarios": _scenarios(content),
        "kpis": sorted((content.get("kpis") or {}).items()),
        "materials": _materials(application),
        "pledge_signed_by": pledge.get("signed_by", ""),
        "pledge_signed_on": pledge.get("signed_on", ""),
        "content_sha256": application.content_sha256,
        "submitted_at": shanghai_text(application.submitted_at) if application.submitted_at else None,
        "qr": qr_svg(application.content_sha256 or f"application:{application.id}:draft"),
    }


def application_html(session: Session, application_id: int, viewer: Actor) -> str:
    """The 申报书 with its frozen hash and a QR code of it."""
    application, enterprise = load_readable(session, application_id, viewer)
    return render_html("application", application_context(session, application, enterprise))


def pledge_html(session: Session, application_id: int, viewer: Actor) -> str:
    """The 真实性承诺书, tied to the frozen content by its hash."""
    application, enterprise = load_readable(session, application_id, viewer)
    pledge = application.pledge or (application.content or {}).get("pledge") or {}
    return render_html(
        "pledge",
        {
            "title": "真实性承诺",
            "footer": f"申报编号 {application.id}",
            "source": PLEDGE_SOURCE,
            "tier_label": tier_label(application.tier),
            "enterprise": enterprise,
            "application_id": application.id,
            "signed_by": pledge.get("signed_by", ""),
            "signed_on": pledge.get("signed_on", ""),
            "content_sha256": application.content_sha256,
            "qr": qr_svg(application.content_sha256 or f"application:{application.id}:draft"),
        },
    )


def _officer_of(viewer: Actor, unit: str) -> None:
    if viewer.unit != unit and viewer.unit != MINISTRY_UNIT:
        raise NotAuthorised(f"{viewer.role}@{viewer.unit} may not print {unit}'s documents", rule="authorisation")


def summary_table_html(session: Session, *, unit: str, tier: str, season: str | None, viewer: Actor) -> str:
    """The 推荐汇总表 as a printable form: landscape A4, header repeated, ready to stamp (盖章)."""
    _officer_of(viewer, unit)
    s = get_season(season)
    round_, rows = summary_rows(session, unit=unit, tier=tier, season=s.name)
    return render_html(
        "summary_table",
        {
            "title": TITLES[tier],
            "orientation": "landscape",
            "footer": f"{s.unit(unit).name_zh} {TITLES[tier]}",
            "attachment": ATTACHMENT[tier],
            "table_title": TITLES[tier],
            "unit_name": s.unit(unit).name_zh,
            "season_title": s.title or s.name,
            "headers": HEADERS[tier],
            "rows": rows,
            "quota": round_.quota,
        },
    )


def letter_html(session: Session, *, unit: str, tier: str, season: str | None, viewer: Actor, today: date) -> str:
    """The 推荐函 of a unit's ranked round to the level above (the ministry for a province)."""
    _officer_of(viewer, unit)
    s = get_season(season)
    round_, _rows = summary_rows(session, unit=unit, tier=tier, season=s.name)
    apps = {
        a.id: a
        for a in session.scalars(select(Application).where(col(Application.id).in_(round_.ranked_application_ids)))
    }
    names = {
        e.id: e.name
        for e in session.scalars(
            select(Enterprise).where(col(Enterprise.id).in_([a.enterprise_id for a in apps.values()]))
        )
    }
    rows = [
        {
            "rank": i,
            "enterprise": names[apps[a].enterprise_id],
            "title": apps[a].title,
            "sha": apps[a].content_sha256 or "",
        }
        for i, a in enumerate(round_.ranked_application_ids, 1)
    ]
    parent = s.unit(unit).parent
    return render_html(
        "letter",
        {
            "title": "推荐函",
            "footer": f"{s.unit(unit).name_zh} 推荐函",
            "rows": rows,
            "quota": round_.quota,
            "addressee": s.unit(parent).name_zh if parent else "工业和信息化部",
            "notice": "《关于开展2025年度智能工厂梯度培育行动的通知》（工信厅联通装函〔2025〕251号）",
            "season_title": s.title or s.name,
            "tier_label": tier_label(tier),
            "unit_name": s.unit(unit).name_zh,
            "today": f"{today.year}年{today.month}月{today.day}日",
        },
    )


def notice_html(session: Session, *, season: str | None, tier: str = "excellent") -> str:
    """The 公示名单: applications in public notice, with the notice window from their milestones."""
    s = get_season(season)
    apps = list(
        session.scalars(
            select(Application)
            .where(
                col(Application.season) == s.name,
                col(Application.tier) == tier,
                col(Application.state) == State.PUBLIC_NOTICE,
            )
            .order_by(col(Application.id))
        )
    )
    ents = {
        e.id: e
        for e in session.scalars(select(Enterprise).where(col(Enterprise.id).in_([a.enterprise_id for a in apps])))
    }
    milestones = apps[0].milestones if apps else {}
    rows = [
        {
            "enterprise": ents[a.enterprise_id].name,
            "title": a.title,
            "region": s.province_of(ents[a.enterprise_id].province).name_zh,
        }
        for a in apps
    ]
    return render_html(
        "notice",
        {
            "title": "公示名单",
            "footer": f"{tier_label(tier)}智能工厂公示名单",
            "heading": f"{s.title or s.name}{tier_label(tier)}智能工厂拟认定名单公示",
            "rows": rows,
            "opens_on": milestones.get("notice_opens_on", "—"),
            "closes_on": milestones.get("notice_closes_on", "—"),
            "period_note": "网上公示",
            "contact": "工业和信息化部装备工业一司",
            "source": "（251 §2(二)4：评审认定、名单发布）",
        },
    )
