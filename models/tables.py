"""The tables. Small on purpose: rules live in `programmes/` (data) and `states/` (the lifecycle table).

Every instant is stored in UTC (`UTCDateTime`); every deadline is a Shanghai calendar date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


def _json(default: Any = None) -> Any:
    factory = (lambda: dict(default)) if isinstance(default, dict) else (lambda: list(default or []))
    return Field(default_factory=factory, sa_column=Column(JSON, nullable=False))


def _instant(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Enterprise(SQLModel, table=True):
    """An applicant, identified by its unified social credit code (GB 32100-2015)."""

    id: int | None = Field(default=None, primary_key=True)
    credit_code: str = Field(max_length=18, unique=True, index=True)
    name: str = Field(max_length=200)
    # Jurisdiction unit codes from the season data, e.g. province "sh", district "sh.qingpu".
    province: str = Field(max_length=40, index=True)
    city: str | None = Field(default=None, max_length=60, index=True)  # indexed: the web's scope filter
    district: str | None = Field(default=None, max_length=80, index=True)
    industry: str = Field(max_length=60)
    # 251 §2(一)1: an independent legal person, or a branch in industries such as 石油石化 / 有色金属.
    is_branch: bool = False
    # 要素 一 basic requirements, declared by the applicant and checked by reviewers.
    above_designated_size: bool = True  # 规模以上工业企业 (要素 一.1)
    clean_record_3y: bool = True  # 近三年无不良信用记录、无较大及以上事故 (要素 一.2)
    security_controllable: bool = True  # 关键装备、软件安全可控 (要素 一.3)
    has_smart_factory_org: bool = True  # 组织机制与人才 (要素 一.4)
    # 430 §1(二)4: units that passed local acceptance as 示范工厂揭榜单位 don't use a district's quota.
    demonstration_unit: bool = False
    # A unit of a central SOE records its group beside its location (province/city/district): excellent goes
    # through the group headquarters (430 §1(二)3; 251 §2(二)2), leading through the province (251 §3(二)2).
    soe_group: str | None = Field(default=None, max_length=80)
    tax_district: str | None = Field(default=None, max_length=80)  # 青浦 §2(一): 财税户管地
    # Tiers already held: [{"tier": "advanced", "year": 2024, "by": "tj"}]; prerequisite checks read it.
    recognitions: list[dict[str, Any]] = _json()
    contact_name: str = Field(default="", max_length=100)
    contact_email: str = Field(default="", max_length=254)
    contact_phone: str = Field(default="", max_length=40)
    created_at: datetime | None = _instant(nullable=False)

    @property
    def jurisdiction(self) -> str:
        """The lowest unit the enterprise belongs to: where its recommendation chain starts."""
        return jurisdiction_of(district=self.district, city=self.city, province=self.province)


def jurisdiction_of(*, province: str, city: str | None = None, district: str | None = None, **_: Any) -> str:
    """The lowest unit of an enterprise (an `Enterprise` or its row as a mapping)."""
    return district or city or province


class Actor(SQLModel, table=True):
    """A person or system acting in a role for a unit (role@unit)."""

    __table_args__ = (UniqueConstraint("role", "unit", "email", name="uq_actor_role_unit_email"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    email: str = Field(default="", max_length=254)
    role: str = Field(max_length=30, index=True)
    unit: str = Field(max_length=80, index=True)


_VERSION = Column("version", Integer, nullable=False, default=0)

# "Look at this application at the next reminder sweep": every insert and every update of the row (the
# one door, a bulk path, a fixture's raw UPDATE) sets it, so the due-item index can't miss a change; the
# sweep then writes the instant of the application's next reminder (or NULL: nothing more to remind).
RECHECK = datetime(2000, 1, 1, tzinfo=UTC)
_REMIND_AT: Column[datetime] = Column(
    "remind_at", UTCDateTime(), nullable=True, index=True, default=RECHECK, onupdate=RECHECK
)


class Application(SQLModel, table=True):
    """One application of one enterprise for one tier (or Qingpu kind) in one season."""

    __mapper_args__ = {"version_id_col": _VERSION}

    __table_args__ = (
        Index("ix_application_season_state", "season", "state"),
        Index("ix_application_state_level", "state", "review_level"),
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    tier: str = Field(max_length=30)  # models.enums.Tier, or a kind of a district call (season data)
    track: str = Field(max_length=20)
    season: str = Field(max_length=10)
    state: str = Field(default="draft", max_length=40, index=True)
    # Optimistic lock: SQLAlchemy adds "AND version = :old" to every UPDATE of the row and raises
    # StaleDataError when another writer got there first (the one door turns it into ConcurrentUpdate).
    version: int = Field(default=0, sa_column=_VERSION)
    title: str = Field(default="", max_length=300)
    content: dict[str, Any] = _json({})
    # Frozen at submission: SHA-256 of the canonical JSON; the paper copy must equal it (251 §2(二)3).
    content_sha256: str | None = Field(default=None, max_length=64)
    pledge: dict[str, Any] = _json({})  # 真实性承诺 + no state/trade secrets (251 §2(二)1)
    # The recommendation chain from the season data, lowest unit first (e.g. district → city → province).
    chain: list[str] = _json()
    review_level: int = 0  # index into chain of the unit that holds the application now
    ranks: dict[str, int] = _json({})  # unit → priority (按推荐项目优先顺序)
    warnings: list[dict[str, Any]] = _json()  # recorded for reviewers, not blocks (e.g. 原则上 five segments)
    milestones: dict[str, Any] = _json({})  # dates of notices, verification, cultivation checkpoints
    open_objections: int = 0
    cultivation_ends_on: date | None = None
    # Audit chain head and length kept on the row, so a removed tail is detected (states.audit).
    audit_head: str = Field(default="", max_length=64)
    audit_count: int = 0
    created_at: datetime | None = _instant(nullable=False)
    updated_at: datetime | None = _instant(nullable=False)
    submitted_at: datetime | None = _instant()
    # SHA-256 of the registered rulebook (season file) the application is judged by (issue #11 §6).
    rulebook_sha256: str | None = Field(default=None, max_length=64)
    remind_at: datetime | None = Field(default=RECHECK, sa_column=_REMIND_AT)  # notifications/due.py


class AuditEvent(SQLModel, table=True):
    """Append-only: written in the same transaction as the change it records; never updated."""

    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("subject", "seq", name="uq_audit_subject_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=100, index=True)  # "application:12", "unit:sh.qingpu:2025"
    seq: int
    application_id: int | None = Field(default=None, index=True)
    actor_name: str = Field(max_length=100)
    actor_role: str = Field(max_length=30)
    actor_unit: str = Field(max_length=80)
    event: str = Field(max_length=60)
    from_state: str | None = Field(default=None, max_length=40)
    to_state: str | None = Field(default=None, max_length=40)
    reason: str = Field(default="", max_length=4000)
    data: dict[str, Any] = _json({})
    at: datetime | None = _instant(nullable=False)  # the business instant (a replay's clock on a replay)
    # The real wall-clock instant the event was written, whatever clock the action ran on (issue: time is
    # a fact the system establishes); hashed with the rest, so it cannot be rewritten unseen. NULL only on
    # events written before pre-release revision 0002, whose hashes never covered it.
    recorded_at: datetime | None = _instant()
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditChain(SQLModel, table=True):
    """Head and length of the chains whose subject is not an application (units, seasons)."""

    __tablename__ = "audit_chain"

    subject: str = Field(primary_key=True, max_length=100)
    head: str = Field(default="", max_length=64)
    count: int = 0


class AuditAnchor(SQLModel, table=True):
    """A root over every chain head at one instant (states.ledger), also written, signed, outside the database.

    `inventory` is the sorted list of [subject, count, head] the root commits to; an anchor file that
    carries only the root finds it here, and any change to it no longer matches the root."""

    __tablename__ = "audit_anchor"

    id: int | None = Field(default=None, primary_key=True)
    taken_at: datetime | None = _instant(nullable=False)
    root: str = Field(max_length=64, index=True)
    subjects: int = 0
    events: int = 0
    keyed: bool = False
    signature: str = Field(max_length=64)
    inventory: list[list[Any]] = _json()


class OutboxMessage(SQLModel, table=True):
    """A mail to send, queued in the transaction that caused it; a sender drains it after commit.

    `dedupe_key` is unique: queuing the same reminder twice inserts nothing the second time.
    `message_id` is fixed at queue time, so a resend after an uncertain crash carries the same Message-ID.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=300, unique=True)
    kind: str = Field(max_length=60, index=True)
    locale: str = Field(default="zh-CN", max_length=10)
    recipient: str = Field(max_length=254)
    recipient_name: str = Field(default="", max_length=200)
    subject: str = Field(max_length=500)
    body_text: str
    body_html: str = ""
    message_id: str = Field(max_length=200)
    # pending → sending → sent | failed; sending left behind by a crash → uncertain → resent once.
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    last_error: str = Field(default="", max_length=2000)
    application_id: int | None = Field(default=None, index=True)
    deadline_on: date | None = None
    offset_days: int | None = None
    created_at: datetime | None = _instant(nullable=False)
    next_attempt_at: datetime | None = _instant()
    attempted_at: datetime | None = _instant()
    sent_at: datetime | None = _instant()
    # A sweep's message is queued unrendered (status `queued`, its template context here) and rendered
    # when the sender picks it up (notifications.outbox.render_queued).
    context: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The lease: which sender holds a `sending` row and until when; expired → uncertain.
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = _instant()


class DeadlineExtension(SQLModel, table=True):
    """An explicit, audited extension of one unit's deadline for one step (granted by an admin)."""

    __tablename__ = "deadline_extension"
    __table_args__ = (UniqueConstraint("season", "unit", "step", name="uq_extension_season_unit_step"),)

    id: int | None = Field(default=None, primary_key=True)
    season: str = Field(max_length=10)
    unit: str = Field(max_length=80)
    step: str = Field(max_length=30)
    until: date
    granted_by: str = Field(max_length=200)
    reason: str = Field(max_length=2000)
    granted_at: datetime | None = _instant(nullable=False)


class RecommendationRound(SQLModel, table=True):
    """A unit's ranked recommendation for one tier: the priority order it forwarded (推荐汇总表)."""

    __tablename__ = "recommendation_round"
    __table_args__ = (UniqueConstraint("season", "unit", "tier", name="uq_round_season_unit_tier"),)

    id: int | None = Field(default=None, primary_key=True)
    season: str = Field(max_length=10)
    unit: str = Field(max_length=80)
    tier: str = Field(max_length=30)
    ranked_application_ids: list[int] = _json()
    counted_against_quota: int = 0
    quota: int | None = None
    submitted_by: str = Field(max_length=200)
    submitted_at: datetime | None = _instant(nullable=False)


class PublicNotice(SQLModel, table=True):
    """A public notice (公示): opened on a day, closes after a period; applications point at it."""

    __tablename__ = "public_notice"

    id: int | None = Field(default=None, primary_key=True)
    season: str = Field(max_length=10)
    scope: str = Field(max_length=80)  # e.g. "excellent", "qingpu"
    opens_on: date
    closes_on: date
    opened_by: str = Field(max_length=200)
    closed_at: datetime | None = _instant()


class Account(SQLModel, table=True):
    """A person or service that signs in. Its changes are audited on the chain `account:<id>`.

    `unit` is a jurisdiction code, "miit" for the ministry, or the credit code of an enterprise account.
    The password is only ever stored as an Argon2id hash (states/passwords.py)."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)  # normalised: stripped, lower-case
    display_name: str = Field(max_length=100)
    role: str = Field(max_length=30, index=True)
    unit: str = Field(max_length=80, index=True)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id")
    password_hash: str = Field(max_length=200)
    active: bool = True
    confirmed: bool = True  # an enterprise's own registration waits for its district (企业注册账号)
    service: bool = False  # a deployment's account: signs in with FACTORY_REVIEW_TOKEN only
    created_by: int | None = Field(default=None)
    created_at: datetime | None = _instant(nullable=False)
    failed_logins: int = 0
    locked_until: datetime | None = _instant()


class AccountSession(SQLModel, table=True):
    """A sign-in. Only the SHA-256 of the token is kept; the token itself is shown once."""

    __tablename__ = "account_session"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    token_sha256: str = Field(max_length=64, unique=True, index=True)
    kind: str = Field(max_length=10)  # cli | web | service
    created_at: datetime | None = _instant(nullable=False)
    expires_at: datetime | None = _instant(nullable=False)
    revoked_at: datetime | None = _instant()
    last_seen_at: datetime | None = _instant()


class SystemState(SQLModel, table=True):
    """Facts about the database itself: `mode` (production | replay), set once by `factory-review init`."""

    __tablename__ = "system_state"

    key: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=200)
    set_at: datetime | None = _instant(nullable=False)


class SeasonRecord(SQLModel, table=True):
    """A rulebook an administrator loaded with `factory-review season load` (kept with its SHA-256)."""

    __tablename__ = "season_record"

    name: str = Field(primary_key=True, max_length=40)
    sha256: str = Field(max_length=64)
    text: str
    loaded_by: int | None = Field(default=None)
    loaded_at: datetime | None = _instant(nullable=False)


class StatisticsVersion(SQLModel, table=True):
    """One loaded set of a season's per-unit statistics (251 §2(二)2, §3(二)2); the newest version counts.

    Versions are never updated: a correction is a new version, audited on the chain `statistics:<season>`.
    """

    __tablename__ = "statistics_version"
    __table_args__ = (UniqueConstraint("season", "version", name="uq_statistics_season_version"),)

    id: int | None = Field(default=None, primary_key=True)
    season: str = Field(max_length=10, index=True)
    version: int
    values: dict[str, Any] = _json({})  # statistic key → {unit code → value}
    sha256: str = Field(max_length=64)
    file_name: str = Field(default="", max_length=300)
    loaded_by: str = Field(max_length=200)
    loaded_at: datetime | None = _instant(nullable=False)


class Expert(SQLModel, table=True):
    """A member of an expert pool (国家智能制造专家委, a district's panel): where conflicts come from."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    email: str = Field(default="", max_length=254, index=True)
    province: str = Field(max_length=40, index=True)  # unit code of the expert's province, e.g. "sh"
    employer: str = Field(default="", max_length=200)
    employer_credit_code: str | None = Field(default=None, max_length=18, index=True)
    # Declared ties (credit codes of enterprises the expert advised, owns shares in, is related to).
    ties: list[str] = _json()
    active: bool = True
    account_id: int | None = Field(default=None, index=True)  # the expert's sign-in account, when linked
    created_at: datetime | None = _instant(nullable=False)


class Panel(SQLModel, table=True):
    """An expert panel for one stage of one season and tier, built by the organising unit."""

    __table_args__ = (UniqueConstraint("season", "stage", "tier", "name", name="uq_panel_season_stage_tier_name"),)

    id: int | None = Field(default=None, primary_key=True)
    season: str = Field(max_length=10)
    stage: str = Field(max_length=30)  # programmes.season.PanelStage
    tier: str = Field(max_length=30)
    track: str = Field(default="national", max_length=20)
    organiser: str = Field(max_length=80)
    name: str = Field(max_length=200)
    created_by: str = Field(max_length=200)
    created_at: datetime | None = _instant(nullable=False)


class PanelMember(SQLModel, table=True):
    __tablename__ = "panel_member"
    __table_args__ = (UniqueConstraint("panel_id", "expert_id", name="uq_panel_member"),)

    id: int | None = Field(default=None, primary_key=True)
    panel_id: int = Field(foreign_key="panel.id", index=True)
    expert_id: int = Field(foreign_key="expert.id", index=True)


class ReviewAssignment(SQLModel, table=True):
    """One expert's independent review of one application in one panel (blind until submitted)."""

    __tablename__ = "review_assignment"
    __table_args__ = (
        UniqueConstraint("panel_id", "application_id", "expert_id", name="uq_review_assignment"),
        Index("ix_review_assignment_app_panel", "application_id", "panel_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    panel_id: int = Field(foreign_key="panel.id", index=True)
    application_id: int = Field(foreign_key="application.id")
    expert_id: int = Field(foreign_key="expert.id", index=True)
    assigned_by: str = Field(max_length=200)
    override_reason: str = Field(default="", max_length=2000)  # a conflict overridden by hand, and why
    due_on: date | None = None
    status: str = Field(default="assigned", max_length=20)  # assigned → submitted
    scores: dict[str, Any] = _json({})  # criterion key → 0..100
    findings: list[dict[str, Any]] = _json()  # on-site: [{"item", "passed", "finding"}]
    recommendation: str = Field(default="", max_length=20)  # pass | fail | return
    comments: str = Field(default="", max_length=8000)
    assigned_at: datetime | None = _instant(nullable=False)
    submitted_at: datetime | None = _instant()


class PaperCopy(SQLModel, table=True):
    """The paper copy's arrival at a unit, with the hash printed on it (251 §2(二)3: 纸质材料与线上一致)."""

    __tablename__ = "paper_copy"

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    unit: str = Field(max_length=80)  # the unit that received it
    printed_sha256: str = Field(max_length=64)
    matches: bool
    recorded_by: str = Field(max_length=200)
    note: str = Field(default="", max_length=2000)
    received_at: datetime | None = _instant(nullable=False)


class Attachment(SQLModel, table=True):
    """A file an enterprise uploaded for one item of its materials checklist. The bytes live outside the
    database (under the data directory, named by their SHA-256); submission freezes the hash through the
    content's `materials` entry, which names the file and its hash (states/attachments.py)."""

    __table_args__ = (UniqueConstraint("application_id", "material_key", name="uq_attachment_material"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    material_key: str = Field(max_length=60)  # a key of the tier's checklist (season data)
    filename: str = Field(max_length=200)
    media_type: str = Field(max_length=100)  # from the content's magic bytes, never from the upload's header
    size: int
    sha256: str = Field(max_length=64)
    uploaded_by: str = Field(max_length=200)
    uploaded_at: datetime | None = _instant(nullable=False)
