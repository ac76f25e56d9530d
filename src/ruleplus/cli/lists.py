"""``ruleplus lists …``: watch lists (ID numbers, phones, devices…), stored as keyed digests."""

from __future__ import annotations

from typing import Annotated

import typer

from ruleplus.cli._common import (
    JsonFlag,
    emit,
    open_database,
    run,
)

__all__ = ["lists_app"]

lists_app = typer.Typer(no_args_is_help=True, help="Watch lists (ID numbers, phones, devices…).")


@lists_app.command("add")
def lists_add(
    list_type: str,
    value: str,
    reason: Annotated[str, typer.Option()] = "",
    as_json: JsonFlag = False,
) -> None:
    """Put a value on a watch list (stored as a keyed digest)."""
    from ruleplus.serving import admin

    database, config = open_database()
    info = run(
        lambda: admin.add_list_entry(
            database, config.server_secret(), list_type, value, reason, "cli"
        ),
        as_json,
    )
    emit(info, as_json, f"{info['value']} is on the {list_type} list")


@lists_app.command("remove")
def lists_remove(list_type: str, value: str, as_json: JsonFlag = False) -> None:
    """Take a value off a watch list."""
    from ruleplus.serving import admin

    database, config = open_database()
    info = run(
        lambda: admin.remove_list_entry(database, config.server_secret(), list_type, value, "cli"),
        as_json,
    )
    emit(
        info,
        as_json,
        f"{info['value']} removed from the {list_type} list"
        if info["removed"]
        else "it was not listed",
    )
