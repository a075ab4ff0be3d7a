"""Enumerations. English names in code; the official Chinese terms are their labels (data)."""

from __future__ import annotations

from enum import StrEnum


class Tier(StrEnum):
    """智能工厂梯度 (要素条件 2025)."""

    BASIC = "basic"
    ADVANCED = "advanced"
    EXCELLENT = "excellent"
    LEADING = "leading"

    @property
    def label(self) -> str:
        return TIER_LABELS[self]


TIER_LABELS = {
    Tier.BASIC: "基础级",
    Tier.ADVANCED: "先进级",
    Tier.EXCELLENT: "卓越级",
    Tier.LEADING: "领航级",
}


class Track(StrEnum):
    """Which call an application answers (shared/domain.md §2)."""

    NATIONAL = "national"  # 卓越级 / 领航级, 工信厅联通装函〔2025〕251号
    PROVINCIAL = "provincial"  # 基础级自评备案 / 先进级认定, e.g. 津工信数转〔2025〕4号 §3
    DISTRICT = "district"  # 区级智能工厂（车间、生产线、仓储）认定, 青浦 2025


TRACK_LABELS = {Track.NATIONAL: "国家遴选", Track.PROVINCIAL: "省级认定", Track.DISTRICT: "区级认定"}


class Role(StrEnum):
    """Who acts. The unit an actor belongs to scopes what it may touch."""

    ENTERPRISE = "enterprise"  # unit = the enterprise's credit code
    LOCAL_OFFICER = "local_officer"  # unit = a jurisdiction code (district, city, province, SOE group)
    MINISTRY_OFFICER = "ministry_officer"  # unit = "miit": the six departments' secretariat
    ADMIN = "admin"  # programme administrator at a jurisdiction: extensions, corrections
    SYSTEM = "system"  # the scheduler: expiries and sweeps
    AUDITOR = "auditor"  # reads every history in its scope and verifies; changes nothing
    EXPERT = "expert"  # a member of an expert panel: reviews what it is assigned (251 §3(二)4-5)

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ENTERPRISE: "申报企业",
    Role.LOCAL_OFFICER: "地方主管部门",
    Role.MINISTRY_OFFICER: "六部门（工信部）",
    Role.ADMIN: "管理员",
    Role.SYSTEM: "系统",
    Role.AUDITOR: "审计",
    Role.EXPERT: "评审专家",
}

MINISTRY_UNIT = "miit"
SYSTEM_UNIT = "system"
