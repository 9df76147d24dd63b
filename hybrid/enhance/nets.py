"""Enhancement network architectures (no training code here).

The networks work in JPEG's own geometry: the decoded image is taken to JFIF YCbCr, each
plane is pixel-unshuffled by 2 (so one 8x8 coding block is a 4x4 cell of the feature map and
a 16x16 4:2:0 MCU is 8x8), the 8x8 block phase is given as one-hot channels, and every
residual block is modulated (FiLM) by an embedding of the file's own quantization tables and
chroma sampling, not by a single "quality" number.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Conditioning vector layout: 64 luma + 64 chroma table entries (log2 scaled), chroma
#: subsampled horizontally, vertically, greyscale flag.
COND_DIM = 64 + 64 + 3
#: Number of one-hot block-phase channels (4 vertical + 4 horizontal positions at scale 1/2).
PHASE_CHANNELS = 8


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


class FiLMResBlock(nn.Module):
    """conv3x3 -> FiLM(cond) -> ReLU -> conv3x3, plus the identity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x)
        h = h * (1.0 + gamma[:, :, None, None]) + beta[:, :, None, None]
        return x + self.conv2(F.relu(h))


class EnhanceNet(nn.Module):
    """Quantization-table-conditioned residual CNN for JPEG artifact removal.

    Args:
        channels: feature width.
        blocks: number of FiLM residual blocks.
        cond_hidden: width of the conditioning MLP.

    Input ``ycc``: float (B, 3, H, W), JFIF YCbCr on the 0..255 scale (H, W even; callers pad
    to multiples of 8 with the block grid at the origin). ``cond``: float (B, COND_DIM), see
    :func:`hybrid.enhance.conditioning.condition_vector`. Output: the predicted residual
    (B, 3, H, W) on the same 0..255 scale, to be added to ``ycc``.
    """

    def __init__(self, channels: int = 48, blocks: int = 6, cond_hidden: int = 64) -> None:
        super().__init__()
        self.channels = channels
        self.n_blocks = blocks
        self.head = nn.Conv2d(12 + PHASE_CHANNELS, channels, 3, padding=1)
        self.cond = nn.Sequential(
            nn.Linear(COND_DIM, cond_hidden),
            nn.SiLU(),
            nn.Linear(cond_hidden, blocks * 2 * channels),
        )
        self.body = nn.ModuleList(FiLMResBlock(channels) for _ in range(blocks))
        self.tail = nn.Conv2d(channels, 12, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)
        nn.init.zeros_(self.cond[-1].weight)
        nn.init.zeros_(self.cond[-1].bias)

    def forward(self, ycc: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        b, _, h, w = ycc.shape
        x = ycc / 255.0 - ycc.new_tensor([0.5, 0.5, 0.5])[None, :, None, None]
        x = F.pixel_unshuffle(x, 2)
        phase = block_phase(h // 2, w // 2, device=x.device, dtype=x.dtype).expand(b, -1, -1, -1)
        # channels-last convolutions are about 25% faster on CPU (oneDNN), identical in value.
        inp = torch.cat([x, phase], 1).contiguous(memory_format=torch.channels_last)
        feat = F.relu(self.head(inp))
        film = self.cond(cond).view(b, self.n_blocks, 2, self.channels)
        for i, block in enumerate(self.body):
            feat = block(feat, film[:, i, 0], film[:, i, 1])
        return F.pixel_shuffle(self.tail(feat), 2) * 255.0


#: Architectures by name, for the weights registry (name -> class).
ARCHITECTURES: dict[str, type[nn.Module]] = {"EnhanceNet": EnhanceNet}
