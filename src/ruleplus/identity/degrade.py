"""Synthetic degradations used by the benchmark and tests.

The four the identity issue names (blur, noise, low light, backlight) form :data:`DEGRADATIONS`;
:data:`EXTRA_DEGRADATIONS` adds conditions a capture meets in the field — motion blur, JPEG
compression, low resolution, strong light, rain, haze, a colour cast, a tilted head and a crowd —
as a stand-in for degradations nobody tuned against. All are deterministic given ``seed`` and
scale with the image size where a pixel size matters.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

__all__ = [
    "ALL_DEGRADATIONS",
    "DEGRADATIONS",
    "EXTRA_DEGRADATIONS",
    "backlight",
    "blur",
    "colour_cast",
    "crowd",
    "haze",
    "jpeg",
    "low_light",
    "low_resolution",
    "motion_blur",
    "noise",
    "rain",
    "strong_light",
    "tilt",
]


def blur(image: np.ndarray, strength: float = 1.0, seed: int = 0) -> np.ndarray:
    """Gaussian blur with sigma = ``0.006 × strength`` × the longer side (≈ 4 px at 640)."""
    sigma = max(0.5, 0.006 * strength * max(image.shape[:2]))
    result: np.ndarray = cv2.GaussianBlur(image, (0, 0), sigma)
    return result


def noise(image: np.ndarray, strength: float = 1.0, seed: int = 0) -> np.ndarray:
    """Additive Gaussian sensor noise, sigma = ``20 × strength`` grey levels, per channel."""
    rng = np.random.default_rng(seed)
    out = image.astype(np.float32) + rng.normal(0, 20 * strength, image.shape).astype(np.float32)
    result: np.ndarray = np.clip(out, 0, 255).astype(np.uint8)
    return result


def low_light(image: np.ndarray, strength: float = 1.0, seed: int = 0) -> np.ndarray:
    """Under-exposure: gamma 1.8, gain 0.3 (scaled by ``strength``), plus mild sensor noise."""
    rng = np.random.default_rng(seed)
    gain = 0.3**strength
    x = (image.astype(np.float32) / 255.0) ** (1 + 0.8 * strength) * gain * 255.0
    x += rng.normal(0, 3 * strength, image.shape).astype(np.float32)
    result: np.ndarray = np.clip(x, 0, 255).astype(np.uint8)
    return result


def backlight(
    image: np.ndarray,
    strength: float = 1.0,
    seed: int = 0,
    box: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """Bright background, dark subject: an elliptical soft mask around ``box`` (or the centre).

    Inside the ellipse the image is darkened (×0.35); outside it is pushed towards white.
    """
    h, w = image.shape[:2]
    if box is None:
        box = (w * 0.3, h * 0.2, w * 0.4, h * 0.5)
    x, y, bw, bh = box
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy, rx, ry = x + bw / 2, y + bh * 0.6, bw * 0.9, bh * 1.3
    d = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)
    mask = np.clip((d - 0.8) / 0.5, 0, 1)[..., None]  # 0 on the subject, 1 in the background
    img = image.astype(np.float32)
    subject = img * (0.35**strength)
    background = 255 - (255 - img) * (0.25**strength)
    result: np.ndarray = np.clip(subject * (1 - mask) + background * mask, 0, 255)
    return result.astype(np.uint8)


def motion_blur(image: np.ndarray, strength: float = 1.0, seed: int = 0) -> np.ndarray:
    """Linear motion blur: a line kernel ``0.02 × strength`` × the longer side, random angle."""
    rng = np.random.default_rng(seed)
    length = max(3, int(0.02 * strength * max(image.shape[:2])) | 1)
    line = np.zeros((length, length), np.float32)
    line[length // 2, :] = 1.0
    angle = float(rng.uniform(0, 180))
    rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), angle, 1.0)
    kernel: np.ndarray = cv2.warpAffine(line, rot, (length, length))
    kernel /= max(float(kernel.sum()), 1e-6)
    result: np.ndarray = cv2.filter2D(image, -1, kernel)
    return result


def jpeg(image: np.ndarray, strength: float = 1.0, seed: int = 0) -> np.ndarray:
    """Heavy JPEG re-compression: quality ``max(3, 30 − 20 × strength)`` (10 at strength 1)."""
    quality = int(max(3, 30 - 20 * strength))
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR) if ok else None
    return image if decoded is None else np.asarray(decoded)


def low_resolution(image: np.ndarray, strength: float = 1.0, seed: int = 0) -> np.ndarray:
    """A small camera: the image downscaled to a longer side of ``320 / strength`` pixels."""
    side = max(64, int(320 / max(strength, 1e-3)))
    h, w = image.shape[:2]
    scale = min(1.0, side / max(h, w))
    result: np.ndarray = cv2.resize(
        image, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA
    )
    return result


def strong_light(image: np.ndarray, strength: float = 1.0, seed: int = 0) -> np.ndarray:
    """Over-exposure: gain ``1 + 1.2 × strength`` with clipping (washed-out highlights)."""
    x = image.astype(np.float32) * (1 + 1.2 * strength) + 20 * strength
    result: np.ndarray = np.clip(x, 0, 255).astype(np.uint8)
    return result


def rain(image: np.ndarray, strength: float = 1.0, seed: int = 0) -> np.ndarray:
    """Rain: slanted bright streaks over a slightly darkened, softened image."""
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    drops = np.zeros((h, w), np.float32)
    count = int(0.002 * strength * h * w / 10)
    ys, xs = rng.integers(0, h, count), rng.integers(0, w, count)
    drops[ys, xs] = 1.0
    length = max(5, int(0.04 * max(h, w)))
    diagonal = np.zeros((length, length), np.float32)
    np.fill_diagonal(np.fliplr(diagonal), 1.0)
    kernel: np.ndarray = cv2.warpAffine(
        diagonal, cv2.getRotationMatrix2D((length / 2, length / 2), -15, 1.0), (length, length)
    )
    streaks = cv2.filter2D(drops, -1, kernel)
    streaks = cv2.GaussianBlur(streaks, (0, 0), max(0.5, 0.0015 * max(h, w)))
    streaks = np.clip(streaks / max(float(streaks.max()), 1e-6), 0, 1)[..., None] * 0.6
    base = cv2.GaussianBlur(image, (0, 0), max(0.5, 0.001 * max(h, w))).astype(np.float32) * 0.85
    result: np.ndarray = np.clip(base * (1 - streaks) + 230 * streaks, 0, 255)
    return result.astype(np.uint8)


def haze(image: np.ndarray, strength: float = 1.0, seed: int = 0) -> np.ndarray:
    """Fog or a dirty lens: blend ``0.45 × strength`` towards light grey (contrast loss)."""
    alpha = float(np.clip(0.45 * strength, 0, 0.9))
    x = image.astype(np.float32) * (1 - alpha) + 200.0 * alpha
    result: np.ndarray = np.clip(x, 0, 255).astype(np.uint8)
    return result


def colour_cast(image: np.ndarray, strength: float = 1.0, seed: int = 0) -> np.ndarray:
    """Tungsten or sodium light: blue reduced, red raised (BGR gains 0.6 / 0.95 / 1.25)."""
    gains = 1 + strength * (np.array([0.6, 0.95, 1.25], np.float32) - 1)
    result: np.ndarray = np.clip(image.astype(np.float32) * gains, 0, 255).astype(np.uint8)
    return result


def tilt(image: np.ndarray, strength: float = 1.0, seed: int = 0) -> np.ndarray:
    """An in-plane head (or camera) tilt of ``25 × strength`` degrees, sign from ``seed``."""
    h, w = image.shape[:2]
    angle = 25.0 * strength * (1 if seed % 2 == 0 else -1)
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    result: np.ndarray = cv2.warpAffine(image, rot, (w, h), borderMode=cv2.BORDER_REFLECT)
    return result


def crowd(image: np.ndarray, strength: float = 1.0, seed: int = 0) -> np.ndarray:
    """Bystanders: two smaller, mirrored copies of the scene pasted in the lower corners.

    The copies show faces ``0.3 × strength`` the size of the main one (at most 0.5), so the main
    face stays the largest; the check is that the other faces do not take its place.
    """
    h, w = image.shape[:2]
    scale = float(np.clip(0.3 * strength, 0.1, 0.5))
    small = cv2.resize(
        cv2.flip(image, 1),
        (max(1, int(w * scale)), max(1, int(h * scale))),
        interpolation=cv2.INTER_AREA,
    )
    out = image.copy()
    sh, sw = small.shape[:2]
    out[h - sh :, :sw] = small
    out[h - sh :, w - sw :] = small
    return out


#: name → function(image, strength, seed)
DEGRADATIONS: dict[str, Callable[..., np.ndarray]] = {
    "blur": blur,
    "noise": noise,
    "low_light": low_light,
    "backlight": backlight,
}

#: Conditions beyond the four the issue names, a stand-in for unseen degradations.
EXTRA_DEGRADATIONS: dict[str, Callable[..., np.ndarray]] = {
    "motion_blur": motion_blur,
    "jpeg": jpeg,
    "low_resolution": low_resolution,
    "strong_light": strong_light,
    "rain": rain,
    "haze": haze,
    "colour_cast": colour_cast,
    "tilt": tilt,
    "crowd": crowd,
}

ALL_DEGRADATIONS: dict[str, Callable[..., np.ndarray]] = {**DEGRADATIONS, **EXTRA_DEGRADATIONS}
