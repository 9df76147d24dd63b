"""Test helpers for the entropy-coding half: frames to write, files to read back."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile

import jpeglib
import numpy as np
from PIL import Image

from hybrid.codec.frame import Component, Frame, ScanSpec
from hybrid.codec.tables import (
    STD_AC_CHROMA_BITS,
    STD_AC_LUMA_BITS,
    STD_DC_CHROMA_BITS,
    STD_DC_LUMA_BITS,
)

#: (h_samp, v_samp) per component for each layout the tests cover.
SAMPLINGS = {
    "grey": ((1, 1),),
    "444": ((1, 1), (1, 1), (1, 1)),
    "422": ((2, 1), (1, 1), (1, 1)),
    "420": ((2, 2), (1, 1), (1, 1)),
}
PILLOW_SUBSAMPLING = {"444": 0, "422": 1, "420": 2}
HAS_JPEGTRAN = shutil.which("jpegtran") is not None


def read_dct(data: bytes) -> jpeglib.DCTJPEG:
    """jpeglib's coefficients of a JPEG file given as bytes (loaded, file removed)."""
    fd, path = tempfile.mkstemp(suffix=".jpg")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        dct = jpeglib.read_dct(path)
        dct.load()
        return dct
    finally:
        os.remove(path)


def dct_planes(dct: jpeglib.DCTJPEG) -> list[np.ndarray]:
    """jpeglib's (rows, cols, 8, 8) coefficient arrays in component order."""
    return [dct.Y] + ([dct.Cb, dct.Cr] if dct.has_chrominance else [])


def frame_from_jpeg(data: bytes) -> Frame:
    """The frame libjpeg wrote: exactly the ceil(size / 8) blocks jpeglib returns."""
    dct = read_dct(data)
    samp = dct.samp_factor  # rows are (v, h)
    comps = tuple(
        Component(i + 1, int(samp[i][1]), int(samp[i][0]), int(dct.quant_tbl_no[i]), a.copy())
        for i, a in enumerate(dct_planes(dct))
    )
    width, height = Image.open(io.BytesIO(data)).size
    qt = {i: dct.qt[i].astype(np.uint16) for i in range(dct.qt.shape[0])}
    return Frame(width, height, comps, qt)


def assert_reads_back(data: bytes, frame: Frame) -> None:
    """jpeglib reads the frame's coefficients and tables; Pillow and imagecodecs decode it."""
    import imagecodecs

    dct = read_dct(data)
    planes = dct_planes(dct)
    assert len(planes) == len(frame.components)
    for plane, comp in zip(planes, frame.components, strict=True):
        rows, cols = plane.shape[:2]
        h, w = frame.component_size(comp)
        assert (rows, cols) == (-(-h // 8), -(-w // 8))
        np.testing.assert_array_equal(plane, comp.coeffs[:rows, :cols])
    for i, comp in enumerate(frame.components):
        np.testing.assert_array_equal(
            dct.qt[dct.quant_tbl_no[i]], frame.quant_tables[comp.quant_index]
        )
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        assert im.size == (frame.width, frame.height)
    pixels = imagecodecs.jpeg8_decode(data)
    assert pixels.shape[:2] == (frame.height, frame.width)


def smooth_rgb(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A photo-like uint8 (height, width, 3) image: gradients, edges, texture, noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 128 + 90 * np.sin(x / 23.0) * np.cos(y / 31.0)
    g = 100 + 0.4 * x + 0.2 * y
    b = np.where(
        (x - width / 2) ** 2 + (y - height / 3) ** 2 < (min(width, height) / 4) ** 2, 220, 40
    )
    img = np.stack([r, g % 256, b + 15 * np.sin(x * y / 50.0)], axis=-1)
    img += rng.normal(0, 6, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def pillow_jpeg(pixels: np.ndarray, **kwargs) -> bytes:
    """Pillow (libjpeg-turbo) encoding of a uint8 image."""
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", **kwargs)
    return buf.getvalue()


def random_frame(
    rng: np.random.Generator, width: int, height: int, layout: str, kind: str = "small"
) -> Frame:
    """A frame of random coefficients, ceil(size / 8) blocks per component.

    ``kind``: "small" (Laplacian, decaying with frequency: like real images), "mid" (uniform
    -40..40), "even" (even magnitudes: refinement scans send only correction bits),
    "extreme" (AC in {0, +-1, +-1023}, DC alternating -1024 / 1023: maximal differences).
    """
    samp = SAMPLINGS[layout]
    hmax, vmax = max(s[0] for s in samp), max(s[1] for s in samp)
    comps = []
    for i, (hs, vs) in enumerate(samp):
        rows = _ceil(_ceil(height * vs, vmax), 8)
        cols = _ceil(_ceil(width * hs, hmax), 8)
        shape = (rows, cols, 8, 8)
        if kind == "small":
            decay = np.exp(-np.add.outer(np.arange(8), np.arange(8)) / 4)
            c = np.round(rng.laplace(0, 1.5, shape) * decay)
        elif kind == "mid":
            c = rng.integers(-40, 41, shape)
        elif kind == "even":
            c = 2 * rng.choice([-1, 1], shape) * rng.integers(1, 4, shape)
        elif kind == "extreme":
            c = rng.choice(np.array([-1023, -1, 0, 0, 0, 1, 1023]), shape)
        else:
            raise ValueError(kind)
        c = c.astype(np.int16)
        if kind == "extreme":
            c[..., 0, 0] = np.where(rng.random(shape[:2]) < 0.5, -1024, 1023)
        else:
            c[..., 0, 0] = rng.integers(-1024, 1024, shape[:2])
        comps.append(Component(i + 1, hs, vs, min(i, 1), c))
    qt = {0: np.full((8, 8), 2, np.uint16), 1: np.full((8, 8), 3, np.uint16)}
    return Frame(width, height, tuple(comps), qt)


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of each segment; an SOS payload is followed by ("ECS", data)."""
    assert data[:2] == b"\xff\xd8"
    out: list[tuple[int, bytes]] = []
    pos = 2
    while pos < len(data):
        assert data[pos] == 0xFF, f"no marker at {pos}"
        marker = data[pos + 1]
        if marker == 0xD9:
            out.append((marker, b""))
            break
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        out.append((marker, data[pos + 4 : pos + 2 + length]))
        pos += 2 + length
        if marker == 0xDA:
            end = pos
            while True:
                end = data.index(b"\xff", end)
                if data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                    end += 2
                    continue
                break
            out.append((-1, data[pos:end]))
            pos = end
    return out


def huffman_tables(data: bytes) -> set[tuple[int, tuple[int, ...]]]:
    """(Tc << 4 | Th, the 16 code-length counts) of every Huffman table a JPEG defines."""
    found = set()
    for marker, payload in segments(data):
        pos = 0
        while marker == 0xC4 and pos < len(payload):
            counts = tuple(payload[pos + 1 : pos + 17])
            found.add((payload[pos], counts))
            pos += 17 + sum(counts)
    return found


#: The Huffman tables of T.81 Annex K.3 (what an encode without optimized tables writes), as
#: :func:`huffman_tables` gives them.
STANDARD_HUFFMAN_TABLES = {
    (0x00, STD_DC_LUMA_BITS),
    (0x01, STD_DC_CHROMA_BITS),
    (0x10, STD_AC_LUMA_BITS),
    (0x11, STD_AC_CHROMA_BITS),
}


def entropy_data(data: bytes) -> list[bytes]:
    """The entropy-coded data of each scan (with its RST markers)."""
    return [payload for marker, payload in segments(data) if marker == -1]


def jpegtran(data: bytes, *args: str) -> bytes:
    """Run libjpeg-turbo's jpegtran over a file."""
    return subprocess.run(
        ["jpegtran", "-copy", "none", *args], input=data, capture_output=True, check=True
    ).stdout


def script_file_text(script: tuple[ScanSpec, ...]) -> str:
    """A scan script in jpegtran's ``-scans`` syntax."""
    return "".join(
        f"{','.join(map(str, s.component_indices))}: {s.ss}-{s.se}, {s.ah}, {s.al};\n"
        for s in script
    )
