"""Who is using the console: the session cookie, the CSRF token and the role checks."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Request, Response

from ruleplus.service.auth import state_of
from ruleplus.serving import users
from ruleplus.serving.users import ConsoleIdentity, Login

__all__ = [
    "COOKIE",
    "Approver",
    "Drafter",
    "Manager",
    "Viewer",
    "clear_cookie",
    "set_cookie",
]

COOKIE = users.SESSION_COOKIE
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def set_cookie(request: Request, response: Response, login: Login) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure when served over https."""
    response.set_cookie(
        COOKIE,
        login.token,
        max_age=int(users.SESSION_TTL.total_seconds()),
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_cookie(request: Request, response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(
        COOKIE,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


async def current_user(request: Request) -> ConsoleIdentity:
    """The signed-in user; a state-changing request must also carry the session's CSRF token
    in ``X-CSRF-Token`` (a synchronizer token: the page got it at sign-in)."""
    state = state_of(request)
    token = request.cookies.get(COOKIE)
    identity = await asyncio.to_thread(users.session_identity, state.database, token)
    if request.method not in _SAFE:
        users.check_csrf(identity, request.headers.get("x-csrf-token"))
    return identity


def _role(permission: str) -> object:
    async def check(
        identity: Annotated[ConsoleIdentity, Depends(current_user)],
    ) -> ConsoleIdentity:
        users.require(identity, permission)
        return identity

    return check


Viewer = Annotated[ConsoleIdentity, Depends(_role("read"))]
Drafter = Annotated[ConsoleIdentity, Depends(_role("draft"))]
Approver = Annotated[ConsoleIdentity, Depends(_role("approve"))]
Manager = Annotated[ConsoleIdentity, Depends(_role("admin"))]
