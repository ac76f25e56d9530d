"""Model files: a manifest (name, official URL, sha256), install (download or copy) and lookup.

Files are installed into the model directory (``RULEPLUS_MODEL_DIR``). Downloads stream to a
temporary file in that directory, the sha256 is checked, then the file is renamed into place
atomically; a file with the wrong checksum is never left under its final name. dlib's two models
(ResNet embedding and 5-point landmarks) come with the ``face-recognition-models`` package and are
looked up there unless a copy sits in the model directory.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ruleplus.errors import IdentityError

__all__ = [
    "MANIFEST",
    "ModelFile",
    "install_models",
    "model_dir",
    "model_status",
    "resolve_model",
    "sha256_file",
]

_ZOO = "https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/"
_FAS = (
    "https://github.com/minivision-ai/Silent-Face-Anti-Spoofing/raw/master/"
    "resources/anti_spoof_models/"
)
_MAX_DOWNLOAD = 200_000_000


@dataclass(frozen=True)
class ModelFile:
    """One model file.

    Parameters
    ----------
    name : str
        File name in the model directory.
    url : str or None
        Official download URL; ``None`` for files that come with a Python package.
    sha256 : str
        Expected sha256 (hex).
    purpose : str
        What it is for.
    licence : str
        Its licence.
    package : str or None, default=None
        Python package that ships the file (looked up when it is not in the model directory).
    """

    name: str
    url: str | None
    sha256: str
    purpose: str
    licence: str
    package: str | None = None


YUNET = ModelFile(
    "face_detection_yunet_2026may.onnx",
    _ZOO + "face_detection_yunet_2026may.onnx",
    "ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0",
    "face detector (OpenCV FaceDetectorYN, 5 landmarks)",
    "MIT",
)
FAS_V2 = ModelFile(
    "2.7_80x80_MiniFASNetV2.pth",
    _FAS + "2.7_80x80_MiniFASNetV2.pth",
    "a5eb02e1843f19b5386b953cc4c9f011c3f985d0ee2bb9819eea9a142099bec0",
    "passive liveness, crop scale 2.7",
    "Apache-2.0",
)
FAS_V1SE = ModelFile(
    "4_0_0_80x80_MiniFASNetV1SE.pth",
    _FAS + "4_0_0_80x80_MiniFASNetV1SE.pth",
    "84ee1d37d96894d5e82de5a57df044ef80a58be2b218b5ed7cdfd875ec2f5990",
    "passive liveness, crop scale 4.0",
    "Apache-2.0",
)
DLIB_RESNET = ModelFile(
    "dlib_face_recognition_resnet_model_v1.dat",
    None,
    "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
    "face embedding (dlib ResNet, 128-d)",
    "CC0 / Boost (dlib)",
    package="face_recognition_models",
)
DLIB_SP5 = ModelFile(
    "shape_predictor_5_face_landmarks.dat",
    None,
    "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
    "5-point landmarks for alignment (dlib)",
    "CC0 / Boost (dlib)",
    package="face_recognition_models",
)

#: Every model file ruleplus knows; dlib's 68-point model is deliberately absent (non-commercial).
MANIFEST: tuple[ModelFile, ...] = (YUNET, FAS_V2, FAS_V1SE, DLIB_RESNET, DLIB_SP5)


def model_dir() -> Path:
    """Return the configured model directory (``Settings.load().model_dir``)."""
    from ruleplus.config import Settings

    return Settings.load().model_dir


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _package_path(spec: ModelFile) -> Path | None:
    if spec.package is None:
        return None
    found = importlib.util.find_spec(spec.package)  # no import: the package needs pkg_resources
    if found is None or not found.submodule_search_locations:
        return None
    path = Path(next(iter(found.submodule_search_locations))) / "models" / spec.name
    return path if path.is_file() else None


@lru_cache(maxsize=32)
def _verified(path: Path, mtime_ns: int, expected: str) -> bool:
    return sha256_file(path) == expected


def resolve_model(spec: ModelFile, directory: Path | None = None, verify: bool = True) -> Path:
    """Return the path of an installed model file, checking its sha256 once per process.

    Parameters
    ----------
    spec : ModelFile
        The file to find.
    directory : Path, optional
        Model directory; defaults to :func:`model_dir`.
    verify : bool, default=True
        Check the sha256.

    Raises
    ------
    IdentityError
        ``model_missing`` when absent (install with ``ruleplus models install``),
        ``model_invalid`` when the checksum differs.
    """
    directory = model_dir() if directory is None else directory
    path: Path | None = directory / spec.name
    if not (directory / spec.name).is_file():
        path = _package_path(spec)
    if path is None:
        hint = (
            f"pip install {spec.package.replace('_', '-')}"
            if spec.package
            else "ruleplus models install (or --from DIR)"
        )
        raise IdentityError(
            "model_missing",
            f"model file {spec.name} is not installed; run `{hint}`",
            model=spec.name,
            model_dir=str(directory),
        )
    if verify and not _verified(path, path.stat().st_mtime_ns, spec.sha256):
        raise IdentityError(
            "model_invalid",
            f"model file {spec.name} does not match its sha256; reinstall it",
            model=spec.name,
        )
    return path


def model_status(directory: Path | None = None) -> list[dict[str, Any]]:
    """Describe each manifest entry: where it is and whether its checksum matches."""
    directory = model_dir() if directory is None else directory
    rows = []
    for spec in MANIFEST:
        local = directory / spec.name
        path = local if local.is_file() else _package_path(spec)
        ok = path is not None and sha256_file(path) == spec.sha256
        rows.append(
            {
                "name": spec.name,
                "purpose": spec.purpose,
                "licence": spec.licence,
                "installed": path is not None,
                "verified": ok,
                "path": str(path) if path else None,
                "source": spec.url or f"package {spec.package}",
            }
        )
    return rows


def _atomic_write(target: Path, spec: ModelFile, chunks: Iterable[bytes], source: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.name}.", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                size += len(chunk)
                if size > _MAX_DOWNLOAD:
                    raise IdentityError(
                        "download_failed", f"{spec.name} is larger than expected", source=source
                    )
                digest.update(chunk)
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        if digest.hexdigest() != spec.sha256:
            raise IdentityError(
                "checksum_mismatch",
                f"{spec.name} from {source} has sha256 {digest.hexdigest()}, "
                f"expected {spec.sha256}",
                model=spec.name,
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _download(spec: ModelFile, url: str, target: Path, timeout: float) -> None:
    import httpx

    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=timeout) as response:
            if response.status_code != 200:
                raise IdentityError(
                    "download_failed",
                    f"{url} answered HTTP {response.status_code}",
                    model=spec.name,
                )
            _atomic_write(target, spec, response.iter_bytes(1 << 16), url)
    except httpx.HTTPError as exc:
        raise IdentityError(
            "download_failed",
            f"cannot download {spec.name}: {type(exc).__name__}",
            model=spec.name,
            url=url,
        ) from exc


def _copy(spec: ModelFile, source: Path, target: Path) -> None:
    def chunks() -> Iterable[bytes]:
        with source.open("rb") as fh:
            yield from iter(lambda: fh.read(1 << 20), b"")

    _atomic_write(target, spec, chunks(), str(source))


def install_models(
    directory: Path | None = None,
    *,
    from_dir: Path | None = None,
    base_url: str | None = None,
    force: bool = False,
    timeout: float = 60.0,
    progress: Callable[[str, str], None] | None = None,
) -> list[dict[str, str]]:
    """Install the downloadable model files, verifying each sha256.

    Parameters
    ----------
    directory : Path, optional
        Model directory; defaults to :func:`model_dir`.
    from_dir : Path, optional
        Copy from this local folder instead of downloading (offline install).
    base_url : str, optional
        Download every file from ``base_url + name`` instead of its official URL (a mirror).
    force : bool, default=False
        Reinstall files that are already present and verified.
    timeout : float, default=60.0
        Network timeout in seconds.
    progress : callable, optional
        Called with ``(name, status)`` after each file.

    Returns
    -------
    list of dict
        ``name``, ``status`` (``installed``, ``present``) and ``source`` per file.
    """
    directory = model_dir() if directory is None else directory
    report = []
    for spec in MANIFEST:
        if spec.url is None:
            continue
        target = directory / spec.name
        if not force and target.is_file() and sha256_file(target) == spec.sha256:
            status, source = "present", str(target)
        elif from_dir is not None:
            source_path = Path(from_dir) / spec.name
            if not source_path.is_file():
                raise IdentityError(
                    "model_missing", f"{spec.name} is not in {from_dir}", model=spec.name
                )
            _copy(spec, source_path, target)
            status, source = "installed", str(source_path)
        else:
            url = base_url.rstrip("/") + "/" + spec.name if base_url else spec.url
            _download(spec, url, target, timeout)
            status, source = "installed", url
        report.append({"name": spec.name, "status": status, "source": source})
        if progress is not None:
            progress(spec.name, status)
    return report
