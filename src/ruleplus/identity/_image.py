"""Safe image decoding: header limits before decoding, strict decoders, truncation checks.

Only photos a selfie or an ID capture produces are decoded: JPEG (MPO included), PNG and WebP.
Before any pixel is decoded the header must pass :class:`ImageLimits`: pixel count, longest side,
aspect ratio and *decoded bytes* (a 16-bit or alpha PNG costs more memory and inflate time per
pixel than an 8-bit JPEG). JPEGs are decoded once, by libjpeg-turbo through ``simplejpeg`` in
strict mode, which refuses the data libjpeg would otherwise pad with grey; a marker walk
(:mod:`ruleplus.identity._jpeg`) first catches files cut between scans and scan bombs. PNG and
WebP go to OpenCV, whose libpng and libwebp refuse missing rows.

Nothing here logs or echoes image bytes; errors name sizes and formats only.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import simplejpeg
from PIL import Image, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from ruleplus.errors import IdentityError
from ruleplus.identity._jpeg import read_scan_script

__all__ = ["ImageLimits", "decode_image", "load_image"]

# Pillow parses these headers only; every other plugin (TIFF, EPS, PSD…) stays out of reach.
# Its JPEG opener returns an MPO image itself; the imports register the openers, which
# ``Image.open(formats=…)`` does not do on its own.
_PIL_FORMATS = ("JPEG", "PNG", "WEBP")
_PLUGINS = (JpegImagePlugin, PngImagePlugin, WebPImagePlugin)
_ACCEPTED = "a JPEG, PNG or WebP photo"
# Named in a refusal so that a client knows what it sent (JPEG, PNG, WebP: when Pillow fails).
_MAGIC = (
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"BM", "BMP"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"GIF8", "GIF"),
    (4, b"ftypheic", "HEIC"),
    (4, b"ftypheix", "HEIC"),
    (4, b"ftypmif1", "HEIF"),
    (4, b"ftypavif", "AVIF"),
    (0, b"%PDF", "PDF"),
    (0, b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (0, b"\xff\x0a", "JPEG XL"),
    (0, b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
)
_PNG_END = b"IEND\xaeB`\x82"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # IHDR colour type -> samples per pixel
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_MODE_CHANNELS = {"1": 1, "L": 1, "P": 1, "LA": 2, "RGB": 3, "RGBA": 4, "CMYK": 4}
# Ordinary progressive JPEGs have 6 (grey) to 18 (CMYK) scans; each scan is a pass over the
# whole image, and 100 scans of a 25 MP image cost 1.4 s of CPU.
_MAX_SCANS = 50
_ORIENT: dict[int, Callable[[np.ndarray], np.ndarray]] = {  # EXIF orientation -> turn
    2: lambda a: cv2.flip(a, 1),
    3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
    4: lambda a: cv2.flip(a, 0),
    5: cv2.transpose,
    6: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
    7: lambda a: cv2.rotate(cv2.transpose(a), cv2.ROTATE_180),
    8: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
}

_cv_log = getattr(getattr(cv2, "utils", None), "logging", None)
if _cv_log is not None:  # errors only: decoder chatter about corrupt data must not reach the logs
    _cv_log.setLogLevel(_cv_log.LOG_LEVEL_ERROR)


@dataclass(frozen=True)
class ImageLimits:
    """Limits applied before an image is decoded.

    The defaults fit a face-verification service: a 12–16 MP phone photo (4032×3024,
    4608×3456) passes with room to spare, as does a 20–24 MP camera photo. A 48–50 MP
    full-resolution capture is refused (phones save 12 MP by default): a face is embedded from a
    150-pixel chip, so more pixels only cost decode time and memory, and a client can downscale.

    Parameters
    ----------
    max_bytes : int, default=20_000_000
        Largest encoded size accepted.
    max_pixels : int, default=25_000_000
        Largest width × height accepted (read from the header, before decoding).
    min_side : int, default=32
        Smallest width or height accepted.
    work_side : int, default=2048
        JPEGs larger than this are decoded at 1/2, 1/4 or 1/8 scale (libjpeg DCT scaling) so that
        the longer side stays at or above it; faces are embedded from 150-pixel chips anyway.
    max_decoded_bytes : int, default=100_000_000
        Largest decoded size accepted: width × height × bytes per pixel, where a pixel counts
        its samples at their bit depth (8-bit RGB 3, RGBA or CMYK 4, 16-bit RGB 6, 16-bit RGBA
        8) and at least the 3 bytes of the BGR result. 100 MB is a 25 MP RGBA image or a
        16.6 MP 16-bit RGB PNG; it bounds memory and inflate time per request.
    max_side : int, default=10_000
        Longest side accepted (12–24 MP photos are 4000–6000 pixels long).
    max_aspect : float, default=4.0
        Largest ratio of the longer to the shorter side; photos are 4:3 to 16:9, tall-phone
        screenshots about 20:9 (2.2), ID cards 1.6.
    """

    max_bytes: int = 20_000_000
    max_pixels: int = 25_000_000
    min_side: int = 32
    work_side: int = 2048
    max_decoded_bytes: int = 100_000_000  # appended after work_side: positional calls still work
    max_side: int = 10_000
    max_aspect: float = 4.0


_DEFAULT = ImageLimits()


@dataclass(frozen=True)
class _Header:
    fmt: str  # "JPEG" (MPO included), "PNG" or "WEBP"
    width: int
    height: int
    bytes_per_pixel: int
    orientation: int  # EXIF orientation of a JPEG (1 = as stored); OpenCV applies the others'


def _format_name(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for offset, magic, name in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return name
    return None


def _sniff(data: bytes) -> _Header:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=_PIL_FORMATS) as im:
                fmt, (width, height), mode = str(im.format), im.size, im.mode
                animated = fmt != "MPO" and bool(getattr(im, "is_animated", False))
                orientation = _exif_orientation(im) if fmt in ("JPEG", "MPO") else 1
        except Image.DecompressionBombError as exc:
            raise IdentityError(
                "image_too_large", "the image declares too many pixels (decompression bomb)"
            ) from exc
        except Exception as exc:  # PIL raises many types for garbage
            name = _format_name(data)
            if name in ("JPEG", "PNG", "WEBP"):
                cut = _is_cut(data, name)
                raise IdentityError(
                    "image_truncated" if cut else "image_invalid",
                    f"the {name} file ends inside its header"
                    if cut
                    else f"the {name} header is corrupt",
                    format=name,
                ) from exc
            if name is not None:
                raise IdentityError(
                    "image_invalid",
                    f"unsupported image format {name}; send {_ACCEPTED}",
                    format=name,
                ) from exc
            raise IdentityError("image_invalid", f"the bytes are not {_ACCEPTED}") from exc
    if animated:
        raise IdentityError(
            "image_invalid",
            f"animated {fmt} images are not accepted; send a still photo",
            format=fmt,
        )
    if fmt == "MPO":  # a phone JPEG with a second (depth or preview) image after the first EOI
        fmt = "JPEG"
    if fmt == "PNG":
        bytes_per_pixel = _png_bytes_per_pixel(data)
    else:  # 8-bit samples: JPEG L/RGB/CMYK, WebP RGB/RGBA
        bytes_per_pixel = max(3, _MODE_CHANNELS.get(mode, 4))
    return _Header(fmt, width, height, bytes_per_pixel, orientation)


def _exif_orientation(im: Image.Image) -> int:
    try:
        value = int(im.getexif().get(0x0112, 1))
    except Exception:  # a malformed EXIF block is ignored, as OpenCV ignores it
        return 1
    return value if value in _ORIENT else 1


def _png_bytes_per_pixel(data: bytes) -> int:
    # IHDR is the first chunk: length(4) type(4) width(4) height(4) depth(1) colour type(1)
    if data[12:16] != b"IHDR" or len(data) < 26:
        raise IdentityError("image_invalid", "the PNG does not start with an IHDR chunk")
    depth, colour = data[24], data[25]
    if depth not in _PNG_DEPTHS.get(colour, ()):
        raise IdentityError(
            "image_invalid",
            f"the PNG declares bit depth {depth} with colour type {colour}",
            format="PNG",
        )
    sample_bytes = 2 if depth == 16 else 1  # 1-, 2- and 4-bit samples unpack to a byte each
    return max(3, _PNG_CHANNELS[colour] * sample_bytes)


def _check_geometry(head: _Header, limits: ImageLimits) -> None:
    width, height = head.width, head.height
    size = {"width": width, "height": height, "format": head.fmt}
    if width * height > limits.max_pixels:
        raise IdentityError(
            "image_too_large",
            f"the image has {width}x{height} = {width * height} pixels; at most "
            f"{limits.max_pixels} are accepted",
            **size,
        )
    if max(width, height) > limits.max_side:
        raise IdentityError(
            "image_too_large",
            f"the image is {width}x{height}; neither side may exceed {limits.max_side} pixels",
            **size,
        )
    decoded = width * height * head.bytes_per_pixel
    if decoded > limits.max_decoded_bytes:
        raise IdentityError(
            "image_too_large",
            f"the {width}x{height} image decodes to {decoded} bytes ({head.bytes_per_pixel} per "
            f"pixel); at most {limits.max_decoded_bytes} are accepted: send an 8-bit photo "
            "without alpha, or a smaller one",
            decoded_bytes=decoded,
            **size,
        )
    if min(width, height) < limits.min_side:
        raise IdentityError(
            "image_too_small",
            f"the image is {width}x{height}; each side must be at least {limits.min_side}",
            **size,
        )
    aspect = max(width, height) / min(width, height)
    if aspect > limits.max_aspect:
        raise IdentityError(
            "image_invalid",
            f"the image is {width}x{height}, an aspect ratio of {aspect:.1f}:1; a photo may "
            f"be at most {limits.max_aspect:g}:1",
            **size,
        )


def _reduction(head: _Header, limits: ImageLimits) -> int:
    longest = max(head.width, head.height)
    for factor in (8, 4, 2):
        if longest // factor >= limits.work_side:
            return factor
    return 1


def _decode_jpeg(data: bytes, head: _Header, limits: ImageLimits) -> np.ndarray:
    try:
        script = read_scan_script(data, _MAX_SCANS)
    except ValueError as exc:
        raise IdentityError(
            "image_invalid", "the JPEG marker structure is malformed", format="JPEG"
        ) from exc
    if script.scans > _MAX_SCANS:
        raise IdentityError(
            "image_too_large",
            f"the JPEG has more than {_MAX_SCANS} scans (ordinary progressive photos have 6–18)",
            format="JPEG",
        )
    if not (script.ended and script.complete):
        raise IdentityError(
            "image_truncated",
            "the JPEG ends before all of its image data (truncated file); send the whole photo",
            format="JPEG",
        )
    factor = _reduction(head, limits)
    height, width = -(-head.height // factor), -(-head.width // factor)  # libjpeg rounds up
    try:
        # strict: any libjpeg warning (premature end of data, corrupt Huffman data) is an error
        image = simplejpeg.decode_jpeg(
            data,
            colorspace="BGR",
            strict=True,
            min_height=height if factor > 1 else 0,
            min_width=width if factor > 1 else 0,
        )
    except ValueError as exc:
        if "premature end" in str(exc).lower():
            raise IdentityError(
                "image_truncated",
                "the JPEG image data ends early (truncated file); send the whole photo",
                format="JPEG",
            ) from exc
        raise IdentityError(
            "image_invalid", "the JPEG image data is corrupt", format="JPEG"
        ) from exc
    if image.shape[:2] != (height, width):
        raise IdentityError(
            "image_invalid",
            "the JPEG header and its image data disagree on the size",
            format="JPEG",
        )
    turn = _ORIENT.get(head.orientation)
    return image if turn is None else turn(image)


def _is_cut(data: bytes, fmt: str) -> bool:
    """Whether the file visibly ends early: no EOI, no IEND, or shorter than its RIFF size."""
    if fmt == "PNG":
        return _PNG_END not in data
    if fmt == "WEBP":
        return _webp_cut(data)
    try:
        script = read_scan_script(data, _MAX_SCANS)
    except ValueError:
        return False
    return script.scans <= _MAX_SCANS and not script.ended


def _webp_cut(data: bytes) -> bool:
    # RIFF: "RIFF" size(4, LE) "WEBP", then chunks of fourcc(4) size(4, LE) payload (padded
    # to even); a still image has at most VP8X, ICCP, ALPH, VP8/VP8L, EXIF and XMP
    end = 8 + int.from_bytes(data[4:8], "little")
    if end > len(data):
        return True
    pos = 12
    for _ in range(16):
        if pos + 8 > end:
            return False
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        if pos + 8 + size > len(data):
            return True
        pos += 8 + size + (size & 1)
    return False


def _decode_other(data: bytes, head: _Header) -> np.ndarray | None:
    if _is_cut(data, head.fmt):
        return None
    return cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)


def decode_image(data: bytes, limits: ImageLimits = _DEFAULT) -> np.ndarray:
    """Decode encoded image bytes into a BGR ``uint8`` array after checking limits.

    Parameters
    ----------
    data : bytes
        The encoded image: JPEG (MPO included), PNG or WebP. Other formats (BMP, TIFF, GIF,
        HEIC…) are refused; bytes after the end of the image are ignored.
    limits : ImageLimits, default=ImageLimits()
        Byte, pixel, decoded-memory and shape limits.

    Returns
    -------
    numpy.ndarray
        ``(height, width, 3)`` BGR image, EXIF orientation applied.

    Raises
    ------
    IdentityError
        ``image_invalid`` (not an accepted format, malformed, corrupt, animated, or an extreme
        aspect ratio), ``image_truncated`` (the image data ends early, EOI or IEND appended or
        not), ``image_too_large`` (bytes, pixels, side, decoded bytes, JPEG scans) or
        ``image_too_small``.
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
    head = _sniff(data)
    _check_geometry(head, limits)
    image: np.ndarray | None
    try:
        if head.fmt == "JPEG":
            image = _decode_jpeg(data, head, limits)
        else:
            image = _decode_other(data, head)
    except IdentityError:
        raise
    except MemoryError as exc:
        raise IdentityError(
            "image_too_large", "the image does not fit in memory", format=head.fmt
        ) from exc
    except Exception as exc:  # a decoder failing in any way is the client's bad file, not a 500
        raise IdentityError(
            "image_invalid", f"the {head.fmt} image could not be decoded", format=head.fmt
        ) from exc
    if image is None:  # libpng / libwebp refused: rows or frames are missing or corrupt
        raise IdentityError(
            "image_truncated",
            f"the {head.fmt} image data is incomplete or corrupt; send the whole photo",
            format=head.fmt,
        )
    if image.ndim != 3 or image.shape[2] != 3:
        raise IdentityError("image_invalid", "the image could not be decoded", format=head.fmt)
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
