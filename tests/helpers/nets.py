"""Networks for the enhancement tests."""

from __future__ import annotations

import torch


def perturbed(net: torch.nn.Module) -> torch.nn.Module:
    """``net`` in eval mode with N(0, 0.05) noise added to every parameter (torch's global
    generator), so zero-initialised tails and conditioning do something."""
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return net.eval()
