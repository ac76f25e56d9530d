"""Active liveness: a challenge-response protocol over a short sequence of frames.

1. The server issues a challenge: a random sequence of actions (``turn_left``, ``turn_right``,
   ``blink``, ``open_mouth``), a random nonce and an expiry, signed with HMAC-SHA256 into a token.
   Verifying the token needs no state (signature, tenant, expiry); one-time use is enforced by a
   :class:`ChallengeStore` that remembers consumed nonces until they expire.
2. The client records frames while the user performs the actions, first frame neutral and
   frontal, and submits them with the token.
3. The server checks, in order: token (signature, tenant, expiry, not used before), one face per
   frame, the face track (no jumps between consecutive frames), each action seen in the requested
   order relative to the first frame, the same identity throughout (templates of the first frame,
   of each action's frame and of the last frame within the matching threshold), and the passive
   liveness of the first frame.

Signals from five landmarks (honest limits):

* head turn — yaw from the nose offset against the eye midpoint (see ``estimate_pose``); a turn
  counts at 15° from the first frame. ``turn_left`` is the subject's left: in an unmirrored camera
  frame the nose moves towards the image's right (positive yaw).
* blink — five points give no eyelid contour, so no eye-aspect ratio. We use the eye patches'
  contrast (grey-level standard deviation of a 0.5×0.3 inter-ocular patch at each eye centre,
  divided by that of the whole face): an open eye shows iris and sclera, a closed one skin and a
  lash line. A blink is a frame whose openness drops below 75% of the first frame's, followed by
  one back above 90%. Glasses, glare and low resolution weaken this signal.
* open mouth — the share of dark pixels (below 55% of the face's median grey) in a patch spanning
  the mouth corners and 0.45 inter-ocular distances below them, and the drop of the mouth corners
  from the nose; the mouth counts as open when the dark share grows by 0.12 or the corners drop by
  12% relative to the first frame. A beard or dark lipstick weakens it.

A dense landmark model or a trained eye/mouth-state classifier would be stronger; these signals
are meant to make replaying a still photo or a recorded clip of another challenge fail, not to
stop a real-time 3D deepfake.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np

from ruleplus.errors import IdentityError
from ruleplus.identity.detect import Face
from ruleplus.identity.engine import IdentityEngine, ImageInput
from ruleplus.identity.match import distance
from ruleplus.identity.quality import estimate_pose, face_chip

__all__ = [
    "ACTIONS",
    "ActiveLivenessVerifier",
    "ActiveResult",
    "Challenge",
    "ChallengeIssuer",
    "ChallengeStore",
    "FrameSignals",
    "InMemoryChallengeStore",
    "frame_signals",
]

ACTIONS = ("turn_left", "turn_right", "blink", "open_mouth")
TURN_DEGREES = 15.0
BLINK_CLOSED, BLINK_OPEN = 0.75, 0.9
MOUTH_DARK_GAIN, MOUTH_DROP = 0.12, 0.12


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Challenge:
    """An issued challenge."""

    challenge_id: str
    tenant_id: str
    actions: list[str]
    issued_at: float
    expires_at: float
    token: str

    def to_dict(self) -> dict[str, Any]:
        """Return what the client needs."""
        return {
            "challenge_id": self.challenge_id,
            "actions": self.actions,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "token": self.token,
        }


class ChallengeStore(Protocol):
    """Remembers consumed challenges until they expire."""

    def consume(self, challenge_id: str, expires_at: float, now: float) -> bool:
        """Mark a challenge used; ``False`` when it was used before."""
        ...


class InMemoryChallengeStore:
    """Consumed-nonce set with expiry (one process; use a shared store with several workers)."""

    def __init__(self) -> None:
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    def consume(self, challenge_id: str, expires_at: float, now: float | None = None) -> bool:
        """Mark a challenge used; ``False`` when it was used before."""
        now = time.time() if now is None else now
        with self._lock:
            for key in [k for k, exp in self._used.items() if exp < now]:
                del self._used[key]
            if challenge_id in self._used:
                return False
            self._used[challenge_id] = expires_at
            return True


class ChallengeIssuer:
    """Issues and opens HMAC-signed challenges.

    Parameters
    ----------
    secret : bytes
        HMAC key (at least 16 bytes); share it between the workers of one deployment.
    store : ChallengeStore, optional
        One-time-use enforcement; defaults to :class:`InMemoryChallengeStore`.
    ttl : float, default=60
        Seconds a challenge stays valid.
    n_actions : int, default=2
        Actions per challenge (distinct, random order).
    """

    def __init__(
        self,
        secret: bytes,
        store: ChallengeStore | None = None,
        ttl: float = 60.0,
        n_actions: int = 2,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("the challenge secret must be at least 16 bytes")
        self._secret = secret
        self.store = store or InMemoryChallengeStore()
        self.ttl = ttl
        self.n_actions = max(1, min(n_actions, len(ACTIONS)))
        self._rng = secrets.SystemRandom()

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._secret, body.encode(), hashlib.sha256).digest())

    def issue(
        self, tenant_id: str, actions: list[str] | None = None, now: float | None = None
    ) -> Challenge:
        """Issue a challenge for ``tenant_id`` (random actions unless given)."""
        now = time.time() if now is None else now
        if actions is None:
            actions = self._rng.sample(ACTIONS, self.n_actions)
            if {"turn_left", "turn_right"} <= set(actions) and self.n_actions == 2:
                actions = [actions[0], self._rng.choice(["blink", "open_mouth"])]
        unknown = set(actions) - set(ACTIONS)
        if unknown:
            raise IdentityError("challenge_invalid", f"unknown actions {sorted(unknown)}")
        payload = {
            "id": uuid.uuid4().hex,
            "nonce": secrets.token_hex(16),
            "t": tenant_id,
            "a": actions,
            "iat": now,
            "exp": now + self.ttl,
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return Challenge(
            str(payload["id"]),
            tenant_id,
            list(actions),
            now,
            now + self.ttl,
            f"{body}.{self._sign(body)}",
        )

    def open(
        self, token: str, tenant_id: str, now: float | None = None, consume: bool = True
    ) -> dict[str, Any]:
        """Check a token (signature, tenant, expiry, one-time use) and return its payload.

        Raises
        ------
        IdentityError
            ``challenge_invalid``, ``challenge_expired`` or ``challenge_replayed``.
        """
        now = time.time() if now is None else now
        try:
            body, signature = str(token).split(".", 1)
            good = hmac.compare_digest(signature, self._sign(body))
            payload = json.loads(_unb64(body)) if good else None
        except (ValueError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict):
            raise IdentityError("challenge_invalid", "the challenge token is not valid")
        if payload.get("t") != tenant_id:
            raise IdentityError("challenge_invalid", "the challenge belongs to another tenant")
        if now > float(payload["exp"]):
            raise IdentityError("challenge_expired", "the challenge has expired; ask for a new one")
        if consume and not self.store.consume(str(payload["id"]), float(payload["exp"]), now):
            raise IdentityError("challenge_replayed", "the challenge was already used")
        return payload


@dataclass(frozen=True)
class FrameSignals:
    """What one frame shows."""

    face: Face = field(repr=False)
    yaw: float | None
    eye_openness: float
    mouth_dark: float
    mouth_drop: float | None


def _patch(
    grey: np.ndarray, center: np.ndarray, half_w: float, half_h: float, dy: float = 0.0
) -> np.ndarray:
    x, y = float(center[0]), float(center[1]) + dy
    x0, x1 = max(0, int(x - half_w)), min(grey.shape[1], int(x + half_w) + 1)
    y0, y1 = max(0, int(y - half_h)), min(grey.shape[0], int(y + half_h) + 1)
    return grey[y0:y1, x0:x1]


def frame_signals(image: np.ndarray, face: Face) -> FrameSignals:
    """Measure yaw, eye openness and mouth opening of ``face``."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    iod = max(face.interocular, 1.0)
    marks = face.landmarks
    chip = face_chip(image, face).astype(np.float32)
    face_std = max(float(chip.std()), 1.0)
    eyes = [_patch(grey, marks[i], 0.25 * iod, 0.15 * iod) for i in (0, 1)]
    openness = float(np.mean([p.std() for p in eyes if p.size])) / face_std if eyes else 0.0
    yaw, _, _ = estimate_pose(marks)
    mouth_dark, mouth_drop = 0.0, None
    if not np.isnan(marks[3:5]).any():
        centre = marks[3:5].mean(axis=0)
        half_w = max(2.0, abs(float(marks[4, 0] - marks[3, 0])) / 2)
        region = _patch(grey, centre, half_w, 0.25 * iod, dy=0.15 * iod)
        median = float(np.median(chip))
        mouth_dark = float((region < 0.55 * median).mean()) if region.size else 0.0
        mouth_drop = float(centre[1] - marks[2, 1]) / iod
    return FrameSignals(face, yaw, openness, mouth_dark, mouth_drop)


def _action_seen(
    action: str, base: FrameSignals, sig: FrameSignals, state: dict[str, bool]
) -> bool:
    if action in ("turn_left", "turn_right"):
        if sig.yaw is None or base.yaw is None:
            return False
        delta = sig.yaw - base.yaw
        return delta >= TURN_DEGREES if action == "turn_left" else delta <= -TURN_DEGREES
    if action == "blink":
        ratio = sig.eye_openness / max(base.eye_openness, 1e-6)
        if ratio <= BLINK_CLOSED:
            state["closed"] = True
            return False
        return state.get("closed", False) and ratio >= BLINK_OPEN
    if action == "open_mouth":
        dark = sig.mouth_dark - base.mouth_dark >= MOUTH_DARK_GAIN
        drop = (
            sig.mouth_drop is not None
            and base.mouth_drop is not None
            and sig.mouth_drop >= base.mouth_drop * (1 + MOUTH_DROP)
        )
        return dark or drop
    return False


@dataclass
class ActiveResult:
    """Outcome of an active-liveness verification."""

    passed: bool
    reasons: list[str]
    actions: list[dict[str, Any]]
    max_identity_distance: float | None
    passive_score: float | None
    frames: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict."""
        return {
            "passed": self.passed,
            "live": self.passed,
            "reasons": self.reasons,
            "actions": self.actions,
            "frames": self.frames,
            "max_identity_distance": None
            if self.max_identity_distance is None
            else round(self.max_identity_distance, 4),
            "passive_score": None if self.passive_score is None else round(self.passive_score, 4),
        }


class ActiveLivenessVerifier:
    """Verifies frames against a challenge.

    Parameters
    ----------
    engine : IdentityEngine
    issuer : ChallengeIssuer
    min_frames, max_frames : int, default=2, 40
    check_passive : bool, default=True
        Also require passive liveness on the first frame.
    """

    def __init__(
        self,
        engine: IdentityEngine,
        issuer: ChallengeIssuer,
        min_frames: int = 2,
        max_frames: int = 40,
        check_passive: bool = True,
    ) -> None:
        self.engine = engine
        self.issuer = issuer
        self.min_frames = min_frames
        self.max_frames = max_frames
        self.check_passive = check_passive

    def verify(
        self, token: str, tenant_id: str, frames: Sequence[ImageInput], now: float | None = None
    ) -> ActiveResult:
        """Check the token, then the frames (see the module docstring for the order)."""
        if not self.min_frames <= len(frames) <= self.max_frames:
            raise IdentityError(
                "frames_invalid",
                f"send between {self.min_frames} and {self.max_frames} frames",
                frames=len(frames),
            )
        payload = self.issuer.open(token, tenant_id, now)
        actions: list[str] = list(payload["a"])
        images, signals = [], []
        for i, frame in enumerate(frames):
            image = self.engine.load(frame)
            faces = self.engine.detector.detect(image)
            if not faces:
                raise IdentityError("no_face", f"no face in frame {i}", frame=i)
            if len(faces) > 1 and faces[1].size >= 0.7 * faces[0].size:
                raise IdentityError("multiple_faces", f"several faces in frame {i}", frame=i)
            images.append(image)
            signals.append(frame_signals(image, faces[0]))
        reasons: list[str] = []
        for i in range(1, len(signals)):
            a, b = signals[i - 1].face, signals[i].face
            ca = np.array([a.box[0] + a.box[2] / 2, a.box[1] + a.box[3] / 2])
            cb = np.array([b.box[0] + b.box[2] / 2, b.box[1] + b.box[3] / 2])
            if np.linalg.norm(ca - cb) > 1.0 * max(a.size, b.size):
                reasons.append("active.track_broken")
                break
        base, pointer = signals[0], 0
        state: dict[str, bool] = {}
        found: list[dict[str, Any]] = []
        for i, sig in enumerate(signals[1:], start=1):
            if pointer < len(actions) and _action_seen(actions[pointer], base, sig, state):
                found.append({"action": actions[pointer], "frame": i, "detected": True})
                pointer, state = pointer + 1, {}
        for action in actions[pointer:]:
            found.append({"action": action, "frame": None, "detected": False})
            reasons.append(f"active.{action}_not_seen")
        probe = sorted({0, len(images) - 1, *(f["frame"] for f in found if f["frame"])})
        templates = [self.engine.embedder.embed(images[i], signals[i].face) for i in probe]
        worst = max((distance(templates[0], t) for t in templates[1:]), default=0.0)
        if worst > self.engine.embedder.threshold:
            reasons.append("active.identity_changed")
        passive = None
        if self.check_passive and self.engine.liveness_model is not None:
            passive = self.engine.liveness_model.score(images[0], signals[0].face)
            if not passive.live:
                reasons.append("liveness.spoof")
        return ActiveResult(
            not reasons, reasons, found, worst, passive.score if passive else None, len(frames)
        )
