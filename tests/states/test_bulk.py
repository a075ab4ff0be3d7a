"""The bulk paths of the one door (states/bulk.py) write what the single-row paths write, row by row:
the same checks and refusals, the same audit events on the same chains, the same mail; a refused row
leaves nothing; a re-run registers nothing twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from models.errors import InvalidInput, NotAuthorised, TransitionRefused
from models.tables import Actor, Application, AuditEvent, Enterprise, OutboxMessage
from states.audit import verify
from states.bulk import Decision, Draft, add_actors, create_drafts, register_enterprises, transition_many
from states.intake import SYSTEM_ACTOR, add_enterprise, create_application
from states.service import transition
from tests import factories as f

COMPARED = ("subject", "seq", "event", "from_state", "to_state", "actor_role", "actor_unit", "data", "reason")


def _events(session: Session, subject: str) -> list[tuple[Any, ...]]:
    rows = session.scalars(select(AuditEvent).where(col(AuditEvent.subject) == subject).order_by(col(AuditEvent.seq)))
    return [tuple(getattr(e, k) for k in COMPARED) for e in rows]


def _drafts(session: Session, rows: list[dict[str, Any]]) -> list[Draft]:
    drafts = []
    for row in rows:
        ent = Enterprise(**row)
        content = f.content_for(ent)
        actor = Actor(name=row["name"], email=row["contact_email"], role="enterprise", unit=row["credit_code"])
        drafts.append(Draft(enterprise_code=row["credit_code"], tier="excellent", track="national",
                            season="2025", title=content["title"], content=content, pledge=content["pledge"],
                            actor=actor))  # fmt: skip
    return drafts


def test_registration_and_drafts_match_the_single_path_and_refuse_row_by_row(session: Session) -> None:
    rows = [f.enterprise_data("sh.qingpu", serial=9100 + i) for i in range(5)]
    bad_code = {**rows[0], "credit_code": "91310118MA0000000X"}
    bad_unit = f.enterprise_data("sh.qingpu", serial=9199, district="sh.nowhere")
    progressed: list[int] = []
    report = register_enterprises(session, [*rows, bad_code, bad_unit], actor=SYSTEM_ACTOR, at=f.at("2025-07-01"),
                                  batch=2, progress=progressed.append)  # fmt: skip
    assert len(report.done) == 5 and sum(progressed) == 7
    assert [(r.index, r.error.rule) for r in report.refused] == [(5, "credit-code"), (6, "jurisdiction")]
    assert all(isinstance(r.error, InvalidInput) for r in report.refused)
    assert session.scalar(select(func.count()).select_from(Enterprise)) == 5
    again = register_enterprises(session, rows, actor=SYSTEM_ACTOR, at=f.at("2025-07-02"))
    assert again.done == [] and sorted(again.existing) == sorted(report.done)

    # The same registration through the single path writes the same event (but for the subject).
    single = add_enterprise(session, data=f.enterprise_data("sh.qingpu", serial=9200), actor=SYSTEM_ACTOR,
                            at=f.at("2025-07-01"))  # fmt: skip
    bulk_event = _events(session, f"enterprise:{rows[0]['credit_code']}")
    single_event = _events(session, f"enterprise:{single.credit_code}")
    assert len(bulk_event) == len(single_event) == 1
    assert bulk_event[0][1:7] == single_event[0][1:7] and bulk_event[0][8] == single_event[0][8]
    bulk_data = dict(bulk_event[0][7])
    bulk_row, single_row = bulk_data.pop("row"), single_event[0][7]["row"]
    assert bulk_data == {"name": rows[0]["name"], "jurisdiction": "sh.qingpu"}
    assert bulk_row["_table"] == "enterprise" and set(bulk_row) == set(single_row)  # the row as inserted
    assert session.scalar(select(func.count()).select_from(Actor).where(col(Actor.role) == "enterprise")) == 6

    drafts = _drafts(session, rows)
    drafts[1].actor = Actor(name="x", email="", role="enterprise", unit=rows[0]["credit_code"])  # someone else's
    made = create_drafts(session, drafts, at=f.at("2025-07-03"), batch=3)
    assert [r.index for r in made.refused] == [1] and isinstance(made.refused[0].error, NotAuthorised)
    assert sorted(made.by_index) == [0, 2, 3, 4]
    one = session.get(Application, made.by_index[0])
    assert one is not None and one.state == "draft" and one.version == 1 and one.audit_count == 1
    reference = create_application(session, enterprise_code=single.credit_code, tier="excellent", track="national",
                                   season="2025", title="t", content=f.content_for(single), pledge=None,
                                   actor=f.applicant(session, single), at=f.at("2025-07-03"))  # fmt: skip
    ours, theirs = _events(session, f"application:{one.id}")[0], _events(session, f"application:{reference.id}")[0]
    assert ours[1:6] == theirs[1:6] and set(ours[7]) == set(theirs[7])
    assert verify(session).ok

    # One live application per enterprise, tier and season: against the database and within the batch.
    again = _drafts(session, [f.enterprise_data("sh.qingpu", serial=9200), rows[1], rows[1]])
    again[0].actor = f.applicant(session, single)
    second = create_drafts(session, again, at=f.at("2025-07-04"))
    assert sorted(second.by_index) == [1]
    assert [(r.index, r.error.rule) for r in second.refused] == [(0, "one-application"), (2, "one-application")]
    assert second.refused[0].error.details.get("existing") == reference.id
    assert second.refused[1].error.details.get("existing") == second.by_index[1]
    assert verify(session).ok


def test_a_units_decisions_in_one_batch_each_guarded_audited_and_mailed(session: Session) -> None:
    apps = [f.draft(session) for _ in range(4)]
    applicants = [f.applicant(session, session.get(Enterprise, a.enterprise_id)) for a in apps]  # type: ignore[arg-type]
    f.officer(session, "sh.qingpu")
    decisions = [Decision(a.id, "submit", who) for a, who in zip(apps, applicants, strict=True)]  # type: ignore[arg-type]
    decisions[2] = Decision(apps[2].id, "submit", applicants[0])  # type: ignore[arg-type]  # not its applicant
    decisions.append(Decision(apps[3].id, "withdraw_not_an_event", applicants[3]))  # type: ignore[arg-type]
    mails_before = session.scalar(select(func.count()).select_from(OutboxMessage))
    report = transition_many(session, decisions, at=f.at("2025-07-05"), batch=10)
    assert sorted(report.done) == sorted([apps[0].id, apps[1].id, apps[3].id])
    assert {type(r.error) for r in report.refused} == {NotAuthorised, TransitionRefused}
    session.expire_all()
    assert [session.get(Application, a.id).state for a in apps] == ["submitted", "submitted", "draft", "submitted"]  # type: ignore[union-attr]
    assert session.get(Application, apps[2].id).audit_count == 1  # type: ignore[union-attr]  # the refused: nothing

    # The single path on the refused one queues the same mail per transition as the batch did.
    mails_batch = session.scalar(select(func.count()).select_from(OutboxMessage)) - (mails_before or 0)
    single = transition(session, apps[2].id, "submit", actor=applicants[2], at=f.at("2025-07-05"))  # type: ignore[arg-type]
    assert report.mails_queued == mails_batch == 3 * single.mails_queued > 0
    assert verify(session).ok


def test_a_batchs_mail_is_rendered_at_send_time_as_the_single_path_renders_it_at_once(session: Session) -> None:
    """The batch queues its mail unrendered (`queued`, like a sweep's); the sender's render_queued makes it
    read as the single path's mail does, application for application."""
    from notifications.outbox import render_queued

    apps = [f.draft(session) for _ in range(2)]
    enterprises = [session.get(Enterprise, a.enterprise_id) for a in apps]
    applicants = [f.applicant(session, e) for e in enterprises]  # type: ignore[arg-type]
    officer = f.officer(session, "sh.qingpu")
    transition_many(session, [Decision(apps[0].id, "submit", applicants[0])], at=f.at("2025-07-05"))  # type: ignore[arg-type]
    assert session.scalars(select(OutboxMessage.status).distinct()).all() == ["queued"]
    transition(session, apps[1].id, "submit", actor=applicants[1], at=f.at("2025-07-05"))  # type: ignore[arg-type]
    assert render_queued(session.get_bind()) > 0

    def officers_copy(app: Application) -> OutboxMessage:
        query = select(OutboxMessage).where(col(OutboxMessage.application_id) == app.id,
                                            col(OutboxMessage.recipient) == officer.email)  # fmt: skip
        return session.scalars(query.execution_options(populate_existing=True)).one()

    batch, single = officers_copy(apps[0]), officers_copy(apps[1])
    assert batch.status == single.status == "pending"
    swaps = [(enterprises[1].name, enterprises[0].name), (apps[1].title, apps[0].title),  # type: ignore[union-attr]
             (f"编号 {apps[1].id}", f"编号 {apps[0].id}"), (f"Application {apps[1].id}", f"Application {apps[0].id}")]
    for part in ("subject", "body_text", "body_html"):
        expected = getattr(single, part)
        for theirs, ours in swaps:
            expected = expected.replace(theirs, ours)
        assert getattr(batch, part) == expected, part


def test_add_actors_is_idempotent(session: Session) -> None:
    officers = [{"name": f"{u} 审核员", "email": f"o.{u}@gov.example.cn", "role": "local_officer", "unit": u}
                for u in ("sh.qingpu", "sh.pudong")]  # fmt: skip
    assert add_actors(session, officers) == 2
    assert add_actors(session, officers) == 0
