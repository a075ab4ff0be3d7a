"""The expert's console: "my reviews", and the review form of each stage generated from the season data.

Blind until submitted (HotCRP): before the expert submits, the page shows neither the other reviewers'
scores nor their names — it asks `programmes.reviews` what the expert may read and shows only that. A
submitted review is final. Bad input gets the form back with each field's message and nothing changed:
the service checks the whole form (`form_problems`) before it writes anything.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from models.clock import local_date
from models.enums import Role
from models.errors import InvalidInput, NotFound, ReviewError
from programmes.reviews import (
    RECOMMENDATIONS,
    OwnReview,
    own_review,
    reviews_of,
    submit_review,
    visible_reviews,
    weighted_score,
)
from programmes.season import PanelRule
from web import auth, labels
from web.deps import DB, CurrentAccount, lang, refusal_status, render

router = APIRouter()


def _expert(account: Any) -> None:
    if account.role != Role.EXPERT:
        raise HTTPException(status_code=404)


def _own(session: DB, account: Any, review_id: int) -> OwnReview:
    """The account's own review, or 404 (another expert's review looks like no review at all)."""
    _expert(account)
    try:
        return own_review(session, review_id=review_id, viewer=auth.actor_for(session, account))
    except NotFound as exc:
        raise HTTPException(status_code=404) from exc


@router.get("/reviews")
def my_reviews(request: Request, session: DB, account: CurrentAccount) -> Response:
    _expert(account)
    rows = reviews_of(session, viewer=auth.actor_for(session, account))
    today = local_date(auth.business_clock(session).now())
    return render(request, "reviews.html", {"account": account, "rows": rows, "today": today})


def _page(request: Request, session: DB, account: Any, review_id: int, *, status_code: int = 200,
          **extra: Any) -> Response:  # fmt: skip
    own = _own(session, account, review_id)
    mine, others = own.assignment, []
    if mine.status == "submitted":  # the service opens the others' submitted reviews once mine is in
        rows = visible_reviews(session, application_id=own.application.id or 0, stage=own.panel.stage,
                               viewer=auth.actor_for(session, account))  # fmt: skip
        others = [{**r, "weighted": _weighted(own.rule, r)} for r in rows if r["review_id"] != mine.id]
    chosen = lang(request)
    return render(request, "review.html", {
        "account": account, "own": own, "review": mine, "rule": own.rule, "others": others,
        "weighted": _weighted(own.rule, {"status": mine.status, "scores": mine.scores}),
        "recommendations": [(r, labels.recommendation_label(r, chosen)) for r in RECOMMENDATIONS],
        "summary": _summary(own.rule, extra.get("field_errors") or {}, chosen),
        "answers": extra.pop("answers", None) or _answers_of(mine), **extra,
    }, status_code=status_code)  # fmt: skip


def _weighted(rule: PanelRule, review: dict[str, Any]) -> float | None:
    return weighted_score(rule, review["scores"]) if review["status"] == "submitted" and rule.criteria else None


def _summary(rule: PanelRule, errors: dict[str, str], chosen: str) -> list[tuple[str, str, str]]:
    """(field, label, message) in the form's order, for the error summary at the top."""
    fields = [(f"score-{c.key}", c.label) for c in rule.criteria]
    for c in rule.checklist:
        fields += [(f"item-{c.key}", c.label), (f"finding-{c.key}", f"{labels.text('finding', chosen)}：{c.label}")]
    fields += [(k, labels.text(k, chosen)) for k in ("recommendation", "comments")]
    return [(name, label, errors[name]) for name, label in fields if name in errors]


@router.get("/reviews/{review_id}")
def review_page(request: Request, session: DB, account: CurrentAccount, review_id: int) -> Response:
    return _page(request, session, account, review_id)


@router.post("/reviews/{review_id}")
async def submit(request: Request, session: DB, account: CurrentAccount, review_id: int) -> Response:
    own = _own(session, account, review_id)  # someone else's review: 404 before anything else
    form = await request.form()
    values = parse_review(form, own.rule)
    try:
        submit_review(session, assignment_id=review_id, actor=auth.actor_for(session, account),
                      at=auth.business_clock(session).now(), **values)  # fmt: skip
    except ReviewError as error:
        session.rollback()
        problems = error.details.get("problems", {}) if isinstance(error, InvalidInput) else {}
        chosen = lang(request)
        fields = {field_name(path): labels.text(f"problem_{code}", chosen) for path, code in problems.items()}
        return _page(request, session, account, review_id, status_code=refusal_status(error),
                     error=None if fields else error, field_errors=fields, answers=_raw(form))  # fmt: skip
    return RedirectResponse(f"/reviews/{review_id}?done=1", status_code=303)


# ---- the form: names in the page ↔ the service's fields ----------------------------------------------


def field_name(path: str) -> str:
    """The form control of a service field: scores.k → score-k, findings.k → item-k, findings.k.finding →
    finding-k, recommendation and comments as they are."""
    parts = path.split(".")
    if parts[0] == "scores" and len(parts) == 2:
        return f"score-{parts[1]}"
    if parts[0] == "findings" and len(parts) >= 2:
        return f"finding-{parts[1]}" if len(parts) == 3 else f"item-{parts[1]}"
    return path


def _number(raw: str) -> Any:
    """A score as typed: empty → absent, a number → int or float, anything else kept for the service to
    refuse (it names the field)."""
    text = raw.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def parse_review(form: FormData, rule: PanelRule) -> dict[str, Any]:
    """The posted form as `submit_review` takes it; only the season's criteria and items are read."""
    scores = {c.key: v for c in rule.criteria if (v := _number(str(form.get(f"score-{c.key}") or ""))) is not None}
    findings = []
    for c in rule.checklist:
        choice = str(form.get(f"item-{c.key}") or "")
        if choice in ("pass", "fail"):
            findings.append({"item": c.key, "passed": choice == "pass",
                             "finding": str(form.get(f"finding-{c.key}") or "").strip()})  # fmt: skip
    return {"scores": scores, "findings": findings, "recommendation": str(form.get("recommendation") or ""),
            "comments": str(form.get("comments") or "").strip()}  # fmt: skip


def _raw(form: FormData) -> dict[str, str]:
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


def _answers_of(review: Any) -> dict[str, str]:
    """A stored review as the form's answers (a submitted review shows what was submitted)."""
    answers = {f"score-{k}": str(v) for k, v in (review.scores or {}).items()}
    for f in review.findings or []:
        answers[f"item-{f['item']}"] = "pass" if f.get("passed") else "fail"
        answers[f"finding-{f['item']}"] = str(f.get("finding") or "")
    answers["recommendation"], answers["comments"] = review.recommendation or "", review.comments or ""
    return answers
