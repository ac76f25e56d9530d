"""What every command group shares: the consoles, JSON output, the error exit, the database."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ruleplus.errors import DataError, RuleplusError

if TYPE_CHECKING:
    from ruleplus.decision import CompiledStrategy
    from ruleplus.service.state import ServiceConfig
    from ruleplus.store import Database

__all__ = [
    "JsonFlag",
    "emit",
    "err",
    "fail",
    "load_strategy_file",
    "open_database",
    "out",
    "parse_assignments",
    "print_json",
    "read_text",
    "row_progress",
    "run",
]

T = TypeVar("T")

out = Console()
err = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON")]


def fail(exc: RuleplusError, as_json: bool) -> NoReturn:
    """Print ``exc`` (as JSON or one red line) and exit with status 2."""
    if as_json:
        print(json.dumps({"error": exc.to_dict()}, ensure_ascii=False, default=str))
    else:
        err.print(f"[red]error:[/red] {exc}", highlight=False, markup=True)
    raise typer.Exit(2)


def parse_assignments(items: list[str], option: str = "--set") -> dict[str, Any]:
    """``NAME=VALUE`` options as a mapping; a value reads as JSON (``620``, ``0.45``, ``true``)
    and otherwise as text (``web``), so the declared type decides what fits.

    Raises
    ------
    typer.BadParameter
        An item without ``=`` or without a name.
    """
    values: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint=option)
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        if isinstance(value, list | dict) or value is None:
            value = text
        values[name.strip()] = value
    return values


@contextmanager
def row_progress(enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A progress bar of rows decided, on stderr; yields ``progress(done_rows, total_rows)``."""
    with Progress(
        TextColumn("[bold]deciding"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} rows"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not enabled,
    ) as bar:
        task = bar.add_task("rows", total=0)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON (non-ASCII kept)."""
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def emit(data: Any, as_json: bool, text: str | None = None) -> None:
    """Print ``data`` as JSON, or ``text`` (default ``data``) through rich."""
    if as_json:
        print_json(data)
    else:
        out.print(text if text is not None else data)


def run(fn: Callable[[], T], as_json: bool) -> T:
    """Call ``fn``; a ruleplus error becomes a clear message and exit status 2."""
    try:
        return fn()
    except RuleplusError as exc:
        fail(exc, as_json)


def read_text(path: Path) -> str:
    """The UTF-8 text of ``path``; an unreadable file is a :class:`DataError` naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}", file=str(path)) from None


def load_strategy_file(path: Path) -> CompiledStrategy:
    """Load and compile the strategy document at ``path``."""
    from ruleplus.decision import load_strategy

    return load_strategy(path)


def open_database() -> tuple[Database, ServiceConfig]:
    """The service's database (migrated, audit chain keyed) and its configuration."""
    from ruleplus.service.state import ServiceConfig
    from ruleplus.store import Database
    from ruleplus.store.audit import derive_key

    config = ServiceConfig.from_env()
    # the same secret as the server's (RULEPLUS_SECRET_KEY, or the data directory's key file)
    database = Database(config.database_url, audit_key=derive_key(config.server_secret()))
    database.migrate()
    database.ensure_keyed()  # as the server does on start: a legacy chain is re-signed once
    return database, config
