"""Seed the demo: a partner whose key is printed, the example strategies published and deployed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rich.console import Console

from ruleplus.errors import RuleplusError
from ruleplus.runtime import admin
from ruleplus.store import Database
from ruleplus.store.repos import DeploymentRepo, PartnerRepo, StrategyRepo

__all__ = ["seed_demo"]

DEMO_PARTNER = "demo-partner"


def _examples() -> Path:
    return Path(__file__).resolve().parents[3] / "examples" / "strategies"


def seed_demo(
    database: Database, config: Any, host: str, port: int, console: Console
) -> dict[str, Any]:
    """Idempotently seed the demo and print how to call it; returns the demo partner and key."""
    with database.session() as session:
        existing = next((p for p in PartnerRepo(session).list() if p.name == DEMO_PARTNER), None)
    key_file = config.data_dir / "demo-api-key"
    if existing is None:
        info = admin.create_partner(database, DEMO_PARTNER, "demo")
        partner_id, key = info["partner_id"], info["api_key"]
    else:
        partner_id = existing.id
        key = _still_valid(database, key_file, partner_id)
        if key is None:  # lost or revoked: a new key, and every older one revoked
            key = admin.rotate_key(database, partner_id, "demo", keep_old=False)["api_key"]
    for name, product in (
        ("reference_loan.yaml", "reference"),
        ("consumer_loan.yaml", "cash_loan"),
    ):
        text = (_examples() / name).read_text(encoding="utf-8")
        published = admin.publish_strategy(database, text, "demo")
        with database.session() as session:
            live = DeploymentRepo(session).live(partner_id, product, "*")
            status = (
                StrategyRepo(session).get(published["strategy_id"], published["version"]).status
            )
        if live is None and status == "published":
            admin.deploy(
                database,
                partner_id,
                product,
                published["strategy_id"],
                published["version"],
                actor="demo",
            )
    identity = _install_demo_models(config, console)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    base = f"http://{host}:{port}"
    console.rule("[bold]ruleplus service — demo[/bold]")
    console.print(f"demo partner [bold]{partner_id}[/bold]")
    console.print(f"demo API key [bold]{key}[/bold] (also in {key_file})")
    console.print(f"admin key in {config.data_dir / 'admin.key'} (or RULEPLUS_ADMIN_KEY)")
    console.print(
        "products: [bold]reference[/bold] (reference_loan), [bold]cash_loan[/bold] (consumer_loan)"
    )
    console.print(f"identity endpoints: {identity}")
    console.print(f"OpenAPI: {base}/docs   metrics: {base}/metrics")
    console.print("try:")
    console.print(
        f'  curl -s -X POST {base}/v1/decisions/reference -H "X-API-Key: $(cat {key_file})" '
        "-H 'Content-Type: application/json' -d @examples/requests/reference_application.json",
        highlight=False,
    )
    return {"partner_id": partner_id, "api_key": key}


def _still_valid(database: Database, key_file: Path, partner_id: str) -> str | None:
    """The demo key kept from an earlier start, if it still authenticates as the demo partner
    (a restart reuses it rather than leaving one more active key behind)."""
    try:
        key = key_file.read_text().strip()
    except OSError:
        return None
    try:
        with database.session() as session:
            partner = PartnerRepo(session).authenticate(key)
    except RuleplusError:
        return None
    return key if partner.id == partner_id else None


def _install_demo_models(config: Any, console: Console) -> str:
    """For the demo, install the face models from the shared reference folder when missing."""
    try:
        from ruleplus.identity.models import install_models, model_status
    except ImportError:
        return "unavailable (install the face extra)"
    if all(row["verified"] for row in model_status(config.model_dir)):
        return f"ready (models in {config.model_dir})"
    from ruleplus.config import Settings

    source = Settings.load().shared_dir / "models" / "face"
    if not source.is_dir():
        return f"unavailable: run `ruleplus models install` (models go to {config.model_dir})"
    install_models(config.model_dir, from_dir=source)
    console.print(
        f"installed the face models from {source} into {config.model_dir} (sha256 verified)"
    )
    return f"ready (models in {config.model_dir})"
