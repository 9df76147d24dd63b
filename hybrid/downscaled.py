"""The downscaled mode, encoder side: code a smaller image as a standard JPEG and record the
original size, so a super-resolution decoder (or a classical upscale) can restore it.

A downscaled file is an ordinary JPEG of the small image (every viewer shows that), plus
hybrid's APP11 metadata: mode ``"downscaled"``, the exact original width and height, the
scale (original / coded, as asked; the coded size is ``round(original / scale)`` per axis,
at least 1 pixel) and the id of the super-resolution model it was made for.

:func:`encode_frame_file` is the one "pixels + options -> file bytes" step shared by every
planned encode (fixed scale or rate control); rate control calls it many times, so the
validated inputs live in an :class:`EncodeSource` built once.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hybrid.codec.geometry import coded_size
from hybrid.codec.markers import MAX_XMP_BYTES
from hybrid.codec.metadata import (
    APP11,
    CONTENT_CODES,
    HybridMetadata,
    frame_checksum,
    pack_metadata,
)
from hybrid.codec.options import EncodeOptions
from hybrid.errors import InputError, JpegDataWarning
from hybrid.io import DEFAULT_MAX_PIXELS, METADATA_KINDS, ImageMetadata, load_image, parse_strip
from hybrid.resample import downscale

#: Super-resolution model a downscaled file names when the caller names none, and the
#: decoder's last resort.
DEFAULT_SR_MODEL = "sr-fast-v1"
#: The default model per downscale it was trained for; see :func:`default_sr_model`.
SR_MODEL_BY_SCALE: dict[float, str] = {1.5: "sr-fast-x1.5-v1", 2.0: DEFAULT_SR_MODEL}


def default_sr_model(scale: float) -> str:
    """The super-resolution model for a file downscaled by ``scale`` (> 1): the entry of
    :data:`SR_MODEL_BY_SCALE` whose scale is nearest in ratio (x1.7 -> the x1.5 model, x3 ->
    the x2 model; ties go to the smaller scale)."""
    return min(SR_MODEL_BY_SCALE.items(), key=lambda kv: (abs(math.log(scale / kv[0])), kv[0]))[1]


@dataclass(eq=False)
class EncodeSource:
    """An image ready for repeated encoding at several scales.

    Attributes:
        pixels: uint8 (H, W) or (H, W, 3) original, upright.
        metadata: what the output file carries (already filtered by ``strip`` and the
            ``comment`` argument).
        content: the content class the APP11 record carries (``photo``, ``screen``; format
            version 3), or None for none; see :func:`with_content`.
    """

    pixels: np.ndarray
    metadata: ImageMetadata = ImageMetadata()
    content: str | None = None
    _small: dict[tuple[int, int], np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    def at_scale(self, scale: float) -> np.ndarray:
        """The pixels downscaled by ``scale`` (cached per coded size)."""
        size = coded_size(self.width, self.height, scale)
        if size not in self._small:
            self._small[size] = downscale(self.pixels, size)
        return self._small[size]


def check_comment(comment: Any) -> bytes | None:
    """A COM payload from ``str``/``bytes``/None, validated as :func:`hybrid.encode` does."""
    if isinstance(comment, str):
        comment = comment.encode("utf-8")
    if comment is not None and not isinstance(comment, (bytes, bytearray)):
        raise InputError(f"comment must be str or bytes, got {type(comment).__name__}")
    if comment is not None and len(comment) > 65533:
        raise InputError(f"comment is {len(comment)} bytes; a COM segment holds at most 65533")
    return bytes(comment) if comment is not None else None


def load_source(
    image: Any,
    *,
    keep_metadata: bool = True,
    strip: Any = None,
    comment: Any = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> EncodeSource:
    """Load ``image`` (path, PIL image, uint8 array) with the metadata the file will carry:
    the source's, less the kinds ``strip`` names (:func:`hybrid.io.parse_strip`; every
    kind when ``keep_metadata`` is false), with ``comment`` replacing a carried comment."""
    drop = parse_strip(strip) if keep_metadata else frozenset(METADATA_KINDS)
    own_comment = check_comment(comment)
    loaded = load_image(image, max_pixels=max_pixels)
    metadata = loaded.metadata.stripped(drop)
    if metadata.xmp is not None and len(metadata.xmp) > MAX_XMP_BYTES:
        warnings.warn(
            f"dropping the XMP packet: its {len(metadata.xmp)} bytes do not fit one APP1 "
            "segment (extended XMP is not written)",
            JpegDataWarning,
            stacklevel=3,
        )
        metadata = replace(metadata, xmp=None)
    if own_comment is not None:
        metadata = replace(metadata, comment=own_comment)
    return EncodeSource(pixels=loaded.pixels, metadata=metadata)


def check_content_class(content: Any) -> str | None:
    """``content`` itself if a file can be asked to record it: None (no class), or what a
    decode accepts (:func:`hybrid.enhance.choice.check_content`: ``auto``, classified at
    encode time, or one of :data:`hybrid.codec.metadata.CONTENT_CODES`).

    Raises:
        InputError: anything else.
    """
    from hybrid.enhance.choice import check_content  # not at import: as requests.py does

    if content is None:
        return None
    try:
        return check_content(content)
    except InputError:
        known = ", ".join(CONTENT_CODES)
        raise InputError(f"content must be None, auto or one of {known}, got {content!r}") from None


#: The content classifier is validated on files of IJG quality 20 and up (issue 18's
#: benchmark); below it, textures flattened by the quantizer (sand, foliage, sky) can look
#: like a screen's flat blocks to it. ``content="auto"`` classifies a baseline encode at
#: this quality or the request's, whichever is higher.
CLASSIFY_QUALITY = 75
#: ``best`` encodes below this quality record the class by default (``content=None``): the
#: decoder's own guess is not to be trusted there, and the encoder has the source.
RECORD_CLASS_BELOW = 20


def with_content(
    source: EncodeSource, options: EncodeOptions, content: Any, best: bool = False
) -> EncodeSource:
    """``source`` recording ``content``: None (no class; but ``auto`` for a ``best`` encode
    below :data:`RECORD_CLASS_BELOW`), ``photo``, ``screen``, or ``auto``:
    :func:`hybrid.enhance.content.classify_content` of one baseline encode of ``source`` at
    ``options``' tables, at :data:`CLASSIFY_QUALITY` where ``options`` asks for a lower IJG
    quality (no trellis, no scan search), read back as a decoder reads it. numpy only: the
    classifier is no network.

    Raises:
        InputError: ``content`` is none of these.
    """
    low = options.quant_tables is None and options.quality < RECORD_CLASS_BELOW
    if content is None and best and low:
        content = "auto"
    if check_content_class(content) != "auto":
        return replace(source, content=content)
    from hybrid.codec.encoder import image_to_frame
    from hybrid.codec.writer import write_jpeg
    from hybrid.enhance.content import classify_content
    from hybrid.enhance.jpeg_input import load_planes

    plain = replace(options, rdo=False, progressive=False, optimize_huffman=False)
    if plain.quant_tables is None and plain.quality < CLASSIFY_QUALITY:
        plain = replace(plain, quality=CLASSIFY_QUALITY)
    data = write_jpeg(image_to_frame(source.pixels, plain), optimize_huffman=False)
    return replace(source, content=classify_content(load_planes(data)).label)


def file_metadata(source: EncodeSource, mode: str, scale: float, model_id: str) -> HybridMetadata:
    """The APP11 record: ``downscaled`` (default model :func:`default_sr_model`) when
    ``scale > 1``, else ``mode`` (``plain`` or ``enhance``) at scale 1."""
    if scale > 1.0:
        return HybridMetadata(
            mode="downscaled",
            original_width=source.width,
            original_height=source.height,
            scale=scale,
            model_id=model_id or default_sr_model(scale),
        )
    return HybridMetadata(
        mode=mode,  # type: ignore[arg-type]
        original_width=source.width,
        original_height=source.height,
        model_id=model_id,
    )


def encode_frame_file(
    source: EncodeSource,
    options: EncodeOptions,
    *,
    scale: float = 1.0,
    mode: str = "plain",
    model_id: str = "",
) -> bytes:
    """One complete JPEG file of ``source`` downscaled by ``scale`` (1: full resolution).

    Returns:
        The file's bytes: the coded image is ``coded_size(original, scale)``; the APP11
        metadata is :func:`file_metadata`'s.
    """
    from hybrid.codec.encoder import image_to_frame
    from hybrid.codec.writer import write_jpeg

    pixels = source.at_scale(scale) if scale > 1.0 else source.pixels
    frame = image_to_frame(pixels, options)
    meta = replace(
        file_metadata(source, mode, scale, model_id),
        checksum=frame_checksum(frame),
        content=source.content,
    )
    return write_jpeg(
        frame,
        progressive=options.progressive,
        optimize_huffman=options.optimize_huffman,
        optimize_scans=options.optimize_scans,
        restart_interval=options.restart_interval,
        app_segments=((APP11 - 0xE0, pack_metadata(meta)),)
        + tuple((13, payload) for payload in source.metadata.iptc),
        icc_profile=source.metadata.icc_profile,
        exif=source.metadata.exif,
        xmp=source.metadata.xmp,
        comment=source.metadata.comment,
        density=source.metadata.density or (0, 1, 1),
    )
