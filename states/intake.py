"""Records that precede the lifecycle: enterprises, actors, draft applications and their content.

Content may change only while an application is a draft or returned for revision: submission freezes it
(its SHA-256 is recorded), so the paper copy can be checked against the online one (251 §2(二)3).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from pydantic import ValidationError, create_model
from sqlalchemy import select
from sqlmodel import Session, col

from models.clock import ensure_aware, to_utc
from models.credit_code import CreditCodeError, validate_credit_code
from models.database import must_get, unit_of_work
from models.enums import MINISTRY_UNIT, SYSTEM_UNIT, Role, Tier, Track
from models.errors import InvalidInput, NotAuthorised, NotFound, TransitionRefused
from models.limits import MAX_SHORT_TEXT, check_text, check_tree
from models.tables import Actor, Application, Enterprise, jurisdiction_of
from states.audit import append_event, content_digest
from states.audit_facts import json_diff
from states.lifecycle import State

if TYPE_CHECKING:
    from programmes.season import Season

EDITABLE = frozenset({State.DRAFT, State.RETURNED})
SYSTEM_ACTOR = Actor(name="scheduler", email="", role=Role.SYSTEM, unit=SYSTEM_UNIT)

_ENTERPRISE_FIELDS = {
    "credit_code",
    "name",
    "province",
    "city",
    "district",
    "industry",
    "is_branch",
    "above_designated_size",
    "clean_record_3y",
    "security_controllable",
    "has_smart_factory_org",
    "demonstration_unit",
    "soe_group",
    "tax_district",
    "recognitions",
    "contact_name",
    "contact_email",
    "contact_phone",
}


# The table's fields as a plain pydantic model: the same types and limits, validated without building an
# ORM-instrumented object (20× faster; the bulk path validates hundreds of thousands).
_EnterpriseInput = create_model(
    "EnterpriseInput", **{n: (f.annotation, copy.copy(f)) for n, f in Enterprise.model_fields.items() if n != "id"}
)  # type: ignore[call-overload]


def _pydantic_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "input"
    return f"{where}: {first.get('msg', 'invalid')}"


def parse_actor(spec: str) -> tuple[Role, str]:
    """`ROLE@UNIT` → (Role, unit); e.g. `local_officer@sh.qingpu`, `enterprise@91310118…`."""
    if "@" not in spec:
        raise InvalidInput(f"actor must be ROLE@UNIT, got {spec!r}", rule="actor-spec")
    role_text, unit = spec.split("@", 1)
    try:
        role = Role(role_text.strip())
    except ValueError:
        raise InvalidInput(
            f"unknown role {role_text!r}; one of {', '.join(r.value for r in Role)}", rule="actor-spec"
        ) from None
    if not unit.strip():
        raise InvalidInput("actor unit is empty", rule="actor-spec")
    return role, unit.strip()


def resolve_actor(session: Session, spec: str) -> Actor:
    """Find the actor for ROLE@UNIT. The scheduler is built in; everyone else must be registered."""
    role, unit = parse_actor(spec)
    if role == Role.SYSTEM:
        return SYSTEM_ACTOR
    actor = session.scalars(
        select(Actor).where(col(Actor.role) == role, col(Actor.unit) == unit).order_by(col(Actor.id))
    ).first()
    if actor is None:
        raise NotAuthorised(
            f"no actor registered as {role}@{unit}; add one with `factory-review actor add`", rule="unknown-actor"
        )
    return actor


def new_actor(*, name: str, email: str, role: Role | str, unit: str) -> Actor:
    """An actor checked (a known role, text within the limits, its address normalised, ministry officers in
    the ministry's unit), not yet in the session. `add_actor` and `states.bulk.add_actors` build it so."""
    role = Role(role)
    name, unit = (
        check_text("actor.name", name, max_length=MAX_SHORT_TEXT),
        check_text("actor.unit", unit, max_length=80),
    )
    email = _actor_email(email)
    if role == Role.MINISTRY_OFFICER and unit != MINISTRY_UNIT:
        raise InvalidInput(f"ministry officers belong to unit '{MINISTRY_UNIT}'", rule="actor-unit")
    return Actor(name=name, email=email, role=role, unit=unit)


def add_actor(session: Session, *, name: str, email: str, role: Role | str, unit: str) -> Actor:
    """Register (or return the existing) actor; commits. Idempotent on (role, unit, email)."""
    actor = new_actor(name=name, email=email, role=role, unit=unit)
    existing = session.scalars(
        select(Actor).where(col(Actor.role) == actor.role, col(Actor.unit) == actor.unit,
                            col(Actor.email) == actor.email)
    ).first()  # fmt: skip
    if existing:
        return existing
    session.add(actor)
    session.commit()
    return actor


def _actor_email(email: str) -> str:
    """An actor's address, stored normalised (IDNA domain); empty means no mail."""
    from notifications.addresses import BadAddress, normalise_address

    if not email:
        return ""
    try:
        return normalise_address(email)
    except BadAddress as exc:
        raise InvalidInput(f"actor email: {exc}", rule="email-address", source="RFC 5321/5322 mail address") from None


def add_enterprise(session: Session, *, data: dict[str, Any], actor: Actor, at: datetime) -> Enterprise:
    """Register an enterprise (credit code validated) and its enterprise actor; audited; commits.

    Re-adding the same credit code with the same data is a no-op (idempotent re-runs).
    Many at once: `states.bulk.register_enterprises` (one transaction per batch)."""
    at = ensure_aware(at)
    row = validated_enterprise(data, at)
    code = row["credit_code"]
    existing = session.scalars(select(Enterprise).where(col(Enterprise.credit_code) == code)).first()
    if existing is not None:
        return existing
    enterprise = Enterprise(**row)
    with unit_of_work(session):
        session.add(enterprise)
        session.flush()
        if enterprise.contact_email:
            session.add(Actor(name=enterprise.name, email=enterprise.contact_email, role=Role.ENTERPRISE, unit=code))
        append_event(
            session,
            subject=f"enterprise:{code}",
            actor=actor,
            event="register_enterprise",
            at=at,
            data=registration_event(row),
            record=enterprise,
        )
    return enterprise


def validated_enterprise(data: Any, at: datetime, *, season: Season | None = None) -> dict[str, Any]:
    """The enterprise row a registration describes: `check_enterprise`, then the table's types and limits
    (the single and the bulk path build it so; a bulk batch passes the current `season` it loaded once)."""
    checked = check_enterprise(data, season=season)
    try:
        row: dict[str, Any] = _EnterpriseInput.model_validate({**checked, "created_at": to_utc(at)}).model_dump()
        return row
    except ValidationError as exc:
        raise InvalidInput(_pydantic_message(exc), rule="enterprise-schema") from None


def registration_event(enterprise: dict[str, Any]) -> dict[str, Any]:
    """The audit data of an enterprise's registration (the single and the bulk path write the same)."""
    return {"name": enterprise["name"], "jurisdiction": jurisdiction_of(**enterprise)}


def check_enterprise(data: Any, *, season: Season | None = None) -> dict[str, Any]:
    """Every check an enterprise passes before anything is written; returns the data to store (credit code
    and contact address normalised). A file door calls it for every item first, so a bad item writes none.
    `season`: the current season, if the caller has it loaded already."""
    if not isinstance(data, dict):
        raise InvalidInput("each enterprise must be a mapping", rule="enterprise-schema")
    check_tree(data, field="enterprise")  # text length, control characters (NUL: PostgreSQL), depth, lists
    unknown = set(data) - _ENTERPRISE_FIELDS
    if unknown:
        raise InvalidInput(f"unknown enterprise field(s): {', '.join(sorted(unknown))}", rule="enterprise-schema")
    try:
        code = validate_credit_code(str(data.get("credit_code", "")))
    except CreditCodeError as exc:
        raise InvalidInput(str(exc), rule="credit-code", source="GB 32100-2015") from None
    for required in ("name", "province", "industry"):
        if not str(data.get(required) or "").strip():
            raise InvalidInput(f"enterprise {required} is required", rule="enterprise-schema")
    for short in ("name", "contact_name", "contact_phone", "contact_email", "industry", "tax_district"):
        if isinstance(data.get(short), str):
            check_text(f"enterprise.{short}", data[short], max_length=MAX_SHORT_TEXT)
    checked = {**data, "credit_code": code, **_check_text(data)}
    _check_units(checked, season)
    return checked


def _check_text(data: dict[str, Any]) -> dict[str, Any]:
    """Contacts become mail headers, so no line breaks; the address is stored normalised (IDNA domain)."""
    from notifications.addresses import BadAddress, normalise_address, validate_name

    out: dict[str, Any] = {}
    try:
        if data.get("contact_email") not in (None, ""):
            out["contact_email"] = normalise_address(str(data["contact_email"]))
        validate_name(str(data.get("contact_name") or ""))
        validate_name(str(data.get("name") or ""))
    except BadAddress as exc:
        raise InvalidInput(
            f"enterprise contact: {exc}", rule="header-injection", source="a mail header holds one line (RFC 5322)"
        ) from None
    return out


def _check_units(data: dict[str, Any], season: Season | None = None) -> None:
    """Province/city/district must be units of the season data (the chain is computed from them)."""
    from programmes.season import get_season

    season = season or get_season()
    for key in ("province", "city", "district"):
        value = data.get(key)
        if value:
            try:
                season.unit(str(value))
            except Exception:
                raise InvalidInput(
                    f"enterprise {key} {value!r} is not a unit of season {season.name}", rule="jurisdiction"
                ) from None
    group = data.get("soe_group")
    if group and (not season.has_unit(str(group)) or season.unit(str(group)).level != "soe"):
        raise InvalidInput(
            f"enterprise soe_group {group!r} is not a central-enterprise group of season {season.name}",
            rule="jurisdiction",
            source="430 §1(二)3 (各在沪央企通过中央企业集团总部进行申报项目推荐)",
        )


def _track_and_tier(track: str, tier: str, season: str) -> Track:
    """A known track, and a tier of it (a district call's kinds come from the season)."""
    from programmes.season import get_season

    try:
        track_value = Track(track)
        if track_value != Track.DISTRICT:
            Tier(tier)
        elif tier not in get_season(season).designation_kinds:
            raise ValueError(f"{tier!r} is not a kind of a district call of season {season}")
    except ValueError as exc:
        raise InvalidInput(str(exc), rule="application-schema") from None
    return track_value


def _applicant(session: Session, enterprise_code: str, actor: Actor) -> Enterprise:
    """The registered enterprise a draft is for, if the actor may create one for it (itself, or an admin)."""
    try:
        code = validate_credit_code(enterprise_code)
    except CreditCodeError as exc:
        raise InvalidInput(str(exc), rule="credit-code", source="GB 32100-2015") from None
    enterprise = session.scalars(select(Enterprise).where(col(Enterprise.credit_code) == code)).first()
    if enterprise is None:
        raise NotFound(f"enterprise {code} is not registered; `factory-review enterprise add` first")
    _may_apply_for(actor, code)
    return enterprise


def _may_apply_for(actor: Actor, code: str) -> None:
    """A draft is created by its applicant itself, an admin or the scheduler."""
    if not (actor.role == Role.ENTERPRISE and actor.unit == code) and actor.role not in {Role.ADMIN, Role.SYSTEM}:
        raise NotAuthorised(f"{actor.role}@{actor.unit} may not create an application for {code}", rule="authorisation")


@dataclass
class Draft:
    """One draft to create: what `create_application` takes (`states.bulk.create_drafts`: many)."""

    enterprise_code: str
    tier: str
    track: str
    season: str
    title: str
    content: dict[str, Any]
    pledge: dict[str, Any] | None
    actor: Actor


def create_application(
    session: Session,
    *,
    enterprise_code: str,
    tier: str,
    track: str,
    season: str,
    title: str,
    content: dict[str, Any],
    pledge: dict[str, Any] | None,
    actor: Actor,
    at: datetime,
) -> Application:
    """Create a draft with its recommendation chain from the season data; audited; commits.

    Many at once: `states.bulk.create_drafts` (one transaction per batch)."""
    at = ensure_aware(at)
    _track_and_tier(track, tier, season)
    enterprise = _applicant(session, enterprise_code, actor)
    draft = Draft(enterprise_code=enterprise_code, tier=tier, track=track, season=season, title=title,
                  content=content, pledge=pledge, actor=actor)  # fmt: skip
    row = new_draft(enterprise, draft, at=at)
    refuse_second_application(enterprise, live_application(session, row), tier=tier, track=row["track"],
                              season=season)  # fmt: skip
    application = Application(**row)
    with unit_of_work(session):
        session.add(application)
        session.flush()
        assert application.id is not None
        append_event(session, **creation_event(application.id, row, actor=actor, at=at))
    return application


def new_draft(enterprise: Enterprise, draft: Draft, *, at: datetime, rulebook: Season | None = None) -> dict[str, Any]:
    """The row of `draft` for its registered `enterprise`: tier and track checked, the actor authorised (the
    applicant itself, an admin or the scheduler), the chain from the season data (`rulebook`: the draft's
    season, if the caller has it loaded already). The caller refuses a second live application
    (`refuse_second_application`)."""
    from programmes.season import get_season

    track_value = _track_and_tier(draft.track, draft.tier, draft.season)
    _may_apply_for(draft.actor, enterprise.credit_code)
    rulebook = rulebook or get_season(draft.season)
    chain = rulebook.chain_for(enterprise, track_value, draft.tier)
    now = to_utc(ensure_aware(at))
    assert enterprise.id is not None
    return {
        "enterprise_id": enterprise.id,
        "tier": draft.tier,
        "track": track_value,
        "season": draft.season,
        "state": State.DRAFT,
        "title": draft.title,
        "content": draft.content,
        "pledge": draft.pledge or {},
        "chain": chain,
        "review_level": 0,
        "rulebook_sha256": rulebook.sha256,  # the rulebook it is judged by (issue #11 §6)
        "created_at": now,
        "updated_at": now,
    }


def creation_event(application_id: int, row: dict[str, Any], *, actor: Actor, at: datetime,
                   content_sha256: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The `create` event of the draft `row`, the first of its chain (the single and the bulk path write the same).
    `content_sha256`: the content's digest if the caller took it already (`states.bulk`, from the row's snapshot)."""
    digest = content_sha256 or content_digest(row["content"])
    data = {"tier": row["tier"], "track": row["track"], "chain": row["chain"],
            "content_sha256": digest, "rulebook_sha256": row["rulebook_sha256"]}  # fmt: skip
    return {"subject": f"application:{application_id}", "application_id": application_id, "actor": actor,
            "event": "create", "at": at, "to_state": State.DRAFT, "data": data}  # fmt: skip


def application_slot(row: dict[str, Any]) -> tuple[Any, ...]:
    """What may hold one live application: enterprise, track, season and tier; on a district call the
    enterprise chooses one direction, whatever the kind (QP §1 "选择其中一个方向进行申报")."""
    track = Track(row["track"])
    return (row["enterprise_id"], track.value, row["season"], None if track == Track.DISTRICT else row["tier"])


def live_applications(session: Session, enterprise_ids: Any, seasons: Any) -> dict[tuple[Any, ...], Application]:
    """The first live application (not withdrawn or rejected) of each slot of these enterprises and seasons."""
    rows = session.scalars(
        select(Application).where(
            col(Application.enterprise_id).in_(list(enterprise_ids)),
            col(Application.season).in_(list(seasons)),
            col(Application.state).not_in([State.WITHDRAWN.value, State.REJECTED.value]),
        ).order_by(col(Application.id))
    )  # fmt: skip
    found: dict[tuple[Any, ...], Application] = {}
    for application in rows:
        found.setdefault(application_slot(application.model_dump()), application)
    return found


def live_application(session: Session, row: dict[str, Any]) -> Application | None:
    """The live application already holding a new draft's slot, if any."""
    return live_applications(session, [row["enterprise_id"]], [row["season"]]).get(application_slot(row))


def refuse_second_application(enterprise: Enterprise, existing: Any, *, tier: str, track: Track | str,
                              season: str) -> None:  # fmt: skip
    """One live application per enterprise, tier and season; on the Qingpu call one per enterprise, whatever
    the kind (QP §1 "选择其中一个方向进行申报"). Withdrawn and rejected ones don't count. `existing` is the
    live one holding the slot (`live_application`), or None."""
    if existing is None:
        return
    if Track(track) == Track.DISTRICT:
        raise TransitionRefused(
            f"{enterprise.name} already applied on this call as {existing.tier} (application {existing.id}, "
            f"{existing.state}); an enterprise chooses one direction — withdraw it first to change",
            rule="one-direction",
            source="QP §1 (选择其中一个方向进行申报)",
            existing=existing.id,
        )
    raise TransitionRefused(
        f"{enterprise.name} already has a {tier} application for season {season}: application {existing.id} "
        f"({existing.state}); edit that one (`application edit {existing.id} FILE`) or withdraw it first",
        rule="one-application",
        source="one application is one project counted against the quota (251 §2(二)2, §3(二)2)",
        existing=existing.id,
    )


class ContentEdit(TypedDict):
    """An applicant's new content: the content, the pledge (None: unchanged), who edits and when."""

    content: dict[str, Any]
    pledge: dict[str, Any] | None
    actor: Actor
    at: datetime


def update_content(session: Session, application_id: int, **edit: Unpack[ContentEdit]) -> Application:
    """Replace a draft's (or returned application's) content; anything later is frozen. Commits."""
    with unit_of_work(session):
        return edit_content(session, application_id, **edit)


def edit_content(session: Session, application_id: int, **edit: Unpack[ContentEdit]) -> Application:
    """`update_content` inside the caller's transaction (e.g. saved and submitted at once), not committed."""
    content, pledge, actor, at = edit["content"], edit["pledge"], edit["actor"], edit["at"]
    application = must_get(session, Application, application_id, "application")
    enterprise = session.get(Enterprise, application.enterprise_id)
    assert enterprise is not None
    if not (actor.role == Role.ENTERPRISE and actor.unit == enterprise.credit_code):
        raise NotAuthorised(f"only the applicant may edit application {application_id}", rule="authorisation")
    if application.state not in EDITABLE:
        raise TransitionRefused(
            f"application {application_id} is {application.state}: its submitted content is frozen; "
            "it can change only after a return for revision",
            rule="content-frozen",
            source="251 §2(二)3 (纸质版申报书须与线上填报一致)",
        )
    diff = json_diff(application.content, content)
    if pledge is not None:
        diff += json_diff({"pledge": application.pledge}, {"pledge": pledge})
    application.content = content
    if "title" in content:
        application.title = str(content["title"])
    if pledge is not None:
        application.pledge = pledge
    application.updated_at = to_utc(at)
    append_event(
        session,
        subject=f"application:{application.id}",
        application_id=application.id,
        actor=actor,
        event="edit_content",
        at=at,
        from_state=application.state,
        to_state=application.state,
        data={"content_sha256": content_digest(content), "diff": diff},
    )
    return application


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Top-level fields that differ: {field: [old, new]} (what an edit's audit event records)."""
    return {k: [before.get(k), after.get(k)] for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}


def update_enterprise(
    session: Session, *, data: dict[str, Any], actor: Actor, at: datetime
) -> tuple[Enterprise, dict[str, list[Any]]]:
    """Change a registered enterprise's fields (not its credit code); audited with the diff; commits.

    Its administrator, or the enterprise itself, may. Returns the row and what changed (nothing: no event)."""
    at = ensure_aware(at)
    if not isinstance(data, dict):
        raise InvalidInput("each enterprise must be a mapping", rule="enterprise-schema")
    try:
        code = validate_credit_code(str(data.get("credit_code", "")))
    except CreditCodeError as exc:
        raise InvalidInput(str(exc), rule="credit-code", source="GB 32100-2015") from None
    enterprise = session.scalars(select(Enterprise).where(col(Enterprise.credit_code) == code)).first()
    if enterprise is None:
        raise NotFound(f"enterprise {code} is not registered; `factory-review enterprise add` first")
    if actor.role not in {Role.ADMIN, Role.SYSTEM} and not (actor.role == Role.ENTERPRISE and actor.unit == code):
        raise NotAuthorised(f"{actor.role}@{actor.unit} may not change enterprise {code}", rule="authorisation")
    current = enterprise.model_dump(mode="json")
    kept = {k: current[k] for k in _ENTERPRISE_FIELDS if current.get(k) is not None}
    merged = check_enterprise({**kept, **data, "credit_code": code})
    try:
        Enterprise.model_validate({**merged, "created_at": enterprise.created_at})
    except ValidationError as exc:
        raise InvalidInput(_pydantic_message(exc), rule="enterprise-schema") from None
    changes = {k: v for k, v in field_changes(current, merged).items() if k in _ENTERPRISE_FIELDS}
    if not changes:
        return enterprise, {}
    with unit_of_work(session):
        for key, (_old, new) in changes.items():
            setattr(enterprise, key, new)
        append_event(session, subject=f"enterprise:{code}", actor=actor, event="update_enterprise", at=at,
                     data={"changes": changes}, record=enterprise)  # fmt: skip
    return enterprise, changes


def create_from_file(session: Session, parsed: Any, *, actor: Actor, at: datetime) -> Application:
    """Create the draft an `ApplicationFile` describes (CLI `apply`, the intake flow, the benchmarks)."""
    content = parsed.model_dump(mode="json")
    return create_application(
        session,
        enterprise_code=parsed.credit_code,
        tier=str(parsed.tier),
        track=str(parsed.track),
        season=parsed.season,
        title=parsed.title,
        content=content,
        pledge=content.get("pledge"),
        actor=actor,
        at=at,
    )
