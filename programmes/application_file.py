"""The application file: what an enterprise submits, as YAML or JSON (samples in `examples/`).

`factory-review apply FILE` validates it with `ApplicationFile.model_validate(...)` and stores
`model_dump(mode="json")` in `Application.content`. The schema checks form (credit code, the
`环节—场景—实例` scenario strings against the season's guide, the future-mode strings, the Qingpu block on
the district track); the rules of a tier (maturity, segments, AI ratio, prerequisites, materials) are
guards in `programmes.rules`, run at submission, so a draft can be saved and is refused with the clause.

Fields (all tracks):
    credit_code       统一社会信用代码 of the applicant (GB 32100-2015, check character verified)
    tier              basic | advanced | excellent | leading, or a Qingpu kind on the district track
    track             national | provincial | district
    season            "2025" (a season name in programmes/seasons/)
    title             项目名称 (the summary table's project name)
    maturity_level    GB/T 39116-2020 self-assessed level, 1-5 (要素 一.5)
    segments          要素 segments covered (工厂建设, 研发设计, 生产作业, 生产管理, 运营管理); may be left out,
                      then derived from `scenarios`; each one listed must have a scenario instance in it
    scenarios         ["生产作业—人机协同作业—多机协同的发动机壳体柔性加工与检测", ...] (附件3 示例)
    ai_scenario_ratio 应用人工智能技术场景比例, percent, compared exactly (要素 四(二)1, 五(二)1)
    materials         checklist key → the file or text that answers it (附件2: 4 items, 附件4: 5 items)
    future_modes      leading only: ["研发模式创新-创成式设计", ...] (附件5 示例)
    industry_leader   leading only: 本行业本领域领军企业 (251 §3(一)2)
    agrees_to_verification  配合开展现场核查、技术推广和典型案例交流 (251 §2(一)3, §3(一)4)
    pledge            真实性承诺 {truthful, no_secrets, signed_by, signed_on} (251 §2(二)1; 002_… 承诺书)
    contact_name, contact_mobile   联系人 / 联系方式（手机号） for the summary table (default: the enterprise's)
    qingpu            district track only: {investment_cny, built_on, key_links, new_it_scenarios,
                      smart_lines, no_major_incident_2y} (QP §1-§3)
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.credit_code import CreditCodeError, validate_credit_code
from models.enums import Tier, Track
from models.limits import MAX_APPLICATION_LIST, ShortText, check_tree, load_file_bounded
from models.settings import get_settings

SCENARIO_DASH = "—"  # U+2014, as printed in 附件3 (a few ASCII look-alikes are accepted on input)
_DASHES = ("——", "－", "–", "—", "-")
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"


class Pledge(BaseModel):
    """真实性承诺 (002_… 承诺书; 251 §2(二)1): truthful, no state or trade secrets, signed and dated."""

    model_config = ConfigDict(extra="forbid")

    truthful: bool
    no_secrets: bool
    signed_by: str = Field(min_length=1)  # 单位法人
    signed_on: date


class QingpuFields(BaseModel):
    """The district designation facts the Qingpu notice asks for (QP §1-§3)."""

    model_config = ConfigDict(extra="forbid")

    investment_cny: int = Field(ge=0)  # 累计软硬件总投资 (QP §3(一))
    built_on: date  # 建成投产 (原则上 2024年底前, QP §3(一))
    key_links: list[str] = Field(default_factory=list)  # 《场景指引》环节 covered (智能工厂 ≥ 2, QP §3(二))
    new_it_scenarios: list[str] = Field(default_factory=list)  # 5G, 人工智能, 区块链, 数字孪生, 工业互联网
    smart_lines: int = Field(default=0, ge=0)  # 智能车间: 两条或以上智能生产线 (QP §1(二))
    no_major_incident_2y: bool  # 近两年内未发生安全、质量或环境等方面的重大问题 (QP §2(一))


class ScenarioInstance(BaseModel):
    link: str
    scenario: str
    instance: str
    segment: str

    def text(self) -> str:
        return SCENARIO_DASH.join((self.link, self.scenario, self.instance))


def parse_scenario(text: str, season: str | None = None) -> ScenarioInstance:
    """Split `环节—场景—实例` and check 环节 and 场景 against the season's guide. Raises ValueError."""
    from programmes.season import get_season

    normalised = text.strip()
    for dash in _DASHES[:-1]:
        normalised = normalised.replace(dash, SCENARIO_DASH)
    parts = [p.strip() for p in normalised.split(SCENARIO_DASH, 2)]
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"scenario {text!r} must read 环节—场景—实例 (e.g. 生产作业—人机协同作业—…)")
    link, scenario, instance = parts
    guide = get_season(season)
    segment = guide.scenario_index.get((link, scenario))
    if segment is None:
        links = [g.link for g in guide.guide]
        if link not in links:
            raise ValueError(f"scenario {text!r}: {link!r} is not a link (环节) of the guide: {'、'.join(links)}")
        names = [s.name for g in guide.guide if g.link == link for s in g.scenarios]
        raise ValueError(
            f"scenario {text!r}: {scenario!r} is not a scenario of {link} in the guide: {'、'.join(names)}"
        )
    return ScenarioInstance(link=link, scenario=scenario, instance=instance, segment=segment)


class ApplicationFile(BaseModel):
    """One application, as the enterprise writes it. See the module docstring for the fields."""

    model_config = ConfigDict(extra="forbid")

    credit_code: str
    tier: str
    track: Track = Track.NATIONAL
    season: str = Field(default_factory=lambda: get_settings().season)
    title: str = Field(min_length=1, max_length=300)
    maturity_level: int = Field(ge=1, le=5)
    segments: list[str] = Field(default_factory=list, max_length=MAX_APPLICATION_LIST)
    scenarios: list[str] = Field(default_factory=list, max_length=MAX_APPLICATION_LIST)
    ai_scenario_ratio: Decimal | None = Field(default=None, ge=0, le=100)
    kpis: dict[str, Decimal] = Field(default_factory=dict, max_length=MAX_APPLICATION_LIST)
    materials: dict[str, str] = Field(default_factory=dict, max_length=MAX_APPLICATION_LIST)
    future_modes: list[str] = Field(default_factory=list, max_length=MAX_APPLICATION_LIST)
    industry_leader: bool = False
    agrees_to_verification: bool = True
    pledge: Pledge
    contact_name: ShortText = ""
    contact_mobile: ShortText = ""
    qingpu: QingpuFields | None = None

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        """Every door's limits (models.limits): text length, control characters, depth, list sizes."""
        return check_tree(data, field="application")

    @field_validator("credit_code")
    @classmethod
    def _credit_code(cls, value: str) -> str:
        try:
            return validate_credit_code(value)
        except CreditCodeError as exc:
            raise ValueError(f"{exc} (GB 32100-2015)") from None

    @field_validator("season")
    @classmethod
    def _season_name(cls, value: str) -> str:
        from programmes.season import season_path

        season_path(value)  # a name, never a path or URL: nothing is read from it (issue #11 §6)
        return value

    @field_validator("scenarios", "segments", "future_modes")
    @classmethod
    def _stripped(cls, value: list[str]) -> list[str]:
        return [v.strip() for v in value if v.strip()]

    @model_validator(mode="after")
    def _consistent(self) -> ApplicationFile:
        from programmes.season import get_season

        season = get_season(self.season)
        if self.track == Track.DISTRICT:
            if self.tier not in season.designation_kinds:
                raise ValueError(
                    f"tier {self.tier!r} on the district track must be a kind of a district call: "
                    f"{sorted(season.designation_kinds)}"
                )
            if self.qingpu is None:
                raise ValueError("the district track needs the `qingpu` block (the designation call's fields)")
            links = [g.link for g in season.guide]
            for link in self.qingpu.key_links:
                if link not in links:
                    raise ValueError(
                        f"qingpu.key_links: {link!r} is not a link (环节) of the guide: {'、'.join(links)}"
                    )
        else:
            if self.tier not in set(Tier):
                raise ValueError(f"tier {self.tier!r} must be one of {[t.value for t in Tier]}")
            if self.qingpu is not None:
                raise ValueError("`qingpu` belongs to the district track only")
        parsed = [parse_scenario(s, self.season) for s in self.scenarios]
        derived = {p.segment for p in parsed}
        for seg in self.segments:
            if seg not in season.segments:
                raise ValueError(f"segment {seg!r} is not one of {'、'.join(season.segments)} (要素)")
            if seg not in derived:
                raise ValueError(f"segment {seg!r} is declared but no scenario instance lies in it")
        if not self.segments:
            self.segments = [s for s in season.segments if s in derived]
        for mode in self.future_modes:
            direction, _, name = mode.partition("-")
            if not name.strip() or direction.strip() not in season.future_modes:
                raise ValueError(
                    f"future mode {mode!r} must read <方向>-<模式> with 方向 one of "
                    f"{'、'.join(season.future_modes)} (附件5)"
                )
        if self.future_modes and self.tier != Tier.LEADING:
            raise ValueError("future_modes (重点探索的未来制造模式) belong to the leading tier (附件5)")
        return self

    def scenario_instances(self) -> list[ScenarioInstance]:
        return [parse_scenario(s, self.season) for s in self.scenarios]

    def covered_segments(self) -> set[str]:
        return set(self.segments) | {p.segment for p in self.scenario_instances()}


def load_application_file(path: str | Path) -> ApplicationFile:
    """Read a YAML or JSON application file and validate it."""
    return ApplicationFile.model_validate(load_file_bounded(path))


def example(name: str) -> dict[str, Any]:
    """The raw dict of `examples/<name>.yaml` (tests and factories build valid applications from it)."""
    return dict(yaml.safe_load((EXAMPLES_DIR / f"{name}.yaml").read_text(encoding="utf-8")))
