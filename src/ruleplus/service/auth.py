"""Who is calling: a partner (``X-API-Key``) or the administrator (``X-Admin-Key``)."""

from __future__ import annotations

import asyncio
import hmac
import time

from fastapi import Request

from ruleplus.errors import AuthenticationError
from ruleplus.service.state import ServiceState
from ruleplus.store.models import Partner
from ruleplus.store.repos import PartnerRepo, key_digest

__all__ = ["current_partner", "require_admin", "state_of"]

_CACHE_S = 2.0


def state_of(request: Request) -> ServiceState:
    """The service state stored on the app."""
    state: ServiceState = request.app.state.ruleplus
    return state


async def current_partner(request: Request) -> Partner:
    """The partner owning the request's API key (cached for two seconds; revocation in this
    process takes effect at once, elsewhere within the cache time).

    A coroutine: a cache hit costs no thread hop; only a miss reads the database, in a thread.
    """
    state = state_of(request)
    api_key = request.headers.get("x-api-key")
    if not api_key:
        raise AuthenticationError("missing X-API-Key header")
    digest = key_digest(api_key)
    cached = state._partners.get(digest)
    if cached is not None and time.monotonic() - cached[0] < _CACHE_S:
        partner = cached[1]
    else:
        partner = await asyncio.to_thread(_authenticate, state, api_key)
        state._partners[digest] = (time.monotonic(), partner)
    state.limiter.take(partner.id, partner.rate_limit_per_s)
    request.state.partner_id = partner.id
    return partner


def _authenticate(state: ServiceState, api_key: str) -> Partner:
    with state.database.session() as session:
        return PartnerRepo(session).authenticate(api_key)


def require_admin(request: Request) -> str:
    """Check ``X-Admin-Key``; returns the actor name for the audit log."""
    state = state_of(request)
    given = request.headers.get("x-admin-key", "")
    if not given or not hmac.compare_digest(given, state.admin_key):
        raise AuthenticationError("management endpoints need a valid X-Admin-Key header")
    return "admin"
