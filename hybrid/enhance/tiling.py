"""Tile geometry shared by the enhancement and super-resolution tilers.

Tile origins and padded sizes snap to one 4:2:0 MCU, so block phase, chroma siting and the
coefficient slices of every tile are those of the whole image; the context around each tile
must exceed the network's receptive field for tiled and untiled results to agree.
"""

from __future__ import annotations

from typing import Any

#: Grid every tile origin and the padded image size snap to (one 4:2:0 MCU).
GRID = 16
#: Overlap (pixels) for networks that do not state a ``receptive_radius``.
DEFAULT_OVERLAP = 48


def round_up(value: int, step: int) -> int:
    """The smallest multiple of ``step`` (> 0) at or above ``value``."""
    return -(-value // step) * step


def tile_overlap(net: Any, overlap: int | None = None, after: int = 0) -> int:
    """Context (pixels, a multiple of :data:`GRID`) around each tile: ``overlap`` if given,
    else more than the network's ``receptive_radius`` plus ``after``, the reach of whatever
    runs on the network's output before it is cropped (:data:`DEFAULT_OVERLAP` for a network
    that does not state a radius)."""
    if overlap is None:
        radius = getattr(net, "receptive_radius", None)
        overlap = int(radius) + 1 + after if isinstance(radius, int) else DEFAULT_OVERLAP
    return round_up(max(0, overlap), GRID)
