"""Enumerations. English names in code; each member carries its official Chinese term as its `label`."""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class Labelled(StrEnum):
    """A StrEnum whose members are written `CODE = "code", "官方用语"`: the value, then the label."""

    label: str

    # Every member gives a label; the default is for mypy, which checks a lookup `Tier("basic")` against this.
    def __new__(cls, value: str, label: str = "") -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


class Tier(Labelled):
    """智能工厂梯度 (要素条件 2025)."""

    BASIC = "basic", "基础级"
    ADVANCED = "advanced", "先进级"
    EXCELLENT = "excellent", "卓越级"
    LEADING = "leading", "领航级"


class Track(Labelled):
    """Which call an application answers (shared/domain.md §2)."""

    NATIONAL = "national", "国家遴选"  # 卓越级 / 领航级, 工信厅联通装函〔2025〕251号
    PROVINCIAL = "provincial", "省级认定"  # 基础级自评备案 / 先进级认定, e.g. 津工信数转〔2025〕4号 §3
    DISTRICT = "district", "区级认定"  # 区级智能工厂（车间、生产线、仓储）认定, 青浦 2025


class Role(Labelled):
    """Who acts. The unit an actor belongs to scopes what it may touch."""

    ENTERPRISE = "enterprise", "申报企业"  # unit = the enterprise's credit code
    LOCAL_OFFICER = "local_officer", "地方主管部门"  # unit = a jurisdiction code (district, city, province, SOE group)
    MINISTRY_OFFICER = "ministry_officer", "六部门（工信部）"  # unit = "miit": the six departments' secretariat
    ADMIN = "admin", "管理员"  # programme administrator at a jurisdiction: extensions, corrections
    SYSTEM = "system", "系统"  # the scheduler: expiries and sweeps
    AUDITOR = "auditor", "审计"  # reads every history in its scope and verifies; changes nothing
    EXPERT = "expert", "评审专家"  # a member of an expert panel: reviews what it is assigned (251 §3(二)4-5)


# Member → label, for lookups by a plain string (`TIER_LABELS.get(row.tier, row.tier)`).
TIER_LABELS = {tier: tier.label for tier in Tier}
TRACK_LABELS = {track: track.label for track in Track}
ROLE_LABELS = {role: role.label for role in Role}

MINISTRY_UNIT = "miit"
SYSTEM_UNIT = "system"
