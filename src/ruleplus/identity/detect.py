"""Face detection: YuNet (OpenCV ``FaceDetectorYN``) with dlib's HOG detector as fallback.

Landmarks are five points in YuNet's order: the subject's right eye, left eye, nose tip, right
mouth corner, left mouth corner (the subject's right eye appears on the image's left). The HOG
fallback gets eyes and nose from dlib's 5-point model and has no mouth corners (NaN).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

__all__ = ["CompositeDetector", "Detector", "Face", "HogDetector", "YuNetDetector"]


@dataclass(frozen=True)
class Face:
    """One detected face.

    Parameters
    ----------
    box : tuple of float
        ``(x, y, width, height)`` in image pixels.
    score : float
        Detector confidence in [0, 1].
    landmarks : numpy.ndarray
        ``(5, 2)`` points (right eye, left eye, nose, right mouth, left mouth); NaN where unknown.
    detector : str
        Which detector found it.
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray = field(repr=False)
    detector: str = "yunet"

    @property
    def size(self) -> float:
        """The shorter side of the box, in pixels."""
        return float(min(self.box[2], self.box[3]))

    @property
    def interocular(self) -> float:
        """Distance between the eye centres, in pixels."""
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))

    def scaled(self, factor: float) -> Face:
        """Return this face with coordinates multiplied by ``factor``."""
        x, y, w, h = self.box
        return Face(
            (x * factor, y * factor, w * factor, h * factor),
            self.score,
            self.landmarks * factor,
            self.detector,
        )


@runtime_checkable
class Detector(Protocol):
    """Anything that finds faces in a BGR image, largest and most confident first."""

    name: str

    def detect(self, image: np.ndarray) -> list[Face]:
        """Return the faces in ``image`` (BGR ``uint8``)."""
        ...


def _order(faces: list[Face]) -> list[Face]:
    return sorted(faces, key=lambda f: (f.box[2] * f.box[3]) * f.score, reverse=True)


class YuNetDetector:
    """OpenCV's YuNet detector.

    Parameters
    ----------
    model_path : Path
        The ONNX file.
    score_threshold : float, default=0.7
        Minimum confidence.
    max_side : int, default=640
        Images are downscaled so that their longer side is at most this before detection.
    """

    name = "yunet"

    def __init__(self, model_path: Path, score_threshold: float = 0.7, max_side: int = 640) -> None:
        self.model_path = Path(model_path)
        self.score_threshold = score_threshold
        self.max_side = max_side
        self._net = cv2.FaceDetectorYN.create(
            str(self.model_path), "", (320, 320), score_threshold, 0.3, 50
        )
        self._lock = threading.Lock()

    def detect(self, image: np.ndarray) -> list[Face]:
        """Return the faces in ``image`` (BGR ``uint8``)."""
        h, w = image.shape[:2]
        factor = min(1.0, self.max_side / max(h, w))
        small = image
        if factor < 1.0:
            small = cv2.resize(
                image, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA
            )
        sh, sw = small.shape[:2]
        with self._lock:
            self._net.setInputSize((sw, sh))
            _, rows = self._net.detect(small)
        faces = []
        for row in [] if rows is None else rows:
            marks = np.asarray(row[4:14], dtype=np.float64).reshape(5, 2)
            face = Face(tuple(float(v) for v in row[:4]), float(row[14]), marks)  # type: ignore[arg-type]
            faces.append(face.scaled(1.0 / factor))
        return _order(faces)


class HogDetector:
    """dlib's HOG + linear SVM frontal face detector, with eyes and nose from the 5-point model.

    Parameters
    ----------
    shape_predictor_path : Path
        dlib's ``shape_predictor_5_face_landmarks.dat``.
    max_side : int, default=800
        Images are downscaled so that their longer side is at most this before detection.
    upsample : int, default=1
        dlib's upsampling passes (finds smaller faces, slower).
    """

    name = "hog"

    def __init__(self, shape_predictor_path: Path, max_side: int = 800, upsample: int = 1) -> None:
        import dlib

        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(shape_predictor_path))
        self.max_side = max_side
        self.upsample = upsample

    def detect(self, image: np.ndarray) -> list[Face]:
        """Return the faces in ``image`` (BGR ``uint8``)."""
        h, w = image.shape[:2]
        factor = min(1.0, self.max_side / max(h, w))
        small = (
            image
            if factor == 1.0
            else cv2.resize(
                image, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA
            )
        )
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        rects, scores, _ = self._detector.run(rgb, self.upsample, 0.0)
        faces = []
        for rect, score in zip(rects, scores, strict=True):
            shape = self._predictor(rgb, rect)
            pts = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)
            # dlib 5-point: 0-1 one eye's corners (image left), 2-3 the other's, 4 under the nose
            left_img, right_img = pts[2:4].mean(axis=0), pts[0:2].mean(axis=0)
            eyes = sorted([left_img, right_img], key=lambda p: p[0])
            marks = np.full((5, 2), np.nan)
            marks[0], marks[1], marks[2] = eyes[0], eyes[1], pts[4]
            box = (float(rect.left()), float(rect.top()), float(rect.width()), float(rect.height()))
            conf = float(1.0 / (1.0 + np.exp(-2.0 * score)))
            faces.append(Face(box, conf, marks, "hog").scaled(1.0 / factor))
        return _order(faces)


class CompositeDetector:
    """Try detectors in order; the first that finds a face wins.

    Parameters
    ----------
    detectors : list of Detector
        Primary first.
    """

    name = "composite"

    def __init__(self, detectors: list[Detector]) -> None:
        if not detectors:
            raise ValueError("at least one detector is needed")
        self.detectors = list(detectors)

    def detect(self, image: np.ndarray) -> list[Face]:
        """Return the faces found by the first detector that finds any."""
        for detector in self.detectors:
            faces = detector.detect(image)
            if faces:
                return faces
        return []
