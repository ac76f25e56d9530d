"""1:1 verification, quality, enhancement, errors, and the face CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")

from ruleplus.errors import IdentityError  # noqa: E402


def test_identity_verify_same_and_different(engine: Any, pairs_dir: Path) -> None:
    same = engine.verify(pairs_dir / "img1.jpg", pairs_dir / "img2.jpg", check_liveness=False)
    assert same.match and same.similarity >= same.threshold
    assert same.threshold == pytest.approx(0.7)  # 1 - 0.6/2
    other = engine.verify(pairs_dir / "img1.jpg", pairs_dir / "img3.jpg", check_liveness=False)
    assert not other.match and "face.mismatch" in other.reasons
    assert other.decision == "reject"
    facts = other.facts()
    assert facts["face_match"] is False and facts["liveness_score"] is None


def test_identity_verify_result_shape(engine: Any, liveness_dir: Path, pairs_dir: Path) -> None:
    result = engine.verify(liveness_dir / "image_F2.jpg", pairs_dir / "img1.jpg").to_dict()
    for key in ("match", "similarity", "threshold", "liveness", "quality", "reasons"):
        assert key in result
    assert result["liveness"]["live"] is False and "liveness.spoof" in result["reasons"]
    json.dumps(result)  # JSON-friendly, no arrays
    assert "template" not in json.dumps(result)


def test_identity_no_face(engine: Any) -> None:
    blank = np.full((480, 640, 3), 200, np.uint8)
    with pytest.raises(IdentityError) as info:
        engine.analyze(blank)
    assert info.value.code == "no_face" and info.value.http_status == 422


def test_identity_multiple_faces(engine: Any, pairs_dir: Path) -> None:
    a = cv2.resize(engine.load(pairs_dir / "img1.jpg"), (400, 500))
    b = cv2.resize(engine.load(pairs_dir / "img3.jpg"), (400, 500))
    both = np.hstack([a, b])
    with pytest.raises(IdentityError) as info:
        engine.analyze(both)
    assert info.value.code == "multiple_faces"
    analysis = engine.analyze(both, multiple="largest")
    assert not analysis.quality.get("multiple_faces").passed
    assert "quality.multiple_faces" in analysis.quality.reasons


def test_identity_quality_flags_degradations(engine: Any, pairs_dir: Path) -> None:
    from ruleplus.identity.degrade import backlight, blur, low_light, noise

    image = cv2.resize(engine.load(pairs_dir / "img1.jpg"), None, fx=0.5, fy=0.5)
    clean = engine.analyze(image, embed=False)
    assert clean.quality.passed, clean.quality.reasons
    box = clean.face.box
    expected = {
        "quality.sharpness": blur(image),
        "quality.noise": noise(image, 1.5),
        "quality.underexposure": low_light(image),
        "quality.backlight": backlight(image, box=box),
    }
    for reason, degraded in expected.items():
        report = engine.analyze(degraded, embed=False).quality
        assert reason in report.reasons, (reason, report.to_dict())


def test_identity_enhancement_runs_when_asked(engine: Any, pairs_dir: Path) -> None:
    from ruleplus.identity.degrade import low_light, noise

    image = cv2.resize(engine.load(pairs_dir / "img1.jpg"), None, fx=0.5, fy=0.5)
    dark = engine.analyze(low_light(image))
    assert "illumination" in dark.enhanced
    noisy = engine.analyze(noise(image, 1.5))
    assert "denoise" in noisy.enhanced
    assert not {"denoise", "illumination"} & set(engine.analyze(image).enhanced)


def test_identity_pose_estimate_signs() -> None:
    from ruleplus.identity.quality import estimate_pose

    frontal = np.array([[40, 50], [80, 50], [60, 72], [45, 88], [75, 88]], float)
    yaw, pitch, roll = estimate_pose(frontal)
    assert abs(yaw) < 1 and abs(roll) < 1 and abs(pitch) < 5
    right = frontal.copy()
    right[2, 0] += 12  # nose towards the image's right
    assert estimate_pose(right)[0] > 20
    tilted = frontal.copy()
    tilted[1, 1] += 20
    assert estimate_pose(tilted)[2] > 20
    no_mouth = frontal.copy()
    no_mouth[3:] = np.nan
    assert estimate_pose(no_mouth)[1] is None


def test_identity_eval_pairs_counts_every_pair(
    engine: Any, pairs_dir: Path, tmp_path: Path
) -> None:
    from ruleplus.identity.evaluate import evaluate_pairs

    images = tmp_path / "imgs"
    images.mkdir()
    for name in ("img1.jpg", "img2.jpg", "img3.jpg"):
        (images / name).write_bytes((pairs_dir / name).read_bytes())
    cv2.imwrite(str(images / "blank.jpg"), np.full((300, 300, 3), 90, np.uint8))
    (images / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    csv = tmp_path / "pairs.csv"
    csv.write_text(
        "file_x,file_y,Decision\nimg1.jpg,img2.jpg,Yes\nimg1.jpg,img3.jpg,No\n"
        "img1.jpg,blank.jpg,Yes\nimg2.jpg,broken.jpg,No\nimg3.jpg,missing.jpg,Yes\n"
    )
    report = evaluate_pairs(engine, csv, images)
    assert report["n"] == 5 and report["fta_pairs"] == 3
    assert report["tp"] == 1 and report["tn"] == 2 and report["fn"] == 2
    assert report["accuracy"] == pytest.approx(0.6)
    assert report["frr"] == pytest.approx(2 / 3) and report["far"] == 0.0


def test_identity_face_cli(
    face_models: Path, pairs_dir: Path, liveness_dir: Path, tmp_path: Path
) -> None:
    typer_testing = pytest.importorskip("typer.testing")
    from ruleplus.cli.face import app

    runner = typer_testing.CliRunner()
    args = ["--json", "--model-dir", str(face_models)]
    result = runner.invoke(
        app, ["verify", str(pairs_dir / "img1.jpg"), str(pairs_dir / "img2.jpg"), *args]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["match"] is True and {"score", "live"} <= set(data["liveness"])
    result = runner.invoke(app, ["liveness", str(liveness_dir / "image_F1.jpg"), *args])
    assert json.loads(result.output)["live"] is False
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    result = runner.invoke(app, ["verify", str(bad), str(pairs_dir / "img2.jpg"), *args])
    assert result.exit_code == 2
    assert json.loads(result.output)["error"]["code"] == "image_invalid"
    csv = tmp_path / "pairs.csv"
    csv.write_text("file_x,file_y,Decision\nimg1.jpg,img2.jpg,Yes\nimg1.jpg,img3.jpg,No\n")
    result = runner.invoke(app, ["eval-pairs", str(csv), "--images", str(pairs_dir), *args])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {"accuracy", "far", "frr", "threshold", "n", "median_ms", "fta"} <= set(report)
    assert report["accuracy"] == 1.0
    result = runner.invoke(
        app,
        [
            "eval-pairs",
            str(csv),
            "--images",
            str(pairs_dir),
            *args,
            "--degrade",
            "colour_cast",
            "--details",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["accuracy"] == 1.0 and report["separability"] == 1.0
    assert [p[:3] for p in report["pairs"]] == [
        ["img1.jpg", "img2.jpg", True],
        ["img1.jpg", "img3.jpg", False],
    ]
    page = tmp_path / "pairs.html"
    result = runner.invoke(
        app, ["eval-pairs", str(csv), "--images", str(pairs_dir), *args, "--html", str(page)]
    )
    assert result.exit_code == 0, result.output
    assert "pairs" not in json.loads(result.output)
    text = page.read_text(encoding="utf-8")
    assert text.count("<svg") == 2 and "Pairs decided wrongly (0)" in text and "None." in text
    result = runner.invoke(
        app, ["eval-pairs", str(csv), "--images", str(pairs_dir), *args, "--degrade", "sunburn"]
    )
    assert result.exit_code != 0 and "--degrade must be one of" in result.output
    result = runner.invoke(app, ["eval-liveness", str(liveness_dir), *args])
    assert json.loads(result.output)["acer"] == 0.0


@pytest.mark.slow
def test_identity_shared_pairs_accuracy(engine: Any, pairs_dir: Path) -> None:
    from ruleplus.identity.evaluate import evaluate_pairs

    report = evaluate_pairs(engine, pairs_dir / "master.csv", pairs_dir)
    assert report["n"] == 300 and report["accuracy"] >= 0.99


def test_identity_extra_degradations_are_deterministic_and_shape_safe() -> None:
    from ruleplus.identity.degrade import ALL_DEGRADATIONS, EXTRA_DEGRADATIONS

    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert set(EXTRA_DEGRADATIONS) <= set(ALL_DEGRADATIONS)
    for name, fn in ALL_DEGRADATIONS.items():
        a, b = fn(image, 1.0, seed=5), fn(image, 1.0, seed=5)
        assert a.dtype == np.uint8 and a.ndim == 3, name
        assert np.array_equal(a, b), name
        if name != "low_resolution":
            assert a.shape == image.shape, name
        assert not np.array_equal(a, image), name


def test_identity_colour_cast_is_flagged_and_balanced(engine: Any, pairs_dir: Path) -> None:
    from ruleplus.identity.degrade import colour_cast as cast
    from ruleplus.identity.quality import colour_cast

    image = cv2.resize(engine.load(pairs_dir / "img1.jpg"), None, fx=0.5, fy=0.5)
    tinted = cast(image)
    assert colour_cast(tinted) > engine.thresholds.max_colour_cast > colour_cast(image)
    analysis = engine.analyze(tinted)
    assert "quality.colour_cast" in analysis.quality.reasons
    assert "white_balance" in analysis.enhanced
    assert colour_cast(analysis.image) < engine.thresholds.balance_colour_cast
    # the balanced face is still, comfortably, the same person as the clean one
    assert np.linalg.norm(analysis.template - engine.template(image)) < 0.2
    # without enhancement nothing is changed, but the cast is still reported
    assert engine.analyze(tinted, enhance=False, embed=False).enhanced == []


def test_identity_crowd_keeps_the_main_face(engine: Any, pairs_dir: Path) -> None:
    from ruleplus.identity.degrade import crowd

    image = cv2.resize(engine.load(pairs_dir / "img1.jpg"), None, fx=0.5, fy=0.5)
    clean = engine.analyze(image)
    busy = engine.analyze(crowd(image), multiple="largest")
    assert len(busy.others) >= 1
    assert np.linalg.norm(np.subtract(busy.face.box, clean.face.box)) < 0.1 * clean.face.size
    assert np.linalg.norm(busy.template - clean.template) < engine.embedder.threshold


@given(st.lists(st.tuples(st.booleans(), st.one_of(st.none(), st.integers(0, 6))), max_size=12))
def test_identity_separability_is_the_best_threshold(pairs: list[tuple[bool, int | None]]) -> None:
    from ruleplus.identity.evaluate import _separability

    scored = [["a", "b", same, None if d is None else d / 4] for same, d in pairs]
    if not scored:
        assert _separability(scored) == 0.0
        return
    best = max(
        sum((d is not None and d <= t) == same for _, _, same, d in scored)
        for t in [-1.0] + [d for *_, d in scored if d is not None]
    )
    assert _separability(scored) == pytest.approx(best / len(scored))


@pytest.mark.parametrize("code", ["ROTATE_90_CLOCKWISE", "ROTATE_90_COUNTERCLOCKWISE"])
def test_identity_sideways_photo_is_turned_upright(engine: Any, pairs_dir: Path, code: str) -> None:
    image = cv2.resize(engine.load(pairs_dir / "img1.jpg"), None, fx=0.5, fy=0.5)
    upright = engine.analyze(image)
    sideways = engine.analyze(cv2.rotate(image, getattr(cv2, code)))
    assert any(step.startswith("rotated_") for step in sideways.enhanced)
    assert np.linalg.norm(sideways.template - upright.template) < 0.15


def test_identity_pairs_report_lists_errors_nearest_the_threshold_first() -> None:
    from ruleplus.identity.report import render_pairs_report

    report = {
        "n": 4,
        "accuracy": 0.5,
        "distance_threshold": 0.6,
        "threshold": 0.7,
        "pairs": [
            ["a.jpg", "b.jpg", True, 0.3],
            ["a.jpg", "c.jpg", False, 0.58],
            ["d.jpg", "e.jpg", True, None],
            ["<x>.jpg", "f.jpg", False, 0.9],
        ],
    }
    text = render_pairs_report(report, "t")
    assert "Pairs decided wrongly (2)" in text
    assert text.index("c.jpg") < text.index("no face")
    assert "<x>" not in text and "&lt;x&gt;" not in text  # a correct pair is not listed
    with pytest.raises(ValueError, match="details=True"):
        render_pairs_report({"n": 0, "distance_threshold": 0.6})


def test_identity_dark_sideways_photo_is_brightened_and_turned(
    engine: Any, pairs_dir: Path
) -> None:
    image = cv2.resize(engine.load(pairs_dir / "img1.jpg"), None, fx=0.5, fy=0.5)
    dark = (image.astype(np.float32) * 0.04).astype(np.uint8)  # YuNet needs it brightened
    upright = engine.analyze(dark)
    sideways = engine.analyze(cv2.rotate(dark, cv2.ROTATE_90_CLOCKWISE))
    assert upright.enhanced[:1] == ["detection_illumination"]
    assert sideways.enhanced[:2] == ["detection_illumination", "rotated_270"]
    assert np.linalg.norm(sideways.template - upright.template) < 0.15


def test_identity_dedupe_groups_the_same_person(
    engine: Any, pairs_dir: Path, tmp_path: Path
) -> None:
    from ruleplus.identity.dedupe import find_duplicates, image_files

    for name in ("img1.jpg", "img2.jpg", "img22.jpg", "img23.jpg", "img8.jpg"):
        (tmp_path / name).write_bytes((pairs_dir / name).read_bytes())
    cv2.imwrite(str(tmp_path / "blank.png"), np.full((200, 200, 3), 90, np.uint8))
    (tmp_path / "notes.txt").write_text("not a photo")
    seen: list[int] = []
    report = find_duplicates(engine, image_files(tmp_path), seen.append)
    assert report["n"] == 6 and report["embedded"] == 5 and seen[-1] == 6
    assert [g["files"] for g in report["groups"]] == [
        ["img1.jpg", "img2.jpg"],
        ["img22.jpg", "img23.jpg"],
    ]
    assert all(g["min_similarity"] >= report["threshold"] for g in report["groups"])
    assert report["failures"] == [{"file": "blank.png", "code": "no_face"}]
    assert "template" not in str(report)


def test_identity_dedupe_pairs_are_exact() -> None:
    from ruleplus.identity.dedupe import _groups, _matching_pairs

    rng = np.random.default_rng(4)
    x = rng.standard_normal((2500, 8)).astype(np.float32)
    x[2400] = x[3] + 0.01  # a near copy across blocks
    pairs = _matching_pairs(x, 0.5)
    # brute force for the first 300 rows against every row
    d = np.linalg.norm(x[:300, None].astype(np.float64) - x[None], axis=2)
    expected = {(int(i), int(j)) for i, j in zip(*np.nonzero(d <= 0.5), strict=True) if i < j}
    assert {(i, j) for i, j, _ in pairs if i < 300} == expected
    assert (3, 2400) in {(i, j) for i, j, _ in pairs}
    assert _groups(4, [(0, 1, 0.1), (1, 2, 0.2)]) == [[0, 1, 2]]


def test_identity_dedupe_cli(face_models: Path, pairs_dir: Path, tmp_path: Path) -> None:
    typer_testing = pytest.importorskip("typer.testing")
    from ruleplus.cli.face import app

    for name in ("img22.jpg", "img23.jpg", "img8.jpg"):
        (tmp_path / name).write_bytes((pairs_dir / name).read_bytes())
    runner = typer_testing.CliRunner()
    result = runner.invoke(
        app, ["dedupe", str(tmp_path), "--json", "--model-dir", str(face_models)]
    )
    assert result.exit_code == 0, result.output
    assert [g["files"] for g in json.loads(result.output)["groups"]] == [["img22.jpg", "img23.jpg"]]
    result = runner.invoke(app, ["dedupe", str(tmp_path / "img8.jpg"), "--json"])
    assert result.exit_code == 2 and "is not a folder" in result.output
