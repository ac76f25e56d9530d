"""The online decision flow for one application.

map the partner's fields -> idempotency -> validate (every bad field at once) -> fraud signals
(velocity, watch lists) -> champion / challenger / shadows -> persist with its audit entry ->
answer. Strategies, deployments, mappings and lists are cached and refreshed on change.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ruleplus.decision import CompiledStrategy, compile_strategy
from ruleplus.decision.nodes.routing import bucket
from ruleplus.errors import (
    ConflictError,
    DataError,
    FieldProblem,
    InputValidationError,
    NotFoundError,
)
from ruleplus.fraud.velocity import VelocityStore
from ruleplus.mapping import FieldMapping
from ruleplus.runtime.writer import DecisionWriter
from ruleplus.store import Database
from ruleplus.store.models import DecisionRecord, Deployment
from ruleplus.store.repos import DecisionRepo, DeploymentRepo, ListRepo, MappingRepo, StrategyRepo
from ruleplus.store.secrets import value_digest

__all__ = ["DecisionService", "Outcome", "json_safe"]


def json_safe(value: Any) -> Any:
    """A JSON round trip (dates become ISO text), so stored and hashed forms agree."""
    return json.loads(json.dumps(value, default=str))


@dataclass
class Outcome:
    """What the service answers (and whether it was replayed from an earlier request)."""

    body: dict[str, Any]
    replayed: bool = False
    strategy_id: str = ""
    latency_s: float = 0.0
    arm: str = "champion"


@dataclass
class _Live:
    deployment: Deployment
    arms: list[
        tuple[str, CompiledStrategy, int]
    ]  # (arm name, strategy, upper bucket), champion first
    shadows: list[CompiledStrategy]
    mapping: FieldMapping | None
    records_events: bool = False  # an arm counts velocity events: deciding has a side effect
    loaded_at: float = field(default_factory=time.monotonic)


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
    """

    def __init__(
        self,
        database: Database,
        writer: DecisionWriter,
        velocity: VelocityStore,
        secret: bytes,
        cache_ttl_s: float = 2.0,
    ) -> None:
        self.database = database
        self.writer = writer
        self.velocity = velocity
        self.secret = secret
        self.cache_ttl_s = cache_ttl_s
        self._strategies: dict[tuple[str, str], CompiledStrategy] = {}
        self._live: dict[tuple[str, str, str], _Live] = {}
        self._lists: tuple[float, dict[str, set[str]]] = (0.0, {})

    # caches ------------------------------------------------------------------------------------
    def invalidate(self) -> None:
        """Forget deployments, mappings and lists (after a management change)."""
        self._live.clear()
        self._lists = (0.0, {})

    def strategy(self, strategy_id: str, version: str) -> CompiledStrategy:
        """A compiled strategy version (compiled once, kept)."""
        key = (strategy_id, version)
        compiled = self._strategies.get(key)
        if compiled is None:
            with self.database.session() as session:
                row = StrategyRepo(session).get(strategy_id, version)
                document = row.document
            compiled = compile_strategy(document, name=f"{strategy_id}@{version}")
            self._strategies[key] = compiled
        return compiled

    def _live_for(self, partner_id: str, product: str, channel: str) -> _Live:
        key = (partner_id, product, channel)
        live = self._live.get(key)
        if live is not None and time.monotonic() - live.loaded_at < self.cache_ttl_s:
            return live
        with self.database.session() as session:
            deployment = DeploymentRepo(session).live(partner_id, product, channel)
            if deployment is None:
                raise NotFoundError(
                    f"no strategy is deployed for product {product!r}",
                    product=product,
                    channel=channel,
                )
            mapping_row = MappingRepo(session).latest(partner_id, product)
            mapping_doc = mapping_row.document if mapping_row else None
        # buckets [0, 10000): the champion first, then each challenger's share (percent -> buckets)
        arms: list[tuple[str, CompiledStrategy, int]] = []
        upper = 10_000 - sum(round(100 * float(c["share"])) for c in deployment.challengers)
        arms.append(("champion", self.strategy(deployment.strategy_id, deployment.champion), upper))
        for c in deployment.challengers:
            upper += round(100 * float(c["share"]))
            arms.append(
                (
                    f"challenger:{c['version']}",
                    self.strategy(deployment.strategy_id, c["version"]),
                    upper,
                )
            )
        live = _Live(
            deployment,
            arms,
            [self.strategy(deployment.strategy_id, v) for v in deployment.shadows],
            FieldMapping(mapping_doc) if mapping_doc else None,
            any(_counts_velocity(strategy) for _, strategy, _ in arms),
        )
        self._live[key] = live
        return live

    def _list_digests(self) -> dict[str, set[str]]:
        loaded, digests = self._lists
        if time.monotonic() - loaded > self.cache_ttl_s:
            with self.database.session() as session:
                digests = ListRepo(session, self.secret).digests()
            self._lists = (time.monotonic(), digests)
        return digests

    def records_events(self, partner_id: str, product: str, channel: str) -> bool:
        """Whether deciding for this binding records velocity events. Then a retry must be
        answered from the store *before* deciding again (or it would count twice); otherwise
        the unique idempotency key on insert is the check, and no read is needed up front."""
        return self._live_for(partner_id, product, channel).records_events

    # the flow ----------------------------------------------------------------------------------
    def replay(self, partner_id: str, idempotency_key: str, request_digest: str) -> Outcome | None:
        """The stored answer for a retried request, if there is one."""
        with self.database.session() as session:
            row = DecisionRepo(session).by_idempotency_key(partner_id, idempotency_key)
        if row is None:
            return None
        if row.request_digest != request_digest:
            raise ConflictError(
                "this Idempotency-Key was used with a different request body",
                idempotency_key=idempotency_key,
            )
        return Outcome(response_body(row), replayed=True, strategy_id=row.strategy_id, arm=row.arm)

    def prepare(
        self,
        partner_id: str,
        product: str,
        channel: str,
        payload: dict[str, Any],
        idempotency_key: str | None,
        facts: dict[str, Any] | None = None,
        stored_request: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], Any]:
        """Everything up to persistence: returns the row to store and the decision.

        ``facts`` (e.g. identity verification results) are added to the mapped application;
        ``stored_request`` replaces the payload in the stored row (images are never stored).
        """
        started = time.perf_counter()
        live = self._live_for(partner_id, product, channel)
        application, problems = live.mapping.apply(payload) if live.mapping else (dict(payload), [])
        if facts:
            application.update(facts)
        split_value = application.get(live.deployment.split_key)
        slot = bucket(live.deployment.salt, split_value)
        arm, strategy, _ = next((a for a in live.arms if slot < a[2]), live.arms[0])
        # the compiled strategy validates on its fast path; the slow field-by-field check runs
        # only when the mapping already failed, or before signals (invalid ones are not counted)
        if problems or strategy.document.signals is not None:
            problems = problems + strategy.validate_record(application)
            if problems:
                raise InputValidationError(problems, strategy=strategy.id, version=strategy.version)
            self._add_signals(strategy, application)
        decision = strategy.evaluate(application, trace=True)
        shadows = []
        for shadow in live.shadows:
            try:
                result = shadow.evaluate(application)
                shadows.append(
                    {
                        "version": shadow.version,
                        "decision": result.decision,
                        "outputs": result.outputs,
                        "reasons": [r.code for r in result.reasons],
                    }
                )
            except Exception as exc:  # a shadow never affects the answer
                shadows.append({"version": shadow.version, "error": f"{type(exc).__name__}: {exc}"})
        body_digest = request_digest(payload)
        row = {
            "id": "d_" + uuid.uuid4().hex,
            "partner_id": partner_id,
            "product": product,
            "channel": channel,
            "idempotency_key": idempotency_key,
            "request_digest": body_digest,
            "request": json_safe(payload if stored_request is None else stored_request),
            "application": json_safe(application),
            "outcome": None if decision.decision is None else str(decision.decision),
            "outputs": json_safe(decision.outputs),
            "reasons": [r.to_dict() for r in decision.reasons],
            "trace": json_safe([t.to_dict() for t in decision.trace or []]),
            "shadow": json_safe(shadows),
            "strategy_id": strategy.id,
            "strategy_version": strategy.version,
            "arm": arm,
            "latency_ms": (time.perf_counter() - started) * 1000,
        }
        return row, decision

    def _add_signals(self, strategy: CompiledStrategy, application: dict[str, Any]) -> None:
        signals = getattr(strategy.document, "signals", None)
        if signals is None:
            return
        events: list[tuple[str, str, int]] = []
        names: list[str] = []
        for counter in signals.velocity:
            value = application.get(counter.key)
            if value is None or value == "":
                application[counter.name] = 0
                continue
            events.append(
                (
                    counter.name,
                    value_digest(self.secret, counter.key, str(value)),
                    counter.window_seconds,
                )
            )
            names.append(counter.name)
        if events:
            for name, count in zip(names, self.velocity.hit(events), strict=True):
                application[name] = count
        if signals.lists:
            digests = self._list_digests()
            for entry in signals.lists:
                value = application.get(entry.key)
                application[entry.name] = value is not None and value_digest(
                    self.secret, entry.list, str(value)
                ) in digests.get(entry.list, set())


def _counts_velocity(strategy: CompiledStrategy) -> bool:
    signals = getattr(strategy.document, "signals", None)
    return bool(signals is not None and signals.velocity)


def request_digest(payload: Any) -> str:
    """Digest of a request body (to tell a retry from a different request with the same key).

    Raises :class:`DataError` for NaN or Infinity: Python's JSON parser accepts them, but they
    are not JSON, and PostgreSQL refuses to store them.
    """
    try:
        text = json.dumps(
            payload, sort_keys=True, separators=(",", ":"), default=str, allow_nan=False
        )
    except ValueError:
        raise DataError("numbers must be finite: NaN and Infinity are not JSON") from None
    return hashlib.sha256(text.encode()).hexdigest()


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
        **({"created_at": created.isoformat()} if created is not None else {}),
    }


def problem_fields(problems: list[FieldProblem]) -> list[dict[str, str]]:
    """JSON form of field problems."""
    return [{"field": p.field, "problem": p.problem} for p in problems]
