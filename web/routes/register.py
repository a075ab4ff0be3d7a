"""Enterprise self-registration (企业注册账号) and the district's confirmation console (issue 14 §1).

The routes read the form and call `states.accounts.register_enterprise` / `confirm_enterprise`; a refusal
comes back beside the field it concerns, with the answers kept (the password excepted)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from models.errors import InvalidInput, ReviewError
from programmes.season import get_season
from states import accounts
from states.enterprise_accounts import pending_registrations
from states.scope import lineage
from web import auth
from web.deps import DB, CurrentAccount, refusal_status, render

router = APIRouter()

TEXT_FIELDS = ("credit_code", "name", "district", "tax_district", "industry", "contact_name", "contact_phone",
               "email", "display_name", "held_tier", "held_year")  # fmt: skip
BASICS = {  # 要素 一: declared at registration, checked by the district and by the reviewers
    "above_designated_size": "规模以上工业企业（要素 一.1）",
    "clean_record_3y": "近三年经营和财务状况良好，无不良信用记录，未发生较大及以上安全、环保事故（要素 一.2）",
    "security_controllable": "关键装备、工业软件、操作系统和解决方案安全可控（要素 一.3）",
    "has_smart_factory_org": "设有智能工厂规划、建设和运营的组织机构，人才队伍满足要求（要素 一.4）",
}
FIELD_OF_RULE = {"credit-code": "credit_code", "account-email": "email", "account-unique": "email",
                 "password-policy": "password", "jurisdiction": "district", "account-name": "display_name",
                 "header-injection": "contact_name", "recognition": "held_year",
                 "tax-district": "tax_district"}  # fmt: skip
HELD = [("", "尚未获评"), ("basic", "基础级（自评）"), ("advanced", "先进级（省级认定）"),
        ("excellent", "卓越级（工信部认定）")]


def districts() -> list[tuple[str, str]]:
    season = get_season()
    return [(u.code, " ".join(season.unit(c).name_zh for c in reversed(season.lineage(u.code))))
            for u in season.units if u.level == "district"]  # fmt: skip


def _page(request: Request, values: dict[str, str], *, error: ReviewError | None = None, status_code: int = 200,
          field: str = "") -> Response:  # fmt: skip
    return render(request, "register.html", {
        "values": values, "error": error, "field_errors": {field: error.message} if error and field else {},
        "districts": districts(), "basics": BASICS, "held": HELD}, status_code=status_code)  # fmt: skip


@router.get("/register")
def register_page(request: Request) -> Response:
    return _page(request, {"held_year": "", **dict.fromkeys(BASICS, "on")})


def _tax_district(values: dict[str, str]) -> str | None:
    """财税户管地: where the enterprise pays its taxes, by default its own district — a district call may
    require it in the district (青浦 §2(一))."""
    chosen = values.get("tax_district") or None
    if chosen is None:  # the default; the district itself is checked where the enterprise is registered
        return values.get("district") or None
    if chosen not in dict(districts()):
        raise InvalidInput("财税户管地：请选择一个区（县）", rule="tax-district")
    return chosen


def _recognitions(values: dict[str, str], province: str) -> list[dict[str, Any]]:
    tier = values.get("held_tier", "")
    if not tier:
        return []
    year = values.get("held_year", "").strip()
    if not (year.isdigit() and 2015 <= int(year) <= 2100):
        raise InvalidInput("获评年份：请填写四位年份", rule="recognition")
    return [{"tier": tier, "year": int(year), "by": {"basic": "self", "excellent": "miit"}.get(tier, province)}]


@router.post("/register")
async def register(request: Request, session: DB) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "")[:500] for k in TEXT_FIELDS} | {k: str(form.get(k) or "") for k in BASICS}
    password = str(form.get("password") or "")
    try:
        province = lineage(values["district"])[-1] if values["district"] else ""
        details = {"recognitions": _recognitions(values, province), "tax_district": _tax_district(values),
                   **{k: values[k] == "on" for k in BASICS}}
        accounts.register_enterprise(
            session, email=values["email"], password=password, display_name=values["display_name"] or values["name"],
            credit_code=values["credit_code"], name=values["name"], district=values["district"],
            contact_name=values["contact_name"], contact_phone=values["contact_phone"], at=auth.wall_clock(),
            industry=values["industry"] or "未填写", details=details)  # fmt: skip
    except ReviewError as error:
        session.rollback()
        return _page(request, values, error=error, status_code=refusal_status(error) if refusal_status(error) != 409
                     else 422, field=FIELD_OF_RULE.get(error.rule, ""))  # fmt: skip
    return render(request, "registered.html", {"email": values["email"], "name": values["name"]})


def _officer(account: Any) -> None:
    if account.role not in ("local_officer", "admin"):
        raise HTTPException(status_code=404, detail="not found")


@router.get("/registrations")
def registrations(request: Request, session: DB, account: CurrentAccount) -> Response:
    """The district's console: self-registered enterprises waiting for confirmation."""
    _officer(account)
    return render(request, "registrations.html", {"account": account, "pending": _pending(session, account)})


def _pending(session: DB, account: Any) -> list[dict[str, Any]]:
    from models.tables import Enterprise

    rows = []
    for pending in pending_registrations(session, by=account):
        enterprise = session.get(Enterprise, pending.enterprise_id)
        rows.append({"account": pending, "enterprise": enterprise})
    return rows


@router.post("/registrations/{account_id}")
async def decide_registration(request: Request, session: DB, account: CurrentAccount, account_id: int) -> Response:
    _officer(account)
    if account_id not in {row["account"].id for row in _pending(session, account)}:
        raise HTTPException(status_code=404, detail="not found")  # not waiting, or not in this officer's scope
    form = await request.form()
    approve, reason = form.get("decision") == "confirm", str(form.get("reason") or "").strip()[:500]
    try:
        accounts.confirm_enterprise(session, by=account, account_id=account_id, approve=approve, reason=reason,
                                    at=auth.wall_clock())  # fmt: skip
    except ReviewError as error:
        session.rollback()
        return render(request, "registrations.html", {"account": account, "pending": _pending(session, account),
                      "error": error, "chosen": account_id}, status_code=refusal_status(error))  # fmt: skip
    return RedirectResponse("/registrations?done=1", status_code=303)
