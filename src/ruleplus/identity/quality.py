"""Face quality: named checks, each with a value, a threshold and a pass/fail.

Measurements are taken on the face box resampled to a 160×160 grey chip (the scale the embedder
works at), so they do not depend on the photo's resolution:

* ``face_size`` — shorter side of the detected box in original pixels (``>= min``).
* ``sharpness`` — variance of the Laplacian of the chip after a light Gaussian (σ 1, so that
  sensor noise does not pass for detail), with the face's contrast normalised to a standard
  deviation of 50 grey levels so that dim faces are not called blurred (``>= min``).
* ``noise`` — Immerkær's noise σ estimate on the chip, in grey levels (``<= max``).
* ``brightness`` — mean grey level of the face (``>= min`` else under-exposed,
  ``<= max`` else over-exposed; reported as two checks, ``underexposure`` and ``overexposure``).
* ``backlight`` — mean grey level of the surroundings minus that of the face (``<= max``).
* ``colour_cast`` — how far the scene's illuminant is from white: the largest
  ``|log(channel mean / grey mean)|`` over the whole image (grey-world estimate, ``<= max``).
* ``yaw``, ``pitch``, ``roll`` — head pose in degrees from the five landmarks (``|x| <= max``).
* ``multiple_faces`` — faces other than the main one comparable in size and
  confidently detected (``<= 0``); with the defaults at least 0.7 of its size.

Every failed check becomes a reason (``quality.<name>``) that a strategy can act on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from ruleplus.identity.detect import Face

__all__ = [
    "QualityCheck",
    "QualityReport",
    "QualityThresholds",
    "assess_quality",
    "cast_of_means",
    "channel_means",
    "colour_cast",
    "estimate_pose",
]

_LAPLACE_NOISE = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)


@dataclass(frozen=True)
class QualityThresholds:
    """Thresholds of the quality checks.

    Defaults separate the clean shared face photos from synthetic blur, low light and backlight
    (5th/95th percentiles); they were not tuned on matching accuracy.

    Parameters
    ----------
    min_face_size : float, default=60
    min_sharpness : float, default=15
    max_noise : float, default=6
    min_brightness : float, default=60
    max_brightness : float, default=205
    max_backlight : float, default=45
    max_colour_cast : float, default=0.4
        A channel more than about 50% off the grey mean (``exp(0.4)``): a cast strong enough to
        report (3% of the clean shared photos exceed it).
    balance_colour_cast : float, default=0.3
        Not a check: above this cast the engine white-balances the image before detection and
        embedding (when it enhances). Milder casts do not hurt matching, and balancing them
        changed nothing on clean pairs but added a false accept on blurred ones.
    liveness_colour_cast : float, default=0.1
        Not a check: above this cast (a channel about 10% off grey) the image is white-balanced
        before passive liveness. Low on purpose — the recaptured sample F1 already scored
        live (0.51) under a cast of 0.24.
    max_yaw : float, default=30
    max_pitch : float, default=25
    max_roll : float, default=30
    competing_face_ratio : float, default=0.7
        A second face counts when its size is at least this fraction of the main one's.
    competing_face_score : float, default=0.85
        ... and its detector confidence at least this.
    """

    min_face_size: float = 60
    min_sharpness: float = 15
    max_noise: float = 6
    min_brightness: float = 60
    max_brightness: float = 205
    max_backlight: float = 45
    max_colour_cast: float = 0.4
    balance_colour_cast: float = 0.3
    liveness_colour_cast: float = 0.1
    max_yaw: float = 30
    max_pitch: float = 25
    max_roll: float = 30
    competing_face_ratio: float = 0.7
    competing_face_score: float = 0.85


@dataclass(frozen=True)
class QualityCheck:
    """One named check.

    Parameters
    ----------
    name : str
    value : float or None
        The measurement (``None`` when it cannot be measured, e.g. pitch without mouth points).
    threshold : float
    op : {"<=", ">=", "|x|<="}
        How the value is compared with the threshold.
    passed : bool
    """

    name: str
    value: float | None
    threshold: float
    op: str
    passed: bool

    @property
    def reason(self) -> str:
        """The reason code of a failure (``quality.<name>``)."""
        return f"quality.{self.name}"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict."""
        value = None if self.value is None else round(float(self.value), 3)
        return {
            "name": self.name,
            "value": value,
            "threshold": self.threshold,
            "op": self.op,
            "passed": self.passed,
        }


@dataclass(frozen=True)
class QualityReport:
    """All checks of one face.

    Parameters
    ----------
    checks : list of QualityCheck
    """

    checks: list[QualityCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[QualityCheck]:
        """The failed checks."""
        return [c for c in self.checks if not c.passed]

    @property
    def reasons(self) -> list[str]:
        """Reason codes of the failed checks."""
        return [c.reason for c in self.failures]

    def get(self, name: str) -> QualityCheck:
        """Return the check called ``name``."""
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict."""
        return {
            "passed": self.passed,
            "reasons": self.reasons,
            "checks": {c.name: c.to_dict() for c in self.checks},
        }


def estimate_pose(landmarks: np.ndarray) -> tuple[float | None, float | None, float]:
    """Return ``(yaw, pitch, roll)`` in degrees from five landmarks (a weak-perspective model).

    Roll is the angle of the eye line. Yaw: the nose tip sits about 0.55 inter-ocular distances
    in front of the eye plane, so its sideways offset from the eye midpoint (after undoing roll)
    is ``0.55 · tan(yaw)`` inter-ocular distances; positive yaw = nose towards the image's right.
    Pitch: the nose's position between the eye line and the mouth line, relative to its frontal
    value (0.585); positive = head tilted up. ``None`` when a needed landmark is missing.
    """
    eye_r, eye_l, nose = landmarks[0], landmarks[1], landmarks[2]
    if np.isnan(eye_r).any() or np.isnan(eye_l).any():
        return None, None, 0.0
    dx, dy = eye_l - eye_r
    roll = math.degrees(math.atan2(dy, dx))
    iod = math.hypot(dx, dy)
    if iod < 1e-6 or np.isnan(nose).any():
        return None, None, roll
    c, s = math.cos(-math.radians(roll)), math.sin(-math.radians(roll))
    rot = np.array([[c, -s], [s, c]])
    mid = (eye_r + eye_l) / 2
    pts = (landmarks - mid) @ rot.T / iod
    yaw = math.degrees(math.atan(pts[2, 0] / 0.55))
    pitch = None
    mouth = pts[3:5]
    if not np.isnan(mouth).any():
        mouth_y = float(mouth[:, 1].mean())
        if mouth_y > 1e-3:
            offset = 0.585 - pts[2, 1] / mouth_y
            pitch = math.degrees(math.asin(max(-1.0, min(1.0, offset * mouth_y / 0.55))))
    return yaw, pitch, roll


def face_chip(image: np.ndarray, face: Face, size: int = 160) -> np.ndarray:
    """Return the grey face box resampled to ``size``×``size``."""
    x, y, w, h = face.box
    x0, y0 = max(0, int(x)), max(0, int(y))
    x1, y1 = min(image.shape[1], int(x + w)), min(image.shape[0], int(y + h))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros((size, size), np.uint8)
    grey = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    return cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA)


def _surround_brightness(image: np.ndarray, face: Face) -> float:
    h, w = image.shape[:2]
    x, y, bw, bh = face.box
    x0, y0 = max(0, int(x - bw)), max(0, int(y - 0.6 * bh))
    x1, y1 = min(w, int(x + 2 * bw)), min(h, int(y + 1.6 * bh))
    region = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    mask = np.ones(region.shape, bool)
    fx0, fy0 = max(0, int(x) - x0), max(0, int(y) - y0)
    mask[fy0 : fy0 + int(bh), fx0 : fx0 + int(bw)] = False
    return float(region[mask].mean()) if mask.any() else float(region.mean())


def channel_means(image: np.ndarray) -> np.ndarray:
    """Mean of each colour channel (BGR, at least 1), on a 64×64 thumbnail: the grey-world
    estimate of the illuminant that :func:`colour_cast` and white balancing share."""
    small = cv2.resize(image, (64, 64), interpolation=cv2.INTER_AREA).reshape(-1, 3)
    means: np.ndarray = np.maximum(small.astype(np.float32).mean(axis=0), 1.0)
    return means


def colour_cast(image: np.ndarray) -> float:
    """Largest ``|log(channel mean / grey mean)|`` of ``image`` (0 for a grey-world scene)."""
    if image.ndim != 3 or image.shape[2] != 3:
        return 0.0
    return cast_of_means(channel_means(image))


def cast_of_means(means: np.ndarray) -> float:
    """:func:`colour_cast` from channel means already measured."""
    return float(np.max(np.abs(np.log(means / means.mean()))))


def measure(image: np.ndarray, face: Face, cast: float | None = None) -> dict[str, float | None]:
    """Return the raw measurements behind :func:`assess_quality`.

    ``cast`` is the colour cast when already measured — on the original capture, when
    ``image`` has been white-balanced since.
    """
    chip = face_chip(image, face)
    smooth = cv2.GaussianBlur(chip.astype(np.float32), (0, 0), 1.0)
    contrast = max(float(smooth[24:136, 24:136].std()), 4.0)
    sharpness = float(cv2.Laplacian(smooth * (50.0 / contrast), cv2.CV_32F).var())
    conv = cv2.filter2D(chip.astype(np.float32), -1, _LAPLACE_NOISE)[1:-1, 1:-1]
    noise_sigma = float(np.sqrt(np.pi / 2) * np.abs(conv).mean() / 6.0)
    inner = chip[24:136, 24:136]
    brightness = float(inner.mean())
    backlight = _surround_brightness(image, face) - brightness
    yaw, pitch, roll = estimate_pose(face.landmarks)
    return {
        "face_size": face.size,
        "sharpness": sharpness,
        "noise": noise_sigma,
        "brightness": brightness,
        "backlight": backlight,
        "colour_cast": colour_cast(image) if cast is None else cast,
        "yaw": yaw,
        "pitch": pitch,
        "roll": roll,
    }


def _check(name: str, value: float | None, threshold: float, op: str) -> QualityCheck:
    if value is None:
        return QualityCheck(name, None, threshold, op, True)
    if op == ">=":
        ok = value >= threshold
    elif op == "<=":
        ok = value <= threshold
    else:
        ok = abs(value) <= threshold
    return QualityCheck(name, float(value), threshold, op, bool(ok))


def assess_quality(
    image: np.ndarray,
    face: Face,
    others: list[Face] | None = None,
    thresholds: QualityThresholds | None = None,
    cast: float | None = None,
) -> QualityReport:
    """Run every quality check on ``face`` in ``image``.

    Parameters
    ----------
    image : numpy.ndarray
        BGR ``uint8`` image.
    face : Face
        The main face.
    others : list of Face, optional
        The other faces found in the image.
    thresholds : QualityThresholds, optional
        Defaults to :class:`QualityThresholds`.
    cast : float, optional
        The colour cast when already measured (on the original capture, when ``image`` was
        corrected since).
    """
    t = thresholds or QualityThresholds()
    m = measure(image, face, cast)
    competing = [
        f
        for f in others or []
        if f.size >= t.competing_face_ratio * face.size and f.score >= t.competing_face_score
    ]
    checks = [
        _check("face_size", m["face_size"], t.min_face_size, ">="),
        _check("sharpness", m["sharpness"], t.min_sharpness, ">="),
        _check("noise", m["noise"], t.max_noise, "<="),
        _check("underexposure", m["brightness"], t.min_brightness, ">="),
        _check("overexposure", m["brightness"], t.max_brightness, "<="),
        _check("backlight", m["backlight"], t.max_backlight, "<="),
        _check("colour_cast", m["colour_cast"], t.max_colour_cast, "<="),
        _check("yaw", m["yaw"], t.max_yaw, "|x|<="),
        _check("pitch", m["pitch"], t.max_pitch, "|x|<="),
        _check("roll", m["roll"], t.max_roll, "|x|<="),
        _check("multiple_faces", float(len(competing)), 0, "<="),
    ]
    return QualityReport(checks)


def with_thresholds(thresholds: QualityThresholds, **changes: float) -> QualityThresholds:
    """Return a copy of ``thresholds`` with some values changed."""
    return replace(thresholds, **changes)
