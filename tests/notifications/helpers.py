"""Small factories for notification tests: outbox rows queued through the real `queue()`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.clock import SHANGHAI
from notifications.outbox import queue

T0 = datetime(2025, 7, 11, 9, 0, tzinfo=SHANGHAI)


def transition_context(n: int) -> dict[str, object]:
    return {
        "application_id": n,
        "title": f"项目 {n}",
        "enterprise_name": f"企业 {n}",
        "tier": "excellent",
        "tier_label": "卓越级",
        "from_state": "draft",
        "from_label": "草稿",
        "state": "submitted",
        "state_label": "已提交",
        "event": "submit",
        "event_label": "提交",
        "actor_unit": "sh.qingpu",
        "actor_unit_zh": "青浦区经济委员会",
        "actor_unit_en": "Qingpu District Economic Commission",
        "at_local": "2025-07-11 09:00 (+08:00)",
        "reason": "",
        "source": "251 §2(二)1",
        "notice": "",
        "contact_office": "",
        "contact_person": "",
        "contact_phone": "",
        "platform_url": "http://127.0.0.1:8000",
    }


def queue_messages(engine: Engine, count: int, *, at: datetime = T0, domain: str = "example.com") -> list[str]:
    """Queue `count` transition mails to distinct recipients; returns their dedupe keys."""
    keys = []
    with Session(engine) as session:
        for n in range(1, count + 1):
            key = f"test:{n}"
            queue(
                session,
                kind="transition",
                recipient=f"user{n}@{domain}",
                recipient_name=f"用户 {n}",
                context=transition_context(n),
                dedupe_key=key,
                at=at,
            )
            keys.append(key)
        session.commit()
    return keys
