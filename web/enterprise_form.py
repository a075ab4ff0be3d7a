"""The application form an enterprise fills in, generated from the season data (style guide §13).

`form_for` lists the sections and fields of a tier on a track (the maturity levels, the guide's links, the
KPI list, the future-mode directions and the materials checklist come from the season file); `read_form`
turns a posted form into the application content (`programmes.application_file.ApplicationFile`) and a
message per field. The schema decides what is valid — this module only maps its answers to the fields:

- "save draft" keeps what is typed: a missing answer is fine, a malformed one (a level of 7, a scenario
  outside the guide) is refused with its field's message;
- "submit" needs every mandatory field; the door's guards then judge the rules (eligibility, deadline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from models.enums import Tier, Track
from programmes.application_file import ApplicationFile
from programmes.rules import material_items
from programmes.season import CallField, DesignationRule, DistrictCall, Season, TierRule, get_season

PLACEHOLDER: dict[str, Any] = {  # stands in for a missing answer while a draft is checked
    "title": "草稿", "maturity_level": 5,
    "pledge": {"truthful": False, "no_secrets": False, "signed_by": "草稿", "signed_on": "2000-01-01"},
}  # fmt: skip
BLOCK = "qingpu"  # the application's block of a district call's own facts (ApplicationFile.qingpu)
BLOCK_PLACEHOLDER = {"number": 0, "date": "2000-01-01"}  # an unanswered question of the block, in a draft
AI_RATIO_KPI = "应用人工智能技术场景比例"  # 附表 KPI 4 is the form's own ai_scenario_ratio field: asked once


def kpis_asked(season: Season) -> list[Any]:
    return [k for k in season.kpis if k.name != AI_RATIO_KPI]


@dataclass
class FormField:
    name: str
    label: str
    kind: str = "text"  # text | textarea | number | date | select | checkbox
    required: bool = False
    hint: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class FormSection:
    title: str
    fields: list[FormField]


def _kpi_name(no: int) -> str:
    return f"kpi_{no}"


def form_for(season: Season, tier: str, track: str, unit: str | None) -> list[FormSection]:
    """The sections of the form of `tier` on `track` for an enterprise of `unit` (附件2 / 附件4 order; a
    district call's kind gets the call's own sections from its `form:` data)."""
    rule = season.tiers.get(str(tier))  # None: a district call's kind, judged by the call's own thresholds
    sections = [
        FormSection("一、申报单位基本信息", [
            FormField("contact_name", "联系人"), FormField("contact_mobile", "联系方式（手机号）")]),
        FormSection("二、智能工厂基本情况", [
            FormField("title", "项目名称", required=True),
            FormField("maturity_level", "智能制造能力成熟度（GB/T 39116-2020 自评等级）", "select", True,
                      f"{rule.label}须达到{rule.min_maturity}级及以上（{rule.maturity_source}）" if rule else "",
                      [(str(m.level), f"{m.level}级 {m.name_zh}") for m in season.maturity_levels]),
            FormField("agrees_to_verification", "同意配合开展现场核查、技术推广和典型案例交流", "checkbox")]),
        _scenario_section(season, rule),
    ]  # fmt: skip
    if tier == Tier.LEADING:
        sections.append(FormSection("四、领航级智能工厂培育方案", [
            FormField("future_modes", "重点探索的未来制造模式（每行一条：方向-模式）", "textarea", True,
                      f"方向：{'、'.join(season.future_modes)}；例：研发模式创新-创成式设计"),
            FormField("industry_leader", "本行业本领域领军企业，核心产品具有全球竞争力", "checkbox")]))  # fmt: skip
    if track == Track.DISTRICT:
        sections.extend(_call_sections(season, str(tier), unit))
    sections.append(FormSection("真实性承诺", [
        FormField("pledge_truthful", "本单位承诺所提交的申报材料真实、准确、完整（真实性承诺）", "checkbox", True),
        FormField("pledge_no_secrets", "申报材料不涉及国家秘密和商业秘密", "checkbox", True),
        FormField("pledge_signed_by", "单位法人（签字）", required=True),
        FormField("pledge_signed_on", "日期", "date", True)]))  # fmt: skip
    return sections


def _scenario_section(season: Season, rule: TierRule | None) -> FormSection:
    """Scenario instances (mandatory for a 要素 tier: its segments are judged from them), the AI ratio and the
    KPIs of 要素 附表 (asked of the 要素 tiers only)."""
    links = "、".join(g.link for g in season.guide)
    fields = [FormField("scenarios", "典型场景实例（每行一条：环节—场景—实例）", "textarea", rule is not None,
                        f"环节：{links}；例：生产作业—人机协同作业—多机协同的发动机壳体柔性加工与检测")]  # fmt: skip
    if rule is not None:
        fields += [FormField("ai_scenario_ratio", "应用人工智能技术场景比例（%）", "number",
                             hint=f"不低于{rule.ai_ratio_min}%（{rule.ai_ratio_source}）" if rule.ai_ratio_min else ""),
                   *[FormField(_kpi_name(k.no), f"{k.name}（{k.unit}）", "number", hint=k.group)
                     for k in kpis_asked(season)]]  # fmt: skip
    return FormSection("三、智能工厂场景建设情况", fields)


# ---- a district call's own section (the `qingpu` block) -------------------------------------------


def call_field_name(name: str) -> str:
    """The form field of a `qingpu` block field."""
    return f"{BLOCK}_{name}"


def option_field_name(name: str, option: str) -> str:
    """The checkbox of one option of a list field of the block (a form posts one value per name)."""
    return f"{call_field_name(name)}:{option}"


def _questions(call: DistrictCall) -> list[CallField]:
    return [f for section in call.form for f in section.fields]


def _options(season: Season, call: DistrictCall, f: CallField) -> list[str]:
    if f.options == "guide_links":
        return list(dict.fromkeys(g.link for g in season.guide))
    return list(call.new_it_tags) if f.options == "new_it_tags" else []


def _call_hint(f: CallField, spec: DesignationRule | None) -> str:
    """The question's hint: the kind's own minimum (from the call's kinds), the data's hint, the clause."""
    minimum = getattr(spec, f.threshold) if spec is not None and f.threshold else 0
    parts = [f"{spec.label}：不低于{minimum:,}" if spec is not None and minimum else "", f.hint]
    return "；".join(p for p in parts if p) + f"（{f.source}）"


def _call_sections(season: Season, kind: str, unit: str | None) -> list[FormSection]:
    """The call's own sections for an enterprise of `unit` applying for `kind` (none: no call covers it)."""
    call = season.district_call(unit)
    if call is None:
        return []
    spec = next((k for k in call.kinds if k.kind == kind), None)
    return [FormSection(section.title, [
        FormField(call_field_name(f.name), f.label, f.kind, f.required, _call_hint(f, spec),
                  [(option_field_name(f.name, o), o) for o in _options(season, call, f)])
        for f in section.fields]) for section in call.form]  # fmt: skip


def _block_of(form: dict[str, str], season: Season, call: DistrictCall) -> dict[str, Any]:
    """The `qingpu` block a posted form describes (unanswered numbers and dates left out)."""
    block: dict[str, Any] = {}
    for f in _questions(call):
        name = call_field_name(f.name)
        if f.kind == "checkboxes":
            block[f.name] = [o for o in _options(season, call, f) if form.get(option_field_name(f.name, o)) == "on"]
        elif f.kind == "checkbox":
            block[f.name] = form.get(name) == "on"
        elif value := form.get(name, "").strip():
            block[f.name] = value
    return block


def _block_values(block: dict[str, Any], season: Season, call: DistrictCall) -> dict[str, str]:
    """The form's answers from a stored `qingpu` block (the inverse of `_block_of`)."""
    values: dict[str, str] = {}
    for f in _questions(call):
        answer = block.get(f.name)
        if f.kind == "checkboxes":
            values |= {option_field_name(f.name, o): "on" for o in _options(season, call, f) if o in (answer or [])}
        elif f.kind == "checkbox":
            values[call_field_name(f.name)] = "on" if answer else ""
        else:
            values[call_field_name(f.name)] = "" if answer is None else str(answer)
    return values


def materials_for(season: Season, tier: str, track: str, unit: str | None) -> list[Any]:
    return list(material_items(season, tier, track, unit)[0])


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _number(value: str) -> str | None:
    return value.strip() or None


def _level(value: str) -> int | str | None:
    text = value.strip()
    return int(text) if text.isdigit() and len(text) < 3 else (text or None)


def content_of(form: dict[str, str], *, base: dict[str, Any], season: Season,
               unit: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The application content a posted form describes (`base`: the identity and the stored materials;
    `unit`: the enterprise's, whose district call asks the block on the district track)."""
    kpis = {k.name: v for k in kpis_asked(season) if (v := _number(form.get(_kpi_name(k.no), "")))}
    content: dict[str, Any] = {
        **base,
        "title": form.get("title", "").strip(),
        "maturity_level": _level(form.get("maturity_level", "")),
        "scenarios": _lines(form.get("scenarios", "")),
        "ai_scenario_ratio": _number(form.get("ai_scenario_ratio", "")),
        "kpis": kpis,
        "agrees_to_verification": form.get("agrees_to_verification") == "on",
        "contact_name": form.get("contact_name", "").strip(),
        "contact_mobile": form.get("contact_mobile", "").strip(),
        "pledge": {"truthful": form.get("pledge_truthful") == "on", "no_secrets": form.get("pledge_no_secrets") == "on",
                   "signed_by": form.get("pledge_signed_by", "").strip(),
                   "signed_on": form.get("pledge_signed_on", "").strip()},
    }  # fmt: skip
    if base.get("tier") == Tier.LEADING:
        content["future_modes"] = _lines(form.get("future_modes", ""))
        content["industry_leader"] = form.get("industry_leader") == "on"
    if base.get("track") == Track.DISTRICT and (call := season.district_call(unit)) is not None:
        content[BLOCK] = _block_of(form, season, call)
    return {k: v for k, v in content.items() if v not in (None, "")}


def values_of(content: dict[str, Any], season: Season, unit: str | None = None) -> dict[str, str]:
    """The form's answers from stored content (the inverse of `content_of`)."""
    pledge = content.get("pledge") or {}
    kpis = content.get("kpis") or {}
    values = {k: str(content.get(k) or "") for k in ("title", "maturity_level", "ai_scenario_ratio", "contact_name",
                                                       "contact_mobile")}  # fmt: skip
    values |= {"scenarios": "\n".join(content.get("scenarios") or []),
               "future_modes": "\n".join(content.get("future_modes") or []),
               "pledge_signed_by": str(pledge.get("signed_by") or ""),
               "pledge_signed_on": str(pledge.get("signed_on") or "")}  # fmt: skip
    values |= {_kpi_name(k.no): str(kpis[k.name]) for k in season.kpis if k.name in kpis}
    for name, on in (("agrees_to_verification", content.get("agrees_to_verification", True)),
                     ("industry_leader", content.get("industry_leader")), ("pledge_truthful", pledge.get("truthful")),
                     ("pledge_no_secrets", pledge.get("no_secrets"))):  # fmt: skip
        values[name] = "on" if on else ""
    if (call := season.district_call(unit)) is not None and isinstance(content.get(BLOCK), dict):
        values |= _block_values(content[BLOCK], season, call)
    return values


def _field_of(loc: tuple[Any, ...], message: str, season: Season) -> str:
    """The form field a schema error belongs to."""
    if not loc:
        lowered = message.lower()
        return "future_modes" if "future" in lowered else "scenarios"
    head = str(loc[0])
    if head in ("pledge", BLOCK) and len(loc) > 1:
        return f"{head}_{loc[1]}"
    if head == "kpis" and len(loc) > 1:
        return next((_kpi_name(k.no) for k in season.kpis if k.name == loc[1]), "scenarios")
    return head


def _missing(form: list[FormSection], content: dict[str, Any]) -> dict[str, str]:
    """Mandatory answers not given (submit only)."""
    errors = {}
    nested = {f"{block}_{k}": v for block in ("pledge", BLOCK) for k, v in (content.get(block) or {}).items()}
    given = {**content, **nested}
    for section in form:
        for f in section.fields:
            if f.required and not given.get(f.name):
                errors[f.name] = f"请填写或勾选：{f.label}"
    return errors


def _trial(content: dict[str, Any], season: Season, unit: str | None) -> dict[str, Any]:
    """The content with placeholders for what a draft may leave unanswered, to check the rest."""
    checked = {**content, "pledge": {**PLACEHOLDER["pledge"], **{k: v for k, v in content["pledge"].items() if v}}}
    if BLOCK in content and (call := season.district_call(unit)) is not None:
        fillers = {f.name: BLOCK_PLACEHOLDER[f.kind] for f in _questions(call) if f.kind in BLOCK_PLACEHOLDER}
        checked[BLOCK] = {**fillers, **content[BLOCK]}
    return {**PLACEHOLDER, **checked}


def read_form(form: dict[str, str], *, base: dict[str, Any], submitting: bool,
              unit: str | None = None) -> tuple[dict[str, Any], dict[str, str]]:  # fmt: skip
    """(content, errors by field). Errors empty: the content is acceptable for a draft (or a submission).
    `unit`: the enterprise's jurisdiction (its district call's questions on the district track)."""
    season = get_season(str(base["season"]))
    sections = form_for(season, str(base["tier"]), str(base["track"]), unit)
    content = content_of(form, base=base, season=season, unit=unit)
    errors = _missing(sections, content) if submitting else {}
    try:
        parsed = ApplicationFile.model_validate(_trial(content, season, unit))
    except ValidationError as exc:
        labels = {f.name: f.label for s in sections for f in s.fields}
        for error in exc.errors():
            name = _field_of(tuple(error.get("loc", ())), str(error.get("msg", "")), season)
            errors.setdefault(name, f"{labels.get(name, name)}：{error.get('msg', '')}")
        return content, errors
    if submitting and not errors:  # stored as the CLI stores a file: the schema's own JSON
        content = parsed.model_dump(mode="json")
    return content, errors


def choices(season: Season, unit: str) -> list[tuple[str, str]]:
    """(tier, track) pairs an enterprise of `unit` can apply for online: a submit deadline covers it (the
    district track's tiers are the season's call kinds; only the call's own district has their deadline)."""
    offered = [(tier.value, track.value) for track in (Track.NATIONAL, Track.PROVINCIAL) for tier in Tier]
    offered += [(kind, Track.DISTRICT.value) for kind in season.designation_kinds]
    return [(tier, track) for tier, track in offered if season.deadline_for(unit, "submit", tier, track) is not None]
