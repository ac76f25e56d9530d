"""Passive liveness: MiniFASNetV2 (crop scale 2.7) + MiniFASNetV1SE (scale 4.0), scores averaged.

Each network sees an 80×80 BGR crop (values 0–255, no normalisation) of the region around the
detected face box scaled by 2.7 or 4.0 and shifted to stay inside the image, as in
Silent-Face-Anti-Spoofing; softmax over 3 classes, index 1 = live. The fused score is the mean
of the two live probabilities. Two runtimes: PyTorch (the published state dicts) and ONNX Runtime
(after :func:`export_onnx`, no torch needed).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from ruleplus.identity.detect import Face

__all__ = [
    "LivenessResult",
    "OnnxLiveness",
    "PassiveLiveness",
    "TorchLiveness",
    "crop_for_scale",
    "export_onnx",
]

#: (model kind, crop scale) of the fused pair.
PAIR = (("v2", 2.7), ("v1se", 4.0))
ONNX_NAMES = {"v2": "minifasnet_v2_80x80.onnx", "v1se": "minifasnet_v1se_80x80.onnx"}


@dataclass(frozen=True)
class LivenessResult:
    """Passive liveness of one face.

    Parameters
    ----------
    score : float
        Fused live probability in [0, 1].
    live : bool
        ``score >= threshold``.
    threshold : float
        The decision threshold.
    scores : dict
        Live probability per model.
    """

    score: float
    live: bool
    threshold: float
    scores: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict."""
        return {
            "score": round(self.score, 4),
            "live": self.live,
            "threshold": self.threshold,
            "models": {k: round(v, 4) for k, v in self.scores.items()},
        }


def crop_for_scale(image: np.ndarray, face: Face, scale: float, size: int = 80) -> np.ndarray:
    """Crop the box scaled by ``scale`` around ``face`` (kept inside the image), resized to size."""
    src_h, src_w = image.shape[:2]
    x, y, box_w, box_h = face.box
    scale = min((src_h - 1) / box_h, (src_w - 1) / box_w, scale)
    new_w, new_h = box_w * scale, box_h * scale
    cx, cy = x + box_w / 2, y + box_h / 2
    x0, y0, x1, y1 = cx - new_w / 2, cy - new_h / 2, cx + new_w / 2, cy + new_h / 2
    if x0 < 0:
        x1, x0 = x1 - x0, 0
    if y0 < 0:
        y1, y0 = y1 - y0, 0
    if x1 > src_w - 1:
        x0, x1 = x0 - (x1 - src_w + 1), src_w - 1
    if y1 > src_h - 1:
        y0, y1 = y0 - (y1 - src_h + 1), src_h - 1
    region = image[int(y0) : int(y1) + 1, int(x0) : int(x1) + 1]
    return cv2.resize(region, (size, size))


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


class _Runtime(Protocol):
    def logits(self, kind: str, batch: np.ndarray) -> np.ndarray: ...


class PassiveLiveness:
    """Fused MiniFASNet liveness over a runtime (torch or ONNX).

    Parameters
    ----------
    runtime : TorchLiveness or OnnxLiveness
        Where the networks run.
    threshold : float, default=0.5
        Live when the fused score is at or above this.
    """

    def __init__(self, runtime: _Runtime, threshold: float = 0.5) -> None:
        self.runtime = runtime
        self.threshold = threshold

    def score(self, image: np.ndarray, face: Face) -> LivenessResult:
        """Score ``face`` in ``image`` (BGR ``uint8``)."""
        scores = {}
        for kind, scale in PAIR:
            crop = crop_for_scale(image, face, scale)
            batch = crop.transpose(2, 0, 1)[None].astype(np.float32)
            scores[kind] = float(_softmax(self.runtime.logits(kind, batch))[0, 1])
        fused = float(np.mean(list(scores.values())))
        return LivenessResult(fused, fused >= self.threshold, self.threshold, scores)


def _load_state(path: Path) -> Any:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


class TorchLiveness:
    """Run the MiniFASNets with PyTorch (CPU) from the published state dicts.

    Parameters
    ----------
    v2_path, v1se_path : Path
        The two ``.pth`` files.
    """

    def __init__(self, v2_path: Path, v1se_path: Path) -> None:
        import torch

        from ruleplus.identity._minifasnet import build_minifasnet

        self._torch = torch
        self.nets = {
            "v2": build_minifasnet("v2", _load_state(v2_path)),
            "v1se": build_minifasnet("v1se", _load_state(v1se_path)),
        }
        self._lock = threading.Lock()

    def logits(self, kind: str, batch: np.ndarray) -> np.ndarray:
        """Return the logits of network ``kind`` for an NCHW float32 batch."""
        with self._lock, self._torch.inference_mode():
            out = self.nets[kind](self._torch.from_numpy(batch))
        return out.numpy()  # type: ignore[no-any-return]


class OnnxLiveness:
    """Run the exported MiniFASNets with ONNX Runtime (no torch).

    Parameters
    ----------
    directory : Path
        Folder holding the files written by :func:`export_onnx`.
    """

    def __init__(self, directory: Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.sessions = {
            kind: ort.InferenceSession(
                str(Path(directory) / name), options, providers=["CPUExecutionProvider"]
            )
            for kind, name in ONNX_NAMES.items()
        }

    def logits(self, kind: str, batch: np.ndarray) -> np.ndarray:
        """Return the logits of network ``kind`` for an NCHW float32 batch."""
        session = self.sessions[kind]
        return np.asarray(session.run(None, {session.get_inputs()[0].name: batch})[0])


def export_onnx(runtime: TorchLiveness, directory: Path) -> list[Path]:
    """Export both networks to ONNX files in ``directory`` (input ``(n, 3, 80, 80)``, logits out).

    Parameters
    ----------
    runtime : TorchLiveness
        Loaded networks.
    directory : Path
        Output folder (created).

    Returns
    -------
    list of Path
        The written files.
    """
    import io
    import warnings

    import torch

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, name in ONNX_NAMES.items():
        target = directory / name
        dummy = torch.zeros(1, 3, 80, 80)
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # exporter deprecation chatter
            torch.onnx.export(
                runtime.nets[kind],
                (dummy,),
                buffer,  # type: ignore[arg-type]
                input_names=["input"],
                output_names=["logits"],
                dynamic_axes={"input": {0: "n"}, "logits": {0: "n"}},
                opset_version=17,
                dynamo=False,
            )
        target.write_bytes(buffer.getvalue())
        written.append(target)
    return written
