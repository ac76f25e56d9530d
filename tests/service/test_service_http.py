"""The HTTP protocol: writes of one loop step leave in one call; uvicorn still serves correctly
on it (keep-alive, streaming, closing)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from service_helpers import serve_in_thread

from ruleplus.service.http import CoalescingTransport


class _FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def _step(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_until_complete(asyncio.sleep(0))


def test_the_writes_of_one_step_leave_in_one_call() -> None:
    loop = asyncio.new_event_loop()
    try:
        fake = _FakeTransport()
        transport = CoalescingTransport(fake, loop)  # type: ignore[arg-type]
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(bytearray(b"{}"))
        transport.write(b"")
        assert fake.writes == [] and transport.get_write_buffer_size() == 21
        _step(loop)
        assert fake.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
        transport.write(b"next")
        _step(loop)
        assert fake.writes[-1] == b"next" and len(fake.writes) == 2
        assert transport.get_extra_info("peername") == "info:peername"  # the rest delegates
    finally:
        loop.close()


def test_close_writes_what_is_queued_and_abort_drops_it() -> None:
    loop = asyncio.new_event_loop()
    try:
        fake = _FakeTransport()
        transport = CoalescingTransport(fake, loop)  # type: ignore[arg-type]
        transport.write(b"last words")
        transport.close()
        assert fake.writes == [b"last words"] and fake.closed
        _step(loop)  # the scheduled flush finds nothing (and never writes to a closed transport)
        assert fake.writes == [b"last words"]
        other = _FakeTransport()
        aborted = CoalescingTransport(other, loop)  # type: ignore[arg-type]
        aborted.write(b"never sent")
        aborted.abort()
        _step(loop)
        assert other.writes == [] and other.aborted
        # a connection closed by the peer before the flush: the queued bytes are dropped
        gone = _FakeTransport()
        late = CoalescingTransport(gone, loop)  # type: ignore[arg-type]
        late.write(b"too late")
        gone.closed = True
        _step(loop)
        assert gone.writes == []
    finally:
        loop.close()


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/stream":  # many chunks, some written in one step, some apart
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(200):
            await send({"type": "http.response.body", "body": b"x" * 5000, "more_body": True})
            if i % 10 == 0:
                await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": b"end"})
        return
    answer = b"echo:" + body
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(answer)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_in_thread(_app) as (url, _):
        yield url


def test_uvicorn_serves_on_it(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:  # one kept-alive connection
        for i in range(50):
            response = client.post("/echo", content=f"request {i}".encode())
            assert response.status_code == 200
            assert response.content == f"echo:request {i}".encode()
        big = bytes(range(256)) * 4096  # 1 MiB in and out
        assert client.post("/echo", content=big).content == b"echo:" + big
        streamed = client.get("/stream")
        assert streamed.content == b"x" * 5000 * 200 + b"end"
    closing = httpx.post(f"{base_url}/echo", content=b"bye", headers={"Connection": "close"})
    assert closing.content == b"echo:bye"
