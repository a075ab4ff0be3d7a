"""The provincial (Tianjin) and district (Qingpu) tracks as transition tables, registered with the
lifecycle (`states.lifecycle.register_track`). Same `Step` rows, same one door, same guards registry.

Tianjin, 津工信数转〔2025〕4号 §3: online submission with the maturity self-assessment report (closes at
the deadline, no edits afterwards) → district online review and recommendation → city: basic is filed
(备案), advanced goes to expert review and recognition (评审认定).

Qingpu, 2025 district designation (QP §5): e-mail and paper submission → first check by the district
commission (初审) → expert and joint-panel review → public notice of 5 working days → objections
investigated (upheld / dismissed) → designation (认定) and funding.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import programmes.rules  # noqa: F401  (registers the guards these tables name)
from models.enums import Tier, Track
from programmes.workdays import add_working_days
from states.decision_data import NoticeOpened, Ranked
from states.guards import GuardContext, condition
from states.lifecycle import State, Step, Who, register_track


@condition("is_basic")
def _is_basic(ctx: GuardContext) -> bool:
    return ctx.application.tier == Tier.BASIC


@condition("is_advanced")
def _is_advanced(ctx: GuardContext) -> bool:
    return ctx.application.tier == Tier.ADVANCED


_SUBMIT_GUARDS = ("content_complete", "pledge_given", "eligible", "deadline:submit")

TIANJIN: tuple[Step, ...] = (
    Step("submit", (State.DRAFT,), State.SUBMITTED, (Who.APPLICANT,), guards=_SUBMIT_GUARDS,
         notify=("applicant", "holder"), source="TJ §3(二)1 (线上申报，上传成熟度自评估报告)", label="线上申报"),
    Step("recommend", (State.SUBMITTED,), State.LOCAL_REVIEW, (Who.HOLDER,), guards=("deadline:recommend",),
         when=("has_next_level",), notify=("applicant", "next_holder"),
         source="TJ §3(二)2-3 (各区完成线上审核并推荐)", label="区级审核推荐", data=Ranked),
    Step("file", (State.LOCAL_REVIEW,), State.FILED, (Who.HOLDER,), when=("is_basic",),
         source="TJ §3(二)4 (市工业和信息化局组织对基础级智能工厂备案管理)", label="基础级备案"),
    Step("open_expert_review", (State.LOCAL_REVIEW,), State.EXPERT_REVIEW, (Who.HOLDER,), when=("is_advanced",),
         source="TJ §3(二)4 (对先进级智能工厂进行评审)", label="先进级评审"),
    Step("designate", (State.EXPERT_REVIEW,), State.DESIGNATED, (Who.HOLDER,),
         source="TJ §3(二)4 (评审认定、名单发布)", label="先进级认定"),
    Step("return_for_revision", (State.SUBMITTED, State.LOCAL_REVIEW), State.RETURNED, (Who.HOLDER,),
         guards=("reason_given",), source="TJ §3(二)3 (完成线上审核)", label="退回修改"),
    Step("resubmit", (State.RETURNED,), State.SUBMITTED, (Who.APPLICANT,), guards=_SUBMIT_GUARDS,
         notify=("applicant", "holder"), source="TJ §3(二)1 (申报截止后，系统将关闭申报和修改功能)",
         label="修改后重新提交"),
    Step("reject", (State.SUBMITTED, State.LOCAL_REVIEW, State.EXPERT_REVIEW), State.REJECTED, (Who.HOLDER,),
         guards=("reason_given",), source="TJ §3(二)3-4", label="未通过"),
    Step("withdraw", (State.DRAFT, State.SUBMITTED, State.LOCAL_REVIEW, State.RETURNED), State.WITHDRAWN,
         (Who.APPLICANT,), notify=("applicant", "holder"), source="applicant's right to withdraw", label="撤回"),
)  # fmt: skip

QINGPU: tuple[Step, ...] = (
    Step("submit", (State.DRAFT,), State.SUBMITTED, (Who.APPLICANT,),
         guards=("content_complete", "eligible", "deadline:submit"), notify=("applicant", "holder"),
         source="QP §5(一) (邮箱受理及纸质材料递交截止2025年8月31日，逾期不受理)", label="申报"),
    Step("pass_first_check", (State.SUBMITTED,), State.EXPERT_REVIEW, (Who.HOLDER,),
         source="QP §5(二) (区经委对申报材料进行初审)", label="初审通过"),
    Step("return_for_revision", (State.SUBMITTED,), State.RETURNED, (Who.HOLDER,), guards=("reason_given",),
         source="QP §5(二) (初审)", label="退回补正"),
    Step("resubmit", (State.RETURNED,), State.SUBMITTED, (Who.APPLICANT,),
         guards=("content_complete", "eligible", "deadline:submit"), notify=("applicant", "holder"),
         source="QP §5(一) (逾期不受理)", label="补正后重新申报"),
    Step("pass_expert_review", (State.EXPERT_REVIEW,), State.PUBLIC_NOTICE, (Who.HOLDER,),
         guards=("notice_scheduled",),
         source="QP §5(二) (专家评审、联合评审小组评估；向社会公示，公示期限为5个工作日)", label="评审通过，公示",
         data=NoticeOpened),
    Step("reject", (State.SUBMITTED, State.EXPERT_REVIEW), State.REJECTED, (Who.HOLDER,), guards=("reason_given",),
         source="QP §5(二)", label="未通过"),
    Step("raise_objection", (State.PUBLIC_NOTICE,), State.PUBLIC_NOTICE, (Who.HOLDER,),
         guards=("reason_given", "notice_open"), notify=(), source="QP §5(二) (公示期间有异议)", label="收到异议"),
    Step("dismiss_objection", (State.PUBLIC_NOTICE,), State.PUBLIC_NOTICE, (Who.HOLDER,),
         guards=("reason_given", "objection_open"), notify=(), source="QP §5(二) (调查核实)", label="异议不成立"),
    Step("uphold_objection", (State.PUBLIC_NOTICE,), State.REJECTED, (Who.HOLDER,),
         guards=("reason_given", "objection_open"), source="QP §5(二) (调查核实)", label="异议成立"),
    Step("designate", (State.PUBLIC_NOTICE,), State.DESIGNATED, (Who.HOLDER,),
         guards=("notice_period_over", "no_open_objections"),
         source="QP §5(二) (公示无异议的项目，由区经委正式印发认定文件并按规定下达扶持资金)", label="认定"),
    Step("withdraw", (State.DRAFT, State.SUBMITTED, State.RETURNED, State.EXPERT_REVIEW), State.WITHDRAWN,
         (Who.APPLICANT,), notify=("applicant", "holder"), source="applicant's right to withdraw", label="撤回"),
)  # fmt: skip

register_track(Track.PROVINCIAL, TIANJIN)
register_track(Track.DISTRICT, QINGPU)


def notice_milestone(opens_on: date, working_days: int = 5) -> dict[str, Any]:
    """The `data` for opening a public notice: {"milestone": {opens, closes, working days}}.

    The notice closes after `working_days` working days on China's official calendar (QP §5(二)).
    """
    closes = add_working_days(opens_on, working_days)
    return {
        "milestone": {
            "notice_opens_on": opens_on.isoformat(),
            "notice_closes_on": closes.isoformat(),
            "notice_working_days": working_days,
        }
    }
