"""The gate in front of every route: who calls, whether they may, and how much they may send —
decided from the headers, before a byte of the body is read.

Order, per request: classify the path -> authenticate (partner API key, administrator key, or
for the console's state-changing calls its session cookie and CSRF token; 401 without reading
the body) -> per-partner rate limit (429) -> per-partner concurrency
(429: one partner can hold at most its share of the worker pool) -> the route's body limit by
``Content-Length`` (413) and while streaming (413, also for chunked bodies) -> the app, with the
body already read. A plain ASGI middleware (Starlette's ``BaseHTTPMiddleware`` costs a task group
and a memory stream per request).

:meth:`Gate.screen` runs the checks that need no I/O (a key already in the partner cache, the
in-process rate limit, the declared length) from the HTTP protocol, before any ASGI request is
started: a partner far over its rate limit, or a body refused by its length, then costs the
server about 0.3 ms of CPU instead of 0.45 (``ruleplus.service.http``; most of what is left is
uvicorn's and uvloop's cost of a connection), so a hostile partner's refusals crowd out less of
the others' decisions. What it admitted is not checked again.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import cookie_parser

from ruleplus.errors import (
    AuthenticationError,
    DataError,
    RateLimitedError,
    ServiceUnavailableError,
)
from ruleplus.service.problems import any_error_response, problem
from ruleplus.service.ratelimit import rate_limited
from ruleplus.serving import users
from ruleplus.store.repos import PartnerRepo, key_digest
from ruleplus.store.tables import Partner

__all__ = ["Gate", "GateLimits", "InFlight", "Refusal"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
FastPath = Callable[[Any, Partner, Scope, bytes, Send], Awaitable[bool]]
"""A route the gate answers itself once it has the partner and the body (``True`` when it
did): the decision endpoint, whose FastAPI layers would cost a quarter of its CPU."""

_PARTNER_CACHE_S = 2.0
_PARTNER_REFRESH_S = 1.0
_PARTNER_CACHE_MAX = 10_000
_REFUSALS_MAX = 256
_SCREENED = "ruleplus.screened"  # request state: the partner checks were made by screen()
_OPS_PUBLIC = ("/healthz", "/readyz")
_OPS_PROTECTED = ("/metrics", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect")


@dataclass(frozen=True)
class GateLimits:
    """Body and concurrency limits.

    Parameters
    ----------
    partner_body : int, default=1 MiB
        Largest body of a partner call (decisions, dry runs).
    identity_body : int, default=24 MiB
        Largest body of an identity call (base64 images).
    admin_body : int, default=8 MiB
        Largest body of a management call (strategy documents).
    console_body : int, default=32 MiB
        Largest body of a signed-in console call (uploaded samples and status files).
    login_body : int, default=16 KiB
        Largest body of a console sign-in (read before anyone is authenticated).
    login_rate : float, default=10.0
        Console sign-ins a second from one client address (429 beyond).
    partner_inflight : int, default=96
        Most requests of one partner in progress at once.
    identity_inflight : int, default=4
        Most identity calls of one partner in progress at once (each costs ~100 ms of CPU).
    public_ops : bool, default=False
        Whether ``/metrics`` and ``/docs`` answer without the administrator key.
    """

    partner_body: int = 1 << 20
    identity_body: int = 24 << 20
    admin_body: int = 8 << 20
    console_body: int = 32 << 20
    login_body: int = 16 << 10
    login_rate: float = 10.0
    partner_inflight: int = 96
    identity_inflight: int = 4
    public_ops: bool = False


@dataclass(frozen=True)
class Refusal:
    """An answer the gate gives from the headers alone (status, problem+json body, headers)."""

    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]


class InFlight:
    """Per-key counters of requests in progress (the event loop's own: no locks needed)."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def enter(self, key: str, limit: int) -> bool:
        """Count one more for ``key``; False (nothing counted) when ``limit`` is reached."""
        count = self._counts.get(key, 0)
        if count >= limit:
            return False
        self._counts[key] = count + 1
        return True

    def leave(self, key: str) -> None:
        """One fewer for ``key``."""
        count = self._counts.get(key, 0) - 1
        if count > 0:
            self._counts[key] = count
        else:
            self._counts.pop(key, None)


_CONSOLE_LOGIN = "/console/api/login"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _kind(path: str) -> str:
    if path.startswith("/v1/admin/"):
        return "admin"
    if path == _CONSOLE_LOGIN:
        return "login"
    if path.startswith("/console/api/"):
        return "console"
    if path.startswith("/v1/identity/"):
        return "identity"
    if path.startswith("/v1/"):
        return "partner"
    if path in _OPS_PUBLIC:
        return "public"
    if path in _OPS_PROTECTED:
        return "ops"
    return "other"


def _header(scope: Scope, name: bytes) -> bytes | None:
    return _find(scope.get("headers", ()), name)


def _find(headers: Any, name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return bytes(value)
    return None


def _key_error(raw: bytes | None) -> AuthenticationError | None:
    """Why ``raw`` cannot be an API key (missing, too long, not ASCII), or None."""
    if not raw:
        return AuthenticationError("missing X-API-Key header")
    if len(raw) > 200 or not raw.isascii():
        return AuthenticationError("unknown API key")
    return None


def _api_key(raw: bytes | None) -> str:
    error = _key_error(raw)
    if error is not None:
        raise error
    assert raw is not None
    return raw.decode("ascii")


class Gate:
    """ASGI middleware; see the module docstring.

    Parameters
    ----------
    app : ASGI app
        The FastAPI app (its ``state.ruleplus`` holds the service state once started).
    limits : GateLimits
        Body and concurrency limits.
    fast : FastPath, optional
        Answers the decision route without the app (the same code as the route).

    The partner cache lives in the service state (``state.partners``, two seconds), so that a
    revocation in this process takes effect at once.
    """

    def __init__(self, app: Any, limits: GateLimits, fast: FastPath | None = None) -> None:
        self.app = app
        self.limits = limits
        self.fast = fast
        self.inflight = InFlight()
        self._refusals: dict[tuple[Any, ...], Refusal] = {}
        self._lookups: dict[str, asyncio.Future[Partner]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = _kind(str(scope.get("path", "")))
        state: Any = getattr(scope["app"].state, "ruleplus", None)
        held: list[str] = []
        try:
            if state is None and kind in ("partner", "identity", "admin"):
                raise ServiceUnavailableError("the service is starting; retry in a moment")
            if kind in ("partner", "identity"):
                request_state = scope.setdefault("state", {})
                if request_state.get(_SCREENED):
                    partner = request_state["partner"]
                else:
                    partner = await self._partner(state, scope)
                    await state.limiter.take(partner.id, partner.rate_limit_per_s)
                    request_state["partner"] = partner
                    request_state["partner_id"] = partner.id
                self._enter(partner.id, self.limits.partner_inflight, held)
                if kind == "identity":
                    self._enter(f"identity:{partner.id}", self.limits.identity_inflight, held)
            elif kind == "admin" or (kind == "ops" and not self.limits.public_ops):
                self._admin(state, scope, ops=kind == "ops")
            elif kind == "console" and scope.get("method") not in _SAFE_METHODS:
                await _console_user(state, scope)
            elif kind == "login" and state is not None:
                # password guessing is slowed per client address (the lock-out is per account)
                client = scope.get("client") or ("unknown", 0)
                await state.limiter.take(f"console-login:{client[0]}", self.limits.login_rate)
            body = await _read_body(scope, receive, self._body_limit(kind))
            if kind == "admin":
                _refuse_lone_surrogates(body)
        except Exception as exc:  # too large, a ruleplus error, the database failing (500)
            for key in held:
                self.inflight.leave(key)
            await _refusal_response(exc)(scope, receive, send)
            return
        try:
            if kind == "partner" and self.fast is not None:
                raw = b"".join(m.get("body", b"") for m in body if m["type"] == "http.request")
                try:
                    if await self.fast(state, scope["state"]["partner"], scope, raw, send):
                        return
                except Exception as exc:  # raised before the answer was started
                    await any_error_response(exc)(scope, receive, send)
                    return
            await self.app(scope, _replay(body, receive), send)
        finally:
            for key in held:
                self.inflight.leave(key)

    def screen(
        self, state: Any, path: str, headers: list[tuple[bytes, bytes]], request_state: Any
    ) -> Refusal | None:
        """The partner checks that need no I/O, for the HTTP protocol to make before it starts
        the request: the refusal to answer at once, or ``None`` to go on.

        Parameters
        ----------
        state : ServiceState or None
            The service state (``None`` while starting: nothing is decided here).
        path : str
            The request's decoded path.
        headers : list of (bytes, bytes)
            The request's headers, names in lower case.
        request_state : dict
            The request's ASGI ``state``: an admitted partner is recorded there, and the gate
            then neither authenticates it nor spends a rate-limit token again.

        Only partner and identity calls are screened, and only with a key in the partner
        cache and the in-process rate limiter; anything else goes on to :meth:`__call__`.
        """
        kind = _kind(path)
        limiter = getattr(state, "limiter", None)
        wait_now = getattr(limiter, "wait_now", None)
        if kind not in ("partner", "identity") or wait_now is None:
            return None
        raw = _find(headers, b"x-api-key")
        if raw is None or _key_error(raw) is not None:
            return self._refusal(None, raw)  # no key, or none that could be one
        partner = self._cached(state, raw.decode("ascii"), key_digest(raw))
        if partner is None:
            return None  # the gate reads the database, in a thread
        rate = partner.rate_limit_per_s or limiter.default_rate  # type: ignore[union-attr]
        wait = wait_now(partner.id, rate)
        if wait:
            return self._refusal(("rate", rate, wait), None)
        request_state["partner"] = partner
        request_state["partner_id"] = partner.id
        request_state[_SCREENED] = True
        declared = _find(headers, b"content-length")
        limit = self._body_limit(kind)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return self._refusal(("size", limit), None)
        return None

    def _refusal(self, reason: tuple[Any, ...] | None, key: bytes | None) -> Refusal:
        """The rendered answer for a refusal: over the rate limit (``("rate", rate, wait)``),
        too large (``("size", limit)``) or no usable key (``None``, with the key given).
        Rendered once per reason: a flood of refusals costs no rendering."""
        cache_key = reason or ("key", bool(key))
        cached = self._refusals.get(cache_key)
        if cached is not None:
            return cached
        exc: Exception | None
        if reason is None:
            exc = _key_error(key)
        elif reason[0] == "rate":
            exc = rate_limited(reason[1], reason[2])
        else:
            exc = _TooLargeError(reason[1])
        assert exc is not None, "a refusal has a reason"
        response = _refusal_response(exc)
        cached = Refusal(
            response.status_code,
            bytes(response.body),
            tuple((n, v) for n, v in response.raw_headers if n != b"content-length"),
        )
        if len(self._refusals) >= _REFUSALS_MAX:
            self._refusals.clear()
        self._refusals[cache_key] = cached
        return cached

    def _body_limit(self, kind: str) -> int:
        return {
            "identity": self.limits.identity_body,
            "admin": self.limits.admin_body,
            "console": self.limits.console_body,
            "login": self.limits.login_body,
        }.get(kind, self.limits.partner_body)

    def _enter(self, key: str, limit: int, held: list[str]) -> None:
        if not self.inflight.enter(key, limit):
            raise RateLimitedError(
                f"more than {limit} requests of this partner are in progress; "
                "wait for some to finish",
                retry_after=1,
            )
        held.append(key)

    async def _partner(self, state: Any, scope: Scope) -> Partner:
        api_key = _api_key(_header(scope, b"x-api-key"))
        digest = key_digest(api_key)
        partner = self._cached(state, api_key, digest)
        if partner is not None:
            return partner
        return await self._lookup(state, api_key, digest, None)

    def _cached(self, state: Any, api_key: str, digest: str) -> Partner | None:
        """The partner of a key read less than two seconds ago, or None. One read more than a
        second ago is read again in the background meanwhile, so that a busy partner's entry
        never expires under its requests (each expiry would make them wait for the database)."""
        cached: tuple[float, Partner] | None = state.partners.get(digest)
        if cached is None:
            return None
        age = time.monotonic() - cached[0]
        if age >= _PARTNER_CACHE_S:
            return None
        if age >= _PARTNER_REFRESH_S and digest not in self._lookups:
            refresh = asyncio.ensure_future(self._lookup(state, api_key, digest, cached))
            refresh.add_done_callback(_retrieved)  # a failure reaches the next reader
        return cached[1]

    async def _lookup(
        self, state: Any, api_key: str, digest: str, seen: tuple[float, Partner] | None
    ) -> Partner:
        """Read a key's partner (in a thread, so a slow database never stalls the loop): one
        read per key at a time however many requests ask, so that a flood arriving as an
        entry expires costs one query. ``seen`` is the entry being refreshed: the result
        replaces only that entry (not one a management change has dropped meanwhile)."""
        pending = self._lookups.get(digest)
        if pending is None or pending.get_loop() is not asyncio.get_running_loop():
            pending = asyncio.ensure_future(asyncio.to_thread(_authenticate, state, api_key))
            self._lookups[digest] = pending
            cache: dict[str, tuple[float, Partner]] = state.partners

            def store(done: asyncio.Future[Partner]) -> None:
                if self._lookups.get(digest) is done:
                    del self._lookups[digest]
                if done.cancelled():
                    return
                error = done.exception()
                if isinstance(error, AuthenticationError):
                    cache.pop(digest, None)  # revoked in another process
                if error is not None or (seen is not None and cache.get(digest) is not seen):
                    return
                if len(cache) >= _PARTNER_CACHE_MAX:
                    cache.clear()  # only keys that authenticated are cached: rarely reached
                cache[digest] = (time.monotonic(), done.result())

            pending.add_done_callback(store)
        return await asyncio.shield(pending)

    @staticmethod
    def _admin(state: Any, scope: Scope, ops: bool) -> None:
        given = _header(scope, b"x-admin-key") or b""
        expected = str(state.admin_key).encode() if state is not None else b""
        # compared as bytes: any header (even non-ASCII) is a wrong key, never an error
        if not given or not expected or not hmac.compare_digest(given, expected):
            what = "this operations endpoint needs" if ops else "management endpoints need"
            raise AuthenticationError(f"{what} a valid X-Admin-Key header")


async def _console_user(state: Any, scope: Scope) -> None:
    """A state-changing console call must come from a signed-in user with the session's CSRF
    token, checked before its (possibly large) body is read; the route checks its role."""
    if state is None:
        raise ServiceUnavailableError("the service is starting; retry in a moment")
    raw = _header(scope, b"cookie")
    token = cookie_parser(raw.decode("latin-1")).get(users.SESSION_COOKIE) if raw else None
    csrf = _header(scope, b"x-csrf-token")
    identity = await asyncio.to_thread(users.session_identity, state.database, token)
    users.check_csrf(identity, None if csrf is None else csrf.decode("latin-1"))


def _retrieved(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _authenticate(state: Any, api_key: str) -> Partner:
    with state.database.session() as session:
        return PartnerRepo(session).authenticate(api_key)


class _TooLargeError(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def _refusal_response(exc: Exception) -> Any:
    if isinstance(exc, _TooLargeError):
        return problem(413, "too-large", "Content too large", f"the body is over {exc.limit} bytes")
    return any_error_response(exc)


async def _read_body(scope: Scope, receive: Receive, limit: int) -> list[Any]:
    """Every ``http.request`` message of the body, refusing more than ``limit`` bytes."""
    declared = _header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLargeError(limit)
    messages: list[Any] = []
    seen = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        seen += len(message.get("body", b""))
        if seen > limit:
            raise _TooLargeError(limit)
        if not message.get("more_body", False):
            return messages


_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def _refuse_lone_surrogates(messages: list[Any]) -> None:
    """Management bodies are parsed by Python's JSON parser, which accepts an escaped unpaired
    surrogate (``"\\ud800"``) that no database can store; refuse it here as bad data."""
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
    if b"\\u" in body and _LONE_SURROGATE.search(body):
        raise DataError(
            "the body contains an unpaired UTF-16 surrogate escape (\\ud800-\\udfff): "
            "not valid Unicode text",
            field="body",
        )


def _replay(messages: list[Any], receive: Receive) -> Receive:
    queue = list(messages)

    async def replayed() -> Any:
        if queue:
            return queue.pop(0)
        return await receive()  # after the body: a disconnect, when it comes

    return replayed
