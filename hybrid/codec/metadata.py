"""hybrid's own APP11 segment: what a file was encoded for.

Standard decoders skip APPn segments they do not recognise (T.81 B.2.4.6), so the segment
changes nothing for Pillow, libjpeg or a browser; hybrid's decoder reads it to know whether a
file was made for enhancement and at which size the original was.

Payload layout (all integers big-endian), format versions 1 to 4::

    offset size  field
     0     10    signature b"HYBRIDJPG\\0"
    10      1    format version (1, 2, 3 or 4)
    11      1    mode: 0 plain, 1 enhance, 2 downscaled
    12      4    original width  (uint32, pixels)
    16      4    original height (uint32, pixels)
    20      8    scale (IEEE 754 float64): original size / coded size, 1.0 unless downscaled
    28      1    n = length of the model id in bytes (0..64)
    29      n    model id, UTF-8
    29+n    4    versions 2 to 4: CRC-32 of the coded image (:func:`coefficient_checksum`)
    33+n    1    versions 3 and 4: content class: 1 photo, 2 screen (text, UI, graphics);
                 0 (version 4 only) for none recorded
    34+n    1    version 4 only: enhancement strength k (0..255): an enhanced decode with
                 the recorded model keeps k / 255 of the network's change (0: the plain decode;
                 downscaled mode: of the super-resolution network's change over the plain
                 decode upscaled bicubically, 0 being that bicubic upscale)

Version 4 adds the strength: the encoder, which has the original, fits the share of the
recorded model's change that brings the decode closest to it (:mod:`hybrid.enhance.strength`),
and the decoder uses it instead of the near-lossless fade-out (:mod:`hybrid.enhance.taper`)
when it decodes with that model. It is written only with a strength (files without one stay
version 1 to 3, readable by older hybrids); it needs a checksum and a model id. In the
downscaled mode the model is the super-resolution network and the strength is the share of
its change over the bicubic upscale of the plain decode
(:mod:`hybrid.pipeline.upscale`), fitted the same way.

Version 3 adds the content class, so that a decoder picks the enhancement model made for
that kind of image without guessing (:mod:`hybrid.enhance.choice`); it is written only when
a class is recorded (files without one stay version 2, readable by older hybrids). A code
this hybrid does not know (a later class) keeps the rest of the record, with a warning.

Version 2 adds the checksum: JPEG itself has none, and most bit flips in entropy-coded data
re-synchronise without any decoder noticing. It covers the quantized coefficients and the
quantization tables, not the bytes, so lossless rewrites (Huffman re-optimisation,
progressive <-> sequential, metadata edits) keep it valid while any change to the coded
image is caught.

The scale is a float64 rather than a 1/256 fixed-point or float32 value so that every Python
float round-trips exactly; the exact original size is stored anyway. A reader meeting a
different format version ignores the segment (with a :class:`HybridMetadataWarning`): a newer
layout always bumps the version byte. Metadata without a checksum is written as version 1,
with a checksum and no content class as version 2, with a content class as version 3, with a
strength as version 4.
"""

from __future__ import annotations

import math
import struct
import warnings
import zlib
from dataclasses import dataclass
from typing import Literal

import numpy as np

from hybrid.codec.frame import Frame
from hybrid.errors import HybridMetadataWarning, InputError

#: APP11 (0xFFEB): T.81 leaves APPn to applications; JPEG XT/JUMBF also use APP11, with
#: the signature b"JP", which is why ours carries a long, distinct signature.
APP11 = 0xEB
SIGNATURE = b"HYBRIDJPG\0"
FORMAT_VERSION = 4
#: Versions this hybrid reads: 1 (no checksum), 2 (checksum), 3 (checksum, content class) and
#: 4 (checksum, content class or none, enhancement strength).
READABLE_VERSIONS = (1, 2, 3, 4)
#: The strength byte's denominator: a recorded strength is a multiple of 1/255.
STRENGTH_LEVELS = 255
MAX_MODEL_ID_BYTES = 64

Mode = Literal["plain", "enhance", "downscaled"]
_MODE_CODES: dict[str, int] = {"plain": 0, "enhance": 1, "downscaled": 2}
_MODE_NAMES: dict[int, str] = {code: name for name, code in _MODE_CODES.items()}
#: Content classes and their version-3/4 byte; 0 is written only by version 4, for none.
CONTENT_CODES: dict[str, int] = {"photo": 1, "screen": 2}
_CONTENT_NAMES: dict[int, str] = {code: name for name, code in CONTENT_CODES.items()}
_FIXED = struct.Struct(">BBIIdB")  # version, mode, width, height, scale, model id length
_MAX_SIZE = 0xFFFFFFFF


@dataclass(frozen=True, kw_only=True)
class HybridMetadata:
    """What a hybrid file was encoded for.

    Attributes:
        mode: ``"plain"`` (an ordinary JPEG), ``"enhance"`` (encoded to be decoded with a
            network) or ``"downscaled"`` (coded smaller than the original; the decoder upscales).
        original_width, original_height: size of the image given to the encoder, 1..2**32-1.
        scale: original size / coded size; exactly 1.0 for ``plain`` and ``enhance``.
        model_id: id of the network the file was tuned for, at most 64 UTF-8 bytes; "" = any.
        checksum: CRC-32 (0..2**32-1) of the coded image, see :func:`coefficient_checksum`;
            None for none (then the segment is written as format version 1).
        content: the kind of image, a key of :data:`CONTENT_CODES` (``"photo"``,
            ``"screen"``), or None for unrecorded. A class needs a checksum: it is written
            as format version 3, which extends version 2.
        strength: the share (0..1) of ``model_id``'s change an enhanced decode with that
            model keeps, fitted by the encoder (:mod:`hybrid.enhance.strength`); None for
            unrecorded (the decoder's near-lossless fade-out decides). Stored as a whole
            number of 1/255 steps: a value in between is kept as the nearest step. Needs a
            checksum and a model id: it is written as format version 4, which extends
            version 3. For ``downscaled`` it is the share of the super-resolution model's
            change over the bicubic upscale of the plain decode (None: all of it).
    """

    mode: Mode
    original_width: int
    original_height: int
    scale: float = 1.0
    model_id: str = ""
    checksum: int | None = None
    content: str | None = None
    strength: float | None = None

    @property
    def version(self) -> int:
        """The payload format version this metadata is written as: 4 with a strength, 3 with
        a content class, 2 with a checksum only, else 1."""
        if self.strength is not None:
            return 4
        if self.content is not None:
            return 3
        return 1 if self.checksum is None else 2

    def __post_init__(self) -> None:
        if self.checksum is not None and (
            isinstance(self.checksum, bool)
            or not isinstance(self.checksum, (int, np.integer))
            or not 0 <= self.checksum <= _MAX_SIZE
        ):
            raise InputError(
                f"checksum must be an integer 0..{_MAX_SIZE} or None, got {self.checksum!r}"
            )
        if self.mode not in _MODE_CODES:
            raise InputError(f"mode must be plain, enhance or downscaled, got {self.mode!r}")
        if self.content is not None:
            if self.content not in CONTENT_CODES:
                known = ", ".join(CONTENT_CODES)
                raise InputError(f"content must be one of {known} or None, got {self.content!r}")
            if self.checksum is None:
                raise InputError("a content class is recorded with a checksum (format version 3)")
        if self.strength is not None:
            self._check_strength()
        for name in ("original_width", "original_height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_SIZE:
                raise InputError(f"{name} must be an integer 1..{_MAX_SIZE}, got {value!r}")
        if isinstance(self.scale, bool) or not isinstance(self.scale, (int, float)):
            raise InputError(f"scale must be a number, got {self.scale!r}")
        object.__setattr__(self, "scale", float(self.scale))
        if not math.isfinite(self.scale) or self.scale <= 0:
            raise InputError(f"scale must be finite and positive, got {self.scale}")
        if self.mode != "downscaled" and self.scale != 1.0:
            raise InputError(f"scale must be 1.0 in mode {self.mode!r}, got {self.scale}")
        if not isinstance(self.model_id, str):
            raise InputError(f"model_id must be a string, got {type(self.model_id).__name__}")
        try:
            encoded = self.model_id.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputError(f"model_id is not encodable as UTF-8: {exc}") from None
        if len(encoded) > MAX_MODEL_ID_BYTES:
            raise InputError(
                f"model_id is {len(encoded)} bytes in UTF-8; at most {MAX_MODEL_ID_BYTES} allowed"
            )

    def _check_strength(self) -> None:
        value = self.strength
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise InputError(f"strength must be a number 0..1 or None, got {value!r}")
        if not 0.0 <= float(value) <= 1.0:  # also refuses NaN
            raise InputError(f"strength must be 0..1, got {value}")
        if self.checksum is None:
            raise InputError("a strength is recorded with a checksum (format version 4)")
        if not self.model_id:
            raise InputError("a strength is recorded for a model: model_id must be given")
        object.__setattr__(self, "strength", strength_code(float(value)) / STRENGTH_LEVELS)

    @property
    def strength_code(self) -> int | None:
        """The strength byte (0..255), None without a strength."""
        return None if self.strength is None else strength_code(self.strength)


def strength_code(strength: float) -> int:
    """The byte (0..255) that stores ``strength`` (0..1): the nearest multiple of 1/255."""
    return int(round(strength * STRENGTH_LEVELS))


def coded_size_of(meta: HybridMetadata) -> tuple[int, int]:
    """(width, height) the frame of a file with this metadata must have: the original size,
    or for ``downscaled`` :func:`hybrid.resample.coded_size` of it."""
    if meta.mode != "downscaled":
        return meta.original_width, meta.original_height
    from hybrid.codec.geometry import coded_size

    return coded_size(meta.original_width, meta.original_height, meta.scale)


def pack_metadata(meta: HybridMetadata) -> bytes:
    """The APP11 payload for ``meta`` (signature included, marker and length not)."""
    model = meta.model_id.encode("utf-8")
    fixed = _FIXED.pack(
        meta.version,
        _MODE_CODES[meta.mode],
        meta.original_width,
        meta.original_height,
        meta.scale,
        len(model),
    )
    tail = b"" if meta.checksum is None else struct.pack(">I", int(meta.checksum))
    if meta.version >= 3:
        tail += bytes((CONTENT_CODES[meta.content] if meta.content is not None else 0,))
    if meta.strength_code is not None:
        tail += bytes((meta.strength_code,))
    return SIGNATURE + fixed + model + tail


def frame_checksum(frame: Frame) -> int:
    """:func:`coefficient_checksum` of a frame, whose coefficient grids may be MCU-padded
    (the encoder's) or exactly libjpeg's (the reader's): both give the same value."""
    parts = []
    for comp in frame.components:
        if len(frame.components) == 1:
            h, w = frame.height, frame.width
        else:
            h, w = frame.component_size(comp)
        blocks = comp.coeffs[: -(-h // 8), : -(-w // 8)]
        parts.append((blocks, frame.quant_tables[comp.quant_index]))
    return coefficient_checksum(parts)


def coefficient_checksum(components: list[tuple[np.ndarray, np.ndarray]]) -> int:
    """CRC-32 of a coded image: per component in frame order, its quantized coefficients
    then its quantization table.

    Args:
        components: (coeffs, table) per component: coeffs int (blocks_v, blocks_h, 8, 8) in
            natural order with exactly libjpeg's ``ceil(component_size / 8)`` blocks (no MCU
            padding), table (8, 8) in natural order.

    Returns:
        The CRC-32 (zlib) of those arrays as little-endian int16 / uint16 bytes, 0..2**32-1.
    """
    crc = 0
    for coeffs, table in components:
        crc = zlib.crc32(np.ascontiguousarray(coeffs, dtype="<i2").tobytes(), crc)
        crc = zlib.crc32(np.ascontiguousarray(table, dtype="<u2").tobytes(), crc)
    return crc


def metadata_segment(meta: HybridMetadata) -> bytes:
    """The whole APP11 segment: 0xFFEB, 2-byte length, payload."""
    payload = pack_metadata(meta)
    return bytes((0xFF, APP11)) + struct.pack(">H", len(payload) + 2) + payload


def _warn(reason: str) -> None:
    warnings.warn(f"ignoring hybrid metadata: {reason}", HybridMetadataWarning, stacklevel=3)


def parse_metadata(payload: bytes) -> HybridMetadata | None:
    """Parse an APP11 payload; never raises.

    Returns:
        The metadata, or None. A payload without hybrid's signature (another application's
        APP11) gives None silently; a payload with the signature that is truncated, has
        trailing bytes, invalid fields or an unknown version gives None and a
        :class:`~hybrid.errors.HybridMetadataWarning`.
    """
    try:
        payload = bytes(payload)
    except (TypeError, ValueError):
        return None
    if not payload.startswith(SIGNATURE):
        return None
    body = payload[len(SIGNATURE) :]
    if not body:
        _warn("the segment ends after the signature")
        return None
    if body[0] not in READABLE_VERSIONS:
        _warn(f"unknown format version {body[0]} (this hybrid reads versions 1 to 4)")
        return None
    if len(body) < _FIXED.size:
        _warn(f"the segment is truncated ({len(payload)} bytes)")
        return None
    version, mode_code, width, height, scale, model_len = _FIXED.unpack_from(body)
    model_bytes = body[_FIXED.size :]
    tail_size = {1: 0, 2: 4, 3: 5, 4: 6}[version]  # checksum, content byte, strength
    if len(model_bytes) < tail_size:
        _warn(f"the segment is truncated ({len(payload)} bytes)")
        return None
    tail = model_bytes[len(model_bytes) - tail_size :]
    model_bytes = model_bytes[: len(model_bytes) - tail_size]
    checksum = struct.unpack(">I", tail[:4])[0] if version >= 2 else None
    if len(model_bytes) != model_len:
        _warn(f"model id length {model_len} does not match the {len(model_bytes)} bytes present")
        return None
    if mode_code not in _MODE_NAMES:
        _warn(f"unknown mode code {mode_code}")
        return None
    content = _CONTENT_NAMES.get(tail[4]) if version >= 3 else None
    if version >= 3 and content is None and not (version == 4 and tail[4] == 0):
        warnings.warn(
            f"hybrid metadata: unknown content class code {tail[4]}; the class is ignored",
            HybridMetadataWarning,
            stacklevel=2,
        )
    try:
        model_id = model_bytes.decode("utf-8")
        return HybridMetadata(
            mode=_MODE_NAMES[mode_code],  # type: ignore[arg-type]
            original_width=width,
            original_height=height,
            scale=scale,
            model_id=model_id,
            checksum=checksum,
            content=content,
            strength=tail[5] / STRENGTH_LEVELS if version == 4 else None,
        )
    except (UnicodeDecodeError, InputError) as exc:
        _warn(str(exc))
        return None


def _segment_spans(data: bytes, marker: int) -> list[tuple[int, int]]:
    """(segment start, segment end) of the ``marker`` segments before the first SOS; the
    payload is ``data[start + 4 : end]``. A lenient walk: it stops quietly at the first
    structural problem."""
    spans: list[tuple[int, int]] = []
    if len(data) < 4 or data[0] != 0xFF or data[1] != 0xD8:
        return spans
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            break
        code = data[pos + 1]
        if code == 0xFF:  # fill byte
            pos += 1
            continue
        if code in (0xD8, 0x01) or 0xD0 <= code <= 0xD7:  # standalone markers
            pos += 2
            continue
        if code in (0xD9, 0xDA):  # EOI, SOS: no header segments after this
            break
        length = (data[pos + 2] << 8) | data[pos + 3]
        end = pos + 2 + length
        if length < 2 or end > len(data):
            break
        if code == marker:
            spans.append((pos, end))
        pos = end
    return spans


def iter_app_segments(data: bytes, marker: int) -> list[bytes]:
    """Payloads of the ``marker`` (e.g. APP11) segments before the first SOS; never raises.

    A lenient walk for finding metadata: it stops quietly at the first structural problem.
    """
    return [bytes(data[start + 4 : end]) for start, end in _segment_spans(data, marker)]


def find_metadata(data: bytes) -> HybridMetadata | None:
    """The hybrid metadata of a JPEG file's bytes, or None; never raises.

    The first APP11 segment carrying hybrid's signature is used; a malformed one gives a
    warning (see :func:`parse_metadata`) and None.
    """
    try:
        data = bytes(data)
    except (TypeError, ValueError):
        return None
    for payload in iter_app_segments(data, APP11):
        if payload.startswith(SIGNATURE):
            return parse_metadata(payload)
    return None


def insert_segment(data: bytes, segment: bytes) -> bytes:
    """``data`` (a JPEG) with ``segment`` placed after SOI and any leading APP0/APP1/APP2.

    JFIF requires APP0 right after SOI and Exif readers expect APP1 early, so the new
    segment goes after those. Raises :class:`InputError` if ``data`` does not start with SOI.
    """
    if len(data) < 2 or data[:2] != b"\xff\xd8":
        raise InputError("not a JPEG: no SOI marker")
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] in (0xE0, 0xE1, 0xE2):
        length = (data[pos + 2] << 8) | data[pos + 3]
        if length < 2 or pos + 2 + length > len(data):
            break
        pos += 2 + length
    return data[:pos] + segment + data[pos:]


def replace_metadata(data: bytes, meta: HybridMetadata) -> bytes:
    """``data`` (a JPEG) with its hybrid APP11 segment (the first carrying the signature)
    replaced by ``meta``'s, or ``meta``'s inserted as :func:`insert_segment` places it when
    there is none. Everything else is kept byte for byte; the checksum covers the
    coefficients, not the bytes, so the caller's checksum stays valid.

    Raises:
        InputError: ``data`` does not start with SOI.
    """
    if len(data) < 2 or data[:2] != b"\xff\xd8":
        raise InputError("not a JPEG: no SOI marker")
    segment = metadata_segment(meta)
    for start, end in _segment_spans(data, APP11):
        if data[start + 4 : end].startswith(SIGNATURE):
            return data[:start] + segment + data[end:]
    return insert_segment(data, segment)
