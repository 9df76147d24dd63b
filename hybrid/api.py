"""hybrid's public Python API, in Pillow's manner: ``encode``, ``decode``, ``info``,
``read_coefficients``.

Every error a caller can cause is a :class:`hybrid.errors.InputError` subclass with a
one-line message. Nothing here imports torch: the enhancement half is imported only when
``decode(..., enhance=True)`` asks for it.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from collections.abc import Iterable
from typing import Any, BinaryIO, Literal

import numpy as np

from hybrid.codec.frame import Frame
from hybrid.codec.headers import DEFAULT_MAX_SCAN_PASSES, JpegInfo, parse_info
from hybrid.codec.options import EncodeOptions
from hybrid.downscaled import encode_frame_file, load_source, with_content
from hybrid.errors import (
    CorruptJPEGError,
    ImageTooLargeError,
    InputError,
    JpegDataWarning,
    UnsupportedImageError,
    WeightsError,
)
from hybrid.exif import orient_array, orient_image
from hybrid.io import (
    DEFAULT_MAX_PIXELS,
    Source,
    atomic_write,
    check_output_path,
    pillow_warnings_as_jpeg_data,
    read_bytes,
    read_metadata,
)

__all__ = ["decode", "decode_array", "encode", "encode_to_target", "info", "read_coefficients"]


def encode(
    image: Any,
    fp: str | os.PathLike[str] | BinaryIO | None = None,
    *,
    quality: int = 75,
    subsampling: str = "4:2:0",
    progressive: bool = False,
    rdo: bool = False,
    optimize_huffman: bool = True,
    restart_interval: int = 0,
    quant_tables: tuple[np.ndarray, ...] | None = None,
    keep_metadata: bool = True,
    strip: str | bool | Iterable[str] | None = None,
    comment: str | bytes | None = None,
    force: bool = False,
    mode: Literal["plain", "enhance", "downscaled"] = "plain",
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    scale: float | None = None,
    model_id: str | None = None,
    target_size: int | str | None = None,
    target_bpp: float | None = None,
    target_psnr: float | None = None,
    target_msssim: float | None = None,
    allow_downscale: bool | None = None,
    best: bool = False,
    content: str | None = None,
) -> bytes:
    """Encode ``image`` as a standard JPEG and return its bytes (and write them to ``fp``).

    Args:
        image: a path, the bytes of an image file, a ``PIL.Image.Image`` or a uint8 ndarray
            (H, W) / (H, W, 3); see :func:`hybrid.io.load_image` for the mode rule and EXIF
            orientation handling.
        fp: None (only return the bytes), a path (written atomically; an existing file is
            kept unless ``force``), or a binary file object (written with ``fp.write``).
        quality: IJG quality 1..100 (libjpeg's scaling of the Annex K tables).
        subsampling: ``"4:4:4"``, ``"4:2:2"``, ``"4:2:0"`` or ``"auto"``; ignored for greyscale.
        progressive: progressive (SOF2) instead of baseline (SOF0).
        rdo: trellis (rate-distortion optimised) quantization.
        optimize_huffman: per-image Huffman tables (else T.81 Annex K tables).
        restart_interval: MCUs between restart markers, 0 for none.
        quant_tables: one or two uint16 (8, 8) tables in natural order, overriding quality.
        keep_metadata: carry the source's metadata: EXIF (orientation reset to 1), ICC
            profile, XMP, IPTC (APP13), comment and JFIF density. False: carry none.
            hybrid's own APP11 segment is always written.
        strip: metadata kinds to leave out: ``"all"`` (or True), or names from
            ``exif, icc, xmp, iptc, comment, density`` (a comma-separated string or an
            iterable). Size targets count the metadata that is kept.
        comment: a COM segment to write (replaces a carried comment).
        force: overwrite an existing ``fp`` path.
        mode: recorded in the APP11 metadata: ``"plain"`` or ``"enhance"`` (the file is meant
            for an enhancing decoder; it is still a standard JPEG).
        max_pixels: refuse larger images (None: no limit).
        scale: code the image downscaled by this factor (>= 1, e.g. 2 or 1.5; the coded size
            is ``round(original / scale)``, at least 1 pixel) and record mode ``downscaled``,
            the original size and ``model_id``; see :mod:`hybrid.downscaled`.
        model_id: the model the file is made for, recorded in its metadata (default: the
            super-resolution model ``sr-fast-v1`` for downscaled files, else none).
        target_size, target_bpp, target_psnr, target_msssim: at most one; ``quality`` is then
            chosen by :mod:`hybrid.ratecontrol` (size/bpp never exceeded, PSNR/MS-SSIM of
            the decode reached). :func:`encode_to_target` also returns what was chosen.
        allow_downscale: with a target and no ``scale``, let rate control pick a downscaled
            mode when that decodes better or is the only way to meet it (default True).
        best: the smallest file for its PSNR (:meth:`EncodeOptions.best`): PSNR-tuned
            tables, trellis on AC and DC, progressive with a scan search; replaces
            ``rdo``, ``progressive`` and ``optimize_huffman``. ``quality`` keeps its meaning
            (about the PSNR of the default encoder at that quality); ``quant_tables``,
            ``subsampling`` and ``restart_interval`` apply; with ``scale`` or a target the
            best mode's tables are scaled continuously by rate control. A standard
            progressive JPEG; encoding takes about 1.2x the time of ``rdo=True``.
        content: the kind of image, recorded in the APP11 metadata (format version 3) so an
            enhancing decoder picks the model made for it: ``"photo"``, ``"screen"`` (text,
            UI, graphics), ``"auto"`` (the content classifier's guess from one baseline
            encode at ``quality``, :func:`hybrid.downscaled.with_content`) or None (no
            class recorded; decoders with ``content="auto"`` classify the file themselves).

    Raises:
        InputError: bad option, unreadable image, existing output without ``force``, a
            target that cannot be met ...
    """
    planned = (scale, model_id, target_size, target_bpp, target_psnr, target_msssim)
    if mode == "downscaled" or allow_downscale is not None or any(v is not None for v in planned):
        data, _ = encode_to_target(
            image,
            fp,
            quality=quality,
            subsampling=subsampling,
            progressive=progressive,
            rdo=rdo,
            optimize_huffman=optimize_huffman,
            restart_interval=restart_interval,
            quant_tables=quant_tables,
            keep_metadata=keep_metadata,
            strip=strip,
            comment=comment,
            force=force,
            mode=mode,
            max_pixels=max_pixels,
            scale=scale,
            model_id=model_id,
            target_size=target_size,
            target_bpp=target_bpp,
            target_psnr=target_psnr,
            target_msssim=target_msssim,
            allow_downscale=allow_downscale,
            best=best,
            content=content,
        )
        return data
    if mode not in ("plain", "enhance"):
        raise InputError(f"mode must be 'plain' or 'enhance', got {mode!r}")
    options = EncodeOptions.from_api(
        quality=quality,
        subsampling=subsampling,
        quant_tables=quant_tables,
        restart_interval=restart_interval,
        rdo=rdo,
        progressive=progressive,
        optimize_huffman=optimize_huffman,
        best=best,
    )
    if isinstance(fp, (str, os.PathLike)):
        check_output_path(fp, force)  # fail before the (slow) encode; atomic_write rechecks
    source = load_source(
        image, keep_metadata=keep_metadata, strip=strip, comment=comment, max_pixels=max_pixels
    )
    data = encode_frame_file(with_content(source, options, content), options, mode=mode)
    _write_output(fp, data, force)
    return data


def encode_to_target(
    image: Any,
    fp: str | os.PathLike[str] | BinaryIO | None = None,
    *,
    force: bool = False,
    **options: Any,
) -> tuple[bytes, Any]:
    """:func:`encode` that also returns what it chose, a
    :class:`hybrid.ratecontrol.RateControlResult` (quality, scale, bytes, bpp, measured
    metric, mode, iterations, seconds). Keywords are :func:`encode`'s."""
    from hybrid.ratecontrol import plan_encode

    if isinstance(fp, (str, os.PathLike)):
        check_output_path(fp, force)  # fail before the (slow) search
    data, result = plan_encode(image, **options)
    _write_output(fp, data, force)
    return data, result


def _write_output(fp: Any, data: bytes, force: bool) -> None:
    if fp is None:
        return
    if isinstance(fp, (str, os.PathLike)):
        atomic_write(fp, data, force=force)
        return
    write = getattr(fp, "write", None)
    if not callable(write):
        raise InputError(f"fp must be None, a path or a binary file object, got {type(fp)}")
    try:
        write(data)
    except TypeError:
        raise InputError("the output file object must be opened in binary mode") from None


def decode(
    source: Source,
    enhance: bool = False,
    *,
    model: str | None = None,
    weights: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    threads: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    max_scan_passes: float | None = DEFAULT_MAX_SCAN_PASSES,
    upscale: bool | None = None,
    scale: float | None = None,
    sr_model: str | None = None,
    strict: bool = False,
    check_damage: bool = True,
    precision: str = "auto",
    apply_orientation: bool = True,
    backend: str = "torch",
    content: str = "auto",
) -> Any:
    """Decode a JPEG (path, bytes or binary file object) to a ``PIL.Image.Image``.

    The plain decode is Pillow's (libjpeg-turbo), in the file's own mode (``L``, ``RGB`` or
    ``CMYK``), turned upright by its EXIF orientation as browsers and phones show it
    (``apply_orientation=False`` keeps the stored orientation). With ``enhance=True`` the
    enhancement network decodes the file (RGB, or ``L`` for a greyscale result). Every
    result carries the file's ICC profile and EXIF in ``image.info`` (``icc_profile``,
    ``exif``; the EXIF orientation reset to 1 when it was applied), so saving it keeps its
    colours and does not turn it twice. MPO files (phones, 3D cameras) decode their
    primary image, as Pillow and browsers do.

    Raises:
        CorruptJPEGError, UnsupportedImageError, ImageTooLargeError: checked from the headers
            before any pixel is decoded.
        WeightsError: ``enhance=True`` without usable weights.

    ``max_pixels`` and ``max_scan_passes`` bound the work a file can ask for (None: no
    limit): its pixels (also those of an upscaled result), and how many times its scans
    pass over the image's blocks (default
    :data:`~hybrid.codec.headers.DEFAULT_MAX_SCAN_PASSES`; a small progressive file of
    hundreds of whole-image scans costs minutes of CPU).

    Downscaled files (and ``scale``), see :mod:`hybrid.upscale`: the plain decode of a
    downscaled file is its small coded image (what viewers show) unless ``upscale=True``
    (bicubic to the recorded original size). ``enhance=True`` restores the original size with
    the super-resolution model (``sr_model``, else the file's) or, when none is installed,
    the enhancement network plus bicubic upscale, with a ``MissingModelWarning``; without any
    network a downscaled file still decodes (small, or upscaled with ``upscale=True``) with
    that warning. ``scale`` resizes any JPEG by that factor the same way.

    Damaged data (see :func:`hybrid.codec.reader.find_damage`: libjpeg's entropy decoder
    has to pad or guess, or a hybrid file's checksum does not match) decodes as viewers show
    it, with a :class:`JpegDataWarning` and the reason in ``image.info["hybrid_damage"]``;
    ``strict=True`` raises :class:`CorruptJPEGError` instead. ``check_damage=False`` skips
    that check (one more libjpeg pass over the entropy-coded data, a full read of the
    coefficients for hybrid's own files: ``scripts/bench_decode_overhead.py``) and decodes
    whatever libjpeg makes of the data, silently; it cannot be combined with ``strict``.

    ``precision`` (``auto``, ``fp32``, ``bf16``) is the arithmetic of the network call of an
    enhanced or super-resolved decode (:mod:`hybrid.enhance.precision`): ``auto`` uses
    bfloat16 where ``device`` computes it natively (a CPU with avx512_bf16 / amx_bf16, a
    bf16-capable GPU), else float32. Measured on an AVX-512-BF16 EPYC: the network runs 2.3x
    faster, the mean PSNR gain moves by less than 0.001 dB. Another value raises
    :class:`InputError`.

    ``backend`` runs the enhancement network in ``torch`` or, without importing torch, in
    ONNX Runtime from the verified export in ``weights/onnx.json`` (``onnx``: float32,
    within 1e-4 of torch; ``onnx-int8``: static int8, faster, a few hundredths of a dB
    lower; :mod:`hybrid.enhance.onnx_backend`, the ``[onnx]`` extra). The onnx backends
    enhance registry models on the CPU only (no ``weights`` file, no resizing decode).

    ``content`` (``auto``, ``photo``, ``screen``) picks the enhancement model family when
    neither ``model`` nor ``weights`` is given (:mod:`hybrid.enhance.choice`): a class given
    here, else the model or content class the file's hybrid record names, else (``auto``)
    the content classifier's guess from the file's coefficients and pixels. An enhanced
    image says what ran in ``image.info``: ``hybrid_model`` (the model id or weights file
    name), ``hybrid_model_reason`` (e.g. ``screen, classified p=0.97``) and, when a content
    class decided, ``hybrid_content``. A plain decode never runs the classifier.
    """
    return _decode(
        source, enhance, as_array=False, model=model, weights=weights, device=device,
        threads=threads, max_pixels=max_pixels, max_scan_passes=max_scan_passes,
        upscale=upscale, scale=scale,
        sr_model=sr_model, strict=strict, check_damage=check_damage, precision=precision,
        apply_orientation=apply_orientation, backend=backend, content=content,
    )  # fmt: skip


def _decode(
    source: Source,
    enhance: bool,
    *,
    as_array: bool,
    model: str | None,
    weights: Any,
    device: str,
    threads: int | None,
    max_pixels: int | None,
    upscale: bool | None,
    scale: float | None,
    sr_model: str | None,
    strict: bool,
    check_damage: bool = True,
    max_scan_passes: float | None = DEFAULT_MAX_SCAN_PASSES,
    precision: str = "auto",
    apply_orientation: bool = True,
    backend: str = "torch",
    content: str = "auto",
) -> Any:
    """:func:`decode` (``as_array=False``) and :func:`decode_array` (``as_array=True``).
    ``check_damage=False`` skips :func:`_damage` (rate control's decoder in the loop, for
    files hybrid has just written itself, and callers who do not want it)."""
    if strict and not check_damage:
        raise InputError("strict=True needs the damage check; it cannot be switched off")
    _check_precision(precision)
    _check_backend(backend, enhance, weights, device)
    _check_content(content)
    chosen: list[Any] = []  # the ModelChoice of an enhanced decode
    data = read_bytes(source)
    header = parse_info(data, max_pixels=max_pixels, max_scan_passes=max_scan_passes)
    damage = _damage(data, header, strict) if check_damage else None
    tolerate = damage is not None or not check_damage  # reported, or not asked about
    if _resizes(header, enhance, upscale, scale):
        if enhance and backend != "torch":
            raise InputError(f"backend {backend} does not resize (downscaled file or scale)")
        from hybrid.upscale import decode_resized

        result = decode_resized(
            data, header, enhance=enhance, upscale=upscale, scale=scale, model=model,
            weights=weights, sr_model=sr_model, device=device, threads=threads,
            max_pixels=max_pixels, as_array=as_array, precision=precision,
            content=content, report=chosen.append,
        )  # fmt: skip
    elif enhance:
        array = _enhanced_array(
            data, header, model, weights, device, threads, precision,
            tolerate_damage=tolerate, backend=backend, content=content,
            report=chosen.append,
        )  # fmt: skip
        result = array if as_array else _array_to_image(array)
    else:
        image = _plain(data, header)
        result = _image_to_array(image, header) if as_array else image
    carried, orientation = read_metadata(data, upright=apply_orientation)
    if apply_orientation and orientation != 1:
        result = (
            np.ascontiguousarray(orient_array(result, orientation))
            if as_array
            else orient_image(result, orientation)
        )
    if as_array:
        return result
    result.info.pop("exif", None)
    result.info.pop("icc_profile", None)
    if carried.exif is not None:
        result.info["exif"] = carried.exif
    if carried.icc_profile is not None:
        result.info["icc_profile"] = carried.icc_profile
    if damage is not None:
        result.info["hybrid_damage"] = damage
    for choice in chosen:
        result.info["hybrid_model"] = choice.model
        result.info["hybrid_model_reason"] = choice.why()
        if choice.content is not None:
            result.info["hybrid_content"] = choice.content
    return result


def _check_content(content: Any) -> None:
    """:func:`hybrid.enhance.choice.check_content` (which imports neither torch nor
    jpeglib)."""
    from hybrid.enhance.choice import check_content

    check_content(content)


def _check_backend(backend: Any, enhance: bool, weights: Any, device: str) -> None:
    """InputError for an unknown ``backend``, or an onnx one asked for a user weights file
    or a device other than the CPU."""
    if backend == "torch":
        return
    from hybrid.enhance.backends import check_backend

    if check_backend(backend) and enhance:
        if weights is not None:
            raise InputError(f"backend {backend} runs registry models only, not a weights file")
        if device != "cpu":
            raise InputError(f"backend {backend} runs on the CPU only, not {device}")


def _check_precision(precision: Any) -> None:
    """:func:`hybrid.enhance.precision.check_precision`, as an :class:`InputError` (that
    module does not import torch)."""
    from hybrid.enhance.precision import check_precision

    try:
        check_precision(precision)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _image_to_array(image: Any, header: JpegInfo) -> np.ndarray:
    """A plain decode as float32 (H, W, C) in [0, 1]: C = 1 for greyscale, else RGB."""
    pixels = np.asarray(image.convert("L" if len(header.components) == 1 else "RGB"))
    pixels = pixels[:, :, None] if pixels.ndim == 2 else pixels
    return pixels.astype(np.float32) / 255.0


def _damage(data: bytes, header: JpegInfo, strict: bool) -> str | None:
    """:func:`~hybrid.codec.reader.find_damage` of a file whose headers parsed: raised as
    :class:`CorruptJPEGError` when ``strict``, else warned about and returned."""
    if header.unsupported_reason is not None:
        return None  # libjpeg cannot read it; the decode itself says why
    from hybrid.codec.reader import find_damage

    damage = find_damage(data, header)
    if damage is None:
        return None
    if strict:
        raise CorruptJPEGError(f"damaged JPEG data: {damage}")
    warnings.warn(
        f"damaged JPEG data, the decoded image is partly invented: {damage}",
        JpegDataWarning,
        stacklevel=3,
    )
    return damage


def _plain(data: bytes, header: JpegInfo) -> Any:
    from PIL import Image

    try:
        with pillow_warnings_as_jpeg_data():
            image = Image.open(io.BytesIO(data))
            image.load()
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(str(exc)) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as exc:
        reason = header.unsupported_reason
        if reason is not None:
            raise UnsupportedImageError(reason) from None
        raise CorruptJPEGError(f"cannot decode: {exc}") from None
    return image


def _enhanced_array(
    data: bytes,
    header: JpegInfo,
    model: str | None,
    weights: Any,
    device: str,
    threads: int | None,
    precision: str = "auto",
    *,
    tolerate_damage: bool = False,
    backend: str = "torch",
    content: str = "auto",
    report: Any = None,
) -> np.ndarray:
    """The enhanced decode, float32 (H, W, C) in [0, 1]; ``report`` is called with the
    :class:`~hybrid.enhance.choice.ModelChoice` made (:mod:`hybrid.enhance.choice`)."""
    reason = header.unsupported_reason
    if reason is not None:
        raise UnsupportedImageError(reason)
    if threads is not None and (isinstance(threads, bool) or int(threads) < 1):
        raise InputError(f"threads must be a positive integer, got {threads!r}")
    if backend != "torch":
        from hybrid.enhance.onnx_backend import enhance_jpeg_onnx

        result = enhance_jpeg_onnx(
            data, info=header, model=model, backend=backend, threads=threads,
            tolerate_damage=tolerate_damage, content=content, report=report,
        )  # fmt: skip
        return np.asarray(result, dtype=np.float32)
    try:
        import hybrid.enhance as enhance_pkg
    except ImportError as exc:
        raise WeightsError(f"the enhancement module cannot be loaded: {exc}") from None
    result = enhance_pkg.enhance_jpeg(
        data, info=header, model=model, weights=weights, device=device, threads=threads,
        precision=precision,
        tolerate_damage=tolerate_damage, content=content, report=report,
    )  # fmt: skip
    return np.asarray(result, dtype=np.float32)


def _array_to_image(array: np.ndarray) -> Any:
    """A float (H, W, 1|3) image in [0, 1] as an 8-bit ``PIL.Image`` (``L`` or ``RGB``)."""
    from PIL import Image

    # Annotated: numpy's stubs give np.empty of an ndarray's shape a 0-d shape type.
    pixels: np.ndarray = np.empty(array.shape, dtype=np.uint8)
    for y in range(0, array.shape[0], 256):  # in bands: no float temporaries of the image
        band = np.multiply(array[y : y + 256], 255.0, dtype=np.float32)
        pixels[y : y + 256] = np.clip(np.round(band, out=band), 0, 255, out=band)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    return Image.fromarray(pixels)


def decode_array(
    source: Source,
    enhance: bool = False,
    *,
    model: str | None = None,
    weights: Any = None,
    device: str = "cpu",
    threads: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    max_scan_passes: float | None = DEFAULT_MAX_SCAN_PASSES,
    upscale: bool | None = None,
    scale: float | None = None,
    sr_model: str | None = None,
    strict: bool = False,
    check_damage: bool = True,
    precision: str = "auto",
    apply_orientation: bool = True,
    backend: str = "torch",
    content: str = "auto",
) -> np.ndarray:
    """Decode to a float32 array (H, W, C) in [0, 1], C = 3 (RGB) or 1 (greyscale).

    Plain by default, as :func:`decode`. With ``enhance=True`` this keeps the network's
    full precision (more than 8 bits), e.g.
    for 16-bit PNG output; with ``enhance=False`` it is the plain decode divided by 255.
    ``upscale``, ``scale``, ``sr_model``, ``strict``, ``precision``, ``apply_orientation``
    and ``content`` are :func:`decode`'s (the model choice is logged, see
    :mod:`hybrid.enhance.choice`); :func:`hybrid.io.read_metadata` gives the
    ICC profile and EXIF an output of the array should carry. ``check_damage`` is
    :func:`decode`'s too.
    """
    return _decode(
        source, enhance, as_array=True, model=model, weights=weights, device=device,
        threads=threads, max_pixels=max_pixels, max_scan_passes=max_scan_passes,
        upscale=upscale, scale=scale,
        sr_model=sr_model, strict=strict, check_damage=check_damage, precision=precision,
        apply_orientation=apply_orientation, backend=backend, content=content,
    )  # fmt: skip


def _resizes(header: JpegInfo, enhance: bool, upscale: Any, scale: Any) -> bool:
    """Whether the decode goes through :mod:`hybrid.upscale` (downscaled file or ``scale``)."""
    meta = header.hybrid_metadata
    if upscale is None and scale is None and (meta is None or meta.mode != "downscaled"):
        return False
    from hybrid.upscale import wants_resize

    return wants_resize(header, enhance, upscale, scale)


def info(source: Source) -> JpegInfo:
    """The headers of a JPEG (path, bytes or binary file object); no pixel decode."""
    return parse_info(read_bytes(source))


def read_coefficients(
    source: Source,
    *,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    max_scan_passes: float | None = DEFAULT_MAX_SCAN_PASSES,
) -> Frame:
    """Exact quantized DCT coefficients and tables; see :func:`hybrid.codec.reader.read_frame`."""
    from hybrid.codec.reader import read_frame

    return read_frame(source, max_pixels=max_pixels, max_scan_passes=max_scan_passes)
