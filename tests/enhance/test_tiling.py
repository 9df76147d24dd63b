"""The one tile loop (hybrid.enhance.tiling): tiles cover the padded image exactly once,
windows hold their tile and its context, and edge_window equals a padded copy's slice."""

from __future__ import annotations

import numpy as np
import pytest

from hybrid.enhance.tiling import GRID, edge_window, round_up, tiles


@pytest.mark.parametrize(
    ("height", "width", "tile", "overlap"),
    [(1, 1, 1024, 48), (321, 481, 64, 40), (100, 37, 100, 0), (48, 48, 16, 64)],
)
def test_tiles_cover_the_padded_image_once(height, width, tile, overlap):
    hp, wp = round_up(height, GRID), round_up(width, GRID)
    side, context = round_up(tile, GRID), round_up(overlap, GRID)
    count = np.zeros((hp, wp), dtype=int)
    for t in tiles(height, width, tile, overlap):
        count[t.y0 : t.y1, t.x0 : t.x1] += 1
        assert t.y0 % GRID == t.x0 % GRID == t.wy0 % GRID == t.wx0 % GRID == 0
        assert (t.wy0, t.wx0) == (max(0, t.y0 - context), max(0, t.x0 - context))
        assert (t.wy1, t.wx1) == (min(hp, t.y0 + side + context), min(wp, t.x0 + side + context))
        assert (t.y1 - t.y0, t.x1 - t.x0) == (min(side, hp - t.y0), min(side, wp - t.x0))
    assert (count == 1).all()


def test_edge_window_is_a_slice_of_the_edge_padded_image():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (21, 35, 3), dtype=np.uint8)
    blocks = rng.integers(-50, 50, (3, 5, 8, 8), dtype=np.int16)
    padded = np.pad(pixels, ((0, 11), (0, 13), (0, 0)), mode="edge")
    padded_blocks = np.pad(blocks, ((0, 2), (0, 1), (0, 0), (0, 0)), mode="edge")
    for y0, y1, x0, x1 in ((0, 32, 0, 48), (16, 32, 32, 48), (0, 16, 0, 16), (5, 21, 7, 35)):
        window = edge_window(pixels, y0, y1, x0, x1)
        assert np.array_equal(window, padded[y0:y1, x0:x1])
        by0, by1, bx0, bx1 = y0 // 8, y1 // 8, x0 // 8, x1 // 8
        assert np.array_equal(
            edge_window(blocks, by0, by1, bx0, bx1), padded_blocks[by0:by1, bx0:bx1]
        )
    assert np.shares_memory(edge_window(pixels, 0, 16, 0, 16), pixels)  # inside: a view
