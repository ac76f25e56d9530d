"""Safe image decoding: size limits before decoding, bomb and truncation checks, then OpenCV.

Nothing here logs or echoes image bytes; errors name sizes and formats only.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ruleplus.identity.errors import IdentityError

__all__ = ["ImageLimits", "decode_image", "load_image"]

_FORMATS = {"JPEG", "PNG", "WEBP", "BMP", "TIFF"}
_PNG_END = b"IEND\xaeB`\x82"

_cv_log = getattr(getattr(cv2, "utils", None), "logging", None)
if _cv_log is not None:  # errors only: libjpeg chatter about corrupt data must not reach the logs
    _cv_log.setLogLevel(_cv_log.LOG_LEVEL_ERROR)


@dataclass(frozen=True)
class ImageLimits:
    """Limits applied before an image is decoded.

    Parameters
    ----------
    max_bytes : int, default=20_000_000
        Largest encoded size accepted.
    max_pixels : int, default=40_000_000
        Largest width × height accepted (read from the header, before decoding).
    min_side : int, default=32
        Smallest width or height accepted.
    work_side : int, default=2048
        JPEGs larger than this are decoded at 1/2, 1/4 or 1/8 scale (``IMREAD_REDUCED``) so that
        the longer side stays at or above it; faces are embedded from 150-pixel chips anyway.
    """

    max_bytes: int = 20_000_000
    max_pixels: int = 40_000_000
    min_side: int = 32
    work_side: int = 2048


_DEFAULT = ImageLimits()


def _sniff(data: bytes, limits: ImageLimits) -> tuple[str, int, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as im:
                fmt, (width, height) = str(im.format), im.size
        except Image.DecompressionBombError as exc:
            raise IdentityError(
                "image_too_large", "the image declares too many pixels (decompression bomb)"
            ) from exc
        except Exception as exc:  # PIL raises many types for garbage
            raise IdentityError(
                "image_invalid", "the bytes are not an image in a supported format"
            ) from exc
    if fmt not in _FORMATS:
        raise IdentityError("image_invalid", f"unsupported image format {fmt}", format=fmt)
    if width * height > limits.max_pixels:
        raise IdentityError(
            "image_too_large",
            f"the image has {width}x{height} pixels; at most {limits.max_pixels} are accepted",
            width=width,
            height=height,
        )
    if min(width, height) < limits.min_side:
        raise IdentityError(
            "image_too_small",
            f"the image is {width}x{height}; each side must be at least {limits.min_side}",
            width=width,
            height=height,
        )
    return fmt, width, height


def _complete_by_pil(data: bytes) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(io.BytesIO(data)) as im:
                im.load()
        except Exception:
            return False
    return True


def _check_complete(data: bytes, fmt: str) -> None:
    tail = data.rstrip(b"\x00\r\n\t ")
    if fmt == "JPEG":
        ok = tail.endswith(b"\xff\xd9") or _complete_by_pil(data)
    elif fmt == "PNG":
        ok = tail.endswith(_PNG_END) or _complete_by_pil(data)
    else:
        ok = _complete_by_pil(data)
    if not ok:
        raise IdentityError("image_truncated", "the image file is truncated or corrupt", format=fmt)


def decode_image(data: bytes, limits: ImageLimits = _DEFAULT) -> np.ndarray:
    """Decode encoded image bytes into a BGR ``uint8`` array after checking limits.

    Parameters
    ----------
    data : bytes
        The encoded image (JPEG, PNG, WebP, BMP, TIFF).
    limits : ImageLimits, default=ImageLimits()
        Byte and pixel limits.

    Returns
    -------
    numpy.ndarray
        ``(height, width, 3)`` BGR image, EXIF orientation applied.

    Raises
    ------
    IdentityError
        ``image_invalid``, ``image_truncated``, ``image_too_large`` or ``image_too_small``.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise IdentityError("image_invalid", "expected encoded image bytes")
    data = bytes(data)
    if not data:
        raise IdentityError("image_invalid", "the image is empty")
    if len(data) > limits.max_bytes:
        raise IdentityError(
            "image_too_large",
            f"the image has {len(data)} bytes; at most {limits.max_bytes} are accepted",
            size=len(data),
        )
    fmt, width, height = _sniff(data, limits)
    _check_complete(data, fmt)
    flags = cv2.IMREAD_COLOR
    if fmt == "JPEG":
        longest = max(width, height)
        for factor, flag in ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4),
                             (2, cv2.IMREAD_REDUCED_COLOR_2)):
            if longest // factor >= limits.work_side:
                flags = flag
                break
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    if image is None or image.ndim != 3 or image.shape[2] != 3:
        raise IdentityError("image_invalid", "the image could not be decoded", format=fmt)
    return np.ascontiguousarray(image)


def load_image(
    source: bytes | str | Path | np.ndarray, limits: ImageLimits = _DEFAULT
) -> np.ndarray:
    """Return a BGR image from bytes, a file path or an array.

    Parameters
    ----------
    source : bytes, str, Path or numpy.ndarray
        Encoded bytes, a path to an image file, or an already decoded ``(h, w, 3)`` BGR array.
    limits : ImageLimits, default=ImageLimits()
        Byte and pixel limits.

    Returns
    -------
    numpy.ndarray
        ``(height, width, 3)`` BGR ``uint8`` image.
    """
    if isinstance(source, np.ndarray):
        if source.dtype != np.uint8 or source.ndim != 3 or source.shape[2] != 3:
            raise IdentityError("image_invalid", "expected an (h, w, 3) uint8 BGR array")
        if source.shape[0] * source.shape[1] > limits.max_pixels:
            raise IdentityError("image_too_large", "the array has too many pixels")
        return source
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise IdentityError(
                "image_invalid", "cannot read the image file", file=path.name
            ) from exc
        if size > limits.max_bytes:
            raise IdentityError(
                "image_too_large",
                f"the file has {size} bytes; at most {limits.max_bytes} are accepted",
                file=path.name,
            )
        return decode_image(path.read_bytes(), limits)
    return decode_image(source, limits)
