"""What the enhancement networks read from a JPEG file: pixels, coefficients, tables, sampling.

One libjpeg pass (:func:`hybrid.codec.reader.read_dct`: in memory through libjpeg-turbo for
a one-scan sequential file, else jpeglib's libjpeg 6b) gives the coefficients, tables and
warnings; the pixels are made from those coefficients as
libjpeg-turbo makes them (:func:`hybrid.codec.decoder.decode_pixels`), bit-identical to
Pillow's decode, so the enhanced decode starts from exactly what every viewer shows. Pillow
decodes the pixels instead only where that equality is not assured: damaged data (libjpeg
versions fill it in differently), a progressive file whose low coefficients are never fully
refined (libjpeg-turbo smooths its blocks) and files this path does not accept (its errors).
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from hybrid.codec.decoder import decode_pixels
from hybrid.codec.frame import Component, Frame
from hybrid.codec.headers import JpegInfo, parse_info
from hybrid.codec.reader import DctRead, frame_of_read, libjpeg_read_dct, read_dct
from hybrid.enhance.conditioning import COND_DIM
from hybrid.errors import (
    CorruptJPEGError,
    ImageTooLargeError,
    InputError,
    JpegDataWarning,
    UnsupportedImageError,
)
from hybrid.io import pillow_warnings_as_jpeg_data


@dataclass(frozen=True)
class JpegPlanes:
    """A decoded JPEG: its plain-decode pixels and its coefficient-level
    :class:`~hybrid.codec.frame.Frame`, which the network is conditioned on and projected
    onto.

    Attributes:
        pixels: uint8 (H, W, 3) plain decode (greyscale files are replicated to 3 channels).
        frame: the coefficients (libjpeg's ``ceil(component_size / 8)`` blocks per
            component, int16, natural order) and the quantization tables libjpeg decoded
            them with (uint16 (8, 8), natural order); one component (greyscale) or three.
    """

    pixels: np.ndarray
    frame: Frame

    @property
    def grey(self) -> bool:
        """True for single-component files."""
        return len(self.frame.components) == 1

    @property
    def coeffs(self) -> tuple[np.ndarray, ...]:
        """Per component int16 (BH, BW, 8, 8) quantized coefficients (natural order)."""
        return tuple(c.coeffs for c in self.frame.components)

    @property
    def qtables(self) -> tuple[np.ndarray, ...]:
        """Per component uint16 (8, 8) quantization table (natural order)."""
        return tuple(self.frame.quant_tables[c.quant_index] for c in self.frame.components)

    @property
    def chroma_factors(self) -> tuple[int, int]:
        """(fy, fx) chroma subsampling factors; (1, 1) for 4:4:4 and greyscale."""
        if self.grey:
            return (1, 1)
        luma, chroma = self.frame.components[0], self.frame.components[1]
        return (luma.v_samp // chroma.v_samp, luma.h_samp // chroma.h_samp)


def _pillow_pixels(data: bytes) -> tuple[str, np.ndarray]:
    """Pillow's decode of ``data``: (its mode, uint8 (H, W, 3) RGB pixels)."""
    try:
        with pillow_warnings_as_jpeg_data(), Image.open(io.BytesIO(data)) as im:
            if im.format not in ("JPEG", "MPO"):  # MPO: the primary image, as Pillow shows
                raise CorruptJPEGError("not a JPEG file")
            mode = im.mode
            if mode not in ("L", "RGB"):
                raise UnsupportedImageError(
                    f"enhancement supports greyscale and YCbCr JPEGs, not {mode}"
                )
            return mode, np.array(im.convert("RGB"))  # writable: torch.from_numpy warns otherwise
    except (CorruptJPEGError, UnsupportedImageError):
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(str(exc)) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as exc:
        raise CorruptJPEGError(f"cannot decode JPEG: {exc}") from None


def _quiet_info(data: bytes) -> JpegInfo | None:
    """``data``'s headers without limits or warnings (the decode warns), None if unparsable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", JpegDataWarning)
            return parse_info(data, max_scan_passes=None)
    except InputError:
        return None


def _check_pillow_limit(info: JpegInfo) -> None:
    """Pillow's decompression-bomb refusal, which its decode used to make here."""
    limit = Image.MAX_IMAGE_PIXELS
    pixels = info.width * info.height
    if limit is not None and pixels > 2 * limit:
        raise ImageTooLargeError(
            f"Image size ({pixels} pixels) exceeds limit of {2 * limit} pixels, "
            "could be decompression bomb DOS attack."
        )


def _exact_pixels(
    data: bytes,
    info: JpegInfo,
    read: DctRead,
    comps: list[np.ndarray],
    qtables: tuple[np.ndarray, ...],
    samp: np.ndarray,
) -> np.ndarray:
    """uint8 (H, W, 3): Pillow's pixels, made from the coefficients where that is bit-exact
    (intact data, fully refined), else by Pillow."""
    if read.damage is not None or not info.fully_refined:
        return _pillow_pixels(data)[1]
    sampling = [(int(v), int(h)) for v, h in samp[: len(comps)]]
    try:
        pixels = decode_pixels(comps, qtables, sampling, info.height, info.width)
    except ValueError:  # a layout decode_pixels does not reproduce
        return _pillow_pixels(data)[1]
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    return pixels


def load_planes(
    data: bytes,
    *,
    info: JpegInfo | None = None,
    tolerate_damage: bool = False,
    read: DctRead | None = None,
) -> JpegPlanes:
    """Decode ``data`` (a baseline or progressive 8-bit JPEG) for enhancement.

    ``info``: ``data``'s parsed headers (:func:`hybrid.codec.headers.parse_info`), when the
    caller has them: they are not parsed (nor warned about) again.
    ``tolerate_damage``: damaged entropy-coded data (already reported by the caller) is
    read as libjpeg and every viewer fill it in, instead of raising.
    ``read``: :func:`hybrid.codec.reader.read_dct`'s pass over ``data``, when the caller
    has made it (for the damage check): libjpeg does not run again.

    Raises:
        CorruptJPEGError: not a decodable JPEG.
        UnsupportedImageError: CMYK/YCCK or otherwise unsupported component layouts.
        ImageTooLargeError: over Pillow's decompression-bomb limit (callers going through
            :func:`hybrid.decode` are checked against ``max_pixels`` before this).
    """
    if info is None:
        info = _quiet_info(data)
    mode, pixels = None, None
    if info is None or info.unsupported_reason is not None:
        mode, pixels = _pillow_pixels(data)  # raises, or accepts what the headers did not
    else:
        _check_pillow_limit(info)
    if read is None:
        read = read_dct(data, info)
    read = libjpeg_read_dct(data, info, tolerate_damage=tolerate_damage, read=read)
    assert read.coefficients is not None and read.qtables is not None
    assert read.sampling is not None
    if mode is None:
        assert info is not None  # Pillow did not decode: the headers parsed and are supported
        grey = len(info.components) == 1
    else:
        grey = mode == "L"
    count = 1 if grey else 3
    comps = list(read.coefficients[:count])
    qtables = tuple(q.astype(np.uint16) for q in read.qtables[:count])
    if any(not q.all() for q in qtables):
        # T.81 B.2.4.1 (Table B.4): entries are 1..255 (1..65535); a zero breaks the table
        # conditioning (log2) and empties the consistency intervals.
        raise CorruptJPEGError("a quantization table has a zero entry (T.81 allows 1..65535)")
    samp = np.asarray(read.sampling)
    if grey:
        factors = (1, 1)
    else:
        if np.any(samp[1] != samp[2]) or np.any(samp[0] % samp[1]):
            raise UnsupportedImageError(f"unsupported chroma sampling factors {samp.tolist()}")
        factors = (int(samp[0][0] // samp[1][0]), int(samp[0][1] // samp[1][1]))
        if max(factors) > 2:  # the tiler's 16-pixel grid holds whole chroma blocks up to 2x
            raise UnsupportedImageError(
                f"enhancement supports chroma subsampled at most 2x (4:2:0, 4:2:2, 4:4:0), "
                f"not {factors[1]}x{factors[0]} (e.g. 4:1:1)"
            )
    if pixels is None:
        assert info is not None
        pixels = _exact_pixels(data, info, read, comps, qtables, samp)
    if mode is None:  # the headers parsed: their layout, libjpeg's arrays (codec's reader)
        assert info is not None
        frame = frame_of_read(read, info)
    else:  # Pillow decoded what the header parse did not take: the layout libjpeg read
        frame = Frame(
            pixels.shape[1],
            pixels.shape[0],
            tuple(
                Component(i + 1, 1 if grey else h, 1 if grey else v, i, blocks)
                for i, (blocks, (v, h)) in enumerate(zip(comps, read.sampling, strict=False))
            ),
        )
    # the tables libjpeg decoded each component with (one index: one table)
    tables = {c.quant_index: q for c, q in zip(frame.components, qtables, strict=True)}
    return JpegPlanes(pixels=pixels, frame=replace(frame, quant_tables=tables))


def condition_vector(planes: JpegPlanes) -> np.ndarray:
    """float32 (COND_DIM,): log2 of luma and chroma tables / 8, chroma subsampling, grey flag."""
    luma = planes.qtables[0].astype(np.float32).reshape(-1)
    chroma = planes.qtables[1 if len(planes.qtables) > 1 else 0].astype(np.float32).reshape(-1)
    fy, fx = planes.chroma_factors
    flags = np.array([fx > 1, fy > 1, planes.grey], dtype=np.float32)
    vec = np.concatenate([np.log2(luma) / 8.0, np.log2(chroma) / 8.0, flags])
    assert vec.shape == (COND_DIM,)
    return vec
