"""What a batch does to each image: frozen, validated settings for the three jobs.

``encode`` (images -> JPEG) and ``transcode`` (JPEGs -> JPEG, re-encoded with ``best`` or a
target) take :class:`EncodeSettings`, the keywords of :func:`hybrid.api.encode` that
``hybrid encode`` passes; ``decode`` (JPEG -> PNG or another format) takes
:class:`DecodeSettings`, those of :func:`hybrid.api.decode`. The same keywords reach the same
API calls, so a batch writes byte for byte what the single-file command writes.

:meth:`BatchJob.fingerprint` names the settings in the results table: a rerun with other
settings redoes every image instead of keeping outputs made differently.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from hybrid.codec.headers import DEFAULT_MAX_SCAN_PASSES
from hybrid.errors import InputError
from hybrid.io import DEFAULT_MAX_PIXELS
from hybrid.outputs import OUTPUT_FORMATS
from hybrid.perceptual import require_butteraugli

JobKind = Literal["encode", "decode", "transcode"]
JOB_KINDS: tuple[str, ...] = ("encode", "decode", "transcode")
TARGETS = ("target_size", "target_bpp", "target_psnr", "target_msssim", "target_butteraugli")
#: Settings added after results tables existed: left out of the fingerprint while unset, so
#: the rows of earlier runs (made without them) still count as made with the same settings.
_LATER_SETTINGS = ("target_butteraugli", "tune")


@dataclass(frozen=True)
class EncodeSettings:
    """:func:`hybrid.api.encode`'s options, as ``hybrid encode`` passes them.

    ``measure_psnr`` also decodes each output (plain) and records its PSNR-RGB against the
    source pixels; a target already measures its metric.

    Raises:
        InputError: more than one target, ``allow_downscale=False`` without a target, or a
            value out of range.
    """

    quality: int = 75
    subsampling: str = "4:2:0"
    progressive: bool = False
    rdo: bool = False
    best: bool = False
    tune: str | None = None
    restart_interval: int = 0
    optimize_huffman: bool = True
    mode: str = "plain"
    strip: str | None = None
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    scale: float | None = None
    model_id: str | None = None
    target_size: int | None = None
    target_bpp: float | None = None
    target_psnr: float | None = None
    target_msssim: float | None = None
    target_butteraugli: float | None = None
    allow_downscale: bool | None = None
    measure_psnr: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.quality <= 100:
            raise InputError(f"quality must be 1..100, got {self.quality}")
        targets = [name for name in TARGETS if getattr(self, name) is not None]
        if len(targets) > 1:
            raise InputError(
                "give one target, not " + " and ".join("--" + t.replace("_", "-") for t in targets)
            )
        if self.allow_downscale is False and not targets:
            raise InputError("--no-downscale applies only with a --target-* option")
        if self.target_butteraugli is not None:
            require_butteraugli()  # once for the job, not once per image

    @property
    def target(self) -> str | None:
        """The name of the target given (``"target_psnr"`` ...), else None."""
        return next((name for name in TARGETS if getattr(self, name) is not None), None)

    @property
    def planned(self) -> bool:
        """Whether the encode goes through rate control (a target, ``scale`` or ``model_id``)."""
        return bool(self.planning_kwargs())

    def api_kwargs(self) -> dict[str, Any]:
        """Keywords for :func:`hybrid.api.encode` / ``encode_to_target``, without ``force``."""
        return {
            "quality": self.quality,
            "subsampling": self.subsampling,
            "progressive": self.progressive,
            "rdo": self.rdo,
            "best": self.best,
            **({"tune": self.tune} if self.tune is not None else {}),
            "optimize_huffman": self.optimize_huffman,
            "restart_interval": self.restart_interval,
            "mode": self.mode,
            "strip": self.strip,
            "max_pixels": self.max_pixels,
        }

    def planning_kwargs(self) -> dict[str, Any]:
        """The rate-control keywords given (targets, ``scale``, ``model_id``,
        ``allow_downscale=False``), as ``hybrid encode`` adds them."""
        names = (*TARGETS, "scale", "model_id")
        kwargs: dict[str, Any] = {
            n: getattr(self, n) for n in names if getattr(self, n) is not None
        }
        if self.allow_downscale is False:
            kwargs["allow_downscale"] = False
        return kwargs


@dataclass(frozen=True)
class DecodeSettings:
    """:func:`hybrid.api.decode`'s options, as ``hybrid decode`` passes them, and the output
    ``format`` (a key of :data:`hybrid.outputs.OUTPUT_FORMATS`).

    ``strict`` fails an image whose data is damaged (``hybrid decode --strict``); the batch's
    own ``--strict`` is about the exit code.

    Raises:
        InputError: an unknown ``format`` or ``content``.
    """

    enhance: bool = False
    model: str | None = None
    weights: str | None = None
    precision: str = "auto"
    format: str = "png"
    upscale: bool | None = None
    scale: float | None = None
    sr_model: str | None = None
    strict: bool = False
    apply_orientation: bool = True
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    max_scan_passes: float | None = DEFAULT_MAX_SCAN_PASSES
    content: str = "auto"

    def __post_init__(self) -> None:
        from hybrid.enhance.choice import check_content

        check_content(self.content)
        if self.format not in OUTPUT_FORMATS:
            raise InputError(
                f"format must be one of {', '.join(sorted(OUTPUT_FORMATS))}, got {self.format!r}"
            )

    @property
    def uses_network(self) -> bool:
        """Whether a network runs (enhancement or super-resolution)."""
        return self.enhance

    def api_kwargs(self, device: str, threads: int | None) -> dict[str, Any]:
        """Keywords for :func:`hybrid.api.decode` after ``(source, enhance)``."""
        return {
            "model": self.model,
            "weights": self.weights,
            "device": device,
            "threads": threads,
            "max_pixels": self.max_pixels,
            "max_scan_passes": self.max_scan_passes,
            "precision": self.precision,
            "apply_orientation": self.apply_orientation,
            "upscale": self.upscale,
            "scale": self.scale,
            "sr_model": self.sr_model,
            "strict": self.strict,
            "content": self.content,
        }


@dataclass(frozen=True)
class BatchJob:
    """One of the jobs with its settings: ``encode`` and ``transcode`` carry ``encode``
    settings, ``decode`` carries ``decode`` settings.

    Raises:
        InputError: an unknown kind, settings of the wrong kind, or a ``transcode`` that
            neither asks for ``best`` nor a target (it would only lose quality).
    """

    kind: JobKind
    encode: EncodeSettings | None = None
    decode: DecodeSettings | None = None

    def __post_init__(self) -> None:
        if self.kind not in JOB_KINDS:
            raise InputError(f"job must be one of {', '.join(JOB_KINDS)}, got {self.kind!r}")
        wants_decode = self.kind == "decode"
        if wants_decode and (self.decode is None or self.encode is not None):
            raise InputError("a decode job takes decode settings only")
        if not wants_decode and (self.encode is None or self.decode is not None):
            raise InputError(f"an {self.kind} job takes encode settings only")
        if self.kind == "transcode" and self.encode is not None:
            if not (
                self.encode.best or self.encode.tune or self.encode.target or self.encode.scale
            ):
                raise InputError(
                    "transcode re-encodes JPEGs smaller: give --best or a --target-* option "
                    "(or --scale); for a plain re-encode use 'hybrid batch encode'"
                )

    @property
    def suffix(self) -> str:
        """The output files' suffix: ``.jpg``, or ``.png`` (the decode format)."""
        return "." + self.decode.format if self.decode is not None else ".jpg"

    @property
    def uses_network(self) -> bool:
        """Whether each image runs a network: an enhanced decode, or rate control that
        measures PSNR / MS-SSIM / butteraugli of the enhanced decode."""
        if self.decode is not None:
            return self.decode.uses_network
        assert self.encode is not None
        return self.encode.target in ("target_psnr", "target_msssim", "target_butteraugli")

    def fingerprint(self) -> str:
        """The job and every setting as compact JSON (sorted keys): equal for equal jobs.
        A setting of ``_LATER_SETTINGS`` appears only when it is set."""
        settings = asdict(self)
        if settings.get("encode") is not None:
            for name in _LATER_SETTINGS:
                if settings["encode"][name] is None:
                    del settings["encode"][name]
        return json.dumps(settings, sort_keys=True, separators=(",", ":"))


__all__ = ["JOB_KINDS", "BatchJob", "DecodeSettings", "EncodeSettings", "JobKind"]
