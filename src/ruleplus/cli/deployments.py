"""``ruleplus deployments …``: champion / challenger / shadow deployments."""

from __future__ import annotations

from typing import Annotated

import typer

from ruleplus.cli._common import (
    JsonFlag,
    emit,
    open_database,
    parse_assignments,
    run,
)

__all__ = ["deployments_app"]

deployments_app = typer.Typer(
    no_args_is_help=True, help="Champion / challenger / shadow deployments."
)


@deployments_app.command("create")
def deployments_create(
    partner_id: str,
    product: str,
    strategy_id: str,
    champion: str,
    channel: Annotated[str, typer.Option(help="channel, * for any")] = "*",
    challenger: Annotated[
        list[str] | None, typer.Option(help="VERSION:SHARE_PERCENT, repeatable")
    ] = None,
    shadow: Annotated[list[str] | None, typer.Option(help="shadow VERSION, repeatable")] = None,
    split_key: Annotated[
        str, typer.Option(help="application field hashed for the split")
    ] = "applicantId",
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="NAME=VALUE: override a declared parameter for this binding, repeatable",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Deploy a champion (with optional challengers and shadows) for a partner's product."""
    from ruleplus.serving import admin
    from ruleplus.store.repos import DeploymentSpec

    database, _ = open_database()
    challengers = []
    for item in challenger or []:
        version, _, share = item.rpartition(":")
        challengers.append({"version": version, "share": float(share)})
    info = run(
        lambda: admin.deploy(
            database,
            DeploymentSpec.build(
                partner_id,
                product,
                strategy_id,
                champion,
                challengers=challengers,
                shadows=list(shadow or []),
                channel=channel,
                split_key=split_key,
                parameters=parse_assignments(set_ or []),
            ),
            actor="cli",
        ),
        as_json,
    )
    emit(info, as_json, f"deployment {info['deployment_id']} live: {strategy_id} {champion}")


@deployments_app.command("rollback")
def deployments_rollback(
    partner_id: str,
    product: str,
    channel: Annotated[str, typer.Option()] = "*",
    as_json: JsonFlag = False,
) -> None:
    """Go back to the previous deployment."""
    from ruleplus.serving import admin

    database, _ = open_database()
    info = run(lambda: admin.rollback(database, partner_id, product, channel, "cli"), as_json)
    emit(
        info,
        as_json,
        f"deployment {info['deployment_id']} live again: {info['strategy_id']} {info['champion']}",
    )
