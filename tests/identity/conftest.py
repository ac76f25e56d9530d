"""Fixtures of the identity tests: synthetic frames (shared data, models and the engine are in
the suite-wide conftest, since the service's identity router tests use them too)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture(scope="session")
def synth() -> dict[str, Callable[..., Any]]:
    """Frame generators: head turn (cylinder warp), closed eyes, open mouth, two faces."""
    cv2 = pytest.importorskip("cv2")
    np = pytest.importorskip("numpy")

    def turn(img: Any, face: Any, degrees: float) -> Any:
        h, w = img.shape[:2]
        x, _, bw, _ = face.box
        cx, radius = x + bw / 2, 0.75 * bw
        xs = np.arange(w, dtype=np.float32)
        phi = np.arcsin(np.clip((xs - cx) / radius, -1, 1)) - np.radians(degrees)
        src = np.where(
            np.abs(xs - cx) < radius, cx + radius * np.sin(np.clip(phi, -np.pi / 2, np.pi / 2)), xs
        )
        mapx = np.tile(src.astype(np.float32), (h, 1))
        mapy = np.tile(np.arange(h, dtype=np.float32)[:, None], (1, w))
        return cv2.remap(img, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def close_eyes(img: Any, face: Any) -> Any:
        out, iod = img.copy(), face.interocular
        for i in (0, 1):
            ex, ey = face.landmarks[i]
            skin = (
                img[
                    int(ey + 0.35 * iod) : int(ey + 0.5 * iod),
                    int(ex - 0.15 * iod) : int(ex + 0.15 * iod),
                ]
                .reshape(-1, 3)
                .mean(0)
            )
            cv2.ellipse(
                out,
                (int(ex), int(ey)),
                (int(0.28 * iod), int(0.17 * iod)),
                0,
                0,
                360,
                skin.tolist(),
                -1,
            )
            cv2.line(
                out,
                (int(ex - 0.22 * iod), int(ey + 0.03 * iod)),
                (int(ex + 0.22 * iod), int(ey + 0.03 * iod)),
                (40, 40, 50),
                2,
            )
        return cv2.GaussianBlur(out, (3, 3), 0)

    def open_mouth(img: Any, face: Any) -> Any:
        out, iod = img.copy(), face.interocular
        m = face.landmarks[3:5].mean(0)
        half = abs(face.landmarks[4, 0] - face.landmarks[3, 0]) / 2
        cv2.ellipse(
            out,
            (int(m[0]), int(m[1] + 0.12 * iod)),
            (int(half * 0.85), int(0.28 * iod)),
            0,
            0,
            360,
            (25, 20, 30),
            -1,
        )
        return out

    def encode(img: Any) -> bytes:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 92])
        assert ok
        return bytes(buf.tobytes())

    return {"turn": turn, "close_eyes": close_eyes, "open_mouth": open_mouth, "encode": encode}
