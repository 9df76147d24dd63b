"""Enhancement and super-resolution network architectures (no training code here).

The networks work in JPEG's own geometry: the decoded image is taken to JFIF YCbCr, each
plane is pixel-unshuffled by 2 (so one 8x8 coding block is a 4x4 cell of the feature map and
a 16x16 4:2:0 MCU is 8x8), the 8x8 block phase is given as one-hot channels, and every
residual block is modulated (FiLM) by an embedding of the file's own quantization tables and
chroma sampling, not by a single "quality" number.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from hybrid.enhance.conditioning import COND_DIM

#: Number of one-hot block-phase channels (4 vertical + 4 horizontal positions at scale 1/2).
PHASE_CHANNELS = 8
#: Allowed feature widths and block counts of a network read from a weights file.
WIDTHS = range(1, 1025)
DEPTHS = range(1, 129)


def block_phase(height: int, width: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """One-hot 8x8-block phase of a half-resolution feature map.

    Args:
        height, width: size of the half-resolution map (full image size / 2).

    Returns:
        (1, 8, height, width) tensor: channels 0-3 one-hot of ``row % 4``, 4-7 of ``col % 4``.
    """
    rows = torch.arange(height, device=device) % 4
    cols = torch.arange(width, device=device) % 4
    row_hot = F.one_hot(rows, 4).to(dtype).t()[:, :, None].expand(4, height, width)
    col_hot = F.one_hot(cols, 4).to(dtype).t()[:, None, :].expand(4, height, width)
    return torch.cat([row_hot, col_hot], 0)[None]


def zero_init(*layers: nn.Module) -> None:
    """Zero the weight and bias of each layer (a residual branch that starts as "no change")."""
    for layer in layers:
        for param in (getattr(layer, "weight", None), getattr(layer, "bias", None)):
            if isinstance(param, torch.Tensor):
                nn.init.zeros_(param)


class FiLMResBlock(nn.Module):
    """conv3x3 -> FiLM(cond) -> ReLU -> conv3x3, plus the identity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        if x.shape[0] == 1 and not torch.is_grad_enabled():
            # Inference on one image: FiLM folded into conv1's weights and bias (the same
            # function, to float rounding), and ReLU / residual add in place. About 30%
            # faster on CPU, mostly because the broadcast FiLM product leaves oneDNN's
            # channels-last layout and the next convolution converts it back.
            scale = 1.0 + gamma[0]
            assert self.conv1.bias is not None  # built with bias=True (nn.Conv2d's default)
            weight = self.conv1.weight * scale[:, None, None, None]
            bias = self.conv1.bias * scale + beta[0]
            h = F.relu_(F.conv2d(x, weight, bias, padding=1))
            return _add(x, self.conv2(h))
        h = self.conv1(x)
        h = h * (1.0 + gamma[:, :, None, None]) + beta[:, :, None, None]
        return x + self.conv2(F.relu(h))


class FiLMTrunkNet(nn.Module):
    """Base of the networks built on the shared trunk (:func:`_init_trunk`): it declares the
    layers and sizes that function sets, so the functions that run the trunk are typed."""

    channels: int
    n_blocks: int
    low_blocks: int
    low_channels: int
    head: nn.Conv2d
    cond: nn.Sequential
    body: nn.ModuleList
    tail: nn.Conv2d
    low_down: nn.Conv2d
    low_cond: nn.Sequential
    low_body: nn.ModuleList
    low_up: nn.Conv2d


def _init_trunk(
    net: FiLMTrunkNet,
    channels: int,
    blocks: int,
    cond_hidden: int,
    out_channels: int,
    low_blocks: int = 0,
    low_channels: int = 64,
) -> None:
    """The layers both networks share, as attributes of ``net`` (their state-dict names):
    ``head`` (pixel-unshuffled planes + block phase -> features), ``cond`` (the table MLP
    giving each block's FiLM scale and shift), ``body`` (FiLM residual blocks), ``tail``
    (features -> ``out_channels``). Tail and last conditioning layer start at zero.

    With ``low_blocks`` > 0 a quarter-resolution branch (one cell per 8x8 coding block)
    follows the first ``blocks // 2`` body blocks: ``low_down`` (stride-2 conv to
    ``low_channels``), ``low_body`` (FiLM residual blocks conditioned by ``low_cond``) and
    ``low_up`` (1x1 conv + pixel shuffle back, added to the features). Each of its 3x3
    layers reaches twice as far as a half-resolution layer, at 0.44 of its multiply-adds
    (64 channels against 48).
    ``low_up`` and the last ``low_cond`` layer start at zero, so adding the branch to trained
    weights leaves their function unchanged (the branch is then fine-tuned)."""
    if low_blocks < 0:
        raise ValueError(f"low_blocks must be >= 0, got {low_blocks}")
    net.channels = channels
    net.n_blocks = blocks
    net.low_blocks = low_blocks
    net.low_channels = low_channels
    net.head = nn.Conv2d(12 + PHASE_CHANNELS, channels, 3, padding=1)
    net.cond = nn.Sequential(
        nn.Linear(COND_DIM, cond_hidden),
        nn.SiLU(),
        nn.Linear(cond_hidden, blocks * 2 * channels),
    )
    net.body = nn.ModuleList(FiLMResBlock(channels) for _ in range(blocks))
    net.tail = nn.Conv2d(channels, out_channels, 3, padding=1)
    zero_init(net.tail, net.cond[-1])
    if low_blocks:
        net.low_down = nn.Conv2d(channels, low_channels, 3, stride=2, padding=1)
        net.low_cond = nn.Sequential(
            nn.Linear(COND_DIM, cond_hidden),
            nn.SiLU(),
            nn.Linear(cond_hidden, low_blocks * 2 * low_channels),
        )
        net.low_body = nn.ModuleList(FiLMResBlock(low_channels) for _ in range(low_blocks))
        net.low_up = nn.Conv2d(low_channels, 4 * channels, 1)
        zero_init(net.low_up, net.low_cond[-1])


def _relu(x: torch.Tensor) -> torch.Tensor:
    """ReLU, in place under inference mode (``x`` is then a fresh intermediate)."""
    return F.relu_(x) if torch.is_inference_mode_enabled() else F.relu(x)


def _add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``x + y``, into ``x`` under inference mode (a residual stream nothing else reads)."""
    return x.add_(y) if torch.is_inference_mode_enabled() else x + y


def _run_low_branch(net: FiLMTrunkNet, feat: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
    """The quarter-resolution branch's contribution, shaped like ``feat`` (B, C, H/2, W/2)."""
    b = feat.shape[0]
    low = _relu(net.low_down(feat))
    film = net.low_cond(cond).view(b, net.low_blocks, 2, net.low_channels)
    for i, block in enumerate(net.low_body):
        low = block(low, film[:, i, 0], film[:, i, 1])
    return F.pixel_shuffle(net.low_up(low), 2)


def _run_trunk(net: FiLMTrunkNet, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
    """The shared layers on ``x`` (B, 3, H, W), centred planes with H, W multiples of 8 and
    the block grid at the origin: (B, out_channels, H/2, W/2) from the tail."""
    b, _, h, w = x.shape
    x = F.pixel_unshuffle(x, 2)
    phase = block_phase(h // 2, w // 2, device=x.device, dtype=x.dtype).expand(b, -1, -1, -1)
    # channels-last convolutions are about 25% faster on CPU (oneDNN), identical in value.
    inp = torch.cat([x, phase], 1).contiguous(memory_format=torch.channels_last)
    feat = _relu(net.head(inp))
    film = net.cond(cond).view(b, net.n_blocks, 2, net.channels)
    split = net.n_blocks // 2 if net.low_blocks else -1
    for i, block in enumerate(net.body):
        if i == split:
            feat = _add(feat, _run_low_branch(net, feat, cond))
        feat = block(feat, film[:, i, 0], film[:, i, 1])
    return net.tail(feat)


def trunk_radius(net: FiLMTrunkNet) -> int:
    """How far (full-resolution pixels) an output pixel of the trunk sees, rounded up: each
    3x3 convolution at half resolution reaches 2 pixels, at quarter resolution 4, plus the
    2x2 unshuffle cells."""
    half_convs = 2 + 2 * net.n_blocks
    radius = 2 * half_convs + 2
    if net.low_blocks:
        radius += 2 * 2 + 4 * 2 * net.low_blocks + 4  # down conv, low blocks, shuffle cell
    return radius


class EnhanceNet(FiLMTrunkNet):
    """Quantization-table-conditioned residual CNN for JPEG artifact removal.

    Args:
        channels: feature width.
        blocks: number of FiLM residual blocks.
        cond_hidden: width of the conditioning MLP.
        low_blocks, low_channels: depth and width of the optional quarter-resolution branch
            (0: none; see :func:`_init_trunk`).

    Input ``ycc``: float (B, 3, H, W), JFIF YCbCr on the 0..255 scale (H, W even; callers pad
    to multiples of 8 with the block grid at the origin). ``cond``: float (B, COND_DIM), see
    :func:`hybrid.enhance.conditioning.condition_vector`. Output: the predicted residual
    (B, 3, H, W) on the same 0..255 scale, to be added to ``ycc``.
    """

    #: Constructor arguments a weights file may give, and their allowed values.
    KWARG_LIMITS: ClassVar[Mapping[str, range]] = MappingProxyType(
        {"channels": WIDTHS, "blocks": DEPTHS, "cond_hidden": WIDTHS,
         "low_blocks": range(0, DEPTHS.stop), "low_channels": WIDTHS}
    )  # fmt: skip

    def __init__(
        self,
        channels: int = 48,
        blocks: int = 6,
        cond_hidden: int = 64,
        low_blocks: int = 0,
        low_channels: int = 64,
    ) -> None:
        super().__init__()
        _init_trunk(self, channels, blocks, cond_hidden, 12, low_blocks, low_channels)

    @property
    def receptive_radius(self) -> int:
        """How far (pixels) an output pixel sees; the tiler's overlap must exceed it."""
        return trunk_radius(self)

    def forward(self, ycc: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        x = ycc / 255.0 - ycc.new_tensor([0.5, 0.5, 0.5])[None, :, None, None]
        return F.pixel_shuffle(_run_trunk(self, x, cond), 2) * 255.0


class SRNet(FiLMTrunkNet):
    """Quantization-table-conditioned super-resolution of a decoded JPEG (the contract of
    :mod:`hybrid.enhance.superres`).

    The geometry is :class:`EnhanceNet`'s: the input is padded (replicate, bottom/right, so
    the block grid stays at the origin) to a multiple of 16 -- whole 4:2:0 MCUs, as the tiler
    of :mod:`hybrid.enhance.superres` pads, so whole-image and tiled calls see the same
    borders -- then pixel-unshuffled by 2 and given the one-hot block phase. FiLM residual
    blocks work at half the coded resolution; the tail predicts ``(2 * scale)**2`` sub-pixels
    per feature cell, pixel-shuffled to ``scale`` times the coded size and added to a bicubic
    upsample of the input (torch, ``align_corners=False``). Tail and last conditioning layer
    start at zero, so an untrained network is exactly that bicubic upsample.

    Args:
        channels: feature width.
        blocks: number of FiLM residual blocks.
        scale: integer upscaling factor, 2..4.
        cond_hidden: width of the conditioning MLP.

    Input ``rgb``: float (B, 3, h, w), the plain decode on the 0..1 scale (greyscale replicated
    to 3 channels), any h, w >= 1. ``cond``: float (B, COND_DIM), see
    :func:`hybrid.enhance.jpeg_input.condition_vector`. Output: float (B, 3, scale*h,
    scale*w) on the 0..1 scale, not clipped.
    """

    #: Constructor arguments a weights file may give, and their allowed values.
    KWARG_LIMITS: ClassVar[Mapping[str, range]] = MappingProxyType(
        {"channels": WIDTHS, "blocks": DEPTHS, "scale": range(2, 5), "cond_hidden": WIDTHS}
    )

    def __init__(
        self, channels: int = 48, blocks: int = 6, scale: int = 2, cond_hidden: int = 64
    ) -> None:
        super().__init__()
        if isinstance(scale, bool) or not isinstance(scale, int) or not 2 <= scale <= 4:
            raise ValueError(f"SRNet scale must be an integer 2..4, got {scale!r}")
        self.scale = scale
        _init_trunk(self, channels, blocks, cond_hidden, out_channels=3 * (2 * scale) ** 2)

    @property
    def receptive_radius(self) -> int:
        """How far (coded pixels) an output pixel sees, rounded up: the trunk's reach
        (:func:`trunk_radius`) plus bicubic's 2-pixel support. The tiler's overlap must
        exceed it."""
        return trunk_radius(self) + 2

    def forward(self, rgb: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        _, _, h, w = rgb.shape
        hp, wp = -(-h // 16) * 16, -(-w // 16) * 16
        x = F.pad(rgb - 0.5, (0, wp - w, 0, hp - h), mode="replicate")
        s = self.scale
        residual = F.pixel_shuffle(_run_trunk(self, x, cond), 2 * s)[:, :, : s * h, : s * w]
        base = F.interpolate(rgb, scale_factor=s, mode="bicubic", align_corners=False)
        return base + residual


#: Architectures by name, for the weights registry (name -> class).
ARCHITECTURES: dict[str, type[nn.Module]] = {"EnhanceNet": EnhanceNet, "SRNet": SRNet}
