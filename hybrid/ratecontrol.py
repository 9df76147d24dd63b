"""Rate control: meet a file-size or quality target, choosing quality and (optionally) the
downscaled mode with the decoder in the loop.

Targets (exactly one):

* ``target_size``: the file must not exceed this many bytes (an int, or text such as
  ``"20000"``, ``"150KB"``, ``"1.5MB"``, ``"64KiB"``; kB/MB are decimal, KiB/MiB binary).
* ``target_bpp``: the same, as bits per *original* pixel: ``floor(bpp * W * H / 8)`` bytes.
* ``target_psnr`` (dB) / ``target_msssim`` (0..1): the smallest file whose decode reaches
  the value against the original. The decode is the one ``hybrid.decode`` gives: the
  enhanced decode when enhancement weights are installed, else the plain decode; a
  downscaled candidate is upscaled to the original size as the decoder does (super-resolution
  when installed, else bicubic).
* ``target_butteraugli``: the smallest file whose decode (the same decode) has a butteraugli
  3-norm distance (libjxl's ``butteraugli_main``, :mod:`hybrid.perceptual`) of at most the
  value. A distance falls as quality rises, so the search runs on its negative, with the
  same bisection as PSNR; every candidate costs one more process (about 0.1 s at 0.15 MP,
  16 s at 12 MP).

With the enhanced decode in the loop, each full-resolution candidate is scored by its fitted
blend (issue 17): the plain and the full enhanced decode, the share of the network's change
that brings it closest to the original (:func:`hybrid.enhance.strength.fit_strength`; 0 is
the plain decode, so the plain decode is always considered), and the metric of that blend.
The chosen file records the strength and the model (:func:`hybrid.pipeline.encode.
record_strength`), so ``hybrid.decode(enhance=True)`` gives exactly the blend that was
measured. The model is chosen before the first encode (:func:`hybrid.pipeline.encode.
strength_model`) and every full-resolution candidate carries it and a strength byte, so the
final record has the size that was searched on.

Search: at each candidate scale, bisection over IJG quality 1..100, then a continuous
refinement of libjpeg's table scale factor ``S`` between the two neighbouring integer
qualities (:func:`hybrid.codec.quant.ijg_scale_factor`, libjpeg's rule without its integer
division; tables :func:`hybrid.codec.quant.ijg_tables_at`, exactly libjpeg's at a whole
quality), so size targets land within about 1% below the target.
Where the tables are coarse (integer entries, small at high quality), one step of ``S`` can
change the size by several per cent; a size search then takes a fractional step: the
entries in which the two bracketing table sets differ are moved one at a time from the
coarser to the finer value, highest frequency first, and the count is bisected
(:func:`blend_tables`, :func:`fill_gap`). Every encode is cached; the result is one of the
encoded files, so a size target is never exceeded.

Mode choice (``allow_downscale``, on by default with a target and no explicit ``scale``):
full resolution is tried first; downscaled candidates (x1.5, x2, x3, x4) are tried when full
resolution cannot meet the target, or when their ceiling -- the metric of the uncoded
downscale -> bicubic upscale, a cheap bound on what the coded file can reach -- could beat
the full-resolution result. A size target then keeps the candidate whose decode has the
best PSNR at that size; a quality target keeps the smallest file. Without a
super-resolution network a downscaled file wins only at low rates.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hybrid.codec.geometry import coded_size
from hybrid.codec.metadata import find_metadata
from hybrid.codec.options import EncodeOptions
from hybrid.codec.quant import (
    FAMILY_CHROMA,
    default_quant_tables,
    family_tables_at,
    ijg_quality,
    ijg_scale_factor,
    ijg_tables_at,
)
from hybrid.downscaled import DEFAULT_SR_MODEL, EncodeSource, encode_frame_file
from hybrid.errors import InputError, MissingModelWarning
from hybrid.pipeline.decode import decode_source
from hybrid.pipeline.encode import (
    FittedFile,
    fit_file,
    fit_sr_file,
    prepare_source,
    record_strength,
    strength_model,
    with_fitted_sr_strength,
    with_fitted_strength,
)
from hybrid.pipeline.requests import DecodeRequest, EncodeRequest
from hybrid.pipeline.upscale import enhancement_installed, model_installed
from hybrid.targets import Target, make_target, parse_size

__all__ = [
    "RateControlResult",
    "Target",
    "blend_tables",
    "fill_gap",
    "fit_metric",
    "fit_size",
    "make_target",
    "parse_size",
    "plan_encode",
    "search",
]

#: Downscale factors the mode choice considers, in order.
DOWNSCALE_CANDIDATES = (1.5, 2.0, 3.0, 4.0)
#: The perceptual tunes' files for the enhanced decode (:attr:`EncodeRequest.chooses_scale`)
#: also try these downscales, each at the full-size file's size, when that file is at most
#: the given bits per pixel: (scale, largest bpp). The x2 file for the super-resolution decode
#: beats the full-size file in MS-SSIM and butteraugli at the low rates, the x1.5 file at the
#: middle ones (on 34 val images at quality 3-50 the x1.5 file won on 17 of 28 files of
#: 0.5-0.7 bpp and on 6 of 12 of 0.7-0.9 bpp; BENCHMARKS.md, "Downscaled candidates of the
#: perceptual tune", issue 17, thirteenth session).
PERCEPTUAL_DOWNSCALES: tuple[tuple[float, float], ...] = ((2.0, 0.6), (1.5, 0.9))
#: The downscaled candidates' trellis multiplier (the tune's own tables and texture
#: adaptation): a file the super-resolution network restores loses less to keeping more of
#: its coefficients; 0.7 instead of 1.0 raised those files' MS-SSIM and lowered their
#: butteraugli distance at equal size (docs/decisions.md, "Downscaled candidates of the
#: perceptual tune").
PERCEPTUAL_DOWNSCALE_LAMBDA = 0.7
#: The perceptual tunes' full-size files for the enhanced decode record the default photo
#: model instead of the tune's (``TUNE_MODELS`` of :mod:`hybrid.pipeline.requests`) unless
#: the tune's decode has the higher MS-SSIM by at least this, in dB: on 12 val images at
#: quality 20-75 the default model's decode had 3-4 % lower butteraugli distances than
#: enhance-perceptual-v1's and 0.03-0.17 dB lower MS-SSIM, and this margin gave -1.9 %
#: butteraugli and -0.2 % MS-SSIM BD-rate against always recording the tune's model
#: (docs/decisions.md, "The perceptual tune's settings for the enhanced decode").
PERCEPTUAL_MODEL_MARGIN_DB = 0.05
#: Refinement stops once a size target is met this closely (fraction of the target).
SIZE_TOLERANCE = 0.01
REFINE_STEPS = 8


@dataclass(frozen=True)
class RateControlResult:
    """What an encode chose and measured.

    Attributes:
        target: the goal, as text ("size <= 150000 bytes", "PSNR >= 32 dB", "none").
        quality: IJG-equivalent quality of the tables used (a whole number when they are
            exactly IJG's; fractional after continuous refinement; None for user tables).
        scale: original size / coded size (1.0: full resolution).
        mode: the mode recorded in the file's metadata.
        bytes: file size; bpp: ``8 * bytes / (original width * height)``.
        metric, value: ``"psnr"`` (dB), ``"ms-ssim"`` or ``"butteraugli"`` (3-norm) of
            ``decoder``'s output against the original, measured on the chosen file (None
            when nothing was decoded).
        decoder: how the value was measured ("plain", "enhanced", "plain + bicubic", ...).
        iterations: encodes run; seconds: wall time of the whole search.
        strength: the enhancement strength the file records for its model (0..1; 0: the
            plain decode was best), None when none is recorded.
    """

    target: str
    quality: float | None
    scale: float
    mode: str
    bytes: int
    bpp: float
    metric: str | None
    value: float | None
    decoder: str
    iterations: int
    seconds: float
    strength: float | None = None

    def line(self) -> str:
        """One line for the CLI."""
        measured = ""
        kept = "" if self.strength is None else f", strength {self.strength:.3f}"
        if self.metric is not None and self.value is not None:
            name, digits, unit = _METRIC_TEXT[self.metric]
            measured = f", {name} {self.value:.{digits}f}{unit} ({self.decoder} decode{kept})"
        elif kept:
            measured = f", {kept[2:]}"
        return (
            f"{self.bytes} bytes ({self.bpp:.3f} bpp), "
            f"quality {'custom tables' if self.quality is None else f'{self.quality:g}'}, "
            f"scale {self.scale:g}, mode {self.mode}{measured}; target {self.target}; "
            f"{self.iterations} encodes in {self.seconds:.2f} s"
        )


#: How :meth:`RateControlResult.line` shows each metric: (name, decimals, unit).
_METRIC_TEXT = {
    "psnr": ("PSNR", 2, " dB"),
    "ms-ssim": ("MS-SSIM", 4, ""),
    "butteraugli": ("butteraugli 3-norm", 3, ""),
}


# --- the table-scale knob --------------------------------------------------------------------


def factor_to_quality(factor: float) -> float:
    """The (fractional) IJG quality whose continuous scale factor is ``factor``
    (:func:`hybrid.codec.quant.ijg_quality`), clamped to 1..100 and rounded to 0.1, as a
    result reports it."""
    return round(min(max(ijg_quality(factor), 1.0), 100.0), 1)


def _options_at(options: EncodeOptions, factor: float) -> EncodeOptions:
    """``options`` with tables scaled by ``factor``: exact IJG ``quality`` when ``factor`` is
    one of its values (so the file reports an exact IJG quality), else explicit tables; the
    best mode's table sets (``tables="psnr"``, ``"perceptual"``, ...) at that scale factor."""
    if options.tables in FAMILY_CHROMA:
        return dataclasses.replace(options, quant_tables=family_tables_at(options.tables, factor))
    quality = round(factor_to_quality(factor))
    if ijg_scale_factor(quality) == factor:
        return dataclasses.replace(options, quality=quality, quant_tables=None)
    return dataclasses.replace(options, quant_tables=ijg_tables_at(factor))


def _tables_at(options: EncodeOptions, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """The (luma, chroma) tables :func:`_options_at` codes with at ``factor``."""
    chosen = _options_at(options, factor)
    if chosen.quant_tables is not None:
        luma, chroma = chosen.quant_tables[:2]
        return luma, chroma
    luma, chroma = default_quant_tables(chosen.quality)[:2]
    return luma, chroma


def blend_tables(
    coarse: tuple[np.ndarray, ...], fine: tuple[np.ndarray, ...], count: int
) -> tuple[tuple[np.ndarray, ...], int]:
    """``coarse`` tables with ``count`` of the entries in which they differ from ``fine``
    set to ``fine``'s values, highest frequency first (zig-zag position descending; luma
    before chroma at equal position).

    Args:
        coarse, fine: tables of the same shapes, uint16 (8, 8) natural order.
        count: how many differing entries to take from ``fine`` (clipped to 0..total).

    Returns:
        (the blended tables, the total number of differing entries).
    """
    from hybrid.codec.tables import UNZIGZAG

    places = [
        (int(UNZIGZAG[r * 8 + c]), t, r, c)
        for t, (a, b) in enumerate(zip(coarse, fine, strict=True))
        for r, c in zip(*np.nonzero(a != b), strict=True)
    ]
    places.sort(key=lambda p: (-p[0], p[1]))
    tables = [np.array(t, dtype=np.uint16) for t in coarse]
    for _, t, r, c in places[: max(0, count)]:
        tables[t][r, c] = fine[t][r, c]
    return tuple(tables), len(places)


class _Encoder:
    """Cached encodes of one source, keyed by (scale, factor) or, for fractional steps,
    (scale, coarse factor, fine factor, count). With ``fit_model``, full-resolution files
    record that model and a placeholder strength; with ``fit_sr``, downscaled files whose
    super-resolution model is installed record a placeholder strength for it (the chosen
    file's is written at the end, in the same bytes)."""

    def __init__(
        self,
        source: EncodeSource,
        options: EncodeOptions,
        mode: str,
        model_id: str,
        fit_model: str | None = None,
        fit_sr: bool = False,
    ):
        self.source, self.options, self.mode, self.model_id = source, options, mode, model_id
        self.fit_model, self.fit_sr = fit_model, fit_sr
        self.cache: dict[tuple[float, ...], bytes] = {}

    def _file(self, options: EncodeOptions, scale: float) -> bytes:
        data = encode_frame_file(
            self.source, options, scale=scale, mode=self.mode, model_id=self.model_id
        )
        if scale == 1.0 and self.fit_model is not None:
            data = record_strength(data, self.fit_model, 1.0)
        elif scale > 1.0 and self.fit_sr:
            meta = find_metadata(data)
            if meta is not None and model_installed(meta.model_id):
                data = record_strength(data, meta.model_id, 1.0)
        return data

    def __call__(self, scale: float, factor: float) -> bytes:
        key = (scale, factor)
        if key not in self.cache:
            self.cache[key] = self._file(_options_at(self.options, factor), scale)
        return self.cache[key]

    def fill(self, scale: float, coarse: float, fine: float, limit: int) -> bytes:
        """The largest file of at most ``limit`` bytes on the fractional steps from the
        tables at ``coarse`` (which fit) towards those at ``fine`` (which do not): step k
        codes with :func:`blend_tables` of the two (k entries from the finer)."""
        low, high = _tables_at(self.options, coarse), _tables_at(self.options, fine)
        base = _options_at(self.options, coarse)
        _, total = blend_tables(low, high, 0)

        def step(count: int) -> bytes:
            if count == 0:
                return self(scale, coarse)
            key = (scale, coarse, fine, float(count))
            if key not in self.cache:
                tables, _ = blend_tables(low, high, count)
                self.cache[key] = self._file(dataclasses.replace(base, quant_tables=tables), scale)
            return self.cache[key]

        return step(fill_gap(step, total, limit))


# --- searches at one scale -------------------------------------------------------------------


def fit_size(encode: Callable[[float], bytes], limit: int) -> float | None:
    """The smallest table factor (best quality) whose file is at most ``limit`` bytes, or
    None when quality 1 is already larger. Size falls as the factor grows (almost always
    strictly; the search keeps the best feasible point it saw either way)."""
    return size_bracket(encode, limit)[0]


def size_bracket(encode: Callable[[float], bytes], limit: int) -> tuple[float | None, float | None]:
    """(:func:`fit_size`'s factor, the nearest finer factor tried whose file is larger
    than ``limit``; None at quality 100 or when nothing fits)."""
    if len(encode(ijg_scale_factor(100))) <= limit:
        return ijg_scale_factor(100), None
    ok, bad = 0, 100  # quality ok is feasible (0: not yet known), bad is not
    while bad - ok > 1:
        mid = (ok + bad) // 2
        if len(encode(ijg_scale_factor(mid))) <= limit:
            ok = mid
        else:
            bad = mid
    if ok == 0:
        if len(encode(ijg_scale_factor(1))) > limit:
            return None, None
        ok = 1
    f_ok, f_bad = ijg_scale_factor(ok), ijg_scale_factor(bad)
    for _ in range(REFINE_STEPS):
        if len(encode(f_ok)) >= (1.0 - SIZE_TOLERANCE) * limit:
            break
        factor = math.sqrt(f_ok * f_bad) if f_bad > 0 else f_ok / 2.0
        if len(encode(factor)) <= limit:
            f_ok = factor
        else:
            f_bad = factor
    return f_ok, f_bad


def fill_gap(encode: Callable[[int], bytes], total: int, limit: int) -> int:
    """The largest step count in 0..``total`` whose file fits ``limit``, by bisection.

    ``encode(0)`` is known to fit and ``encode(total)`` not; size grows with the count
    (almost always; the search keeps the best feasible count it saw). Stops early once a
    fitting file is within :data:`SIZE_TOLERANCE` of ``limit``.
    """
    ok, bad = 0, total
    while bad - ok > 1 and len(encode(ok)) < (1.0 - SIZE_TOLERANCE) * limit:
        mid = (ok + bad) // 2
        if len(encode(mid)) <= limit:
            ok = mid
        else:
            bad = mid
    return ok


def fit_metric(
    encode: Callable[[float], bytes], measure: Callable[[bytes], float], goal: float
) -> tuple[float | None, float]:
    """The largest table factor (smallest file) whose decode reaches ``goal``.

    Returns:
        (factor, value at quality 100): factor None when even quality 100 falls short.
    """
    best = measure(encode(ijg_scale_factor(100)))
    if best < goal:
        return None, best
    bad, ok = 0, 100  # quality bad misses the goal (0: virtual), ok reaches it
    while ok - bad > 1:
        mid = (ok + bad) // 2
        if measure(encode(ijg_scale_factor(mid))) >= goal:
            ok = mid
        else:
            bad = mid
    f_ok = ijg_scale_factor(ok)
    if bad == 0:
        return f_ok, best
    f_bad = ijg_scale_factor(bad)
    for _ in range(REFINE_STEPS // 2):
        factor = math.sqrt(f_ok * f_bad) if f_ok > 0 else f_bad / 2.0
        if measure(encode(factor)) >= goal:
            f_ok = factor
        else:
            f_bad = factor
    return f_ok, best


# --- the decoder in the loop -----------------------------------------------------------------


def _butteraugli_3norm(original: np.ndarray, decoded: np.ndarray) -> float:
    from hybrid.perceptual import butteraugli

    return butteraugli(original, decoded).pnorm3


def _metric_fn(kind: str) -> Callable[[np.ndarray, np.ndarray], float]:
    from hybrid.metrics import ms_ssim, psnr

    metrics: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
        "ms-ssim": ms_ssim,
        "butteraugli": _butteraugli_3norm,
    }
    return metrics.get(kind, psnr)


@dataclass(frozen=True)
class _Decoder:
    """How candidates are decoded: as ``hybrid.decode(..., enhance=..., upscale=True)`` with
    ``enhance`` on wherever a network is installed for that kind of file."""

    enhanced: bool
    sr: bool

    def _enhance(self, scale: float) -> bool:
        return self.enhanced or (scale > 1.0 and self.sr)

    def label(self, scale: float) -> str:
        if scale == 1.0:
            return "enhanced" if self.enhanced else "plain"
        if self.sr:
            return "super-resolution"
        return f"{'enhanced' if self.enhanced else 'plain'} + bicubic"

    def pixels(self, data: bytes, scale: float) -> np.ndarray:
        """uint8-valued float64 (H, W) or (H, W, 3) decode at the original size."""
        # decode_array(upscale=True), minus the damage check: the candidate was just written
        request = DecodeRequest(enhance=self._enhance(scale), upscale=True, check_damage=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MissingModelWarning)
            array = decode_source(data, request, as_array=True)
        pixels = np.round(np.clip(array, 0.0, 1.0) * 255.0)
        return pixels[:, :, 0] if pixels.shape[2] == 1 else pixels


def installed_decoder() -> _Decoder:
    """The decode ``hybrid.decode(enhance=True)`` would give: enhanced when the default
    enhancement model is installed, super-resolution when the default SR model is."""
    try:
        from hybrid.enhance.registry import load_manifest
    except ImportError:
        return _Decoder(enhanced=False, sr=False)
    entry = load_manifest().get(DEFAULT_SR_MODEL)
    return _Decoder(
        enhanced=enhancement_installed(None, None), sr=entry is not None and entry.task == "sr"
    )


def _fitted_pixels(fitted: FittedFile) -> np.ndarray:
    """uint8-valued float64 (H, W) or (H, W, 3): ``fitted``'s blend at its fitted strength,
    rounded to 8 bits as the decoder rounds it."""
    from hybrid.enhance.strength import blend

    out = blend(fitted.plain, fitted.enhanced, fitted.fit.strength)
    pixels = np.round(np.clip(out, 0.0, 1.0) * np.float32(255.0)).astype(np.float64)
    return pixels[:, :, 0] if pixels.shape[2] == 1 else pixels


class _FittedDecodes:
    """The full-resolution candidates' fitted blends (see the module docstring): their
    strengths, kept by file."""

    def __init__(self, original: np.ndarray, model: str):
        self.original, self.model = original, model
        self.strengths: dict[bytes, float] = {}

    def pixels(self, data: bytes) -> np.ndarray:
        """uint8-valued float64 (H, W) or (H, W, 3): the 8-bit decode of ``data`` at its
        fitted strength, as ``hybrid.decode(enhance=True)`` gives it once recorded."""
        fitted = fit_file(data, self.original, self.model)
        self.strengths[data] = fitted.fit.strength
        return _fitted_pixels(fitted)


class _FittedUpscales:
    """The downscaled candidates' fitted blends between the bicubic upscale and the
    super-resolution decode (:func:`hybrid.pipeline.encode.fit_sr_file`): their strengths,
    kept by file; a file whose model is not installed is decoded as ``decoder`` does."""

    def __init__(self, original: np.ndarray, decoder: _Decoder):
        self.original, self.decoder = original, decoder
        self.strengths: dict[bytes, tuple[str, float]] = {}

    def pixels(self, data: bytes, scale: float) -> np.ndarray:
        """uint8-valued float64 (H, W) or (H, W, 3) at the original size: the 8-bit decode
        of ``data`` at its fitted strength, as ``hybrid.decode(enhance=True)`` gives it once
        recorded."""
        fitted = fit_sr_file(data, self.original)
        if fitted is None:
            return self.decoder.pixels(data, scale)
        self.strengths[data] = (fitted.model, fitted.fit.strength)
        return _fitted_pixels(fitted)


# --- choosing quality and mode ---------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    scale: float
    factor: float
    data: bytes
    value: float | None


def _ceiling(source: EncodeSource, scale: float, metric: Callable[..., float]) -> float:
    """The metric of the uncoded downscale -> bicubic upscale (a bound for the plain and
    enhanced fallbacks, which upscale the coded image bicubically)."""
    from PIL import Image

    small = Image.fromarray(source.at_scale(scale))
    up = np.asarray(small.resize((source.width, source.height), Image.Resampling.BICUBIC))
    return metric(source.pixels, up)


def _scales(source: EncodeSource, scale: float | None, allow_downscale: bool) -> list[float]:
    if scale is not None:
        return [scale]
    if not allow_downscale:
        return [1.0]
    full = (source.width, source.height)
    smaller = [s for s in DOWNSCALE_CANDIDATES if coded_size(*full, s) != full]
    return [1.0, *smaller]


def search(
    source: EncodeSource,
    options: EncodeOptions,
    target: Target,
    *,
    mode: str = "plain",
    model_id: str = "",
    scale: float | None = None,
    allow_downscale: bool = True,
    enhanced_options: EncodeOptions | None = None,
    size_metric: str = "psnr",
) -> tuple[bytes, RateControlResult]:
    """Meet ``target``; see the module docstring. ``scale`` fixes the scale (no mode choice).
    ``enhanced_options``: the options to encode with when an enhancement network is in the
    loop (:attr:`hybrid.pipeline.requests.EncodeRequest.enhanced_options`; default
    ``options``). ``size_metric``: what a size target's candidates are compared by
    (``psnr`` or ``ms-ssim``).

    Raises:
        InputError: the target cannot be met (the message says what the closest was).
    """
    start = time.perf_counter()
    decoder = installed_decoder()
    if decoder.enhanced and enhanced_options is not None:
        options = enhanced_options
    scales = _scales(source, scale, allow_downscale)
    fitted = None
    if decoder.enhanced and 1.0 in scales and mode != "downscaled":
        fit_model = strength_model(source, options, model_id)
        fitted = None if fit_model is None else _FittedDecodes(source.pixels, fit_model)
    upscales = _FittedUpscales(source.pixels, decoder) if decoder.sr else None
    encoder = _Encoder(
        source, options, mode, model_id, fitted.model if fitted else None, upscales is not None
    )
    kind = size_metric if target.kind == "size" else target.kind
    metric = _metric_fn(kind)
    measured: dict[bytes, float] = {}  # a candidate is decoded once, however often scored
    # The quality searches look for values >= a goal; a distance (butteraugli) is searched
    # on its negative: score = sign * value, goal = sign * target.
    sign = -1.0 if target.kind == "butteraugli" else 1.0
    best: _Candidate | None = None
    misses: list[str] = []
    for s in scales:
        if s > 1.0 and not decoder.sr and len(scales) > 1:
            bound = _ceiling(source, s, metric)
            beaten = best is not None and target.kind == "size" and bound <= (best.value or 0)
            if beaten or (target.kind != "size" and sign * bound < sign * target.value):
                misses.append(f"x{s:g} reaches at most {bound:.4g}")
                continue

        def encode(factor: float, s: float = s) -> bytes:
            return encoder(s, factor)

        def measure(data: bytes, s: float = s) -> float:
            if data not in measured:
                if fitted is not None and s == 1.0:
                    pixels = fitted.pixels(data)
                elif upscales is not None and s > 1.0:
                    pixels = upscales.pixels(data, s)
                else:
                    pixels = decoder.pixels(data, s)
                measured[data] = metric(source.pixels, pixels)
            return measured[data]

        def score(data: bytes, s: float = s) -> float:
            return sign * measure(data, s)

        if target.kind == "size":
            limit = int(target.value)
            factor, finer = size_bracket(encode, limit)
            if factor is None:
                misses.append(f"{_where(s)} quality 1 is {len(encode(ijg_scale_factor(1)))} bytes")
                continue
            data = encode(factor)
            if finer is not None and len(data) < (1.0 - SIZE_TOLERANCE) * limit:
                data = encoder.fill(s, factor, finer, limit)
            candidate = _Candidate(s, factor, data, measure(data))
            if best is None or (candidate.value or 0) > (best.value or 0):
                best = candidate
        else:
            if best is not None:
                # Exact check before a full search: can this scale reach the goal in fewer
                # bytes than the best so far? (Size and quality both fall with the factor.)
                cheaper = fit_size(encode, len(best.data) - 1)
                if cheaper is None or score(encode(cheaper)) < sign * target.value:
                    misses.append(f"x{s:g} needs more bytes")
                    continue
            factor, top = fit_metric(encode, score, sign * target.value)
            if factor is None:
                misses.append(f"{_where(s)} quality 100 gives {sign * top:.4g}")
                continue
            data = encode(factor)
            candidate = _Candidate(s, factor, data, measure(data))
            if best is None or len(candidate.data) < len(best.data):
                best = candidate
    if best is None:
        raise InputError(f"cannot meet the target {target.text}: {'; '.join(misses)}")
    meta_mode = "downscaled" if best.scale > 1.0 else mode
    data, strength = best.data, None
    if fitted is not None and best.scale == 1.0:
        strength = fitted.strengths[data]
        data = record_strength(data, fitted.model, strength)  # same size: the byte is there
    elif upscales is not None and data in upscales.strengths:
        sr_model, strength = upscales.strengths[data]
        data = record_strength(data, sr_model, strength)
    result = RateControlResult(
        target=target.text,
        quality=factor_to_quality(best.factor),
        scale=best.scale,
        mode=meta_mode,
        bytes=len(best.data),
        bpp=8.0 * len(best.data) / (source.width * source.height),
        metric=kind,
        value=best.value,
        decoder=decoder.label(best.scale),
        iterations=len(encoder.cache),
        seconds=time.perf_counter() - start,
        strength=strength,
    )
    return data, result


def _where(scale: float) -> str:
    return "at full resolution" if scale == 1.0 else f"at x{scale:g}"


def plan_encode(image: Any, request: EncodeRequest) -> tuple[bytes, RateControlResult]:
    """Encode ``image`` at a fixed ``scale`` and/or to a target, as ``request`` (checked at
    its construction: one target at most, no tables with a target ...) asks.

    Returns:
        (file bytes, what was chosen). Without a target the result reports the one encode.
    """
    source = prepare_source(image, request)
    target = make_target(
        source.width,
        source.height,
        target_size=request.target_size,
        target_bpp=request.target_bpp,
        target_psnr=request.target_psnr,
        target_msssim=request.target_msssim,
        target_butteraugli=request.target_butteraugli,
    )
    options, mode = request.options, request.mode
    file_mode = "plain" if mode == "downscaled" else mode
    if file_mode == "enhance":  # meant for the enhanced decode, whatever is installed here
        options = request.enhanced_options
    if target is None:
        start = time.perf_counter()
        chosen = request.scale or 1.0
        data = encode_frame_file(
            source, options, scale=chosen, mode=file_mode, model_id=request.model_id or ""
        )
        if request.chooses_model:
            return _perceptual_choice(source, request, options, data, start)
        if file_mode == "enhance" and chosen == 1.0:
            data = with_fitted_strength(data, source)
        elif chosen > 1.0:
            data = with_fitted_sr_strength(data, source)
        mode = "downscaled" if chosen > 1.0 else file_mode
        return data, _fixed_result(request, source, data, chosen, mode, start)
    return search(
        source,
        options,
        target,
        mode=file_mode,
        model_id=request.model_id or "",
        scale=request.scale,
        allow_downscale=request.allow_downscale is not False,
        enhanced_options=request.enhanced_options,
    )


def _perceptual_choice(
    source: EncodeSource,
    request: EncodeRequest,
    options: EncodeOptions,
    data: bytes,
    start: float,
) -> tuple[bytes, RateControlResult]:
    """A perceptual tune's file for the enhanced decode (:attr:`EncodeRequest.chooses_model`):
    the full-size file ``data`` with its fitted strength, or (where
    :attr:`EncodeRequest.chooses_scale`) a downscaled file of at most its size for the
    super-resolution decode (:data:`PERCEPTUAL_DOWNSCALES`), whichever decode has the highest
    MS-SSIM against the original (docs/decisions.md, "The perceptual tunes choose the
    scale", "Downscaled candidates of the perceptual tune"). The full-size file records the
    tune's model, or the default photo model when that decode's MS-SSIM is within
    :data:`PERCEPTUAL_MODEL_MARGIN_DB` of the tune's. A downscale is tried only where it can
    win: a super-resolution model installed and the full-size file at most that scale's
    bits per pixel. The full-size file is coded with ``options`` (the tune's settings for the
    enhanced decode); the downscaled ones with the tune's own (:attr:`EncodeRequest.options`)
    at the trellis multiplier :data:`PERCEPTUAL_DOWNSCALE_LAMBDA`. Cost: the full-size file's
    enhanced decodes (which its strength and model need anyway), then per downscale a size
    search and its super-resolution decodes."""
    from hybrid.metrics import MS_SSIM_MIN_SIDE, ms_ssim, similarity_db

    model = strength_model(source, options, request.model_id)
    if model is None or min(source.width, source.height) < MS_SSIM_MIN_SIDE:
        # nothing installed, or too small to score (and to downscale): the file as any
        # enhance-mode encode leaves it
        data = with_fitted_strength(data, source)
        return data, _fixed_result(request, source, data, 1.0, "enhance", start)
    fitted = _FittedDecodes(source.pixels, model)
    value = ms_ssim(source.pixels, fitted.pixels(data))
    other = _photo_model_alternative(model)
    if other is not None:
        alternative = _FittedDecodes(source.pixels, other)
        other_value = ms_ssim(source.pixels, alternative.pixels(data))
        if similarity_db(other_value) > similarity_db(value) - PERCEPTUAL_MODEL_MARGIN_DB:
            model, fitted, value = other, alternative, other_value
    strength = fitted.strengths[data]
    full = record_strength(data, model, strength)  # same size: the byte is there
    result = dataclasses.replace(
        _fixed_result(request, source, full, 1.0, "enhance", start),
        metric="ms-ssim",
        value=value,
        decoder="enhanced",
        strength=strength,
    )
    if not request.chooses_scale or not installed_decoder().sr:  # allow_downscale=False, no SR
        return full, result
    best, chosen, best_value = full, result, value  # the highest MS-SSIM so far
    down_options = dataclasses.replace(request.options, rdo_lambda=PERCEPTUAL_DOWNSCALE_LAMBDA)
    at_most = make_target(source.width, source.height, target_size=len(full))
    assert at_most is not None  # a size was given
    size = (source.width, source.height)
    for scale, max_bpp in PERCEPTUAL_DOWNSCALES:
        if result.bpp > max_bpp or coded_size(*size, scale) == size:  # too small to downscale
            continue
        try:
            down, candidate = search(
                source, down_options, at_most, mode="enhance", scale=scale,
                size_metric="ms-ssim",
            )  # fmt: skip
        except InputError:  # even quality 1 at this scale is larger than the full-size file
            continue
        if candidate.value is not None and candidate.value > best_value:
            best, chosen, best_value = down, candidate, candidate.value
    if best is full:
        return full, result
    target = f"perceptual tune: x{chosen.scale:g} beats full size (MS-SSIM {value:.4f})"
    return best, dataclasses.replace(chosen, target=target, seconds=time.perf_counter() - start)


def _photo_model_alternative(model: str) -> str | None:
    """The default photo model, when it is installed and not ``model``: the other
    candidate of a perceptual tune's full-size file (:data:`PERCEPTUAL_MODEL_MARGIN_DB`)."""
    from hybrid.enhance.registry import default_model_for

    other = default_model_for("photo", warn=False)
    return other if other != model and model_installed(other) else None


def _fixed_result(
    request: EncodeRequest,
    source: EncodeSource,
    data: bytes,
    scale: float,
    mode: str,
    start: float,
) -> RateControlResult:
    """The result of one encode at a fixed quality and scale (nothing decoded)."""
    meta = find_metadata(data)
    return RateControlResult(
        target="none",
        quality=float(request.quality) if request.quant_tables is None else None,
        scale=scale,
        mode=mode,
        bytes=len(data),
        bpp=8.0 * len(data) / (source.width * source.height),
        metric=None,
        value=None,
        decoder="none",
        iterations=1,
        seconds=time.perf_counter() - start,
        strength=None if meta is None else meta.strength,
    )
