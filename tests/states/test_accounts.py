"""Accounts through the service: who may grant what (the whole matrix), enterprise self-registration,
throttling and lock-out, session expiry and revocation, and hypothesis on sign-in and grant inputs."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlmodel import Session

from models.enums import Role
from models.errors import AccountLocked, InvalidInput, NotAuthenticated, NotAuthorised, NotFound, ReviewError
from models.tables import Account, AccountSession, AuditEvent
from states.accounts import (
    account_for_token,
    actor_for,
    authenticate,
    change_role,
    close_session,
    confirm_enterprise,
    deactivate,
    grant_account,
    in_scope,
    open_session,
    register_enterprise,
    reset_password,
    visible_units,
)
from tests import factories as f
from tests.states.accounts_helpers import NOW, PASSWORD, first_admin, grant

# ---- the grant matrix: granter (role@unit) × target role × target unit ---------------------------

GRANTERS = ["admin@miit", "admin@sh", "local_officer@sh", "local_officer@sh.qingpu", "ministry_officer@miit",
            "auditor@miit", "auditor@sh", "expert@sh"]  # fmt: skip
TARGET_ROLES = ["admin", "ministry_officer", "local_officer", "auditor", "expert", "system"]
TARGET_UNITS = ["miit", "sh", "sh.qingpu", "sh.pudong", "tj", "system"]
# The oracle, written out independently of the code: rank and scope by hand.
RANK = {"admin": 4, "system": 4, "ministry_officer": 3, "local_officer": 2, "auditor": 2, "expert": 1}
BELOW = {"miit": {"miit", "sh", "sh.qingpu", "sh.pudong", "tj", "system"}, "sh": {"sh", "sh.qingpu", "sh.pudong"},
         "sh.qingpu": {"sh.qingpu"}}  # fmt: skip
_JURISDICTIONS = {"sh", "sh.qingpu", "sh.pudong", "tj"}
ROLE_UNITS = {"ministry_officer": {"miit"}, "system": {"system"}, "local_officer": _JURISDICTIONS,
              "admin": _JURISDICTIONS | {"miit"}, "auditor": _JURISDICTIONS | {"miit"},
              "expert": _JURISDICTIONS | {"miit"}}  # fmt: skip


def expected_grant(granter: str, role: str, unit: str) -> str:
    """"ok", "input" (the role can't belong to that unit) or "refused"."""
    by_role, by_unit = granter.split("@")
    if unit not in ROLE_UNITS[role]:
        return "input"
    if by_role not in {"admin", "local_officer"} or RANK[role] > RANK[by_role]:
        return "refused"
    return "ok" if unit in BELOW[by_unit] else "refused"


def _granters(session: Session) -> dict[str, Account]:
    root = first_admin(session)
    accounts = {"admin@miit": root}
    for spec in GRANTERS[1:]:
        role, unit = spec.split("@")
        accounts[spec] = grant(session, root, role, unit)
    return accounts


def test_grant_matrix_every_granter_role_and_unit(session: Session) -> None:
    granters = _granters(session)
    cells = list(itertools.product(GRANTERS, TARGET_ROLES, TARGET_UNITS))
    for n, (granter, role, unit) in enumerate(cells):
        before = session.scalar(select(func.count()).select_from(Account))
        expected = expected_grant(granter, role, unit)
        email = f"t{n}@matrix.example.cn"
        try:
            grant(session, granters[granter], role, unit, email=email)
            got = "ok"
        except InvalidInput:
            got = "input"
        except NotAuthorised:
            got = "refused"
        assert got == expected, (granter, role, unit)
        after = session.scalar(select(func.count()).select_from(Account))
        assert after == before + (got == "ok"), (granter, role, unit)
    assert len(cells) == 288


def test_each_grant_is_an_audited_event_on_the_account_chain(session: Session) -> None:
    root = first_admin(session)
    officer = grant(session, root, "local_officer", "sh")
    events = session.scalars(select(AuditEvent).where(AuditEvent.subject == f"account:{officer.id}")).all()
    assert [e.event for e in events] == ["grant_account"]
    assert events[0].actor_role == "admin" and events[0].actor_unit == "miit"
    assert events[0].recorded_at is not None
    assert officer.password_hash.startswith("$argon2id$") and PASSWORD not in officer.password_hash


@pytest.mark.real_password_cost
def test_production_hashes_at_the_rfc_9106_low_memory_cost(session: Session) -> None:
    """The other tests hash at argon2's cheapest parameters; production stores Argon2id t=3, 64 MiB, p=4."""
    from states.passwords import verify_password

    officer = grant(session, first_admin(session), "local_officer", "sh")
    assert officer.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password(officer.password_hash, PASSWORD)
    assert not verify_password(officer.password_hash, PASSWORD + "x")


def test_the_first_administrator_is_created_once(session: Session) -> None:
    first_admin(session)
    with pytest.raises(NotAuthorised, match="first administrator exists"):
        first_admin(session, "second@miit.gov.cn")


def test_emails_are_unique_and_case_insensitive(session: Session) -> None:
    root = first_admin(session)
    grant(session, root, "local_officer", "sh", email="Officer@SH.gov.cn")
    assert authenticate(session, email="officer@sh.GOV.cn", password=PASSWORD, at=NOW).email == "officer@sh.gov.cn"
    with pytest.raises(InvalidInput, match="exists already"):
        grant(session, root, "local_officer", "sh.qingpu", email="OFFICER@sh.gov.cn")


# ---- role changes, deactivation, password resets: same scope rules -------------------------------


@pytest.mark.parametrize(
    ("by", "target", "new_role", "ok"),
    [
        ("admin@miit", "local_officer@sh.qingpu", "admin", (True, True, True)),
        ("local_officer@sh", "local_officer@sh.qingpu", "auditor", (True, True, True)),
        ("local_officer@sh", "local_officer@sh.qingpu", "admin", (False, True, True)),  # above its own role
        ("local_officer@sh.qingpu", "local_officer@sh", "auditor", (False, False, False)),  # a unit above it
        ("local_officer@sh.qingpu", "local_officer@sh.pudong", "expert", (False, False, False)),  # a sibling
        ("auditor@miit", "local_officer@sh.qingpu", "expert", (False, False, False)),  # read-only
    ],
)
def test_role_change_deactivation_and_reset_follow_the_scope(
    session: Session, by: str, target: str, new_role: str, ok: tuple[bool, bool, bool]
) -> None:
    root = first_admin(session)
    accounts = {"admin@miit": root}
    for spec in {by, target} - {"admin@miit"}:
        role, unit = spec.split("@")
        accounts[spec] = grant(session, root, role, unit)
    actor, subject = accounts[by], accounts[target]
    assert subject.id is not None
    calls = [
        lambda: change_role(session, by=actor, account_id=subject.id, role=new_role, at=NOW),
        lambda: reset_password(session, by=actor, account_id=subject.id, password="another long password", at=NOW),
        lambda: deactivate(session, by=actor, account_id=subject.id, reason="left the unit", at=NOW),
    ]
    for call, allowed in zip(calls, ok, strict=True):
        if allowed:
            call()
        else:
            with pytest.raises(NotAuthorised):
                call()
    chain = select(AuditEvent).where(AuditEvent.subject == f"account:{subject.id}")
    events = [e.event for e in session.scalars(chain)]
    done = [name for name, allowed in zip(("change_role", "reset_password", "deactivate"), ok, strict=True) if allowed]
    assert events == ["grant_account", *done]


def test_deactivation_ends_sessions_and_sign_in(session: Session) -> None:
    root = first_admin(session)
    officer = grant(session, root, "local_officer", "sh.qingpu")
    token = open_session(session, account=officer, kind="cli", at=NOW)
    assert officer.id is not None
    deactivate(session, by=root, account_id=officer.id, reason="left", at=NOW)
    with pytest.raises(NotAuthenticated, match="revoked"):
        account_for_token(session, token, at=NOW)
    with pytest.raises(NotAuthenticated, match="deactivated"):
        authenticate(session, email=officer.email, password=PASSWORD, at=NOW)


# ---- enterprises register themselves; their district confirms ------------------------------------


def _register(session: Session, code: str, district: str = "sh.qingpu") -> Account:
    return register_enterprise(session, email=f"{code.lower()}@ent.example.cn", password=PASSWORD,
                               display_name="张三", credit_code=code, name="青浦自注册制造有限公司",
                               district=district, contact_name="张三", contact_phone="13800000000", at=NOW)  # fmt: skip


def test_an_enterprise_registers_and_its_district_confirms(session: Session) -> None:
    root = first_admin(session)
    qingpu = grant(session, root, "local_officer", "sh.qingpu")
    pudong = grant(session, root, "local_officer", "sh.pudong")
    account = _register(session, f.credit_code_for("sh.qingpu"))
    assert account.id is not None and not account.confirmed
    with pytest.raises(NotAuthorised, match="confirm"):
        actor_for(account)  # can't submit before the district confirms
    with pytest.raises(NotAuthorised, match="outside its scope"):
        confirm_enterprise(session, by=pudong, account_id=account.id, approve=True, reason="", at=NOW)
    confirm_enterprise(session, by=qingpu, account_id=account.id, approve=True, reason="核实无误", at=NOW)
    actor = actor_for(account)
    assert (actor.role, actor.unit) == ("enterprise", account.unit)
    chain = select(AuditEvent).where(AuditEvent.subject == f"account:{account.id}")
    events = [e.event for e in session.scalars(chain)]
    assert events == ["register_enterprise_account", "confirm_enterprise_account"]


def test_a_rejected_registration_needs_a_reason_and_cannot_act(session: Session) -> None:
    root = first_admin(session)
    qingpu = grant(session, root, "local_officer", "sh.qingpu")
    account = _register(session, f.credit_code_for("sh.qingpu"))
    assert account.id is not None
    with pytest.raises(InvalidInput, match="why"):
        confirm_enterprise(session, by=qingpu, account_id=account.id, approve=False, reason=" ", at=NOW)
    confirm_enterprise(session, by=qingpu, account_id=account.id, approve=False, reason="信用代码与名称不符", at=NOW)
    with pytest.raises(NotAuthenticated):
        authenticate(session, email=account.email, password=PASSWORD, at=NOW)


def test_an_officer_may_grant_an_enterprise_account_only_in_its_scope(session: Session) -> None:
    root = first_admin(session)
    qingpu = grant(session, root, "local_officer", "sh.qingpu")
    pudong = grant(session, root, "local_officer", "sh.pudong")
    ent = f.enterprise(session, "sh.qingpu")
    with pytest.raises(NotAuthorised, match="outside its scope"):
        grant(session, pudong, "enterprise", "", enterprise_credit_code=ent.credit_code)
    account = grant(session, qingpu, "enterprise", "", enterprise_credit_code=ent.credit_code)
    assert account.unit == ent.credit_code and account.enterprise_id == ent.id and account.confirmed


# ---- scope ---------------------------------------------------------------------------------------


def test_scope_is_the_unit_and_everything_below(session: Session) -> None:
    root = first_admin(session)
    sh, qingpu = grant(session, root, "auditor", "sh"), grant(session, root, "local_officer", "sh.qingpu")
    assert visible_units(session, root) is None and in_scope(root, "tj")
    units = visible_units(session, sh)
    assert units is not None and {"sh", "sh.qingpu", "sh.pudong"} <= units and "tj" not in units
    assert in_scope(qingpu, "sh.qingpu") and not in_scope(qingpu, "sh") and not in_scope(qingpu, "sh.pudong")


def test_an_auditor_reads_but_the_door_refuses_every_event(session: Session) -> None:
    from states.lifecycle import State
    from states.service import transition

    root = first_admin(session)
    auditor = grant(session, root, "auditor", "miit")
    app = f.application(session, State.SUBMITTED)
    assert app.id is not None
    for event in ("recommend", "return_for_revision", "reject", "withdraw"):
        with pytest.raises(NotAuthorised):
            transition(session, app.id, event, actor=actor_for(auditor), at=NOW, reason="x")
    assert session.get(type(app), app.id).state == State.SUBMITTED  # type: ignore[union-attr]


# ---- sign-in: throttling, expiry, revocation -----------------------------------------------------


def test_five_failures_lock_for_fifteen_minutes_and_each_is_audited(session: Session) -> None:
    root = first_admin(session)
    officer = grant(session, root, "local_officer", "sh")
    for _ in range(5):
        with pytest.raises(NotAuthenticated):
            authenticate(session, email=officer.email, password="wrong password!", at=NOW)
    with pytest.raises(AccountLocked):
        authenticate(session, email=officer.email, password=PASSWORD, at=NOW + timedelta(minutes=14))
    later = NOW + timedelta(minutes=16)
    assert authenticate(session, email=officer.email, password=PASSWORD, at=later).id == officer.id
    events = [e.event for e in session.scalars(
        select(AuditEvent).where(AuditEvent.subject == f"account:{officer.id}").order_by(AuditEvent.seq))]  # fmt: skip
    assert events.count("sign_in_failed") == 6 and events.count("account_locked") == 1


def test_an_unknown_email_is_audited_without_an_account(session: Session) -> None:
    with pytest.raises(NotAuthenticated, match="unknown e-mail or wrong password"):
        authenticate(session, email="nobody@nowhere.example.cn", password=PASSWORD, at=NOW)
    event = session.scalars(select(AuditEvent).where(AuditEvent.subject == "security:sign-in")).one()
    assert event.event == "sign_in_failed" and event.data["email"] == "nobody@nowhere.example.cn"


def test_tokens_expire_are_revoked_and_are_stored_hashed(session: Session) -> None:
    root = first_admin(session)
    token = open_session(session, account=root, kind="cli", at=NOW, ttl=timedelta(hours=12))
    assert session.scalars(select(AccountSession).where(AccountSession.token_sha256 == token)).first() is None
    assert account_for_token(session, token, at=NOW + timedelta(hours=11)).id == root.id
    with pytest.raises(NotAuthenticated, match="expired"):
        account_for_token(session, token, at=NOW + timedelta(hours=12, seconds=1))
    second = open_session(session, account=root, kind="cli", at=NOW)
    close_session(session, second, at=NOW)
    with pytest.raises(NotAuthenticated, match="revoked"):
        account_for_token(session, second, at=NOW)
    with pytest.raises(NotAuthenticated, match="unknown"):
        account_for_token(session, "x" * 43, at=NOW)


def test_a_password_reset_ends_every_session_and_lifts_a_lock(session: Session) -> None:
    root = first_admin(session)
    officer = grant(session, root, "local_officer", "sh")
    token = open_session(session, account=officer, kind="cli", at=NOW)
    for _ in range(5):
        with pytest.raises(NotAuthenticated):
            authenticate(session, email=officer.email, password="wrong password!", at=NOW)
    assert officer.id is not None
    reset_password(session, by=root, account_id=officer.id, password="a brand new password", at=NOW)
    with pytest.raises(NotAuthenticated, match="revoked"):
        account_for_token(session, token, at=NOW)
    assert authenticate(session, email=officer.email, password="a brand new password", at=NOW).id == officer.id


def test_service_accounts_cannot_sign_in_with_a_password(session: Session) -> None:
    from states.accounts import issue_service_token

    root = first_admin(session)
    service = grant_account(session, by=root, email="svc.qingpu@deploy.example.cn", password=None,
                            role="local_officer", unit="sh.qingpu", at=NOW, service=True)  # fmt: skip
    assert service.id is not None
    token = issue_service_token(session, by=root, account_id=service.id, ttl=timedelta(days=30), at=NOW)
    assert account_for_token(session, token, at=NOW + timedelta(days=29)).id == service.id
    with pytest.raises(NotAuthenticated):
        authenticate(session, email=service.email, password=PASSWORD, at=NOW)


# ---- hypothesis: sign-in and grant inputs --------------------------------------------------------

_text = st.text(min_size=0, max_size=80)


@given(email=st.one_of(_text, st.emails()), password=_text)
def test_any_sign_in_input_is_refused_with_a_typed_error(session: Session, email: str, password: str) -> None:
    if not session.scalars(select(Account)).first():
        first_admin(session)
    accounts_before = session.scalars(select(Account.email, Account.role, Account.unit)).all()
    with pytest.raises(NotAuthenticated):
        authenticate(session, email=email, password=password, at=NOW)
    assert session.scalars(select(Account.email, Account.role, Account.unit)).all() == accounts_before


@given(email=st.one_of(_text, st.emails()), role=st.one_of(st.sampled_from([r.value for r in Role]), _text),
       unit=st.one_of(st.sampled_from([*TARGET_UNITS, "91310118MA1EXA001D", "*", ""]), _text))  # fmt: skip
def test_any_grant_input_is_granted_in_scope_or_refused_with_a_typed_error(
    session: Session, email: str, role: str, unit: str
) -> None:
    root = session.scalars(select(Account).where(Account.role == "admin", Account.unit == "miit")).first()
    root = root or first_admin(session)
    qingpu = session.scalars(select(Account).where(Account.unit == "sh.qingpu")).first()
    qingpu = qingpu or grant(session, root, "local_officer", "sh.qingpu", email="qp.granter@gov.example.cn")
    before = session.scalar(select(func.count()).select_from(Account))
    try:
        account = grant_account(session, by=qingpu, email=email, password=PASSWORD, role=role, unit=unit, at=NOW)
    except (InvalidInput, NotAuthorised, NotFound):
        assert session.scalar(select(func.count()).select_from(Account)) == before
        return
    except ReviewError as error:  # pragma: no cover - any other refusal type is a finding
        pytest.fail(f"unexpected {type(error).__name__}: {error}")
    assert account.unit == "sh.qingpu" and account.role in {"local_officer", "auditor", "expert"}
