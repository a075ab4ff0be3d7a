"""`login`, `logout`, `whoami` and `account …`: sign-in and the audited management of accounts.

Passwords come from a file (`--password-file`, first line) or a hidden prompt, never from the command line.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.context import STATE, console, db_session, emit_json

app = typer.Typer(no_args_is_help=True)
account_app = typer.Typer(help="Accounts: grant, list, change, deactivate, confirm enterprises.", no_args_is_help=True)
app.add_typer(account_app, name="account")

PasswordFile = Annotated[
    Path | None, typer.Option("--password-file", help="A file whose first line is the password (else a prompt).")
]



def _row(account: Any) -> dict[str, Any]:
    return {"id": account.id, "email": account.email, "name": account.display_name, "role": account.role,
            "unit": account.unit, "active": account.active, "confirmed": account.confirmed,
            "service": account.service}  # fmt: skip


def _say(value: dict[str, Any], line: str) -> None:
    if STATE.json:
        emit_json(value)
    else:
        console.print(line, highlight=False)


@app.command()
def login(
    email: Annotated[str, typer.Argument(help="Your login e-mail.")],
    password_file: PasswordFile = None,
    hours: Annotated[float, typer.Option(help="How long the session lasts.")] = 12.0,
) -> None:
    """Sign in: the session token goes to a 0600 file in your config folder (XDG_CONFIG_HOME)."""
    from cli.identity import read_password, real_now, save_token
    from states.accounts import actor_for, authenticate, open_session

    password = read_password(password_file)
    with db_session() as session:
        account = authenticate(session, email=email, password=password, at=real_now())
        actor_for(account)
        token = open_session(session, account=account, kind="cli", at=real_now(), ttl=timedelta(hours=hours))
    path = save_token(token)
    _say({**_row(account), "token_file": str(path)},
         f"signed in as {account.email} ({account.role}@{account.unit}) for {hours:g} h; token in {path}")


@app.command()
def logout() -> None:
    """Revoke this session and delete the token file."""
    from cli.identity import forget_token, real_now, stored_token
    from models.errors import NotAuthenticated
    from states.accounts import close_session

    token = stored_token()
    if token is None:
        raise NotAuthenticated("not signed in", rule="session")
    try:
        with db_session() as session:
            close_session(session, token, at=real_now())
    finally:
        forget_token()
    _say({"signed_out": True}, "signed out")


@app.command()
def whoami() -> None:
    """Who the session token signs in, and the database's mode."""
    from cli.identity import current_account
    from states.system import database_mode

    with db_session() as session:
        account = current_account(session)
        mode = database_mode(session)
    _say({**_row(account), "database_mode": mode},
         f"{account.email} — {account.display_name}, {account.role}@{account.unit} ({mode} database)")


@app.command("form-token")
def form_token(minutes: Annotated[int, typer.Option(help="How long it stays valid.")] = 60) -> None:
    """A one-time token for a Prefect decision form: the decisions are recorded as yours."""
    from cli.identity import current_account, real_now
    from states.accounts import actor_for, open_session

    with db_session() as session:
        account = current_account(session)
        actor_for(account)
        token = open_session(session, account=account, kind="form", at=real_now(), ttl=timedelta(minutes=minutes))
    _say({"token": token, "minutes": minutes}, token)


@account_app.command("add")
def account_add(
    email: Annotated[str, typer.Argument(help="The new account's login e-mail.")],
    role: Annotated[str, typer.Option(help="enterprise, local_officer, ministry_officer, admin, auditor, expert.")],
    unit: Annotated[str, typer.Option(help="Jurisdiction code, 'miit', or (enterprise) the credit code.")] = "",
    enterprise: Annotated[str | None, typer.Option("--enterprise", help="Credit code (enterprise accounts).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    service: Annotated[bool, typer.Option("--service", help="A deployment's account: token only.")] = False,
    password_file: PasswordFile = None,
) -> None:
    """Grant an account in your scope, at or below your role (audited)."""
    from cli.identity import current_account, read_password, real_now
    from states.accounts import grant_account

    password = None if service else read_password(password_file, prompt="new password", confirm=password_file is None)
    with db_session() as session:
        by = current_account(session)
        account = grant_account(session, by=by, email=email, password=password, role=role, unit=unit or "",
                                display_name=name, enterprise_credit_code=enterprise, at=real_now(),
                                service=service)  # fmt: skip
    _say(_row(account), f"account {account.id}: {account.email} {account.role}@{account.unit}")


@account_app.command("list")
def account_list() -> None:
    """The accounts of your scope."""
    from rich.table import Table

    from cli.identity import current_account
    from states.accounts import list_accounts

    with db_session() as session:
        rows = [_row(a) for a in list_accounts(session, by=current_account(session))]
    if STATE.json:
        emit_json(rows)
        return
    table = Table(title=f"accounts ({len(rows)})")
    for column in ("id", "email", "name", "role@unit", "state"):
        table.add_column(column)
    for r in rows:
        state = "active" if r["active"] and r["confirmed"] else ("unconfirmed" if r["active"] else "inactive")
        table.add_row(str(r["id"]), r["email"], r["name"], f"{r['role']}@{r['unit']}",
                      state + (" (service)" if r["service"] else ""))  # fmt: skip
    console.print(table)


def _target(session: Any, email: str) -> Any:
    from states.accounts import account_by_email

    return account_by_email(session, email)


@account_app.command("role")
def account_role(
    email: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Argument(help="The new role.")],
    unit: Annotated[str | None, typer.Option(help="The new unit (default: unchanged).")] = None,
) -> None:
    """Change an account's role (and unit); audited."""
    from cli.identity import current_account, real_now
    from states.accounts import change_role

    with db_session() as session:
        by = current_account(session)
        account = change_role(session, by=by, account_id=_target(session, email).id, role=role, unit=unit,
                              at=real_now())  # fmt: skip
    _say(_row(account), f"account {account.email} is now {account.role}@{account.unit}")


@account_app.command("deactivate")
def account_deactivate(
    email: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option(help="Why (recorded).")],
) -> None:
    """Deactivate an account and end its sessions; audited."""
    from cli.identity import current_account, real_now
    from states.accounts import deactivate

    with db_session() as session:
        by = current_account(session)
        account = deactivate(session, by=by, account_id=_target(session, email).id, reason=reason, at=real_now())
    _say(_row(account), f"account {account.email} deactivated")


@account_app.command("password")
def account_password(
    email: Annotated[str, typer.Argument(help="Whose password (yours, or an account you manage).")],
    password_file: PasswordFile = None,
) -> None:
    """Set a new password; ends the account's sessions and lifts a lock-out; audited."""
    from cli.identity import current_account, read_password, real_now
    from states.accounts import reset_password

    password = read_password(password_file, prompt="new password", confirm=password_file is None)
    with db_session() as session:
        by = current_account(session)
        account = reset_password(session, by=by, account_id=_target(session, email).id, password=password,
                                 at=real_now())  # fmt: skip
    _say(_row(account), f"password of {account.email} reset; its sessions are ended")


@account_app.command("register")
def account_register(
    email: Annotated[str, typer.Argument(help="The enterprise's login e-mail.")],
    credit_code: Annotated[str, typer.Option("--credit-code", help="统一社会信用代码.")],
    name: Annotated[str, typer.Option("--name", help="Enterprise name.")],
    district: Annotated[str, typer.Option("--district", help="Its district (jurisdiction code).")],
    contact_name: Annotated[str, typer.Option("--contact-name")],
    contact_phone: Annotated[str, typer.Option("--contact-phone")],
    industry: Annotated[str, typer.Option("--industry")] = "未填写",
    password_file: PasswordFile = None,
) -> None:
    """An enterprise registers itself (企业注册账号); it can act once its district confirms."""
    from cli.identity import read_password, real_now
    from states.accounts import register_enterprise

    password = read_password(password_file, prompt="new password", confirm=password_file is None)
    with db_session() as session:
        account = register_enterprise(session, email=email, password=password, display_name=contact_name,
                                      credit_code=credit_code, name=name, district=district,
                                      contact_name=contact_name, contact_phone=contact_phone, at=real_now(),
                                      industry=industry)  # fmt: skip
    _say(_row(account), f"account {account.id}: {account.email} registered; waits for {district} to confirm")


@account_app.command("confirm")
def account_confirm(
    email: Annotated[str, typer.Argument(help="The enterprise account.")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject the registration instead.")] = False,
    reason: Annotated[str, typer.Option(help="Why (required to reject).")] = "",
) -> None:
    """The district confirms (or rejects) an enterprise's self-registration; audited."""
    from cli.identity import current_account, real_now
    from states.accounts import confirm_enterprise

    with db_session() as session:
        by = current_account(session)
        account = confirm_enterprise(session, by=by, account_id=_target(session, email).id, approve=not reject,
                                     reason=reason, at=real_now())  # fmt: skip
    _say(_row(account), f"account {account.email} {'rejected' if reject else 'confirmed'}")


@account_app.command("token")
def account_token(
    email: Annotated[str, typer.Argument(help="A service account you manage.")],
    days: Annotated[int, typer.Option(help="How long the token lasts.")] = 90,
) -> None:
    """Issue a token for a service account (a Prefect deployment): set it as FACTORY_REVIEW_TOKEN. Shown once."""
    from cli.identity import current_account, real_now
    from states.accounts import issue_service_token

    with db_session() as session:
        by = current_account(session)
        token = issue_service_token(session, by=by, account_id=_target(session, email).id,
                                    ttl=timedelta(days=days), at=real_now())  # fmt: skip
    _say({"email": email, "token": token, "days": days}, token)
