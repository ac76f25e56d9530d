"""``ruleplus audit …``: the HMAC-chained audit log (verify, head, rekey)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ruleplus.cli._common import (
    JsonFlag,
    emit,
    open_database,
    read_text,
    run,
)

__all__ = ["audit_app"]

audit_app = typer.Typer(no_args_is_help=True, help="The HMAC-chained audit log.")


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
    from ruleplus.serving import admin

    database, _ = run(open_database, as_json)
    expected = run(lambda: _expected_head(expect_head), as_json) if expect_head else None
    info = run(lambda: admin.verify_audit(database, expected), as_json)
    if info["ok"]:
        emit(info, as_json, f"[green]audit log intact[/green]: {info['entries']} entries")
        return
    where = f" at seq {info['first_broken_seq']}" if "first_broken_seq" in info else ""
    what = f" (decision {info['decision']})" if "decision" in info else ""
    emit(info, as_json, f"[red]audit log broken[/red]{where}{what}: {info['problem']}")
    raise typer.Exit(1)


@audit_app.command("head")
def audit_head(as_json: JsonFlag = False) -> None:
    """Print the signed head of the audit chain (entry count, last hash, MAC).

    Keep a copy outside the database (a ticket, a log, another system): `audit verify
    --expect-head` then detects a rollback of both the entries and the head to an older copy,
    which nothing inside the database can.
    """
    from ruleplus.serving import admin

    database, _ = run(open_database, as_json)
    info = run(lambda: admin.audit_head(database), as_json)
    emit(
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
    database, _ = run(open_database, as_json)
    status = run(lambda: database.ensure_keyed(accept_broken=accept_broken), as_json)
    ok = status in ("keyed", "created", "rekeyed")
    emit({"ok": ok, "status": status}, as_json, f"audit log: {status}")
    if not ok:
        raise typer.Exit(1)


def _expected_head(value: str) -> dict[str, Any]:
    from ruleplus.errors import DataError

    text = value if value.lstrip().startswith("{") else read_text(Path(value))
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
