"""Console users, roles and login sessions; every change is audited with the user's name.

In the style of :mod:`ruleplus.serving.admin`: each action opens one transaction, changes the
rows and appends one audit entry in it, and is shared by the HTTP console and the CLI.

Passwords are hashed with argon2id (memory-hard, :mod:`argon2`); session and CSRF tokens are
256-bit random values of which only SHA-256 digests are stored (the token itself is the secret,
so no slow hash is needed). Repeated failed logins lock the account for a while.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ruleplus.errors import (
    AuthenticationError,
    ConflictError,
    DataError,
    NotFoundError,
    RuleplusError,
)
from ruleplus.store import Database
from ruleplus.store.audit import append
from ruleplus.store.repos import new_id
from ruleplus.store.tables import ConsoleSession, ConsoleUser, utcnow

__all__ = [
    "DEMO_USERS",
    "LOCK_AFTER",
    "LOCK_FOR",
    "ROLES",
    "SESSION_TTL",
    "ConsoleIdentity",
    "Login",
    "PermissionDeniedError",
    "check_csrf",
    "create_user",
    "disable_user",
    "list_users",
    "login",
    "logout",
    "may",
    "require",
    "reset_password",
    "rotate_csrf",
    "seed_demo_users",
    "session_identity",
    "set_role",
    "unlock_user",
]

ROLES = ("viewer", "analyst", "approver", "admin")
"""Console roles, least to most trusted."""

_PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    # drafting and simulating: analysts (approvers may draft too, never approve their own)
    "draft": frozenset({"analyst", "approver", "admin"}),
    # approving: publishing a version, deploying, rolling back
    "approve": frozenset({"approver", "admin"}),
    # users, partners, keys, mappings
    "admin": frozenset({"admin"}),
}

LOCK_AFTER = 5
"""Failed logins in a row that lock an account."""
LOCK_FOR = dt.timedelta(minutes=15)
"""How long a locked account stays locked."""
SESSION_TTL = dt.timedelta(hours=12)
"""How long a console session lives."""

_NAME = re.compile(r"^[\w.@-]{2,40}$")
# actors the service already writes in the audit log: a user must not pass for one of them
_RESERVED = frozenset({"admin", "cli", "demo", "system", "anonymous"})
_MIN_PASSWORD = 10
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("ruleplus-dummy-password")


class PermissionDeniedError(RuleplusError):
    """The signed-in user's role does not allow the action, or the CSRF token is wrong."""

    http_status = 403
    problem_type = "forbidden"
    title = "Forbidden"


@dataclass(frozen=True)
class ConsoleIdentity:
    """Who a console request comes from (resolved from the session cookie).

    Parameters
    ----------
    user_id, name, role : str
        The user.
    session_id : str
        The session's id (the digest of its cookie token).
    csrf_digest : str
        SHA-256 of the session's CSRF token.
    """

    user_id: str
    name: str
    role: str
    session_id: str
    csrf_digest: str

    def to_dict(self) -> dict[str, Any]:
        """What the console may know about its user."""
        return {
            "name": self.name,
            "role": self.role,
            "permissions": sorted(p for p, roles in _PERMISSIONS.items() if self.role in roles),
        }


@dataclass(frozen=True)
class Login:
    """A new session: the cookie token and CSRF token (shown once) and the user."""

    token: str
    csrf: str
    identity: ConsoleIdentity
    expires_at: dt.datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns: they were stored as UTC
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def may(role: str, permission: str) -> bool:
    """Whether ``role`` has ``permission`` (``read``, ``draft``, ``approve``, ``admin``)."""
    return role in _PERMISSIONS.get(permission, frozenset())


def require(identity: ConsoleIdentity, permission: str) -> None:
    """Raise :class:`PermissionDeniedError` unless the identity's role allows ``permission``."""
    if not may(identity.role, permission):
        raise PermissionDeniedError(
            f"the {identity.role} role may not {permission}; ask an administrator",
            action=permission,
        )


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise DataError("a user name is 2-40 letters, digits, '.', '_', '@' or '-'", field="name")
    if name.lower() in _RESERVED:
        raise DataError(
            f"{name!r} is reserved for the service's own audit entries; choose another name",
            field="name",
        )
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise DataError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}", field="role")
    return role


def _check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < _MIN_PASSWORD:
        raise DataError(f"a password has at least {_MIN_PASSWORD} characters", field="password")
    if len(password) > 1024:
        raise DataError("a password has at most 1024 characters", field="password")
    return password


def _user(session: Session, name: str) -> ConsoleUser:
    row = session.execute(select(ConsoleUser).where(ConsoleUser.name == name)).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"no console user {name!r}", field="name")
    return row


def _info(row: ConsoleUser) -> dict[str, Any]:
    locked = _aware(row.locked_until)
    created = _aware(row.created_at)
    return {
        "name": row.name,
        "role": row.role,
        "status": row.status,
        "failed_logins": row.failed_logins,
        "locked_until": locked.isoformat() if locked and locked > utcnow() else None,
        "created_at": created.isoformat() if created else None,
    }


def create_user(
    db: Database, name: str, role: str, password: str, actor: str = "admin"
) -> dict[str, Any]:
    """Create a console user (the password is stored only as an argon2 hash).

    Raises
    ------
    DataError
        A bad name, role or a short password.
    ConflictError
        The name is taken.
    """
    _check_name(name)
    _check_role(role)
    hashed = _HASHER.hash(_check_password(password))
    with db.session() as session:
        taken = session.execute(
            select(ConsoleUser.id).where(ConsoleUser.name == name)
        ).scalar_one_or_none()
        if taken is not None:
            raise ConflictError(f"console user {name!r} exists", field="name")
        row = ConsoleUser(
            id=new_id("u"), name=name, role=role, password_hash=hashed, failed_logins=0
        )
        session.add(row)
        session.flush()
        append(session, db.audit_key, actor, "create", "console-user", name, {"role": role})
        return _info(row)


def list_users(db: Database) -> list[dict[str, Any]]:
    """Every console user (no hashes)."""
    with db.session() as session:
        rows = session.execute(select(ConsoleUser).order_by(ConsoleUser.name)).scalars()
        return [_info(r) for r in rows]


def _revoke_sessions(session: Session, user_id: str) -> None:
    session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.user_id == user_id, ConsoleSession.revoked.is_(False))
        .values(revoked=True)
    )


def set_role(db: Database, name: str, role: str, actor: str = "admin") -> dict[str, Any]:
    """Change a user's role (their sessions end: the next request signs in again)."""
    _check_role(role)
    with db.session() as session:
        row = _user(session, name)
        old = row.role
        row.role = role
        _revoke_sessions(session, row.id)
        append(
            session,
            db.audit_key,
            actor,
            "set-role",
            "console-user",
            name,
            {"from": old, "to": role},
        )
        return _info(row)


def disable_user(db: Database, name: str, actor: str = "admin") -> dict[str, Any]:
    """Disable a user and end their sessions."""
    with db.session() as session:
        row = _user(session, name)
        row.status = "disabled"
        _revoke_sessions(session, row.id)
        append(session, db.audit_key, actor, "disable", "console-user", name, {})
        return _info(row)


def unlock_user(db: Database, name: str, actor: str = "admin") -> dict[str, Any]:
    """Lift a lock-out (and re-enable a disabled user)."""
    with db.session() as session:
        row = _user(session, name)
        row.failed_logins = 0
        row.locked_until = None
        row.status = "active"
        append(session, db.audit_key, actor, "unlock", "console-user", name, {})
        return _info(row)


def reset_password(db: Database, name: str, password: str, actor: str = "admin") -> dict[str, Any]:
    """Set a new password; the user's sessions end."""
    hashed = _HASHER.hash(_check_password(password))
    with db.session() as session:
        row = _user(session, name)
        row.password_hash = hashed
        _revoke_sessions(session, row.id)
        append(session, db.audit_key, actor, "reset-password", "console-user", name, {})
        return _info(row)


def login(db: Database, name: str, password: str, now: dt.datetime | None = None) -> Login:
    """Check a password and open a session.

    A wrong password counts a failure; :data:`LOCK_AFTER` in a row lock the account for
    :data:`LOCK_FOR` (a locked account refuses even the right password). Unknown names cost
    the same hash check as known ones, and every refusal reads the same.

    Raises
    ------
    AuthenticationError
        Unknown user, wrong password, disabled or locked account.
    """
    now = now or utcnow()
    refused = AuthenticationError("wrong user name or password")
    if not isinstance(name, str) or not isinstance(password, str) or len(password) > 1024:
        raise refused
    with db.session() as session:
        row = session.execute(
            select(ConsoleUser).where(ConsoleUser.name == name)
        ).scalar_one_or_none()
        if row is None:
            _verify(_DUMMY_HASH, password)
            raise refused
        locked = _aware(row.locked_until)
        if locked is not None and locked > now:
            append(session, db.audit_key, name, "login-locked", "console-user", name, {})
            raise AuthenticationError(
                f"this account is locked after {LOCK_AFTER} failed logins; try again after "
                f"{locked.isoformat(timespec='minutes')} or ask an administrator to unlock it"
            )
        good = _verify(row.password_hash, password)
        if not good or row.status != "active":
            if good:  # right password, disabled account: no failure counted
                append(session, db.audit_key, name, "login-disabled", "console-user", name, {})
            else:
                row.failed_logins = (row.failed_logins or 0) + 1
                payload: dict[str, Any] = {"failures": row.failed_logins}
                if row.failed_logins >= LOCK_AFTER:
                    row.locked_until = now + LOCK_FOR
                    row.failed_logins = 0
                    payload["locked_until"] = row.locked_until.isoformat()
                append(session, db.audit_key, name, "login-failed", "console-user", name, payload)
            raise refused
        row.failed_logins = 0
        row.locked_until = None
        if _HASHER.check_needs_rehash(row.password_hash):
            row.password_hash = _HASHER.hash(password)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = now + SESSION_TTL
        record = ConsoleSession(
            id=_digest(token),
            user_id=row.id,
            csrf_digest=_digest(csrf),
            created_at=now,
            expires_at=expires,
            revoked=False,
        )
        session.add(record)
        append(session, db.audit_key, name, "login", "console-user", name, {"role": row.role})
        identity = ConsoleIdentity(row.id, row.name, row.role, record.id, record.csrf_digest)
        return Login(token, csrf, identity, expires)


def _verify(hashed: str, password: str) -> bool:
    try:
        return bool(_HASHER.verify(hashed, password))
    except (VerificationError, InvalidHashError):
        return False


def session_identity(
    db: Database, token: str | None, now: dt.datetime | None = None
) -> ConsoleIdentity:
    """The user of a live session cookie.

    Raises
    ------
    AuthenticationError
        No cookie, an unknown, expired or revoked session, or a user no longer active.
    """
    if not token or len(token) > 200:
        raise AuthenticationError("sign in to the console first")
    now = now or utcnow()
    with db.session() as session:
        found = session.execute(
            select(ConsoleSession, ConsoleUser)
            .join(ConsoleUser, ConsoleUser.id == ConsoleSession.user_id)
            .where(ConsoleSession.id == _digest(token))
        ).one_or_none()
        if found is None:
            raise AuthenticationError("the console session is unknown; sign in again")
        record, user = found
        expires = _aware(record.expires_at)
        if record.revoked or (expires is not None and expires <= now) or user.status != "active":
            raise AuthenticationError("the console session has ended; sign in again")
        return ConsoleIdentity(user.id, user.name, user.role, record.id, record.csrf_digest)


def check_csrf(identity: ConsoleIdentity, given: str | None) -> None:
    """The synchronizer-token check of a state-changing console request.

    Raises
    ------
    PermissionDeniedError
        The ``X-CSRF-Token`` header is missing or is not the session's token.
    """
    if not given or not hmac.compare_digest(_digest(given), identity.csrf_digest):
        raise PermissionDeniedError("missing or wrong X-CSRF-Token header; reload the console")


def logout(db: Database, identity: ConsoleIdentity) -> None:
    """End the session."""
    with db.session() as session:
        session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.id == identity.session_id)
            .values(revoked=True)
        )
        append(session, db.audit_key, identity.name, "logout", "console-user", identity.name, {})


def rotate_csrf(db: Database, identity: ConsoleIdentity) -> str:
    """A new CSRF token for the session (a page opened again asks for one); the old one stops
    working. Only its digest is stored."""
    csrf = secrets.token_urlsafe(32)
    with db.session() as session:
        session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.id == identity.session_id)
            .values(csrf_digest=_digest(csrf))
        )
        session.commit()
    return csrf


SESSION_COOKIE = "ruleplus_console"
"""The console session cookie's name (its value is the session token; only a digest is stored)."""

DEMO_USERS = (("analyst", "analyst"), ("approver", "approver"), ("manager", "admin"))
"""The demo's console users (name, role): a maker, a checker and an administrator."""


def seed_demo_users(db: Database, password: str) -> list[dict[str, Any]]:
    """Create the demo's console users that do not exist yet, all with ``password``
    (``ruleplus serve --demo`` prints it); existing users are left as they are."""
    existing = {u["name"] for u in list_users(db)}
    return [
        create_user(db, name, role, password, "demo")
        for name, role in DEMO_USERS
        if name not in existing
    ]
