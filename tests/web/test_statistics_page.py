"""The statistics page (issue 13 §4): the ministry enters and corrects the figures quotas are computed from,
through `stats load`'s functions (whole table checked, form back with the values kept on a problem); a provincial
officer reads its own row and the quota it gives, linked from the ranking page's quota meter; others get 404."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from models.tables import AuditEvent, StatisticsVersion
from programmes.season import get_season
from programmes.statistics import columns
from tests.web.conftest import World, csrf_of

pytestmark = pytest.mark.sqlite_only  # no backend-specific SQL here (see tests/conftest.py)

RANK = "value_added_rank_2024"
COUNT = "excellent_count_2024"


def _table() -> dict[str, str]:
    """A valid whole table: every province ranked once, every excellent count given."""
    season = get_season("2025")
    data: dict[str, str] = {}
    for column in columns(season):
        for i, code in enumerate(column.units, start=1):
            data[f"{column.key}.{code}"] = str(i if column.key == RANK else 12)
    return data


def _versions(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(StatisticsVersion)) or 0)


def _post(client: Any, data: dict[str, str], *, csrf: bool = True) -> Any:
    token = {"csrf_token": csrf_of(client.get("/statistics").text)} if csrf else {}
    return client.post("/statistics", data={"season": "2025", **data, **token}, follow_redirects=False)


def test_the_ministry_enters_the_whole_table_as_an_audited_version(client_for: Any, engine: Engine) -> None:
    client = client_for("ministry")
    page = client.get("/statistics")
    assert page.status_code == 200 and f'name="{COUNT}.sd" value="22"' in page.text  # the season file's figure
    response = _post(client, _table())
    assert response.status_code == 303 and "version=1" in response.headers["location"]
    assert "已保存为第 1 版" in client.get(response.headers["location"]).text
    with Session(engine) as session:
        row = session.scalars(select(StatisticsVersion)).one()
        event = session.scalars(select(AuditEvent).where(col(AuditEvent.subject) == "statistics:2025")).one()
    assert row.values[RANK]["sh"] and row.file_name == "网页表单 web form"
    assert event.event == "statistics_loaded" and event.actor_role == "ministry_officer"
    again = _post(client, _table())  # the same figures: nothing new
    assert "created=0" in again.headers["location"] and _versions(engine) == 1


def test_a_bad_figure_gives_the_form_back_with_the_values_kept_and_saves_nothing(
    client_for: Any, engine: Engine
) -> None:
    client = client_for("ministry")
    data = _table()
    data[f"{RANK}.sd"] = "十二"
    data[f"{RANK}.sc"] = data[f"{RANK}.sh"]  # a rank given twice
    response = _post(client, data)
    assert response.status_code == 422
    assert f'name="{RANK}.sd" value="十二"' in response.text  # the answer kept
    assert 'id="e-value_added_rank_2024.sd"' in response.text and "is not a whole number" in response.text
    assert 'href="#f-value_added_rank_2024.sd"' in response.text  # the summary links to the field
    assert "nothing loaded" in response.text and "251 §2(二)2" in response.text
    assert _versions(engine) == 0


def test_a_post_without_csrf_is_refused(client_for: Any, engine: Engine) -> None:
    assert _post(client_for("ministry"), _table(), csrf=False).status_code == 403
    assert _versions(engine) == 0


def test_a_provincial_officer_reads_its_row_and_cannot_enter(client_for: Any, engine: Engine) -> None:
    client = client_for("city")  # local_officer@sh: Shanghai is a province-level unit
    page = client.get("/statistics")
    assert page.status_code == 200 and "上海" in page.text
    assert f'name="{RANK}.' not in page.text and "<button type=\"submit\">保存统计数据" not in page.text
    assert "四川" not in page.text  # another province's row is out of scope
    response = _post(client, {f"{RANK}.sh": "1", f"{COUNT}.sh": "30"})
    assert response.status_code == 403 and "may not load national statistics" in response.text
    assert _versions(engine) == 0


def test_districts_enterprises_and_strangers_get_404(client_for: Any) -> None:
    for who in ("qingpu", "enterprise"):
        assert client_for(who).get("/statistics").status_code == 404, who
    assert client_for("ministry").get("/statistics?season=1999").status_code == 404
    assert client_for(None).get("/statistics", follow_redirects=False).status_code == 303  # sign in first


def test_the_quota_meter_links_to_the_statistics_and_uses_the_loaded_figures(client_for: Any, world: World) -> None:
    city = client_for("city")
    before = city.get("/rank?tier=excellent")
    assert 'href="/statistics?season=2025"' in before.text and "名额依据的统计数据" in before.text
    assert "quota-unknown" in before.text  # no rank for Shanghai yet: never guessed
    data = _table()
    assert _post(client_for("ministry"), data).status_code == 303
    after = city.get("/rank?tier=excellent").text
    assert "quota-unknown" not in after and "251 §2(二)2" in after
    rank = int(data[f"{RANK}.sh"])
    limit = 40 if rank <= 10 else 30 if rank <= 20 else 20
    assert f'max="{limit}"' in after
