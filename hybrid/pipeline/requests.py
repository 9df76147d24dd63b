"""What a decode or an encode is asked to do: frozen dataclasses, validated at construction.

:func:`hybrid.decode` / :func:`hybrid.decode_array` build one :class:`DecodeRequest` and
:func:`hybrid.encode` / :func:`hybrid.encode_to_target` one :class:`EncodeRequest`; the
pipeline and rate control take them as they are. Their fields are those functions' keywords,
with the same names and defaults, so the keyword lists are written once here and the
checks run once, at construction, with one :class:`~hybrid.errors.InputError` message per
bad field (the CLI passes its options through the API and so shares them).

Importing this module imports neither torch nor jpeglib: the checks that live in the
enhancement package (precision, backend, content) are imported when a request is built.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np

from hybrid.codec.geometry import check_scale
from hybrid.codec.headers import DEFAULT_MAX_SCAN_PASSES
from hybrid.codec.options import Decoder, EncodeOptions
from hybrid.downscaled import check_comment, check_content_class
from hybrid.errors import InputError
from hybrid.io import DEFAULT_MAX_PIXELS, parse_strip
from hybrid.targets import check_targets

__all__ = [
    "SCALE_CHOOSING_TUNES",
    "TUNE_MODELS",
    "DecodeRequest",
    "EncodeRequest",
    "scale_choosing",
]

#: The enhancement model a tune's files record for their decoder (None: none recorded, the
#: decoder chooses by content as for any file). The perceptual tunes' encoder settings were
#: chosen with enhance-perceptual-v1 and -v2 (fast-tier networks trained with an MS-SSIM and
#: a butteraugli-like term; docs/decisions.md, "Tunes"); enhance-perceptual-v3, the quality
#: tier's network fine-tuned with both terms, decodes their files with lower butteraugli
#: distances and higher MS-SSIM at about a quarter of the speed (docs/decisions.md, "The
#: perceptual tunes' decoder moves to the quality tier"); enhance-perceptual-v4, v3
#: fine-tuned on a port of libjxl's butteraugli instead of the butteraugli-like proxy, lowers
#: their butteraugli distances further at equal MS-SSIM (docs/decisions.md, "A port of
#: libjxl's butteraugli as the training loss"); ``--model enhance-perceptual-v2`` is the fast
#: choice.
TUNE_MODELS: dict[str, str | None] = {
    "psnr": None,
    "ssim": "enhance-perceptual-v4",
    "perceptual": "enhance-perceptual-v4",
}

#: The tunes whose files for the enhanced decode may be coded downscaled, for the
#: super-resolution decode, when that scores higher (:attr:`EncodeRequest.chooses_scale`).
SCALE_CHOOSING_TUNES = ("ssim", "perceptual")


def scale_choosing(tune: str | None, mode: str) -> bool:
    """Whether an encode of this tune and mode may choose its scale at a fixed quality (a
    perceptual tune's file for the enhanced decode; ``allow_downscale=False`` /
    ``--no-downscale`` then applies without a target)."""
    return tune in SCALE_CHOOSING_TUNES and mode == "enhance"


def _check_flag(name: str, value: Any, *, none: bool = False) -> None:
    if value is None and none:
        return
    if not isinstance(value, (bool, np.bool_)):
        allowed = "True, False or None" if none else "True or False"
        raise InputError(f"{name} must be {allowed}, got {value!r}")


def _check_name(name: str, value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise InputError(f"{name} must be a string, got {type(value).__name__}")


def _check_max_pixels(value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"max_pixels must be a positive integer or None, got {value!r}")


@dataclass(frozen=True)
class DecodeRequest:
    """How to decode one JPEG: :func:`hybrid.decode`'s keywords (see its docstring for
    what each does), checked.

    Attributes:
        enhance: run the enhancement (or, for a resized decode, super-resolution) network.
        model, weights: the enhancement model id, or a user weights file (torch backend).
        device: ``cpu`` or ``cuda[:N]``, where the networks run.
        threads: CPU threads of the network call (positive), None for as found; 1 also
            keeps a plain decode's damage check on the calling thread.
        max_pixels, max_scan_passes: the most pixels (also of a resized result) and scan
            work a file may ask for; None for no limit.
        upscale, scale, sr_model: the resized decode (:mod:`hybrid.pipeline.upscale`);
            ``scale`` is kept as the float :func:`~hybrid.codec.geometry.check_scale` gives.
        strict, check_damage: raise on damaged data / skip the damage check (not both).
        precision: ``auto``, ``fp32`` or ``bf16``, the networks' arithmetic.
        apply_orientation: turn the result upright by its EXIF orientation.
        backend: ``torch``, ``onnx`` or ``onnx-int8`` (onnx: registry models on the CPU).
        content: ``auto``, ``photo`` or ``screen``, the enhancement model family.

    Raises:
        InputError: the first field that is not valid, or two that do not go together.
    """

    enhance: bool = False
    model: str | None = None
    weights: str | os.PathLike[str] | None = None
    device: str = "cpu"
    threads: int | None = None
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    max_scan_passes: float | None = DEFAULT_MAX_SCAN_PASSES
    upscale: bool | None = None
    scale: float | None = None
    sr_model: str | None = None
    strict: bool = False
    check_damage: bool = True
    precision: str = "auto"
    apply_orientation: bool = True
    backend: str = "torch"
    content: str = "auto"

    def __post_init__(self) -> None:
        from hybrid.enhance.backends import check_backend
        from hybrid.enhance.choice import check_content
        from hybrid.enhance.precision import check_precision

        for name in ("enhance", "strict", "check_damage", "apply_orientation"):
            _check_flag(name, getattr(self, name))
        if self.strict and not self.check_damage:
            raise InputError("strict=True needs the damage check; it cannot be switched off")
        try:
            check_precision(self.precision)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if check_backend(self.backend) != "torch" and self.enhance:
            if self.weights is not None:
                raise InputError(
                    f"backend {self.backend} runs registry models only, not a weights file"
                )
            if self.device != "cpu":
                raise InputError(f"backend {self.backend} runs on the CPU only, not {self.device}")
        check_content(self.content)
        _check_name("model", self.model)
        _check_name("sr_model", self.sr_model)
        if self.weights is not None and not isinstance(self.weights, (str, os.PathLike)):
            raise InputError(f"weights must be a path, got {type(self.weights).__name__}")
        if not isinstance(self.device, str) or not (
            self.device == "cpu" or self.device.startswith("cuda")
        ):
            raise InputError(f"device must be cpu or cuda[:N], got {self.device!r}")
        threads = self.threads
        if threads is not None and (
            isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1
        ):
            raise InputError(f"threads must be a positive integer, got {threads!r}")
        _check_max_pixels(self.max_pixels)
        passes = self.max_scan_passes
        if passes is not None and (
            isinstance(passes, bool)
            or not isinstance(passes, (int, float, np.integer, np.floating))
            or not passes > 0
        ):
            raise InputError(f"max_scan_passes must be a positive number or None, got {passes!r}")
        _check_flag("upscale", self.upscale, none=True)
        if self.scale is not None:
            object.__setattr__(self, "scale", check_scale(self.scale))
            if self.upscale is False:
                raise InputError(
                    "scale asks for a resized decode; it cannot be combined with upscale=False"
                )


@dataclass(frozen=True)
class EncodeRequest:
    """How to encode one image: :func:`hybrid.encode`'s keywords (see its docstring for what
    each does) but the image, the output and ``force``, checked.

    Attributes:
        quality, subsampling, progressive, rdo, optimize_huffman, restart_interval,
            quant_tables, best: the codec's options, built once into :attr:`options`.
        keep_metadata, strip, comment: the metadata the file carries; ``strip`` is kept as
            the set of kinds :func:`hybrid.io.parse_strip` gives, ``comment`` as bytes.
        mode: ``plain``, ``enhance`` or ``downscaled`` (the last needs ``scale`` > 1).
        max_pixels: refuse larger images (None: no limit).
        scale, model_id: code the image downscaled by ``scale`` (kept as the float
            :func:`~hybrid.codec.geometry.check_scale` gives), for model ``model_id``.
        target_size, target_bpp, target_psnr, target_msssim, target_butteraugli: at most
            one rate-control target (:func:`hybrid.targets.check_targets`).
        allow_downscale: with a target and no ``scale``, let rate control choose a
            downscaled mode (None: the default, True).
        content: ``photo``, ``screen``, ``auto`` or None, the class the file records.
        tune: ``psnr``, ``ssim``, ``perceptual`` or None: the best mode tuned for that metric
            (:meth:`~hybrid.codec.options.EncodeOptions.best`; a tune implies ``best``).
            ``ssim`` and ``perceptual`` also record :data:`TUNE_MODELS`' model as
            ``model_id`` in full-size files of a fixed quality (not with a target or a
            scale, whose files may be downscaled; not when a model or the ``screen`` class
            is given), which makes the encode a planned one.
        options: the :class:`~hybrid.codec.options.EncodeOptions` these describe (derived);
            :attr:`enhanced_options` the same for a file a network will decode.

    Raises:
        InputError: the first field that is not valid, or two that do not go together.
    """

    quality: int = 75
    subsampling: str = "4:2:0"
    progressive: bool = False
    rdo: bool = False
    optimize_huffman: bool = True
    restart_interval: int = 0
    quant_tables: tuple[np.ndarray, ...] | None = None
    keep_metadata: bool = True
    strip: Any = None
    comment: str | bytes | None = None
    mode: Literal["plain", "enhance", "downscaled"] = "plain"
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    scale: float | None = None
    model_id: str | None = None
    target_size: int | str | None = None
    target_bpp: float | None = None
    target_psnr: float | None = None
    target_msssim: float | None = None
    target_butteraugli: float | None = None
    allow_downscale: bool | None = None
    best: bool = False
    content: str | None = None
    tune: str | None = None
    options: EncodeOptions = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in ("plain", "enhance", "downscaled"):
            raise InputError(f"mode must be 'plain', 'enhance' or 'downscaled', got {self.mode!r}")
        if self.scale is not None:
            object.__setattr__(self, "scale", check_scale(self.scale))
        if self.mode == "downscaled" and (self.scale is None or self.scale == 1.0):
            raise InputError("mode 'downscaled' needs a scale above 1 (e.g. scale=2)")
        _check_name("model_id", self.model_id)
        if self.tune is not None and self.tune not in TUNE_MODELS:
            raise InputError(f"tune must be one of {', '.join(TUNE_MODELS)}; got {self.tune!r}")
        _check_flag("allow_downscale", self.allow_downscale, none=True)
        for name in ("progressive", "rdo", "optimize_huffman", "keep_metadata", "best"):
            _check_flag(name, getattr(self, name))
        object.__setattr__(self, "options", self._options_for("plain"))
        _check_max_pixels(self.max_pixels)
        object.__setattr__(self, "strip", parse_strip(self.strip))
        object.__setattr__(self, "comment", check_comment(self.comment))
        check_content_class(self.content)
        target = check_targets(
            target_size=self.target_size,
            target_bpp=self.target_bpp,
            target_psnr=self.target_psnr,
            target_msssim=self.target_msssim,
            target_butteraugli=self.target_butteraugli,
        )
        choosing = scale_choosing(self.tune, self.mode)
        if target is None and self.allow_downscale is not None and not choosing:
            raise InputError(
                "allow_downscale applies only with a target (size, bpp, PSNR, MS-SSIM, "
                "butteraugli) or to a perceptual tune's file for the enhanced decode"
            )
        if target is not None and self.quant_tables is not None:
            raise InputError(
                "quant_tables fix the quantization; they cannot be combined with a target"
            )
        if target is not None and self.scale is not None and self.allow_downscale:
            raise InputError("give a fixed scale or allow_downscale, not both")
        # A tune's enhancement model is recorded in full-size files of a fixed quality; with a
        # target or a scale the file may be downscaled, whose record names its SR model.
        fixed = target is None and self.scale is None and self.mode != "downscaled"
        if self.tune is not None and self.model_id is None and self.content != "screen" and fixed:
            object.__setattr__(self, "model_id", TUNE_MODELS[self.tune])

    @property
    def chooses_scale(self) -> bool:
        """Whether this fixed-quality encode may come out downscaled: :attr:`chooses_model`
        and ``allow_downscale`` not False. Rate control then keeps the full-size file or an
        x2 or x1.5 file of at most its size for the super-resolution decode, whichever scores
        the highest MS-SSIM (:func:`hybrid.ratecontrol.plan_encode`)."""
        return self.chooses_model and self.allow_downscale is not False

    @property
    def chooses_model(self) -> bool:
        """Whether this fixed-quality encode chooses the model its full-size file records: a
        perceptual tune (:data:`SCALE_CHOOSING_TUNES`) of a file for the enhanced decode
        (``mode="enhance"``) at full size, recording the tune's model. Rate control records
        the tune's model or the default photo model, whichever decode scores the clearly
        higher MS-SSIM (:data:`hybrid.ratecontrol.PERCEPTUAL_MODEL_MARGIN_DB`)."""
        targets = (
            self.target_size,
            self.target_bpp,
            self.target_psnr,
            self.target_msssim,
            self.target_butteraugli,
        )
        if self.tune is None or not scale_choosing(self.tune, self.mode):
            return False
        return (
            self.scale is None
            and all(t is None for t in targets)
            and self.model_id == TUNE_MODELS[self.tune]
        )

    @property
    def enhanced_options(self) -> EncodeOptions:
        """:attr:`options` for a file an enhancement network will decode (the ``enhance``
        mode, rate control with the enhanced decode in its loop): the best mode's trellis
        settings for that decoder (:data:`~hybrid.codec.options.ENHANCED_TUNES`), else equal
        to :attr:`options`."""
        return self._options_for("enhanced")

    def _options_for(self, decoder: Decoder) -> EncodeOptions:
        return EncodeOptions.from_api(
            quality=self.quality,
            subsampling=self.subsampling,
            quant_tables=self.quant_tables,
            restart_interval=self.restart_interval,
            rdo=self.rdo,
            progressive=self.progressive,
            optimize_huffman=self.optimize_huffman,
            best=self.best,
            tune=self.tune,
            decoder=decoder,
        )

    @property
    def planned(self) -> bool:
        """Whether the encode goes through rate control: a target, a ``scale``, a
        ``model_id``, ``allow_downscale`` or the downscaled mode."""
        planning = (
            self.scale,
            self.model_id,
            self.target_size,
            self.target_bpp,
            self.target_psnr,
            self.target_msssim,
            self.target_butteraugli,
            self.allow_downscale,
        )
        return self.mode == "downscaled" or any(value is not None for value in planning)

    @classmethod
    def keywords(cls) -> tuple[str, ...]:
        """The keyword names a request takes (those of :func:`hybrid.encode` after the
        image and the output, but ``force``)."""
        return tuple(f.name for f in fields(cls) if f.init)
