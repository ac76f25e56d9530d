"""Identity verification: face quality, liveness, selfie-to-ID comparison, 1:N search, ID numbers.

The face features need the ``face`` extra (``pip install 'ruleplus[face]'``) and the model files
(``ruleplus models install``). The ID-number and bank-card checks and the error class are plain
Python and import without it; everything else is loaded on first use::

    from ruleplus.identity import IdentityEngine
    engine = IdentityEngine.from_models()
    result = engine.verify("selfie.jpg", "id.jpg")
    result.match, result.similarity, result.liveness.score, result.reasons
"""

from __future__ import annotations

import importlib
from typing import Any

from ruleplus.checks import (
    IdCardInfo,
    bank_card_valid,
    id_age,
    id_gender,
    id_valid,
    luhn_check_digit,
    luhn_valid,
    parse_id_number,
)
from ruleplus.errors import ERROR_CODES, IdentityError

__all__ = [
    "ERROR_CODES",
    "ActiveLivenessVerifier",
    "ChallengeIssuer",
    "FaceAnalysis",
    "Gallery",
    "GalleryStore",
    "IdCardInfo",
    "IdentityEngine",
    "IdentityError",
    "ImageLimits",
    "InMemoryGalleryStore",
    "LivenessResult",
    "QualityReport",
    "QualityThresholds",
    "SqlGalleryStore",
    "TemplateCipher",
    "VerifyResult",
    "bank_card_valid",
    "decode_image",
    "evaluate_liveness",
    "evaluate_pairs",
    "id_age",
    "id_gender",
    "id_valid",
    "install_models",
    "load_template_key",
    "luhn_check_digit",
    "luhn_valid",
    "parse_id_number",
]

_LAZY = {
    "ActiveLivenessVerifier": "ruleplus.identity.active",
    "ChallengeIssuer": "ruleplus.identity.active",
    "FaceAnalysis": "ruleplus.identity.engine",
    "IdentityEngine": "ruleplus.identity.engine",
    "VerifyResult": "ruleplus.identity.engine",
    "Gallery": "ruleplus.identity.gallery",
    "GalleryStore": "ruleplus.identity.gallery_store",
    "InMemoryGalleryStore": "ruleplus.identity.gallery_store",
    "SqlGalleryStore": "ruleplus.identity.gallery_store",
    "TemplateCipher": "ruleplus.identity.template_cipher",
    "load_template_key": "ruleplus.identity.template_cipher",
    "ImageLimits": "ruleplus.identity._image",
    "decode_image": "ruleplus.identity._image",
    "LivenessResult": "ruleplus.identity.liveness",
    "QualityReport": "ruleplus.identity.quality",
    "QualityThresholds": "ruleplus.identity.quality",
    "evaluate_liveness": "ruleplus.identity.evaluate",
    "evaluate_pairs": "ruleplus.identity.evaluate",
    "install_models": "ruleplus.identity.weights",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ruleplus.identity' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
