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
from programmes.season import Season, get_season

PLACEHOLDER: dict[str, Any] = {  # stands in for a missing answer while a draft is checked
    "title": "草稿", "maturity_level": 5,
    "pledge": {"truthful": False, "no_secrets": False, "signed_by": "草稿", "signed_on": "2000-01-01"},
}  # fmt: skip
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
    """The sections of the form of `tier` on `track` for an enterprise of `unit` (附件2 / 附件4 order)."""
    rule = season.tier_rule(tier)
    links = "、".join(g.link for g in season.guide)
    sections = [
        FormSection("一、申报单位基本信息", [
            FormField("contact_name", "联系人"), FormField("contact_mobile", "联系方式（手机号）")]),
        FormSection("二、智能工厂基本情况", [
            FormField("title", "项目名称", required=True),
            FormField("maturity_level", "智能制造能力成熟度（GB/T 39116-2020 自评等级）", "select", True,
                      f"{rule.label}须达到{rule.min_maturity}级及以上（{rule.maturity_source}）",
                      [(str(m.level), f"{m.level}级 {m.name_zh}") for m in season.maturity_levels]),
            FormField("agrees_to_verification", "同意配合开展现场核查、技术推广和典型案例交流", "checkbox")]),
        FormSection("三、智能工厂场景建设情况", [
            FormField("scenarios", "典型场景实例（每行一条：环节—场景—实例）", "textarea", True,
                      f"环节：{links}；例：生产作业—人机协同作业—多机协同的发动机壳体柔性加工与检测"),
            FormField("ai_scenario_ratio", "应用人工智能技术场景比例（%）", "number",
                      hint=f"不低于{rule.ai_ratio_min}%（{rule.ai_ratio_source}）" if rule.ai_ratio_min else ""),
            *[FormField(_kpi_name(k.no), f"{k.name}（{k.unit}）", "number", hint=k.group)
              for k in kpis_asked(season)]]),
    ]  # fmt: skip
    if tier == Tier.LEADING:
        sections.append(FormSection("四、领航级智能工厂培育方案", [
            FormField("future_modes", "重点探索的未来制造模式（每行一条：方向-模式）", "textarea", True,
                      f"方向：{'、'.join(season.future_modes)}；例：研发模式创新-创成式设计"),
            FormField("industry_leader", "本行业本领域领军企业，核心产品具有全球竞争力", "checkbox")]))  # fmt: skip
    sections.append(FormSection("真实性承诺", [
        FormField("pledge_truthful", "本单位承诺所提交的申报材料真实、准确、完整（真实性承诺）", "checkbox", True),
        FormField("pledge_no_secrets", "申报材料不涉及国家秘密和商业秘密", "checkbox", True),
        FormField("pledge_signed_by", "单位法人（签字）", required=True),
        FormField("pledge_signed_on", "日期", "date", True)]))  # fmt: skip
    return sections


def materials_for(season: Season, tier: str, track: str, unit: str | None) -> list[Any]:
    return list(material_items(season, tier, track, unit)[0])


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _number(value: str) -> str | None:
    return value.strip() or None


def _level(value: str) -> int | str | None:
    text = value.strip()
    return int(text) if text.isdigit() and len(text) < 3 else (text or None)


def content_of(form: dict[str, str], *, base: dict[str, Any], season: Season) -> dict[str, Any]:
    """The application content a posted form describes (`base`: the identity and the stored materials)."""
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
    return {k: v for k, v in content.items() if v not in (None, "")}


def values_of(content: dict[str, Any], season: Season) -> dict[str, str]:
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
    return values


def _field_of(loc: tuple[Any, ...], message: str, season: Season) -> str:
    """The form field a schema error belongs to."""
    if not loc:
        lowered = message.lower()
        return "future_modes" if "future" in lowered else "scenarios"
    head = str(loc[0])
    if head == "pledge" and len(loc) > 1:
        return f"pledge_{loc[1]}"
    if head == "kpis" and len(loc) > 1:
        return next((_kpi_name(k.no) for k in season.kpis if k.name == loc[1]), "scenarios")
    return head


def _missing(form: list[FormSection], content: dict[str, Any]) -> dict[str, str]:
    """Mandatory answers not given (submit only)."""
    errors = {}
    given = {**content, **{f"pledge_{k}": v for k, v in (content.get("pledge") or {}).items()}}
    for section in form:
        for f in section.fields:
            if f.required and not given.get(f.name):
                errors[f.name] = f"请填写或勾选：{f.label}"
    return errors


def read_form(form: dict[str, str], *, base: dict[str, Any], submitting: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """(content, errors by field). Errors empty: the content is acceptable for a draft (or a submission)."""
    season = get_season(str(base["season"]))
    sections = form_for(season, str(base["tier"]), str(base["track"]), None)
    content = content_of(form, base=base, season=season)
    errors = _missing(sections, content) if submitting else {}
    checked = {**content, "pledge": {**PLACEHOLDER["pledge"], **{k: v for k, v in content["pledge"].items() if v}}}
    trial = {**PLACEHOLDER, **checked}
    try:
        parsed = ApplicationFile.model_validate(trial)
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
    """(tier, track) pairs an enterprise of `unit` can apply for online: a submit deadline covers it."""
    out = []
    for track in (Track.NATIONAL, Track.PROVINCIAL):
        for tier in Tier:
            if season.deadline_for(unit, "submit", tier.value, track.value) is not None:
                out.append((tier.value, track.value))
    return out
