"""The HTTP protocol the service runs under uvicorn: httptools', with the writes of one event-loop
iteration sent in one system call.

uvicorn writes a response's head when the app sends ``http.response.start`` and its body when it
sends ``http.response.body``: two ``send()`` calls, and two TCP segments that wake the client
twice, for every small answer. For a decision that is about a tenth of the server's CPU. No
uvicorn setting merges them, so this protocol hands uvicorn a transport that holds what is
written until the loop has run the current step, then writes it at once (nothing waits longer:
the flush is the next callback of the same loop). Everything else is uvicorn's.

Run it with ``uvicorn --http ruleplus.service.http:Protocol`` (``ruleplus serve`` does).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

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
    """uvicorn's httptools protocol on a :class:`CoalescingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
