"""The lifecycle as data: states, and per track a transition table.

A row is `Step(event, sources, dest, who, guards, ...)`, in the spirit of transitions'
`{"trigger", "source", "dest", "conditions"}`. `who` says which actor may fire it (see states.authz);
`guards` are names in the guard registry (states.guards) that raise a typed error naming their rule;
`when` are branch conditions (pure predicates) that pick the destination when one event has several.

National track: 251 §2(二), §3(二); 430 §1(二), §2(二). See docs/lifecycle.md for the generated diagram.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from models.enums import Track
from states.decision_data import Checkpoint, CultivationStart, EventData, Ranked, Verified


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"  # online submission done; the first unit of the chain reviews it
    LOCAL_REVIEW = "local_review"  # forwarded up the chain; `review_level` says which unit holds it
    RECOMMENDED = "recommended"  # the provincial-level unit recommended it to the ministry (251 §2(二)3)
    MINISTRY_REVIEW = "ministry_review"  # 评审认定 / 材料评审 (251 §2(二)4, §3(二)4)
    ONSITE_VERIFICATION = "onsite_verification"  # 现场核查
    PUBLIC_NOTICE = "public_notice"  # 网上公示 of the excellent list before recognition
    RECOGNISED = "recognised"  # 卓越级 recognised and published
    CULTIVATION_OBJECT = "cultivation_object"  # 领航级 培育对象 published
    IN_CULTIVATION = "in_cultivation"  # 培育期不超过2年 (251 §3(二)5)
    ACCEPTANCE_REQUESTED = "acceptance_requested"  # 验收申请 filed with the recommending unit
    EXPERT_ACCEPTANCE = "expert_acceptance"  # passed the unit's 初审; with the expert committee
    ACCEPTED = "accepted"  # 验收认定 passed: 领航级
    NOT_ACCEPTED = "not_accepted"
    CULTIVATION_EXPIRED = "cultivation_expired"
    RETURNED = "returned"  # returned for revision: the only state in which submitted content may change
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    # Provincial recognition track (津工信数转〔2025〕4号 §3)
    FILED = "filed"  # 基础级 备案 by the city
    EXPERT_REVIEW = "expert_review"  # 先进级 评审 by the city / Qingpu expert review
    DESIGNATED = "designated"  # 先进级 认定 (Tianjin) / 区级认定 (Qingpu)

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS: dict[State, str] = {
    State.DRAFT: "草稿",
    State.SUBMITTED: "已提交",
    State.LOCAL_REVIEW: "地方审核推荐",
    State.RECOMMENDED: "已推荐至工信部",
    State.MINISTRY_REVIEW: "评审",
    State.ONSITE_VERIFICATION: "现场核查",
    State.PUBLIC_NOTICE: "公示",
    State.RECOGNISED: "认定",
    State.CULTIVATION_OBJECT: "培育对象",
    State.IN_CULTIVATION: "培育期",
    State.ACCEPTANCE_REQUESTED: "已申请验收（待推荐单位初审）",
    State.EXPERT_ACCEPTANCE: "专家验收",
    State.ACCEPTED: "验收通过",
    State.NOT_ACCEPTED: "验收未通过",
    State.CULTIVATION_EXPIRED: "培育期满未验收",
    State.RETURNED: "退回修改",
    State.REJECTED: "未通过",
    State.WITHDRAWN: "已撤回",
    State.FILED: "已备案",
    State.EXPERT_REVIEW: "专家评审",
    State.DESIGNATED: "已认定",
}

AWAITING_LOCAL_REVIEW = frozenset({State.SUBMITTED, State.LOCAL_REVIEW})
WITHDRAWABLE = frozenset(
    {
        State.DRAFT,
        State.SUBMITTED,
        State.LOCAL_REVIEW,
        State.RETURNED,
        State.RECOMMENDED,
        State.MINISTRY_REVIEW,
    }
)


class Who(StrEnum):
    """Which actor may fire an event; states.authz turns these into role-and-unit checks."""

    APPLICANT = "applicant"  # the enterprise itself (role enterprise, unit = its credit code)
    HOLDER = "holder"  # the local unit that holds the application now (chain[review_level])
    RECOMMENDER = "recommender"  # the top of the chain: the unit that recommended it (acceptance 初审)
    MINISTRY = "ministry"  # the six departments' secretariat, recording expert panel outcomes
    SYSTEM = "system"  # the scheduler (expiry)


@dataclass(frozen=True)
class Step:
    event: str
    sources: tuple[State, ...]
    dest: State
    who: tuple[Who, ...]
    guards: tuple[str, ...] = ()
    when: tuple[str, ...] = ()  # branch conditions: all must hold for this row to be taken
    notify: tuple[str, ...] = ("applicant",)  # audiences, resolved by notifications/recipients.py
    records: tuple[str, ...] = ()  # evidence the decision records (states.guards.EVIDENCE), e.g. panel_result
    source: str = ""  # the clause the step implements
    label: str = ""
    data: type[EventData] = EventData  # the only data the event accepts (states/decision_data.py)
    effects: tuple[str, ...] = ()  # what the step implies beyond the state (states.effects.EFFECTS)


_LOCAL = (State.SUBMITTED, State.LOCAL_REVIEW)

NATIONAL: tuple[Step, ...] = (
    Step("submit", (State.DRAFT,), State.SUBMITTED, (Who.APPLICANT,),
         guards=("content_complete", "pledge_given", "eligible", "deadline:submit"), effects=("freeze_content",),
         notify=("applicant", "holder"), source="251 §2(二)1, §3(二)1; 430 §1(二)1", label="线上申报"),
    Step("recommend", _LOCAL, State.LOCAL_REVIEW, (Who.HOLDER,),
         guards=("deadline:recommend", "ranked"), when=("has_next_level",), effects=("next_level",),
         notify=("applicant", "next_holder"), source="251 §2(二)2-3; 430 §1(二)2; 319; CD",
         label="审核推荐（上报上级）", data=Ranked),
    Step("recommend", _LOCAL, State.RECOMMENDED, (Who.HOLDER,),
         guards=("deadline:recommend", "ranked"), when=("is_last_level",),
         source="251 §2(二)3, §3(二)3", label="推荐至工信部", data=Ranked),
    Step("return_for_revision", (*_LOCAL, State.RECOMMENDED), State.RETURNED, (Who.HOLDER,),
         guards=("reason_given",), source="251 §2(二)2 (推荐单位严格把关)", label="退回修改"),
    Step("return_for_revision", (State.MINISTRY_REVIEW,), State.RETURNED, (Who.MINISTRY,),
         guards=("reason_given",), source="251 §2(二)4", label="退回修改"),
    Step("resubmit", (State.RETURNED,), State.SUBMITTED, (Who.APPLICANT,),
         guards=("content_complete", "pledge_given", "eligible", "deadline:submit"), effects=("freeze_content",),
         notify=("applicant", "holder"), source="251 §2(二)1", label="修改后重新提交"),
    Step("reject", (*_LOCAL, State.RECOMMENDED), State.REJECTED, (Who.HOLDER,),
         guards=("reason_given",), source="251 §2(二)2", label="不予推荐"),
    Step("reject", (State.MINISTRY_REVIEW, State.ONSITE_VERIFICATION, State.PUBLIC_NOTICE), State.REJECTED,
         (Who.MINISTRY,), guards=("reason_given", "panel_concluded"), records=("panel_result",),
         source="251 §2(二)4, §3(二)4", label="未通过"),
    Step("withdraw", tuple(sorted(WITHDRAWABLE)), State.WITHDRAWN, (Who.APPLICANT,),
         notify=("applicant", "holder"), source="applicant's right to withdraw", label="撤回"),
    Step("open_ministry_review", (State.RECOMMENDED,), State.MINISTRY_REVIEW, (Who.MINISTRY,),
         source="251 §2(二)4, §3(二)4", label="受理评审"),
    Step("pass_review", (State.MINISTRY_REVIEW,), State.ONSITE_VERIFICATION, (Who.MINISTRY,),
         guards=("panel_concluded",), records=("panel_result",),
         source="251 §3(二)4 (材料评审和现场核查)", label="评审通过，安排现场核查"),
    Step("pass_verification", (State.ONSITE_VERIFICATION,), State.PUBLIC_NOTICE, (Who.MINISTRY,),
         when=("tier=excellent",), guards=("notice_dates_given", "panel_concluded"), records=("panel_result",),
         effects=("record_notice",), source="251 §2(二)4; domain.md §8 (公示 2025-09-04..09-11)",
         label="核查通过，公示", data=Verified),
    Step("pass_verification", (State.ONSITE_VERIFICATION,), State.CULTIVATION_OBJECT, (Who.MINISTRY,),
         when=("tier=leading",), guards=("panel_concluded",), records=("panel_result",),
         source="251 §3(二)4 (确定培育对象名单并发布)", label="核查通过，列为培育对象", data=Verified),
    Step("raise_objection", (State.PUBLIC_NOTICE,), State.PUBLIC_NOTICE, (Who.MINISTRY,),
         guards=("reason_given", "notice_open"), notify=(), effects=("objection_opened",),
         source="公示 objections", label="收到异议"),
    Step("dismiss_objection", (State.PUBLIC_NOTICE,), State.PUBLIC_NOTICE, (Who.MINISTRY,),
         guards=("reason_given", "objection_open"), notify=(), effects=("objection_closed",),
         source="公示 objections", label="异议不成立"),
    Step("uphold_objection", (State.PUBLIC_NOTICE,), State.REJECTED, (Who.MINISTRY,),
         guards=("reason_given", "objection_open"), effects=("objection_closed",), source="公示 objections",
         label="异议成立"),
    Step("recognise", (State.PUBLIC_NOTICE,), State.RECOGNISED, (Who.MINISTRY,),
         guards=("notice_period_over", "no_open_objections"), source="251 §2(二)4 (评审认定、名单发布)",
         label="认定并发布"),
    Step("start_cultivation", (State.CULTIVATION_OBJECT,), State.IN_CULTIVATION, (Who.MINISTRY,),
         effects=("start_cultivation",), source="251 §3(二)5 (培育期不超过2年)", label="开始培育",
         data=CultivationStart),
    Step("record_checkpoint", (State.IN_CULTIVATION,), State.IN_CULTIVATION, (Who.MINISTRY,),
         guards=("cultivation_running",), notify=(), source="251 §3(二)5 (专家委指导)", label="培育检查",
         data=Checkpoint),
    Step("request_acceptance", (State.IN_CULTIVATION,), State.ACCEPTANCE_REQUESTED, (Who.APPLICANT,),
         guards=("cultivation_running",), notify=("applicant", "recommender"),
         source="251 §3(二)5 (及时向推荐单位提交验收申请)", label="提交验收申请"),
    Step("pass_preliminary_review", (State.ACCEPTANCE_REQUESTED,), State.EXPERT_ACCEPTANCE, (Who.RECOMMENDER,),
         source="251 §3(二)5 (经推荐单位初审)", label="初审通过"),
    Step("fail_preliminary_review", (State.ACCEPTANCE_REQUESTED,), State.IN_CULTIVATION, (Who.RECOMMENDER,),
         guards=("reason_given",), source="251 §3(二)5", label="初审未通过，继续培育"),
    Step("accept", (State.EXPERT_ACCEPTANCE,), State.ACCEPTED, (Who.MINISTRY,),
         guards=("panel_concluded",), records=("panel_result",),
         source="251 §3(二)5 (验收认定，发布名单)", label="验收通过"),
    Step("not_accept", (State.EXPERT_ACCEPTANCE,), State.NOT_ACCEPTED, (Who.MINISTRY,),
         guards=("reason_given", "panel_concluded"), records=("panel_result",),
         source="251 §3(二)5", label="验收未通过"),
    # A cultivation object whose cultivation never started has no period to run out.
    Step("expire", (State.IN_CULTIVATION, State.ACCEPTANCE_REQUESTED),
         State.CULTIVATION_EXPIRED, (Who.SYSTEM,), guards=("cultivation_over",), notify=("applicant", "recommender"),
         source="251 §3(二)5 (培育期不超过2年)", label="培育期满"),
)  # fmt: skip

# The tables by key: the national table here; a season's own tracks are registered by the programme
# (`programmes.tracks`) under keys like "2025/provincial/tj".
TABLES: dict[str, tuple[Step, ...]] = {Track.NATIONAL.value: NATIONAL}

# (season, track, enterprise's jurisdiction) → the key of the table that application follows.
TableSelector = Callable[[str, str, str], str]
_SELECTOR: list[TableSelector] = []


def register_table(key: str, steps: tuple[Step, ...]) -> None:
    TABLES[key] = steps


def use_selector(selector: TableSelector) -> None:
    """The composition root plugs in how a season picks the table of a non-national application."""
    _SELECTOR[:] = [selector]


def table_key(season: str, track: str, jurisdiction: str) -> str:
    """The key of the table an application follows: national, or its season's own track for the unit."""
    if str(track) == Track.NATIONAL:
        return Track.NATIONAL.value
    if not _SELECTOR:
        raise RuntimeError("the system is not assembled: call programmes.wiring.assemble() at start-up")
    return _SELECTOR[0](season, str(track), jurisdiction)


def steps_for(key: str) -> tuple[Step, ...]:
    return TABLES[str(key)]


def events_for(key: str) -> list[str]:
    return sorted({s.event for s in steps_for(key)})


def states_for(key: str) -> list[State]:
    seen: dict[State, None] = {State.DRAFT: None}
    for step in steps_for(key):
        for s in (*step.sources, step.dest):
            seen.setdefault(s, None)
    return list(seen)
