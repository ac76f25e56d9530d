"""The HTTP protocol the service runs under uvicorn: httptools', with the writes of one event-loop
iteration sent in one system call.

uvicorn writes a response's head when the app sends ``http.response.start`` and its body when it
sends ``http.response.body``: two ``send()`` calls, and two TCP segments that wake the client
twice, for every small answer. For a decision that is about a tenth of the server's CPU. No
uvicorn setting merges them, so this protocol hands uvicorn a transport that holds what is
written until the loop has run the current step, then writes it at once (nothing waits longer:
the flush is the next callback of the same loop). Everything else is uvicorn's.

A request the app can refuse from its headers alone (an app with a ``screen`` method, such as
the service's, which asks its gate: a partner over its rate limit, a key that cannot be one, a
declared body over the limit) is answered here, before uvicorn starts an ASGI request for it,
with ``Connection: close``. That costs about two thirds of the same refusal through the app
(0.3 ms of CPU against 0.45 for a refused connection), which is CPU a partner that floods the
service no longer takes from the others. The rest of a refused request's body is read and
dropped up to 1 MiB (so that the client sees the answer rather than a reset), and the
connection is closed after at most ``timeout_keep_alive``.

Run it with ``uvicorn --http ruleplus.service.http:Protocol`` (``ruleplus serve`` does).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

log = logging.getLogger("ruleplus.service")

_LINGER_BYTES = 1 << 20  # of a refused request's body, read and dropped before closing

__all__ = ["CoalescingTransport", "Protocol"]


class CoalescingTransport:
    """A transport whose writes of one loop step leave together (see the module docstring).

    Parameters
    ----------
    transport : asyncio.Transport
        The connection's own transport; every method but the writing ones is its.
    loop : asyncio.AbstractEventLoop
        The loop the transport belongs to.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data``; it is written after the current loop step."""
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))  # a copy: the caller may reuse a buffer

    def writelines(self, chunks: Any) -> None:
        """Queue each of ``chunks``."""
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Write what is queued, in one call (dropped when the connection is closed)."""
        pending, self._pending = self._pending, []
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def get_write_buffer_size(self) -> int:
        """Bytes not yet sent, queued here or in the transport."""
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def write_eof(self) -> None:
        """Write what is queued, then close the write side."""
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        """Write what is queued, then close."""
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        """Close at once, dropping what is queued."""
        self._pending = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # the rest is the transport's own
        return getattr(self._transport, name)


class Protocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`CoalescingTransport`, answering what the app
    refuses from the headers alone itself (see the module docstring)."""

    _refused = False
    _dropped = 0
    _linger: asyncio.TimerHandle | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._screen = _screen_of(self.app)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

    def connection_lost(self, exc: Exception | None) -> None:
        if self._linger is not None:
            self._linger.cancel()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        refusal = self._screened()
        if refusal is None:
            super().on_headers_complete()
            return
        self._refused = True  # the rest of what this connection sends is dropped
        self.server_state.total_requests += 1
        head = [STATUS_LINE[refusal.status]]
        for name, value in (*self.server_state.default_headers, *refusal.headers):
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-length: ",
            str(len(refusal.body)).encode(),
            b"\r\nconnection: close\r\n\r\n",
            refusal.body,
        ]
        transport: Any = self.transport
        transport.write(b"".join(head))
        if _has_body(self.headers):  # a client still sending reads the answer, then the end
            transport.write_eof()
        else:
            transport.flush()  # after what an earlier response of this step left queued
        # closed once the request has been read (on_message_complete), or at the latest now
        self._linger = self.loop.call_later(self.timeout_keep_alive, transport.close)

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)
            return
        self._dropped += len(body)
        if self._dropped > _LINGER_BYTES:
            self.transport.close()

    def on_message_complete(self) -> None:
        if self._refused:
            self.transport.close()
            return
        super().on_message_complete()

    def _screened(self) -> Any:
        """The app's refusal of the request whose headers were just read, or None."""
        if self._screen is None or (self.cycle is not None and not self.cycle.response_complete):
            return None  # a pipelined request waits its turn: answers leave in order
        try:
            path = httptools.parse_url(self.url).path
            if b"%" in path:
                return None  # an escaped path is left to the app, which decodes it
            return self._screen(
                self.parser.get_method().decode("ascii"),
                path.decode("ascii"),
                self.headers,
                self.scope["state"],
            )
        except Exception:  # the app then checks everything again itself
            log.exception("screening a request failed; the app answers it")
            return None


def _screen_of(app: Any) -> Any:
    """The ``screen`` method of ``app`` or of an app it wraps (uvicorn's proxy-headers
    middleware, say), if any."""
    for _ in range(4):
        screen = getattr(type(app), "screen", None)
        if screen is not None:
            return app.screen
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


def _has_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False
