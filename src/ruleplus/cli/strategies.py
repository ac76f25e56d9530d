"""``ruleplus strategies …``: publish, lifecycle and diff of strategy versions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ruleplus.cli._common import (
    JsonFlag,
    emit,
    open_database,
    read_text,
    run,
)

__all__ = ["strategies_app"]

strategies_app = typer.Typer(
    no_args_is_help=True, help="Strategy versions: publish, lifecycle, diff."
)


@strategies_app.command("publish")
def strategies_publish(
    path: Path,
    draft: Annotated[bool, typer.Option("--draft", help="validate only, do not publish")] = False,
    with_references: Annotated[
        bool,
        typer.Option(
            "--with-references",
            help="store the sub-strategies and model files it names (paths relative to it) in "
            "the artifact store first, and publish it naming them by sha256",
        ),
    ] = False,
    strategy_id: Annotated[
        str | None, typer.Option("--id", help="the strategy a GoRules JDM graph becomes")
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="its version (JDM graphs; default 1)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Upload a strategy file (or a GoRules JDM graph): draft -> validated -> published."""
    from ruleplus.decision import StoredArtifacts
    from ruleplus.serving import admin
    from ruleplus.serving.strategies import with_stored_references
    from ruleplus.store.artifacts import ArtifactStore

    database, config = open_database()
    store = ArtifactStore(config.data_dir / "artifacts")  # the service's store
    if with_references:

        def put(content: bytes) -> str:
            return str(admin.put_artifact(database, store, content, "cli")["ref"])

        text = run(lambda: with_stored_references(path, put), as_json)
    else:
        text = run(lambda: read_text(path), as_json)
    info = run(
        lambda: admin.publish_strategy(
            database,
            text,
            "cli",
            publish=not draft,
            artifacts=StoredArtifacts(store),
            strategy_id=strategy_id,
            version=version,
        ),
        as_json,
    )
    emit(info, as_json, f"{info['strategy_id']} {info['version']}: {info['status']}")


@strategies_app.command("list")
def strategies_list(
    strategy_id: Annotated[str | None, typer.Argument()] = None, as_json: JsonFlag = False
) -> None:
    """List strategy versions."""
    from ruleplus.store.repos import StrategyRepo

    database, _ = open_database()
    with database.session() as session:
        rows = [
            {"strategy_id": r.strategy_id, "version": r.version, "status": r.status}
            for r in StrategyRepo(session).versions(strategy_id)
        ]
    emit(
        rows,
        as_json,
        "\n".join(f"{r['strategy_id']} {r['version']} {r['status']}" for r in rows)
        or "no strategies",
    )


@strategies_app.command("transition")
def strategies_transition(
    strategy_id: str, version: str, action: str, as_json: JsonFlag = False
) -> None:
    """Apply a lifecycle action: validate, publish or retire."""
    from ruleplus.serving import admin

    database, _ = open_database()
    info = run(
        lambda: admin.transition_strategy(database, strategy_id, version, action, "cli"), as_json
    )
    emit(info, as_json, f"{strategy_id} {version}: {info['status']}")


@strategies_app.command("diff")
def strategies_diff(strategy_id: str, old: str, new: str) -> None:
    """Show the difference between two versions."""
    from ruleplus.store.repos import StrategyRepo

    database, _ = open_database()
    with database.session() as session:
        text = run(lambda: StrategyRepo(session).diff(strategy_id, old, new), False)
    sys.stdout.write(text)
