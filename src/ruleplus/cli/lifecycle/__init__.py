"""``ruleplus lifecycle …``: offers and schedules (:mod:`.offers`), post-loan (:mod:`.portfolio`).

Two modules, one group: each module registers its own commands on :data:`lifecycle_app`.
"""

from __future__ import annotations

import typer

from ruleplus.cli.lifecycle import offers, portfolio

__all__ = ["lifecycle_app"]

lifecycle_app = typer.Typer(
    no_args_is_help=True,
    help="The loan after approval: offers and schedules, roll rates, vintages, collections.",
)
offers.register(lifecycle_app)
portfolio.register(lifecycle_app)
