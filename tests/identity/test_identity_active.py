"""Active liveness: signed challenges (expiry, replay, tenant) and motion on synthetic frames."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

np = pytest.importorskip("numpy")

from ruleplus.errors import IdentityError  # noqa: E402
from ruleplus.identity.active import (  # noqa: E402
    ActiveLivenessVerifier,
    ChallengeIssuer,
)

SECRET = b"0123456789abcdef0123456789abcdef"


def code_of(fn: Any) -> str:
    with pytest.raises(IdentityError) as info:
        fn()
    return info.value.code


def test_identity_challenge_token_rules() -> None:
    issuer = ChallengeIssuer(SECRET, ttl=30)
    ch = issuer.issue("t1", now=1000.0)
    assert len(ch.actions) == 2 and len(set(ch.actions)) == 2
    assert issuer.open(ch.token, "t1", now=1010.0)["a"] == ch.actions
    assert code_of(lambda: issuer.open(ch.token, "t1", now=1011.0)) == "challenge_replayed"
    ch2 = issuer.issue("t1", now=1000.0)
    assert code_of(lambda: issuer.open(ch2.token, "t1", now=1031.0)) == "challenge_expired"
    assert code_of(lambda: issuer.open(ch2.token, "t2", now=1001.0)) == "challenge_invalid"
    body, sig = ch2.token.split(".")
    assert code_of(lambda: issuer.open(body + "." + sig[::-1], "t1", now=1001.0)) == (
        "challenge_invalid"
    )
    assert code_of(lambda: issuer.open("garbage", "t1")) == "challenge_invalid"
    # stateless: another instance with the same secret accepts, its own store stops replays
    twin = ChallengeIssuer(SECRET)
    ch3 = issuer.issue("t1")
    assert twin.open(ch3.token, "t1")
    assert code_of(lambda: twin.open(ch3.token, "t1")) == "challenge_replayed"
    assert code_of(lambda: ChallengeIssuer(b"x" * 32).open(ch3.token, "t1")) == (
        "challenge_invalid"
    )


def test_identity_challenges_are_random() -> None:
    issuer = ChallengeIssuer(SECRET)
    seen = {tuple(issuer.issue("t").actions) for _ in range(40)}
    assert len(seen) > 4


@pytest.fixture(scope="module")
def scene(engine: Any, liveness_dir: Path) -> tuple[Any, Any]:
    image = engine.load(liveness_dir / "image_T1.jpg")
    return image, engine.detector.detect(image)[0]


def _frames(synth: Any, scene: tuple[Any, Any], actions: list[str]) -> list[bytes]:
    image, face = scene
    frames = [image]
    for action in actions:
        if action == "turn_left":
            frames.append(synth["turn"](image, face, 35))
        elif action == "turn_right":
            frames.append(synth["turn"](image, face, -50))
        elif action == "blink":
            frames += [synth["close_eyes"](image, face), image]
        elif action == "open_mouth":
            frames.append(synth["open_mouth"](image, face))
        frames.append(image)
    return [synth["encode"](f) for f in frames]


@pytest.mark.parametrize(
    "actions",
    [
        ["turn_left", "blink"],
        ["turn_right", "open_mouth"],
        ["blink", "turn_left"],
        ["open_mouth", "turn_right"],
    ],
)
def test_identity_active_liveness_passes(
    engine: Any, synth: Any, scene: Any, actions: list[str]
) -> None:
    issuer = ChallengeIssuer(SECRET)
    verifier = ActiveLivenessVerifier(engine, issuer)
    ch = issuer.issue("t", actions=actions)
    result = verifier.verify(ch.token, "t", _frames(synth, scene, actions))
    assert result.passed, result.to_dict()
    assert [a["action"] for a in result.actions] == actions


def test_identity_active_liveness_failures(
    engine: Any, synth: Any, scene: Any, pairs_dir: Path
) -> None:
    issuer = ChallengeIssuer(SECRET, ttl=60)
    verifier = ActiveLivenessVerifier(engine, issuer)
    still = _frames(synth, scene, [])
    ch = issuer.issue("t", actions=["turn_left", "blink"])
    result = verifier.verify(ch.token, "t", still * 4)  # a still photo does nothing
    assert not result.passed
    assert "active.turn_left_not_seen" in result.reasons
    # the requested order matters
    ch = issuer.issue("t", actions=["open_mouth", "turn_left"])
    wrong = _frames(synth, scene, ["turn_left", "open_mouth"])
    assert "active.turn_left_not_seen" in verifier.verify(ch.token, "t", wrong).reasons
    # the same token cannot be used twice
    assert code_of(lambda: verifier.verify(ch.token, "t", wrong)) == "challenge_replayed"
    # expired
    old = issuer.issue("t", actions=["blink"], now=time.time() - 120)
    assert code_of(lambda: verifier.verify(old.token, "t", still * 2)) == "challenge_expired"
    # another person in the last frame
    ch = issuer.issue("t", actions=["open_mouth"])
    frames = _frames(synth, scene, ["open_mouth"])
    frames[-1] = (pairs_dir / "img3.jpg").read_bytes()
    result = verifier.verify(ch.token, "t", frames)
    assert "active.identity_changed" in result.reasons or "active.track_broken" in result.reasons
    # frame count
    ch = issuer.issue("t")
    assert code_of(lambda: verifier.verify(ch.token, "t", still)) == "frames_invalid"
