"""Refusals the gate makes from the headers alone, answered by the HTTP protocol before any ASGI
request starts (``Gate.screen`` through ``ruleplus.service.http.Protocol``), on a real uvicorn
serving the real app: the same answers as the app's own, a rate-limit token spent once, the
answer read before the body is sent, pipelined answers in order, every refusal counted."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_helpers import ADMIN, serve_in_thread

from ruleplus.service import ServiceConfig, create_app


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    data = Path(tmp_path_factory.mktemp("screen"))
    env = {"RULEPLUS_DATA_DIR": str(data / "var"), "RULEPLUS_ADMIN_KEY": ADMIN["X-Admin-Key"]}
    with serve_in_thread(create_app(ServiceConfig.from_env(env=env))) as served:
        yield served


def _partner(base: str, rate: float) -> str:
    response = httpx.post(
        f"{base}/v1/admin/partners",
        json={"name": f"p{time.monotonic_ns()}", "rate_limit_per_s": rate},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])


class _Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def problem(self) -> Any:
        return json.loads(self.body)


def _read_answer(sock: socket.socket, buffer: bytearray) -> _Answer:
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, f"closed before an answer: {bytes(buffer)!r}"
        buffer += chunk
    end = buffer.index(b"\r\n\r\n")
    lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers["content-length"])
    while len(buffer) < end + 4 + length:
        chunk = sock.recv(65536)
        assert chunk, "closed inside a body"
        buffer += chunk
    body = bytes(buffer[end + 4 : end + 4 + length])
    del buffer[: end + 4 + length]
    return _Answer(int(lines[0].split(" ")[1]), headers, body)


def _request(
    method: str, path: str, key: str | None, body: bytes = b"", length: int | None = None
) -> bytes:
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if key is not None:
        head.append(f"X-API-Key: {key}")
    head.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _closed_after(sock: socket.socket, buffer: bytearray) -> bool:
    sock.settimeout(5)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return not buffer
            buffer += chunk
    except (ConnectionResetError, TimeoutError):
        return False


def test_a_partner_over_its_limit_gets_the_apps_answer_and_the_connection_closes(
    server: tuple[str, int],
) -> None:
    base, port = server
    key = _partner(base, 0.01)  # one token, refilled in 100 s
    with socket.create_connection(("127.0.0.1", port)) as sock:
        buffer = bytearray()
        sock.sendall(_request("GET", "/v1/no-such-route", key))  # the gate's path: spends it
        first = _read_answer(sock, buffer)
        assert first.status == 404 and first.headers.get("connection") != "close"
        # an escaped path is left to the app: the gate's own answer, on a kept-alive connection
        sock.sendall(_request("GET", "/v1/no-such-rout%65", key))
        by_app = _read_answer(sock, buffer)
        assert by_app.status == 429 and by_app.headers.get("connection") != "close"
    with socket.create_connection(("127.0.0.1", port)) as sock:
        buffer = bytearray()
        sock.sendall(_request("GET", "/v1/no-such-route", key))
        screened = _read_answer(sock, buffer)
        assert screened.status == 429 and screened.headers["connection"] == "close"
        assert _closed_after(sock, buffer)
    assert screened.body == by_app.body
    for name in ("content-type", "retry-after"):
        assert screened.headers[name] == by_app.headers[name]
    assert screened.problem()["type"].endswith("/rate-limited")
    assert screened.problem()["detail"] == "rate limit of 0.01 requests/s exceeded"


def test_what_the_protocol_admitted_is_not_charged_twice(server: tuple[str, int]) -> None:
    base, port = server
    key = _partner(base, 3)  # three tokens
    with socket.create_connection(("127.0.0.1", port)) as sock:
        buffer = bytearray()
        statuses = []
        for _ in range(4):  # the first is read from the database, the rest screened
            sock.sendall(_request("GET", "/v1/no-such-route", key))
            statuses.append(_read_answer(sock, buffer).status)
    assert statuses == [404, 404, 404, 429]


def test_refusals_come_before_the_body_is_sent(server: tuple[str, int]) -> None:
    base, port = server
    key = _partner(base, 1000)
    httpx.get(f"{base}/v1/no-such-route", headers={"X-API-Key": key})  # cached from now
    cases = [
        ("/v1/identity/liveness", None, 31 << 20, 401, "/unauthorized", "missing X-API-Key"),
        ("/v1/decisions/loan", "k" * 300, 10, 401, "/unauthorized", "unknown API key"),
        ("/v1/decisions/loan", key, 8 << 20, 413, "/too-large", "over 1048576 bytes"),
    ]
    for path, given, length, status, kind, detail in cases:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            buffer = bytearray()
            sock.sendall(_request("POST", path, given, b"{}" * 1000, length=length))
            answer = _read_answer(sock, buffer)  # the rest of the body never sent
            assert (answer.status, answer.headers["connection"]) == (status, "close")
            assert answer.problem()["type"].endswith(kind)
            assert detail in answer.problem()["detail"]
            assert _closed_after(sock, buffer), "the server ends the connection"


def test_a_pipelined_refusal_waits_for_the_answer_before_it(server: tuple[str, int]) -> None:
    base, port = server
    key = _partner(base, 0.01)
    httpx.get(f"{base}/healthz")
    with socket.create_connection(("127.0.0.1", port)) as sock:
        buffer = bytearray()
        sock.sendall(_request("GET", "/v1/no-such-route", key) * 3)  # one write, three requests
        statuses = [_read_answer(sock, buffer).status for _ in range(3)]
    assert statuses == [404, 429, 429]


def test_every_refusal_is_counted(server: tuple[str, int]) -> None:
    base, port = server

    def refused() -> float:
        text = httpx.get(f"{base}/metrics", headers=ADMIN).text
        line = 'ruleplus_http_responses_total{route="unmatched",status="401"}'
        return sum(float(v.split()[-1]) for v in text.splitlines() if v.startswith(line))

    before = refused()
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(_request("GET", "/v1/no-such-route", None))
            assert _read_answer(sock, bytearray()).status == 401
    assert refused() == before + 5
