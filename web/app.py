"""The web application: `create_app()` wires middleware, error pages and the routers."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.database import get_engine, make_engine
from web import deps, labels, security
from web.routes import (
    application,
    audit,
    dashboard,
    documents,
    enterprise,
    inbox,
    notice,
    panels,
    ranking,
    register,
    reviews,
    signin,
    statistics,
)
from web.timing import ServerTiming


def create_app(database_url: str | None = None, *, engine: Engine | None = None) -> FastAPI:
    from programmes.wiring import assemble

    assemble()  # the composition root: guards and season tracks, as the CLI and the flows do
    app = FastAPI(title="factory-review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = engine or (make_engine(database_url) if database_url else get_engine())
    app.state.read_engine = read_engine_for(app.state.engine)
    analyse(app.state.engine)
    app.add_middleware(security.BodyLimit)
    app.add_middleware(ServerTiming)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    checked = [Depends(deps.csrf_checked)]
    pages = (signin, inbox, application, panels, reviews, ranking, notice, audit, dashboard, statistics, documents,
             register, enterprise)  # fmt: skip
    for module in pages:
        app.include_router(module.router, dependencies=checked)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        """200 when the database answers; 503 otherwise."""
        try:
            with Session(app.state.engine) as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means "not healthy"
            return JSONResponse({"status": "database unreachable", "error": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ok"})

    _error_pages(app)
    return app


def analyse(engine: Engine) -> None:
    """SQLite plans the inbox's joins well only with table statistics: gather them once (ANALYZE), later
    let SQLite refresh what changed (PRAGMA optimize). PostgreSQL's autovacuum keeps its own."""
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as connection:
        analysed = connection.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first()
        connection.exec_driver_sql("PRAGMA optimize" if analysed else "ANALYZE")


def read_engine_for(engine: Engine) -> Engine:
    """GET pages on SQLite read without BEGIN IMMEDIATE (the write lock the one door's engine takes), so
    officers reading never queue behind each other; WAL gives each read a consistent snapshot. A write
    still goes through the main engine's locking (POST routes)."""
    if engine.dialect.name != "sqlite":
        return engine
    return create_engine(engine.url, connect_args={"timeout": 60, "check_same_thread": False})


def _error_pages(app: FastAPI) -> None:
    @app.exception_handler(deps.NotSignedIn)
    async def _to_sign_in(request: Request, exc: deps.NotSignedIn) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(deps.CsrfRefused)
    async def _csrf(request: Request, exc: deps.CsrfRefused) -> Response:
        return HTMLResponse(f"<p>{labels.text('csrf', deps.lang(request))}</p>", status_code=403)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            return deps.render(request, "error.html", {"message": labels.text("not_found", deps.lang(request))},
                               status_code=404)  # fmt: skip
        return HTMLResponse(str(exc.detail), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _bad_input(request: Request, exc: RequestValidationError) -> Response:
        # A malformed query or path value: the message names the field, never a traceback.
        fields = "; ".join(
            ".".join(str(p) for p in e.get("loc", ())[1:]) + ": " + str(e.get("msg")) for e in exc.errors()
        )
        return deps.render(request, "error.html", {"message": fields}, status_code=422)
