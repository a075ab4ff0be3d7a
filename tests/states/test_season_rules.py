"""Two seed rules the season expresses now (issue #15 item 7), each refusal citing its clause."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from models.errors import InvalidInput, NotFound, TransitionRefused
from models.tables import Enterprise
from programmes.application_file import ApplicationFile, example
from programmes.season import get_season
from states.intake import SYSTEM_ACTOR, add_enterprise, create_application, update_enterprise
from tests import factories as f

S = get_season("2025")


def _district_draft(session: Session, enterprise, kind: str):  # type: ignore[no-untyped-def]
    raw = {**example("qingpu-factory"), "credit_code": enterprise.credit_code, "tier": kind}
    content = ApplicationFile.model_validate(raw).model_dump(mode="json")
    return create_application(session, enterprise_code=enterprise.credit_code, tier=kind, track="district",
                              season="2025", title=content["title"], content=content, pledge=content.get("pledge"),
                              actor=f.applicant(session, enterprise), at=f.at("2025-08-01"))  # fmt: skip


def test_qingpu_one_direction_per_enterprise_QP_1(session: Session) -> None:
    enterprise = f.enterprise(session, "sh.qingpu", tier="basic", tax_district="sh.qingpu")
    first = _district_draft(session, enterprise, "smart_factory")
    with pytest.raises(TransitionRefused) as refused:
        _district_draft(session, enterprise, "smart_line")
    assert f"application {first.id}" in refused.value.message
    assert refused.value.source == "QP §1 (选择其中一个方向进行申报)" and "/" not in refused.value.source
    # After withdrawing, the enterprise may choose another direction.
    f.fire(session, first.id, "withdraw", when=f.at("2025-08-02"))  # type: ignore[arg-type]
    assert _district_draft(session, enterprise, "smart_line").tier == "smart_line"


def test_a_second_national_application_of_the_same_tier_names_the_first(session: Session) -> None:
    first = f.draft(session, tier="excellent")
    ent = session.get(Enterprise, first.enterprise_id)
    with pytest.raises(TransitionRefused) as refused:
        f.draft(session, ent, tier="excellent")
    assert f"application {first.id} (draft)" in refused.value.message and refused.value.rule == "one-application"


def _soe_unit(session: Session, **location: str):  # type: ignore[no-untyped-def]
    data = f.enterprise_data("sh.baoshan", tier="excellent")
    data["recognitions"] = [{"tier": "advanced", "year": 2024, "by": "soe.baowu"},
                            {"tier": "excellent", "year": 2024, "by": "miit"}]  # fmt: skip
    data.update({"soe_group": "soe.baowu", **location})
    return add_enterprise(session, data=data, actor=SYSTEM_ACTOR, at=f.at("2025-07-01"))


def test_a_central_soe_unit_records_group_and_location_430_1_2_3_and_251_3_2(session: Session) -> None:
    unit = _soe_unit(session)
    assert unit.soe_group == "soe.baowu" and unit.jurisdiction == "sh.baoshan"
    # Excellent through the group headquarters (430 §1(二)3; 251 §2(二)2) ...
    assert S.chain_for(unit, "national", "excellent") == ["soe.baowu"]
    # ... leading through the province where the unit is (251 §3(二)2).
    assert S.chain_for(unit, "national", "leading") == ["sh.baoshan", "sh"]
    leading = f.draft(session, unit, tier="leading")
    assert leading.chain == ["sh.baoshan", "sh"]


def test_a_unit_registered_by_its_group_alone_is_told_to_record_its_location(session: Session) -> None:
    data = f.enterprise_data("sh.baoshan", tier="leading")
    data.update({"province": "soe.baowu"})
    data.pop("district", None)
    group_only = add_enterprise(session, data=data, actor=SYSTEM_ACTOR, at=f.at("2025-07-01"))
    with pytest.raises(NotFound) as refused:
        S.chain_for(group_only, "national", "leading")
    assert refused.value.source.startswith("251 §3(二)2") and "enterprise update" in refused.value.message
    fixed, changes = update_enterprise(
        session, data={"credit_code": group_only.credit_code, "province": "sh", "district": "sh.baoshan",
                       "soe_group": "soe.baowu"}, actor=f.admin(session), at=f.at("2025-07-02"))  # fmt: skip
    assert set(changes) == {"province", "district", "soe_group"}
    assert S.chain_for(fixed, "national", "leading") == ["sh.baoshan", "sh"]


def test_soe_group_must_be_a_group_of_the_season(session: Session) -> None:
    with pytest.raises(InvalidInput) as refused:
        _soe_unit(session, soe_group="sh")
    assert "430 §1(二)3" in refused.value.source
