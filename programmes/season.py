"""A season of the programme as data: one YAML file, validated by pydantic on load.

The file declares the jurisdiction units, recommendation chains, deadlines, quotas and their statistics,
tier requirements, material checklists, paper sets, the scenario guide, the KPI list and the maturity
levels — every rule with its `source` (seed file and clause). A new season or province is a new file.

    season = get_season("2025")            # programmes/seasons/2025.yaml, cached
    season.chain_for(enterprise, "national", "excellent")   # ["sh.qingpu", "sh"]
    season.deadline_for("sh.qingpu", "recommend", "excellent", "national").on   # 2025-07-11

A malformed file raises `SeasonDataError` naming the file, the line and the field.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import date
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.errors import InvalidInput, NotFound, SeasonDataError
from models.limits import AliasBound, check_size, check_tree

if TYPE_CHECKING:
    from models.tables import Enterprise

SEASONS_DIR = Path(__file__).resolve().parent / "seasons"
ROOT = "*"  # the pseudo-unit above every province: rules for "any unit"


class _Within(Protocol):
    @property
    def within(self) -> str: ...


_Scoped = TypeVar("_Scoped", bound=_Within)

Level = Literal["province", "city", "district", "soe", "xpcc"]
Scope = Literal["self", "descendants", "subtree"]
Step = Literal["submit", "recommend"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Unit(_Model):
    """A jurisdiction (province, city, district) or a recommending channel (central SOE, XPCC)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
    name_zh: str
    name_en: str
    level: Level
    parent: str | None = None
    # GB/T 2260 administrative division prefix: the credit code's characters 3-8 start with it.
    division: str | None = Field(default=None, pattern=r"^\d{2,6}$")
    note: str = ""


class Contact(_Model):
    """Who answers for a unit's notice: the authority's name, the 文号, the contact and phone (联系方式).

    `unit` covers itself and everything below it; the nearest one up a unit's lineage applies.
    """

    unit: str = ROOT
    tracks: tuple[str, ...] = ()  # empty = every track
    authority_zh: str
    authority_en: str = ""
    notice: str  # the 文号, or the notice's title when it has none
    person: str = ""
    phone: str = ""
    source: str = Field(min_length=1)


class Scoped(_Model):
    """A rule that applies to `unit` itself, its descendants, or both, optionally only at some levels."""

    unit: str = ROOT
    scope: Scope = "subtree"
    levels: tuple[Level, ...] = ()
    source: str = Field(min_length=1)

    def applies_to(self, season: Season, code: str) -> bool:
        """Does the rule cover unit `code`? (`*` is everyone's ancestor.)"""
        if self.levels and season.unit(code).level not in self.levels:
            return False
        if self.unit == code:
            return self.scope in ("self", "subtree")
        if self.unit == ROOT or self.unit in season.ancestors(code):
            return self.scope in ("descendants", "subtree")
        return False


class ChainRule(_Model):
    """Who reviews and recommends, lowest first: for each level, the enterprise's nearest unit of it."""

    within: str = ROOT  # the enterprise's jurisdiction is this unit or below it
    track: str = "national"
    tiers: tuple[str, ...]
    levels: tuple[Level, ...] = Field(min_length=1)
    soe: bool = False  # applies to enterprises recommended through a central SOE group
    source: str = Field(min_length=1)


class Deadline(_Model):
    """A "…前" date: the step must be done by the end of `on` in Asia/Shanghai."""

    step: Step
    unit: str = ROOT
    scope: Scope = "subtree"
    levels: tuple[Level, ...] = ()
    on: date
    tiers: tuple[str, ...]
    track: str = "national"
    what: str = ""
    source: str = Field(min_length=1)
    extended: bool = False  # True on an effective deadline moved by a DeadlineExtension

    def covers(self, season: Season, code: str) -> bool:
        return Scoped(unit=self.unit, scope=self.scope, levels=self.levels, source=self.source).applies_to(season, code)


class Band(_Model):
    """`min` ≤ value ≤ `max` (either open) → at most `quota` recommendations."""

    min: int | None = None
    max: int | None = None
    quota: int = Field(ge=0)

    def holds(self, value: int) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


class QuotaRule(Scoped):
    """A recommending unit's ceiling for one tier: a fixed number, or bands over a season statistic."""

    tier: str
    track: str = "national"
    fixed: int | None = Field(default=None, ge=0)
    by: str | None = None  # a key of `statistics`
    bands: tuple[Band, ...] = ()
    exempt: str | None = None  # an Enterprise boolean attribute that doesn't count against the quota

    @model_validator(mode="after")
    def _one_kind(self) -> QuotaRule:
        if (self.fixed is None) == (self.by is None):
            raise ValueError("give either `fixed` or `by` with `bands`")
        if self.by is not None and not self.bands:
            raise ValueError("`by` needs `bands`")
        return self


class Statistic(_Model):
    """Season data entered by an administrator (not in the seeds): unit → value."""

    label: str
    source: str = Field(min_length=1)
    values: dict[str, int] = Field(default_factory=dict)
    minimum: int = 0  # the smallest value a loaded file may give (a rank starts at 1)
    distinct: bool = False  # no two units share a value (a rank)


class Recognition(_Model):
    """A pattern over `enterprise.recognitions` entries: every given key must match."""

    tier: str
    by: str | None = None
    year: int | None = None
    batch: int | None = None

    def matches(self, held: dict[str, Any]) -> bool:
        return all(
            getattr(self, key) is None or str(held.get(key)) == str(getattr(self, key))
            for key in ("tier", "by", "year", "batch")
        )


class Prerequisite(_Model):
    """The tier an applicant must already hold (any one of `any_of`)."""

    tier: str
    within: str = ROOT
    track: str | None = None
    any_of: tuple[Recognition, ...] = Field(min_length=1)
    source: str = Field(min_length=1)


class TierRule(_Model):
    """要素条件 per tier: maturity minimum, segments to cover, AI-scenario ratio."""

    label: str
    min_maturity: int = Field(ge=1, le=5)
    maturity_source: str
    segments: tuple[str, ...] = ()
    segments_mode: Literal["block", "warn"] = "block"
    segments_source: str
    ai_ratio_min: float | None = None  # percent
    ai_ratio_source: str = ""


class Material(_Model):
    key: str
    name_zh: str
    detail: str = ""
    required: bool = True


class Checklist(_Model):
    """The material checklist of a tier on a track, for the enterprises within a unit (nearest wins)."""

    tier: str
    track: str = "national"
    within: str = ROOT
    items: tuple[Material, ...]
    source: str = Field(min_length=1)


class PaperItem(_Model):
    item: str
    name_zh: str
    copies: int = Field(ge=1)
    note: str = ""


class PaperSet(Scoped):
    """What a recommending unit sends up on paper (and as scans) with its summary table."""

    tiers: tuple[str, ...]
    track: str = "national"
    to: str
    items: tuple[PaperItem, ...]


class Scenario(_Model):
    no: int
    name: str


class GuideLink(_Model):
    """A link (环节) of the scenario guide and the 要素 segment it belongs to."""

    link: str
    segment: str
    scenarios: tuple[Scenario, ...]


class Kpi(_Model):
    no: int
    group: str
    name: str
    unit: str


class MaturityLevel(_Model):
    level: int
    name_zh: str
    name_en: str


class DesignationRule(_Model):
    """Qingpu district designation kinds (QP §1, §3)."""

    kind: str
    label: str
    min_investment_cny: int
    min_key_links: int = 0
    needs_new_it_scenario: bool = False
    min_smart_lines: int = 0
    upgrades_from: tuple[str, ...] = ()
    source: str


class CallClauses(_Model):
    """The clause each rule of a designation call cites in its refusals (e.g. "QP §2(一)")."""

    registered: str
    taxed: str
    clean_record: str
    built_by: str
    key_links: str
    new_it: str
    smart_lines: str
    upgrade: str
    notice: str
    materials: str


class CallField(_Model):
    """One question of a district call's own form section: a field of the application's `qingpu` block
    (`programmes.application_file.QingpuFields`), with its label as the notice words it and its clause."""

    name: str
    label: str
    kind: Literal["number", "date", "checkbox", "checkboxes"]
    required: bool = False  # on submission; a shortfall the rules judge (with their clause) stays optional
    options: Literal["guide_links", "new_it_tags"] | None = None  # checkboxes: the guide's links, the call's tags
    threshold: Literal["min_investment_cny", "min_key_links", "min_smart_lines"] | None = None  # the kind's minimum
    hint: str = ""
    source: str = Field(min_length=1)


class CallSection(_Model):
    """A section of the call's own form (the web form adds it to the application form on its track)."""

    title: str
    fields: tuple[CallField, ...] = Field(min_length=1)


class DistrictCall(_Model):
    """A district designation call (e.g. Qingpu's): where, which kinds with their thresholds, what, and
    the questions of its own form section."""

    unit: str
    clauses: CallClauses
    built_by: date
    built_by_mode: Literal["block", "warn"] = "warn"
    clean_years: int
    notice_working_days: int
    new_it_tags: tuple[str, ...]
    kinds: tuple[DesignationRule, ...]
    materials: tuple[Material, ...]
    form: tuple[CallSection, ...] = ()
    source: str

    @model_validator(mode="after")
    def _form_matches_the_block(self) -> DistrictCall:
        """Every question is a field of the `qingpu` block, every required field of the block is asked,
        and a list field offers its options."""
        from programmes.application_file import QingpuFields

        block = QingpuFields.model_fields
        asked = [f for section in self.form for f in section.fields]
        for f in asked:
            if f.name not in block:
                raise ValueError(f"form field {f.name!r} is not a field of the qingpu block: {sorted(block)}")
            if (f.kind == "checkboxes") != (f.options is not None):
                raise ValueError(f"form field {f.name!r}: `options` goes with kind `checkboxes`, and only with it")
        unasked = [n for n, info in block.items() if info.is_required() and n not in {f.name for f in asked}]
        if self.form and unasked:
            raise ValueError(f"the form asks no {unasked} (required in the qingpu block)")
        return self


class TrackStep(_Model):
    """One row of a track's transition table, as `states.lifecycle.Step` reads it (states and actors by
    their names; guards, branch conditions and effects by their registered names)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    event: str
    sources: tuple[str, ...] = Field(alias="from", min_length=1)
    dest: str = Field(alias="to")
    who: tuple[str, ...] = Field(min_length=1)
    guards: tuple[str, ...] = ()
    when: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    notify: tuple[str, ...] = ("applicant",)
    data: str | None = None  # the decision data the event accepts: a schema of states/decision_data.py
    source: str = Field(min_length=1)
    label: str = ""


class TrackRule(_Model):
    """A call of its own (a province's basic filing and advanced recognition, a district's designation):
    the enterprises within `within` applying on `track` follow these rows."""

    track: str
    within: str
    label: str
    source: str = Field(min_length=1)
    steps: tuple[TrackStep, ...] = Field(min_length=1)


class Registration(_Model):
    """Where the applicants of a call must be registered, and the clause that says so (nearest wins)."""

    within: str = ROOT
    track: str = "national"
    where: str = ""  # empty: the enterprise's province
    source: str = Field(min_length=1)
class Criterion(_Model):
    """One scored criterion of an expert review form (score 0-100, weighted)."""

    key: str
    label: str
    weight: float = Field(gt=0)
    source: str = ""


class CheckItem(_Model):
    """One item an on-site verification checks (pass/fail with a finding)."""

    key: str
    label: str
    source: str = ""


PanelStage = Literal["material_review", "onsite_verification", "acceptance", "district_evaluation"]


class PanelRule(_Model):
    """Expert review by a panel for one stage: how many reviewers, the form, who may decide on it."""

    stage: PanelStage
    track: str = "national"
    tiers: tuple[str, ...]
    state: str  # the application state in which the panel reviews (e.g. ministry_review)
    decides: tuple[str, ...]  # events whose decision must name the panel's result
    organiser: str  # unit that builds the panel ("miit", or a district code)
    reviewers: int = Field(default=3, ge=1, le=15)
    review_days: int = Field(default=10, ge=1)
    same_province_conflict: bool = True  # national reviews: no expert from the applicant's province
    dispersion: float = Field(default=20.0, gt=0)  # max - min weighted score above this is flagged
    required: bool = True  # the decision needs the panel's concluded result
    criteria: tuple[Criterion, ...] = ()
    checklist: tuple[CheckItem, ...] = ()
    source: str


class Season(_Model):
    """One season's rules. Load with `load_season` / `get_season`; the API below is what others call."""

    name: str
    title: str = ""
    sources: dict[str, str] = Field(default_factory=dict)
    segments: tuple[str, ...]
    units: tuple[Unit, ...]
    chains: tuple[ChainRule, ...]
    deadlines: tuple[Deadline, ...]
    quotas: tuple[QuotaRule, ...] = ()
    statistics: dict[str, Statistic] = Field(default_factory=dict)
    tiers: dict[str, TierRule]
    prerequisites: tuple[Prerequisite, ...] = ()
    special_industries: tuple[str, ...] = ()
    special_industries_source: str = ""
    materials: tuple[Checklist, ...] = ()
    paper_sets: tuple[PaperSet, ...] = ()
    guide: tuple[GuideLink, ...]
    guide_source: str = ""
    kpis: tuple[Kpi, ...] = ()
    maturity_levels: tuple[MaturityLevel, ...] = ()
    future_modes: tuple[str, ...] = ()
    district_calls: tuple[DistrictCall, ...] = ()
    tracks: tuple[TrackRule, ...] = ()
    registration: tuple[Registration, ...] = ()
    contacts: tuple[Contact, ...] = ()
    panels: tuple[PanelRule, ...] = ()
    path: str = ""
    sha256: str = ""  # of the file's text: the rulebook an application is judged by (set by parse_season)

    # ---- validation across sections ----------------------------------------------------------

    @model_validator(mode="after")
    def _consistent(self) -> Season:
        codes: dict[str, Unit] = {}
        for i, unit in enumerate(self.units):
            if unit.code in codes:
                raise _SectionError(("units", i, "code"), f"duplicate unit code {unit.code!r}")
            codes[unit.code] = unit
        for i, unit in enumerate(self.units):
            if unit.parent is not None:
                if unit.parent not in codes:
                    raise _SectionError(("units", i, "parent"), f"unknown parent unit {unit.parent!r}")
                if not unit.code.startswith(unit.parent + "."):
                    raise _SectionError(("units", i, "code"), f"{unit.code!r} must start with its parent's code")
        known = set(codes) | {ROOT}
        for section in ("chains", "deadlines", "quotas", "paper_sets", "prerequisites", "tracks", "registration",
                        "materials", "district_calls", "contacts"):
            for i, rule in enumerate(getattr(self, section)):
                field = "within" if hasattr(rule, "within") else "unit"
                if getattr(rule, field) not in known:
                    raise _SectionError((section, i, field), f"unknown unit {getattr(rule, field)!r}")
        for i, rule in enumerate(self.quotas):
            if rule.by is not None and rule.by not in self.statistics:
                raise _SectionError(("quotas", i, "by"), f"no statistic {rule.by!r} in `statistics`")
        for key, stat in self.statistics.items():
            for code in stat.values:
                if code not in codes:
                    raise _SectionError(("statistics", key, "values", code), f"unknown unit {code!r}")
        for i, link in enumerate(self.guide):
            if link.segment not in self.segments:
                raise _SectionError(("guide", i, "segment"), f"{link.segment!r} is not one of `segments`")
        for key, tier in self.tiers.items():
            for seg in tier.segments:
                if seg not in self.segments:
                    raise _SectionError(("tiers", key, "segments"), f"{seg!r} is not one of `segments`")
        return self

    # ---- units -------------------------------------------------------------------------------

    @cached_property
    def _units(self) -> dict[str, Unit]:
        return {u.code: u for u in self.units}

    def unit(self, code: str) -> Unit:
        """The unit with this code; `NotFound` if the season doesn't declare it."""
        try:
            return self._units[code]
        except KeyError:
            raise NotFound(
                f"unit {code!r} is not declared in season {self.name}", rule="unknown-unit"
            ) from None

    def has_unit(self, code: str | None) -> bool:
        return code is not None and code in self._units

    def ancestors(self, code: str) -> list[str]:
        """Parents of `code`, nearest first (not including `code` or `*`)."""
        out: list[str] = []
        parent = self.unit(code).parent
        while parent is not None:
            out.append(parent)
            parent = self.unit(parent).parent
        return out

    def lineage(self, code: str) -> list[str]:
        """`code` and its ancestors, nearest first."""
        return [code, *self.ancestors(code)]

    def province_of(self, code: str) -> Unit:
        """The top of `code`'s lineage (a province, XPCC or a central SOE group)."""
        return self.unit(self.lineage(code)[-1])

    def is_within(self, code: str, within: str) -> bool:
        return within == ROOT or within in self.lineage(code)

    def contact_for(self, code: str, track: str = "national") -> Contact | None:
        """The nearest contact up `code`'s lineage for `track` (None when the season names none)."""
        lineage = [*self.lineage(code), ROOT] if self.has_unit(code) else [ROOT]
        for anchor in lineage:
            for contact in self.contacts:
                if contact.unit == anchor and (not contact.tracks or track in contact.tracks):
                    return contact
        return None

    def display_name(self, code: str) -> tuple[str, str]:
        """(Chinese, English) names people read for a unit: its own authority if the notices name one."""
        if not self.has_unit(code):
            return code, code
        unit = self.unit(code)
        own = next((c for c in self.contacts if c.unit == code), None)
        return (own.authority_zh, own.authority_en or unit.name_en) if own else (unit.name_zh, unit.name_en)

    # ---- chains ------------------------------------------------------------------------------

    @staticmethod
    def soe_group_of(enterprise: Enterprise) -> str | None:
        """The central SOE group an enterprise recommends through, if any.

        Read from `enterprise.soe_group` when the table has it; otherwise an enterprise whose
        `province` is an SOE unit code (e.g. "soe.sinopec") is taken to belong to that group.
        """
        group = getattr(enterprise, "soe_group", None)
        if group:
            return str(group)
        return enterprise.province if str(enterprise.province).startswith("soe.") else None

    def chain_for(self, enterprise: Enterprise, track: str, tier: str) -> list[str]:
        """The recommendation chain of an application: unit codes, lowest first.

        Takes the most specific chain rule (deepest `within` containing the enterprise's jurisdiction)
        for the track and tier; for each of the rule's levels, the enterprise's nearest unit of that level.
        """
        track, tier = str(track), str(tier)
        soe = self.soe_group_of(enterprise)
        start = enterprise.jurisdiction if not str(enterprise.province).startswith("soe.") else enterprise.province
        # Remembered per (start, group, track, tier), all it depends on: a bulk batch of drafts asked for the
        # same few chains 2,400 times. A refusal raises and is not remembered (it names the enterprise).
        key = (start, soe, track, tier)
        if key not in self._chains_found:
            self._chains_found[key] = tuple(self._chain(enterprise, start, soe, track, tier))
        return list(self._chains_found[key])

    @cached_property
    def _chains_found(self) -> dict[tuple[str, str | None, str, str], tuple[str, ...]]:
        return {}

    def _chain(self, enterprise: Enterprise, start: str, soe: str | None, track: str, tier: str) -> list[str]:
        self.unit(start)
        usable = [r for r in self.chains if r.track == track and tier in r.tiers]
        # An SOE group's own channel first (251 §2(二)2; 430 §1(二)3); for tiers it has no channel for
        # (leading: 251 §3(二)2 "有关中央企业的项目由所在省统一推荐") the enterprise's territorial chain.
        candidates = [r for r in usable if r.soe and soe and self.is_within(soe, r.within)]
        if not candidates and soe and start == soe:  # registered by its group alone: no province to go through
            raise NotFound(
                f"{enterprise.name} is registered under its group {soe} only; a {tier} application is "
                "recommended by the province where the unit is: record its location (province, district) "
                f"and soe_group: {soe} (`factory-review enterprise update`)",
                rule="chain",
                source="251 §3(二)2 (计划单列市和有关中央企业的项目由所在省(区、市)统一推荐)",
            )
        if not candidates:
            candidates = [r for r in usable if not r.soe and self.is_within(start, r.within)]
        if not candidates:
            raise NotFound(
                f"season {self.name} has no recommendation chain for {start} ({track}, {tier})",
                rule="chain",
                source=f"season {self.name} chains",
            )
        rule = max(candidates, key=lambda r: 0 if r.within == ROOT else len(self.lineage(r.within)))
        lineage = self.lineage(soe) if rule.soe and soe else self.lineage(start)
        chain: list[str] = []
        for level in rule.levels:
            nearest = next((c for c in lineage if self.unit(c).level == level), None)
            if nearest is not None and nearest not in chain:
                chain.append(nearest)
        if not chain:
            raise NotFound(
                f"no unit of levels {list(rule.levels)} above {start} for the chain rule ({rule.source})",
                rule="chain",
                source=rule.source,
            )
        return chain

    # ---- deadlines ---------------------------------------------------------------------------

    def deadline_for(self, unit: str, step: str, tier: str, track: str) -> Deadline | None:
        """The deadline for `unit` doing `step`: the rule on the unit itself, else the nearest ancestor's.

        Within one unit, a rule for the unit itself (`self`) wins over one for its subtree.
        """
        tier, track = str(tier), str(track)
        matching = [d for d in self.deadlines if d.step == step and d.track == track and tier in d.tiers]
        for depth, anchor in enumerate([*self.lineage(unit), ROOT]):
            here = [d for d in matching if d.unit == anchor and d.covers(self, unit)]
            if here:
                here.sort(key=lambda d: (0 if d.scope == "self" else 1) if depth == 0 else 0)
                return here[0]
        return None

    # ---- quotas ------------------------------------------------------------------------------

    def quota_rule_for(self, unit: str, tier: str, track: str = "national") -> QuotaRule | None:
        """The nearest quota rule covering `unit` for this tier (None: the seeds set no ceiling)."""
        matching = [q for q in self.quotas if q.tier == str(tier) and q.track == str(track)]
        for anchor in [*self.lineage(unit), ROOT]:
            here = [q for q in matching if q.unit == anchor and q.applies_to(self, unit)]
            if here:
                return here[0]
        return None

    # ---- tiers, materials, guide -------------------------------------------------------------

    def tier_rule(self, tier: str) -> TierRule:
        try:
            return self.tiers[str(tier)]
        except KeyError:
            raise NotFound(f"season {self.name} has no tier {tier!r}", rule="unknown-tier") from None

    def prerequisite_for(self, enterprise: Enterprise, tier: str, track: str) -> Prerequisite | None:
        """The most specific prerequisite rule for the enterprise's jurisdiction (e.g. Tianjin's lists)."""
        rules = [p for p in self.prerequisites if p.tier == str(tier) and p.track in (None, str(track))]
        return self._nearest(rules, enterprise.jurisdiction)

    def _nearest(self, rules: list[_Scoped], unit: str | None) -> _Scoped | None:
        """The rule whose `within` is deepest among those containing `unit` (None: no rule applies)."""
        here = [r for r in rules if r.within == ROOT or (self.has_unit(unit) and self.is_within(str(unit), r.within))]
        return max(here, key=lambda r: 0 if r.within == ROOT else len(self.lineage(r.within)), default=None)

    def checklist(self, tier: str, track: str = "national", unit: str | None = None) -> Checklist | None:
        """The material checklist of the tier on the track for an enterprise of `unit`."""
        return self._nearest([c for c in self.materials if c.tier == str(tier) and c.track == str(track)], unit)

    def track_rule(self, track: str, unit: str | None) -> TrackRule | None:
        """The call of its own that an enterprise of `unit` answers on `track` (None: none declared)."""
        return self._nearest([t for t in self.tracks if t.track == str(track)], unit)

    def registration_for(self, track: str, unit: str | None) -> Registration | None:
        return self._nearest([r for r in self.registration if r.track == str(track)], unit)

    @cached_property
    def designation_kinds(self) -> dict[str, str]:
        """Every kind of every district designation call: kind → label."""
        return {k.kind: k.label for call in self.district_calls for k in call.kinds}

    def paper_set_for(self, unit: str, tier: str, track: str = "national") -> PaperSet | None:
        matching = [p for p in self.paper_sets if str(tier) in p.tiers and p.track == str(track)]
        for anchor in [*self.lineage(unit), ROOT]:
            here = [p for p in matching if p.unit == anchor and p.applies_to(self, unit)]
            if here:
                return here[0]
        return None

    @cached_property
    def scenario_index(self) -> dict[tuple[str, str], str]:
        """(guide link, scenario name) → 要素 segment."""
        return {(link.link, s.name): link.segment for link in self.guide for s in link.scenarios}

    def segment_of_link(self, link: str) -> str | None:
        return next((g.segment for g in self.guide if g.link == link), None)

    def district_call(self, unit: str | None) -> DistrictCall | None:
        """The designation call of the district `unit` lies in (None: no call covers it)."""
        lineage = self.lineage(unit) if unit is not None and self.has_unit(unit) else []
        return next((c for c in self.district_calls if c.unit in lineage), None)

    def panel_rule(self, *, stage: str | None = None, state: str | None = None, tier: str,
                   track: str) -> PanelRule | None:  # fmt: skip
        """The expert-review rule for a stage (or the state it reviews in), tier and track, if any."""
        return next(
            (p for p in self.panels
             if (stage is None or p.stage == stage) and (state is None or p.state == state)
             and tier in p.tiers and p.track == track),
            None,
        )  # fmt: skip


class _SectionError(ValueError):
    """Raised by the cross-section validator with the location of the offending value."""

    def __init__(self, loc: tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


# ---- loading -----------------------------------------------------------------------------------


class SeasonLoader(AliasBound, yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans (only true/false: YAML 1.1 reads the keys `on` and `no` as
    booleans, turning a deadline's `on:` into `True:`) and dates left as text for pydantic to check, so a
    bad date is reported with its field and line instead of a bare ValueError."""


SeasonLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SeasonLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _node_at(node: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[yaml.Node | None, bool]:
    """Walk the composed node tree along a pydantic `loc`; return the deepest node reached and whether
    the whole path was found (a missing field points at its parent mapping)."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = None
            for key, value in node.value:
                if str(key.value) == str(part):
                    found = key if value is None else value
                    break
            if found is None:
                return node, False
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            return node, False
    return node, True


def _where(root: yaml.Node | None, loc: tuple[Any, ...]) -> str:
    node, _ = _node_at(root, loc)
    return f"line {node.start_mark.line + 1}" if node is not None else "line ?"


def _field(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def one_line(text: str) -> str:
    """Fold control characters (line breaks included) so an error message stays one line."""
    return re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", text)


def parse_season(text: str, path: str) -> Season:
    """Validate season YAML text; `path` is only used in messages."""
    try:
        check_size(path, len(text.encode("utf-8")))
        root = yaml.compose(text, Loader=SeasonLoader)
        data = check_tree(yaml.load(text, Loader=SeasonLoader), field=path)  # a SafeLoader subclass, bounded
    except InvalidInput as exc:
        raise SeasonDataError(f"{path}, line ?: {one_line(exc.message)}", rule="input-limit", source=path) from None
    except RecursionError:
        # PyYAML recurses per nesting level: a hostile file must be refused, not crash the loader.
        raise SeasonDataError(f"{path}, line 1: not valid YAML: nested too deeply", rule="season-data",
                              source=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark is not None else "line ?"
        raise SeasonDataError(f"{path}, {line}: not valid YAML: {exc}", rule="season-data", source=path) from exc
    if not isinstance(data, dict):
        raise SeasonDataError(f"{path}, line 1: a season file is a mapping", rule="season-data", source=path)
    data.setdefault("path", path)
    data["sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    try:
        return Season.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            ctx_error = (err.get("ctx") or {}).get("error")
            if isinstance(ctx_error, _SectionError):
                loc, msg = ctx_error.loc, ctx_error.message
            else:
                msg = err["msg"]
                # Pydantic adds the union/tagged member names to loc; drop the non-field parts it inserts.
                loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
            # A key may carry a line break; the message must stay one line (no forged log lines).
            problems.append(one_line(f"{path}, {_where(root, loc)}, field {_field(loc)}: {msg}"))
        first = problems[0]
        more = f" (and {len(problems) - 1} more: " + "; ".join(problems[1:4]) + ")" if len(problems) > 1 else ""
        raise SeasonDataError(first + more, rule="season-data", source=path, problems=len(problems)) from exc


def load_season(path: str | Path) -> Season:
    """Load and validate a season file. Raises `SeasonDataError` naming file, line and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SeasonDataError(f"{path}: cannot read season file ({exc.strerror})", source=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise SeasonDataError(f"{path}, line ?: season files are UTF-8 ({exc.reason} at byte {exc.start})",
                              source=str(path)) from exc
    return parse_season(text, str(path))


SEASON_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


def season_dirs() -> list[Path]:
    """Where season files live: FACTORY_REVIEW_SEASON_DIRS (if the operator set it), then programmes/seasons."""
    from models.settings import get_settings

    extra = [Path(p) for p in get_settings().season_dirs.split(os.pathsep) if p]
    return [*extra, SEASONS_DIR]


def season_path(name: str | Path) -> Path:
    """A season's file by name: <name>.yaml in the first season folder that has it. Only names: a path or
    URL is refused before anything is read (issue #11 §6)."""
    text = str(name)
    if not SEASON_NAME.match(text):
        raise InvalidInput(
            f"season {text[:60]!r} is not a season name: seasons are chosen by name among the registered ones "
            "(programmes/seasons/, `factory-review season load`), never by path or URL",
            rule="season-by-name",
            source="issue #11 §6",
        )
    candidates = [d / f"{text}.yaml" for d in season_dirs()]
    return next((c for c in candidates if c.is_file()), candidates[-1])


@cache
def _cached(path: str) -> Season:
    return load_season(path)


@cache
def _real_path(path: str) -> str:
    """A season file's real path, resolved once per process like its content is read once (a bulk batch
    asks for the season once per row: resolving every time was a tenth of the registration bench)."""
    return str(Path(path).resolve())


# A season file found by name, once per process and folder setting, like its content is read once: a bulk
# batch asks for the season once per guard and row, and looking for the file each time (two stats and a name
# check) was a tenth of the national filing bench.
_BY_NAME: dict[tuple[str, str], Season] = {}


@cache
def _parsed(name: str, sha256: str, text: str) -> Season:
    return parse_season(text, f"season {name} (loaded, sha256 {sha256[:12]})")


def _registered(name: str) -> Season | None:
    """A season an administrator loaded into the database (`factory-review season load`)."""
    from sqlalchemy.exc import SQLAlchemyError

    from models.database import read_session
    from models.tables import SeasonRecord

    try:
        with read_session() as session:  # may run inside a command's open write transaction
            row = session.get(SeasonRecord, name)
            return _parsed(row.name, row.sha256, row.text) if row is not None else None
    except SQLAlchemyError:
        return None


def get_season(name: str | Path | Season | None = None) -> Season:
    """A registered season by name, loaded once per process (a `Season` is returned as it is); None: the
    current season (FACTORY_REVIEW_SEASON).

    Registered: shipped in programmes/seasons/ (or a folder the operator named), or loaded by an
    administrator. Nothing is read from a path or URL (issue #11 §6: a home-made rulebook would pass every
    guard)."""
    from models.settings import get_settings

    if isinstance(name, Season):
        return name
    settings = get_settings()
    if name is None:
        name = settings.season
    key = (str(name), settings.season_dirs)
    if key in _BY_NAME:
        return _BY_NAME[key]
    path = season_path(name)
    if path.is_file():
        _BY_NAME[key] = _cached(_real_path(str(path.absolute())))
        return _BY_NAME[key]
    loaded = _registered(str(name))
    if loaded is None:
        raise NotFound(f"no season named {str(name)!r}; registered: {', '.join(available_seasons())}",
                       rule="unknown-season")  # fmt: skip
    return loaded


def available_seasons() -> list[str]:
    return sorted({p.stem for d in season_dirs() for p in d.glob("*.yaml")})
