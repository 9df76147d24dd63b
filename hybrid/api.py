"""hybrid's public Python API, in Pillow's manner: ``encode``, ``decode``, ``info``,
``read_coefficients``.

A thin front door: each function checks its keywords into one frozen request
(:class:`~hybrid.pipeline.requests.EncodeRequest`,
:class:`~hybrid.pipeline.requests.DecodeRequest`), runs the pipeline on it
(:func:`hybrid.pipeline.decode.decode_source`, :func:`hybrid.pipeline.encode.encode_image`,
or :func:`hybrid.ratecontrol.plan_encode` for a target or a scale) and returns or writes
the result (atomically, for a path).

Every error a caller can cause is a :class:`hybrid.errors.InputError` subclass with a
one-line message. Nothing here imports torch: the enhancement half is imported only when
``decode(..., enhance=True)`` asks for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, BinaryIO, Literal

import numpy as np

from hybrid.codec.frame import Frame
from hybrid.codec.headers import DEFAULT_MAX_SCAN_PASSES, JpegInfo, parse_info
from hybrid.errors import InputError
from hybrid.io import DEFAULT_MAX_PIXELS, Source, atomic_write, check_output_path, read_bytes
from hybrid.pipeline.decode import decode_source
from hybrid.pipeline.encode import encode_image
from hybrid.pipeline.requests import DecodeRequest, EncodeRequest

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
    target_butteraugli: float | None = None,
    allow_downscale: bool | None = None,
    best: bool = False,
    content: str | None = None,
    tune: str | None = None,
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
            for an enhancing decoder; it is still a standard JPEG). An ``enhance`` file also
            records the share of the network's change that brings its enhanced decode
            closest to ``image`` (fitted at encode time with the model its decoder chooses:
            one enhanced decode more; :mod:`hybrid.enhance.strength`).
        max_pixels: refuse larger images (None: no limit).
        scale: code the image downscaled by this factor (>= 1, e.g. 2 or 1.5; the coded size
            is ``round(original / scale)``, at least 1 pixel) and record mode ``downscaled``,
            the original size and ``model_id``; see :mod:`hybrid.downscaled`.
        model_id: the model the file is made for, recorded in its metadata (default: the
            super-resolution model ``sr-fast-v1`` for downscaled files, else none).
        target_size, target_bpp, target_psnr, target_msssim, target_butteraugli: at most
            one; ``quality`` is then chosen by :mod:`hybrid.ratecontrol` (size/bpp never
            exceeded, PSNR/MS-SSIM of the decode reached, its butteraugli 3-norm distance --
            libjxl's ``butteraugli_main``, which must be installed -- not exceeded).
            :func:`encode_to_target` also returns what was chosen.
        allow_downscale: with a target and no ``scale``, let rate control pick a downscaled
            mode when that decodes better or is the only way to meet it (default True); for
            a perceptual tune's file for the enhanced decode (below), False keeps full size.
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
            encode at ``quality``, at least 75, :func:`hybrid.downscaled.with_content`) or
            None (no class recorded; decoders with ``content="auto"`` classify the file
            themselves; but a ``best`` encode below quality 20 records the classifier's guess
            as ``auto`` would: the decoder's classifier is not reliable there).
        tune: ``"psnr"``, ``"ssim"`` or ``"perceptual"``: the best mode (implied) tuned for
            that metric, as mozjpeg's and libaom's ``--tune``. ``psnr`` is ``best=True``;
            ``perceptual`` gives chroma a larger share of the error and adapts the trellis
            to texture (better butteraugli and MS-SSIM at some PSNR), ``ssim`` more so; both
            record the perceptual enhancement model (``model_id``) for enhancing decoders in
            full-size files of a fixed quality (not with a target or ``scale``, nor when
            ``model_id`` or ``content="screen"`` is given). With ``mode="enhance"`` (a file
            for an enhancing decoder) ``perceptual`` codes chroma coarser still and keeps
            more luma coefficients, the full-size file records the default photo model
            unless the perceptual one decodes it clearly better in MS-SSIM
            (:attr:`~hybrid.pipeline.requests.EncodeRequest.chooses_model`), and a
            perceptual tune's file may come out downscaled x2 or x1.5 for the
            super-resolution decode, at most the full-size file's size, when that decode
            scores higher in MS-SSIM (x2 tried up to 0.6 bpp, x1.5 up to 0.9; issue 17,
            :attr:`~hybrid.pipeline.requests.EncodeRequest.chooses_scale`).

    Raises:
        InputError: bad option, unreadable image, existing output without ``force``, a
            target that cannot be met ...
    """
    request = EncodeRequest(
        quality=quality, subsampling=subsampling, progressive=progressive, rdo=rdo,
        optimize_huffman=optimize_huffman, restart_interval=restart_interval,
        quant_tables=quant_tables, keep_metadata=keep_metadata, strip=strip, comment=comment,
        mode=mode, max_pixels=max_pixels, scale=scale, model_id=model_id,
        target_size=target_size, target_bpp=target_bpp, target_psnr=target_psnr,
        target_msssim=target_msssim, target_butteraugli=target_butteraugli,
        allow_downscale=allow_downscale, best=best,
        content=content, tune=tune,
    )  # fmt: skip
    if request.planned:
        return _encode_planned(image, fp, force, request)[0]
    if isinstance(fp, (str, os.PathLike)):
        check_output_path(fp, force)  # fail before the (slow) encode; atomic_write rechecks
    data = encode_image(image, request)
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
    return _encode_planned(image, fp, force, EncodeRequest(**options))


def _encode_planned(image: Any, fp: Any, force: bool, request: EncodeRequest) -> tuple[bytes, Any]:
    """Rate control's encode of ``request`` (:func:`hybrid.ratecontrol.plan_encode`),
    written to ``fp``."""
    from hybrid.ratecontrol import plan_encode

    if isinstance(fp, (str, os.PathLike)):
        check_output_path(fp, force)  # fail before the (slow) search
    data, result = plan_encode(image, request)
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

    Downscaled files (and ``scale``), see :mod:`hybrid.pipeline.upscale`: the plain decode
    of a downscaled file is its small coded image (what viewers show) unless
    ``upscale=True`` (bicubic to the recorded original size). ``enhance=True`` restores the
    original size with the super-resolution model (``sr_model``, else the file's) or, when
    none is installed, the enhancement network plus bicubic upscale, with a
    ``MissingModelWarning``; without any network a downscaled file still decodes (small, or
    upscaled with ``upscale=True``) with that warning. ``scale`` resizes any JPEG by that
    factor the same way.

    Damaged data (see :func:`hybrid.codec.reader.find_damage`: libjpeg's entropy decoder
    has to pad or guess, or a hybrid file's checksum does not match) decodes as viewers show
    it, with a :class:`JpegDataWarning` and the reason in ``image.info["hybrid_damage"]``;
    ``strict=True`` raises :class:`CorruptJPEGError` instead. ``check_damage=False`` skips
    that check (one more libjpeg pass over the entropy-coded data, a full read of the
    coefficients for hybrid's own files: ``scripts/bench_decode_overhead.py``) and decodes
    whatever libjpeg makes of the data, silently; it cannot be combined with ``strict``.
    A plain decode of a sequential file runs the check beside Pillow's decode on a second
    thread (:func:`hybrid.pipeline.pixels.checked_plain_image`), so on a machine with a free
    core it costs little time (the CPU time is the same); ``threads=1`` keeps a decode on
    the calling thread. ``threads`` otherwise sets torch's CPU threads for the network call
    (restored afterwards; None: as found).

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
    run registry models on the CPU only (no ``weights`` file); a downscaled file or ``scale``
    runs the super-resolution model's export (:mod:`hybrid.enhance.onnx_superres`).

    ``content`` (``auto``, ``photo``, ``screen``) picks the enhancement model family when
    neither ``model`` nor ``weights`` is given (:mod:`hybrid.enhance.choice`): a class given
    here, else the model or content class the file's hybrid record names, else (``auto``)
    the content classifier's guess from the file's coefficients and pixels. An enhanced
    image says what ran in ``image.info``: ``hybrid_model`` (the model id or weights file
    name), ``hybrid_model_reason`` (e.g. ``screen, classified p=0.97``), when a content
    class decided, ``hybrid_content``, and the share of the network's change kept:
    ``hybrid_strength`` (0..1) and ``hybrid_strength_source`` (``recorded``: the strength the
    file's record carries for that model, fitted by its encoder; ``taper``: the near-lossless
    fade-out; ``model default``: a super-resolution model's share for files that record
    none for it). A plain decode never runs the classifier.
    """
    request = DecodeRequest(
        enhance=enhance, model=model, weights=weights, device=device, threads=threads,
        max_pixels=max_pixels, max_scan_passes=max_scan_passes, upscale=upscale, scale=scale,
        sr_model=sr_model, strict=strict, check_damage=check_damage, precision=precision,
        apply_orientation=apply_orientation, backend=backend, content=content,
    )  # fmt: skip
    return decode_source(source, request)


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
    request = DecodeRequest(
        enhance=enhance, model=model, weights=weights, device=device, threads=threads,
        max_pixels=max_pixels, max_scan_passes=max_scan_passes, upscale=upscale, scale=scale,
        sr_model=sr_model, strict=strict, check_damage=check_damage, precision=precision,
        apply_orientation=apply_orientation, backend=backend, content=content,
    )  # fmt: skip
    return decode_source(source, request, as_array=True)


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
