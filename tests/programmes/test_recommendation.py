"""Ranked recommendation: total priority order, deadline, quotas at that moment (430 §1(二)4, 251 §2(二)2)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlmodel import Session

from models.enums import Role
from models.errors import DeadlinePassed, NotAuthorised, QuotaExceeded, QuotaUnknown, TransitionRefused
from models.tables import Application, AuditEvent, Enterprise, RecommendationRound
from programmes.recommendation import grant_extension, quota_for, submit_ranked_recommendation
from programmes.season import get_season
from states.service import transition
from tests.programmes.conftest import T0, actor, applicant, make_application, make_enterprise, sh_time


def submitted(session: Session, n: int, *, demo: int = 0, district: str = "sh.qingpu") -> list[Application]:
    apps = []
    for i in range(n):
        enterprise = make_enterprise(session, district=district, demonstration_unit=i < demo)
        app = make_application(session, enterprise)
        transition(session, app.id, "submit", actor=applicant(session, enterprise), at=T0)  # type: ignore[arg-type]
        apps.append(app)
    return apps


def officer(session: Session, unit: str = "sh.qingpu"):  # type: ignore[no-untyped-def]
    return actor(session, Role.LOCAL_OFFICER, unit)


@pytest.mark.parametrize(("n", "ok"), [(6, True), (7, False)])
def test_shanghai_district_excellent_quota_6_430_1_2_4(session: Session, n: int, ok: bool) -> None:
    """430 §1(二)4: 各区（管委会）可推荐项目申报数量不超过6个."""
    apps = submitted(session, n)
    ids = [a.id for a in apps]
    if ok:
        round_ = submit_ranked_recommendation(session, unit="sh.qingpu", tier="excellent",
                                              ranked_application_ids=ids, actor=officer(session), at=T0)  # type: ignore[arg-type]  # fmt: skip
        assert round_.quota == 6 and round_.counted_against_quota == 6
        for rank, app in enumerate(apps, 1):
            session.refresh(app)
            assert app.ranks == {"sh.qingpu": rank} and app.state == "local_review" and app.review_level == 1
    else:
        with pytest.raises(QuotaExceeded) as err:
            submit_ranked_recommendation(session, unit="sh.qingpu", tier="excellent",
                                         ranked_application_ids=ids, actor=officer(session), at=T0)  # type: ignore[arg-type]  # fmt: skip
        assert "430 §1(二)4" in err.value.source
        assert all(session.get(Application, i).state == "submitted" for i in ids)  # type: ignore[union-attr]
        assert session.scalars(select(RecommendationRound)).first() is None


def test_demonstration_unit_does_not_count_against_quota_430_1_2_4(session: Session) -> None:
    """430 §1(二)4: 已通过智能制造示范工厂揭榜单位地方验收的单位不占用推荐名额 — 7 ranked, 1 exempt."""
    apps = submitted(session, 7, demo=1)
    round_ = submit_ranked_recommendation(session, unit="sh.qingpu", tier="excellent",
                                          ranked_application_ids=[a.id for a in apps], actor=officer(session), at=T0)  # type: ignore[arg-type,misc]  # fmt: skip
    assert round_.counted_against_quota == 6 and len(round_.ranked_application_ids) == 7
    event = session.scalars(select(AuditEvent).where(AuditEvent.subject == "unit:sh.qingpu:2025")).one()
    assert event.event == "ranked_recommendation" and event.data["exempt_application_ids"] == [apps[0].id]


def test_priority_order_must_be_total_251_2_2_3(session: Session) -> None:
    """251 §2(二)3 按推荐项目优先顺序: every held application is ranked, or returned/rejected first."""
    apps = submitted(session, 3)
    with pytest.raises(TransitionRefused, match="total") as err:
        submit_ranked_recommendation(session, unit="sh.qingpu", tier="excellent",
                                     ranked_application_ids=[apps[0].id, apps[1].id], actor=officer(session), at=T0)  # type: ignore[list-item]  # fmt: skip
    assert err.value.rule == "ranked-recommendation"
    transition(session, apps[2].id, "reject", actor=officer(session), at=T0, reason="材料不实")  # type: ignore[arg-type]
    submit_ranked_recommendation(session, unit="sh.qingpu", tier="excellent",
                                 ranked_application_ids=[apps[1].id, apps[0].id], actor=officer(session), at=T0)  # type: ignore[list-item]  # fmt: skip
    session.refresh(apps[1])
    assert apps[1].ranks["sh.qingpu"] == 1


def test_direct_recommend_without_a_round_is_refused(session: Session) -> None:
    """The `ranked` guard: recommendation goes through a ranked round."""
    (app,) = submitted(session, 1)
    with pytest.raises(TransitionRefused) as err:
        transition(session, app.id, "recommend", actor=officer(session), at=T0)  # type: ignore[arg-type]
    assert err.value.rule == "ranked-recommendation"


@pytest.mark.parametrize(("at", "ok"), [("2025-07-11 23:59", True), ("2025-07-12 00:00", False)])
def test_district_recommendation_deadline_0711_430_1_2_2(session: Session, at: str, ok: bool) -> None:
    apps = submitted(session, 1)
    kwargs = {"unit": "sh.qingpu", "tier": "excellent", "ranked_application_ids": [apps[0].id],
              "actor": officer(session), "at": sh_time(at)}  # fmt: skip
    if ok:
        submit_ranked_recommendation(session, **kwargs)  # type: ignore[arg-type]
    else:
        with pytest.raises(DeadlinePassed) as err:
            submit_ranked_recommendation(session, **kwargs)  # type: ignore[arg-type]
        assert "430 §1(二)2" in err.value.source


def test_extension_moves_the_deadline_and_is_audited(session: Session) -> None:
    apps = submitted(session, 1)
    admin = actor(session, Role.ADMIN, "sh")
    with pytest.raises(NotAuthorised):
        grant_extension(session, unit="sh.qingpu", step="recommend", until=date(2025, 7, 15),
                        actor=actor(session, Role.ADMIN, "tj"), reason="系统故障", at=T0)  # fmt: skip
    grant_extension(session, unit="sh.qingpu", step="recommend", until=date(2025, 7, 15), actor=admin,
                    reason="系统故障", at=T0)  # fmt: skip
    submit_ranked_recommendation(session, unit="sh.qingpu", tier="excellent", ranked_application_ids=[apps[0].id],  # type: ignore[list-item]
                                 actor=officer(session), at=sh_time("2025-07-15 20:00"))  # fmt: skip
    events = [e.event for e in session.scalars(select(AuditEvent).where(AuditEvent.subject == "unit:sh.qingpu:2025"))]
    assert events == ["deadline_extension", "ranked_recommendation"]


def test_province_quota_unknown_without_rank_251_2_2_2(session: Session) -> None:
    """251 §2(二)2 by 2024 value-added rank — not in the seeds: refuse, never guess."""
    with pytest.raises(QuotaUnknown) as err:
        quota_for(get_season("2025"), "sh", "excellent", top_of_chain=True)
    assert "251 §2(二)2" in err.value.source


def test_quota_bands_and_fixed_251() -> None:
    s26 = get_season("2026")  # made-up statistics
    assert quota_for(s26, "gd", "excellent", top_of_chain=True).limit == 40  # rank 1
    assert quota_for(s26, "sh", "excellent", top_of_chain=True).limit == 30  # rank 12
    assert quota_for(s26, "tj", "excellent", top_of_chain=True).limit == 20  # rank 23
    assert quota_for(s26, "sd", "leading", top_of_chain=True).limit == 3  # 22 ≥ 20
    assert quota_for(s26, "sh", "leading", top_of_chain=True).limit == 2  # 15
    assert quota_for(s26, "tj", "leading", top_of_chain=True).limit == 1  # 5
    s25 = get_season("2025")
    assert quota_for(s25, "xpcc", "excellent", top_of_chain=True).limit == 5
    assert quota_for(s25, "soe.sinopec", "excellent", top_of_chain=True).limit == 5
    assert quota_for(s25, "sh.qingpu", "leading", top_of_chain=False).limit == 1  # 430 §2(二)3
    assert quota_for(s25, "sc.chengdu", "excellent", top_of_chain=False).limit is None


def test_2026_season_drives_the_same_code(session: Session) -> None:
    """A second (made-up) season: Shanghai district quota 4, deadline 2026-07-10."""
    apps = []
    for _ in range(5):
        enterprise = make_enterprise(session)
        app = make_application(session, enterprise, season="2026")
        transition(session, app.id, "submit", actor=applicant(session, enterprise), at=sh_time("2026-07-10 23:00"))  # type: ignore[arg-type]
        apps.append(app)
    with pytest.raises(QuotaExceeded):
        submit_ranked_recommendation(session, unit="sh.qingpu", tier="excellent", season="2026",
                                     ranked_application_ids=[a.id for a in apps], actor=officer(session),  # type: ignore[misc]
                                     at=sh_time("2026-07-10 23:30"))  # fmt: skip
    transition(session, apps[4].id, "reject", actor=officer(session), at=sh_time("2026-07-10 23:40"), reason="x")  # type: ignore[arg-type]
    round_ = submit_ranked_recommendation(session, unit="sh.qingpu", tier="excellent", season="2026",
                                          ranked_application_ids=[a.id for a in apps[:4]], actor=officer(session),  # type: ignore[misc]
                                          at=sh_time("2026-07-10 23:50"))  # fmt: skip
    assert round_.quota == 4 and session.get(Enterprise, apps[0].enterprise_id) is not None
