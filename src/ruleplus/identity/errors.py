"""The one error class of :mod:`ruleplus.identity`, with machine-readable codes.

::

    RuleplusError
    └── IdentityError            an image, face, template or challenge was refused
                                 (``code`` says which; see :data:`ERROR_CODES`)

Messages never contain image bytes or templates, only sizes, counts and codes.
"""

from __future__ import annotations

from typing import Any

from ruleplus.errors import RuleplusError

__all__ = ["ERROR_CODES", "IdentityError"]

#: Every code an :class:`IdentityError` can carry, with the HTTP status it maps to.
ERROR_CODES: dict[str, int] = {
    "image_invalid": 400,  # not an image, or a format we do not decode
    "image_truncated": 400,  # the file ends before the image does
    "image_too_large": 413,  # too many bytes, too many pixels, or a decompression bomb
    "image_too_small": 400,  # fewer pixels than a face needs
    "no_face": 422,  # no face was found
    "multiple_faces": 422,  # more than one face where one is expected
    "low_quality": 422,  # a quality check failed and the caller asked to enforce quality
    "model_missing": 503,  # a model file is not installed
    "model_invalid": 500,  # a model file does not match its checksum or shape
    "template_invalid": 400,  # a template has the wrong size or cannot be decrypted
    "not_found": 404,  # no such template or subject
    "challenge_invalid": 400,  # signature, format or tenant of a challenge is wrong
    "challenge_expired": 410,  # the challenge is past its expiry
    "challenge_replayed": 409,  # the challenge was already used
    "frames_invalid": 400,  # wrong number or kind of frames for a challenge
    "download_failed": 502,  # a model download failed
    "checksum_mismatch": 502,  # a downloaded or copied file has the wrong sha256
}


class IdentityError(RuleplusError):
    """An identity operation was refused; ``code`` says why.

    Parameters
    ----------
    code : str
        One of :data:`ERROR_CODES`.
    message : str
        What went wrong and what to do; never contains image data or templates.
    **context : Any
        Sizes, counts, file names, tenant…
    """

    def __init__(self, code: str, message: str, **context: Any) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown identity error code {code!r}")
        self.code = code
        super().__init__(message, code=code, **context)

    @property
    def http_status(self) -> int:
        """The HTTP status this error maps to."""
        return ERROR_CODES[self.code]
