"""`factory-review web --host 127.0.0.1 --port 8000`: the web door (web/), served by uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Serve the web application.")


@app.command("web")
def web(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    database_url: Annotated[str | None, typer.Option("--database-url", help="Else DATABASE_URL / settings.")] = None,
) -> None:
    """Serve the officers' and auditors' web application (sign in with an account; GET /healthz)."""
    import uvicorn

    from web.app import create_app

    typer.echo(f"factory-review web: http://{host}:{port}/  (Ctrl-C to stop)")
    uvicorn.run(create_app(database_url), host=host, port=port, log_level="info", proxy_headers=False)
