"""Provincial recommendation to the ministry: the provincial-level unit's review round (the last level of
the chain, so `recommend` lands in `recommended`), then the ranked summary table (推荐汇总表, 附件3/5) as an
.xlsx file, attached to the run as a link artifact and a table artifact (251 §2(二)3, §3(二)3).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from flows.common import logger, publish, run_name, session_scope
from flows.local_review import ReviewRoundParams, _slug, review_round
from models.settings import get_settings
from programmes.season import get_season


class ProvincialParams(ReviewRoundParams):
    output_dir: str | None = Field(
        default=None, description="Folder for the summary table. Empty: <data dir>/out on the worker."
    )


def summary_path(params: ProvincialParams) -> Path:
    folder = Path(params.output_dir) if params.output_dir else get_settings().data_dir / "out"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"summary-{params.season}-{params.unit}-{params.tier}.xlsx"


@task(name="write-summary-table", cache_policy=NO_CACHE, retries=1)
def summary_table(unit: str, tier: str, season: str, path: Path) -> Path:
    """`programmes.summary_table.write_summary_table`: the ranked list the unit forwarded, as .xlsx."""
    from programmes.summary_table import write_summary_table

    with session_scope() as session:
        written = write_summary_table(session, unit=unit, tier=tier, season=get_season(season), path=path)
    return Path(written) if written else path


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The table's rows as dicts (header row = keys), for the table artifact."""
    from openpyxl import load_workbook

    sheet = load_workbook(path, read_only=True).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header_at = next((i for i, r in enumerate(rows) if r and str(r[0] or "").strip() in {"序号", "No."}), 0)
    header = [str(h or f"col{i}") for i, h in enumerate(rows[header_at])] if rows else []
    return [
        {h: ("" if v is None else v) for h, v in zip(header, r, strict=False)}
        for r in rows[header_at + 1 :]
        if any(v not in (None, "") for v in r)
    ]


@flow(
    name="provincial-recommendation",
    flow_run_name=run_name(lambda p: f"provincial-recommendation {p['unit']} {p['tier']} {p['season']}"),
)
def provincial_recommendation(params: ProvincialParams) -> Any:
    """The provincial-level round, then the summary table (file + artifacts)."""
    report = review_round(params, flow_name="provincial-recommendation")
    if not report.refused:
        path = summary_table(params.unit, params.tier, params.season, summary_path(params))
        report.notes["summary_table"] = str(path)
        try:
            from prefect.artifacts import create_link_artifact, create_table_artifact

            key = f"summary-table-{_slug(params.unit)}-{_slug(params.tier)}"
            create_link_artifact(
                path.resolve().as_uri(),
                link_text=path.name,
                key=key,
                description=f"推荐汇总表 {params.unit} {params.tier} {params.season} (file on the worker)",
            )
            create_table_artifact(read_rows(path), key=f"{key}-rows", description=f"推荐汇总表 {path.name}")
        except Exception as exc:  # an artifact is a convenience; the file is the record
            logger().warning("summary table artifact not created: %s", exc)
    return publish(report, key=f"provincial-recommendation-{_slug(params.unit)}")
