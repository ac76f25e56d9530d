"""Synthetic degradations used by the benchmark and tests: blur, noise, low light, backlight.

All are deterministic given ``seed`` and scale with the image size where a pixel size matters.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

__all__ = ["DEGRADATIONS", "backlight", "blur", "low_light", "noise"]


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


#: name → function(image, strength, seed)
DEGRADATIONS: dict[str, Callable[..., np.ndarray]] = {
    "blur": blur,
    "noise": noise,
    "low_light": low_light,
    "backlight": backlight,
}
