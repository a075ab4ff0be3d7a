"""A deterministic synthetic 2025 season: enterprises, actors and draft applications.

`plan_season(n, seed)` decides everything up front with `random.Random(seed)` (no wall clock, no global
state): a fixed core of 35 cases every season shows (a Shanghai district over its quota of six, Qingpu's
district designations, Tianjin's basic and advanced filings, Sichuan through Chengdu's districts and other
cities, central-SOE groups and Shandong's leading tier carrying the national steps to the end, and the
ineligible and late ones), then random applicants up to `n`; fewer than 35: the first `n` of the core.
`build_season` registers them through the
bulk paths of the one door (`states.bulk`: the checks of `add_actor`, `add_enterprise`, `create_application`,
one transaction per batch) on 2025-06-30.

Province-level quotas need the 2024 value-added rank and excellent count, which the seeds don't give:
`build_season` loads a plausible set (examples/statistics-2025.csv, made up for the demo) through the same
checks as `factory-review stats load`, so every province's excellent and leading lists reach the ministry.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from models.clock import SHANGHAI
from models.credit_code import make_credit_code
from models.enums import MINISTRY_UNIT, Role
from models.tables import Actor, Enterprise
from programmes.application_file import ApplicationFile, example
from programmes.season import Season, get_season
from programmes.statistics import load_statistics, parse_statistics, read_cells
from states.intake import SYSTEM_ACTOR

SEASON = "2025"
MINISTRY_ACTOR = "ministry_officer@miit"

SCENARIOS = [
    "工厂建设—工厂数字化规划设计—全厂三维数字化规划",
    "产品研发—产品数字化设计—关键部件参数化设计",
    "生产作业—人机协同作业—多机协同的柔性加工与检测",
    "生产管理—车间智能排产—基于约束的高级排产",
    "运营管理—智能经营决策—经营数据驾驶舱",
]
INDUSTRIES = ["装备制造", "汽车零部件", "电子信息", "生物医药", "新材料", "食品饮料", "石油石化", "有色金属"]
SH_DISTRICTS = ["sh.pudong", "sh.jiading", "sh.songjiang", "sh.baoshan", "sh.jinshan", "sh.fengxian", "sh.qingpu"]
CD_DISTRICTS = ["sc.chengdu.wuhou", "sc.chengdu.longquanyi", "sc.chengdu.xindu", "sc.chengdu.shuangliu"]
SC_CITIES = ["sc.mianyang", "sc.deyang", "sc.yibin", "sc.luzhou"]
TJ_DISTRICTS = ["tj.binhai", "tj.xiqing", "tj.wuqing", "tj.beichen"]
SOE_GROUPS = {"soe.baowu": "310113", "soe.sinopec": "310116", "soe.comac": "310115"}

FAULTS = ("low_maturity", "no_pledge", "wrong_prerequisite")


@dataclass
class Spec:
    """One synthetic applicant and what happens to it."""

    n: int
    unit: str  # the enterprise's jurisdiction (or an SOE group)
    tier: str
    track: str = "national"
    fault: str | None = None  # low_maturity | no_pledge | wrong_prerequisite
    late: bool = False  # submits the day after its deadline
    submit_day: date | None = None
    fate: str = "pass"  # national leading: accept | expire; excellent: pass | reject_review | objection
    application_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def at(day: date | str, hour: int = 10, minute: int = 0) -> datetime:
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=SHANGHAI)


def _core() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(unit, tier, track, fields) every season shows, whatever its size."""
    core: list[tuple[str, str, str, dict[str, Any]]] = []
    # First the national steps to the end (SOE groups: quota 5; Shandong leading: quota 3), so a small season
    # (fewer enterprises than the core) still reaches recognition, acceptance and expiry.
    core += [("soe.baowu", "excellent", "national", {"fate": "objection"}),
             ("soe.baowu", "excellent", "national", {}),
             ("sd", "leading", "national", {"fate": "accept"}), ("sd", "leading", "national", {"fate": "expire"}),
             ("soe.sinopec", "excellent", "national", {"fate": "reject_review"}),
             ("tj.binhai", "basic", "provincial", {}), ("tj.xiqing", "advanced", "provincial", {}),
             ("sh.qingpu", "smart_factory", "district", {})]  # fmt: skip
    core += [("sh.minhang", "excellent", "national", {})] * 7  # over the district quota of six
    core += [("sh.qingpu", "excellent", "national", {}), ("sh.qingpu", "leading", "national", {})]
    core += [("sh.qingpu", "smart_factory", "district", {})] * 2
    core += [("soe.baowu", "excellent", "national", {}), ("soe.sinopec", "excellent", "national", {}),
             ("sd", "leading", "national", {"fate": "accept"}), ("sd", "excellent", "national", {})]  # fmt: skip
    core += [("tj.binhai", "basic", "provincial", {}), ("tj.xiqing", "advanced", "provincial", {}),
             ("tj.binhai", "excellent", "national", {})]  # fmt: skip
    core += [("sc.chengdu.wuhou", "excellent", "national", {}), ("sc.chengdu.wuhou", "excellent", "national", {}),
             ("sc.mianyang", "excellent", "national", {})]  # fmt: skip
    core += [("sh.pudong", "excellent", "national", {"fault": "low_maturity"}),
             ("sh.jiading", "excellent", "national", {"fault": "no_pledge"}),
             ("sc.chengdu.xindu", "excellent", "national", {"fault": "wrong_prerequisite"}),
             ("sh.songjiang", "excellent", "national", {"late": True}),
             ("tj.wuqing", "basic", "provincial", {"late": True})]  # fmt: skip
    return core


def _random_pool(rng: random.Random) -> tuple[str, str, str]:
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(SH_DISTRICTS), "excellent", "national"
    if roll < 0.40:
        return "sh.qingpu", "smart_factory", "district"
    if roll < 0.55:
        return rng.choice(CD_DISTRICTS + SC_CITIES), "excellent", "national"
    if roll < 0.70:
        return rng.choice(TJ_DISTRICTS), rng.choice(["basic", "advanced"]), "provincial"
    if roll < 0.75:
        return rng.choice(TJ_DISTRICTS), "excellent", "national"
    if roll < 0.85:
        return rng.choice(["js", "zj", "gd", "sd", "ha"]), "excellent", "national"
    if roll < 0.90:
        return rng.choice(sorted(SOE_GROUPS)), "excellent", "national"
    return rng.choice(["sd", "js", "sh.pudong"]), "leading", "national"


def _deadline(season: Season, unit: str, step: str, tier: str, track: str) -> date:
    d = season.deadline_for(unit, step, tier, track)
    assert d is not None, (unit, step, tier, track)
    return d.on


def plan_season(enterprises: int, seed: int) -> list[Spec]:
    """Every applicant of the season, decided by the seed alone."""
    rng = random.Random(seed)
    season = get_season(SEASON)
    rows = list(_core())
    if enterprises < len(rows):  # a small season: the first cases of the core (the national steps first)
        rows = rows[: max(1, enterprises)]
    while len(rows) < enterprises:
        unit, tier, track = _random_pool(rng)
        fields: dict[str, Any] = {}
        roll = rng.random()
        if roll < 0.08:
            fields["fault"] = rng.choice(FAULTS) if tier in ("excellent", "leading") else "low_maturity"
        elif roll < 0.12:
            fields["late"] = True
        if tier == "leading":
            fields["fate"] = rng.choice(["accept", "accept", "expire"])
        rows.append((unit, tier, track, fields))
    specs = []
    for n, (unit, tier, track, fields) in enumerate(rows, start=1):
        spec = Spec(n=n, unit=unit, tier=tier, track=track, **fields)
        start = unit if not unit.startswith("soe.") else "sh"
        deadline = _deadline(season, start, "submit", tier, track)
        if spec.late:
            spec.submit_day = deadline + timedelta(days=1)
        else:
            spread = min(10, (deadline - date(2025, 7, 1)).days)
            spec.submit_day = deadline - timedelta(days=rng.randint(1, max(1, spread)))
        specs.append(spec)
    return specs


# ---- registration -------------------------------------------------------------------------------------


def division_of(season: Season, unit: str) -> str:
    if unit in SOE_GROUPS:
        return SOE_GROUPS[unit]
    for code in season.lineage(unit):
        division = season.unit(code).division
        if division:
            return division.ljust(6, "0")
    raise ValueError(f"no administrative division for {unit}")


def _recognitions(spec: Spec, province: str) -> list[dict[str, Any]]:
    if spec.track == "district":
        return [{"tier": "smart_workshop", "year": 2024, "by": "sh.qingpu"}]
    held = {"excellent": "advanced", "leading": "excellent", "advanced": "basic"}.get(spec.tier)
    if spec.fault == "wrong_prerequisite":
        held = {"excellent": "basic", "leading": "advanced"}.get(spec.tier, held)
    if held is None:
        return []
    by = "miit" if held == "excellent" else ("self" if held == "basic" else province)
    return [{"tier": held, "year": 2024, "by": by}]


def enterprise_data(season: Season, spec: Spec) -> dict[str, Any]:
    lineage = [spec.unit] if spec.unit.startswith("soe.") else season.lineage(spec.unit)
    levels = {season.unit(c).level: c for c in lineage}
    province = lineage[-1]
    n = spec.n
    data: dict[str, Any] = {
        "credit_code": make_credit_code(division_of(season, spec.unit), f"MA{n:07d}"),
        "name": f"示范智能制造有限公司{n:04d}",
        "province": province,
        "city": levels.get("city"),
        "district": levels.get("district"),
        "industry": INDUSTRIES[n % len(INDUSTRIES)],
        "recognitions": _recognitions(spec, province),
        "contact_name": f"联系人{n}",
        "contact_email": f"contact{n:04d}@enterprise.example.cn",
        "contact_phone": f"139{n:08d}",
    }
    if spec.track == "district":
        data["tax_district"] = "sh.qingpu"
    return {k: v for k, v in data.items() if v is not None}


def national_file(season: Season, ent: Enterprise, tier: str) -> dict[str, Any]:
    """A complete national-track application file for an enterprise: the tier's minimum maturity, five
    segments, every checklist item, the pledge (the demo's and the tests' valid baseline)."""
    checklist = season.checklist(tier)
    return {
        "credit_code": ent.credit_code,
        "tier": tier,
        "track": "national",
        "season": season.name,
        "title": f"{ent.name} {season.tier_rule(tier).label}智能工厂",
        "maturity_level": season.tier_rule(tier).min_maturity,
        "scenarios": list(SCENARIOS),
        "ai_scenario_ratio": "65" if tier == "leading" else "25",
        "materials": {m.key: f"{m.key}.pdf" for m in (checklist.items if checklist else ())},
        "future_modes": ["研发模式创新-创成式设计"] if tier == "leading" else [],
        "industry_leader": tier == "leading",
        "agrees_to_verification": True,
        "pledge": {"truthful": True, "no_secrets": True, "signed_by": "法定代表人", "signed_on": "2025-06-30"},
        "contact_name": ent.contact_name,
        "contact_mobile": ent.contact_phone,
    }


_example = cache(example)  # the season's thousands of provincial files share a few examples


def content_for(season: Season, spec: Spec, ent: Enterprise) -> dict[str, Any]:
    if spec.track == "national":
        raw = national_file(season, ent, spec.tier)
    else:
        name = {"district": "qingpu-factory", "provincial": f"{spec.tier}-tianjin"}[spec.track]
        raw = copy.deepcopy(_example(name))
        raw.update(credit_code=ent.credit_code, title=f"{ent.name} {raw['title']}", contact_mobile=ent.contact_phone)
        if spec.track == "district":
            raw["pledge"] = {**raw["pledge"], "signed_on": "2025-06-30"}
    if spec.fault == "low_maturity":
        raw["maturity_level"] = int(raw["maturity_level"]) - 1
    if spec.fault == "no_pledge":
        raw["pledge"] = {"truthful": False, "no_secrets": True, "signed_by": "", "signed_on": "2025-06-30"}
    try:
        return ApplicationFile.model_validate(raw).model_dump(mode="json")
    except ValidationError:  # a faulty file is stored as written; the submit guards refuse it
        return dict(json.loads(json.dumps(raw, default=str)))


@dataclass
class Season2025:
    specs: list[Spec]
    applications: dict[int, Spec]  # application id -> spec


def register_officers(session: Session, season: Season, units: set[str]) -> None:
    """A local officer for every unit of every chain in play, an admin per province, the ministry."""
    from states.bulk import add_actors

    actors = [{"name": f"{season.unit(unit).name_zh} 审核员", "role": Role.LOCAL_OFFICER, "unit": unit,
               "email": f"officer.{unit.replace('.', '-')}@gov.example.cn"} for unit in sorted(units)]  # fmt: skip
    actors += [{"name": f"{season.unit(province).name_zh} 管理员", "role": Role.ADMIN, "unit": province,
                "email": f"admin.{province}@gov.example.cn"}
               for province in sorted({u.split(".")[0] for u in units if not u.startswith("soe")})]  # fmt: skip
    actors.append({"name": "工信部装备工业一司", "email": "secretariat@miit.example.cn",
                   "role": Role.MINISTRY_OFFICER, "unit": MINISTRY_UNIT})  # fmt: skip
    add_actors(session, actors)


@dataclass
class SeasonInputs:
    """What the season's applicants hand in: enterprise registrations and draft application files."""

    rows: list[dict[str, Any]]
    drafts: list[Any]  # states.bulk.Draft, one per row


def season_inputs(specs: list[Spec]) -> SeasonInputs:
    """Every registration and draft of the season, as the applicants would file them (no database)."""
    from states.bulk import Draft

    season = get_season(SEASON)
    rows = [enterprise_data(season, spec) for spec in specs]
    drafts = []
    for spec, row in zip(specs, rows, strict=True):
        code = row["credit_code"]
        raw = content_for(season, spec, Enterprise(**row))
        applicant = Actor(name=row["name"], email=row["contact_email"], role=Role.ENTERPRISE, unit=code)
        drafts.append(Draft(enterprise_code=code, tier=spec.tier, track=spec.track, season=SEASON, title=raw["title"],
                            content=raw, pledge=raw.get("pledge"), actor=applicant))  # fmt: skip
    return SeasonInputs(rows, drafts)


def build_season(session: Session, specs: list[Spec], refusals: Any, progress: Any = None,
                 inputs: SeasonInputs | None = None) -> Season2025:  # fmt: skip
    """Register every enterprise and its draft (2025-06-30), and every officer its chains need — through
    the bulk paths of the one door (`states.bulk`: each row checked, audited and chained, a batch per
    transaction). `progress(n)` is told how many rows of the 2 × len(specs) are done."""
    from states.bulk import create_drafts, register_enterprises

    inputs = inputs or season_inputs(specs)
    when = at("2025-06-30", 9)
    result = Season2025(specs=specs, applications={})
    registered = register_enterprises(session, inputs.rows, actor=SYSTEM_ACTOR, at=when, progress=progress)
    if registered.refused:  # the synthetic data is the season's own: a refused registration is a bug here
        raise registered.refused[0].error
    report = create_drafts(session, inputs.drafts, at=when, progress=progress)
    for refusal in report.refused:
        refusals[f"{type(refusal.error).__name__}:{refusal.error.rule}"] += 1
    for index, app_id in sorted(report.by_index.items()):
        specs[index].application_id = app_id
        result.applications[app_id] = specs[index]
    # The chains as the drafts were written: reading 2,400 JSON columns back cost more than the officers.
    units = {unit for chain in report.chains.values() for unit in chain}
    season = get_season(SEASON)
    register_officers(session, season, units)
    load_demo_statistics(session, season, when)
    return result


DEMO_STATISTICS = Path(__file__).resolve().parent.parent / "examples" / "statistics-2025.csv"


def load_demo_statistics(session: Session, season: Season, when: datetime) -> None:
    """The administrator's step before the provinces rank: the 2024 figures quotas are computed from."""
    values = parse_statistics(season, read_cells(DEMO_STATISTICS), DEMO_STATISTICS.name)
    load_statistics(session, season, values, actor=SYSTEM_ACTOR, at=when, file_name=DEMO_STATISTICS.name)
