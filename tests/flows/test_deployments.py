"""prefect.yaml: every entrypoint imports, is the flow its deployment names, and takes one pydantic
parameter model (a form in the UI) with the acting role@unit and an optional replay instant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.serve import CONFIG, build_deployments, deployment_specs, load_entrypoint

SPECS = deployment_specs()
SCHEDULED = {"reminder-sweep", "audit-anchor"}  # run with their defaults on a daily schedule


def _params_model(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema["properties"]["params"]
    if "anyOf" in ref:  # optional model (the scheduled sweep runs with its defaults)
        ref = next(r for r in ref["anyOf"] if "$ref" in r)
    name = ref["$ref"].rsplit("/", 1)[-1]
    return schema["definitions"][name]


def test_one_deployment_per_stage_flow() -> None:
    names = [s["name"] for s in SPECS]
    assert len(names) == len(set(names)) == 10
    assert all(s["entrypoint"].startswith("flows/") for s in SPECS)


@pytest.mark.parametrize("spec", SPECS, ids=[s["name"] for s in SPECS])
def test_entrypoint_imports_and_its_parameters_are_a_form(spec: dict[str, Any]) -> None:
    from prefect import Flow

    flow = load_entrypoint(spec["entrypoint"])
    assert isinstance(flow, Flow)
    assert flow.name == spec["name"]
    schema = flow.parameters.model_dump()
    assert list(schema["properties"]) == ["params"]
    model = _params_model(schema)
    assert {"actor", "now"} <= set(model["properties"])
    assert model["properties"]["actor"]["pattern"] == r"^[a-z_]+@\S+$"
    if spec["name"] not in SCHEDULED:
        assert schema["required"] == ["params"] and "actor" in model["required"]


def test_the_sweep_and_the_audit_anchor_run_daily_at_eight_in_shanghai() -> None:
    scheduled = [s for s in SPECS if s["name"] in SCHEDULED]
    assert [s["schedules"] for s in scheduled] == [[{"cron": "0 8 * * *", "timezone": "Asia/Shanghai"}]] * 2
    assert all(not s.get("schedules") for s in SPECS if s["name"] not in SCHEDULED)


def test_shared_settings_live_under_definitions_and_no_secrets_in_the_file() -> None:
    raw = yaml.safe_load(Path(CONFIG).read_text(encoding="utf-8"))
    assert {"work_pool", "tags", "schedules"} <= set(raw["definitions"])
    text = yaml.safe_dump(raw, allow_unicode=True).lower()  # the values, not the comments that say where secrets go
    for word in ("password", "secret:", "postgresql://", "smtp_", "audit_key", "token"):
        assert word not in text


def test_serve_builds_every_deployment_from_the_file() -> None:
    deployments = build_deployments()
    assert [d.name for d in deployments] == [s["name"] for s in SPECS]
    (sweep,) = [d for d in deployments if d.name == "reminder-sweep"]
    (schedule,) = sweep.schedules
    assert schedule.schedule.cron == "0 8 * * *" and schedule.schedule.timezone == "Asia/Shanghai"


def test_actor_must_be_role_at_unit() -> None:
    from pydantic import ValidationError

    from flows.local_review import ReviewRoundParams

    with pytest.raises(ValidationError):
        ReviewRoundParams(actor="sh.qingpu", unit="sh.qingpu", tier="excellent")
    with pytest.raises(ValueError, match="unknown role"):
        ReviewRoundParams(actor="mayor@sh.qingpu", unit="sh.qingpu", tier="excellent")
