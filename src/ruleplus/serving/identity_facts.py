"""Identity verification inside a decision: a selfie and an ID photo become strategy inputs.

The decision path calls :class:`IdentityFacts` with the request's ``identity`` block; the
images are verified once, and only their SHA-256 and the verdict are kept for the stored
request (images are never stored or logged).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from ruleplus.errors import DataError

__all__ = ["DECIDABLE", "IdentityFacts", "decode_images", "image_digests"]

DECIDABLE = frozenset({"no_face", "multiple_faces", "low_quality", "image_too_small"})
"""Identity failures a strategy decides on (rather than a client error)."""

_IMAGES = ("selfie", "id_photo")


def decode_images(block: Any) -> dict[str, bytes]:
    """The two images of ``{"selfie": base64, "id_photo": base64}``, decoded.

    Raises
    ------
    DataError
        Naming the field that is missing or not base64.
    """
    if not isinstance(block, dict) or not all(isinstance(block.get(k), str) for k in _IMAGES):
        raise DataError(
            'identity must be {"selfie": base64 image, "id_photo": base64 image}', field="identity"
        )
    images: dict[str, bytes] = {}
    for name in _IMAGES:
        text = block[name]
        try:
            images[name] = base64.b64decode(
                text.split(",", 1)[-1] if text.startswith("data:") else text, validate=True
            )
        except (binascii.Error, ValueError):
            raise DataError(
                f"identity.{name} is not valid base64", field=f"identity.{name}"
            ) from None
    return images


def image_digests(block: Any) -> dict[str, Any]:
    """``block`` with each image string replaced by the SHA-256 of its text (for digests)."""
    if not isinstance(block, dict):
        return {"value": block}
    return {
        k: ("sha256:" + hashlib.sha256(v.encode()).hexdigest() if isinstance(v, str) else v)
        for k, v in block.items()
    }


class IdentityFacts:
    """Verify a decision's images with a loaded identity engine.

    Parameters
    ----------
    engine : IdentityEngine
        The loaded face models (``ruleplus.identity.engine.IdentityEngine``).
    """

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def __call__(self, block: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Returns the facts a strategy reads (``face_match``, ``face_similarity``,
        ``liveness_score``, ``liveness_live``, ``face_quality_passed``, ``identity_error``) and
        what is stored in place of the images (their SHA-256 and the facts)."""
        from ruleplus.errors import IdentityError

        images = decode_images(block)
        stored: dict[str, Any] = {
            f"{k}_sha256": hashlib.sha256(v).hexdigest() for k, v in images.items()
        }
        try:
            result = self.engine.verify(images["selfie"], images["id_photo"])
        except IdentityError as exc:
            if exc.code not in DECIDABLE:
                raise
            facts: dict[str, Any] = {"face_match": False, "identity_error": exc.code}
        else:
            facts = {**result.facts(), "identity_error": None}
        stored["facts"] = facts
        return facts, stored
