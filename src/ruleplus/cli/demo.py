"""The demo: ``ruleplus demo`` (the engine on sample and synthetic applications) and the seeding
behind ``ruleplus serve --demo`` (a demo partner whose key is printed, the example strategies
published and deployed, the face models installed from the shared folder when present).
"""

from __future__ import annotations

import os
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ruleplus.cli._common import fail, out
from ruleplus.datasets import synth_applications
from ruleplus.decision import CompiledStrategy, load_strategy
from ruleplus.errors import DataError, RuleplusError

if TYPE_CHECKING:
    from ruleplus.service.state import ServiceConfig
    from ruleplus.store import Database

__all__ = ["DEMO_PARTNER", "demo", "example_path", "example_strategy_path", "run_demo", "seed_demo"]

DEMO_PARTNER = "demo-partner"


def demo(
    rows: Annotated[
        int, typer.Option("--rows", help="synthetic applications for the batch part")
    ] = 200_000,
) -> None:
    """Run the demo: decide sample applications with the reference strategy, then a batch."""
    try:
        run_demo(out, rows=rows)
    except RuleplusError as exc:
        fail(exc, False)


def example_path(kind: str, name: str) -> Path:
    """Path of a shipped example (``kind`` is ``strategies`` or ``requests``).

    The examples are package data, so the demo runs the same from a checkout and from an
    installed wheel.
    """
    path = Path(str(resources.files("ruleplus").joinpath("examples", kind, name)))
    if not path.is_file():
        raise DataError(f"no shipped example {kind}/{name}", file=str(path))
    return path


def example_strategy_path(name: str = "reference_loan.yaml") -> Path:
    """Path of an example strategy (package data)."""
    return example_path("strategies", name)


def run_demo(console: Console, rows: int = 200_000) -> CompiledStrategy:
    """Decide a few applications with reasons and a trace, then a vectorised batch."""
    path = example_strategy_path()
    strategy = load_strategy(path)
    console.rule(f"[bold]ruleplus demo[/bold] — strategy {strategy.id} {strategy.version}")
    sample = synth_applications(8, seed=7).to_dicts()
    table = Table(
        "applicant",
        "score",
        "income",
        "amount",
        "term",
        "decision",
        "grade",
        "amount approved",
        "reason",
    )
    for record in sample:
        decision = strategy.evaluate(record)
        reason = decision.reasons[0] if decision.reasons else None
        table.add_row(
            record["applicantId"],
            str(record["creditScore"]),
            f"{record['monthlyIncome']:,}",
            f"{record['loanAmount']:,}",
            str(record["termMonths"]),
            str(decision.decision),
            str(decision.outputs.get("riskGrade")),
            f"{decision.outputs.get('approvedAmount', 0):,}",
            f"{reason.code} {reason.text_en}" if reason else "",
        )
    console.print(table)
    traced = strategy.evaluate(sample[0], trace=True)
    console.print("[bold]trace of the first application[/bold]")
    for step in traced.trace or []:
        console.print(
            f"  {step.node:<8} {step.type:<10} matched={step.detail!s:<10} outputs={step.outputs}"
        )
    frame = synth_applications(rows, seed=1)
    started = time.perf_counter()
    result = strategy.evaluate_frame(frame)
    seconds = time.perf_counter() - started
    counts = result.get_column("decision").value_counts(sort=True)
    console.print(
        f"[bold]batch[/bold]: {rows:,} synthetic applications decided in {seconds:.2f}s "
        f"({rows / seconds:,.0f} decisions/s, vectorised)"
    )
    for value, count in counts.iter_rows():
        console.print(f"  {value:<8} {count:>9,}  {count / rows:6.1%}")
    return strategy


def _demo_console_users(database: Database, password_file: Path) -> str:
    """The demo's console users (analyst, approver, administrator) and their one password,
    kept in the data directory (0600); a lost file gives them a new password."""
    import secrets

    from ruleplus.serving import users

    password = password_file.read_text(encoding="utf-8").strip() if password_file.exists() else ""
    fresh = not password
    if fresh:
        password = secrets.token_urlsafe(12)
    created = {u["name"] for u in users.seed_demo_users(database, password)}
    if fresh:  # users seeded by an earlier run whose password file is gone
        for name, _ in users.DEMO_USERS:
            if name not in created:
                users.reset_password(database, name, password, "demo")
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password)
    return password


def seed_demo(
    database: Database, config: ServiceConfig, host: str, port: int, console: Console
) -> dict[str, Any]:
    """Idempotently seed the demo and print how to call it; returns the demo partner and key."""
    # the database layers load only when the service starts: `ruleplus --help` stays light
    from ruleplus.serving import admin, users
    from ruleplus.store.repos import DeploymentRepo, DeploymentSpec, PartnerRepo, StrategyRepo

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
        text = example_strategy_path(name).read_text(encoding="utf-8")
        published = admin.publish_strategy(database, text, "demo")
        with database.session() as session:
            live = DeploymentRepo(session).live(partner_id, product, "*")
            status = (
                StrategyRepo(session).get(published["strategy_id"], published["version"]).status
            )
        if live is None and status == "published":
            spec = DeploymentSpec(
                partner_id, product, published["strategy_id"], published["version"]
            )
            admin.deploy(database, spec, actor="demo")
    identity = _install_demo_models(config, console)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    password_file = config.data_dir / "demo-console-password"
    password = _demo_console_users(database, password_file)
    base = f"http://{host}:{port}"
    console.rule("[bold]ruleplus service — demo[/bold]")
    console.print(f"demo partner [bold]{partner_id}[/bold]")
    console.print(f"demo API key [bold]{key}[/bold] (also in {key_file})")
    console.print(f"admin key in {config.data_dir / 'admin.key'} (or RULEPLUS_ADMIN_KEY)")
    console.print(
        "products: [bold]reference[/bold] (reference_loan), [bold]cash_loan[/bold] (consumer_loan)"
    )
    console.print(
        f"console: [bold]{base}/console/[/bold]  users "
        + ", ".join(f"[bold]{name}[/bold] ({role})" for name, role in users.DEMO_USERS)
        + f", password [bold]{password}[/bold] (also in {password_file})"
    )
    console.print(f"identity endpoints: {identity}")
    console.print(f"OpenAPI: {base}/docs   metrics: {base}/metrics")
    console.print("try:")
    console.print(
        f'  curl -s -X POST {base}/v1/decisions/reference -H "X-API-Key: $(cat {key_file})" '
        "-H 'Content-Type: application/json' "
        f"-d @{example_path('requests', 'reference_application.json')}",
        highlight=False,
    )
    return {"partner_id": partner_id, "api_key": key}


def _still_valid(database: Database, key_file: Path, partner_id: str) -> str | None:
    """The demo key kept from an earlier start, if it still authenticates as the demo partner
    (a restart reuses it rather than leaving one more active key behind)."""
    from ruleplus.store.repos import PartnerRepo

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


def _install_demo_models(config: ServiceConfig, console: Console) -> str:
    """For the demo, install the face models from the shared reference folder when missing."""
    try:
        from ruleplus.identity.weights import install_models, model_status
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
