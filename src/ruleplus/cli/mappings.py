"""``ruleplus mappings …``: partner field mappings."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml

from ruleplus.cli._common import (
    JsonFlag,
    emit,
    open_database,
    read_text,
    run,
)

__all__ = ["mappings_app"]

mappings_app = typer.Typer(no_args_is_help=True, help="Partner field mappings.")


@mappings_app.command("load")
def mappings_load(partner_id: str, product: str, path: Path, as_json: JsonFlag = False) -> None:
    """Load a field mapping (YAML or JSON) as the partner's newest version."""
    from ruleplus.serving import admin

    database, _ = open_database()
    document = run(lambda: yaml.safe_load(read_text(path)), as_json)
    info = run(lambda: admin.put_mapping(database, partner_id, product, document, "cli"), as_json)
    emit(info, as_json, f"mapping {partner_id}/{product} version {info['version']}")
