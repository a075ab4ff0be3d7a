"""Provincial recommendation to the ministry: the provincial-level unit's review round (the last level of
the chain, so `recommend` lands in `recommended`), then the ranked summary table (推荐汇总表, 附件3/5) as an
.xlsx file, attached to the run as a link artifact and a table artifact (251 §2(二)3, §3(二)3).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.common import file_artifacts, publish, run_name, session_scope, slug
from flows.params import ProvincialParams
from flows.rounds import review_round
from programmes.season import get_season
from programmes.summary_table import default_path, read_table_rows

__all__ = ["ProvincialParams", "provincial_recommendation"]


@task(name="write-summary-table", cache_policy=NO_CACHE, retries=1)
def summary_table(unit: str, tier: str, season: str, path: Path) -> Path:
    """`programmes.summary_table.write_summary_table`: the ranked list the unit forwarded, as .xlsx."""
    from programmes.summary_table import write_summary_table

    with session_scope() as session:
        written = write_summary_table(session, unit=unit, tier=tier, season=get_season(season), path=path)
    return Path(written) if written else path


@flow(
    name="provincial-recommendation",
    flow_run_name=run_name(lambda p: f"provincial-recommendation {p['unit']} {p['tier']} {p['season']}"),
)
def provincial_recommendation(params: ProvincialParams) -> Any:
    """The provincial-level round, then the summary table (file + artifacts)."""
    report = review_round(params, flow_name="provincial-recommendation")
    if not report.refused:
        where = default_path(output_dir=params.output_dir, season=params.season, unit=params.unit, tier=params.tier)
        path = summary_table(params.unit, params.tier, params.season, where)
        report.notes["summary_table"] = str(path)
        file_artifacts(
            path, lambda: read_table_rows(path), key=f"summary-table-{slug(params.unit)}-{slug(params.tier)}",
            title="推荐汇总表", about=f"{params.unit} {params.tier} {params.season} (file on the worker)",
        )  # fmt: skip
    return publish(report, key=f"provincial-recommendation-{slug(params.unit)}")
