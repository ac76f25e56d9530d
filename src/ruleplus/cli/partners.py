"""``ruleplus partners …``: partners (tenants) and their API keys."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from ruleplus.cli._common import (
    JsonFlag,
    emit,
    open_database,
    out,
    run,
)

__all__ = ["partners_app"]

partners_app = typer.Typer(no_args_is_help=True, help="Partners (tenants) and their API keys.")


@partners_app.command("create")
def partners_create(
    name: str,
    rate_limit: Annotated[float | None, typer.Option(help="requests/s")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a partner; prints its id and API key (shown once)."""
    from ruleplus.serving import admin

    database, _ = open_database()
    info = run(lambda: admin.create_partner(database, name, "cli", rate_limit), as_json)
    emit(
        info,
        as_json,
        f"partner {info['partner_id']}\napi key {info['api_key']}  (shown once; store it safely)",
    )


@partners_app.command("list")
def partners_list(as_json: JsonFlag = False) -> None:
    """List partners and their keys (prefixes only)."""
    from ruleplus.store.repos import PartnerRepo

    database, _ = open_database()
    with database.session() as session:
        repo = PartnerRepo(session)
        rows: list[dict[str, Any]] = [
            {
                "partner_id": p.id,
                "name": p.name,
                "status": p.status,
                "keys": [{"prefix": k.prefix, "status": k.status} for k in repo.keys(p.id)],
            }
            for p in repo.list()
        ]
    if as_json:
        emit(rows, True)
        return
    table = Table("partner", "name", "status", "keys")
    for r in rows:
        table.add_row(
            r["partner_id"],
            r["name"],
            r["status"],
            ", ".join(f"{k['prefix']}… {k['status']}" for k in r["keys"]),
        )
    out.print(table)


@partners_app.command("rotate-key")
def partners_rotate(
    partner_id: str,
    keep_old: Annotated[bool, typer.Option(help="keep the old keys active")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Issue a new API key (old keys are revoked unless --keep-old)."""
    from ruleplus.serving import admin

    database, _ = open_database()
    info = run(lambda: admin.rotate_key(database, partner_id, "cli", keep_old), as_json)
    emit(info, as_json, f"new api key {info['api_key']}  (shown once)")


@partners_app.command("revoke")
def partners_revoke(
    partner_id: str,
    prefix: Annotated[str | None, typer.Option(help="only the key with this prefix")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Revoke a partner's keys."""
    from ruleplus.serving import admin

    database, _ = open_database()
    info = run(lambda: admin.revoke_keys(database, partner_id, "cli", prefix), as_json)
    emit(info, as_json, f"revoked {info['revoked']} key(s)")
