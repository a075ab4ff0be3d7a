"""The programme's guards (`GUARDS` below; `programmes.wiring` registers them with `states.guards`).

Each guard reads the season of the application (`get_season(application.season)`), raises a typed error
naming its rule and the seed clause, and has no side effect except reviewer warnings in `ctx.warnings`.

    eligible            the applicant and the tier's requirements (要素 一-五; 251 §2(一), §3(一); TJ; QP)
    content_complete    the application file is valid and its material checklist complete (附件2/4; TJ; QP §4)
    deadline:submit     the enterprise's jurisdiction's submission deadline, end of day Asia/Shanghai
    deadline:recommend  the holder unit's recommendation deadline, end of day Asia/Shanghai
    ranked              the holder unit ranked the application (按推荐项目优先顺序, 251 §2(二)3)
    notice_scheduled    a public notice carries the closing day computed in working days (QP §5(二))
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from models.clock import end_of_day, is_on_or_before, local_date, shanghai_text
from models.enums import Track
from models.errors import DeadlinePassed, MaterialsIncomplete, NotEligible, TransitionRefused
from models.tables import Enterprise
from programmes.application_file import ApplicationFile, QingpuFields
from programmes.deadlines import effective_deadline
from programmes.season import DesignationRule, DistrictCall, Material, Season, get_season
from programmes.workdays import add_working_days
from states.guards import Guard, GuardContext

# ---- helpers -----------------------------------------------------------------------------------


def _warn(ctx: GuardContext, rule: str, source: str, message: str) -> None:
    ctx.warnings.append({"rule": rule, "source": source, "message": message})


def parsed_content(ctx: GuardContext) -> ApplicationFile:
    """The stored content, re-validated (the schema is the first material check); once per decision."""
    known: ApplicationFile | None = ctx.memo.get("content")
    if known is not None:
        return known
    try:
        known = ctx.memo["content"] = ApplicationFile.model_validate(ctx.application.content)
        return known
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "content"
        raise MaterialsIncomplete(
            f"application content is not a valid application file: {where}: {first.get('msg')}",
            rule="application-schema",
            source="251 附件2/附件4 (申报材料清单); the application file schema (README)",
        ) from None


def _call_source(season: Season, enterprise: Enterprise, track: str) -> tuple[str, str]:
    """(where the applicant must be registered, clause) for the call the application answers."""
    rule = season.registration_for(track, enterprise.jurisdiction)
    if rule is None:
        raise NotEligible(
            f"season {season.name} declares no {track} call for {enterprise.jurisdiction}",
            rule="registered-in-jurisdiction",
            source=f"season {season.name}: registration",
        )
    return rule.where or season.province_of(enterprise.jurisdiction).name_zh, rule.source


def check_registration(season: Season, enterprise: Enterprise, track: str) -> None:
    """Registered in the call's jurisdiction: the enterprise's units are the season's, and the credit
    code's administrative division (characters 3-8) lies in its province (GB 32100-2015, GB/T 2260)."""
    where, source = _call_source(season, enterprise, track)
    for code in (enterprise.province, enterprise.city, enterprise.district):
        if code and not season.has_unit(code):
            raise NotEligible(
                f"unit {code!r} is not a jurisdiction of season {season.name}",
                rule="registered-in-jurisdiction",
                source=source,
            )
    province = season.province_of(enterprise.jurisdiction)
    if province.division and not enterprise.credit_code[2:8].startswith(province.division):
        raise NotEligible(
            f"the credit code's division {enterprise.credit_code[2:8]} is not in {province.name_zh} "
            f"({province.division}…): the applicant must be registered in {where}",
            rule="registered-in-jurisdiction",
            source=source,
        )


def check_legal_person(season: Season, enterprise: Enterprise) -> None:
    """An independent legal person; a branch only in industries such as 石油石化, 有色金属."""
    if enterprise.is_branch and not any(ind in (enterprise.industry or "") for ind in season.special_industries):
        raise NotEligible(
            f"a branch (分支机构) may apply only in {'、'.join(season.special_industries)} and similar industries; "
            f"{enterprise.name} is a branch in {enterprise.industry!r}",
            rule="independent-legal-person",
            source=season.special_industries_source,
        )


def check_basic_requirements(enterprise: Enterprise, *, size: bool = True, clean_3y: bool = True) -> None:
    """要素 一.1-4: above designated size, three clean years, secure and controllable, organisation."""
    checks = [
        (size, enterprise.above_designated_size, "above-designated-size",
         "the enterprise must be an above-designated-size industrial enterprise (规模以上工业企业)", "要素 一.1"),
        (clean_3y, enterprise.clean_record_3y, "clean-record-3y",
         "the last three years must show good operations, no bad credit record, no major-or-worse safety or "
         "environmental accident and no violation", "要素 一.2"),
        (True, enterprise.security_controllable, "security-controllable",
         "key equipment, industrial software, OS and solutions must be secure and controllable", "要素 一.3"),
        (True, enterprise.has_smart_factory_org, "smart-factory-organisation",
         "an organisation for planning, building and running the smart factory, with qualified staff, is required",
         "要素 一.4"),
    ]  # fmt: skip
    for applies, holds, rule, message, source in checks:
        if applies and not holds:
            raise NotEligible(message, rule=rule, source=source)


def check_maturity(season: Season, tier: str, level: int) -> None:
    rule = season.tier_rule(tier)
    if level < rule.min_maturity:
        raise NotEligible(
            f"{rule.label} needs maturity level {rule.min_maturity} or higher (GB/T 39116-2020); the application "
            f"declares level {level}",
            rule="maturity",
            source=rule.maturity_source,
        )


def check_prerequisite(season: Season, enterprise: Enterprise, tier: str, track: str) -> None:
    prereq = season.prerequisite_for(enterprise, tier, track)
    if prereq is None:
        return
    held = [r for r in (enterprise.recognitions or []) if isinstance(r, dict)]
    if any(pattern.matches(r) for pattern in prereq.any_of for r in held):
        return
    wanted = " or ".join(
        season.tier_rule(p.tier).label + "".join(f" {k}={v}" for k in ("by", "year", "batch") if (v := getattr(p, k)))
        for p in prereq.any_of
    )
    raise NotEligible(
        f"{season.tier_rule(tier).label} needs a prior recognition: {wanted}; the enterprise holds {held or 'none'}",
        rule="prerequisite-tier",
        source=prereq.source,
    )


def check_segments(ctx: GuardContext | None, season: Season, tier: str, covered: set[str]) -> None:
    rule = season.tier_rule(tier)
    missing = [s for s in rule.segments if s not in covered]
    if not missing:
        return
    message = f"{rule.label} covers {'、'.join(rule.segments)}; missing: {'、'.join(missing)}"
    if rule.segments_mode == "warn":
        if ctx is not None:
            _warn(ctx, "segments-in-principle", rule.segments_source, message + " (原则上: recorded for reviewers)")
        return
    raise NotEligible(message, rule="segments", source=rule.segments_source)


def check_ai_ratio(season: Season, tier: str, ratio: Decimal | None) -> None:
    """Compared exactly as a decimal: 19.9 % is below 20 %."""
    rule = season.tier_rule(tier)
    if rule.ai_ratio_min is None:
        return
    minimum = Decimal(str(rule.ai_ratio_min))
    if ratio is None or Decimal(str(ratio)) < minimum:
        raise NotEligible(
            f"{rule.label} needs an AI-scenario ratio (应用人工智能技术场景比例) of at least {minimum}%; "
            f"the application declares {ratio if ratio is not None else 'none'}%",
            rule="ai-scenario-ratio",
            source=rule.ai_ratio_source,
        )


def check_designation(
    ctx: GuardContext | None, season: Season, enterprise: Enterprise, kind: str, form: ApplicationFile
) -> None:
    """A district designation call (e.g. QP §1-§3): located, registered and taxed in the district; the
    kind's investment; built by the call's date; clean years; key links and new-generation IT scenarios;
    smart lines; upgrades only to a higher kind. Thresholds and clauses come from the call's data."""
    call = season.district_call(enterprise.district)
    if call is None or form.qingpu is None:
        raise NotEligible(
            f"no district designation call of season {season.name} covers {enterprise.jurisdiction}",
            rule="registered-in-jurisdiction",
            source=f"season {season.name}: district_calls",
        )
    clauses = call.clauses
    unit = season.unit(call.unit)
    if enterprise.tax_district != call.unit:
        raise NotEligible(
            f"the enterprise's tax registration (财税户管地) must be in {unit.name_zh}; "
            f"it is {enterprise.tax_district!r}",
            rule="taxed-in-district",
            source=clauses.taxed,
        )
    spec = next((k for k in call.kinds if k.kind == kind), None)
    if spec is None:
        raise NotEligible(
            f"{kind!r} is not a kind of the {unit.name_zh} call", rule="designation-kind", source=clauses.registered
        )
    _check_project(ctx, call, spec, form.qingpu)
    _check_upgrade(enterprise, call, spec, unit.name_zh)


def _check_project(ctx: GuardContext | None, call: DistrictCall, spec: DesignationRule, q: QingpuFields) -> None:
    """The kind's thresholds: clean years, investment, built by, key links, new-generation IT, smart lines."""
    clauses = call.clauses
    if not q.no_major_incident_2y:
        raise NotEligible(
            f"no major safety, quality or environmental problem in the last {call.clean_years} years",
            rule="clean-record-2y",
            source=clauses.clean_record,
        )
    if q.investment_cny < spec.min_investment_cny:
        raise NotEligible(
            f"{spec.label} needs cumulative hardware and software investment of at least "
            f"{spec.min_investment_cny:,} CNY; declared {q.investment_cny:,}",
            rule="investment-threshold",
            source=spec.source,
        )
    if q.built_on > call.built_by:
        message = f"built and in production on {q.built_on.isoformat()}, after {call.built_by.isoformat()}"
        if call.built_by_mode == "block":
            raise NotEligible(message, rule="built-by", source=clauses.built_by)
        if ctx is not None:
            _warn(ctx, "built-by-in-principle", clauses.built_by, message)
    if spec.min_key_links and len(set(q.key_links)) < spec.min_key_links:
        raise NotEligible(
            f"{spec.label} covers at least {spec.min_key_links} key links (重点环节) of the guide; "
            f"declared {q.key_links}",
            rule="key-links",
            source=clauses.key_links,
        )
    if spec.needs_new_it_scenario and not set(q.new_it_scenarios) & set(call.new_it_tags):
        raise NotEligible(
            f"{spec.label} needs a scenario integrating new-generation IT ({'、'.join(call.new_it_tags)})",
            rule="new-it-scenario",
            source=clauses.new_it,
        )
    if spec.min_smart_lines and q.smart_lines < spec.min_smart_lines:
        raise NotEligible(
            f"{spec.label} has at least {spec.min_smart_lines} smart production lines; declared {q.smart_lines}",
            rule="smart-lines",
            source=clauses.smart_lines,
        )


def _check_upgrade(enterprise: Enterprise, call: DistrictCall, spec: DesignationRule, unit_name: str) -> None:
    """Already designated by the call's district: only an upgrade to a higher kind."""
    recognitions = [r for r in (enterprise.recognitions or []) if isinstance(r, dict) and r.get("by") == call.unit]
    held = {str(r.get("tier")) for r in recognitions} & {k.kind for k in call.kinds}
    if held and not held <= set(spec.upgrades_from):
        raise NotEligible(
            f"already designated as {sorted(held)} by {unit_name}: may apply only for a higher kind "
            f"({spec.label} accepts upgrades from {list(spec.upgrades_from) or 'none'})",
            rule="upgrade-path",
            source=call.clauses.upgrade,
        )


def check_eligibility(
    season: Season, enterprise: Enterprise, form: ApplicationFile, ctx: GuardContext | None = None
) -> None:
    """Every eligibility rule for the form's track and tier; raises the first failure (NotEligible)."""
    track, tier = str(form.track), str(form.tier)
    if form.credit_code != enterprise.credit_code:
        raise NotEligible(
            f"the application names {form.credit_code}, the applicant is {enterprise.credit_code}",
            rule="applicant",
            source="251 附件2 申报单位基本信息",
        )
    if track == Track.DISTRICT:
        check_designation(ctx, season, enterprise, tier, form)
        return
    check_registration(season, enterprise, track)
    check_legal_person(season, enterprise)
    check_basic_requirements(enterprise)
    if not form.agrees_to_verification:
        raise NotEligible(
            "the applicant must agree to on-site verification, technology promotion and case exchange",
            rule="agrees-to-verification",
            source="251 §2(一)3, §3(一)4; TJ §3(一)3",
        )
    if tier == "leading" and not form.industry_leader:
        raise NotEligible(
            "leading-tier applicants must be the industry's leading enterprise (本行业本领域领军企业) with globally "
            "competitive core products",
            rule="industry-leader",
            source="251 §3(一)2; 430 §2(一)2",
        )
    check_maturity(season, tier, form.maturity_level)
    check_prerequisite(season, enterprise, tier, track)
    check_segments(ctx, season, tier, form.covered_segments())
    check_ai_ratio(season, tier, form.ai_scenario_ratio)


def material_items(season: Season, tier: str, track: str, unit: str | None) -> tuple[tuple[Material, ...], str]:
    """The checklist items (and their clause) of the call an enterprise of `unit` answers; the web form
    offers one upload per item."""
    if track == Track.DISTRICT:
        call = season.district_call(unit)
        return (call.materials, call.clauses.materials) if call else ((), "")
    checklist = season.checklist(tier, track, unit)
    return (checklist.items, checklist.source) if checklist else ((), "")


def check_materials(season: Season, form: ApplicationFile, unit: str | None) -> None:
    """The material checklist of the call an enterprise of `unit` answers (附件2: 4 items; 附件4: 5 with the
    cultivation plan; a province's or a district call's own list)."""
    items, source = material_items(season, str(form.tier), str(form.track), unit)
    missing = [m for m in items if m.required and not str(form.materials.get(m.key, "")).strip()]
    if missing:
        raise MaterialsIncomplete(
            "materials missing: " + "; ".join(f"{m.key} ({m.name_zh})" for m in missing),
            rule="material-checklist",
            source=source,
        )
    if not form.scenarios and str(form.track) == Track.NATIONAL:
        raise MaterialsIncomplete(
            "list the typical scenario instances (涉及典型场景实例) as 环节—场景—实例",
            rule="scenario-instances",
            source="251 附件3/附件5; 附件2 item 3",
        )
    if str(form.tier) == "leading" and not form.future_modes:
        raise MaterialsIncomplete(
            "the leading tier lists the future manufacturing modes it explores (重点探索的未来制造模式清单)",
            rule="future-modes",
            source="251 附件4 item 4, 附件5",
        )


# ---- the guards --------------------------------------------------------------------------------


def eligible(ctx: GuardContext) -> None:
    """Applicant and tier requirements; "in principle" shortfalls become reviewer warnings."""
    season = get_season(ctx.application.season)
    form = parsed_content(ctx)
    if str(form.tier) != ctx.application.tier or str(form.track) != ctx.application.track:
        raise NotEligible(
            f"the content is for {form.tier}/{form.track}, the application for {ctx.application.tier}/"
            f"{ctx.application.track}",
            rule="applicant",
            source="251 §2(二)1, §3(二)1 (申报书)",
        )
    check_eligibility(season, ctx.enterprise, form, ctx)


def content_complete(ctx: GuardContext) -> None:
    season = get_season(ctx.application.season)
    check_materials(season, parsed_content(ctx), ctx.enterprise.jurisdiction)


def deadline_error(step: str, unit: str, on: date, source: str, at: Any, extended: bool) -> DeadlinePassed:
    what = "online submission" if step == "submit" else "recommendation"
    return DeadlinePassed(
        f"{what} for {unit} closed at the end of {on.isoformat()} (Asia/Shanghai, {shanghai_text(end_of_day(on))}); "
        f"it is now {shanghai_text(at)}" + (" (extended deadline)" if extended else ""),
        rule=f"deadline:{step}",
        source=source,
        deadline=on.isoformat(),
        unit=unit,
    )


def check_deadline(ctx: GuardContext, step: str, unit: str | None) -> None:
    if unit is None:
        raise TransitionRefused("no unit holds the application", rule=f"deadline:{step}",
                                source="the lifecycle table (`factory-review diagram`)")  # fmt: skip
    app = ctx.application
    deadline = effective_deadline(ctx.session, app.season, unit, step, app.tier, app.track)
    if deadline is not None and not is_on_or_before(ctx.at, deadline.on):
        raise deadline_error(step, unit, deadline.on, deadline.source, ctx.at, deadline.extended)


def deadline_submit(ctx: GuardContext) -> None:
    """The submission deadline of the enterprise's jurisdiction ("…前": by the end of that day)."""
    check_deadline(ctx, "submit", ctx.enterprise.jurisdiction)


def deadline_recommend(ctx: GuardContext) -> None:
    """The recommendation deadline of the unit that holds the application now."""
    check_deadline(ctx, "recommend", ctx.holder_unit)


def ranked(ctx: GuardContext) -> None:
    """Recommendation goes through a ranked round (programmes.recommendation.submit_ranked_recommendation)."""
    unit = ctx.holder_unit
    if unit is None or (ctx.application.ranks or {}).get(unit) is None:
        raise TransitionRefused(
            f"{unit} has not ranked application {ctx.application.id}: recommend through a ranked round "
            "(factory-review recommend UNIT TIER APP_ID...)",
            rule="ranked-recommendation",
            source="251 §2(二)3, §3(二)3; 430 §1(二)2 (按推荐项目优先顺序填写推荐汇总表)",
        )


def notice_scheduled(ctx: GuardContext) -> None:
    """Opening a public notice: data carries `milestone.notice_opens_on` and a `notice_closes_on` equal
    to the opening day plus the call's working days on China's official calendar (e.g. QP §5(二))."""
    season = get_season(ctx.application.season)
    call = season.district_call(ctx.holder_unit)
    if call is None:
        raise TransitionRefused(
            f"no designation call of season {season.name} covers {ctx.holder_unit}",
            rule="notice-period",
            source=f"season {season.name}: district_calls",
        )
    days, source = call.notice_working_days, call.clauses.notice
    milestone = dict(ctx.data.get("milestone") or {})
    opens, closes = milestone.get("notice_opens_on"), milestone.get("notice_closes_on")
    if not opens or not closes:
        raise TransitionRefused(
            "opening a public notice needs notice_opens_on and notice_closes_on "
            "(use programmes.tracks.notice_milestone)",
            rule="notice-period",
            source=source,
        )
    expected = add_working_days(date.fromisoformat(opens), days)
    if expected.isoformat() != closes:
        raise TransitionRefused(
            f"a notice opened on {opens} runs {days} working days and closes on {expected.isoformat()}, not {closes}",
            rule="notice-period",
            source=source,
        )
    if date.fromisoformat(opens) < local_date(ctx.at):
        raise TransitionRefused(f"a notice cannot open in the past ({opens})", rule="notice-period", source=source)


# The guards the lifecycle tables name, registered by the composition root (programmes.wiring).
GUARDS: dict[str, Guard] = {
    "eligible": eligible,
    "content_complete": content_complete,
    "deadline:submit": deadline_submit,
    "deadline:recommend": deadline_recommend,
    "ranked": ranked,
    "notice_scheduled": notice_scheduled,
}
