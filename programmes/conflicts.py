"""Conflicts of interest between an expert and an applicant: computed from facts, never remembered.

As HotCRP does (src/conflict.php): the system derives conflicts from what it knows (province, employer,
declared ties, the expert's own applications) instead of trusting each reviewer to declare them. The seeds
name who reviews (国家智能制造专家委, 251 §3(二)4-5; 青浦 §5(二) 专家评审) but not the 回避 rules; these are
programme policy, each with a stable rule name so a refusal and an override can cite it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from models.tables import Enterprise, Expert

POLICY = "programme policy (回避), issue 19"
LABELS = {  # each rule as officers read it
    "same-province": "与申报企业同省",
    "same-employer": "与申报企业同一单位",
    "declared-tie": "申报过利益关联",
    "own-application": "本人为申报联系人",
}


@dataclass(frozen=True)
class Conflict:
    rule: str
    message: str
    source: str = POLICY


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a.strip().casefold() == b.strip().casefold()  # type: ignore[union-attr]


def conflicts(
    expert: Expert,
    enterprise: Enterprise,
    *,
    applicant_province: str,
    same_province_rule: bool,
    own_enterprises: Iterable[str] = (),
) -> list[Conflict]:
    """Every conflict between `expert` and `enterprise`; empty when the expert may review it.

    `applicant_province` is the province unit the application comes from; `own_enterprises` the credit codes
    of enterprises whose applications name the expert (their contact e-mail is the expert's)."""
    found: list[Conflict] = []
    if same_province_rule and expert.province == applicant_province:
        found.append(
            Conflict(
                "same-province",
                f"{expert.name} is an expert of the applicant's province "
                f"({applicant_province}); national reviews exclude them",
            )
        )
    if _same(expert.employer_credit_code, enterprise.credit_code) or _same(expert.employer, enterprise.name):
        found.append(Conflict("same-employer", f"{expert.name} works for {enterprise.name}"))
    if enterprise.credit_code in {t.strip().upper() for t in expert.ties}:
        found.append(Conflict("declared-tie", f"{expert.name} declared a tie with {enterprise.name}"))
    if enterprise.credit_code in set(own_enterprises) or _same(expert.email, enterprise.contact_email):
        found.append(Conflict("own-application", f"{expert.name} is named on {enterprise.name}'s applications"))
    return found
