"""``ruleplus serve``, ``db``, ``partners``, ``strategies``, ``deployments``, ``mappings``,
``lists`` and ``audit``: the service and its management, scriptable with ``--json``.

Management commands act on the database directly (the same functions the HTTP API calls, each
audited); a running server notices within its cache time (two seconds).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from ruleplus.errors import RuleplusError

__all__ = [
    "audit_app",
    "db_app",
    "deployments_app",
    "lists_app",
    "mappings_app",
    "partners_app",
    "serve",
    "strategies_app",
]

out = Console()
err = Console(stderr=True)

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
partners_app = typer.Typer(no_args_is_help=True, help="Partners (tenants) and their API keys.")
strategies_app = typer.Typer(
    no_args_is_help=True, help="Strategy versions: publish, lifecycle, diff."
)
deployments_app = typer.Typer(
    no_args_is_help=True, help="Champion / challenger / shadow deployments."
)
mappings_app = typer.Typer(no_args_is_help=True, help="Partner field mappings.")
lists_app = typer.Typer(no_args_is_help=True, help="Watch lists (ID numbers, phones, devices…).")
audit_app = typer.Typer(no_args_is_help=True, help="The HMAC-chained audit log.")

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON")]


def _db() -> Any:
    from ruleplus.service.state import ServiceConfig
    from ruleplus.store import Database
    from ruleplus.store.audit import derive_key
    from ruleplus.store.secrets import load_secret

    config = ServiceConfig.from_env()
    # the same secret as the server's (RULEPLUS_SECRET_KEY, or the data directory's key file)
    database = Database(config.database_url, audit_key=derive_key(load_secret(config.data_dir)))
    database.migrate()
    database.ensure_keyed()  # as the server does on start: a legacy chain is re-signed once
    return database, config


def _emit(data: Any, as_json: bool, text: str | None = None) -> None:
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        out.print(text if text is not None else data)


def _run(fn: Any, as_json: bool) -> Any:
    try:
        return fn()
    except RuleplusError as exc:
        if as_json:
            print(json.dumps({"error": exc.to_dict()}, ensure_ascii=False, default=str))
        else:
            err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


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

    database, config = _db()
    if workers > 1 and database.is_sqlite:
        err.print("[yellow]SQLite is embedded and single-writer: running one worker[/yellow]")
        workers = 1
    if demo:
        from ruleplus.service.demo import seed_demo

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
        http="httptools",
        loop="uvloop",
    )


@db_app.command("upgrade")
def db_upgrade(as_json: JsonFlag = False) -> None:
    """Apply the migrations (the server also does this on start)."""
    database, _config = _run(_db, as_json)
    _emit(
        {"ok": True, "database": database.engine.url.render_as_string(hide_password=True)},
        as_json,
        "database is up to date",
    )


@partners_app.command("create")
def partners_create(
    name: str,
    rate_limit: Annotated[float | None, typer.Option(help="requests/s")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a partner; prints its id and API key (shown once)."""
    from ruleplus.runtime import admin

    database, _ = _db()
    info = _run(lambda: admin.create_partner(database, name, "cli", rate_limit), as_json)
    _emit(
        info,
        as_json,
        f"partner {info['partner_id']}\napi key {info['api_key']}  (shown once; store it safely)",
    )


@partners_app.command("list")
def partners_list(as_json: JsonFlag = False) -> None:
    """List partners and their keys (prefixes only)."""
    from ruleplus.store.repos import PartnerRepo

    database, _ = _db()
    with database.session() as session:
        repo = PartnerRepo(session)
        rows = [
            {
                "partner_id": p.id,
                "name": p.name,
                "status": p.status,
                "keys": [{"prefix": k.prefix, "status": k.status} for k in repo.keys(p.id)],
            }
            for p in repo.list()
        ]
    if as_json:
        _emit(rows, True)
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
    from ruleplus.runtime import admin

    database, _ = _db()
    info = _run(lambda: admin.rotate_key(database, partner_id, "cli", keep_old), as_json)
    _emit(info, as_json, f"new api key {info['api_key']}  (shown once)")


@partners_app.command("revoke")
def partners_revoke(
    partner_id: str,
    prefix: Annotated[str | None, typer.Option(help="only the key with this prefix")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Revoke a partner's keys."""
    from ruleplus.runtime import admin

    database, _ = _db()
    info = _run(lambda: admin.revoke_keys(database, partner_id, "cli", prefix), as_json)
    _emit(info, as_json, f"revoked {info['revoked']} key(s)")


@strategies_app.command("publish")
def strategies_publish(
    path: Path,
    draft: Annotated[bool, typer.Option("--draft", help="validate only, do not publish")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Upload a strategy file: draft -> validated -> published."""
    from ruleplus.runtime import admin

    database, _ = _db()
    text = _run(lambda: _read(path), as_json)
    info = _run(lambda: admin.publish_strategy(database, text, "cli", publish=not draft), as_json)
    _emit(info, as_json, f"{info['strategy_id']} {info['version']}: {info['status']}")


@strategies_app.command("list")
def strategies_list(
    strategy_id: Annotated[str | None, typer.Argument()] = None, as_json: JsonFlag = False
) -> None:
    """List strategy versions."""
    from ruleplus.store.repos import StrategyRepo

    database, _ = _db()
    with database.session() as session:
        rows = [
            {"strategy_id": r.strategy_id, "version": r.version, "status": r.status}
            for r in StrategyRepo(session).versions(strategy_id)
        ]
    _emit(
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
    from ruleplus.runtime import admin

    database, _ = _db()
    info = _run(
        lambda: admin.transition_strategy(database, strategy_id, version, action, "cli"), as_json
    )
    _emit(info, as_json, f"{strategy_id} {version}: {info['status']}")


@strategies_app.command("diff")
def strategies_diff(strategy_id: str, old: str, new: str) -> None:
    """Show the difference between two versions."""
    from ruleplus.store.repos import StrategyRepo

    database, _ = _db()
    with database.session() as session:
        text = _run(lambda: StrategyRepo(session).diff(strategy_id, old, new), False)
    sys.stdout.write(text)


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
    as_json: JsonFlag = False,
) -> None:
    """Deploy a champion (with optional challengers and shadows) for a partner's product."""
    from ruleplus.runtime import admin

    database, _ = _db()
    challengers = []
    for item in challenger or []:
        version, _, share = item.rpartition(":")
        challengers.append({"version": version, "share": float(share)})
    info = _run(
        lambda: admin.deploy(
            database,
            partner_id,
            product,
            strategy_id,
            champion,
            channel=channel,
            challengers=challengers,
            shadows=list(shadow or []),
            split_key=split_key,
            actor="cli",
        ),
        as_json,
    )
    _emit(info, as_json, f"deployment {info['deployment_id']} live: {strategy_id} {champion}")


@deployments_app.command("rollback")
def deployments_rollback(
    partner_id: str,
    product: str,
    channel: Annotated[str, typer.Option()] = "*",
    as_json: JsonFlag = False,
) -> None:
    """Go back to the previous deployment."""
    from ruleplus.runtime import admin

    database, _ = _db()
    info = _run(lambda: admin.rollback(database, partner_id, product, channel, "cli"), as_json)
    _emit(
        info,
        as_json,
        f"deployment {info['deployment_id']} live again: {info['strategy_id']} {info['champion']}",
    )


@mappings_app.command("load")
def mappings_load(partner_id: str, product: str, path: Path, as_json: JsonFlag = False) -> None:
    """Load a field mapping (YAML or JSON) as the partner's newest version."""
    from ruleplus.runtime import admin

    database, _ = _db()
    document = _run(lambda: yaml.safe_load(_read(path)), as_json)
    info = _run(lambda: admin.put_mapping(database, partner_id, product, document, "cli"), as_json)
    _emit(info, as_json, f"mapping {partner_id}/{product} version {info['version']}")


@lists_app.command("add")
def lists_add(
    list_type: str,
    value: str,
    reason: Annotated[str, typer.Option()] = "",
    as_json: JsonFlag = False,
) -> None:
    """Put a value on a watch list (stored as a keyed digest)."""
    from ruleplus.runtime import admin
    from ruleplus.store.secrets import load_secret

    database, config = _db()
    info = _run(
        lambda: admin.add_list_entry(
            database, load_secret(config.data_dir), list_type, value, reason, "cli"
        ),
        as_json,
    )
    _emit(info, as_json, f"{info['value']} is on the {list_type} list")


@lists_app.command("remove")
def lists_remove(list_type: str, value: str, as_json: JsonFlag = False) -> None:
    """Take a value off a watch list."""
    from ruleplus.runtime import admin
    from ruleplus.store.secrets import load_secret

    database, config = _db()
    info = _run(
        lambda: admin.remove_list_entry(
            database, load_secret(config.data_dir), list_type, value, "cli"
        ),
        as_json,
    )
    _emit(
        info,
        as_json,
        f"{info['value']} removed from the {list_type} list"
        if info["removed"]
        else "it was not listed",
    )


@audit_app.command("verify")
def audit_verify(
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            help="a head recorded earlier by `audit head --json` (a file, or the JSON itself): "
            "the chain must still contain it",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check the HMAC chain, its signed head and every decision; exit 1 at the first problem.

    Putting back an earlier copy of both the entries and the head is detectable only against a
    head recorded outside the database (--expect-head).
    """
    from ruleplus.runtime import admin

    database, _ = _run(_db, as_json)
    expected = _run(lambda: _expected_head(expect_head), as_json) if expect_head else None
    info = _run(lambda: admin.verify_audit(database, expected), as_json)
    if info["ok"]:
        _emit(info, as_json, f"[green]audit log intact[/green]: {info['entries']} entries")
        return
    where = f" at seq {info['first_broken_seq']}" if "first_broken_seq" in info else ""
    what = f" (decision {info['decision']})" if "decision" in info else ""
    _emit(info, as_json, f"[red]audit log broken[/red]{where}{what}: {info['problem']}")
    raise typer.Exit(1)


@audit_app.command("head")
def audit_head(as_json: JsonFlag = False) -> None:
    """Print the signed head of the audit chain (entry count, last hash, MAC).

    Keep a copy outside the database (a ticket, a log, another system): `audit verify
    --expect-head` then detects a rollback of both the entries and the head to an older copy,
    which nothing inside the database can.
    """
    from ruleplus.runtime import admin

    database, _ = _run(_db, as_json)
    info = _run(lambda: admin.audit_head(database), as_json)
    _emit(
        info,
        as_json,
        f"{info['count']} entries, last {info['last_hash']}, mac {info['mac']}"
        + ("" if info["verified"] else "  [red](does not verify with this key)[/red]"),
    )


@audit_app.command("rekey")
def audit_rekey(
    accept_broken: Annotated[
        bool,
        typer.Option(
            "--accept-broken",
            help="re-sign a broken legacy chain anyway (the break is recorded in the log)",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Convert a legacy (SHA-256) audit chain to the keyed one (the server does it on start when
    the legacy chain is intact); prints the resulting state."""
    database, _ = _run(_db, as_json)
    status = _run(lambda: database.ensure_keyed(accept_broken=accept_broken), as_json)
    ok = status in ("keyed", "created", "rekeyed")
    _emit({"ok": ok, "status": status}, as_json, f"audit log: {status}")
    if not ok:
        raise typer.Exit(1)


def _expected_head(value: str) -> dict[str, Any]:
    from ruleplus.errors import DataError

    text = value if value.lstrip().startswith("{") else _read(Path(value))
    try:
        head = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"--expect-head is not JSON: {exc.msg}") from None
    if (
        not isinstance(head, dict)
        or not isinstance(head.get("count"), int)
        or not isinstance(head.get("last_hash"), str)
    ):
        raise DataError("--expect-head needs the JSON of `ruleplus audit head --json`")
    return head


def _read(path: Path) -> str:
    from ruleplus.errors import DataError

    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}", file=str(path)) from None
