"""dlib's ResNet read from its own file and run by PyTorch: same descriptors, strict parsing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
pytest.importorskip("dlib")

from ruleplus.errors import IdentityError  # noqa: E402
from ruleplus.identity import weights as m  # noqa: E402
from ruleplus.identity._dlib_resnet import _add_padded, read_dlib_resnet  # noqa: E402


@pytest.fixture(scope="module")
def resnet_path(face_models: Path) -> Path:
    return m.resolve_model(m.DLIB_RESNET, face_models)


def test_identity_torch_runtime_matches_dlib(
    engine: Any, face_models: Path, pairs_dir: Path
) -> None:
    from ruleplus.identity.embed import DlibEmbedder

    assert engine.embedder.runtime == "torch"
    reference = DlibEmbedder(
        m.resolve_model(m.DLIB_RESNET, face_models),
        m.resolve_model(m.DLIB_SP5, face_models),
        runtime="dlib",
    )
    for name in ("img1.jpg", "img22.jpg", "img9.jpg"):
        image = engine.load(pairs_dir / name)
        face = engine.detector.detect(image)[0]
        ours, theirs = engine.embedder.embed(image, face), reference.embed(image, face)
        assert ours.dtype == np.float32 and ours.shape == (128,)
        assert np.abs(ours - theirs).max() < 1e-5


def test_identity_resnet_batch_equals_single(engine: Any, resnet_path: Path) -> None:
    from ruleplus.identity._dlib_resnet import DlibResNet

    net = DlibResNet(read_dlib_resnet(resnet_path))
    chips = np.random.default_rng(0).integers(0, 256, (3, 150, 150, 3), dtype=np.uint8)
    batch = net(chips)
    assert batch.shape == (3, 128)
    for i in range(3):
        assert np.abs(batch[i] - net(chips[i])).max() < 1e-5


def test_identity_resnet_reader_is_strict(
    resnet_path: Path, face_models: Path, tmp_path: Path
) -> None:
    weights = read_dlib_resnet(resnet_path)
    assert len(weights.convolutions) == 29 and weights.linear.shape == (256, 128)
    assert weights.convolutions[0].weight.shape == (32, 3, 7, 7)
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(resnet_path.read_bytes()[:5_000_000])
    noise = tmp_path / "noise.dat"
    noise.write_bytes(np.random.default_rng(1).bytes(100_000))
    for bad in (truncated, noise, m.resolve_model(m.DLIB_SP5, face_models)):
        with pytest.raises(IdentityError) as info:
            read_dlib_resnet(bad)
        assert info.value.code == "model_invalid"


def test_identity_residual_add_pads_at_the_end() -> None:
    a = torch.ones(1, 2, 3, 3)
    b = torch.full((1, 4, 4, 4), 2.0)
    out = _add_padded(a, b)
    assert out.shape == (1, 4, 4, 4)
    assert out[0, :2, :3, :3].eq(3).all() and out[0, 2:].eq(2).all()
    assert out[0, :2, 3, :].eq(2).all() and out[0, :2, :, 3].eq(2).all()


def test_identity_onnx_resnet_matches_and_is_picked(
    engine: Any, face_models: Path, pairs_dir: Path, tmp_path: Path
) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    typer_testing = pytest.importorskip("typer.testing")
    from ruleplus.cli.face import app
    from ruleplus.identity._dlib_resnet import ONNX_NAME
    from ruleplus.identity.embed import DlibEmbedder

    result = typer_testing.CliRunner().invoke(
        app, ["export-onnx", str(tmp_path), "--model-dir", str(face_models)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / ONNX_NAME).is_file()
    args = (m.resolve_model(m.DLIB_RESNET, face_models), m.resolve_model(m.DLIB_SP5, face_models))
    onnx = DlibEmbedder(*args, onnx_path=tmp_path / ONNX_NAME)
    assert onnx.runtime == "onnx"
    image = engine.load(pairs_dir / "img1.jpg")
    face = engine.detector.detect(image)[0]
    assert np.abs(onnx.embed(image, face) - engine.embedder.embed(image, face)).max() < 1e-5
    assert DlibEmbedder(*args, onnx_path=tmp_path / "missing.onnx").runtime == "torch"
    with pytest.raises(IdentityError) as info:
        DlibEmbedder(*args, runtime="onnx")
    assert info.value.code == "model_missing"
