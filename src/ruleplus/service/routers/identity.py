"""HTTP endpoints of identity verification, as a FastAPI router (mounted by the service).

Images travel as base64 strings in JSON. An identity error is raised as it is and answered by
the service's one problem handler (its status and problem type come from its ``code``); nothing
echoes image bytes or templates.
"""

import base64
import binascii
import secrets
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, Field

from ruleplus.errors import IdentityError
from ruleplus.identity.active import ActiveLivenessVerifier, ChallengeIssuer
from ruleplus.identity.engine import IdentityEngine
from ruleplus.identity.gallery import Gallery
from ruleplus.identity.gallery_store import GalleryStore

__all__ = ["build_router"]

_MAX_B64 = 28_000_000  # ~20 MB of image bytes


def header_tenant(x_tenant: Annotated[str, Header(min_length=1, max_length=128)]) -> str:
    """Default tenant resolver: the ``X-Tenant`` header."""
    return x_tenant


def _decode(data: str, field: str) -> bytes:
    try:
        return base64.b64decode(
            data.split(",", 1)[-1] if data.startswith("data:") else data, validate=True
        )
    except (binascii.Error, ValueError) as exc:
        raise IdentityError("image_invalid", f"{field} is not valid base64", field=field) from exc


Image = Annotated[str, Field(min_length=1, max_length=_MAX_B64, description="base64 image")]


class VerifyRequest(BaseModel):
    """Selfie vs ID photo."""

    selfie: Image
    id_photo: Image
    check_liveness: bool = True
    allow_multiple_faces: bool = False


class ImageRequest(BaseModel):
    """One image."""

    image: Image


class ChallengeVerifyRequest(BaseModel):
    """Frames answering a challenge."""

    token: str = Field(min_length=1, max_length=4096)
    frames: list[Image] = Field(min_length=1, max_length=40)


class EnrollRequest(BaseModel):
    """Enroll the face of ``image`` as ``subject_id``."""

    subject_id: str = Field(min_length=1, max_length=256)
    image: Image


class SearchRequest(BaseModel):
    """Search the tenant's gallery."""

    image: Image
    k: int = Field(default=5, ge=1, le=100)


class DeleteRequest(BaseModel):
    """Delete a subject (all templates) or one template."""

    subject_id: str | None = Field(default=None, max_length=256)
    template_id: str | None = Field(default=None, max_length=64)


def build_router(
    engine: IdentityEngine,
    gallery_store: GalleryStore,
    get_tenant: Callable[..., str] | None = None,
    issuer: ChallengeIssuer | None = None,
    index: str = "hnsw",
) -> APIRouter:
    """Build the ``/v1/identity`` router.

    Parameters
    ----------
    engine : IdentityEngine
        Loaded models.
    gallery_store : GalleryStore
        Where gallery templates persist.
    get_tenant : callable, optional
        FastAPI dependency returning the tenant id; defaults to the ``X-Tenant`` header.
    issuer : ChallengeIssuer, optional
        Active-liveness challenges; defaults to one with a random per-process secret (pass a
        shared secret when several workers serve the same clients).
    index : {"hnsw", "flat"}, default="hnsw"
        Gallery index kind.
    """
    tenant_dep = get_tenant or header_tenant
    Tenant = Annotated[str, Depends(tenant_dep)]  # noqa: N806
    issuer = issuer or ChallengeIssuer(secrets.token_bytes(32))
    verifier = ActiveLivenessVerifier(engine, issuer)
    gallery = Gallery(
        gallery_store,
        engine.embedder.name,
        engine.embedder.dim,
        engine.embedder.threshold,
        index=index,
    )
    router = APIRouter(prefix="/v1/identity", tags=["identity"])

    # an IdentityError is raised as it is: the service's one problem handler answers it

    @router.post("/verify")
    def verify(body: VerifyRequest, tenant: Tenant) -> dict[str, Any]:
        """Compare a selfie with an ID photo and score the selfie's liveness."""
        return engine.verify(
            _decode(body.selfie, "selfie"),
            _decode(body.id_photo, "id_photo"),
            check_liveness=body.check_liveness,
            multiple="largest" if body.allow_multiple_faces else "error",
        ).to_dict()

    @router.post("/liveness")
    def passive(body: ImageRequest, tenant: Tenant) -> dict[str, Any]:
        """Passive liveness of one image."""
        analysis = engine.liveness(_decode(body.image, "image"))
        assert analysis.liveness is not None
        return {**analysis.liveness.to_dict(), **analysis.summary()}

    @router.post("/liveness/challenge")
    def challenge(tenant: Tenant) -> dict[str, Any]:
        """Issue an active-liveness challenge."""
        return issuer.issue(tenant).to_dict()

    @router.post("/liveness/verify")
    def challenge_verify(body: ChallengeVerifyRequest, tenant: Tenant) -> dict[str, Any]:
        """Verify frames against a challenge."""
        frames = [_decode(f, f"frames[{i}]") for i, f in enumerate(body.frames)]
        return verifier.verify(body.token, tenant, frames).to_dict()

    @router.post("/gallery/enroll")
    def enroll(body: EnrollRequest, tenant: Tenant) -> dict[str, Any]:
        """Enroll a face."""
        analysis = engine.analyze(_decode(body.image, "image"))
        assert analysis.template is not None
        template_id = gallery.enroll(tenant, body.subject_id, analysis.template)
        return {
            "template_id": template_id,
            "subject_id": body.subject_id,
            "quality": analysis.quality.to_dict(),
        }

    @router.post("/gallery/search")
    def search(body: SearchRequest, tenant: Tenant) -> dict[str, Any]:
        """Search the tenant's gallery with a face."""
        analysis = engine.analyze(_decode(body.image, "image"))
        assert analysis.template is not None
        hits = gallery.search(tenant, analysis.template, body.k)
        best = hits[0] if hits and hits[0].match else None
        return {
            "match": best.to_dict() if best else None,
            "hits": [h.to_dict() for h in hits],
            "quality": analysis.quality.to_dict(),
        }

    @router.post("/gallery/delete")
    def delete(body: DeleteRequest, tenant: Tenant) -> dict[str, Any]:
        """Delete a subject's templates, or one template, everywhere."""
        ids = gallery.delete(tenant, subject_id=body.subject_id, template_id=body.template_id)
        if not ids:
            raise IdentityError("not_found", "no such subject or template")
        return {"deleted": len(ids), "template_ids": ids}

    router.gallery = gallery  # type: ignore[attr-defined]
    return router
