"""The expert review console over HTTP (issue 19): an expert's own reviews and the form per stage from the
season data, blind until submitted and final after; another expert's review is a 404; bad input gets the form
back with each field's message and changes nothing; officers see the panel and its result, and the organising
unit builds panels and assigns (a conflict only with a reason); an auditor reads the result with no form."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.tables import AuditEvent, Panel, ReviewAssignment
from programmes.panels import add_members, auto_assign, create_panel
from programmes.reviews import submit_review
from programmes.season import get_season
from tests import factories as f
from tests.web.conftest import PASSWORD, RULE, WHEN, Panelled, World, csrf_of, expert_id
from web.demo_accounts import grant

pytestmark = [pytest.mark.sqlite_only]


def review_form(csrf: str, score: Any = 85, recommendation: str = "pass", comments: str = "") -> dict[str, Any]:
    scores = {f"score-{c.key}": str(score) for c in RULE.criteria}
    return {**scores, "recommendation": recommendation, "comments": comments, "csrf_token": csrf}


def review_row(engine: Engine, review_id: int) -> ReviewAssignment:
    with Session(engine) as session:  # a short session of its own (SQLite's write lock)
        row = session.get(ReviewAssignment, review_id)
        assert row is not None
        return row


def submitted_events(engine: Engine) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(AuditEvent).where(AuditEvent.event == "submit_review")  # type: ignore[arg-type]
        return session.scalar(query) or 0


def submit_over_http(client: Any, review_id: int, **form: Any) -> Any:
    csrf = csrf_of(client.get(f"/reviews/{review_id}").text)
    return client.post(f"/reviews/{review_id}", data=review_form(csrf, **form), follow_redirects=False)


def test_an_experts_form_is_blind_until_submitted_and_final_after(client_for: Any, panelled: Panelled,
                                                                   engine: Engine) -> None:  # fmt: skip
    second, first = client_for("second"), client_for("first")
    submitted = submit_over_http(second, panelled.reviews["second"], score=61, comments="第二位专家的意见")
    assert submitted.status_code == 303
    listing = first.get("/reviews").text
    assert "材料评审" in listing and "未提交" in listing and f"/reviews/{panelled.reviews['first']}" in listing
    assert f"/reviews/{panelled.reviews['second']}" not in listing
    before = first.get(f"/reviews/{panelled.reviews['first']}").text
    application = first.get(f"/applications/{panelled.application}").text
    for page in (before, application):
        assert panelled.names["second"] not in page and "第二位专家的意见" not in page and "61.0" not in page
    for c in RULE.criteria:  # the form is the season's: every criterion with its weight
        assert f'name="score-{c.key}"' in before and c.label in before
    assert submit_over_http(first, panelled.reviews["first"], score=90).status_code == 303
    after = first.get(f"/reviews/{panelled.reviews['first']}").text
    assert "评审意见已提交，不可修改" in after and panelled.names["second"] in after and "第二位专家的意见" in after
    assert 'name="score-' not in after  # no form once submitted
    again = submit_over_http(first, panelled.reviews["first"], score=10)
    assert again.status_code == 409 and "review-final" in again.text
    assert review_row(engine, panelled.reviews["first"]).scores[RULE.criteria[0].key] == 90


def test_another_experts_review_is_a_404_and_changes_nothing(client_for: Any, panelled: Panelled,
                                                              engine: Engine) -> None:  # fmt: skip
    first = client_for("first")
    others = panelled.reviews["second"]
    assert first.get(f"/reviews/{others}").status_code == 404
    csrf = csrf_of(first.get(f"/reviews/{panelled.reviews['first']}").text)
    assert first.post(f"/reviews/{others}", data=review_form(csrf)).status_code == 404
    assert first.get("/reviews/999999").status_code == 404
    assert review_row(engine, others).status == "assigned" and submitted_events(engine) == 0
    assert client_for("ministry").get(f"/reviews/{others}").status_code == 404  # officers have no review form
    assert client_for("auditor").get("/reviews").status_code == 404


def test_an_expert_reads_only_the_applications_assigned_to_them(client_for: Any, panelled: Panelled,
                                                                world: World) -> None:  # fmt: skip
    first = client_for("first")
    assert first.get(f"/applications/{panelled.application}").status_code == 200
    for other in (world.qingpu_app, world.minhang_app):  # in no panel of theirs: as if it did not exist
        assert first.get(f"/applications/{other}").status_code == 404
    inbox = first.get("/inbox").text
    assert world.qingpu_name not in inbox


def test_bad_input_gets_the_form_back_with_each_fields_message_and_nothing_changed(
    client_for: Any, panelled: Panelled, engine: Engine
) -> None:
    first = client_for("first")
    mine = panelled.reviews["first"]
    form = review_form(csrf_of(first.get(f"/reviews/{mine}").text), recommendation="")
    bad = {RULE.criteria[0].key: "abc", RULE.criteria[1].key: "101", RULE.criteria[2].key: ""}
    form |= {f"score-{k}": v for k, v in bad.items()}
    response = first.post(f"/reviews/{mine}", data=form)
    assert response.status_code == 422 and "请修改以下内容" in response.text
    for key in bad:
        assert f'id="e-score-{key}"' in response.text and f'href="#f-score-{key}"' in response.text
    assert "请填写 0 到 100 之间的分数" in response.text and "请填写此项" in response.text
    assert 'id="e-recommendation"' in response.text and "请选择评审意见" in response.text
    assert 'value="abc"' in response.text  # the answers are kept
    assert f'id="e-score-{RULE.criteria[3].key}"' not in response.text
    row = review_row(engine, mine)
    assert row.status == "assigned" and row.scores == {} and submitted_events(engine) == 0


def test_officers_see_the_panel_result_and_an_auditor_reads_it_with_no_form(
    client_for: Any, panelled: Panelled, session: Session, engine: Engine
) -> None:
    progress = client_for("ministry").get(f"/applications/{panelled.application}").text
    assert "专家评审" in progress and "已提交 0 / 3" in progress and "平均分" not in progress
    for key, score in (("first", 90), ("second", 60), ("third", 85)):
        submit_review(session, assignment_id=panelled.reviews[key], actor=panelled.experts[key], at=WHEN,
                      scores={c.key: score for c in RULE.criteria},
                      recommendation="return" if key == "third" else "pass")  # fmt: skip
    officer = client_for("ministry").get(f"/applications/{panelled.application}").text
    for shown in ("评审结果", "78.33", "85.0", "30.0", "专家评分分歧较大", "建议通过 2", "建议退回修改 1",
                  panelled.names["second"], f"/panels/{panelled.panel}/assign"):  # fmt: skip
        assert shown in officer, shown
    auditor = client_for("auditor")
    read = auditor.get(f"/applications/{panelled.application}").text
    assert "78.33" in read and panelled.names["second"] in read and "审计视图（只读）" in read
    assert "/panels" not in read and "/decide" not in read
    csrf = csrf_of(read)
    refused = auditor.post(f"/applications/{panelled.application}/panels/{panelled.panel}/assign",
                           data={"csrf_token": csrf})  # fmt: skip
    assert refused.status_code == 403 and "panel-organiser" in refused.text
    district = client_for("qingpu").get(f"/applications/{panelled.application}").text
    assert "78.33" in district and "/panels" not in district  # reads the result; only the organiser builds


def test_the_organiser_builds_a_panel_and_overrides_a_conflict_only_with_a_reason(
    client_for: Any, panelled: Panelled, session: Session, engine: Engine
) -> None:
    officer = client_for("ministry")
    url = f"/applications/{panelled.application}"
    csrf = csrf_of(officer.get(url).text)
    panel_form = {"stage": "material_review", "name": " ", "csrf_token": csrf}
    assert officer.post(f"{url}/panels", data=panel_form).status_code == 422  # a name is required
    built = officer.post(f"{url}/panels", data=panel_form | {"name": "材料评审第二组"}, follow_redirects=False)
    assert built.status_code == 303
    pool = [f.expert(session, p) for p in ("sh", "hb", "sc", "cq")]  # 上海: the applicant's province
    session.commit()
    ids = [expert_id(session, e.email) for e in pool]
    session.commit()  # end the read: on SQLite a transaction holds the write lock
    page = officer.get(url).text
    assert "与申报企业同省" in page  # conflicts computed and shown before anyone is assigned
    with Session(engine) as fresh:
        second_panel = fresh.scalars(select(Panel.id).where(Panel.name == "材料评审第二组")).one()  # type: ignore[call-overload,arg-type]
    added = officer.post(f"{url}/panels/{second_panel}/members", data={"expert": ids, "csrf_token": csrf},
                         follow_redirects=False)  # fmt: skip
    assert added.status_code == 303
    manual = {"expert": ids[0], "reason": "", "csrf_token": csrf}
    refused = officer.post(f"{url}/panels/{second_panel}/assign-expert", data=manual)
    assert refused.status_code == 403 and "conflict:same-province" in refused.text
    with Session(engine) as fresh:
        assert fresh.scalar(select(func.count()).select_from(ReviewAssignment)) == 3
    manual["reason"] = "该领域仅此一位专家"
    assert officer.post(f"{url}/panels/{second_panel}/assign-expert", data=manual,
                        follow_redirects=False).status_code == 303  # fmt: skip
    assert officer.post(f"{url}/panels/{second_panel}/assign", data={"csrf_token": csrf},
                        follow_redirects=False).status_code == 303  # fmt: skip
    with Session(engine) as fresh:
        rows = fresh.scalars(select(ReviewAssignment).where(ReviewAssignment.panel_id == second_panel)).all()  # type: ignore[arg-type]
    assert len(rows) == RULE.reviewers and ids[0] in {r.expert_id for r in rows}
    assert [r.override_reason for r in rows if r.expert_id == ids[0]] == ["该领域仅此一位专家"]
    assert "该领域仅此一位专家" in officer.get(url).text


def test_the_onsite_form_asks_pass_or_fail_per_item_and_a_finding_for_each_failure(
    client_for: Any, world: World, session: Session, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACTORY_REVIEW_NOW", "2025-09-02T10:00:00+08:00")
    onsite = get_season("2025").panel_rule(stage="onsite_verification", tier="leading", track="national")
    assert onsite is not None
    application = f.application(session, "onsite_verification", tier="leading")
    when = f.at("2025-08-25")
    panel = create_panel(session, season="2025", stage="onsite_verification", tier="leading", name="现场核查组",
                         actor=f.ministry(session), at=when)  # fmt: skip
    experts = [f.expert(session, p) for p in ("bj", "gd", "js")]
    add_members(session, panel_id=panel.id or 0, expert_ids=[expert_id(session, e.email) for e in experts],
                actor=f.ministry(session), at=when)  # fmt: skip
    made = auto_assign(session, panel_id=panel.id or 0, actor=f.ministry(session), at=when,
                       application_ids=[application.id or 0])  # fmt: skip
    mine = next(a.id or 0 for a in made if a.expert_id == expert_id(session, experts[0].email))
    world.emails["onsite"] = experts[0].email
    grant(session, email=experts[0].email, password=PASSWORD, role="expert", unit="miit", display_name="专家",
          at=when)  # fmt: skip
    session.commit()
    client = client_for("onsite")
    page = client.get(f"/reviews/{mine}").text
    first, *rest = onsite.checklist
    assert "现场核查" in page and all(f'name="item-{c.key}"' in page and c.label in page for c in onsite.checklist)
    assert 'name="score-' not in page  # on-site verification is pass/fail per item, not scored
    form = {f"item-{c.key}": "pass" for c in rest} | {f"item-{first.key}": "fail", "recommendation": "fail",
                                                      "csrf_token": csrf_of(page)}  # fmt: skip
    refused = client.post(f"/reviews/{mine}", data=form)
    assert refused.status_code == 422 and f'id="e-finding-{first.key}"' in refused.text
    assert "不通过的核查项须填写核查发现" in refused.text and review_row(engine, mine).status == "assigned"
    form[f"finding-{first.key}"] = "现场所见与申报材料不一致"
    assert client.post(f"/reviews/{mine}", data=form, follow_redirects=False).status_code == 303
    stored = review_row(engine, mine)
    assert {x["item"]: x["passed"] for x in stored.findings}[first.key] is False and stored.recommendation == "fail"
