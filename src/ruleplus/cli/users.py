"""``ruleplus users …``: the analysts' console users and their roles (audited, actor ``cli``)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ruleplus.cli._common import JsonFlag, emit, open_database, run
from ruleplus.errors import DataError

__all__ = ["users_app"]

users_app = typer.Typer(
    no_args_is_help=True, help="Console users: create, roles, lock-out, passwords."
)

Role = Annotated[
    str, typer.Option("--role", help="viewer | analyst | approver | admin", show_default=False)
]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="read the password from the first line of stdin"),
]


def _password(from_stdin: bool) -> str:
    if not from_stdin:
        # a password on the command line would land in the shell history and `ps`
        raise DataError("pass the password on stdin with --password-stdin", field="password")
    return sys.stdin.readline().rstrip("\r\n")


def _line(info: dict[str, object]) -> str:
    locked = f", locked until {info['locked_until']}" if info.get("locked_until") else ""
    return f"{info['name']}: {info['role']} ({info['status']}{locked})"


@users_app.command("create")
def users_create(
    name: str, role: Role, password_stdin: PasswordStdin = False, as_json: JsonFlag = False
) -> None:
    """Create a console user (password hashed with argon2)."""
    from ruleplus.serving import users

    password = run(lambda: _password(password_stdin), as_json)
    database, _ = open_database()
    info = run(lambda: users.create_user(database, name, role, password, "cli"), as_json)
    emit(info, as_json, _line(info))


@users_app.command("list")
def users_list(as_json: JsonFlag = False) -> None:
    """List console users."""
    from ruleplus.serving import users

    database, _ = open_database()
    rows = users.list_users(database)
    emit(rows, as_json, "\n".join(_line(r) for r in rows) or "no console users")


@users_app.command("set-role")
def users_set_role(name: str, role: Role, as_json: JsonFlag = False) -> None:
    """Change a user's role (their sessions end)."""
    from ruleplus.serving import users

    database, _ = open_database()
    info = run(lambda: users.set_role(database, name, role, "cli"), as_json)
    emit(info, as_json, _line(info))


@users_app.command("disable")
def users_disable(name: str, as_json: JsonFlag = False) -> None:
    """Disable a user (their sessions end)."""
    from ruleplus.serving import users

    database, _ = open_database()
    info = run(lambda: users.disable_user(database, name, "cli"), as_json)
    emit(info, as_json, _line(info))


@users_app.command("unlock")
def users_unlock(name: str, as_json: JsonFlag = False) -> None:
    """Lift a lock-out after failed logins (and re-enable the user)."""
    from ruleplus.serving import users

    database, _ = open_database()
    info = run(lambda: users.unlock_user(database, name, "cli"), as_json)
    emit(info, as_json, _line(info))


@users_app.command("reset-password")
def users_reset_password(
    name: str, password_stdin: PasswordStdin = False, as_json: JsonFlag = False
) -> None:
    """Set a new password (read from stdin); the user's sessions end."""
    from ruleplus.serving import users

    password = run(lambda: _password(password_stdin), as_json)
    database, _ = open_database()
    info = run(lambda: users.reset_password(database, name, password, "cli"), as_json)
    emit(info, as_json, _line(info))
