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

from ruleplus.identity.bankcard import bank_card_valid, luhn_check_digit, luhn_valid
from ruleplus.identity.errors import ERROR_CODES, IdentityError
from ruleplus.identity.idcard import IdCardInfo, id_age, id_gender, id_valid, parse_id_number

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
    "GalleryStore": "ruleplus.identity._store",
    "InMemoryGalleryStore": "ruleplus.identity._store",
    "SqlGalleryStore": "ruleplus.identity._store",
    "TemplateCipher": "ruleplus.identity._crypto",
    "load_template_key": "ruleplus.identity._crypto",
    "ImageLimits": "ruleplus.identity._image",
    "decode_image": "ruleplus.identity._image",
    "LivenessResult": "ruleplus.identity.liveness",
    "QualityReport": "ruleplus.identity.quality",
    "QualityThresholds": "ruleplus.identity.quality",
    "evaluate_liveness": "ruleplus.identity.evaluate",
    "evaluate_pairs": "ruleplus.identity.evaluate",
    "install_models": "ruleplus.identity.models",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ruleplus.identity' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
