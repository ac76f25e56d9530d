"""Bad input never crashes: non-images, truncation, bombs, giant and tiny images."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest

cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")
Image = pytest.importorskip("PIL.Image")

from ruleplus.errors import IdentityError  # noqa: E402
from ruleplus.identity._image import ImageLimits, decode_image, load_image  # noqa: E402


def jpeg(width: int = 64, height: int = 48) -> bytes:
    img = np.full((height, width, 3), 128, np.uint8)
    img[:, : width // 2] = (20, 200, 60)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return bytes(buf.tobytes())


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` × ``height`` with a tiny (bogus) body."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0"))
        + chunk(b"IEND", b"")
    )


def code(data: object, limits: ImageLimits | None = None) -> str:
    with pytest.raises(IdentityError) as info:
        decode_image(data, limits or ImageLimits())  # type: ignore[arg-type]
    assert b"\xff\xd8" not in info.value.message.encode("latin-1", "replace")
    return info.value.code


def test_identity_decodes_a_jpeg() -> None:
    img = decode_image(jpeg())
    assert img.shape == (48, 64, 3) and img.dtype == np.uint8


@pytest.mark.parametrize("data", [b"", b"hello world", b"\x00" * 1000, b"GIF89a" + b"\0" * 50])
def test_identity_rejects_non_images(data: bytes) -> None:
    assert code(data) == "image_invalid"


def test_identity_rejects_non_bytes() -> None:
    assert code("not bytes") == "image_invalid"


def test_identity_detects_truncated_jpeg() -> None:
    data = jpeg(640, 480)
    assert code(data[: len(data) // 2]) == "image_truncated"


def test_identity_detects_truncated_png() -> None:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(
        buf, "PNG"
    )
    data = buf.getvalue()
    assert code(data[: len(data) - 40]) in ("image_truncated", "image_invalid")


def test_identity_rejects_too_many_bytes() -> None:
    assert code(jpeg(), ImageLimits(max_bytes=100)) == "image_too_large"


@pytest.mark.parametrize("size", [(20_000, 20_000), (100_000, 100_000), (2**31 - 1, 2**31 - 1)])
def test_identity_rejects_decompression_bombs(size: tuple[int, int]) -> None:
    assert code(png_header_only(*size)) == "image_too_large"


def test_identity_rejects_tiny_images() -> None:
    assert code(jpeg(16, 16)) == "image_too_small"


def test_identity_reduces_huge_jpegs_on_decode() -> None:
    img = decode_image(jpeg(4400, 3000), ImageLimits(work_side=1024))
    assert img.shape[:2] == (750, 1100)


def test_identity_load_image_sources(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    path.write_bytes(jpeg())
    assert load_image(path).shape == (48, 64, 3)
    assert load_image(str(path)).shape == (48, 64, 3)
    arr = np.zeros((40, 40, 3), np.uint8)
    assert load_image(arr) is arr
    with pytest.raises(IdentityError):
        load_image(np.zeros((40, 40), np.float32))
    with pytest.raises(IdentityError) as info:
        load_image(tmp_path / "missing.jpg")
    assert info.value.code == "image_invalid"
    assert info.value.http_status == 400
