"""dlib's face-recognition ResNet, read from its own model file and run with PyTorch.

Why by hand: the prebuilt dlib on PyPI computes convolutions without BLAS, so one 150×150 chip
costs about 75 ms on one core, while the same weights in PyTorch take about 13 ms. No library
reads dlib's serialisation format, so :func:`read_dlib_resnet` parses the few record types the
model file holds (strings, packed integers, version-2 tensors of little-endian float32) and
checks the result against the network dlib's example defines (``anet_type``: a 7×7 stem, 14
residual blocks, global average pooling, a 256→128 linear map without bias). The outputs equal
dlib's ``compute_face_descriptor`` to within 1e-6, so templates of either runtime mix freely.

The network, input side first::

    (RGB - mean) / 256 → conv 7×7/2 (32) → affine → relu → max-pool 3×3/2
    → 14 residual blocks: conv 3×3/s → affine → relu → conv 3×3/1 → affine,
      plus the input (average-pooled 2×2/2 in the four blocks with s = 2), then relu
    → mean over rows and columns → ×W (256×128)

dlib adds a residual's two branches at the larger of their sizes, padding the smaller with
zeros at the end (channels, then rows and columns); :func:`_add_padded` does the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ruleplus.errors import IdentityError

__all__ = [
    "ONNX_NAME",
    "DlibResNet",
    "DlibResNetWeights",
    "OnnxDlibResNet",
    "export_onnx",
    "read_dlib_resnet",
]

#: File name of the exported network (input ``(n, 150, 150, 3)`` RGB as float32).
ONNX_NAME = "dlib_resnet_v1.onnx"

_LAYER_NAME = re.compile(rb"\x01([\x03-\x20])(con_4|affine_|fc_2|input_rgb_image_sized)")
_CONVOLUTIONS = 29


@dataclass(frozen=True)
class _Conv:
    weight: np.ndarray  # (out, in, rows, cols)
    bias: np.ndarray
    stride: int
    padding: int


@dataclass(frozen=True)
class DlibResNetWeights:
    """The parsed model: input means, 29 convolutions with their affine layers, the linear map."""

    mean_rgb: tuple[float, float, float]
    convolutions: list[_Conv]
    affines: list[tuple[np.ndarray, np.ndarray]]
    linear: np.ndarray  # (256, 128)


class _Reader:
    """dlib's serialisation primitives over an in-memory file."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def integer(self, pos: int) -> tuple[int, int]:
        head = self.data[pos]
        size = head & 0x0F
        if size > 8 or pos + 1 + size > len(self.data):
            raise ValueError(f"bad integer at byte {pos}")
        value = int.from_bytes(self.data[pos + 1 : pos + 1 + size], "little")
        return (-value if head & 0x80 else value), pos + 1 + size

    def real(self, pos: int) -> tuple[float, int]:
        mantissa, pos = self.integer(pos)
        exponent, pos = self.integer(pos)
        return float(np.ldexp(float(mantissa), exponent)), pos

    def string(self, pos: int) -> tuple[str, int]:
        size, pos = self.integer(pos)
        return self.data[pos : pos + size].decode("latin-1"), pos + size

    def tensor(self, pos: int) -> tuple[np.ndarray, tuple[int, ...], int]:
        version, pos = self.integer(pos)
        if version != 2:
            raise ValueError(f"tensor version {version} at byte {pos} (expected 2)")
        dims = []
        for _ in range(4):
            value, pos = self.integer(pos)
            dims.append(value)
        count = int(np.prod(dims))
        if count <= 0 or pos + 4 * count > len(self.data):
            raise ValueError(f"bad tensor size {dims} at byte {pos}")
        values = np.frombuffer(self.data, "<f4", count, pos).astype(np.float32)
        return values, tuple(dims), pos + 4 * count


def read_dlib_resnet(path: Path) -> DlibResNetWeights:
    """Parse ``dlib_face_recognition_resnet_model_v1.dat``.

    Raises
    ------
    IdentityError
        ``model_invalid`` when the file is not that network.
    """
    data = Path(path).read_bytes()
    reader = _Reader(data)
    mean: tuple[float, float, float] | None = None
    convs: list[_Conv] = []
    affines: list[tuple[np.ndarray, np.ndarray]] = []
    linear: np.ndarray | None = None
    try:
        for match in _LAYER_NAME.finditer(data):
            if match.group(1)[0] != len(match.group(2)):
                continue
            name, pos = reader.string(match.start())
            if name == "input_rgb_image_sized":
                red, pos = reader.real(pos)
                green, pos = reader.real(pos)
                blue, pos = reader.real(pos)
                mean = (red, green, blue)
            elif name == "con_4":
                flat, _, pos = reader.tensor(pos)
                fields = []
                for _ in range(7):  # filters, rows, cols, stride y/x, padding y/x
                    value, pos = reader.integer(pos)
                    fields.append(value)
                filters, rows, cols, stride, _, padding, _ = fields
                channels = (flat.size - filters) // (filters * rows * cols)
                cut = filters * channels * rows * cols
                if cut + filters != flat.size:
                    raise ValueError(f"convolution {len(convs)} has {flat.size} parameters")
                convs.append(
                    _Conv(
                        flat[:cut].reshape(filters, channels, rows, cols).copy(),
                        flat[cut:].copy(),
                        stride,
                        padding,
                    )
                )
            elif name == "affine_":
                flat, _, pos = reader.tensor(pos)
                half = flat.size // 2
                affines.append((flat[:half].copy(), flat[half:].copy()))
            elif name == "fc_2":
                outputs, pos = reader.integer(pos)
                inputs, pos = reader.integer(pos)
                flat, _, pos = reader.tensor(pos)
                linear = flat.reshape(inputs, outputs).copy()
    except (ValueError, IndexError) as exc:
        raise IdentityError("model_invalid", f"{Path(path).name}: {exc}") from None
    if (
        mean is None
        or linear is None
        or len(convs) != _CONVOLUTIONS
        or len(affines) != _CONVOLUTIONS
        or linear.shape != (256, 128)
        or any(c.weight.shape[0] != a[0].size for c, a in zip(convs, affines, strict=True))
    ):
        raise IdentityError(
            "model_invalid",
            f"{Path(path).name} is not dlib's face-recognition ResNet "
            f"({len(convs)} convolutions, {len(affines)} affine layers)",
        )
    return DlibResNetWeights(mean, convs, affines, linear)


def _add_padded(a: Any, b: Any) -> Any:
    """``a + b`` at the larger size of each, zero-padding at the end (dlib's ``add_prev``)."""
    from torch.nn import functional

    channels = max(a.shape[1], b.shape[1])
    rows, cols = max(a.shape[2], b.shape[2]), max(a.shape[3], b.shape[3])

    def pad(t: Any) -> Any:
        if t.shape[1:] == (channels, rows, cols):
            return t
        widths = (0, cols - t.shape[3], 0, rows - t.shape[2], 0, channels - t.shape[1])
        return functional.pad(t, widths)

    return pad(a) + pad(b)


class DlibResNet:
    """The network of :func:`read_dlib_resnet` as a PyTorch forward pass (CPU, no autograd).

    Parameters
    ----------
    weights : DlibResNetWeights
    """

    def __init__(self, weights: DlibResNetWeights) -> None:
        import torch

        self._torch = torch
        self._mean = torch.tensor(weights.mean_rgb, dtype=torch.float32).view(1, 3, 1, 1)
        # Fold each affine layer into its convolution: one op per layer instead of three.
        self._layers = []
        for conv, (gamma, beta) in zip(weights.convolutions, weights.affines, strict=True):
            weight = conv.weight * gamma[:, None, None, None]
            bias = conv.bias * gamma + beta
            self._layers.append(
                (
                    torch.from_numpy(np.ascontiguousarray(weight)),
                    torch.from_numpy(bias.astype(np.float32)),
                    conv.stride,
                    conv.padding,
                )
            )
        self._linear = torch.from_numpy(weights.linear)

    def _conv(self, x: Any, index: int, relu: bool) -> Any:
        from torch.nn import functional

        weight, bias, stride, padding = self._layers[index]
        y = functional.conv2d(x, weight, bias, stride=stride, padding=padding)
        return functional.relu(y) if relu else y

    def forward(self, x: Any) -> Any:
        """Descriptors of a float32 ``(n, 150, 150, 3)`` RGB tensor (0–255)."""
        from torch.nn import functional

        x = (x.permute(0, 3, 1, 2) - self._mean) / 256.0
        x = functional.max_pool2d(self._conv(x, 0, True), 3, 2)
        for first in range(1, len(self._layers), 2):
            down = self._layers[first][2] == 2
            y = self._conv(self._conv(x, first, True), first + 1, False)
            shortcut = functional.avg_pool2d(x, 2, 2) if down else x
            x = functional.relu(_add_padded(y, shortcut))
        return x.mean(dim=(2, 3)) @ self._linear

    def __call__(self, chips: np.ndarray) -> np.ndarray:
        """Descriptors of RGB ``uint8`` chips, shape ``(n, 150, 150, 3)`` or ``(150, 150, 3)``."""
        batch = chips[None] if chips.ndim == 3 else chips
        with self._torch.inference_mode():
            x = self._torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
            out = self.forward(x)
        result: np.ndarray = out.numpy().astype(np.float32)
        return result[0] if chips.ndim == 3 else result


class OnnxDlibResNet:
    """The network exported by :func:`export_onnx`, run by ONNX Runtime (no torch, no dlib net).

    Parameters
    ----------
    path : Path
        The ``.onnx`` file.
    """

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def __call__(self, chips: np.ndarray) -> np.ndarray:
        """Descriptors of RGB ``uint8`` chips, shape ``(n, 150, 150, 3)`` or ``(150, 150, 3)``."""
        batch = np.ascontiguousarray(chips[None] if chips.ndim == 3 else chips, dtype=np.float32)
        out = np.asarray(self._session.run(None, {self._input: batch})[0], dtype=np.float32)
        return out[0] if chips.ndim == 3 else out


def export_onnx(weights_path: Path, directory: Path) -> Path:
    """Write the network read from ``weights_path`` to ``directory / ONNX_NAME``.

    The batch dimension is dynamic; rows, columns and channels are fixed at 150×150×3.
    """
    import io
    import warnings

    import torch

    net = DlibResNet(read_dlib_resnet(weights_path))

    class _Module(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            return net.forward(x)

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exporter deprecation chatter
        torch.onnx.export(
            _Module(),
            (torch.zeros(1, 150, 150, 3),),
            buffer,  # type: ignore[arg-type]
            input_names=["chips"],
            output_names=["descriptors"],
            dynamic_axes={"chips": {0: "n"}, "descriptors": {0: "n"}},
            opset_version=17,
            dynamo=False,
        )
    target = directory / ONNX_NAME
    target.write_bytes(buffer.getvalue())
    return target
