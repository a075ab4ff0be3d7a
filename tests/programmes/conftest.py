"""Small factories for the programme tests: enterprises, actors and applications built from examples/."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from models.clock import SHANGHAI
from models.credit_code import make_credit_code
from models.enums import Role
from models.tables import Actor, Application, Enterprise
from programmes.application_file import ApplicationFile, example
from programmes.season import get_season

T0 = datetime(2025, 7, 1, 9, 0, tzinfo=SHANGHAI)
_SEQ = iter(range(1, 10_000))


def sh_time(text: str) -> datetime:
    """An Asia/Shanghai instant from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def make_enterprise(session: Session, *, division: str = "310118", **fields: Any) -> Enterprise:
    n = next(_SEQ)
    defaults: dict[str, Any] = {
        "credit_code": make_credit_code(division, f"MA1T{n:05d}"),
        "name": f"测试企业{n}有限公司",
        "province": "sh",
        "district": "sh.qingpu",
        "industry": "汽车零部件",
        "recognitions": [{"tier": "advanced", "year": 2024, "by": "sh"}],
        "contact_name": f"联系人{n}",
        "contact_phone": f"1380000{n:04d}",
        "created_at": datetime.now(UTC),
    }
    defaults.update(fields)
    enterprise = Enterprise(**defaults)
    session.add(enterprise)
    session.commit()
    return enterprise


def content_for(enterprise: Enterprise, name: str = "excellent", **overrides: Any) -> dict[str, Any]:
    raw = example(name)
    raw["credit_code"] = enterprise.credit_code
    raw.update(overrides)
    return ApplicationFile.model_validate(raw).model_dump(mode="json")


def make_application(
    session: Session,
    enterprise: Enterprise,
    name: str = "excellent",
    *,
    state: str = "draft",
    season: str = "2025",
    **overrides: Any,
) -> Application:
    content = content_for(enterprise, name, season=season, **overrides)
    season_data = get_season(season)
    application = Application(
        enterprise_id=enterprise.id,  # type: ignore[arg-type]
        tier=content["tier"],
        track=content["track"],
        season=season,
        state=state,
        title=content["title"],
        content=content,
        pledge=content["pledge"],
        chain=season_data.chain_for(enterprise, content["track"], content["tier"]),
        created_at=datetime.now(UTC),
        updated_at=datetime.now(UTC),
    )
    session.add(application)
    session.commit()
    return application


def actor(session: Session, role: Role | str, unit: str, name: str = "") -> Actor:
    row = Actor(name=name or f"{role}@{unit}", email=f"{next(_SEQ)}@example.cn", role=str(role), unit=unit)
    session.add(row)
    session.commit()
    return row


def applicant(session: Session, enterprise: Enterprise) -> Actor:
    return actor(session, Role.ENTERPRISE, enterprise.credit_code)



