"""MiniFASNetV2 and MiniFASNetV1SE, written to load Silent-Face-Anti-Spoofing's state dicts
strictly.

The layout (block names, widths, the squeeze-excitation on the last block of each residual stage)
follows the published checkpoints: ``conv1`` → ``conv2_dw`` → ``conv_23`` → ``conv_3`` (4 residual
blocks) → ``conv_34`` → ``conv_4`` (6) → ``conv_45`` → ``conv_5`` (2) → ``conv_6_sep`` (1×1, 512) →
``conv_6_dw`` (depthwise 5×5 for 80×80 input) → ``linear`` (512→128) → ``bn`` → ``prob``
(3 classes).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["MINIFASNET_V1SE", "MINIFASNET_V2", "MiniFASNet", "build_minifasnet"]

#: Expansion widths of each inverted-residual block, read from the checkpoints.
MINIFASNET_V2: dict[str, Sequence[int]] = {
    "conv_23": [103],
    "conv_3": [13, 13, 13, 13],
    "conv_34": [231],
    "conv_4": [231, 52, 26, 77, 26, 26],
    "conv_45": [308],
    "conv_5": [26, 26],
}
MINIFASNET_V1SE: dict[str, Sequence[int]] = {
    "conv_23": [103],
    "conv_3": [13, 26, 13, 52],
    "conv_34": [231],
    "conv_4": [154, 52, 26, 52, 26, 26],
    "conv_45": [308],
    "conv_5": [26, 26],
}


class ConvBlock(nn.Module):
    """Convolution (no bias) → batch norm → PReLU, or without PReLU when ``linear``."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int = 1,
        stride: int = 1,
        padding: int = 0,
        groups: int = 1,
        linear: bool = False,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.prelu: nn.Module = nn.Identity() if linear else nn.PReLU(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block."""
        return self.prelu(self.bn(self.conv(x)))  # type: ignore[no-any-return]


class SEModule(nn.Module):
    """Squeeze-and-excitation with batch norm (reduction 4)."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        mid = channels // reduction
        self.fc1 = nn.Conv2d(channels, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.fc2 = nn.Conv2d(mid, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reweight the channels of ``x``."""
        w = torch.mean(x, dim=(2, 3), keepdim=True)
        w = torch.relu(self.bn1(self.fc1(w)))
        gate: torch.Tensor = torch.sigmoid(self.bn2(self.fc2(w)))
        return x * gate


class DepthWise(nn.Module):
    """Inverted residual: 1×1 expand → 3×3 depthwise → 1×1 linear projection (+ SE, + skip)."""

    def __init__(
        self, c_in: int, width: int, c_out: int, stride: int, residual: bool, se: bool = False
    ) -> None:
        super().__init__()
        self.conv = ConvBlock(c_in, width)
        self.conv_dw = ConvBlock(width, width, 3, stride, 1, groups=width)
        self.project = ConvBlock(width, c_out, linear=True)
        self.residual = residual
        self.se_module = SEModule(c_out) if se else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block."""
        out = self.project(self.conv_dw(self.conv(x)))
        if self.se_module is not None:
            out = self.se_module(out)
        result: torch.Tensor = x + out if self.residual else out
        return result


class Residual(nn.Module):
    """A stage of residual blocks; with ``se`` the last block has squeeze-excitation."""

    def __init__(self, channels: int, widths: Sequence[int], se: bool) -> None:
        super().__init__()
        n = len(widths)
        self.model = nn.Sequential(
            *[
                DepthWise(channels, w, channels, 1, True, se=se and i == n - 1)
                for i, w in enumerate(widths)
            ]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the stage."""
        return self.model(x)  # type: ignore[no-any-return]


class MiniFASNet(nn.Module):
    """MiniFASNet for 80×80 BGR crops (values 0–255); returns 3 logits (index 1 = live).

    Parameters
    ----------
    widths : dict
        :data:`MINIFASNET_V2` or :data:`MINIFASNET_V1SE`.
    se : bool
        Squeeze-excitation on the last block of each residual stage (V1SE).
    input_size : int, default=80
        Input side in pixels.
    """

    def __init__(self, widths: dict[str, Sequence[int]], se: bool, input_size: int = 80) -> None:
        super().__init__()
        self.conv1 = ConvBlock(3, 32, 3, 2, 1)
        self.conv2_dw = ConvBlock(32, 32, 3, 1, 1, groups=32)
        self.conv_23 = DepthWise(32, widths["conv_23"][0], 64, 2, False)
        self.conv_3 = Residual(64, widths["conv_3"], se)
        self.conv_34 = DepthWise(64, widths["conv_34"][0], 128, 2, False)
        self.conv_4 = Residual(128, widths["conv_4"], se)
        self.conv_45 = DepthWise(128, widths["conv_45"][0], 128, 2, False)
        self.conv_5 = Residual(128, widths["conv_5"], se)
        self.conv_6_sep = ConvBlock(128, 512)
        k = (input_size + 15) // 16
        self.conv_6_dw = ConvBlock(512, 512, k, groups=512, linear=True)
        self.linear = nn.Linear(512, 128, bias=False)
        self.bn = nn.BatchNorm1d(128)
        self.prob = nn.Linear(128, 3, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits for ``x`` of shape ``(n, 3, 80, 80)``."""
        for stage in (
            self.conv1,
            self.conv2_dw,
            self.conv_23,
            self.conv_3,
            self.conv_34,
            self.conv_4,
            self.conv_45,
            self.conv_5,
            self.conv_6_sep,
            self.conv_6_dw,
        ):
            x = stage(x)
        return self.prob(self.bn(self.linear(torch.flatten(x, 1))))  # type: ignore[no-any-return]


def build_minifasnet(kind: str, state_dict: dict[str, torch.Tensor] | None = None) -> MiniFASNet:
    """Build ``"v2"`` or ``"v1se"`` and load ``state_dict`` strictly (``module.`` prefix allowed).

    Parameters
    ----------
    kind : {"v2", "v1se"}
        Which network.
    state_dict : dict, optional
        Weights; the model is returned in eval mode.
    """
    if kind not in ("v2", "v1se"):
        raise ValueError(f"unknown MiniFASNet kind {kind!r}")
    net = MiniFASNet(MINIFASNET_V2 if kind == "v2" else MINIFASNET_V1SE, se=kind == "v1se")
    if state_dict is not None:
        clean = {k.removeprefix("module."): v for k, v in state_dict.items()}
        net.load_state_dict(clean, strict=True)
    return net.eval()
