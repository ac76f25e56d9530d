"""``ruleplus serve`` (the decision service) and ``ruleplus db`` (its schema)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from ruleplus.cli._common import (
    JsonFlag,
    emit,
    err,
    open_database,
    out,
    run,
)

__all__ = ["db_app", "serve"]

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")


def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo", help="seed a demo partner, strategies and deployments")
    ] = False,
    workers: Annotated[int, typer.Option(help="worker processes (PostgreSQL only)")] = 1,
    log_level: Annotated[str, typer.Option(help="log level")] = "info",
) -> None:
    """Run the decision service (SQLite under ./var unless RULEPLUS_DATABASE_URL is set)."""
    import uvicorn

    from ruleplus.service.logs import configure_logging

    database, config = open_database()
    if workers > 1 and database.is_sqlite:
        err.print("[yellow]SQLite is embedded and single-writer: running one worker[/yellow]")
        workers = 1
    if demo:
        from ruleplus.cli.demo import seed_demo

        seed_demo(database, config, host, port, out)
        # the demo shows /docs and /metrics without the admin key (production keeps them closed)
        os.environ.setdefault("RULEPLUS_PUBLIC_OPS", "on")
    database.dispose()
    configure_logging(log_level.upper())
    uvicorn.run(
        "ruleplus.service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        http="ruleplus.service.http:Protocol",  # httptools, one write per loop step
        loop="uvloop",
    )


@db_app.command("upgrade")
def db_upgrade(as_json: JsonFlag = False) -> None:
    """Apply the migrations (the server also does this on start)."""
    database, _config = run(open_database, as_json)
    emit(
        {"ok": True, "database": database.engine.url.render_as_string(hide_password=True)},
        as_json,
        "database is up to date",
    )
