"""Expert review commands: experts, panels, assignment, independent reviews, the panel's result, decisions.

Thin: each command parses, calls programmes.panels / programmes.reviews (which audit and commit), prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.context import STATE, console, db_session, emit_json

expert_app = typer.Typer(help="The expert pool (专家库): province, employer and declared ties.", no_args_is_help=True)
panel_app = typer.Typer(
    help="Expert panels per stage: build, assign (conflicts computed), result. Decide with "
    "`act N EVENT`: the decision records the panel result.",
    no_args_is_help=True,
)
review_app = typer.Typer(
    help="Independent reviews: submit yours, read what you may (blind until submitted).", no_args_is_help=True
)

AsOption = Annotated[
    str | None, typer.Option("--as", help="ROLE@UNIT; an expert acts as expert@EMAIL (replay databases only).")
]
Stage = Annotated[str, typer.Option(help="material_review, onsite_verification, acceptance, district_evaluation")]


def _actor(session: Any, spec: str | None) -> Any:
    """The signed-in account's actor; `--as` only on a replay database (issue #11 §4)."""
    from cli.identity import acting_actor

    return acting_actor(session, spec)



def _load(path: Path) -> Any:
    from cli.files import load_file

    return load_file(path)


@expert_app.command("add")
def expert_add(
    file: Annotated[
        Path,
        typer.Argument(
            help="YAML/JSON: one expert or a list (name, email, province, employer, employer_credit_code, ties)."
        ),
    ],
    as_: AsOption = None,
) -> None:
    """Register experts (each also signs in as expert@EMAIL)."""
    from models.enums import Role
    from programmes.panels import add_expert
    from states.intake import add_actor

    data = _load(file)
    items = data if isinstance(data, list) else [data]
    added = []
    with db_session() as session:
        actor = _actor(session, as_)
        for item in items:
            if not isinstance(item, dict):
                from models.errors import InvalidInput

                raise InvalidInput(f"{file}: each expert must be a mapping", rule="expert-schema")
            expert = add_expert(session, data=item, actor=actor, at=STATE.now())
            add_actor(session, name=expert.name, email=expert.email, role=Role.EXPERT, unit=expert.email)
            added.append({"id": expert.id, "name": expert.name, "province": expert.province})
    if STATE.json:
        emit_json(added)
    for row in added if not STATE.json else []:
        console.print(f"expert {row['id']}: {row['name']} ({row['province']})")


@panel_app.command("create")
def panel_create(
    stage: Stage,
    tier: Annotated[str, typer.Option(help="Tier, e.g. leading.")],
    name: Annotated[str, typer.Option(help="Panel name, e.g. 领航级材料评审第一组.")],
    as_: AsOption = None,
    season: Annotated[str, typer.Option(help="Season name.")] = "2025",
) -> None:
    """Build a panel for a stage (only the stage's organising unit may)."""
    from programmes.panels import create_panel

    with db_session() as session:
        panel = create_panel(
            session, season=season, stage=stage, tier=tier, name=name, actor=_actor(session, as_), at=STATE.now()
        )
    _print({"panel": panel.id, "stage": stage, "tier": tier, "season": season}, f"panel {panel.id}: {name}")


@panel_app.command("add-members")
def panel_add_members(
    panel: int, experts: Annotated[list[int], typer.Argument(help="Expert ids.")], as_: AsOption = None
) -> None:
    """Add experts to a panel."""
    from programmes.panels import add_members

    with db_session() as session:
        added = add_members(session, panel_id=panel, expert_ids=experts, actor=_actor(session, as_), at=STATE.now())
    _print({"panel": panel, "added": added}, f"panel {panel}: {added} member(s) added")


@panel_app.command("assign")
def panel_assign(
    panel: int,
    as_: AsOption = None,
    application: Annotated[list[int] | None, typer.Option(help="Only these applications.")] = None,
    expert: Annotated[int | None, typer.Option(help="Assign this expert by hand.")] = None,
    override_reason: Annotated[str, typer.Option(help="Why a conflict is overridden.")] = "",
) -> None:
    """Assign reviewers: automatically (conflict-free, least loaded) or one expert by hand."""
    from programmes.panels import assign_manually, auto_assign

    with db_session() as session:
        actor = _actor(session, as_)
        if expert is not None:
            if not application or len(application) != 1:
                from models.errors import InvalidInput

                raise InvalidInput("--expert needs exactly one --application", rule="input")
            made = [
                assign_manually(
                    session,
                    panel_id=panel,
                    application_id=application[0],
                    expert_id=expert,
                    actor=actor,
                    at=STATE.now(),
                    reason=override_reason,
                )
            ]
        else:
            made = auto_assign(session, panel_id=panel, actor=actor, at=STATE.now(), application_ids=application)
        rows = [
            {"review": a.id, "application": a.application_id, "expert": a.expert_id, "due_on": str(a.due_on)}
            for a in made
        ]
    _print(rows, f"panel {panel}: {len(rows)} review(s) assigned")


@review_app.command("submit")
def review_submit(
    review: int,
    file: Annotated[Path, typer.Argument(help="YAML: scores, recommendation, comments, findings.")],
    as_: AsOption = None,
) -> None:
    """Submit your review (once; it cannot change afterwards)."""
    from programmes.reviews import submit_review

    data = _load(file)
    if not isinstance(data, dict):
        from models.errors import InvalidInput

        raise InvalidInput(f"{file}: a mapping of scores, recommendation, comments, findings", rule="review-form")
    with db_session() as session:
        submit_review(
            session,
            assignment_id=review,
            actor=_actor(session, as_),
            at=STATE.now(),
            scores=dict(data.get("scores") or {}),
            recommendation=str(data.get("recommendation", "")),
            comments=str(data.get("comments", "")),
            findings=list(data.get("findings") or []),
        )
    _print({"review": review, "status": "submitted"}, f"review {review} submitted")


@review_app.command("list")
def review_list(application: int, stage: Stage, as_: AsOption = None) -> None:
    """The reviews of an application's stage that you may read."""
    from programmes.reviews import visible_reviews

    with db_session() as session:
        rows = visible_reviews(session, application_id=application, stage=stage, viewer=_actor(session, as_))
    if STATE.json:
        emit_json(rows)
        return
    for r in rows:
        console.print(
            f"review {r['review_id']} · {r['expert']} · {r['status']} · {r['recommendation'] or '-'} "
            f"· {r['scores'] or ''}",
            highlight=False,
        )


@panel_app.command("result")
def panel_result_command(application: int, stage: Stage) -> None:
    """The panel's result: weighted scores, mean, median, spread (dispersion flagged), recommendations."""
    from programmes.reviews import panel_result

    with db_session() as session:
        result = panel_result(session, application_id=application, stage=stage).as_dict()
    flag = " [dispersed]" if result["dispersed"] else ""
    _print(
        result,
        f"application {application} {stage}: {result['submitted']}/{result['expected']} reviews, "
        f"mean {result['mean']}, median {result['median']}, spread {result['spread']}{flag}, "
        f"recommendations {result['recommendations']}",
    )


def _print(value: Any, line: str) -> None:
    if STATE.json:
        emit_json(value)
    else:
        console.print(line, highlight=False)
