"""The audit log: append-only entries chained by HMAC-SHA256, with a signed head.

Each entry has a position ``n`` (1, 2, 3… with no holes) and

``hash = HMAC(key, "entry" + canonical({n, prev, at, actor, action, entity, entity_id, payload}))``

where ``prev`` is the previous entry's hash (:data:`GENESIS` for the first) and the canonical form
is sorted-key compact JSON (time as UTC ISO-8601 with microseconds). The key is derived from the
server secret (:func:`derive_key`), so a database writer without the secret can neither alter an
entry nor recompute the chain after an edit. The single row of ``audit_head`` holds the entry
count and the last hash under their own HMAC; it moves in the same transaction as every append,
so cutting entries off the end of the chain is detected too. Appends are serialised by a process
lock and, on PostgreSQL, by a transaction-scoped advisory lock, so the chain never forks.

A decision's audit entry carries :func:`record_digest` of the whole stored row, and verification
(:func:`verify_log`) checks both ways: every decision row has its entry and matches it, and every
decision entry still has its row.

What a database writer *can* still do is put back an earlier copy of both the entries and the
head (a rollback to a backup, or a forged legacy chain that the next start re-signs, see
:func:`ensure_keyed`); that is detectable only against a head recorded outside the database
(``ruleplus audit head --json``, checked with ``ruleplus audit verify --expect-head``).

Entries written before keyed auditing are plain SHA-256 (``sha256(prev + canonical(entry))``,
``n`` NULL). :func:`ensure_keyed` converts such a chain once, after checking it, and records the
conversion as an audit entry of its own; a broken legacy chain is left as it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import threading
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Select, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from ruleplus.errors import ConfigError, RuleplusError
from ruleplus.store.canonical import FAST_PREFIX, canonical, canonical_digest, fast_digest
from ruleplus.store.tables import AuditEntry, AuditHead, DecisionRecord, utcnow

__all__ = [
    "DIGESTED",
    "GENESIS",
    "HEAD_ID",
    "PG_LOCKED_HEAD",
    "AuditBreak",
    "AuditError",
    "AuditReport",
    "ChainHead",
    "append",
    "canonical",
    "derive_key",
    "digest",
    "ensure_keyed",
    "entry_mac",
    "head_mac",
    "head_values",
    "read_head",
    "record_digest",
    "verify_chain",
    "verify_log",
]

log = logging.getLogger("ruleplus.audit")

GENESIS = "0" * 64
_LOCK = threading.Lock()
_ADVISORY_KEY = 0x52554C45  # "RULE"
_HEAD_ID = 1
_BATCH = 2000

_ENTRIES: Any = AuditEntry.__table__
_HEADS: Any = AuditHead.__table__
_DECISIONS: Any = DecisionRecord.__table__

DIGESTED = (
    "id",
    "partner_id",
    "product",
    "channel",
    "idempotency_key",
    "request_digest",
    "request",
    "application",
    "outcome",
    "outputs",
    "reasons",
    "trace",
    "shadow",
    "strategy_id",
    "strategy_version",
    "arm",
    "latency_ms",
    "created_at",
    "application_id",
    "parameters",
    "offer",
)
"""Every stored column of a decision: what its audit entry vouches for (the one list; a test
fails when a ``DecisionRecord`` column is missing from it). NULL columns are left out of the
digest, so a column added later (NULL in older rows) keeps the older rows' digests valid."""

# what a decision entry vouched for before keyed auditing (checked once, by the conversion)
_LEGACY_DIGESTED = (
    "id",
    "partner_id",
    "product",
    "channel",
    "idempotency_key",
    "request_digest",
    "application",
    "outcome",
    "outputs",
    "reasons",
    "strategy_id",
    "strategy_version",
    "arm",
)


class AuditError(RuleplusError):
    """The audit log cannot be appended to: its signed head is missing or does not verify, or it
    predates keyed auditing and was not converted. Run ``ruleplus audit verify``."""

    code = "audit_log_broken"
    http_status = 500


def derive_key(secret: bytes) -> bytes:
    """The audit chain's HMAC key, derived from the server secret (``Settings.server_secret()``).

    Parameters
    ----------
    secret : bytes
        The server secret.

    Returns
    -------
    bytes
        32 bytes, used for nothing but the audit chain.
    """
    return hmac.new(secret, b"ruleplus-audit-chain", hashlib.sha256).digest()


digest = canonical_digest
"""SHA-256 hex digest of the canonical JSON of ``value`` (see :mod:`ruleplus.store.canonical`)."""


def _time_text(at: dt.datetime) -> str:
    # SQLite gives back naive UTC, PostgreSQL aware datetimes: the same text for both
    if at.tzinfo is not None:
        at = at.astimezone(dt.UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def _getter(row: Any) -> Any:
    if isinstance(row, Mapping):
        return row.get
    return lambda k: getattr(row, k, None)


def record_digest(row: Any) -> str:
    """Digest of a stored decision (every column in :data:`DIGESTED`).

    Parameters
    ----------
    row : mapping or object
        The row as written (a dict with ``created_at`` set) or as read back (an ORM object or a
        Core row mapping). JSON columns must hold JSON round-trip values (``json_safe``).

    Returns
    -------
    str
        ``o1:`` and the SHA-256 hex of the fields in orjson's canonical form
        (:func:`ruleplus.store.canonical.fast_digest`); datetimes count as UTC ISO-8601 text
        with microseconds. Entries written earlier hold the bare hex of :func:`canonical`;
        :func:`record_matches` checks either.
    """
    return fast_digest(_digested_fields(row))


def _record_digest_v1(row: Any) -> str:
    """:func:`record_digest` as written before ``fast_digest`` (bare hex of ``canonical``)."""
    return digest(_digested_fields(row))


def _digested_fields(row: Any) -> dict[str, Any]:
    get = _getter(row)
    fields: dict[str, Any] = {}
    for name in DIGESTED:
        value = get(name)
        if value is None:
            continue
        fields[name] = _time_text(value) if isinstance(value, dt.datetime) else value
    return fields


def record_matches(row: Any, audited: Any) -> bool:
    """Whether ``row`` is the decision its entry's digest vouches for (either form)."""
    if not isinstance(audited, str):
        return False
    if audited.startswith(FAST_PREFIX):
        return hmac.compare_digest(record_digest(row), audited)
    return hmac.compare_digest(_record_digest_v1(row), audited)


def _legacy_record_digest(row: Any) -> str:
    get = _getter(row)
    return digest({k: get(k) for k in _LEGACY_DIGESTED})


def _check_key(key: Any) -> bytes:
    if not isinstance(key, bytes | bytearray) or not key:
        raise ConfigError(
            "the audit log needs its key (derive_key(Settings.server_secret())); open the database "
            "as Database(url, audit_key=...)",
            key="RULEPLUS_SECRET_KEY",
        )
    return bytes(key)


def entry_mac(
    key: bytes,
    n: int,
    prev_hash: str,
    at: dt.datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    payload: dict[str, Any],
) -> str:
    """HMAC-SHA256 (hex) of one entry at position ``n`` chained to ``prev_hash``."""
    body = canonical(
        {
            "n": n,
            "prev": prev_hash,
            "at": _time_text(at),
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "payload": payload,
        }
    )
    return hmac.new(key, b"entry\x00" + body.encode(), hashlib.sha256).hexdigest()


def head_mac(key: bytes, count: int, last_hash: str) -> str:
    """HMAC-SHA256 (hex) of the chain's head: its entry count and last hash."""
    body = canonical({"count": count, "last": last_hash})
    return hmac.new(key, b"head\x00" + body.encode(), hashlib.sha256).hexdigest()


def _legacy_hash(
    prev_hash: str,
    at: dt.datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    payload: dict[str, Any],
) -> str:
    body = canonical(
        {
            "at": _time_text(at),
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "payload": payload,
        }
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _dialect(session: Session | Connection) -> str:
    bind = session if isinstance(session, Connection) else session.get_bind()
    return bind.dialect.name


def _locked_head(
    session: Session | Connection | None,
    read: Callable[[], dict[str, Any] | None] | None = None,
) -> dict[str, Any] | None:
    """Take the chain lock and read the head (the caller releases ``_LOCK``; the database's
    locks end with the transaction).

    On PostgreSQL the head's row lock (``SELECT ... FOR UPDATE``, which waits for the holder's
    commit and then reads the head it wrote) serialises the appends of every process, in one
    round trip. ``read`` does that read where a writer folds it into a statement of its own
    (:data:`PG_LOCKED_HEAD`). Only while there is no head yet does the advisory lock
    serialise its creation, as it does for :func:`ensure_keyed`.
    """
    _LOCK.acquire()
    try:
        if session is None:  # a writer on a driver connection of its own
            assert read is not None, "ChainHead(None, ...) needs read="
            return read()
        if _dialect(session) != "postgresql":
            return read_head(session)  # SQLite: its single writer already serialises appends
        head = read() if read is not None else read_head(session, for_update=True)
        if head is None:
            _advisory_lock(session)
            head = read_head(session, for_update=True)
        return head
    except BaseException:
        _LOCK.release()
        raise


def _advisory_lock(session: Session | Connection) -> None:
    if isinstance(session, Connection):
        session.exec_driver_sql(_PG_LOCK, {"k": _ADVISORY_KEY})
    else:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})


def _lock(session: Session | Connection) -> None:
    """Take the chain lock for creating or converting the head (the caller releases
    ``_LOCK``; the advisory lock ends with the transaction)."""
    _LOCK.acquire()
    try:
        if _dialect(session) == "postgresql":
            _advisory_lock(session)
    except BaseException:
        _LOCK.release()
        raise


# the writer's statements on PostgreSQL, as the driver takes them: once per group commit, and
# SQLAlchemy's statement construction, caching and result wrapping cost more than the SQL
_PG_LOCK = "SELECT pg_advisory_xact_lock(%(k)s)"
_PG_READ_HEAD = "SELECT count, last_hash, mac FROM audit_head WHERE id = %(id)s"
PG_LOCKED_HEAD = "SELECT count, last_hash, mac FROM audit_head WHERE id = %(head_id)s FOR UPDATE"
"""The head, row-locked, as the driver takes it (``head_id``: :data:`HEAD_ID`): for a writer
that reads it in a statement of its own and passes ``read`` to :class:`ChainHead`."""
HEAD_ID = _HEAD_ID
_PG_WRITE_HEAD = (
    "UPDATE audit_head SET count = %(count)s, last_hash = %(last_hash)s, mac = %(mac)s "
    "WHERE id = %(id)s"
)


def read_head(session: Session | Connection, for_update: bool = False) -> dict[str, Any] | None:
    """The stored head (``count``, ``last_hash``, ``mac``), or None when there is none;
    ``for_update`` also row-locks it until the transaction ends (PostgreSQL)."""
    if isinstance(session, Connection) and _dialect(session) == "postgresql":
        sql = PG_LOCKED_HEAD if for_update else _PG_READ_HEAD
        row = session.exec_driver_sql(sql, {"id": _HEAD_ID, "head_id": _HEAD_ID}).first()
    else:
        query = select(_HEADS.c.count, _HEADS.c.last_hash, _HEADS.c.mac).where(
            _HEADS.c.id == _HEAD_ID
        )
        row = session.execute(query.with_for_update() if for_update else query).first()
    return head_values(row)


def head_values(row: Any) -> dict[str, Any] | None:
    """``(count, last_hash, mac)`` as read (any of them None: no head) as :func:`read_head`
    gives it."""
    if row is None or row[0] is None:
        return None
    count, last_hash, mac = row  # by position: ``Row.count`` is the tuple method
    return {"count": int(count), "last_hash": str(last_hash), "mac": str(mac)}


def _write_head(
    session: Session | Connection, key: bytes, count: int, last: str, exists: bool
) -> None:
    values = {"count": count, "last_hash": last, "mac": head_mac(key, count, last)}
    if exists and isinstance(session, Connection) and _dialect(session) == "postgresql":
        session.exec_driver_sql(_PG_WRITE_HEAD, {"id": _HEAD_ID, **values})
    elif exists:
        session.execute(update(_HEADS).where(_HEADS.c.id == _HEAD_ID).values(**values))
    else:
        session.execute(insert(_HEADS).values(id=_HEAD_ID, **values))


def _any_entry(session: Session | Connection, *where: Any) -> bool:
    return session.execute(select(_ENTRIES.c.seq).where(*where).limit(1)).first() is not None


class ChainHead:
    """Serialises appends, numbers and signs the entries, and moves the signed head.

    Use as a context manager; :meth:`commit` writes the head and commits the transaction (the
    head must move in the same transaction as the entries: leaving the block without it after
    adding entries is an error).

    Parameters
    ----------
    session : Session or Connection
        An ORM session, or a Core connection for writers that insert the entries themselves
        (see :meth:`values`).
    key : bytes
        The chain key (:func:`derive_key`; ``Database.audit_key``).
    read : callable, optional
        On PostgreSQL, reads the head row-locked (as :data:`PG_LOCKED_HEAD` does) in a
        statement of the caller's, such as the decision writer's insert: one round trip for
        both. Returns :func:`head_values` of what it read. With ``session`` None (a writer
        on a driver connection of its own, which inserts the entries and moves the head
        itself: :meth:`moved`) it must return a head or raise.

    Raises
    ------
    AuditError
        On entering, when the head is missing while entries exist, when it does not verify
        with ``key``, or when the log predates keyed auditing and was not converted.
    """

    def __init__(
        self,
        session: Session | Connection | None,
        key: bytes,
        read: Callable[[], dict[str, Any] | None] | None = None,
    ) -> None:
        self.session = session
        self.read = read
        self.key = _check_key(key)
        self.last: str | None = None
        self.count = 0
        self._saved = 0
        self._exists = False

    def __enter__(self) -> ChainHead:
        head = _locked_head(self.session, self.read)
        try:
            if head is None:
                if _any_entry(self._db):
                    keyed = _any_entry(self._db, _ENTRIES.c.n.is_not(None))
                    raise AuditError(
                        "the audit log has no signed head (it was deleted); appending would "
                        "hide what is missing"
                        if keyed
                        else "the audit log predates keyed auditing and was not converted "
                        "(its legacy chain is broken); see `ruleplus audit verify`"
                    )
                self.count, self.last = 0, GENESIS
            else:
                if not hmac.compare_digest(
                    head["mac"], head_mac(self.key, head["count"], head["last_hash"])
                ):
                    raise AuditError(
                        "the audit head does not verify with this server's key (another "
                        "RULEPLUS_SECRET_KEY or data directory, or the head was altered)"
                    )
                self.count, self.last, self._exists = head["count"], head["last_hash"], True
            self._saved = self.count
        except BaseException:
            _LOCK.release()
            raise
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        _LOCK.release()
        if exc_type is None and self.count != self._saved:
            raise RuntimeError("audit entries were added but the head was not saved (commit())")

    def add(
        self, actor: str, action: str, entity: str, entity_id: str, payload: dict[str, Any]
    ) -> AuditEntry:
        """Add one entry to the (ORM) session, chained to the previous one."""
        assert isinstance(self.session, Session), "add() needs an ORM session; use values()"
        entry = AuditEntry(**self.values(actor, action, entity, entity_id, payload))
        self.session.add(entry)
        return entry

    def values(
        self, actor: str, action: str, entity: str, entity_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """The columns of the next entry, chained to the previous one (the head moves on).

        The caller inserts the entries in this order, in this transaction, and must see them
        get ascending ``seq`` values (e.g. ``insert(...).returning(seq,
        sort_by_parameter_order=True)``), then calls :meth:`commit`.
        """
        assert self.last is not None, "use ChainHead as a context manager"
        at = utcnow()
        n = self.count + 1
        entry_hash = entry_mac(
            self.key, n, self.last, at, actor, action, entity, entity_id, payload
        )
        row = {
            "n": n,
            "at": at,
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "payload": payload,
            "prev_hash": self.last,
            "hash": entry_hash,
        }
        self.count, self.last = n, entry_hash
        return row

    def save(self) -> None:
        """Write the signed head for the entries added so far (one statement; none if none)."""
        assert self.last is not None, "use ChainHead as a context manager"
        if self.count != self._saved or not self._exists:
            _write_head(self._db, self.key, self.count, self.last, self._exists)
            self._saved, self._exists = self.count, True

    def moved(self) -> dict[str, Any] | None:
        """The values the stored head must get for the entries added so far (``id``,
        ``count``, ``last_hash``, ``mac``), for a caller that updates it in a statement of its
        own in this transaction; None when it need not move. Counts as saved. Needs a stored
        head (call :meth:`save` for a new log)."""
        assert self.last is not None, "use ChainHead as a context manager"
        assert self._exists, "a new log's head is inserted by save()"
        if self.count == self._saved:
            return None
        self._saved = self.count
        return {
            "id": _HEAD_ID,
            "count": self.count,
            "last_hash": self.last,
            "mac": head_mac(self.key, self.count, self.last),
        }

    @property
    def stored(self) -> bool:
        """Whether the head is stored (False only for a log whose first entries these are)."""
        return self._exists

    def commit(self) -> None:
        """:meth:`save`, then commit the transaction (while the chain is still locked)."""
        self.save()
        self._db.commit()

    @property
    def _db(self) -> Session | Connection:
        if self.session is None:
            raise RuntimeError("ChainHead(None, ...): the caller writes the entries and the head")
        return self.session


def append(
    session: Session,
    key: bytes,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    payload: dict[str, Any],
) -> AuditEntry:
    """Append one entry and commit ``session``'s transaction with it.

    The commit happens while the chain is locked, so no other writer can chain to the same
    predecessor (the process lock, and on PostgreSQL an advisory lock held until commit).

    Parameters
    ----------
    session : Session
        The transaction of the change being audited.
    key : bytes
        The chain key (``Database.audit_key``).
    actor, action, entity, entity_id : str
        Who did what to which object.
    payload : dict
        JSON details (never secrets).

    Returns
    -------
    AuditEntry
        The committed entry.
    """
    with ChainHead(session, key) as head:
        entry = head.add(actor, action, entity, entity_id, payload)
        head.commit()
    return entry


@dataclass(frozen=True)
class AuditBreak:
    """The first broken link of the chain (``seq`` None for a problem of the head)."""

    seq: int | None
    problem: str


@dataclass
class AuditReport:
    """What :func:`verify_log` found: ``ok``, entries checked, and the first problem."""

    ok: bool
    entries: int
    problem: str | None = None
    seq: int | None = None
    decision: str | None = None
    head: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """``{"ok", "entries"}`` plus, on failure, ``problem``, ``first_broken_seq``,
        ``decision``, ``head`` where they apply."""
        out: dict[str, Any] = {"ok": self.ok, "entries": self.entries}
        if self.seq is not None:
            out["first_broken_seq"] = self.seq
        if self.decision is not None:
            out["decision"] = self.decision
        if self.problem is not None:
            out["problem"] = self.problem
        if self.head is not None:
            out["head"] = {"count": self.head["count"], "last_hash": self.head["last_hash"]}
        return out


_ENTRY_COLUMNS = (
    _ENTRIES.c.seq,
    _ENTRIES.c.n,
    _ENTRIES.c.at,
    _ENTRIES.c.actor,
    _ENTRIES.c.action,
    _ENTRIES.c.entity,
    _ENTRIES.c.entity_id,
    _ENTRIES.c.payload,
    _ENTRIES.c.prev_hash,
    _ENTRIES.c.hash,
)


def _stream(session: Session | Connection, stmt: Select[Any]) -> Generator[Any, None, None]:
    """Rows of ``stmt`` a batch at a time (a server-side cursor on PostgreSQL, closed when the
    generator is)."""
    result = session.execute(stmt.execution_options(yield_per=_BATCH))
    try:
        yield from result
    finally:
        result.close()


def _entries(session: Session | Connection) -> Generator[Any, None, None]:
    return _stream(session, select(*_ENTRY_COLUMNS).order_by(_ENTRIES.c.seq))


def _ordered(session: Session | Connection, column: Any) -> Any:
    # the merge join compares ids in Python: the database must order them by code point
    return column.collate("C") if _dialect(session) == "postgresql" else column


def _decision_entries(session: Session | Connection) -> Generator[Any, None, None]:
    entity_id = _ordered(session, _ENTRIES.c.entity_id)
    return _stream(
        session,
        select(_ENTRIES.c.seq, _ENTRIES.c.entity_id, _ENTRIES.c.payload)
        .where(_ENTRIES.c.entity == "decision")
        .order_by(entity_id, _ENTRIES.c.seq),
    )


def _decisions(session: Session | Connection) -> Generator[Any, None, None]:
    return _stream(session, select(_DECISIONS).order_by(_ordered(session, _DECISIONS.c.id)))


def _pairs(session: Session | Connection) -> Generator[tuple[Any, Any], None, None]:
    """Decision entries and decision rows joined on the decision id, both streamed in id order:
    ``(entry, row)``, with None on the side that is missing."""
    with closing(_decision_entries(session)) as entries, closing(_decisions(session)) as rows:
        yield from _merge(entries, rows)


def _merge(entries: Iterator[Any], rows: Iterator[Any]) -> Iterator[tuple[Any, Any]]:
    entry, row = next(entries, None), next(rows, None)
    while entry is not None or row is not None:
        if entry is not None and (row is None or entry.entity_id < row.id):
            yield entry, None
            entry = next(entries, None)
        elif row is not None and (entry is None or row.id < entry.entity_id):
            yield None, row
            row = next(rows, None)
        else:
            yield entry, row
            entry, row = next(entries, None), next(rows, None)


def _check_decisions(
    session: Session | Connection, expected: Any, matches: Any
) -> AuditReport | None:
    """The first decision problem: a row without its entry, an entry without its row (the row
    was deleted), or a row that does not match its entry's digest."""
    with closing(_pairs(session)) as pairs:
        return _first_decision_problem(pairs, expected, matches)


def _first_decision_problem(
    pairs: Iterator[tuple[Any, Any]], expected: Any, matches: Any
) -> AuditReport | None:
    seen: str | None = None
    for entry, row in pairs:
        if row is None:
            if entry.entity_id == seen:
                return AuditReport(
                    False,
                    0,
                    f"decision {entry.entity_id} has more than one audit entry",
                    entry.seq,
                    entry.entity_id,
                )
            if "rekey_record" in entry.payload and entry.payload["rekey_record"] is None:
                continue  # deleted before the conversion, accepted then (its entry says so)
            return AuditReport(
                False,
                0,
                f"decision {entry.entity_id} was deleted (its audit entry remains)",
                entry.seq,
                entry.entity_id,
            )
        if entry is None:
            return AuditReport(False, 0, "decision has no audit entry", None, row.id)
        seen = row.id
        if not matches(row._mapping, expected(entry.payload)):
            return AuditReport(
                False,
                0,
                "decision row does not match its audited digest (the row was altered)",
                entry.seq,
                row.id,
            )
    return None


def _keyed_record(payload: dict[str, Any]) -> Any:
    return payload["rekey_record"] if "rekey_record" in payload else payload.get("record")


def _verify_legacy(session: Session | Connection) -> AuditReport:
    """Check a chain from before keyed auditing (plain SHA-256) and its decisions."""
    with closing(_entries(session)) as entries:
        report = _legacy_links(entries)
    if not report.ok:
        return report
    problem = _check_decisions(
        session, lambda p: p.get("record"), lambda row, want: _legacy_record_digest(row) == want
    )
    if problem is not None:
        problem.entries = report.entries
        return problem
    return report


def _legacy_links(entries: Iterator[Any]) -> AuditReport:
    prev, count = GENESIS, 0
    for e in entries:
        count += 1
        if e.n is not None:
            return AuditReport(
                False, count, "a keyed entry follows legacy entries (the head was deleted?)", e.seq
            )
        if e.prev_hash != prev:
            return AuditReport(
                False,
                count,
                "prev_hash does not match the previous entry (a row was removed or reordered)",
                e.seq,
            )
        if e.hash != _legacy_hash(prev, e.at, e.actor, e.action, e.entity, e.entity_id, e.payload):
            return AuditReport(
                False, count, "content does not match its hash (the row was altered)", e.seq
            )
        prev = e.hash
    return AuditReport(True, count)


def verify_chain(session: Session | Connection, key: bytes) -> tuple[int, AuditBreak | None]:
    """Check every entry's position, link and MAC, and the signed head.

    Returns
    -------
    tuple
        ``(entries checked, first break or None)``.
    """
    report = _verify_entries(session, _check_key(key), None)
    if report.ok:
        return report.entries, None
    return report.entries, AuditBreak(report.seq, report.problem or "")


@dataclass
class _Walk:
    """Where a walk along the chain got to."""

    count: int = 0
    last: str = GENESIS
    anchored: str | None = None
    problem: AuditReport | None = None
    legacy: bool = False


def _walk(entries: Iterator[Any], key: bytes, anchor_at: int | None, headless: bool) -> _Walk:
    walk = _Walk(anchored=GENESIS if anchor_at == 0 else None)
    for e in entries:
        walk.count += 1
        count, prev = walk.count, walk.last
        if e.n is None:
            if count == 1 and headless:
                walk.legacy = True
            else:
                walk.problem = AuditReport(
                    False, count, "entry has no chain position (it is not keyed)", e.seq
                )
            return walk
        if e.n != count:
            if e.n == count + 1:
                problem = f"entry {count} of the chain is missing (deleted)"
            elif e.n > count:
                problem = f"entries {count} to {e.n - 1} of the chain are missing (deleted)"
            else:
                problem = f"entry claims position {e.n} but is number {count} (copied or reordered)"
            walk.problem = AuditReport(False, count, problem, e.seq)
            return walk
        if e.prev_hash != prev:
            walk.problem = AuditReport(
                False,
                count,
                "prev_hash does not match the previous entry (a row was removed or reordered)",
                e.seq,
            )
            return walk
        mac = entry_mac(key, e.n, prev, e.at, e.actor, e.action, e.entity, e.entity_id, e.payload)
        if not hmac.compare_digest(mac, e.hash):
            walk.problem = AuditReport(
                False,
                count,
                "content does not match its MAC (the row was altered, or signed with another key)",
                e.seq,
            )
            return walk
        walk.last = e.hash
        if e.n == anchor_at:
            walk.anchored = e.hash
    return walk


def _verify_entries(
    session: Session | Connection, key: bytes, expect: dict[str, Any] | None
) -> AuditReport:
    head = read_head(session)
    anchor_at = None if expect is None else int(expect["count"])
    with closing(_entries(session)) as entries:
        walk = _walk(entries, key, anchor_at, head is None)
    if walk.legacy:
        legacy = _verify_legacy(session)
        if legacy.ok:
            legacy.ok = False
            legacy.problem = (
                "the audit log predates keyed auditing and was not converted (open it "
                "with the service or the CLI, which re-sign an intact legacy chain)"
            )
        return legacy
    if walk.problem is not None:
        return walk.problem
    count, prev, anchored = walk.count, walk.last, walk.anchored
    if head is None:
        if count:
            return AuditReport(False, count, "the signed audit head is missing (it was deleted)")
    else:
        if not hmac.compare_digest(head["mac"], head_mac(key, head["count"], head["last_hash"])):
            return AuditReport(
                False,
                count,
                "the audit head's MAC is wrong (the head was altered, or signed with another key)",
                head=head,
            )
        if head["count"] > count:
            cut = head["count"] - count
            return AuditReport(
                False,
                count,
                f"the chain ends at entry {count} but the signed head says {head['count']} "
                f"(the last {cut} {'entry was' if cut == 1 else 'entries were'} cut off)",
                head=head,
            )
        if head["count"] < count:
            return AuditReport(
                False,
                count,
                f"the chain has {count - head['count']} entries after its signed head (written "
                "outside the chain, or the head was put back)",
                head=head,
            )
        if head["last_hash"] != prev:
            return AuditReport(
                False, count, "the last entry does not match the signed head", head=head
            )
    if expect is not None:
        want = int(expect["count"])
        if "mac" in expect and not hmac.compare_digest(
            str(expect["mac"]), head_mac(key, want, str(expect["last_hash"]))
        ):
            return AuditReport(
                False, count, "the expected head's MAC is wrong (not signed with this key)"
            )
        if count < want:
            return AuditReport(
                False,
                count,
                f"the chain has {count} entries, fewer than the {want} of the expected head "
                "(rolled back or cut off)",
            )
        if anchored != expect["last_hash"]:
            return AuditReport(
                False,
                count,
                f"entry {want} differs from the expected head (the chain was rewritten or "
                "rolled back)",
            )
    return AuditReport(True, count)


def verify_log(
    session: Session | Connection, key: bytes, expect_head: dict[str, Any] | None = None
) -> AuditReport:
    """Verify the chain, its signed head, and every decision against its entry, streaming.

    Run it in one snapshot (a REPEATABLE READ transaction on PostgreSQL) so that decisions
    written meanwhile do not look like problems.

    Parameters
    ----------
    session : Session or Connection
        Where to read.
    key : bytes
        The chain key.
    expect_head : dict, optional
        A head recorded earlier outside the database (``count``, ``last_hash``, and ``mac``):
        the chain must still contain it.

    Returns
    -------
    AuditReport
        ``ok`` and the number of entries, or the first problem.
    """
    report = _verify_entries(session, _check_key(key), expect_head)
    if not report.ok:
        return report
    problem = _check_decisions(session, _keyed_record, record_matches)
    if problem is not None:
        problem.entries = report.entries
        return problem
    return report


def ensure_keyed(session: Session | Connection, key: bytes, *, accept_broken: bool = False) -> str:
    """Make the log keyed: create the head of a new log, or convert a legacy (SHA-256) one.

    A legacy chain is checked first (links, hashes, and its decisions both ways); only an
    intact one is re-signed, in one transaction: every entry gets its position and MAC, every
    decision entry also the digest of its whole row as it is now (``rekey_record``: before, an
    entry covered only some of the columns), and one more entry records the conversion. A
    keyed log is left alone (the head's MAC is checked). Idempotent; concurrent callers take
    turns under the chain lock.

    Parameters
    ----------
    session : Session or Connection
        Where the log is; this function commits (or rolls back) its transaction.
    key : bytes
        The chain key.
    accept_broken : bool, default=False
        Re-sign a broken legacy chain anyway (an operator's decision, after ``audit verify``):
        the break is recorded in the conversion's entry.

    Returns
    -------
    str
        ``keyed`` (nothing to do), ``created`` (new log), ``rekeyed`` (converted),
        ``legacy-broken`` (not converted), ``no-head`` (keyed entries but no head: left for
        ``verify``) or ``bad-head`` (the head does not verify with ``key``).
    """
    key = _check_key(key)
    _lock(session)
    try:
        status = _ensure_keyed(session, key, accept_broken)
        if status in ("created", "rekeyed"):
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        _LOCK.release()
    if status in ("legacy-broken", "no-head", "bad-head"):
        log.error("audit log: %s (see `ruleplus audit verify`)", status)
    elif status == "rekeyed":
        log.warning("audit log: legacy SHA-256 chain re-signed with the server key")
    return status


def _ensure_keyed(session: Session | Connection, key: bytes, accept_broken: bool) -> str:
    head = read_head(session)
    if head is not None:
        ok = hmac.compare_digest(head["mac"], head_mac(key, head["count"], head["last_hash"]))
        return "keyed" if ok else "bad-head"
    if _any_entry(session, _ENTRIES.c.n.is_not(None)):
        return "no-head"
    if not _any_entry(session):
        _write_head(session, key, 0, GENESIS, exists=False)
        return "created"
    legacy = _verify_legacy(session)
    if not legacy.ok and not accept_broken:
        log.error("legacy audit chain is broken at seq %s: %s", legacy.seq, legacy.problem)
        return "legacy-broken"
    count, last, legacy_last, pinned = _resign(session, key)
    conversion: dict[str, Any] = {
        "legacy_entries": count,
        "legacy_last_hash": legacy_last,
        "decisions_pinned": pinned,
    }
    if not legacy.ok:
        conversion["legacy_break"] = {"seq": legacy.seq, "problem": legacy.problem}
    n, at = count + 1, utcnow()
    args = ("system", "rekey", "audit", "audit_log", conversion)
    entry_hash = entry_mac(key, n, last, at, *args)
    session.execute(
        insert(_ENTRIES).values(
            n=n,
            at=at,
            actor="system",
            action="rekey",
            entity="audit",
            entity_id="audit_log",
            payload=conversion,
            prev_hash=last,
            hash=entry_hash,
        )
    )
    _write_head(session, key, n, entry_hash, exists=False)
    return "rekeyed"


def _resign(session: Session | Connection, key: bytes) -> tuple[int, str, str, int]:
    """Give every legacy entry its position and MAC, in batches (keyset on ``seq``: the rows
    are updated as they are read). Returns (entries, last MAC, last legacy hash, decisions
    pinned)."""
    new_update = (
        update(_ENTRIES)
        .where(_ENTRIES.c.seq == bindparam("_seq"))
        .values(
            n=bindparam("_n"),
            prev_hash=bindparam("_prev"),
            hash=bindparam("_hash"),
            payload=bindparam("_payload", type_=_ENTRIES.c.payload.type),
        )
    )
    count, prev, legacy_last, pinned, after = 0, GENESIS, GENESIS, 0, 0
    while True:
        batch = session.execute(
            select(*_ENTRY_COLUMNS)
            .where(_ENTRIES.c.seq > after, _ENTRIES.c.n.is_(None))
            .order_by(_ENTRIES.c.seq)
            .limit(_BATCH)
        ).all()
        if not batch:
            return count, prev, legacy_last, pinned
        ids = [e.entity_id for e in batch if e.entity == "decision"]
        rows = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            found = session.execute(select(_DECISIONS).where(_DECISIONS.c.id.in_(chunk)))
            rows.update({r.id: record_digest(r._mapping) for r in found})
        params = []
        for e in batch:
            count += 1
            payload = dict(e.payload)
            if e.entity == "decision":
                payload["rekey_record"] = rows.get(e.entity_id)
                pinned += e.entity_id in rows
            entry_hash = entry_mac(
                key, count, prev, e.at, e.actor, e.action, e.entity, e.entity_id, payload
            )
            params.append(
                {
                    "_seq": e.seq,
                    "_n": count,
                    "_prev": prev,
                    "_hash": entry_hash,
                    "_payload": payload,
                }
            )
            prev, legacy_last, after = entry_hash, e.hash, e.seq
        session.execute(new_update, params)
