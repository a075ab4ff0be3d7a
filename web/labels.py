"""Words people read, zh-CN first with an English switch. Official terms come from the same tables the CLI
and the mail use (models.enums labels, states.lifecycle.STATE_LABELS); only the page chrome is here."""

from __future__ import annotations

from models.enums import ROLE_LABELS, TIER_LABELS, TRACK_LABELS
from states.lifecycle import STATE_LABELS

LANGS = ("zh", "en")

UI: dict[str, tuple[str, str]] = {
    "app_title": ("智能工厂梯度培育 · 审核平台", "Smart-factory cultivation · review"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出登录", "Sign out"),
    "email": ("邮箱", "E-mail"),
    "password": ("密码", "Password"),
    "inbox": ("待办", "Inbox"),
    "ranking": ("排序推荐", "Ranking"),
    "audit": ("审计", "Audit"),
    "dashboard": ("年度概览", "Dashboard"),
    "waiting_on": ("待本单位处理", "Waiting on my unit"),
    "in_scope": ("辖区内全部申报", "All applications in my scope"),
    "enterprise": ("申报单位", "Enterprise"),
    "credit_code": ("统一社会信用代码", "Credit code"),
    "title": ("项目名称", "Project"),
    "tier": ("级别", "Tier"),
    "state": ("状态", "State"),
    "season": ("年度", "Season"),
    "district": ("区县", "District"),
    "search": ("名称或信用代码", "Name or credit code"),
    "filter": ("筛选", "Filter"),
    "all": ("全部", "All"),
    "deadline": ("截止日期", "Deadline"),
    "countdown": ("剩余", "Left"),
    "overdue": ("已逾期", "Overdue"),
    "days": ("天", "days"),
    "previous": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "page": ("第 {page} 页，共 {total} 条", "Page {page} of {total} items"),
    "no_items": ("暂无待办", "Nothing waiting"),
    "content": ("申报内容", "Content"),
    "materials": ("材料清单", "Materials checklist"),
    "missing": ("缺少", "Missing"),
    "present": ("已提供", "Provided"),
    "warnings": ("审核提示", "Warnings for reviewers"),
    "frozen_hash": ("提交时冻结的内容摘要 (SHA-256)", "Content frozen at submission (SHA-256)"),
    "paper_copies": ("纸质材料登记", "Paper copies received"),
    "printed_hash": ("申报书上打印的内容摘要", "Hash printed on the paper copy"),
    "printed_hash_hint": ("64 位十六进制字符，见申报书页脚或二维码", "64 hex characters, in the footer or QR code"),
    "paper_note": ("备注", "Note"),
    "record_paper_copy": ("登记纸质材料", "Record the paper copy"),
    "paper_matches": ("与线上一致", "matches the online version"),
    "paper_differs": ("与线上不一致", "differs from the online version"),
    "timeline": ("办理记录", "Timeline"),
    "decisions": ("可办理的操作", "Decisions open to me"),
    "reason": ("理由", "Reason"),
    "reason_hint": ("必填，将记入审计记录并告知企业", "Required; recorded in the audit trail"),
    "no_decisions": ("当前没有可由您办理的操作", "No decision is open to you now"),
    "go_rank": ("通过排序推荐页推荐", "Recommend through the ranking page"),
    "actor": ("办理人", "Actor"),
    "role": ("角色", "Role"),
    "unit": ("单位", "Unit"),
    "event": ("事项", "Event"),
    "from_to": ("状态变化", "From → to"),
    "business_time": ("业务时间", "Business time"),
    "recorded_time": ("记录时间", "Recorded at"),
    "chain_ok": ("审计链校验通过", "Audit chain verified"),
    "chain_broken": ("审计链校验失败", "Audit chain broken"),
    "verify_season": ("全库校验", "Verify everything"),
    "audit_export": ("导出审计记录", "Export the audit trail"),
    "rank_input": ("推荐顺序", "Priority"),
    "quota": ("推荐名额", "Quota"),
    "quota_used": ("本轮计入 {used} / 上限 {limit}", "{used} counted / {limit} allowed"),
    "quota_none": ("本级无名额上限", "No ceiling at this level"),
    "recommend_all": ("按以上顺序一并推荐", "Recommend in this order"),
    "summary_table": ("推荐汇总表 (xlsx)", "Summary table (xlsx)"),
    "download_csv": ("下载 CSV", "Download CSV"),
    "download_xlsx": ("下载 Excel", "Download xlsx"),
    "refused": ("未能办理", "Refused"),
    "done": ("已办理", "Done"),
    "replay_marker": (
        "回放 / replay：本库为回放数据库，页面时间与办理时间均为回放时钟",
        "回放 / replay: a replay database; pages show and act at the replay's clock",
    ),
    "statistics": ("统计数据（名额依据）", "Statistics (quota basis)"),
    "statistics_hint": (
        "推荐名额按以下统计数据计算；整表校验，任何一处有误则整表不保存",
        "Quotas are computed from these figures; the table is checked whole and saved only without any problem",
    ),
    "statistics_saved": ("已保存为第 {version} 版", "Saved as version {version}"),
    "statistics_same": ("与第 {version} 版相同，未新建版本", "Same figures as version {version}; nothing new"),
    "statistics_read_only": ("统计数据由工信部录入；如有出入请联系工信部", "Entered by the ministry (read-only here)"),
    "statistics_none": ("尚未录入，使用年度文件中的数据", "None entered yet: the season file's figures apply"),
    "save_statistics": ("保存统计数据", "Save the statistics"),
    "quota_basis": ("名额依据的统计数据", "Statistics this quota depends on"),
    "versions": ("版本记录", "Versions"),
    "rule": ("依据", "Rule"),
    "documents": ("公文下载", "Documents"),
    "documents_hint": (
        "推荐函、推荐汇总表按本单位已提交的推荐生成；公示名单为公示中的项目",
        "From the unit's submitted round; the notice list is what is on public notice",
    ),
    "document": ("文件", "Document"),
    "letter": ("推荐函", "Recommendation letter (推荐函)"),
    "summary_table_form": ("推荐汇总表", "Summary table (推荐汇总表)"),
    "notice_list_doc": ("公示名单", "Public notice list (公示名单)"),
    "read_only": ("审计视图（只读）", "Auditor's view (read-only)"),
    "notice_open": ("核查通过，开始公示", "Open the public notice"),
    "notice_opens": ("公示开始日期", "Notice opens on"),
    "notice_days": ("公示期（工作日）", "Notice period (working days)"),
    "notice_closes": ("公示截止", "Notice closes on"),
    "notice_list": ("公示中的项目", "On public notice"),
    "notice_close": ("公示期满，认定并发布", "Close the notice and recognise"),
    "funnel": ("各阶段申报数", "Applications per stage"),
    "deadlines": ("时间节点", "Deadlines"),
    "today": ("今天", "Today"),
    "signed_in_as": ("当前用户", "Signed in as"),
    "login_failed": ("登录失败", "Sign-in failed"),
    "language": ("English", "中文"),
    "not_found": ("未找到，或不在您的权限范围内", "Not found, or outside your scope"),
    "too_large": ("提交的内容过大", "Request too large"),
    "csrf": ("表单已失效，请刷新页面后重试", "The form expired; reload the page and try again"),
    # expert review (issue 19)
    "my_reviews": ("我的评审", "My reviews"),
    "my_review": ("我的评审意见", "My review"),
    "expert_review": ("专家评审", "Expert review"),
    "stage": ("评审阶段", "Stage"),
    "panel": ("评审组", "Panel"),
    "due_on": ("评审截止日期", "Due"),
    "status": ("状态", "Status"),
    "submitted": ("已提交", "Submitted"),
    "not_submitted": ("未提交", "Not submitted"),
    "no_reviews": ("暂无分配给您的评审", "No review is assigned to you"),
    "open_review": ("填写评审意见", "Review"),
    "view_review": ("查看", "View"),
    "read_application": ("查看申报材料", "Read the application"),
    "blind_hint": ("提交前您看不到其他专家的评分和姓名；提交后不可修改。",
                   "Other reviewers' scores and names stay hidden until you submit; a submitted review is final."),
    "criteria": ("评分（每项 0–100 分）", "Scores (0-100 each)"),
    "weight": ("权重", "weight"),
    "checklist": ("现场核查项", "On-site items"),
    "item_pass": ("通过", "Pass"),
    "item_fail": ("不通过", "Fail"),
    "finding": ("核查发现", "Finding"),
    "finding_hint": ("不通过的项须填写", "Required for a failed item"),
    "recommendation": ("评审意见", "Recommendation"),
    "comments": ("评审说明", "Comments"),
    "submit_review": ("提交评审意见", "Submit the review"),
    "review_final": ("评审意见已提交，不可修改", "Submitted; a submitted review is final"),
    "other_reviews": ("本组其他专家的评审意见", "The other reviewers' reviews"),
    "fix_errors": ("请修改以下内容", "There is a problem"),
    "reviewer": ("评审专家", "Reviewer"),
    "weighted": ("加权得分", "Weighted score"),
    "progress": ("已提交 {done} / {expected}", "{done} of {expected} submitted"),
    "current_stage": ("（当前阶段）", "(current stage)"),
    "panel_result": ("评审结果", "Panel result"),
    "mean": ("平均分", "Mean"),
    "median": ("中位数", "Median"),
    "spread": ("极差", "Spread"),
    "dispersed": ("专家评分分歧较大", "Reviewers disagree strongly"),
    "recommendations": ("评审意见统计", "Recommendations"),
    "items_failed": ("未通过的核查项", "On-site items failed"),
    "none": ("无", "none"),
    "override_reason": ("回避例外理由", "Conflict override"),
    "build_panel": ("组建评审组", "Build a panel"),
    "panel_name": ("评审组名称", "Panel name"),
    "members": ("成员", "Members"),
    "add_members": ("添加专家到评审组", "Add experts to the panel"),
    "auto_assign": ("自动分配评审专家（自动回避、均衡负担）", "Assign reviewers automatically"),
    "assign_expert": ("指定评审专家", "Assign an expert"),
    "expert": ("专家", "Expert"),
    "override_hint": ("存在回避冲突时必填，记入审计记录", "Required to override a conflict; audited"),
    "conflict": ("回避", "Conflict"),
    "no_panel": ("尚未组建评审组", "No panel yet"),
    "problem_missing": ("请填写此项", "Required"),
    "problem_range": ("请填写 0 到 100 之间的分数", "A number from 0 to 100"),
    "problem_passed": ("请选择通过或不通过", "Choose pass or fail"),
    "problem_finding": ("不通过的核查项须填写核查发现", "A failed item needs its finding"),
    "problem_choice": ("请选择评审意见", "Choose a recommendation"),
    "problem_too_long": ("内容过长", "Too long"),
    "problem_unknown": ("表单中没有此项", "Not on the form"),
}


def text(key: str, lang: str, **values: object) -> str:
    zh, en = UI[key]
    chosen = en if lang == "en" else zh
    return chosen.format(**values) if values else chosen


def state_label(state: str, lang: str) -> str:
    label = next((v for k, v in STATE_LABELS.items() if k.value == state), state)
    return state.replace("_", " ") if lang == "en" else label


def tier_label(tier: str, lang: str) -> str:
    zh = {k.value: v for k, v in TIER_LABELS.items()} | _kind_labels()
    return tier.replace("_", " ") if lang == "en" else zh.get(tier, tier)


def role_label(role: str, lang: str) -> str:
    zh = {k.value: v for k, v in ROLE_LABELS.items()} | {"auditor": "审计人员", "expert": "评审专家"}
    return role.replace("_", " ") if lang == "en" else zh.get(role, role)


def track_label(track: str, lang: str) -> str:
    zh = {k.value: v for k, v in TRACK_LABELS.items()}
    return track if lang == "en" else zh.get(track, track)


def _kind_labels() -> dict[str, str]:
    """District designation kinds (智能车间 …) are season data now (district_calls[].kinds[].label)."""
    from programmes.season import get_season

    calls = getattr(get_season(), "district_calls", ()) or ()
    return {str(k.kind): str(k.label) for call in calls for k in (getattr(call, "kinds", ()) or ())}


def stage_label(stage: str, lang: str) -> str:
    from programmes.panels import STAGE_LABELS

    return stage.replace("_", " ") if lang == "en" else STAGE_LABELS.get(stage, stage)


def recommendation_label(recommendation: str, lang: str) -> str:
    from programmes.reviews import RECOMMENDATION_LABELS

    return recommendation if lang == "en" else RECOMMENDATION_LABELS.get(recommendation, recommendation)


def conflict_label(rule: str, lang: str) -> str:
    from programmes.conflicts import LABELS

    return rule if lang == "en" else LABELS.get(rule, rule)
