"""Model install: download from a local HTTP server with sha256 checks, offline copy, lookup."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("httpx")

from ruleplus.errors import IdentityError
from ruleplus.identity import weights as m

DOWNLOADABLE = [s for s in m.MANIFEST if s.url]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[object]:
    """Start an HTTP server on 127.0.0.1 for a folder; it stops at teardown."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(folder: Path) -> str:
        handler = functools.partial(_Quiet, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.timeout = 5
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_identity_download_verifies_and_installs(
    serve,
    face_models: Path,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    base = serve(face_models)
    report = m.install_models(tmp_path, base_url=base, timeout=10)
    assert {r["status"] for r in report} == {"installed"}
    for spec in DOWNLOADABLE:
        assert m.sha256_file(tmp_path / spec.name) == spec.sha256
        assert m.resolve_model(spec, tmp_path) == tmp_path / spec.name
    again = m.install_models(tmp_path, base_url=base, timeout=10)
    assert {r["status"] for r in again} == {"present"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_identity_download_rejects_bad_checksum(
    serve,
    face_models: Path,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for spec in DOWNLOADABLE:
        shutil.copy(face_models / spec.name, mirror / spec.name)
    corrupt = mirror / DOWNLOADABLE[0].name
    corrupt.write_bytes(corrupt.read_bytes()[:-10] + b"0123456789")
    target = tmp_path / "models"
    with pytest.raises(IdentityError) as info:
        m.install_models(target, base_url=serve(mirror), timeout=10)
    assert info.value.code == "checksum_mismatch"
    assert not (target / DOWNLOADABLE[0].name).exists()
    assert not list(target.iterdir())  # no temporary file left behind


def test_identity_download_http_error(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IdentityError) as info:
        m.install_models(tmp_path / "models", base_url=serve(empty), timeout=10)
    assert info.value.code == "download_failed"


def test_identity_install_from_folder(face_models: Path, tmp_path: Path) -> None:
    report = m.install_models(tmp_path, from_dir=face_models)
    assert [r["status"] for r in report] == ["installed"] * len(DOWNLOADABLE)
    status = {row["name"]: row for row in m.model_status(tmp_path)}
    assert all(status[s.name]["verified"] for s in DOWNLOADABLE)
    with pytest.raises(IdentityError) as info:
        m.install_models(tmp_path / "other", from_dir=tmp_path / "nowhere")
    assert info.value.code == "model_missing"


def test_identity_resolve_missing_and_tampered(tmp_path: Path, face_models: Path) -> None:
    with pytest.raises(IdentityError) as info:
        m.resolve_model(m.YUNET, tmp_path)
    assert info.value.code == "model_missing"
    assert "ruleplus models install" in info.value.message
    bad = tmp_path / m.YUNET.name
    bad.write_bytes(b"not the model")
    with pytest.raises(IdentityError) as info:
        m.resolve_model(m.YUNET, tmp_path)
    assert info.value.code == "model_invalid"


def test_identity_manifest_has_no_68_point_model() -> None:
    assert all("68" not in spec.name for spec in m.MANIFEST)
    assert all(
        spec.url is None or spec.url.startswith("https://github.com/") for spec in m.MANIFEST
    )


def test_identity_models_cli(face_models: Path, tmp_path: Path) -> None:
    typer_testing = pytest.importorskip("typer.testing")
    from ruleplus.cli.face import models_app

    runner = typer_testing.CliRunner()
    result = runner.invoke(
        models_app, ["install", "--from", str(face_models), "--model-dir", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(models_app, ["list", "--model-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0
    assert '"verified": true' in result.output
