"""The online decision path: one call, :meth:`DecisionService.decide`, for one application.

idempotency (one request digest, one in-flight claim per key) -> identity facts -> map the
partner's fields -> validate (every bad field at once) -> fraud signals (velocity counts, watch
lists; scoped to the partner unless the strategy opts into the lender's global view) ->
champion / challenger / shadows -> persist the decision, its velocity events and its audit entry
in one transaction -> the typed :class:`Outcome`.

``decide`` blocks (compiling, database reads, the commit). An event loop calls
:meth:`DecisionService.decide_async` instead: the same path, nothing of it on the loop, and
the commit wakes the loop once per decision. A decision that needs no I/O and is cheap (a small
body without images, a deployment in the cache, strategies without signals, evaluations that
took under ``_INLINE_BUDGET_S`` lately) is made on the group-commit writer's own thread, just
before its batch is written; any other goes through a bounded worker pool, which hands the row
to the writer. The writer's thread saves a hand-off between threads per decision: at moderate
load that hand-off costs more CPU (two wake-ups, the interpreter lock passed twice) than the
decision itself, and it is the same thread for every partner either way (the interpreter lock).

Deployments, mappings and lists are cached for a few seconds and refreshed on change; the
caches are bounded by what the administrator created, never by what a partner sends.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from ruleplus.decision import ArtifactResolver, CompiledStrategy, compile_strategy
from ruleplus.decision.nodes.routing import bucket
from ruleplus.errors import (
    ConflictError,
    DataError,
    InputValidationError,
    NotFoundError,
    RuleplusError,
    ServiceUnavailableError,
)
from ruleplus.fraud.velocity import DatabaseVelocity, VelocityStore, scoped_counter
from ruleplus.lending.offers import decision_offer
from ruleplus.serving.identity_facts import image_digests
from ruleplus.serving.mapping import FieldMapping
from ruleplus.serving.sensitive import Redactor, sensitive_inputs
from ruleplus.store import Database
from ruleplus.store.canonical import fast_hex
from ruleplus.store.repos import DecisionRepo, DeploymentRepo, ListRepo, MappingRepo, StrategyRepo
from ruleplus.store.secrets import value_digest
from ruleplus.store.tables import DecisionRecord, Deployment
from ruleplus.store.writer import DecisionWriter, WriteResult

__all__ = [
    "APPLICATION_ID_FIELDS",
    "DecisionRequest",
    "DecisionService",
    "Outcome",
    "Prepared",
    "json_safe",
    "request_digest",
    "response_body",
]

log = logging.getLogger("ruleplus.decisions")

_INLINE_MAX_BODY = 64 * 1024
"""Bodies up to this size may be decided on the writer's thread (parsing one costs ~0.1 ms)."""

_INLINE_BUDGET_S = 0.001
"""A deployment whose decisions lately took longer than this is decided in the pool: every
decision queued behind one on the writer's thread waits for it."""

APPLICATION_ID_FIELDS = ("applicationId", "application_id")
"""Request fields (after mapping, then as sent) whose value is stored as the decision's
application id, which outcomes are joined on."""

IdentityCheck = Callable[[Any], tuple[dict[str, Any], dict[str, Any]]]
"""``identity block -> (facts for the strategy, what is stored instead of the images)``."""


def _default(value: Any) -> Any:
    return str(value)


def json_safe(value: Any) -> Any:
    """A JSON round trip (dates become ISO text), so stored and hashed forms agree."""
    return orjson.loads(orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS))


def request_digest(request: DecisionRequest) -> str:
    """The digest that tells a retry from another request with the same ``Idempotency-Key``.

    It covers the partner, product and channel and the whole body, with identity images by
    the hash of their text (hashing the images once is cheaper than serialising them).
    """
    body = request.body
    if "identity" in body:
        body = {**body, "identity": image_digests(body["identity"])}
    scope = {
        "partner": request.partner_id,
        "product": request.product,
        "channel": request.channel,
        "body": body,
    }
    try:
        return fast_hex(scope)
    except (TypeError, ValueError) as exc:  # only what JSON parsing produced gets here
        raise DataError(f"the body cannot be digested: {exc}") from None


@dataclass(frozen=True)
class DecisionRequest:
    """One application as a partner sent it.

    Parameters
    ----------
    partner_id : str
        The authenticated partner.
    product : str
        The product decided (path parameter).
    body : dict
        The parsed JSON body, in the partner's own field names; an ``identity`` object
        (``{"selfie": base64, "id_photo": base64}``) is verified first.
    channel : str, default="*"
        The partner's channel (``X-Channel``).
    idempotency_key : str or None, default=None
        A retry with the same key and request gets the stored decision.
    """

    partner_id: str
    product: str
    body: dict[str, Any]
    channel: str = "*"
    idempotency_key: str | None = None
    digest: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.body, dict):
            raise DataError("the body must be a JSON object")
        object.__setattr__(self, "digest", request_digest(self))


@dataclass(frozen=True)
class Outcome:
    """What the service answers, and how it got there."""

    body: dict[str, Any]
    replayed: bool = False
    decision_id: str = ""
    strategy_id: str = ""
    outcome: str | None = None
    arm: str = "champion"
    latency_s: float = 0.0


@dataclass
class _Signals:
    events: list[tuple[str, str, int]] = field(default_factory=list)
    pending: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Prepared:
    """A decision made and not yet stored: its row, and the velocity events it counted."""

    row: dict[str, Any]
    signals: _Signals
    now_ms: int
    started: float


_Begun = tuple[DecisionRequest, Prepared, Callable[[], None] | None]
"""A decision made and queued for the writer: its request, itself, its claim's release."""


@dataclass(frozen=True)
class _Written:
    """A decision after its write: whether it was stored, or why the write failed."""

    request: DecisionRequest
    prepared: Prepared
    release: Callable[[], None] | None
    stored: bool
    error: BaseException | None
    records_after_commit: bool = False
    """Stored, with velocity events for a store outside the transaction (Redis, memory): they
    stay pending until recorded there."""


@dataclass
class _Live:
    deployment: Deployment
    arms: list[tuple[str, CompiledStrategy, int]]  # (arm name, strategy, upper bucket)
    shadows: list[CompiledStrategy]
    mapping: FieldMapping | None
    redactor: Redactor
    needs_io: bool = False
    """A strategy counts velocity or reads watch lists (the store's reads)."""
    cost_s: float = 0.0
    """How long its decisions took lately (moving average), to keep slow ones off the writer."""

    def took(self, seconds: float) -> None:
        """Count one decision's time. Each counts at most twice the budget: one slow outlier
        (a cold first call, a pause) moves the average under the budget, four slow ones in
        a row over it."""
        sample = min(seconds, 2 * _INLINE_BUDGET_S)
        self.cost_s += 0.2 * (sample - self.cost_s)  # a float store: atomic under the GIL


@dataclass
class _Product:
    by_channel: dict[str, _Live]
    loaded_at: float = field(default_factory=time.monotonic)


class _Claims:
    """One in-flight request per (partner, idempotency key) in this process: concurrent retries
    wait for the first and are answered with its stored decision (counted once)."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, str], threading.Event] = {}
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, key: tuple[str, str], timeout_s: float) -> Iterator[bool]:
        """Hold ``key``; yields True when another request held it first (then replay)."""
        waited = False
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                other = self._held.get(key)
                if other is None:
                    mine = threading.Event()
                    self._held[key] = mine
                    break
            waited = True
            if not other.wait(max(deadline - time.monotonic(), 0.0)):
                raise ServiceUnavailableError(
                    "an earlier request with this Idempotency-Key is still being decided; retry"
                )
        try:
            yield waited
        finally:
            with self._lock:
                del self._held[key]
            mine.set()

    def try_hold(self, key: tuple[str, str]) -> Callable[[], None] | None:
        """Hold ``key`` if no request holds it: the release function (call it once), else None."""
        with self._lock:
            if key in self._held:
                return None
            mine = threading.Event()
            self._held[key] = mine

        def release() -> None:
            with self._lock:
                if self._held.get(key) is mine:
                    del self._held[key]
            mine.set()

        return release


class _Pending:
    """Velocity events counted but not yet committed in this process, so that a burst of
    concurrent applications sees itself before the commits land."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def add(self, keys: list[tuple[str, str]]) -> list[int]:
        """Register one event per key; returns the pending counts before it."""
        with self._lock:
            before = [self._counts.get(k, 0) for k in keys]
            for k in keys:
                self._counts[k] = self._counts.get(k, 0) + 1
            return before

    def remove(self, keys: list[tuple[str, str]]) -> None:
        """The events were committed (or dropped)."""
        with self._lock:
            for k in keys:
                left = self._counts.get(k, 0) - 1
                if left > 0:
                    self._counts[k] = left
                else:
                    self._counts.pop(k, None)


class _KeyLocks:
    """One lock per cache key (single-flight loads), created on demand and never dropped: the
    keys are strategy versions and (partner, product) bindings, both bounded by what the
    administrator created."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, ...], threading.Lock] = {}
        self._guard = threading.Lock()

    def lock(self, key: tuple[str, ...]) -> threading.Lock:
        with self._guard:
            found = self._locks.get(key)
            if found is None:
                found = self._locks[key] = threading.Lock()
            return found


class DecisionService:
    """Decides applications for partners.

    Parameters
    ----------
    database : Database
        The store.
    writer : DecisionWriter
        Group-commit writer for decisions.
    velocity : VelocityStore
        Velocity counters (Redis, database or memory).
    secret : bytes
        Key for the digests of sensitive values.
    cache_ttl_s : float, default=2.0
        How long a deployment snapshot is reused before it is looked up again.
    identity : callable, optional
        Verifies a request's ``identity`` block (set when the face models are loaded).
    commit_timeout_s : float, default=30.0
        How long a decision waits for its commit before the request fails with 503.
    max_products : int, default=4096
        Most (partner, product) snapshots kept.
    artifacts : ArtifactResolver, optional
        Resolves strategies' ``call`` / ``model`` references (the content-addressed store).
    rate_cap : Decimal, default=0.24
        Cap on an offer's annualised rate where the strategy's offer section names none (the
        ``rate_cap`` setting).
    """

    def __init__(
        self,
        database: Database,
        writer: DecisionWriter,
        velocity: VelocityStore,
        secret: bytes,
        cache_ttl_s: float = 2.0,
        identity: IdentityCheck | None = None,
        commit_timeout_s: float = 30.0,
        max_products: int = 4096,
        artifacts: ArtifactResolver | None = None,
        rate_cap: Decimal = Decimal("0.24"),
    ) -> None:
        self.database = database
        self.rate_cap = rate_cap
        self.writer = writer
        self.velocity = velocity
        self.secret = secret
        self.cache_ttl_s = cache_ttl_s
        self.identity = identity
        self.commit_timeout_s = commit_timeout_s
        self.max_products = max_products
        self.artifacts = artifacts
        self._strategies: dict[tuple[str, str], CompiledStrategy] = {}
        self._products: OrderedDict[tuple[str, str], _Product] = OrderedDict()
        self._products_lock = threading.Lock()
        self._loading = _KeyLocks()
        self._lists: tuple[float, dict[tuple[str, str], set[str]]] = (0.0, {})
        self._claims = _Claims()
        self._pending = _Pending()

    # caches ------------------------------------------------------------------------------------
    def invalidate(self) -> None:
        """Forget deployments, mappings and lists (after a management change)."""
        with self._products_lock:
            self._products.clear()
        self._lists = (0.0, {})

    def strategy(self, strategy_id: str, version: str) -> CompiledStrategy:
        """A compiled strategy version (compiled once, kept: published versions are
        immutable, and their number is the administrator's, not a partner's)."""
        key = (strategy_id, version)
        compiled = self._strategies.get(key)
        if compiled is not None:
            return compiled
        with self._loading.lock(("strategy", *key)):  # one thread compiles, the others wait
            compiled = self._strategies.get(key)
            if compiled is None:
                with self.database.session() as session:
                    document = StrategyRepo(session).get(strategy_id, version).document
                compiled = compile_strategy(
                    document, name=f"{strategy_id}@{version}", artifacts=self.artifacts
                )
                self._strategies[key] = compiled
        return compiled

    def warm(self, limit: int = 256) -> int:
        """Load the most recently deployed (partner, product) bindings, compiling their
        strategies, so that the first applications after a start or a deploy do not wait for
        compiles; returns how many were loaded. A binding that fails to load is logged and
        left to fail (or load) on its first request."""
        try:
            with self.database.session() as session:
                keys = DeploymentRepo(session).live_products(limit)
        except Exception as exc:  # the first requests will load what they need
            log.warning("could not list the live deployments to preload: %s", exc)
            return 0
        loaded = 0
        for partner_id, product in keys:
            try:
                self._product(partner_id, product)
                loaded += 1
            except Exception as exc:  # a broken binding must not stop the service starting
                log.warning("could not preload %s/%s: %s", partner_id, product, exc)
        return loaded

    def live(self, partner_id: str, product: str, channel: str) -> _Live:
        """The live deployment of (partner, product) for ``channel`` (exact channel first,
        then ``*``), with its compiled arms, mapping and redactor."""
        cached = self._product(partner_id, product)
        live = cached.by_channel.get(channel) or cached.by_channel.get("*")
        if live is None:
            raise NotFoundError(f"no strategy is deployed for product {product!r}", product=product)
        return live

    def _product(self, partner_id: str, product: str) -> _Product:
        key = (partner_id, product)
        cached = self._cached_product(key)
        if cached is None or time.monotonic() - cached.loaded_at >= self.cache_ttl_s:
            # one thread (re)loads a product; while it does, the others use the entry that
            # expired, or wait for the first load (a stampede of compiles and queries would
            # cost every partner's requests their CPU)
            loading = self._loading.lock(("product", *key))
            if loading.acquire(blocking=cached is None):
                try:
                    fresh = self._cached_product(key)
                    if fresh is not None and time.monotonic() - fresh.loaded_at < self.cache_ttl_s:
                        cached = fresh
                    else:
                        stale, cached = cached, self._load_product(partner_id, product)
                        if stale is not None:  # what the decisions cost lately, carried over
                            for channel, live in cached.by_channel.items():
                                if channel in stale.by_channel:
                                    live.cost_s = stale.by_channel[channel].cost_s
                        with self._products_lock:
                            self._products[key] = cached
                            self._products.move_to_end(key)
                            while len(self._products) > self.max_products:
                                self._products.popitem(last=False)
                finally:
                    loading.release()
            assert cached is not None
        return cached

    def _fresh_live(self, request: DecisionRequest) -> _Live | None:
        """The request's live deployment when the cache holds it fresh (no load needed)."""
        cached = self._cached_product((request.partner_id, request.product))
        if cached is None or time.monotonic() - cached.loaded_at >= self.cache_ttl_s:
            return None
        return cached.by_channel.get(request.channel) or cached.by_channel.get("*")

    def _cached_product(self, key: tuple[str, str]) -> _Product | None:
        with self._products_lock:
            cached = self._products.get(key)
            if cached is not None:
                self._products.move_to_end(key)
        return cached

    def _load_product(self, partner_id: str, product: str) -> _Product:
        with self.database.session() as session:
            deployments = DeploymentRepo(session).live_channels(partner_id, product)
            mapping_row = MappingRepo(session).latest(partner_id, product) if deployments else None
            mapping_doc = mapping_row.document if mapping_row else None
        mapping = FieldMapping(mapping_doc) if mapping_doc else None
        return _Product({ch: self._build_live(d, mapping) for ch, d in deployments.items()})

    def _build_live(self, deployment: Deployment, mapping: FieldMapping | None) -> _Live:
        overrides = deployment.parameters or None

        def version(v: str) -> CompiledStrategy:
            # the binding's parameter overrides (checked when it was deployed)
            return self.strategy(deployment.strategy_id, v).with_parameters(overrides)

        # buckets [0, 10000): the champion first, then each challenger's share (percent -> buckets)
        arms: list[tuple[str, CompiledStrategy, int]] = []
        upper = 10_000 - sum(round(100 * float(c["share"])) for c in deployment.challengers)
        arms.append(("champion", version(deployment.champion), upper))
        for c in deployment.challengers:
            upper += round(100 * float(c["share"]))
            arms.append((f"challenger:{c['version']}", version(c["version"]), upper))
        shadows = [version(v) for v in deployment.shadows]
        needs_io = any(s.document.signals is not None for s in [a[1] for a in arms] + shadows)
        redactor = self._redactor(arms, shadows, mapping)
        return _Live(deployment, arms, shadows, mapping, redactor, needs_io=needs_io)

    def _redactor(
        self,
        arms: list[tuple[str, CompiledStrategy, int]],
        shadows: list[CompiledStrategy],
        mapping: FieldMapping | None,
    ) -> Redactor:
        fields: set[str] = set()
        for strategy in [a[1] for a in arms] + shadows:
            fields |= sensitive_inputs(strategy.document)
        paths: list[tuple[str, str]] = []
        if mapping is not None:
            fields |= {name for name, rule in mapping.doc.fields.items() if rule.sensitive}
            paths += [(src, name) for src, name, _ in mapping.sources() if name in fields]
            paths += [(src, name) for src, name, marked in mapping.sources() if marked]
        if mapping is None or mapping.passthrough:
            paths += [(name, name) for name in fields]
        return Redactor(self.secret, fields, paths)

    def _list_digests(self) -> dict[tuple[str, str], set[str]]:
        loaded, digests = self._lists
        if time.monotonic() - loaded > self.cache_ttl_s:
            loading = self._loading.lock(("lists",))
            if loading.acquire(blocking=loaded == 0.0):  # the others keep the expired lists
                try:
                    loaded, digests = self._lists
                    if time.monotonic() - loaded > self.cache_ttl_s:
                        with self.database.session() as session:
                            digests = ListRepo(session, self.secret).digests()
                        self._lists = (time.monotonic(), digests)
                finally:
                    loading.release()
        return digests

    # the path ----------------------------------------------------------------------------------
    def decide(self, request: DecisionRequest) -> Outcome:
        """Decide one application and persist it; blocks until the decision is committed.

        A retry with the same ``Idempotency-Key`` and request gets the stored decision (also
        when the deployment changed since); the same key with another request is a conflict.
        """
        key = request.idempotency_key
        if key is None:
            return self._decide(request)
        with self._claims.hold((request.partner_id, key), self.commit_timeout_s) as waited:
            if waited or "identity" in request.body:  # likely stored, or costly to redo
                replay = self.replay(request)
                if replay is not None:
                    return replay
            try:
                return self._decide(request)
            except RuleplusError:
                replay = self.replay(request)
                if replay is not None:
                    return replay
                raise

    async def decide_async(
        self,
        build: Callable[[], DecisionRequest],
        pool: Executor,
        body_bytes: int | None = None,
    ) -> Outcome:
        """:meth:`decide` for an event loop (see the module docstring).

        The writer's thread (a cheap decision) or a pool thread (any other) makes the
        decision and queues it for the writer; the writer's commit wakes the loop. One
        wake-up of the loop per decision, with nothing of the decision done on it.

        Parameters
        ----------
        build : callable
            Makes the request (parsing and digesting the body), off the loop.
        pool : Executor
            Where the blocking work runs.
        body_bytes : int, optional
            The body's size: a small one may be decided on the writer's thread (unknown: the
            pool).
        """
        loop = asyncio.get_running_loop()
        box: asyncio.Future[Outcome | _Written] = loop.create_future()
        if body_bytes is not None and body_bytes <= _INLINE_MAX_BODY:
            made: list[_Begun] = []  # what the writer's thread made, for the commit to answer
            future = self.writer.submit_made(
                functools.partial(self._make_on_writer, build, loop, box, pool, made)
            )
            future.add_done_callback(functools.partial(self._made_committed, made, loop, box, pool))
        else:
            pool.submit(self._begin_and_write, build, loop, box, pool)
        timer = loop.call_later(self.commit_timeout_s, _expire, box)
        try:
            begun = await box
        finally:
            timer.cancel()
        if isinstance(begun, Outcome):
            return begun
        request, prepared, error = begun.request, begun.prepared, begun.error
        try:
            if begun.records_after_commit:
                try:
                    await loop.run_in_executor(pool, self._record_velocity, prepared)
                finally:
                    self.discard(prepared.signals)  # pending until recorded
            if error is None and begun.stored:
                return self._stored_outcome(prepared)
            if error is not None and not (
                isinstance(error, RuleplusError) and request.idempotency_key is not None
            ):
                raise error
            # an earlier or concurrent request (another process) holds the key, or the write
            # failed and the key may still have been stored: answer what is stored
            replay = await loop.run_in_executor(pool, self.replay, request)
            if replay is None:
                if error is not None:
                    raise error
                raise ConflictError("this Idempotency-Key is taken")  # pragma: no cover
            return replay
        finally:
            if begun.release is not None:
                begun.release()

    def _begin_and_write(
        self,
        build: Callable[[], DecisionRequest],
        loop: asyncio.AbstractEventLoop,
        box: asyncio.Future[Outcome | _Written],
        pool: Executor,
    ) -> None:
        """The pool's part of :meth:`decide_async`: decide, queue the row for the writer and
        let its commit settle ``box`` (an answer without a write settles it at once)."""
        try:
            begun = self._begin(build)
        except BaseException as exc:
            loop.call_soon_threadsafe(_settle, box, None, exc)
            return
        if isinstance(begun, Outcome):
            loop.call_soon_threadsafe(_settle, box, begun, None)
            return
        request, prepared, release = begun
        try:
            future = self.writer.submit(prepared.row, self.event_rows(prepared) or [])
        except BaseException as exc:  # pragma: no cover - the queue is unbounded
            self.discard(prepared.signals)
            if release is not None:
                release()
            loop.call_soon_threadsafe(_settle, box, None, exc)
            return
        future.add_done_callback(
            functools.partial(self._committed, (request, prepared, release), loop, box, pool)
        )

    def _make_on_writer(
        self,
        build: Callable[[], DecisionRequest],
        loop: asyncio.AbstractEventLoop,
        box: asyncio.Future[Outcome | _Written],
        pool: Executor,
        made: list[_Begun],
    ) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """The writer thread's part of :meth:`decide_async`: a cheap decision's row, or None
        when the request went to the pool (it needs I/O, is slow, or waits for a retry's
        first) or was answered."""
        try:
            request = build()
        except BaseException as exc:
            loop.call_soon_threadsafe(_settle, box, None, exc)
            return None
        live = self._fresh_live(request)
        if (
            live is None  # a load, or no deployment: the pool answers
            or live.needs_io
            or live.cost_s > _INLINE_BUDGET_S
            or "identity" in request.body
        ):
            self._to_pool(request, loop, box, pool)
            return None
        key = request.idempotency_key
        release = None if key is None else self._claims.try_hold((request.partner_id, key))
        if key is not None and release is None:  # a concurrent retry waits for the first
            self._to_pool(request, loop, box, pool)
            return None
        try:
            prepared = self.prepare(request, live)
        except RuleplusError as exc:
            if release is not None:  # a decision stored under the key may answer it: the pool
                release()
                self._to_pool(request, loop, box, pool)
                return None
            loop.call_soon_threadsafe(_settle, box, None, exc)
            return None
        except BaseException as exc:
            if release is not None:
                release()
            loop.call_soon_threadsafe(_settle, box, None, exc)
            return None
        made.append((request, prepared, release))
        return prepared.row, self.event_rows(prepared) or []

    def _to_pool(
        self,
        request: DecisionRequest,
        loop: asyncio.AbstractEventLoop,
        box: asyncio.Future[Outcome | _Written],
        pool: Executor,
    ) -> None:
        pool.submit(self._begin_and_write, lambda: request, loop, box, pool)

    def _made_committed(
        self,
        made: list[_Begun],
        loop: asyncio.AbstractEventLoop,
        box: asyncio.Future[Outcome | _Written],
        pool: Executor,
        done: Future[WriteResult | None],
    ) -> None:
        """The writer's answer to a row made on its thread (or to the work that made none)."""
        if made:
            self._committed(made[0], loop, box, pool, done)
            return
        error = done.exception()  # None: the maker answered, or handed the request on
        if error is not None:
            loop.call_soon_threadsafe(_settle, box, None, error)

    def _committed(
        self,
        begun: _Begun,
        loop: asyncio.AbstractEventLoop,
        box: asyncio.Future[Outcome | _Written],
        pool: Executor,
        done: Future[WriteResult] | Future[WriteResult | None],
    ) -> None:
        """On the writer thread, after the commit: hand the result to the loop."""
        request, prepared, release = begun
        error = done.exception()
        result = None if error is not None else done.result()
        stored = result is not None and result.stored
        after = stored and bool(prepared.signals.events) and not self.velocity.transactional
        written = _Written(request, prepared, release, stored, error, after)
        if not written.records_after_commit:
            self.discard(prepared.signals)  # counted in the database now, or dropped
        loop.call_soon_threadsafe(self._settle_written, box, written, pool)

    def _settle_written(
        self, box: asyncio.Future[Outcome | _Written], written: _Written, pool: Executor
    ) -> None:
        """On the loop: hand the commit to the request waiting for it, or, when it stopped
        waiting (timed out, cancelled), finish in the pool what it would have done."""
        if not box.done():
            box.set_result(written)
        else:
            pool.submit(self._finish_abandoned, written)

    def _finish_abandoned(self, written: _Written) -> None:
        try:
            if written.records_after_commit:
                try:
                    self._record_velocity(written.prepared)
                finally:
                    self.discard(written.prepared.signals)
        finally:
            if written.release is not None:
                written.release()

    def _record_velocity(self, prepared: Prepared) -> None:
        self.velocity.record(prepared.signals.events, prepared.now_ms, prepared.row["id"])

    def _begin(self, build: Callable[[], DecisionRequest]) -> Outcome | _Begun:
        """The pool's part of :meth:`decide_async`: the request, its claim and its decision
        (or the whole blocking path when another request holds the key)."""
        request = build()
        key = request.idempotency_key
        if key is None:
            return request, self.prepare(request), None
        release = self._claims.try_hold((request.partner_id, key))
        if release is None:  # a concurrent retry: wait for the first, then replay it
            return self.decide(request)
        try:
            if "identity" in request.body:  # likely stored, and costly to redo
                replay = self.replay(request)
                if replay is not None:
                    release()
                    return replay
            return request, self.prepare(request), release
        except RuleplusError:
            try:
                replay = self.replay(request)
            finally:
                release()
            if replay is not None:
                return replay
            raise
        except BaseException:
            release()
            raise

    def replay(self, request: DecisionRequest) -> Outcome | None:
        """The stored answer for a retried request, if there is one."""
        assert request.idempotency_key is not None
        with self.database.session() as session:
            row = DecisionRepo(session).by_idempotency_key(
                request.partner_id, request.idempotency_key
            )
            if row is None:
                return None
            body = response_body(row)
        if row.request_digest != request.digest:
            raise ConflictError(
                "this Idempotency-Key was used with a different request (body, product or channel)",
                idempotency_key=request.idempotency_key,
            )
        return Outcome(
            body,
            replayed=True,
            decision_id=row.id,
            strategy_id=row.strategy_id,
            outcome=row.outcome,
            arm=row.arm,
        )

    def prepare(self, request: DecisionRequest, live: _Live | None = None) -> Prepared:
        """Everything up to persistence: the decision and the row that stores it.

        The velocity events it counted are pending (seen by concurrent requests) until
        :meth:`commit` (or :meth:`discard`) is called with the result. ``live`` is the
        request's deployment when the caller has it (else it is looked up).
        """
        started = time.perf_counter()
        if live is None:
            live = self.live(request.partner_id, request.product, request.channel)
        payload, facts, identity_summary = self._identity(request.body)
        application, problems = live.mapping.apply(payload) if live.mapping else (dict(payload), [])
        if facts:
            application.update(facts)
        slot = bucket(live.deployment.salt, application.get(live.deployment.split_key))
        arm, strategy, _ = next((a for a in live.arms if slot < a[2]), live.arms[0])
        signals = _Signals()
        now_ms = int(time.time() * 1000)
        # the compiled strategy validates on its fast path; the slow field-by-field check runs
        # only when the mapping already failed, or before signals (invalid ones are not counted)
        if problems or strategy.document.signals is not None:
            problems = problems + strategy.validate_record(application)
            if problems:
                raise InputValidationError(problems, strategy=strategy.id, version=strategy.version)
            signals = self._add_signals(strategy, request.partner_id, application, now_ms)
        try:
            decision = strategy.evaluate(application, trace=True)
            offer = decision_offer(
                strategy, application, decision.outputs, default_cap=self.rate_cap
            )
            shadows = [_shadow(s, application) for s in live.shadows]
            stored_request = (
                payload if identity_summary is None else {**payload, "identity": identity_summary}
            )
            # the JSON columns in one round trip: stored, hashed and answered alike
            columns = json_safe(
                {
                    "request": live.redactor.request(stored_request),
                    "application": live.redactor.application(application),
                    "outputs": decision.outputs,
                    "trace": [t.to_dict() for t in decision.trace or []],
                    "shadow": shadows,
                }
            )
            row = {
                "id": "d_" + _random_hex(),
                "partner_id": request.partner_id,
                "product": request.product,
                "channel": request.channel,
                "idempotency_key": request.idempotency_key,
                "request_digest": request.digest,
                "request": columns["request"],
                "application": columns["application"],
                "outcome": offer.outcome(
                    None if decision.decision is None else str(decision.decision)
                ),
                "outputs": offer.outputs(columns["outputs"], strategy.decision_field),
                "reasons": offer.reasons([r.to_dict() for r in decision.reasons]),
                "trace": columns["trace"],
                "shadow": columns["shadow"],
                "strategy_id": strategy.id,
                "strategy_version": strategy.version,
                "arm": arm,
                "latency_ms": (time.perf_counter() - started) * 1000,
                "application_id": _application_id(payload, application),
                "parameters": strategy.overrides or None,
                "offer": offer.body,  # money as decimal text; audited with the decision
            }
        except BaseException:
            self.discard(signals)
            raise
        live.took(row["latency_ms"] / 1000)
        return Prepared(row, signals, now_ms, started)

    def event_rows(self, prepared: Prepared) -> list[dict[str, Any]] | None:
        """The ``velocity_events`` rows the writer inserts with the decision (database store)."""
        if not (self.velocity.transactional and prepared.signals.events):
            return None
        return DatabaseVelocity.rows(prepared.signals.events, prepared.now_ms)

    def discard(self, signals: _Signals) -> None:
        """Forget the pending events of a decision that will not be committed."""
        if signals.pending:
            self._pending.remove(signals.pending)
            signals.pending = []

    def _decide(self, request: DecisionRequest) -> Outcome:
        prepared = self.prepare(request)
        row, signals = prepared.row, prepared.signals
        try:
            future = self.writer.submit(row, self.event_rows(prepared) or [])
            try:
                stored = future.result(self.commit_timeout_s).stored
            except FutureTimeout:
                raise ServiceUnavailableError(
                    "the decision could not be committed in time; retry with the same "
                    "Idempotency-Key"
                ) from None
            if stored and signals.events and not self.velocity.transactional:
                self.velocity.record(signals.events, prepared.now_ms, row["id"])
        finally:
            self.discard(signals)
        if not stored:  # an earlier or concurrent request (another process) holds the key
            replay = self.replay(request)
            if replay is None:  # pragma: no cover - the key's holder was deleted meanwhile
                raise ConflictError("this Idempotency-Key is taken")
            return replay
        return self._stored_outcome(prepared)

    @staticmethod
    def _stored_outcome(prepared: Prepared) -> Outcome:
        row = prepared.row
        return Outcome(
            response_body(row),
            decision_id=row["id"],
            strategy_id=row["strategy_id"],
            outcome=row["outcome"],
            arm=row["arm"],
            latency_s=time.perf_counter() - prepared.started,
        )

    def _identity(
        self, body: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]:
        """``(payload without the images, facts, stored summary)``."""
        if "identity" not in body:
            return body, None, None
        if self.identity is None:
            raise ServiceUnavailableError(
                "identity verification is not available in this deployment; "
                "install the face extra and run `ruleplus models install`"
            )
        facts, summary = self.identity(body["identity"])
        return {k: v for k, v in body.items() if k != "identity"}, facts, summary

    def _add_signals(
        self,
        strategy: CompiledStrategy,
        partner_id: str,
        application: dict[str, Any],
        now_ms: int,
    ) -> _Signals:
        signals = strategy.document.signals
        assert signals is not None
        out = _Signals()
        names: list[str] = []
        for counter in signals.velocity:
            value = application.get(counter.key)
            if value is None or value == "":
                application[counter.name] = 0
                continue
            out.events.append(
                (
                    scoped_counter(counter.scope, partner_id, counter.name),
                    value_digest(self.secret, counter.key, str(value)),
                    counter.window_seconds,
                )
            )
            names.append(counter.name)
        if out.events:
            out.pending = [(c, d) for c, d, _ in out.events]
            before = self._pending.add(out.pending)
            try:
                committed = self.velocity.count(out.events, now_ms)
            except BaseException:
                self._pending.remove(out.pending)
                raise
            for name, stored, pending in zip(names, committed, before, strict=True):
                application[name] = stored + pending + 1  # the current application counts
        if signals.lists:
            digests = self._list_digests()
            for entry in signals.lists:
                value = application.get(entry.key)
                scope = "global" if entry.scope == "global" else partner_id
                application[entry.name] = value is not None and value_digest(
                    self.secret, entry.list, str(value)
                ) in digests.get((scope, entry.list), set())
        return out


class _RandomIds:
    """128 random bits as hex, from the operating system's generator a page at a time: one
    system call per 256 decision ids instead of one each. The page is dropped in a forked
    child, which must never repeat its parent's ids."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._page = b""
        self._at = 0
        os.register_at_fork(after_in_child=self._drop)

    def _drop(self) -> None:
        self._lock = threading.Lock()
        self._page, self._at = b"", 0

    def __call__(self) -> str:
        with self._lock:
            if self._at >= len(self._page):
                self._page, self._at = os.urandom(4096), 0
            at = self._at
            self._at = at + 16
            return self._page[at : at + 16].hex()


_random_hex = _RandomIds()


def _settle(box: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    """On the loop: settle ``box`` unless its request stopped waiting."""
    if box.done():
        return
    if error is not None:
        box.set_exception(error)
    else:
        box.set_result(value)


def _expire(box: asyncio.Future[Any]) -> None:
    _settle(
        box,
        None,
        ServiceUnavailableError(
            "the decision could not be made and committed in time; retry with the same "
            "Idempotency-Key"
        ),
    )


def _application_id(payload: Mapping[str, Any], application: Mapping[str, Any]) -> str | None:
    """The partner's application id (outcomes are joined on it), when the request names one."""
    for source in (application, payload):
        for name in APPLICATION_ID_FIELDS:
            value = source.get(name)
            if isinstance(value, str | int) and not isinstance(value, bool):
                text = str(value)
                if 0 < len(text) <= 200:
                    return text
    return None


def _shadow(shadow: CompiledStrategy, application: dict[str, Any]) -> dict[str, Any]:
    try:
        result = shadow.evaluate(application)
    except Exception as exc:  # a shadow never affects the answer
        return {"version": shadow.version, "error": f"{type(exc).__name__}: {exc}"}
    return {
        "version": shadow.version,
        "decision": result.decision,
        "outputs": result.outputs,
        "reasons": [r.code for r in result.reasons],
    }


def response_body(row: DecisionRecord | dict[str, Any]) -> dict[str, Any]:
    """The partner-facing answer for a stored decision (no shadows, no trace)."""
    get = row.get if isinstance(row, dict) else (lambda k: getattr(row, k))
    created = get("created_at") if not isinstance(row, dict) else None
    return {
        "decision_id": get("id"),
        "decision": get("outcome"),
        "outputs": get("outputs"),
        "reasons": get("reasons"),
        "strategy": {"id": get("strategy_id"), "version": get("strategy_version")},
        "arm": get("arm"),
        "product": get("product"),
        "channel": get("channel"),
        **({"offer": get("offer")} if get("offer") is not None else {}),
        **({"created_at": created.isoformat()} if created is not None else {}),
    }
