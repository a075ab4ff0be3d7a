"""Security: the authorisation matrix on both databases, no acting for another unit, secrets never printed
or logged, personal data masked in logs."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from models.enums import Role
from models.errors import NotAuthorised, ReviewError
from models.masking import MaskingFilter, install_log_masking, mask_email, mask_phone, mask_text
from models.tables import Actor, Application, AuditEvent, Enterprise, OutboxMessage
from states.lifecycle import NATIONAL, State, Who
from states.service import transition
from tests import factories as f
from tests.reliability.figures import FIGURES

# ---- the authorisation matrix: event × source state × actor -------------------------------------

ACTOR_KINDS = (
    "applicant",
    "other_enterprise",
    "holder_officer",
    "other_district_officer",
    "province_officer",
    "ministry",
    "system",
    "admin",
)
# Cells allowed by role and unit whose guard can never pass from that state (recorded, not a success).
# Allowed cells whose guard always refuses in the matrix's set-up (none since `expire` left cultivation_object).
GUARD_BLOCKED: dict[tuple[str, State], str] = {}
PREPARE: dict[tuple[str, State], tuple[str, ...]] = {
    ("dismiss_objection", State.PUBLIC_NOTICE): ("raise_objection",),
    ("uphold_objection", State.PUBLIC_NOTICE): ("raise_objection",),
}


def _cells() -> list[tuple[str, State]]:
    seen: dict[tuple[str, State], None] = {}
    for step in NATIONAL:
        for source in step.sources:
            seen.setdefault((step.event, source), None)
    return list(seen)


def _state_for(event: str, source: State) -> State:
    return source


def _actors(session: Session, app: Application, other: Enterprise) -> dict[str, Actor]:
    ent = session.get(Enterprise, app.enterprise_id)
    assert ent is not None
    holder = app.chain[app.review_level] if 0 <= app.review_level < len(app.chain) else app.chain[-1]
    return {
        "applicant": f.applicant(session, ent),
        "other_enterprise": f.applicant(session, other),
        "holder_officer": f.officer(session, holder),
        "other_district_officer": f.officer(session, "sh.pudong"),
        "province_officer": f.officer(session, app.chain[-1]),
        "ministry": f.ministry(session),
        "system": f.system(),
        "admin": f.admin(session, "sh"),
    }


def _expected(event: str, source: State, actor: Actor, app: Application, ent: Enterprise) -> bool:
    """The matrix as the design card states it, independent of states.authz."""
    holder = app.chain[app.review_level] if 0 <= app.review_level < len(app.chain) else None
    for step in NATIONAL:
        if step.event != event or source not in step.sources:
            continue
        for who in step.who:
            if who == Who.APPLICANT and (actor.role, actor.unit) == (Role.ENTERPRISE, ent.credit_code):
                return True
            if who == Who.HOLDER and (actor.role, actor.unit) == (Role.LOCAL_OFFICER, holder):
                return True
            if who == Who.RECOMMENDER and (actor.role, actor.unit) == (Role.LOCAL_OFFICER, app.chain[-1]):
                return True
            if who == Who.MINISTRY and (actor.role, actor.unit) == (Role.MINISTRY_OFFICER, "miit"):
                return True
            if who == Who.SYSTEM and (actor.role, actor.unit) == (Role.SYSTEM, "system"):
                return True
    return False


def _row_and_counts(session: Session, app_id: int) -> tuple[Any, ...]:
    session.expire_all()
    app = session.get(Application, app_id)
    assert app is not None
    return (
        app.model_dump(),
        session.scalar(select(func.count()).select_from(AuditEvent)),
        session.scalar(select(func.count()).select_from(OutboxMessage)),
    )


def _prepared(session: Session, event: str, source: State) -> Application:
    app = f.application(session, source)
    for prep in PREPARE.get((event, source), ()):
        f.fire(session, app.id, prep)
    if event == "recommend":
        f.rank(session, app)
    fresh = session.get(Application, app.id, populate_existing=True)
    assert fresh is not None
    return fresh


def test_authorisation_matrix_only_allowed_cells_succeed(session: Session, backend: str) -> None:
    other = f.enterprise(session, "sh.pudong")
    tried = allowed_ok = refused_ok = blocked = 0
    for event, source in _cells():
        app = _prepared(session, event, source)
        ent = session.get(Enterprise, app.enterprise_id)
        assert ent is not None
        actors = _actors(session, app, other)
        allowed_kinds = [k for k in ACTOR_KINDS if _expected(event, source, actors[k], app, ent)]
        assert allowed_kinds, (event, source)
        for kind in ACTOR_KINDS:
            if kind in allowed_kinds:
                continue
            before = _row_and_counts(session, app.id)
            with pytest.raises(NotAuthorised):
                f.fire(session, app.id, event, actor=actors[kind])
            assert _row_and_counts(session, app.id) == before, (event, source, kind)
            tried += 1
            refused_ok += 1
        for n, kind in enumerate(allowed_kinds):
            target = app if n == 0 else _prepared(session, event, source)
            actor = actors[kind] if n == 0 else _actors(session, target, other)[kind]
            tried += 1
            if (event, source) in GUARD_BLOCKED:
                with pytest.raises(ReviewError) as caught:
                    f.fire(session, target.id, event, actor=actor)
                assert not isinstance(caught.value, NotAuthorised)
                blocked += 1
                continue
            result = f.fire(session, target.id, event, actor=actor)
            assert result.from_state == source, (event, source, kind)
            allowed_ok += 1
    FIGURES.record(
        f"security [{backend}]",
        f"authorisation matrix: {len(_cells())} (event, state) cells × {len(ACTOR_KINDS)} actors = {tried} attempts; "
        f"{allowed_ok} allowed succeeded, {refused_ok} refused with NotAuthorised (database unchanged), "
        f"{blocked} allowed but guard-blocked" + (f" {sorted(GUARD_BLOCKED)}" if GUARD_BLOCKED else ""),
    )


def test_an_actor_cannot_act_for_another_unit(session: Session) -> None:
    """A district officer can't decide another district's application, an enterprise can't act for
    another, and an admin can't step into a local officer's decision."""
    app = f.application(session, State.SUBMITTED)
    f.rank(session, app)
    other_ent = f.enterprise(session, "sh.pudong")
    pudong = f.officer(session, "sh.pudong")
    for actor, event in [
        (pudong, "recommend"),
        (pudong, "reject"),
        (f.applicant(session, other_ent), "withdraw"),
        (f.admin(session, "sh.qingpu"), "recommend"),
        # same unit code, wrong role: an enterprise actor registered under the district's code
        (Actor(name="spoof", email="", role=Role.ENTERPRISE, unit="sh.qingpu"), "recommend"),
        (Actor(name="spoof", email="", role=Role.LOCAL_OFFICER, unit="sh.qingpu.fake"), "recommend"),
    ]:
        with pytest.raises(NotAuthorised):
            transition(session, app.id, event, actor=actor, at=f.EVENT_AT[event], reason="越权")
    session.expire_all()
    assert session.get(Application, app.id).state == State.SUBMITTED  # type: ignore[union-attr]


def test_cli_refuses_acting_for_another_unit(app_db: str, session: Session) -> None:
    from typer.testing import CliRunner

    from cli.main import app as cli_app

    application = f.application(session, State.SUBMITTED)
    f.rank(session, application)
    f.officer(session, "sh.pudong")
    app_id = application.id
    session.rollback()  # end the read (SQLite: an open transaction holds the write lock); no lazy loads after
    runner = CliRunner()
    for spec in ["local_officer@sh.pudong", "local_officer@sh.nowhere", "ministry_officer@miit", "admin@sh"]:
        result = runner.invoke(cli_app, ["act", str(app_id), "recommend", "--as", spec])
        assert isinstance(result.exception, NotAuthorised), (spec, result.exception, result.output)
    assert session.get(Application, app_id).state == State.SUBMITTED  # type: ignore[union-attr]
    session.rollback()


# ---- secrets ------------------------------------------------------------------------------------

SMTP_PASSWORD = "smtp-S3cret-pa55"
AUDIT_KEY = "audit-HMAC-k3y-0042"


@pytest.fixture
def secrets_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from models.settings import get_settings

    monkeypatch.setenv("FACTORY_REVIEW_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("FACTORY_REVIEW_SMTP_USER", "mailer")
    monkeypatch.setenv("FACTORY_REVIEW_AUDIT_KEY", AUDIT_KEY)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_settings_never_show_the_secrets(secrets_in_env: None) -> None:
    from models.settings import get_settings

    settings = get_settings()
    assert settings.smtp_password is not None and settings.smtp_password.get_secret_value() == SMTP_PASSWORD
    for shown in (repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump())):
        assert SMTP_PASSWORD not in shown and AUDIT_KEY not in shown


def test_cli_output_never_shows_the_secrets(secrets_in_env: None, app_db: str, session: Session) -> None:
    from typer.testing import CliRunner

    from cli.main import app as cli_app
    from models.settings import get_settings

    get_settings.cache_clear()
    app_id = f.application(session, State.SUBMITTED).id
    # End the read and touch no ORM attribute afterwards: on SQLite any lazy load starts BEGIN IMMEDIATE
    # and holds the write lock the CLI process-alike needs.
    session.rollback()
    runner = CliRunner()
    outputs = []
    for args in (
        ["--help"],
        ["init"],
        ["audit", "verify"],
        ["--json", "audit", "verify"],
        ["show", str(app_id)],
        ["--json", "show", str(app_id)],
        ["history", str(app_id), "--json"],
        ["act", str(app_id), "recommend", "--as", "local_officer@sh.pudong"],
        ["act", "999999", "recommend", "--as", "system@system"],
    ):
        result = runner.invoke(cli_app, args)
        outputs.append(result.output + (str(result.exception) if result.exception else ""))
    joined = "\n".join(outputs)
    assert "audit ok" in joined
    assert SMTP_PASSWORD not in joined and AUDIT_KEY not in joined


def test_logs_never_show_the_secrets(secrets_in_env: None) -> None:
    stream = io.StringIO()
    logger = logging.getLogger("factory_review.test.secrets")
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("smtp login with %s failed", SMTP_PASSWORD)
        logger.warning(f"key is {AUDIT_KEY}")
    finally:
        logger.removeHandler(handler)
    assert SMTP_PASSWORD not in stream.getvalue() and AUDIT_KEY not in stream.getvalue()
    assert stream.getvalue().count("********") == 2


def test_database_password_not_in_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    from models.settings import Settings

    monkeypatch.setenv("DATABASE_URL", "postgresql://review:db-Pa55word@db.example/review")
    assert "db-Pa55word" not in repr(Settings())


# ---- personal data masked in logs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("zhang.san@example.cn", "z***@e***.cn"),
        ("contact12@enterprise.example.cn", "c***@e***.cn"),
        ("13812345678", "138****5678"),
        ("+86 138 1234 5678", "138****5678"),
    ],
)
def test_mask_helpers(raw: str, masked: str) -> None:
    assert (mask_email(raw) if "@" in raw else mask_phone(raw)) == masked


def test_personal_data_masked_in_logs() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        install_log_masking(root)
        log = logging.getLogger("notifications.sender")
        log.info("mail to %s <%s>, phone %s", "张三", "zhang.san@example.cn", "13812345678")
        log.info("contact: li.si@qq.com / 021-64881234 / 0086-13900001111")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for flt in [x for x in root.filters if isinstance(x, MaskingFilter)]:
            root.removeFilter(flt)
    text = stream.getvalue()
    for leaked in ("zhang.san@example.cn", "13812345678", "li.si@qq.com", "64881234", "13900001111"):
        assert leaked not in text, text
    assert "z***@e***.cn" in text and "138****5678" in text
    assert mask_text("no personal data here: application 12, 2025-07-18") == (
        "no personal data here: application 12, 2025-07-18"
    )
