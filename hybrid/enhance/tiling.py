"""The one tile loop: tile geometry shared by the enhancement (torch and ONNX) and
super-resolution tilers.

Tile origins and padded sizes snap to one 4:2:0 MCU, so block phase, chroma siting and the
coefficient slices of every tile are those of the whole image; the context around each tile
must exceed the network's receptive field for tiled and untiled results to agree.
:func:`tiles` walks the tiles, :func:`edge_window` cuts what a tile's network call reads;
each backend only says what to run on a window and where its output goes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

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


@dataclass(frozen=True)
class Tile:
    """One tile, in pixels of the image padded to the :data:`GRID`: rows ``y0:y1`` and
    columns ``x0:x1`` are what it produces, rows ``wy0:wy1`` and columns ``wx0:wx1`` the
    window (the tile and its context, cut at the padded image's edges) the network reads.
    All are multiples of :data:`GRID` but the ends, which may be the padded size."""

    y0: int
    y1: int
    x0: int
    x1: int
    wy0: int
    wy1: int
    wx0: int
    wx1: int


def tiles(height: int, width: int, tile: int, overlap: int) -> Iterator[Tile]:
    """The tiles of a ``height`` x ``width`` image, row by row.

    Args:
        height, width: the image's size in pixels; the tiles cover it padded up to a multiple
            of :data:`GRID`.
        tile: tile side (rounded up to a multiple of :data:`GRID`); an image no larger than
            one tile is one tile.
        overlap: context around each tile (rounded up to a multiple of :data:`GRID`), e.g.
            :func:`tile_overlap`'s.
    """
    tile = round_up(max(1, tile), GRID)
    overlap = round_up(max(0, overlap), GRID)
    hp, wp = round_up(height, GRID), round_up(width, GRID)
    for y0 in range(0, hp, tile):
        for x0 in range(0, wp, tile):
            yield Tile(
                y0=y0,
                y1=min(hp, y0 + tile),
                x0=x0,
                x1=min(wp, x0 + tile),
                wy0=max(0, y0 - overlap),
                wy1=min(hp, y0 + tile + overlap),
                wx0=max(0, x0 - overlap),
                wx1=min(wp, x0 + tile + overlap),
            )


def edge_window(array: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """``array[y0:y1, x0:x1]``, edge-replicated where the window reaches past the array (the
    image padded to the grid, one window at a time instead of a padded copy of all of it); a
    view when it does not. Works on pixels (H, W[, C]) and on coefficient blocks
    (BH, BW, 8, 8) alike; ``y0`` and ``x0`` must lie inside the array."""
    part = array[y0:y1, x0:x1]
    pad_y, pad_x = y1 - y0 - part.shape[0], x1 - x0 - part.shape[1]
    if pad_y == pad_x == 0:
        return part
    return np.pad(part, ((0, pad_y), (0, pad_x)) + ((0, 0),) * (array.ndim - 2), mode="edge")
