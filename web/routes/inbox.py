"""The inbox page and its lists as CSV (UTF-8 BOM) and xlsx."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from models.enums import Tier
from states.lifecycle import STATE_LABELS
from web import inbox, labels
from web.deps import DB, CurrentAccount, Lang, render

router = APIRouter()
EXPORT_LIMIT = 100_000


class InboxQuery(BaseModel):
    tier: str = Field(default="", max_length=30)
    state: str = Field(default="", max_length=40)
    season: str = Field(default="", max_length=10)
    district: str = Field(default="", max_length=80)
    q: str = Field(default="", max_length=200)
    view: str = Field(default="", pattern="^(|waiting|all)$")
    page: int = Field(default=1, ge=1, le=1_000_000)


def _filters(account: Any, query: InboxQuery) -> inbox.Filters:
    view = query.view or ("waiting" if inbox_has_queue(account) else "all")
    return inbox.Filters(query.tier, query.state, query.season, query.district, query.q, view, query.page)


def inbox_has_queue(account: Any) -> bool:
    return account.role in {"local_officer", "ministry_officer"}


@router.get("/inbox")
def inbox_page(
    request: Request, session: DB, account: CurrentAccount, query: Annotated[InboxQuery, Query()]
) -> Response:
    filters = _filters(account, query)
    page = inbox.page_of(session, account, filters)
    return render(request, "inbox.html", {
        "account": account, "page": page, "filters": filters, "has_queue": inbox_has_queue(account),
        "tiers": [t.value for t in Tier], "states": [s.value for s in STATE_LABELS],
        "query_string": request.url.query,
    })  # fmt: skip


def _table(session: DB, account: Any, query: InboxQuery, lang: str) -> tuple[list[str], list[list[Any]]]:
    rows = inbox.list_rows(session, account, _filters(account, query), limit=EXPORT_LIMIT)
    head = [labels.text(k, lang) for k in ("enterprise", "credit_code", "title", "tier", "state", "season", "deadline")]
    body = [[r["name"], r["credit_code"], r["title"], labels.tier_label(r["tier"], lang),
             labels.state_label(r["state"], lang), r["season"], r["deadline"].isoformat() if r["deadline"] else ""]
            for r in rows]  # fmt: skip
    return ["ID", *head], [[r["id"], *b] for r, b in zip(rows, body, strict=True)]


@router.get("/inbox.csv")
def inbox_csv(session: DB, account: CurrentAccount, lang: Lang, query: Annotated[InboxQuery, Query()]) -> Response:
    head, body = _table(session, account, query, lang)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(head)
    writer.writerows(body)
    # UTF-8 with BOM: Excel on Chinese Windows opens it with the right encoding.
    return Response(("\ufeff" + out.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="inbox.csv"'})  # fmt: skip


@router.get("/inbox.xlsx")
def inbox_xlsx(session: DB, account: CurrentAccount, lang: Lang, query: Annotated[InboxQuery, Query()]) -> Response:
    from openpyxl import Workbook

    head, body = _table(session, account, query, lang)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(head)
    for row in body:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="inbox.xlsx"'})  # fmt: skip
