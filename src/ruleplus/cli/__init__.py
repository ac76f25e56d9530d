"""The ``ruleplus`` command line (typer + rich): parsing and printing only, no business logic.

One module per command group; the management groups call :mod:`ruleplus.serving.admin`, the
same audited actions the HTTP admin routes call. Groups whose optional extra is missing (``ml``,
``face``) are still listed and say what to install.
"""

from __future__ import annotations

import importlib

import typer

from ruleplus.cli import evaluate
from ruleplus.cli._common import err
from ruleplus.cli.audit import audit_app
from ruleplus.cli.datasets import datasets_app
from ruleplus.cli.demo import demo
from ruleplus.cli.deployments import deployments_app
from ruleplus.cli.jdm import conformance_app, import_app
from ruleplus.cli.lab import lab_app
from ruleplus.cli.lifecycle import lifecycle_app
from ruleplus.cli.lists import lists_app
from ruleplus.cli.mappings import mappings_app
from ruleplus.cli.partners import partners_app
from ruleplus.cli.serve import db_app, serve
from ruleplus.cli.strategies import strategies_app
from ruleplus.cli.users import users_app

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="ruleplus: consumer-finance decisioning (rules plus models).",
)
for command in evaluate.app.registered_commands:
    app.registered_commands.append(command)
app.command()(demo)
app.command("serve")(serve)
for _name, _group in (
    ("datasets", datasets_app),
    ("db", db_app),
    ("partners", partners_app),
    ("strategies", strategies_app),
    ("deployments", deployments_app),
    ("mappings", mappings_app),
    ("lists", lists_app),
    ("audit", audit_app),
    ("lifecycle", lifecycle_app),
    ("lab", lab_app),
    ("users", users_app),
    ("import", import_app),
    ("conformance", conformance_app),
):
    app.add_typer(_group, name=_name)


def _mount_optional() -> None:
    """Mount the groups that need an optional extra; a missing one says what to install."""
    optional = (
        ("model", "ruleplus.cli.model", "app", "ml"),
        ("face", "ruleplus.cli.face", "app", "face"),
        ("models", "ruleplus.cli.face", "models_app", "face"),
    )
    for name, module_name, attribute, extra in optional:
        try:
            group = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            missing = typer.Typer(help=f"(unavailable: needs the {extra!r} extra)")

            @missing.callback(invoke_without_command=True)
            def _unavailable(extra: str = extra, reason: str = str(exc)) -> None:
                err.print(f"[red]error:[/red] this command needs ruleplus[{extra}] ({reason})")
                raise typer.Exit(2)

            app.add_typer(missing, name=name)
            continue
        app.add_typer(group, name=name)


_mount_optional()


def main() -> None:
    """Entry point of the ``ruleplus`` script."""
    app()
