"""The analysts' console: its JSON API under ``/console/api`` and the web app at ``/console``.

The API authenticates console users by a session cookie (HttpOnly, SameSite=Strict, Secure over
https) and every state-changing call by its CSRF token; it calls the same audited management
actions as the admin API and the CLI (:mod:`ruleplus.serving.admin`,
:mod:`ruleplus.serving.users`), with the signed-in user's name as the actor.
"""

from __future__ import annotations

from fastapi import FastAPI

from ruleplus.service.console import lab
from ruleplus.service.console.bundle import BUNDLE_DIR, bundle_router
from ruleplus.service.console.routes import router

__all__ = ["BUNDLE_DIR", "mount_console"]


def mount_console(app: FastAPI) -> None:
    """Add the console's API and web app to ``app``."""
    app.include_router(router)
    app.include_router(lab.router)
    app.include_router(bundle_router())
