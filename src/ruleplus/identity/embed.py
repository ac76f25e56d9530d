"""Face embedding back ends behind one interface.

* :class:`DlibEmbedder` — dlib's ResNet (128-d, 99.38% on LFW), aligned with dlib's 5-point
  landmarks (``get_face_chip`` geometry). Euclidean distance, a-priori threshold 0.6 (dlib's
  documented value). Run by ONNX Runtime (exported) or PyTorch from dlib's own weights file —
  6–12× faster than dlib's BLAS-less CPU build, same descriptors — else by dlib.
* :class:`OnnxArcFaceEmbedder` — any ArcFace-style ONNX model the user supplies (112×112 RGB,
  aligned to the standard 5-point template from the detector's landmarks), L2-normalised.
* :class:`PixelEmbedder` — a fake for tests: a normalised thumbnail of the face. No accuracy claim.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import cv2
import numpy as np

from ruleplus.errors import IdentityError
from ruleplus.identity._dlib_resnet import (
    DlibResNet,
    OnnxDlibResNet,
    export_onnx,
    read_dlib_resnet,
)
from ruleplus.identity.detect import Face

__all__ = [
    "DlibEmbedder",
    "Embedder",
    "OnnxArcFaceEmbedder",
    "PixelEmbedder",
    "export_embedder_onnx",
]


@runtime_checkable
class Embedder(Protocol):
    """Turns one detected face into a template (a float32 vector).

    Attributes
    ----------
    name : str
        Identifies the model; templates of different models never mix.
    dim : int
        Template length.
    threshold : float
        Euclidean distance at or below which two templates are the same person.
    """

    name: str
    dim: int
    threshold: float

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        """Return the template of ``face`` in ``image`` (BGR ``uint8``)."""
        ...


def _crop_around(image: np.ndarray, face: Face, margin: float) -> tuple[np.ndarray, float, float]:
    x, y, w, h = face.box
    side = max(w, h) * (1 + 2 * margin)
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = max(0, int(cx - side / 2)), max(0, int(cy - side / 2))
    x1 = min(image.shape[1], int(cx + side / 2) + 1)
    y1 = min(image.shape[0], int(cy + side / 2) + 1)
    return image[y0:y1, x0:x1], float(x0), float(y0)


class DlibEmbedder:
    """dlib's ResNet face descriptor.

    Parameters
    ----------
    recognition_model_path : Path
        ``dlib_face_recognition_resnet_model_v1.dat``.
    shape_predictor_path : Path
        ``shape_predictor_5_face_landmarks.dat`` (the 68-point model is never used).
    threshold : float, default=0.6
        Same-person distance threshold (dlib's documented value, fixed a priori).
    runtime : {"auto", "onnx", "torch", "dlib"}, default="auto"
        Who runs the network. ``torch`` reads the same weights into PyTorch (about 6× faster
        than dlib on a CPU, identical descriptors to within 1e-6; see ``_dlib_resnet.py``);
        ``onnx`` runs the file ``ruleplus face export-onnx`` writes (about 12× faster, no
        torch); ``dlib`` uses dlib's own net. ``auto`` takes onnx when ``onnx_path`` exists and
        onnxruntime is installed, else torch when installed, else dlib.
    onnx_path : Path, optional
        The exported network (``dlib_resnet_v1.onnx``).
    """

    name = "dlib_resnet_v1"
    dim = 128

    def __init__(
        self,
        recognition_model_path: Path,
        shape_predictor_path: Path,
        threshold: float = 0.6,
        runtime: Literal["auto", "onnx", "torch", "dlib"] = "auto",
        onnx_path: Path | None = None,
    ) -> None:
        import dlib

        self._dlib = dlib
        self._predictor = dlib.shape_predictor(str(shape_predictor_path))
        self.threshold = threshold
        self._lock = threading.Lock()
        self._fast_net: DlibResNet | OnnxDlibResNet | None = None
        self._net: Any = None  # dlib ships no type information
        if runtime == "auto":
            if (
                onnx_path is not None
                and Path(onnx_path).is_file()
                and importlib.util.find_spec("onnxruntime") is not None
            ):
                runtime = "onnx"
            elif importlib.util.find_spec("torch") is not None:
                runtime = "torch"
            else:
                runtime = "dlib"
        if runtime == "onnx":
            if onnx_path is None or not Path(onnx_path).is_file():
                raise IdentityError(
                    "model_missing",
                    "the ONNX face embedding is not exported; "
                    "run: ruleplus face export-onnx MODEL_DIR",
                )
            self._fast_net = OnnxDlibResNet(Path(onnx_path))
        elif runtime == "torch":
            self._fast_net = DlibResNet(read_dlib_resnet(Path(recognition_model_path)))
        else:
            self._net = dlib.face_recognition_model_v1(str(recognition_model_path))
        self.runtime = runtime

    def shape(self, image: np.ndarray, face: Face) -> tuple[np.ndarray, object]:
        """Return the RGB crop around ``face`` and dlib's 5-point shape in it."""
        crop, ox, oy = _crop_around(image, face, 0.3)
        rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
        x, y, w, h = face.box
        # YuNet boxes run from forehead to chin; dlib's predictor was trained on HOG boxes,
        # which are square and lower: use a square box centred slightly below the box centre.
        side = 0.92 * max(w, h) if face.detector != "hog" else max(w, h)
        cx, cy = x + w / 2 - ox, y + h / 2 - oy + (0.06 * h if face.detector != "hog" else 0)
        rect = self._dlib.rectangle(
            int(cx - side / 2), int(cy - side / 2), int(cx + side / 2), int(cy + side / 2)
        )
        return rgb, self._predictor(rgb, rect)

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        """Return the 128-d descriptor of ``face`` in ``image``."""
        rgb, shape = self.shape(image, face)
        chip = self._dlib.get_face_chip(rgb, shape, size=150, padding=0.25)
        if self._fast_net is not None:
            return self._fast_net(np.asarray(chip))
        with self._lock:  # dlib's net object is not documented as thread-safe
            vec = self._net.compute_face_descriptor(chip)
        return np.asarray(vec, dtype=np.float32)


#: The standard ArcFace 112×112 five-point template (InsightFace).
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)


def align_arcface(image: np.ndarray, face: Face, size: int = 112) -> np.ndarray:
    """Warp ``face`` onto the ArcFace template with a similarity transform (needs 5 landmarks)."""
    marks = face.landmarks.astype(np.float32)
    if np.isnan(marks).any():
        raise ValueError("ArcFace alignment needs all five landmarks")
    matrix, _ = cv2.estimateAffinePartial2D(
        marks, ARCFACE_TEMPLATE * (size / 112.0), method=cv2.LMEDS
    )
    if matrix is None:
        raise ValueError("cannot estimate the alignment transform")
    return cv2.warpAffine(image, matrix, (size, size), borderValue=(0, 0, 0))


class OnnxArcFaceEmbedder:
    """An ArcFace-style ONNX model (112×112 RGB in, ``(x - 127.5) / 127.5``, NCHW).

    Parameters
    ----------
    model_path : Path
        The ONNX file.
    threshold : float, default=1.1
        Distance threshold between L2-normalised templates (cosine similarity ≈ 0.4);
        choose it for your model by cross-validation on data disjoint from your evaluation.
    name : str, optional
        Model id; defaults to ``onnx:<file stem>``.
    """

    def __init__(self, model_path: Path, threshold: float = 1.1, name: str | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        self.dim = int(self._session.get_outputs()[0].shape[-1])
        self.threshold = threshold
        self.name = name or f"onnx:{Path(model_path).stem}"

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        """Return the L2-normalised template of ``face``."""
        chip = align_arcface(image, face)
        blob = cv2.dnn.blobFromImage(
            chip, 1 / 127.5, (112, 112), (127.5, 127.5, 127.5), swapRB=True
        )
        out = np.asarray(self._session.run(None, {self._input: blob})[0], dtype=np.float32)[0]
        result: np.ndarray = out / max(float(np.linalg.norm(out)), 1e-12)
        return result


class PixelEmbedder:
    """Fake embedder for tests: a 16×8 grey thumbnail of the face box, L2-normalised.

    Parameters
    ----------
    threshold : float, default=0.5
        Distance threshold.
    """

    name = "fake_pixels"
    dim = 128

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        """Return a thumbnail template of ``face``."""
        x, y, w, h = (round(v) for v in face.box)
        crop = image[max(0, y) : max(0, y) + max(1, h), max(0, x) : max(0, x) + max(1, w)]
        grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        thumb = cv2.resize(grey, (8, 16), interpolation=cv2.INTER_AREA).astype(np.float32)
        thumb = thumb.ravel() - thumb.mean()
        result: np.ndarray = (thumb / max(float(np.linalg.norm(thumb)), 1e-6)).astype(np.float32)
        return result


def export_embedder_onnx(weights_path: Path, directory: Path) -> Path:
    """Export dlib's face-embedding ResNet (``weights_path``) to ONNX in ``directory``.

    With the file in the model directory the embedding runs on ONNX Runtime, the fastest of
    its three runtimes. Returns the written path.
    """
    return export_onnx(weights_path, directory)
