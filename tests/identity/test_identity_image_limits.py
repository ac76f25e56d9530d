"""Hostile images get a specific 4xx code, never a 500, and ordinary photos still decode.

Every image is made here (numpy, OpenCV, Pillow); oversized ones are header-only PNGs, since
their refusal must come from the header, before any pixel is decoded.
"""

from __future__ import annotations

import io
import re
import struct
import zlib

import pytest

cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")
Image = pytest.importorskip("PIL.Image")
pytest.importorskip("simplejpeg")

from ruleplus.errors import ERROR_CODES, IdentityError  # noqa: E402
from ruleplus.identity._image import ImageLimits, decode_image  # noqa: E402

EOI = b"\xff\xd9"


def chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


IEND = chunk(b"IEND", b"")


def png_header_only(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    """A PNG whose IHDR declares the size and sample format, with a one-byte body."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + IEND


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        out.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def with_idat(data: bytes, idat: bytes) -> bytes:
    """``data`` rebuilt with one IDAT chunk of ``idat`` (valid CRC) and IEND."""
    head = b"".join(chunk(k, v) for k, v in png_chunks(data) if k not in (b"IDAT", b"IEND"))
    return data[:8] + head + (chunk(b"IDAT", idat) if idat else b"") + IEND


def photo(height: int = 240, width: int = 320, seed: int = 0) -> np.ndarray:
    """A smooth random BGR image: compresses like a photo, every region different."""
    noise = np.random.default_rng(seed).integers(0, 255, (height, width, 3), np.uint8)
    return cv2.GaussianBlur(noise, (9, 9), 0)


def encode(img: np.ndarray, ext: str, *params: int) -> bytes:
    ok, buf = cv2.imencode(ext, img, list(params))
    assert ok
    return bytes(buf.tobytes())


def pil_bytes(im: object, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)  # type: ignore[attr-defined]
    return buf.getvalue()


def jpeg(kind: str = "baseline") -> bytes:
    img = photo()
    if kind == "progressive":
        return encode(img, ".jpg", cv2.IMWRITE_JPEG_PROGRESSIVE, 1)
    if kind == "restart":
        return encode(img, ".jpg", cv2.IMWRITE_JPEG_RST_INTERVAL, 4)
    if kind == "grey":
        return encode(img[..., 0], ".jpg")
    if kind == "cmyk":
        return pil_bytes(Image.fromarray(img[..., ::-1]).convert("CMYK"), "JPEG")
    return encode(img, ".jpg")


def scan_starts(data: bytes) -> list[int]:
    return [m.start() for m in re.finditer(rb"\xff\xda", data)]


def code(data: object, limits: ImageLimits | None = None) -> str:
    with pytest.raises(IdentityError) as info:
        decode_image(data, limits or ImageLimits())  # type: ignore[arg-type]
    assert info.value.http_status in (400, 413)
    return info.value.code


def test_identity_refuses_a_40_by_1_000_000_png() -> None:
    data = pil_bytes(Image.new("1", (40, 1_000_000)), "PNG")  # the review's image, 6 KB
    assert code(data) == "image_too_large"


@pytest.mark.parametrize(
    "size", [(1_000_000, 40), (65_535, 32), (32, 65_535), (65_535, 4_000), (1, 20_000), (20_000, 1)]
)
def test_identity_refuses_huge_single_dimensions(size: tuple[int, int]) -> None:
    assert code(png_header_only(*size)) == "image_too_large"


@pytest.mark.parametrize("size", [(33, 200), (200, 33), (40, 161), (1000, 240)])
def test_identity_refuses_extreme_aspect_ratios(size: tuple[int, int]) -> None:
    width, height = size
    with pytest.raises(IdentityError) as info:
        decode_image(encode(photo(height, width), ".png"))
    assert info.value.code == "image_invalid"
    assert "4:1" in info.value.message


def test_identity_counts_decoded_bytes_not_only_pixels() -> None:
    rgb = photo(64, 64)
    limits = ImageLimits(max_decoded_bytes=64 * 64 * 4)  # 4 bytes per pixel
    deep = rgb.astype(np.uint16) * 257
    alpha = np.dstack([rgb, np.full((64, 64), 255, np.uint8)])
    for refused in (deep, np.dstack([deep, deep[..., 0]])):  # 16-bit RGB (6), RGBA (8)
        assert code(encode(refused, ".png"), limits) == "image_too_large"
    for accepted in (rgb, alpha, deep[..., 0]):  # 8-bit RGB (3), RGBA (4), 16-bit grey (2 -> 3)
        assert decode_image(encode(accepted, ".png"), limits).shape == (64, 64, 3)
    with pytest.raises(IdentityError) as info:
        decode_image(encode(deep, ".png"), limits)
    assert "bytes" in info.value.message and info.value.context["decoded_bytes"] == 64 * 64 * 6


def test_identity_default_limits_fit_phone_photos_not_the_39_6_mp_16_bit_png() -> None:
    for width, height, scale in ((4032, 3024, 1), (4608, 3456, 2)):  # 12 and 16 MP phone photos
        img = np.full((height, width, 3), 120, np.uint8)  # (16 MP: longer side 2304 after 1/2)
        assert decode_image(encode(img, ".jpg")).shape == (height // scale, width // scale, 3)
    assert code(png_header_only(7680, 5160, depth=16)) == "image_too_large"  # 39.6 MP
    assert code(png_header_only(5000, 4000, depth=16)) == "image_too_large"  # 20 MP, 120 MB
    assert code(png_header_only(6000, 5000)) == "image_too_large"  # 30 MP


@pytest.mark.parametrize("kind", ["bmp", "tiff", "tiff16", "gif"])
def test_identity_refuses_formats_a_photo_never_needs(kind: str) -> None:
    img = photo(64, 64)
    data = {
        "bmp": lambda: encode(img, ".bmp"),
        "tiff": lambda: encode(img, ".tiff"),
        "tiff16": lambda: encode(img.astype(np.uint16) * 257, ".tiff"),
        "gif": lambda: pil_bytes(Image.fromarray(img), "GIF"),
    }[kind]()
    with pytest.raises(IdentityError) as info:
        decode_image(data)
    assert info.value.code == "image_invalid"
    assert "JPEG, PNG or WebP" in info.value.message


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_identity_refuses_animated_images(fmt: str) -> None:
    frames = [Image.fromarray(photo(64, 64, seed)) for seed in range(3)]
    data = pil_bytes(frames[0], fmt, save_all=True, append_images=frames[1:])
    assert code(data) == "image_invalid"


def test_identity_decodes_png_variants() -> None:
    """Palette, transparency, greyscale, 1-bit, 16-bit and interlaced PNGs still work."""
    rgb = photo(48, 64)[..., ::-1]
    im = Image.fromarray(rgb)
    variants = {
        "P": im.quantize(16),
        "P+tRNS": im.quantize(16),
        "L": im.convert("L"),
        "LA": im.convert("LA"),
        "RGBA": im.convert("RGBA"),
        "1": im.convert("1"),
        "I;16": Image.fromarray(rgb[..., 0].astype(np.uint16) * 257),
    }
    for name, variant in variants.items():
        kw = {"transparency": 0} if name == "P+tRNS" else {}
        for interlace in (0, 1):
            data = pil_bytes(variant, "PNG", optimize=False, interlace=interlace, **kw)
            out = decode_image(data)
            if name == "I;16":  # libpng keeps the high byte; Pillow's convert would clip
                expected = np.repeat((np.asarray(variant) >> 8).astype(np.uint8)[..., None], 3, 2)
            else:
                expected = np.asarray(variant.convert("RGB"))[..., ::-1]
            assert out.shape == (48, 64, 3), name
            assert np.abs(out.astype(int) - expected).max() <= 1, name
    deep = photo(48, 64).astype(np.uint16) * 257  # 16-bit RGB via OpenCV
    assert np.array_equal(decode_image(encode(deep, ".png")), photo(48, 64))


def test_identity_detects_truncated_png_with_iend_appended() -> None:
    data = encode(photo(), ".png")
    raw = zlib.decompress(b"".join(v for k, v in png_chunks(data) if k == b"IDAT"))
    whole = zlib.compress(raw)
    interlaced = pil_bytes(Image.fromarray(photo()), "PNG", interlace=1)
    hostile = {
        "cut mid-IDAT + IEND": data[: len(data) // 2] + IEND,
        "half the rows, valid zlib and CRC": with_idat(data, zlib.compress(raw[: len(raw) // 2])),
        "zlib stream cut, valid CRC": with_idat(data, whole[: len(whole) // 2]),
        "no IDAT at all": with_idat(data, b""),
        "interlaced, cut + IEND": interlaced[: len(interlaced) // 2] + IEND,
    }
    for name, bad in hostile.items():
        assert code(bad) == "image_truncated", name


@pytest.mark.parametrize("kind", ["baseline", "progressive", "restart", "grey", "cmyk"])
@pytest.mark.parametrize("tail", [EOI, b"\x13\x37" * 40 + EOI], ids=["eoi", "junk+eoi"])
def test_identity_detects_jpeg_truncated_mid_scan_with_eoi_appended(kind: str, tail: bytes) -> None:
    data = jpeg(kind)
    last = scan_starts(data)[-1]
    cut = last + (len(data) - last) * 3 // 5  # inside the last (for baseline: only) scan
    assert code(data[:cut] + tail) == "image_truncated"


def test_identity_detects_progressive_jpeg_cut_between_scans() -> None:
    """A progressive file cut exactly before a scan plus EOI is legal to libjpeg: no warning."""
    data = jpeg("progressive")
    starts = scan_starts(data)
    assert len(starts) >= 6
    for start in starts:
        assert code(data[:start] + EOI) == "image_truncated"


def test_identity_refuses_jpeg_scan_bombs() -> None:
    data = jpeg("progressive")
    starts = scan_starts(data)
    last_scan = data[starts[-1] : len(data) - 2]
    bomb = data[: len(data) - 2] + last_scan * 200 + EOI  # every scan is a pass over the image
    assert code(bomb) == "image_too_large"


@pytest.mark.parametrize("kind", ["baseline", "progressive", "restart", "grey", "cmyk", "mpo"])
def test_identity_decodes_jpeg_variants_as_opencv_does(kind: str) -> None:
    if kind == "mpo":  # phone JPEG with a second image (Pillow calls it MPO)
        first = Image.fromarray(photo()[..., ::-1])
        data = pil_bytes(first, "MPO", save_all=True, append_images=[first.rotate(90)])
    else:
        data = jpeg(kind)
    expected = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(decode_image(data), expected)


def test_identity_honours_exif_orientation() -> None:
    im = Image.fromarray(photo(60, 100)[..., ::-1])
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        data = pil_bytes(im, "JPEG", exif=exif.tobytes())
        expected = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        out = decode_image(data)
        assert out.shape == ((60, 100, 3) if orientation < 5 else (100, 60, 3))
        assert np.array_equal(out, expected), orientation


def test_identity_accepts_bytes_after_a_complete_image() -> None:
    img = photo()
    for data in (jpeg(), encode(img, ".png"), encode(img, ".webp")):
        assert decode_image(data + b"trailing garbage" * 20).shape == (240, 320, 3)


def test_identity_detects_truncated_webp() -> None:
    data = encode(photo(), ".webp")
    cut = data[: len(data) // 2]
    riff_fixed = cut[:4] + struct.pack("<I", len(cut) - 8) + cut[8:]
    assert code(cut) == "image_truncated"
    assert code(riff_fixed) == "image_truncated"


def test_identity_mangled_images_never_raise_anything_else() -> None:
    """Random cuts, bit flips and splices of each format: an image or an IdentityError."""
    rng = np.random.default_rng(7)
    seeds = [jpeg(), jpeg("progressive"), encode(photo(), ".png"), encode(photo(), ".webp")]
    for _ in range(300):
        data = bytearray(seeds[int(rng.integers(len(seeds)))])
        for _ in range(int(rng.integers(1, 6))):
            pos = int(rng.integers(len(data)))
            if rng.random() < 0.5:
                data[pos] ^= 1 << int(rng.integers(8))
            else:
                data[pos : pos + int(rng.integers(1, 64))] = rng.bytes(int(rng.integers(0, 64)))
        if rng.random() < 0.3:
            data = data[: int(rng.integers(len(data)))] + bytes(rng.choice([EOI, IEND, b""]))
        try:
            out = decode_image(bytes(data))
        except IdentityError as exc:
            assert exc.code in ERROR_CODES and exc.http_status < 500
        else:
            assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
