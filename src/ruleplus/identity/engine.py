"""The identity engine: detect → quality → (enhance) → liveness → embed → compare.

One object holds the loaded models and is shared by the CLI, the HTTP router and the gallery.
It is thread-safe (each model serialises its own calls).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from ruleplus.errors import IdentityError
from ruleplus.identity._image import ImageLimits, load_image
from ruleplus.identity.detect import Detector, Face
from ruleplus.identity.embed import Embedder
from ruleplus.identity.enhance import (
    enhance_face,
    enhance_for_detection,
    white_balance,
    white_balance_gains,
)
from ruleplus.identity.liveness import LivenessResult, PassiveLiveness
from ruleplus.identity.match import distance, similarity_from_distance
from ruleplus.identity.quality import (
    QualityReport,
    QualityThresholds,
    assess_quality,
    cast_of_means,
    channel_means,
)

__all__ = ["FaceAnalysis", "IdentityEngine", "VerifyResult"]

log = logging.getLogger(__name__)
ImageInput = bytes | str | Path | np.ndarray
MultiplePolicy = Literal["error", "largest"]

#: YuNet score below which a face may be turned (see ``IdentityEngine.find_faces``).
UPRIGHT_SCORE = 0.92
#: How much higher a turned copy's face must score to win.
TURN_MARGIN = 0.04


@dataclass
class FaceAnalysis:
    """What the engine learnt about the main face of one image.

    Parameters
    ----------
    image : numpy.ndarray
        The image actually used (possibly enhanced).
    face : Face
    others : list of Face
        Other faces in the image.
    quality : QualityReport
        Quality of the face in the original image.
    enhanced : list of str
        Enhancement steps applied (empty when none).
    template : numpy.ndarray or None
    liveness : LivenessResult or None
    """

    image: np.ndarray = field(repr=False)
    face: Face
    others: list[Face]
    quality: QualityReport
    enhanced: list[str] = field(default_factory=list)
    template: np.ndarray | None = field(default=None, repr=False)
    liveness: LivenessResult | None = None

    def summary(self) -> dict[str, Any]:
        """JSON-friendly description (no pixels, no template)."""
        x, y, w, h = self.face.box
        return {
            "face": {
                "box": [round(x), round(y), round(w), round(h)],
                "score": round(self.face.score, 3),
                "detector": self.face.detector,
            },
            "faces_found": 1 + len(self.others),
            "quality": self.quality.to_dict(),
            "enhanced": self.enhanced,
        }


@dataclass
class VerifyResult:
    """Selfie vs ID photo.

    Parameters
    ----------
    match : bool
        Same person (distance at or below the threshold).
    similarity : float
        ``1 - distance/2`` in [0, 1].
    threshold : float
        Similarity threshold (``1 - distance_threshold/2``).
    distance : float
    distance_threshold : float
    liveness : LivenessResult or None
        Passive liveness of the selfie.
    selfie, id_photo : FaceAnalysis
    reasons : list of str
        Reason codes: ``face.mismatch``, ``liveness.spoof``, ``selfie.quality.<check>``,
        ``id_photo.quality.<check>``.
    decision : {"accept", "review", "reject"}
        ``reject`` on mismatch or spoof, ``review`` when only quality failed.
    timings_ms : dict
    model : str
    """

    match: bool
    similarity: float
    threshold: float
    distance: float
    distance_threshold: float
    liveness: LivenessResult | None
    selfie: FaceAnalysis
    id_photo: FaceAnalysis
    reasons: list[str]
    decision: str
    timings_ms: dict[str, float]
    model: str

    def facts(self) -> dict[str, Any]:
        """Flat fields a strategy can read (``face_match``, ``liveness_score``…)."""
        return {
            "face_match": self.match,
            "face_similarity": round(self.similarity, 4),
            "liveness_score": None if self.liveness is None else round(self.liveness.score, 4),
            "liveness_live": None if self.liveness is None else self.liveness.live,
            "face_quality_passed": self.selfie.quality.passed and self.id_photo.quality.passed,
            "identity_reasons": list(self.reasons),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly result (no pixels, no templates)."""
        return {
            "match": self.match,
            "decision": self.decision,
            "similarity": round(self.similarity, 4),
            "threshold": round(self.threshold, 4),
            "distance": round(self.distance, 4),
            "distance_threshold": self.distance_threshold,
            "liveness": self.liveness.to_dict() if self.liveness else None,
            "quality": {
                "selfie": self.selfie.quality.to_dict(),
                "id_photo": self.id_photo.quality.to_dict(),
            },
            "faces": {"selfie": self.selfie.summary(), "id_photo": self.id_photo.summary()},
            "reasons": self.reasons,
            "model": self.model,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }


class IdentityEngine:
    """Face pipeline over pluggable detector, embedder and liveness.

    Parameters
    ----------
    detector : Detector
        Primary detector.
    embedder : Embedder
        Template back end.
    liveness : PassiveLiveness, optional
        Passive liveness; ``None`` disables it.
    fallback : Detector, optional
        Tried when the primary finds no face on the image and on its brightened copy.
    thresholds : QualityThresholds, optional
    enhance : bool, default=True
        Enhance faces whose quality asks for it before embedding.
    limits : ImageLimits, optional
        Decoding limits.
    """

    def __init__(
        self,
        detector: Detector,
        embedder: Embedder,
        liveness: PassiveLiveness | None = None,
        fallback: Detector | None = None,
        thresholds: QualityThresholds | None = None,
        enhance: bool = True,
        limits: ImageLimits | None = None,
    ) -> None:
        self.detector = detector
        self.embedder = embedder
        self.liveness_model = liveness
        self.fallback = fallback
        self.thresholds = thresholds or QualityThresholds()
        self.enhance = enhance
        self.limits = limits or ImageLimits()

    @classmethod
    def from_models(
        cls,
        model_dir: Path | None = None,
        *,
        liveness: Literal["torch", "onnx", "none"] = "torch",
        onnx_dir: Path | None = None,
        embedder: Embedder | None = None,
        **kwargs: Any,
    ) -> IdentityEngine:
        """Load the installed models (YuNet, dlib HOG fallback, dlib ResNet, MiniFASNets).

        Parameters
        ----------
        model_dir : Path, optional
            Defaults to ``RULEPLUS_MODEL_DIR``.
        liveness : {"torch", "onnx", "none"}, default="torch"
            Liveness runtime; ``onnx`` reads the files written by ``export_onnx`` from
            ``onnx_dir`` (default: the model directory).
        embedder : Embedder, optional
            Defaults to dlib's ResNet.
        **kwargs
            Passed to the constructor.
        """
        from ruleplus.identity import weights as m
        from ruleplus.identity.detect import HogDetector, YuNetDetector
        from ruleplus.identity.embed import DlibEmbedder

        directory = m.model_dir() if model_dir is None else Path(model_dir)
        sp5 = m.resolve_model(m.DLIB_SP5, directory)
        try:
            detector: Detector = YuNetDetector(m.resolve_model(m.YUNET, directory))
            fallback: Detector | None = HogDetector(sp5)
        except IdentityError as exc:
            if exc.code != "model_missing":
                raise
            log.warning("YuNet is not installed; using dlib's HOG detector only")
            detector, fallback = HogDetector(sp5), None
        if embedder is None:
            from ruleplus.identity._dlib_resnet import ONNX_NAME

            embedder = DlibEmbedder(
                m.resolve_model(m.DLIB_RESNET, directory),
                sp5,
                onnx_path=Path(onnx_dir or directory) / ONNX_NAME,
            )
        runtime: PassiveLiveness | None = None
        if liveness == "torch":
            from ruleplus.identity.liveness import TorchLiveness

            runtime = PassiveLiveness(
                TorchLiveness(
                    m.resolve_model(m.FAS_V2, directory), m.resolve_model(m.FAS_V1SE, directory)
                )
            )
        elif liveness == "onnx":
            from ruleplus.identity.liveness import OnnxLiveness

            runtime = PassiveLiveness(OnnxLiveness(onnx_dir or directory))
        return cls(detector, embedder, runtime, fallback, **kwargs)

    # -- steps ---------------------------------------------------------------------------

    def load(self, source: ImageInput) -> np.ndarray:
        """Decode ``source`` with the engine's limits."""
        return load_image(source, self.limits)

    def find_faces(self, image: np.ndarray) -> tuple[np.ndarray, list[Face], list[str]]:
        """Detect faces: primary (and turned copies), the same on a brightened copy, the fallback.

        A phone held sideways without an EXIF orientation tag gives a face turned by 90°.
        YuNet still finds some turned faces, with landmarks placed as if upright, but scores
        them lower (0.78–0.84 on the shared photos, against 0.92–0.96 upright). So when nothing
        is found, or the best face scores below ``UPRIGHT_SCORE``, the image is also tried
        turned by 90° and 270°, and a turn wins only when its face scores ``TURN_MARGIN``
        higher. Upside-down (180°) is not tried: YuNet scores upside-down faces almost as high
        as upright ones, and a degraded upright photo (img17 under a colour cast: 0.72) can
        score lower than its upside-down copy (0.88).

        Returns
        -------
        (image, faces, steps)
            The image the faces belong to (a turned or brightened copy when that found them)
            and the steps taken to get it (``rotated_90``, ``detection_illumination``…).
        """
        found = self._upright_search(image)
        if found[1]:
            return found
        bright = enhance_for_detection(image)
        turned, faces, steps = self._upright_search(bright)
        if faces:
            return turned, faces, ["detection_illumination", *steps]
        if self.fallback is not None:
            faces = self.fallback.detect(image)
        return image, faces, []

    def _upright_search(self, image: np.ndarray) -> tuple[np.ndarray, list[Face], list[str]]:
        """Primary detector on ``image`` and, when that is empty or weak, on its turned copies."""
        faces = self.detector.detect(image)
        best: tuple[np.ndarray, list[Face], list[str]] = (image, faces, [])
        if faces and faces[0].score >= UPRIGHT_SCORE:
            return best
        floor = faces[0].score + TURN_MARGIN if faces else 0.0
        for degrees, code in ((90, cv2.ROTATE_90_CLOCKWISE), (270, cv2.ROTATE_90_COUNTERCLOCKWISE)):
            turned = cv2.rotate(image, code)
            found = self.detector.detect(turned)
            if found and found[0].score >= floor:
                best, floor = (turned, found, [f"rotated_{degrees}"]), found[0].score
        return best

    def analyze(
        self,
        source: ImageInput,
        *,
        embed: bool = True,
        liveness: bool = False,
        multiple: MultiplePolicy = "error",
        enhance: bool | None = None,
    ) -> FaceAnalysis:
        """Detect, check quality, enhance if needed, and optionally embed and score liveness.

        Parameters
        ----------
        source : bytes, path or array
        embed : bool, default=True
        liveness : bool, default=False
            Score passive liveness (on the captured pixels — only a strong colour cast is
            neutralised first — never on the enhanced ones).
        multiple : {"error", "largest"}, default="error"
            With several comparable faces (see ``QualityThresholds.competing_face_ratio``):
            raise ``multiple_faces`` or go on with the largest (and report the quality reason).
        enhance : bool, optional
            Overrides the engine's ``enhance``.

        Raises
        ------
        IdentityError
            ``no_face``, ``multiple_faces`` and the image errors.
        """
        original = self.load(source)
        use_enhance = self.enhance if enhance is None else enhance
        # A strong colour cast moves the landmarks and the embedding; even a mild one lifts the
        # anti-spoofing score of recaptured faces (F1 under a tungsten cast scores as live), so
        # liveness gets a grey-world balance at a lower cast than matching does.
        means = channel_means(original)  # measured once: a 4 MP photo costs about 13 ms
        cast = cast_of_means(means)
        gains = white_balance_gains(original, means)
        balanced = use_enhance and cast > self.thresholds.balance_colour_cast
        image, faces, steps = self.find_faces(
            white_balance(original, gains) if balanced else original
        )
        if not faces:
            raise IdentityError("no_face", "no face was found in the image")
        face, others = faces[0], faces[1:]
        quality = assess_quality(image, face, others, self.thresholds, cast=cast)
        if multiple == "error" and not quality.get("multiple_faces").passed:
            raise IdentityError(
                "multiple_faces",
                f"{1 + len(others)} faces found; the image must show one person",
                faces=1 + len(others),
            )
        result = FaceAnalysis(image, face, others, quality, ["white_balance"] * balanced + steps)
        if liveness and self.liveness_model is not None:
            # liveness sees captured pixels (a turned copy only re-orders them; a brightened one
            # is used only when nothing else found the face), colour-balanced as said above
            neutral = image
            if not balanced and cast > self.thresholds.liveness_colour_cast:
                neutral = white_balance(image, gains)
            result.liveness = self.liveness_model.score(neutral, face)
        work = image
        if use_enhance:
            work, steps = enhance_face(image, face, quality)
            result.enhanced += steps
            result.image = work
        if embed:
            result.template = self.embedder.embed(work, face)
        return result

    # -- operations ----------------------------------------------------------------------

    def liveness(self, source: ImageInput, multiple: MultiplePolicy = "error") -> FaceAnalysis:
        """Passive liveness of the main face (with its quality)."""
        if self.liveness_model is None:
            raise IdentityError("model_missing", "passive liveness is not configured")
        return self.analyze(source, embed=False, liveness=True, multiple=multiple, enhance=False)

    def template(self, source: ImageInput, multiple: MultiplePolicy = "error") -> np.ndarray:
        """Return the template of the single face in ``source``."""
        analysis = self.analyze(source, multiple=multiple)
        assert analysis.template is not None
        return analysis.template

    def verify(
        self,
        selfie: ImageInput,
        id_photo: ImageInput,
        *,
        check_liveness: bool = True,
        multiple: MultiplePolicy = "error",
    ) -> VerifyResult:
        """Compare a selfie with an ID photo; score the selfie's liveness.

        Parameters
        ----------
        selfie, id_photo : bytes, path or array
        check_liveness : bool, default=True
        multiple : {"error", "largest"}, default="error"
        """
        t0 = time.perf_counter()
        a = self.analyze(selfie, liveness=check_liveness, multiple=multiple)
        t1 = time.perf_counter()
        b = self.analyze(id_photo, multiple=multiple)
        t2 = time.perf_counter()
        assert a.template is not None and b.template is not None
        d = distance(a.template, b.template)
        limit = float(self.embedder.threshold)
        match = d <= limit
        reasons = [] if match else ["face.mismatch"]
        if a.liveness is not None and not a.liveness.live:
            reasons.append("liveness.spoof")
        quality_reasons = [f"selfie.{r}" for r in a.quality.reasons]
        quality_reasons += [f"id_photo.{r}" for r in b.quality.reasons]
        decision = "reject" if reasons else ("review" if quality_reasons else "accept")
        return VerifyResult(
            match=match,
            similarity=similarity_from_distance(d),
            threshold=similarity_from_distance(limit),
            distance=d,
            distance_threshold=limit,
            liveness=a.liveness,
            selfie=a,
            id_photo=b,
            reasons=reasons + quality_reasons,
            decision=decision,
            timings_ms={
                "selfie": (t1 - t0) * 1e3,
                "id_photo": (t2 - t1) * 1e3,
                "total": (time.perf_counter() - t0) * 1e3,
            },
            model=self.embedder.name,
        )
