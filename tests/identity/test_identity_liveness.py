"""Passive liveness: strict weight loading, T1 live, F1/F2 spoof, ONNX export agrees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

from ruleplus.identity._minifasnet import build_minifasnet  # noqa: E402


@pytest.mark.parametrize(
    ("kind", "name"),
    [("v2", "2.7_80x80_MiniFASNetV2.pth"), ("v1se", "4_0_0_80x80_MiniFASNetV1SE.pth")],
)
def test_identity_state_dicts_load_strictly(face_models: Path, kind: str, name: str) -> None:
    state = torch.load(face_models / name, map_location="cpu", weights_only=True)
    assert all(k.startswith("module.") for k in state)
    net = build_minifasnet(kind, state)
    out = net(torch.zeros(2, 3, 80, 80))
    assert out.shape == (2, 3)
    other = "v1se" if kind == "v2" else "v2"
    with pytest.raises(RuntimeError):
        build_minifasnet(other, state)


@pytest.mark.parametrize(
    ("name", "live"), [("image_T1.jpg", True), ("image_F1.jpg", False), ("image_F2.jpg", False)]
)
def test_identity_shared_liveness_samples(
    engine: Any, liveness_dir: Path, name: str, live: bool
) -> None:
    analysis = engine.liveness(liveness_dir / name)
    assert analysis.liveness.live is live
    assert (analysis.liveness.score > 0.9) if live else (analysis.liveness.score < 0.4)


@pytest.mark.parametrize("strength", [0.4, 0.6, 0.75, 1.0, 1.25])
def test_identity_colour_cast_does_not_make_a_recapture_live(
    engine: Any, liveness_dir: Path, strength: float
) -> None:
    # Under a tungsten cast MiniFASNet alone scores F1 as live from strength 0.6 (0.51; 0.75 at
    # strength 1, F2 0.57); the grey-world balance before scoring keeps them spoofs.
    from ruleplus.identity.degrade import colour_cast

    for name, live in (("image_T1.jpg", True), ("image_F1.jpg", False), ("image_F2.jpg", False)):
        analysis = engine.liveness(colour_cast(engine.load(liveness_dir / name), strength))
        assert analysis.liveness.live is live, (name, analysis.liveness.score)


def test_identity_onnx_runtime_matches_torch(
    engine: Any, liveness_dir: Path, tmp_path: Path
) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from ruleplus.identity.liveness import OnnxLiveness, PassiveLiveness, export_onnx

    export_onnx(engine.liveness_model.runtime, tmp_path)
    onnx = PassiveLiveness(OnnxLiveness(tmp_path))
    for name in ("image_T1.jpg", "image_F1.jpg"):
        image = engine.load(liveness_dir / name)
        face = engine.detector.detect(image)[0]
        a, b = engine.liveness_model.score(image, face), onnx.score(image, face)
        assert abs(a.score - b.score) < 1e-4 and a.live == b.live


def test_identity_eval_liveness_iso_metrics(
    engine: Any, liveness_dir: Path, tmp_path: Path
) -> None:
    from ruleplus.identity.evaluate import evaluate_liveness

    report = evaluate_liveness(engine, liveness_dir)  # no label file: Silent-Face names
    assert (report["apcer"], report["bpcer"], report["acer"]) == (0.0, 0.0, 0.0)
    assert (report["attacks"], report["bona_fide"]) == (2, 1)
    # a label file that calls everything live: both attacks are accepted → APCER 1
    folder = tmp_path / "set"
    folder.mkdir()
    for p in liveness_dir.glob("*.jpg"):
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "not_an_image.jpg").write_bytes(b"garbage")
    (folder / "labels.csv").write_text(
        "file,label\nimage_T1.jpg,live\nimage_F1.jpg,spoof\nimage_F2.jpg,spoof\n"
        "not_an_image.jpg,live\n"
    )
    report = evaluate_liveness(engine, folder)
    assert report["n"] == 4 and report["fta"] == 1
    assert report["apcer"] == 0.0 and report["bpcer"] == 0.5
