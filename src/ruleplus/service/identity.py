"""Mount the identity endpoints (``/v1/identity/...``) into the service.

The face models are loaded once at start-up when they are installed in the model directory
(``RULEPLUS_MODEL_DIR``; ``ruleplus models install``). Without the ``face`` extra or the models,
the same paths answer 503 with a problem saying what to install, so the service (and its OpenAPI
description) stays whole. The tenant of every identity call is the calling partner.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from ruleplus.service.auth import current_partner
from ruleplus.service.problems import problem
from ruleplus.service.state import ServiceState
from ruleplus.store.tables import Partner

__all__ = ["RedisChallengeStore", "mount_identity", "partner_tenant"]

log = logging.getLogger("ruleplus.identity")
_PATHS = (
    "verify",
    "liveness",
    "liveness/challenge",
    "liveness/verify",
    "gallery/enroll",
    "gallery/search",
    "gallery/delete",
)


def partner_tenant(partner: Annotated[Partner, Depends(current_partner)]) -> str:
    """Identity data (gallery templates, challenges) belong to the calling partner."""
    return partner.id


def _models_installed(model_dir: Path) -> tuple[bool, str]:
    try:
        from ruleplus.identity.weights import model_status
    except ImportError as exc:  # pragma: no cover - the face extra is part of dev installs
        return False, f"the face extra is not installed ({exc.name})"
    missing = [row["name"] for row in model_status(model_dir) if not row["verified"]]
    if missing:
        return (
            False,
            f"face models missing in {model_dir}: {', '.join(missing)}; "
            "run `ruleplus models install`",
        )
    return True, ""


def _unavailable(reason: str) -> APIRouter:
    router = APIRouter(prefix="/v1/identity", tags=["identity"])

    def answer(request: Request, tenant: Annotated[str, Depends(partner_tenant)]) -> JSONResponse:
        return problem(503, "identity-unavailable", "Identity verification unavailable", reason)

    for path in _PATHS:
        router.add_api_route(f"/{path}", answer, methods=["POST"], summary=f"{path} (unavailable)")
    return router


def mount_identity(app: FastAPI, state: ServiceState, enabled: bool = True) -> dict[str, Any]:
    """Add the identity router (or its 503 stand-in); returns what was mounted and why."""
    ready, reason = _models_installed(state.config.model_dir) if enabled else (False, "disabled")
    if not ready:
        app.include_router(_unavailable(reason))
        log.info("identity endpoints unavailable: %s", reason)
        return {"identity": "unavailable", "reason": reason}
    from ruleplus.identity.active import ChallengeIssuer
    from ruleplus.identity.engine import IdentityEngine
    from ruleplus.identity.gallery_store import SqlGalleryStore
    from ruleplus.identity.template_cipher import TemplateCipher, load_template_key
    from ruleplus.service.routers.identity import build_router
    from ruleplus.serving.identity_facts import IdentityFacts

    engine = IdentityEngine.from_models(state.config.model_dir)
    store = SqlGalleryStore(
        state.database.engine,
        TemplateCipher(load_template_key(state.config.data_dir)),
        create=False,
    )
    # one challenge secret for every worker of the deployment, derived from the server secret
    challenge_key = hmac.new(state.secret, b"identity-challenges", hashlib.sha256).digest()
    # one-time use across every worker when Redis is configured (else per process)
    used = RedisChallengeStore(state.config.redis_url) if state.config.redis_url else None
    router = build_router(
        engine, store, get_tenant=partner_tenant, issuer=ChallengeIssuer(challenge_key, used)
    )
    app.include_router(router)
    state.identity = engine
    state.decisions.identity = IdentityFacts(engine)
    return {"identity": "ready"}


class RedisChallengeStore:
    """Consumed active-liveness challenges in Redis, shared by every worker: ``SET NX`` with
    the challenge's remaining lifetime, so a replayed token is refused by any process.

    Parameters
    ----------
    url : str
        Redis URL.
    prefix : str, default="ruleplus:challenge:"
        Key prefix.
    """

    def __init__(self, url: str, prefix: str = "ruleplus:challenge:") -> None:
        import redis

        self.client: Any = redis.Redis.from_url(url)
        self.prefix = prefix

    def consume(self, challenge_id: str, expires_at: float, now: float | None = None) -> bool:
        """Mark a challenge used; ``False`` when it was used before (by any worker)."""
        import time

        now = time.time() if now is None else now
        ttl_ms = max(int((expires_at - now) * 1000), 1) + 1000
        return bool(self.client.set(self.prefix + challenge_id, b"1", nx=True, px=ttl_ms))
