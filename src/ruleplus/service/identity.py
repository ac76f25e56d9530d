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
from ruleplus.store.models import Partner

__all__ = ["identity_facts", "mount_identity", "partner_tenant"]

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
        from ruleplus.identity.models import model_status
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
    from ruleplus.identity._crypto import TemplateCipher, load_template_key
    from ruleplus.identity._store import SqlGalleryStore
    from ruleplus.identity.active import ChallengeIssuer
    from ruleplus.identity.api import build_router
    from ruleplus.identity.engine import IdentityEngine

    engine = IdentityEngine.from_models(state.config.model_dir)
    store = SqlGalleryStore(
        state.database.engine,
        TemplateCipher(load_template_key(state.config.data_dir)),
        create=False,
    )
    # one challenge secret for every worker of the deployment, derived from the server secret
    challenge_key = hmac.new(state.secret, b"identity-challenges", hashlib.sha256).digest()
    router = build_router(
        engine, store, get_tenant=partner_tenant, issuer=ChallengeIssuer(challenge_key)
    )
    app.include_router(router)
    state.identity = engine
    return {"identity": "ready"}


# identity failures a strategy decides on (rather than a client error)
_DECIDABLE = {"no_face", "multiple_faces", "low_quality", "image_too_small"}


def identity_facts(state: ServiceState, block: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify ``{"selfie": base64, "id_photo": base64}`` for a decision.

    Returns the facts a strategy reads (``face_match``, ``face_similarity``, ``liveness_score``,
    ``liveness_live``, ``face_quality_passed``, ``identity_error``) and what is stored in place
    of the images (their SHA-256 and the verdict): images are never stored or logged.
    """
    import base64
    import binascii

    from ruleplus.errors import DataError, ServiceUnavailableError

    if state.identity is None:
        raise ServiceUnavailableError(
            "identity verification is not available in this deployment; "
            "install the face extra and run `ruleplus models install`"
        )
    if (
        not isinstance(block, dict)
        or not isinstance(block.get("selfie"), str)
        or not isinstance(block.get("id_photo"), str)
    ):
        raise DataError(
            'identity must be {"selfie": base64 image, "id_photo": base64 image}', field="identity"
        )
    images: dict[str, bytes] = {}
    for name in ("selfie", "id_photo"):
        text = block[name]
        try:
            images[name] = base64.b64decode(
                text.split(",", 1)[-1] if text.startswith("data:") else text, validate=True
            )
        except (binascii.Error, ValueError):
            raise DataError(
                f"identity.{name} is not valid base64", field=f"identity.{name}"
            ) from None
    stored: dict[str, Any] = {
        f"{k}_sha256": hashlib.sha256(v).hexdigest() for k, v in images.items()
    }
    from ruleplus.identity.errors import IdentityError

    try:
        result = state.identity.verify(images["selfie"], images["id_photo"])
    except IdentityError as exc:
        if exc.code not in _DECIDABLE:
            raise
        facts: dict[str, Any] = {"face_match": False, "identity_error": exc.code}
    else:
        facts = {**result.facts(), "identity_error": None}
    stored["facts"] = facts
    return facts, stored
