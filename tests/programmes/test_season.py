"""The season file: units, chains, deadlines as data; malformed files name file, line and field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from models.errors import NotFound, SeasonDataError
from models.tables import Enterprise
from programmes.season import SEASONS_DIR, get_season, load_season

S = get_season("2025")


def ent(province: str, city: str | None = None, district: str | None = None) -> Enterprise:
    return Enterprise(credit_code="x", name="x", province=province, city=city, district=district, industry="x")


def test_2025_has_all_31_provinces_the_separate_planning_cities_xpcc_and_soes() -> None:
    """251 addressees: 各省、自治区、直辖市及计划单列市、新疆生产建设兵团…有关中央企业."""
    assert len([u for u in S.units if u.level == "province"]) == 31
    for code in ("ln.dalian", "sd.qingdao", "zj.ningbo", "fj.xiamen", "gd.shenzhen"):
        assert S.unit(code).level == "city"
    assert S.unit("xpcc").level == "xpcc"
    assert S.unit("soe.sinopec").level == "soe"
    assert (
        len([u for u in S.units if u.parent == "sh" and u.code[3:] not in ("lingang", "chemical", "changxing")]) >= 16
    )
    assert S.unit("sc.chengdu.longquanyi").parent == "sc.chengdu"
    assert S.unit("tj.binhai").name_en == "Binhai New Area"


def test_unknown_unit_is_not_found() -> None:
    with pytest.raises(NotFound):
        S.unit("sh.atlantis")


@pytest.mark.parametrize(
    ("enterprise", "track", "tier", "chain"),
    [
        (ent("sh", district="sh.qingpu"), "national", "excellent", ["sh.qingpu", "sh"]),  # 430 §1(二)2
        (
            ent("sc", "sc.chengdu", "sc.chengdu.wuhou"),
            "national",
            "excellent",
            ["sc.chengdu.wuhou", "sc.chengdu", "sc"],
        ),
        (ent("sc", "sc.mianyang"), "national", "excellent", ["sc.mianyang", "sc"]),  # 319
        (ent("tj", district="tj.binhai"), "national", "leading", ["tj.binhai", "tj"]),  # TJ §1(二)2
        (ent("tj", district="tj.xiqing"), "provincial", "advanced", ["tj.xiqing", "tj"]),  # TJ §3(二)
        (ent("gd", "gd.shenzhen"), "national", "excellent", ["gd"]),  # 251 §2(二)2 计划单列市由所在省统一推荐
        (ent("js"), "national", "leading", ["js"]),  # national default: the province
        (ent("xpcc"), "national", "excellent", ["xpcc"]),
        (ent("soe.sinopec"), "national", "excellent", ["soe.sinopec"]),  # 251 §2(二)2 中央企业组织本集团推荐
        (ent("sh", district="sh.qingpu"), "district", "smart_factory", ["sh.qingpu"]),  # QP §5
    ],
)
def test_chain_for(enterprise: Enterprise, track: str, tier: str, chain: list[str]) -> None:
    assert S.chain_for(enterprise, track, tier) == chain


def test_chain_for_unknown_track_refused() -> None:
    with pytest.raises(NotFound):
        S.chain_for(ent("bj"), "provincial", "basic")  # no Beijing provincial track in the seeds


# Each expected deadline once, with the units it holds for: (units, step, tier, track, on, the clause cited).
DEADLINES: list[tuple[tuple[str, ...], str, str, str, date, str]] = [
    (("sh.qingpu",), "submit", "excellent", "national", date(2025, 7, 11), "430 §1(二)1"),
    (("sh.qingpu",), "recommend", "leading", "national", date(2025, 7, 11), "430 §1(二)2"),
    (("sh", "xpcc"), "recommend", "excellent", "national", date(2025, 8, 1), "251 §2(二)3"),
    (("gd.shenzhen",), "submit", "excellent", "national", date(2025, 7, 18), "251 §2(二)1"),
    (("sc.chengdu.wuhou",), "recommend", "excellent", "national", date(2025, 7, 18), "CD"),
    (("sc.chengdu", "sc.mianyang"), "recommend", "excellent", "national", date(2025, 7, 20), "319"),
    (("tj.binhai",), "submit", "basic", "provincial", date(2025, 7, 18), "TJ §3(二)1"),
    (("tj.binhai",), "recommend", "advanced", "provincial", date(2025, 7, 20), "TJ §3(二)3"),
    (("tj.xiqing",), "recommend", "excellent", "national", date(2025, 7, 20), "TJ §1(二)2"),
    (("sh.qingpu",), "submit", "smart_factory", "district", date(2025, 8, 31), "QP §5(一)"),
]


@pytest.mark.parametrize(
    ("unit", "step", "tier", "track", "on", "source"), [(unit, *rest) for units, *rest in DEADLINES for unit in units]
)
def test_deadline_for_most_specific_rule(unit: str, step: str, tier: str, track: str, on: date, source: str) -> None:
    deadline = S.deadline_for(unit, step, tier, track)
    assert deadline is not None and deadline.on == on and source in deadline.source


def test_every_deadline_cites_a_clause() -> None:
    assert S.deadlines and all(d.source for d in S.deadlines)
    assert all(q.source for q in S.quotas)


def test_guide_has_40_scenarios_in_8_links_on_5_segments_and_21_kpis() -> None:
    """domain.md §8 (155号 scenario guide), 要素 附表 (21 KPIs), GB/T 39116-2020 (5 levels)."""
    assert sum(len(g.scenarios) for g in S.guide) == 40
    assert len(S.guide) == 8 and {g.segment for g in S.guide} == set(S.segments)
    assert len(S.kpis) == 21 and len(S.maturity_levels) == 5


def test_2026_season_loads_with_other_dates_and_quotas() -> None:
    s26 = get_season("2026")
    assert s26.deadline_for("sh.qingpu", "submit", "excellent", "national").on == date(2026, 7, 10)  # type: ignore[union-attr]
    assert s26.quota_rule_for("sh.qingpu", "excellent").fixed == 4  # type: ignore[union-attr]


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = (SEASONS_DIR / "2025.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_malformed_season_names_file_line_and_field(tmp_path: Path) -> None:
    path = _broken(tmp_path, "on: 2025-07-18,", "on: 2025-13-45,")
    with pytest.raises(SeasonDataError) as err:
        load_season(path)
    message = str(err.value)
    line = next(i for i, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "2025-13-45" in t)
    assert str(path) in message and f"line {line}" in message and "deadlines[0].on" in message


def test_season_unknown_parent_names_the_field(tmp_path: Path) -> None:
    path = _broken(tmp_path, 'level: district, parent: sh, division: "310118"', "level: district, parent: shx")
    with pytest.raises(SeasonDataError) as err:
        load_season(path)
    assert "units[" in str(err.value) and ".parent" in str(err.value) and "line " in str(err.value)


def test_season_missing_source_is_refused(tmp_path: Path) -> None:
    path = _broken(tmp_path, ', source: "430 §2(二)3"}', "}")
    with pytest.raises(SeasonDataError, match=r"quotas\[1\]\.source"):
        load_season(path)
