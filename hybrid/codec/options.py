"""Typed, frozen encoder configuration, validated at construction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from hybrid.codec.quant import FAMILY_CHROMA
from hybrid.errors import InputError

Subsampling = Literal["4:4:4", "4:2:2", "4:2:0", "auto"]
TableSet = Literal["ijg", "psnr", "perceptual", "perceptual-enhanced"]
Tune = Literal["psnr", "ssim", "perceptual"]
#: The names :class:`EncodeOptions` accepts for ``tables``: libjpeg's, and the best mode's
#: family (:data:`hybrid.codec.quant.FAMILY_CHROMA`).
TABLE_SETS: tuple[str, ...] = ("ijg", *FAMILY_CHROMA)

#: What each tune of the best mode changes: (tables, rdo_activity, rdo_lambda). ``psnr`` is
#: the best mode as it was; ``ssim`` and ``perceptual`` give chroma more of the error
#: (:func:`hybrid.codec.quant.perceptual_tables_at`) and adapt the trellis more to texture,
#: ``ssim`` the most (measured in docs/decisions.md, "Tunes"). ``perceptual`` was re-searched
#: with its decoder enhance-perceptual-v2 in the loop (docs/decisions.md, "The default-mode
#: perceptual tune re-searched with its decoder"): the coarser chroma of the
#: ``"perceptual-enhanced"`` tables and 0.8 of the trellis multiplier score 1.4 points of
#: butteraugli BD-rate better under that decoder, and 0.6 better with the plain decode. With
#: its decoder enhance-perceptual-v4 in the loop (docs/decisions.md, "The default-mode
#: perceptual tune with enhance-perceptual-v4") the enhanced decode's settings
#: (:data:`ENHANCED_TUNES`: texture exponent 1.25, 0.7 of the multiplier) score 0.8 point of
#: MS-SSIM and 0.2 of butteraugli better on 11 images (0.6 and 0.0 on all 68), for 1.2
#: points of PSNR-RGB and 0.2 of butteraugli with the plain decode: both now share them.
TUNES: dict[str, tuple[str, float, float]] = {
    "psnr": ("psnr", 0.5, 1.0),
    "ssim": ("perceptual", 1.5, 1.0),
    "perceptual": ("perceptual-enhanced", 1.25, 0.7),
}

#: What a tune of the best mode changes when the file is meant for the enhanced decode (a
#: network restores it): (tables, rdo_activity, rdo_lambda). Measured for ``psnr`` with
#: enhance-fast-v4 in rate control's loop (docs/decisions.md, "The trellis for the enhanced
#: decode"): the plain decode's trellis zeroes coefficients the network could have used, and
#: 0.6 of its multiplier without texture adaptation gains 0.03-0.10 dB at equal size. For
#: ``perceptual`` with enhance-perceptual-v1 (``scripts/tune_search.py --set enhanced``;
#: docs/decisions.md, "The perceptual tune's settings for the enhanced decode"): coarser
#: chroma (``"perceptual-enhanced"`` tables), 0.7 of the multiplier and a little more
#: texture adaptation. Tunes not listed keep their settings.
ENHANCED_TUNES: dict[str, tuple[str, float, float]] = {
    "psnr": ("psnr", 0.0, 0.6),
    "perceptual": ("perceptual-enhanced", 1.25, 0.7),
}
Decoder = Literal["plain", "enhanced"]

#: (h_samp, v_samp) of the luma component for each chroma mode; chroma is always 1x1.
LUMA_SAMPLING: dict[str, tuple[int, int]] = {"4:4:4": (1, 1), "4:2:2": (2, 1), "4:2:0": (2, 2)}


@dataclass(frozen=True)
class EncodeOptions:
    """How to encode one image.

    Attributes:
        quality: IJG quality 1..100 used to scale the tables of ``tables``.
        subsampling: chroma mode; ``"auto"`` picks 4:4:4 where 4:2:0 would smear saturated
            edges or text, else 4:2:0. Ignored for greyscale input.
        quant_tables: optional user tables overriding ``quality``: one (luma) or two (luma,
            chroma) uint16 arrays (8, 8) in natural order, values 1..65535.
        rdo: trellis (rate-distortion optimized) quantization of AC and DC coefficients, as
            mozjpeg does, minimizing RGB squared error plus lambda times bits (see
            :mod:`hybrid.codec.distortion`).
        progressive: progressive (SOF2) output with spectral selection and successive
            approximation; else baseline sequential (SOF0, or SOF1 for 16-bit tables).
        optimize_huffman: per-image optimal Huffman tables (two-pass); else the Annex K tables.
        restart_interval: MCUs between RSTn markers; 0 disables restart markers.
        tables: which tables ``quality`` scales: ``"ijg"`` (T.81 Annex K, libjpeg's rule,
            the same DQT as ``cjpeg -quality``), ``"psnr"``
            (:func:`hybrid.codec.quant.psnr_quant_tables`, tuned with the trellis for
            PSNR-RGB), ``"perceptual"`` (:func:`hybrid.codec.quant.perceptual_quant_tables`,
            the ssim tune's) or ``"perceptual-enhanced"`` (the perceptual tune's, coarser
            chroma: :data:`TUNES`, :data:`ENHANCED_TUNES`); the last three are
            :func:`hybrid.codec.quant.family_quant_tables`. Ignored when ``quant_tables`` is
            given.
        optimize_scans: with ``progressive``, code the frame with each of a few scan scripts
            (:func:`hybrid.codec.scans.search_scripts`) and keep the smallest file, as
            mozjpeg's ``optimize_scans``; else libjpeg's default script.
        rdo_activity: with ``rdo``, exponent (0..2) of the per-block adaptation of the
            trellis's multiplier to texture (:func:`hybrid.codec.distortion.activity_lambdas`):
            0 minimizes plain RGB squared error (PSNR); larger values favour MS-SSIM.
        rdo_lambda: with ``rdo``, multiplier (0.05..4) of the trellis's Lagrange multiplier
            (:func:`hybrid.codec.distortion.image_lambda`): below 1 keeps more coefficients
            at the same tables (the enhanced decode's setting, :data:`ENHANCED_TUNES`).
    """

    quality: int = 75
    subsampling: Subsampling = "4:2:0"
    quant_tables: tuple[np.ndarray, ...] | None = None
    rdo: bool = False
    progressive: bool = False
    optimize_huffman: bool = True
    restart_interval: int = 0
    tables: TableSet = "ijg"
    optimize_scans: bool = False
    rdo_activity: float = 0.0
    rdo_lambda: float = 1.0

    @classmethod
    def best(
        cls,
        quality: int = 75,
        subsampling: Subsampling = "4:2:0",
        tune: Tune = "psnr",
        decoder: Decoder = "plain",
        **changes: object,
    ) -> EncodeOptions:
        """The smallest files at a given quality: trellis on AC and DC, progressive with a
        scan search and optimal Huffman tables, with the tables and texture adaptation of
        ``tune`` (:data:`TUNES`). ``psnr`` (the default): PSNR tables and a mild texture
        adaptation of the trellis (``rdo_activity=0.5``: -0.4 % PSNR BD-rate for -1.5 %
        MS-SSIM); ``perceptual`` and ``ssim`` trade PSNR for butteraugli and MS-SSIM.
        ``decoder="enhanced"``: the tune's trellis settings for a file an enhancement
        network will decode (:data:`ENHANCED_TUNES`). ``changes`` override fields (e.g.
        ``restart_interval``).

        Raises:
            InputError: an unknown ``tune``.
        """
        if tune not in TUNES:
            raise InputError(f"tune must be one of {', '.join(TUNES)}; got {tune!r}")
        tables, activity, lam = TUNES[tune]
        if decoder == "enhanced" and tune in ENHANCED_TUNES:
            tables, activity, lam = ENHANCED_TUNES[tune]
        elif decoder not in ("plain", "enhanced"):
            raise InputError(f"decoder must be 'plain' or 'enhanced'; got {decoder!r}")
        fields: dict[str, object] = dict(
            quality=quality,
            subsampling=subsampling,
            rdo=True,
            progressive=True,
            optimize_huffman=True,
            tables=tables,
            optimize_scans=True,
            rdo_activity=activity,
            rdo_lambda=lam,
        )
        fields.update(changes)
        return cls(**fields)  # type: ignore[arg-type]

    @classmethod
    def from_api(
        cls,
        *,
        quality: int,
        subsampling: str,
        quant_tables: object,
        restart_interval: int,
        rdo: bool,
        progressive: bool,
        optimize_huffman: bool,
        best: bool,
        tune: str | None = None,
        decoder: Decoder = "plain",
    ) -> EncodeOptions:
        """The options ``hybrid.encode``'s keywords describe: :meth:`best` (which replaces
        ``rdo``, ``progressive`` and ``optimize_huffman``; a ``tune`` implies it) for
        ``decoder``, or exactly what was asked."""
        if best or tune is not None:
            return cls.best(
                quality,
                subsampling,  # type: ignore[arg-type]
                tune or "psnr",  # type: ignore[arg-type]
                decoder,
                quant_tables=quant_tables,
                restart_interval=restart_interval,
            )
        return cls(
            quality=quality,
            subsampling=subsampling,  # type: ignore[arg-type]
            quant_tables=quant_tables,  # type: ignore[arg-type]
            rdo=bool(rdo),
            progressive=bool(progressive),
            optimize_huffman=bool(optimize_huffman),
            restart_interval=restart_interval,
        )

    def __post_init__(self) -> None:
        if isinstance(self.quality, bool) or not isinstance(self.quality, (int, np.integer)):
            raise InputError(f"quality must be an integer 1..100, got {self.quality!r}")
        if not 1 <= int(self.quality) <= 100:
            raise InputError(f"quality must be in 1..100, got {self.quality}")
        if self.subsampling not in ("4:4:4", "4:2:2", "4:2:0", "auto"):
            raise InputError(
                f"subsampling must be one of 4:4:4, 4:2:2, 4:2:0, auto; got {self.subsampling!r}"
            )
        activity = self.rdo_activity
        if isinstance(activity, bool) or not isinstance(activity, (int, float, np.number)):
            raise InputError(f"rdo_activity must be a number 0..2, got {activity!r}")
        if not 0.0 <= float(activity) <= 2.0:
            raise InputError(f"rdo_activity must be in 0..2, got {activity}")
        lam = self.rdo_lambda
        if isinstance(lam, bool) or not isinstance(lam, (int, float, np.number)):
            raise InputError(f"rdo_lambda must be a number 0.05..4, got {lam!r}")
        if not 0.05 <= float(lam) <= 4.0:
            raise InputError(f"rdo_lambda must be in 0.05..4, got {lam}")
        if self.tables not in TABLE_SETS:
            names = ", ".join(repr(name) for name in TABLE_SETS)
            raise InputError(f"tables must be one of {names}; got {self.tables!r}")
        if not isinstance(self.restart_interval, (int, np.integer)) or not (
            0 <= int(self.restart_interval) <= 65535
        ):
            raise InputError(f"restart_interval must be 0..65535, got {self.restart_interval!r}")
        if self.quant_tables is not None:
            tables = tuple(np.asarray(t) for t in self.quant_tables)
            if not 1 <= len(tables) <= 2:
                raise InputError("quant_tables takes one (luma) or two (luma, chroma) tables")
            for t in tables:
                if t.shape != (8, 8):
                    raise InputError(f"a quantization table must be 8x8, got shape {t.shape}")
                if not np.all(np.isfinite(t)) or t.min() < 1 or t.max() > 65535:
                    raise InputError("quantization table values must be integers in 1..65535")
                if not np.all(t == np.round(t)):
                    raise InputError("quantization table values must be integers in 1..65535")
            object.__setattr__(self, "quant_tables", tuple(t.astype(np.uint16) for t in tables))
