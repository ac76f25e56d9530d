"""Who is calling: the partner or administrator that the gate (``service.gate``) authenticated.

Authentication itself happens in the gate, from the headers, before the body is read; these
dependencies only hand its result to the routes (and keep the routes' OpenAPI description
naming the headers they need).
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Header, Request

from ruleplus.errors import AuthenticationError
from ruleplus.service.state import ServiceState
from ruleplus.store.tables import Partner

__all__ = ["current_partner", "require_admin", "state_of"]


def state_of(request: Request) -> ServiceState:
    """The service state stored on the app."""
    state: ServiceState = request.app.state.ruleplus
    return state


async def current_partner(
    request: Request,
    x_api_key: Annotated[str | None, Header(description="your API key")] = None,
) -> Partner:
    """The partner the gate authenticated for this request.

    A coroutine although it never waits: FastAPI runs a plain function dependency in its
    thread pool, a thread hop per request for two attribute reads.
    """
    partner = getattr(request.state, "partner", None)
    if not isinstance(partner, Partner):  # the gate runs before every partner route
        raise AuthenticationError("missing X-API-Key header")
    return partner


async def require_admin(
    request: Request,
    x_admin_key: Annotated[str | None, Header(description="the administrator key")] = None,
) -> str:
    """Check ``X-Admin-Key`` (the gate checked it already; this keeps routes safe when mounted
    elsewhere); returns the actor name for the audit log."""
    state = state_of(request)
    given = (request.headers.get("x-admin-key") or "").encode("utf-8", "surrogateescape")
    if not given or not hmac.compare_digest(given, state.admin_key.encode()):
        raise AuthenticationError("management endpoints need a valid X-Admin-Key header")
    return "admin"
