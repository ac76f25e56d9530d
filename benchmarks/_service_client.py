"""Harness for the service load benchmark and the crash test.

* :func:`fresh_postgres` - a new PostgreSQL database for one run, dropped afterwards;
* :class:`Server` - ``uvicorn ruleplus.service.app:create_app`` in its own process group on
  127.0.0.1, started, stopped gracefully or killed with SIGKILL;
* :func:`seed` - a partner, the reference strategy and a deployment, over HTTP;
* :func:`run_closed_loop` - a closed-loop HTTP/1.1 client: ``concurrency`` keep-alive
  connections on one asyncio (uvloop) event loop, each sending its next request as soon as the
  previous answer is in. Requests are pre-formatted bytes and answers are parsed by hand
  (status line and ``content-length``), a few microseconds each, so that on a small machine the
  server, not the client, is what is measured;
* :func:`stored_decisions` - the number of decision rows, read from the database directly.

Everything targets 127.0.0.1 only, and every loop is bounded in time and count.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
STRATEGY = ROOT / "examples" / "strategies" / "reference_loan.yaml"
ADMIN_KEY = "bench-admin-key"
ADMIN = {"X-Admin-Key": ADMIN_KEY}
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
HOST = "127.0.0.1"

__all__ = [
    "ADMIN",
    "ADMIN_KEY",
    "LoadResult",
    "Server",
    "application",
    "fresh_postgres",
    "postgres_available",
    "run_closed_loop",
    "seed",
    "stored_decisions",
]


# PostgreSQL ------------------------------------------------------------------------------------
def postgres_available(server: str = PG_SERVER) -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        import psycopg

        with psycopg.connect(f"{server}/postgres", connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"PostgreSQL at {server} is unreachable: {type(exc).__name__}: {exc}".strip()
    return None


@contextlib.contextmanager
def fresh_postgres(prefix: str = "ruleplus_load", server: str = PG_SERVER) -> Iterator[str]:
    """Create ``<prefix>_<random>`` (autocommit on the ``postgres`` database), yield its URL,
    drop it afterwards (``WITH (FORCE)``: a killed server may leave connections behind)."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stored_decisions(database_url: str) -> int:
    """``SELECT count(*) FROM decisions``, straight from the database."""
    if database_url.startswith("sqlite:///"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as conn:
            return int(conn.execute("SELECT count(*) FROM decisions").fetchone()[0])
    import psycopg

    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM decisions").fetchone()
        assert row is not None
        return int(row[0])


def decision_ids(database_url: str) -> dict[str, str]:
    """``{idempotency_key: decision id}`` for every stored decision with a key."""
    query = "SELECT idempotency_key, id FROM decisions WHERE idempotency_key IS NOT NULL"
    if database_url.startswith("sqlite:///"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as conn:
            return dict(conn.execute(query).fetchall())
    import psycopg

    with psycopg.connect(database_url) as conn:
        return {k: v for k, v in conn.execute(query).fetchall()}


# the server ------------------------------------------------------------------------------------
def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _http_protocol() -> str:
    import importlib.util

    ours = importlib.util.find_spec("ruleplus.service.http") is not None
    return "ruleplus.service.http:Protocol" if ours else "httptools"


@dataclass
class Server:
    """A uvicorn process (group) serving ``create_app`` on 127.0.0.1.

    Parameters
    ----------
    data_dir : Path
        ``RULEPLUS_DATA_DIR``; also the working directory and where ``server.log`` goes.
    database_url : str, optional
        ``RULEPLUS_DATABASE_URL`` (default: SQLite under ``data_dir``).
    workers : int, default=1
        uvicorn worker processes.
    port : int, optional
        Default: a free port, kept across restarts.
    env : dict, optional
        Extra environment.
    http : str, optional
        uvicorn's ``--http``: ruleplus's protocol (httptools writing once per loop step), or
        plain ``httptools`` for a peer that predates it.
    """

    data_dir: Path
    database_url: str | None = None
    workers: int = 1
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    http: str = field(default_factory=lambda: _http_protocol())
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'ruleplus.db'}"

    def command(self) -> list[str]:
        """The uvicorn command line (the recommended flags)."""
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "ruleplus.service.app:create_app",
            "--factory",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--http",
            self.http,
            "--loop",
            "uvloop",
            "--no-access-log",
            "--log-level",
            "warning",
            "--backlog",
            "4096",
        ]
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        return cmd

    def start(self, timeout: float = 60.0) -> Server:
        """Start and wait until ``/readyz`` answers 200 (raises with the log tail otherwise)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RULEPLUS_")}
        env.update(
            {
                "RULEPLUS_DATA_DIR": str(self.data_dir),
                "RULEPLUS_ADMIN_KEY": ADMIN_KEY,
                "RULEPLUS_DATABASE_URL": self.db_url,
                "RULEPLUS_CONFIG": str(self.data_dir / "no-such-ruleplus.toml"),
                **self.env,
            }
        )
        self.starts += 1
        log = (self.data_dir / "server.log").open("ab")
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.data_dir,
            env=env,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server not ready within {timeout:g} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        path = self.data_dir / "server.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole process group (the workers too), at once."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (uvicorn shuts down gracefully: the writer flushes), then SIGKILL if needed."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def pids(self) -> list[int]:
        """The server's processes (the uvicorn parent and its workers), for profiling."""
        if self.process is None:
            return []
        out = subprocess.run(["pgrep", "-g", str(self.process.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]


def cpu_seconds(pids: list[int] | None = None, comm: str | None = None) -> float:
    """User + system CPU seconds of ``pids`` (or of every process named ``comm``), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    if pids is None:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    total = 0
    for pid in pids:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        if comm is not None and name != comm:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def machine_cpu_seconds(steal: bool = False) -> float:
    """CPU seconds the machine's processes used (all of them), from /proc/stat; with
    ``steal``, the seconds the hypervisor gave this VM's CPUs to others instead."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice
    value = fields[7] if steal else sum(fields[:3]) + sum(fields[5:7])
    return value / os.sysconf("SC_CLK_TCK")


def wait_until_quiet(max_wait_s: float, busy_share: float = 0.15, window_s: float = 2.0) -> float:
    """Wait (at most ``max_wait_s``) until the machine's CPUs are less than ``busy_share`` busy
    over ``window_s``; returns the busy share last seen (the caller reports it)."""
    deadline = time.monotonic() + max_wait_s
    cpus = os.cpu_count() or 1
    while True:
        before = machine_cpu_seconds()
        time.sleep(window_s)
        share = (machine_cpu_seconds() - before) / window_s / cpus
        if share < busy_share or time.monotonic() >= deadline:
            return share


#: The hostile partner's own strategy: a rule whose pattern backtracks catastrophically in a
#: backtracking regex engine (``(a+)+`` on ``aaaa…!``), which its requests feed long input.
HOSTILE_STRATEGY = """
id: hostile_regex
version: "1.0.0"
decision_field: decision
inputs:
  name: {type: string}
outputs: [decision]
reasons:
  A: {en: Name is only a's}
nodes:
  - id: only_as
    type: rule
    when: "matches(name, '^(a+)+$')"
    then: {decision: decline}
    reason: A
"""


def seed(
    base_url: str,
    rate_limit_per_s: float = 1e9,
    product: str = "loan",
    document: str | None = None,
) -> str:
    """Create a partner (no practical rate limit), publish the reference strategy (or
    ``document``), deploy it; returns the partner's API key."""
    text = document if document is not None else STRATEGY.read_text(encoding="utf-8")
    with httpx.Client(base_url=base_url, headers=ADMIN, timeout=30) as client:
        partner = client.post(
            "/v1/admin/partners",
            json={"name": f"load-{uuid.uuid4().hex[:8]}", "rate_limit_per_s": rate_limit_per_s},
        )
        partner.raise_for_status()
        published = client.post("/v1/admin/strategies", json={"document": text})
        published.raise_for_status()
        client.post(
            "/v1/admin/deployments",
            json={
                "partner_id": partner.json()["partner_id"],
                "product": product,
                "strategy_id": published.json()["strategy_id"],
                "champion": published.json()["version"],
            },
        ).raise_for_status()
        return str(partner.json()["api_key"])


def audit_verify(base_url: str) -> dict[str, Any]:
    """``GET /v1/admin/audit/verify``."""
    response = httpx.get(f"{base_url}/v1/admin/audit/verify", headers=ADMIN, timeout=300)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


# the requests ----------------------------------------------------------------------------------
_RESIDENCE = ("own", "mortgage", "rent", "other")


def application(n: int) -> dict[str, Any]:
    """The ``n``-th synthetic application: deterministic, spread over approve, refer and decline."""
    rnd = random.Random(n)
    return {
        "applicantId": f"L{n}",
        "creditScore": rnd.randint(450, 830),
        "monthlyIncome": rnd.choice((2500, 3800, 5200, 8000, 12000)),
        "monthlyDebt": rnd.choice((0, 0, 300, 900, 1500)),
        "loanAmount": rnd.choice((3000, 8000, 15000, 25000, 40000)),
        "termMonths": rnd.choice((12, 24, 36, 48, 60)),
        "employmentYears": rnd.choice((0.25, 1, 2, 4, 7, 12)),
        "delinquencies24m": rnd.choice((0, 0, 0, 1, 2, 3)),
        "residentialStatus": rnd.choice(_RESIDENCE),
    }


_VARIANTS = 256


class RequestMaker:
    """Pre-formatted ``POST /v1/decisions/{product}`` requests; request ``n`` carries the
    idempotency key ``{key_prefix}-{n}`` (when given) and application ``n % 256`` with its own
    applicant id, so a retry of ``n`` is byte-identical."""

    def __init__(self, api_key: str, product: str = "loan", key_prefix: str | None = None) -> None:
        self.key_prefix = key_prefix
        self.head = (
            f"POST /v1/decisions/{product} HTTP/1.1\r\nHost: {HOST}\r\nX-API-Key: {api_key}\r\n"
            "Content-Type: application/json\r\n"
        ).encode()
        self.bodies = []
        for v in range(_VARIANTS):
            app = application(v)
            del app["applicantId"]
            self.bodies.append(json.dumps(app, separators=(",", ":"))[1:].encode())

    def key(self, n: int) -> str | None:
        return f"{self.key_prefix}-{n}" if self.key_prefix else None

    def __call__(self, n: int) -> bytes:
        body = b'{"applicantId":"L%d",%s' % (n, self.bodies[n % _VARIANTS])
        key = self.key(n)
        extra = f"Idempotency-Key: {key}\r\n".encode() if key else b""
        return b"%s%sContent-Length: %d\r\n\r\n%s" % (self.head, extra, len(body), body)


# the closed-loop client ------------------------------------------------------------------------
@dataclass
class LoadResult:
    """What the client saw. ``latencies_us`` are of the 2xx answers, in completion order."""

    seconds: float = 0.0
    cpu_s: float = 0.0
    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    latencies_us: list[int] = field(default_factory=list)
    answered: dict[int, str] = field(default_factory=dict)  # request number -> decision id (2xx)
    unanswered: list[int] = field(default_factory=list)  # sent, connection lost before the answer
    replayed: int = 0
    samples: dict[int, bytes] = field(default_factory=dict)  # first non-2xx bodies, by status

    def count(self, klass: int) -> int:
        return sum(v for k, v in self.statuses.items() if k // 100 == klass)


class _Connection(asyncio.Protocol):
    """One keep-alive connection: sends a request, parses the answer, asks for the next one."""

    def __init__(self, client: _Client) -> None:
        self.client = client
        self.transport: Any = None
        self.buffer = b""
        self.need = -1
        self.header_end = -1
        self.status = 0
        self.current = -1
        self.started = 0
        self.replayed = False
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # uvloop's transports are not asyncio.Transport subclasses
        self.client.ready(self)

    def send(self, n: int, started_ns: int) -> None:
        self.current = n
        self.started = started_ns
        self.transport.write(self.client.make(n))

    def close(self) -> None:
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.need < 0:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = self.buffer[:end].lower()
                self.status = int(head[9:12])
                at = head.find(b"\r\ncontent-length:")
                if at < 0:
                    raise RuntimeError("answer without content-length")
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : stop if stop > 0 else len(head)])
                self.header_end = end + 4
                self.need = end + 4 + length
                self.replayed = b"\r\nidempotent-replayed: true" in head
            if len(self.buffer) < self.need:
                return
            body = self.buffer[self.header_end : self.need]
            self.buffer = self.buffer[self.need :]
            self.need = -1
            n, self.current = self.current, -1
            self.client.done(
                n, self.status, time.perf_counter_ns() - self.started, body, self.replayed
            )
            self.client.ready(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self in self.client.idle:
            self.client.idle.remove(self)
        if self.current >= 0:
            self.client.lost(self.current)
            self.current = -1
        if not self.closed.done():
            self.closed.set_result(None)


class _Client:
    """Hands out request numbers. Closed loop (``rate`` None): a connection sends its next request
    as soon as it is free. Open loop: request ``i`` is due at ``start + i / rate``; a due request
    waits for a free connection, and its latency counts from when it was due (no coordinated
    omission: a stalled server is charged for the requests it kept waiting)."""

    def __init__(
        self,
        make: RequestMaker,
        numbers: Iterator[int],
        deadline_ns: int,
        keep_ids: bool,
        rate: float | None,
    ) -> None:
        self.make = make
        self.numbers = numbers
        self.deadline_ns = deadline_ns
        self.keep_ids = keep_ids
        self.rate = rate
        self.result = LoadResult()
        self.idle: list[_Connection] = []
        self.due: collections.deque[tuple[int, int]] = collections.deque()
        self.finished = False

    def ready(self, conn: _Connection) -> None:
        if self.rate is None:
            if time.perf_counter_ns() >= self.deadline_ns or (n := next(self.numbers, -1)) < 0:
                conn.close()
                return
            self.result.sent += 1
            conn.send(n, time.perf_counter_ns())
        elif self.due:
            n, due_ns = self.due.popleft()
            conn.send(n, due_ns)
        elif self.finished:
            conn.close()
        else:
            self.idle.append(conn)

    async def schedule(self, started_ns: int) -> None:
        """Open loop: release requests at their due times until the deadline."""
        assert self.rate is not None
        interval_ns = 1e9 / self.rate
        i = 0
        while True:
            now = time.perf_counter_ns()
            if now >= self.deadline_ns:
                break
            while started_ns + i * interval_ns <= now:
                n = next(self.numbers, -1)
                if n < 0:
                    self.deadline_ns = now
                    break
                self.result.sent += 1
                due_ns = int(started_ns + i * interval_ns)
                i += 1
                if self.idle:
                    self.idle.pop().send(n, due_ns)
                else:
                    self.due.append((n, due_ns))
            await asyncio.sleep(
                max(0.0, (started_ns + i * interval_ns - time.perf_counter_ns()) / 1e9)
            )
        self.finished = True
        while self.idle:
            self.idle.pop().close()

    def done(self, n: int, status: int, elapsed_ns: int, body: bytes, replayed: bool) -> None:
        r = self.result
        r.statuses[status] = r.statuses.get(status, 0) + 1
        if 200 <= status < 300:
            r.latencies_us.append(elapsed_ns // 1000)
            r.replayed += replayed
            if self.keep_ids:
                r.answered[n] = json.loads(body)["decision_id"]
        elif status not in r.samples:
            r.samples[status] = body[:500]

    def lost(self, n: int) -> None:
        self.result.errors += 1
        self.result.unanswered.append(n)


async def _run(
    port: int,
    make: RequestMaker,
    numbers: Iterator[int],
    seconds: float,
    concurrency: int,
    keep_ids: bool,
    rate: float | None,
) -> LoadResult:
    loop = asyncio.get_running_loop()
    started = time.perf_counter_ns()
    client = _Client(make, numbers, started + int(seconds * 1e9), keep_ids, rate)
    if rate is not None:  # connect first, then start the clock
        client.deadline_ns = 0
    connections = []
    for _ in range(concurrency):
        try:
            _, protocol = await loop.create_connection(lambda: _Connection(client), HOST, port)
        except OSError:
            client.result.errors += 1
            continue
        connections.append(protocol)
    if rate is not None:
        started = time.perf_counter_ns()
        client.deadline_ns = started + int(seconds * 1e9)
        client.idle = [c for c in connections if not c.closed.done()]
        await client.schedule(started)
    # bounded: every connection ends at the deadline (after its answer) or when it is lost
    await asyncio.wait_for(asyncio.gather(*(c.closed for c in connections)), seconds + 120)
    client.result.seconds = (time.perf_counter_ns() - started) / 1e9
    return client.result


def run_closed_loop(
    port: int,
    api_key: str,
    *,
    seconds: float,
    concurrency: int,
    key_prefix: str | None = None,
    numbers: list[int] | range | None = None,
    keep_ids: bool = False,
    product: str = "loan",
    rate: float | None = None,
) -> LoadResult:
    """Run the loop for ``seconds`` (or until ``numbers`` are all sent); uses uvloop.

    Parameters
    ----------
    numbers : sequence of int, optional
        Request numbers to send, in order (default: 0, 1, 2, … without end).
    keep_ids : bool, default=False
        Record each 2xx answer's decision id by request number.
    rate : float, optional
        Open loop at this many requests per second over ``concurrency`` connections
        (default: closed loop).
    """
    import itertools

    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    make = RequestMaker(api_key, product, key_prefix)
    source = iter(numbers) if numbers is not None else itertools.count()
    result: LoadResult = runner(_run(port, make, source, seconds, concurrency, keep_ids, rate))
    return result


def client_process(
    conn: Any,
    port: int,
    api_key: str,
    seconds: float,
    concurrency: int,
    key_prefix: str | None,
    rate: float | None = None,
) -> None:
    """Entry point of the client process: runs the loop and sends the result down ``conn``."""
    started = time.process_time()
    result = run_closed_loop(
        port, api_key, seconds=seconds, concurrency=concurrency, key_prefix=key_prefix, rate=rate
    )
    result.cpu_s = time.process_time() - started
    conn.send(result)
    conn.close()


# the crash check -------------------------------------------------------------------------------
def crash_run(
    data_dir: Path,
    database_url: str | None = None,
    *,
    load_s: float = 1.5,
    concurrency: int = 16,
    resend_answered: int = 50,
    workers: int = 1,
    min_stored: int = 200,
    max_load_s: float = 45.0,
) -> dict[str, Any]:
    """Load a server with unique idempotency keys, SIGKILL it mid-load, restart it on the same
    database and re-send every unanswered request plus ``resend_answered`` answered ones.

    The kill comes after at least ``load_s`` seconds of load and once ``min_stored`` decisions
    are stored (at the latest after ``max_load_s``), so it lands mid-load however long the
    workers take to warm up on a slow or busy machine.

    Returns the facts to check: ``acknowledged_missing`` (answered before the crash but not
    stored), ``changed_ids`` (a retry answered with another decision than the first answer),
    ``rows`` and ``distinct_keys`` (must be equal), ``resend_failures`` and ``audit``.
    """
    import threading

    server = Server(data_dir, database_url, workers=workers)
    server.start()
    try:
        api_key = seed(server.url)
        prefix = "crash-" + uuid.uuid4().hex[:8]
        box: dict[str, LoadResult] = {}

        def load() -> None:  # bounded: ends when the server dies, at the latest after 60 s
            box["r"] = run_closed_loop(
                server.port,
                api_key,
                seconds=60,
                concurrency=concurrency,
                key_prefix=prefix,
                keep_ids=True,
            )

        thread = threading.Thread(target=load, daemon=True)
        thread.start()
        started = time.monotonic()
        time.sleep(load_s)
        while (
            len(decision_ids(server.db_url)) < min_stored
            and time.monotonic() - started < max_load_s
        ):
            time.sleep(0.1)
        server.kill()
        thread.join(120)
        first = box["r"]
        sent = set(first.answered) | set(first.unanswered)
        before = len(decision_ids(server.db_url))

        server.start()
        rnd = random.Random(7)
        again = sorted(first.unanswered) + rnd.sample(
            sorted(first.answered), min(resend_answered, len(first.answered))
        )
        second = run_closed_loop(
            server.port,
            api_key,
            seconds=60,
            concurrency=min(concurrency, 8),
            key_prefix=prefix,
            numbers=again,
            keep_ids=True,
        )
        stored = decision_ids(server.db_url)
        make = RequestMaker(api_key, key_prefix=prefix)
        keys = {make.key(n) for n in sent}
        acknowledged_missing = [
            n for n, did in first.answered.items() if stored.get(make.key(n)) != did
        ]
        changed = [
            n
            for n, did in second.answered.items()
            if n in first.answered and first.answered[n] != did
        ]
        audit = audit_verify(server.url)
        return {
            "database": "postgresql" if database_url else "sqlite",
            "answered_before_kill": len(first.answered),
            "in_flight_at_kill": len(first.unanswered),
            "non_2xx_before_kill": sum(v for k, v in first.statuses.items() if not 200 <= k < 300),
            "rows_after_kill": before,
            "committed_but_unanswered": before - len(first.answered),
            "resent": len(again),
            "resend_answered_2xx": len(second.answered),
            "resend_replayed": second.replayed,
            "resend_failures": len(again) - len(second.answered),
            "acknowledged_missing": len(acknowledged_missing),
            "changed_ids": len(changed),
            "rows": len(stored),
            "distinct_keys": len(keys),
            "unexpected_keys": len(set(stored) - keys),
            "audit": audit,
        }
    finally:
        server.stop()


# --- noisy neighbour --------------------------------------------------------------------------
_HOSTILE_KINDS = ("unauthenticated_31mb", "oversized_declared", "oversized_chunked", "not_json")


def _hostile_requests(api_key: str) -> dict[str, bytes]:
    """The bytes each kind of hostile request sends (built once: the client must stay cheap)."""
    slow = json.dumps({"name": "a" * 20_000 + "!"}).encode()  # see HOSTILE_STRATEGY

    def head(path: str, body_len: int, key: str | None, chunked: bool = False) -> bytes:
        lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
        if key:
            lines.append(f"X-API-Key: {key}")
        lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {body_len}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    chunk = b"x" * (256 << 10)
    return {
        # the rest of the 31 MB would follow; the answer comes first
        "unauthenticated_31mb": head("/v1/identity/liveness", 31 << 20, None) + b"{}" * 4096,
        "oversized_declared": head("/v1/decisions/loan", 8 << 20, api_key),
        "oversized_chunked": head("/v1/decisions/loan", 0, api_key, chunked=True)
        + (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") * 8,
        "not_json": head("/v1/decisions/loan", 9, api_key) + b"not json!",
        # over its rate limit, mostly; those within it evaluate the backtracking pattern
        "burst_slow_regex": head("/v1/decisions/loan", len(slow), api_key) + slow,
    }


class _HostileConnection(asyncio.Protocol):
    """One hostile request on its own connection: sends, reads the status line, closes."""

    def __init__(self, kind: str, payload: bytes, counts: dict[str, int]) -> None:
        self.kind, self.payload, self.counts = kind, payload, counts
        self.transport: Any = None
        self.buffer = b""
        self.status = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.transport.write(self.payload)
        # an answer that never comes is counted as ``closed`` after ten seconds
        asyncio.get_running_loop().call_later(10.0, transport.close)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n")
        if end >= 0 and not self.status:
            self.status = self.buffer[9:12].decode("ascii", "replace")
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        key = f"{self.kind}:{self.status or 'closed'}"
        self.counts[key] = self.counts.get(key, 0) + 1


async def _hostile_loop(port: int, api_key: str, seconds: float, rate: float) -> dict[str, Any]:
    """One hostile partner: oversized bodies (declared and streamed), unauthenticated 31 MB
    bodies, bodies that are not JSON, and bursts far over its rate limit of 20 KB inputs for a
    catastrophically backtracking pattern (:data:`HOSTILE_STRATEGY`), ``rate`` requests a
    second, each on a new connection, in rounds of 24 (one of each oversized or malformed kind,
    20 bursts), on raw asyncio protocols so that the attacker's own CPU stays small."""
    loop = asyncio.get_running_loop()
    counts: dict[str, int] = {}
    payloads = _hostile_requests(api_key)
    pending: set[asyncio.Future[Any]] = set()

    async def one(kind: str) -> None:
        try:
            await loop.create_connection(
                lambda: _HostileConnection(kind, payloads[kind], counts), "127.0.0.1", port
            )
        except OSError:
            counts["connect_error"] = counts.get("connect_error", 0) + 1

    kinds = [*_HOSTILE_KINDS, *(["burst_slow_regex"] * 20)]
    started_cpu = time.process_time()
    first = time.monotonic()
    deadline = first + seconds
    round_s = len(kinds) / rate
    sent = 0
    due = first
    while time.monotonic() < deadline:
        for kind in kinds:
            task = asyncio.ensure_future(one(kind))
            pending.add(task)
            task.add_done_callback(pending.discard)
        sent += len(kinds)
        due += round_s
        await asyncio.sleep(max(0.0, due - time.monotonic()))
    elapsed = time.monotonic() - first
    await asyncio.sleep(1.0)  # the last answers
    return {
        "answers": counts,
        "sent": sent,
        "per_s": round(sent / elapsed, 1),
        "cpu_ms_per_request": round(1000 * (time.process_time() - started_cpu) / max(sent, 1), 3),
    }


def hostile_process(sender: Any, port: int, api_key: str, seconds: float, rate: float) -> None:
    """Entry point of the hostile partner's process (uvloop): sends what it sent and the
    answers it got by kind and status when done."""
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    sender.send(runner(_hostile_loop(port, api_key, seconds, rate)))
    sender.close()
