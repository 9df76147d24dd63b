"""Click options that several commands share, one definition each, and what they mean.

``hybrid encode`` / ``hybrid batch encode`` take the rate-control and downscale options
(:func:`encode_options`) as ``**kwargs`` and wrap their API call with
:func:`planned_encoder`; ``hybrid decode`` takes the resize and damage options
(:func:`decode_options`) and wraps its call with :func:`resized_decoder`. Here too: the
inputs argument and ``-o`` of encode and decode, the pixel, scan and metadata limits, and
``--content``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from hybrid.cli.stdio import InputPath, label
from hybrid.codec.geometry import MAX_SCALE
from hybrid.codec.headers import DEFAULT_MAX_SCAN_PASSES
from hybrid.enhance.choice import CONTENT_CHOICES
from hybrid.errors import InputError
from hybrid.io import DEFAULT_MAX_PIXELS

TARGETS = ("target_size", "target_bpp", "target_psnr", "target_msssim", "target_butteraugli")

#: INPUTS of ``hybrid encode`` and ``hybrid decode``: files, directories, or - for stdin.
inputs_argument = click.argument("inputs", nargs=-1, required=True, type=InputPath())
# A plain string: a trailing slash ("-o newdir/") means a directory, and Path drops it.
output_option = click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="Output file, or directory (a trailing slash creates it; always one for several "
    "inputs), or - for standard output.",
)

# Options that ``hybrid encode/decode`` and ``hybrid batch encode/decode`` share, one
# definition each.
max_pixels_option = click.option(
    "--max-pixels",
    type=click.IntRange(min=0),
    default=DEFAULT_MAX_PIXELS,
    show_default=True,
    help="Refuse images with more pixels, checked from the headers before decoding "
    "(a decompression-bomb guard, as in Pillow); 0: no limit.",
)
max_scan_passes_option = click.option(
    "--max-scan-passes",
    type=click.FloatRange(min=0),
    default=DEFAULT_MAX_SCAN_PASSES,
    show_default=True,
    help="Refuse files whose scans pass over the image's blocks more often (a progressive "
    "file of hundreds of whole-image scans is a decode-time bomb); 0: no limit.",
)
strip_option = click.option(
    "--strip",
    is_flag=False,
    flag_value="all",
    default=None,
    metavar="[KINDS]",
    help="Leave out the source's metadata: all of it (a bare --strip), or a comma-separated "
    "list of exif, icc, xmp, iptc, comment, density. Default: keep everything (EXIF with "
    "the orientation reset, ICC, XMP, IPTC, comments, JFIF density); size targets count it.",
)
keep_orientation_option = click.option(
    "--keep-orientation",
    is_flag=True,
    help="Keep the stored pixel orientation and the EXIF Orientation tag (default: turn the "
    "image upright as browsers and phones show it, and reset the tag to 1).",
)


def codec_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add -q/--quality, --subsampling, --progressive, --rdo, --best, --tune, --restart,
    --no-optimize and --mode: how ``hybrid encode`` and ``hybrid batch encode/transcode``
    code a file."""
    options = [
        click.option(
            "-q",
            "--quality",
            type=click.IntRange(1, 100),
            default=75,
            show_default=True,
            help="IJG quality 1..100.",
        ),
        click.option(
            "--subsampling",
            type=click.Choice(["4:4:4", "4:2:2", "4:2:0", "auto"]),
            default="4:2:0",
            show_default=True,
            help="Chroma subsampling.",
        ),
        click.option("--progressive", is_flag=True, help="Progressive JPEG (SOF2)."),
        click.option(
            "--rdo", is_flag=True, help="Trellis (rate-distortion optimised) quantization."
        ),
        click.option(
            "--best",
            is_flag=True,
            help="Smallest file for its PSNR: RGB-weighted trellis, PSNR tables, scan search.",
        ),
        click.option(
            "--tune",
            type=click.Choice(["psnr", "ssim", "perceptual"]),
            default=None,
            help="The best mode (implies --best) tuned for a metric, as mozjpeg's and "
            "libaom's: psnr (= --best), perceptual (butteraugli: more bits to luma detail, "
            "fewer to chroma), ssim (MS-SSIM, more so); perceptual and ssim record the "
            "perceptual enhancement model for --enhance.",
        ),
        click.option(
            "--restart",
            type=click.IntRange(0, 65535),
            default=0,
            show_default=True,
            help="MCUs between restart markers (0: none).",
        ),
        click.option("--no-optimize", is_flag=True, help="Standard Huffman tables (one pass)."),
        click.option(
            "--mode",
            type=click.Choice(["plain", "enhance"]),
            default="plain",
            show_default=True,
            help="What the file is for (recorded in its metadata).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


# --content: what a decode chooses its model by, what an encode records (issue 18).
decode_content_option = click.option(
    "--content",
    type=click.Choice(CONTENT_CHOICES),
    default="auto",
    show_default=True,
    help="Which enhancement model family (--enhance, without --model/--weights): photo, "
    "screen (text, UI, graphics), or auto: decided from the file (its recorded class, else "
    "a classifier of its coefficients and pixels).",
)
encode_content_option = click.option(
    "--content",
    type=click.Choice([*CONTENT_CHOICES[1:], "auto"]),
    help="Record what the image is (photo, screen: text, UI, graphics; auto: classify it) "
    "so an enhancing decoder picks the model made for it. Default: record nothing.",
)


def pixel_limit(max_pixels: int) -> int | None:
    """``--max-pixels`` as the API takes it (0: None). Pillow's own bomb check (a fixed
    178,956,970 pixels) is switched off when the user's limit is higher: hybrid checks the
    size itself before any pixel is decoded."""
    if max_pixels == 0 or max_pixels > DEFAULT_MAX_PIXELS:
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = None
    return max_pixels or None


def _size(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    from hybrid.targets import parse_size

    try:
        return parse_size(value)
    except InputError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def encode_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --scale, --model-id, --target-size/-bpp/-psnr/-msssim/-butteraugli and
    --no-downscale."""
    options = [
        click.option(
            "--scale",
            type=click.FloatRange(1.0, MAX_SCALE),
            help="Code the image downscaled by this factor (e.g. 2 or 1.5) in the "
            "'downscaled' mode; the original size is recorded for the decoder.",
        ),
        click.option(
            "--model-id",
            help="Model the file is made for, recorded in its metadata "
            "(default for --scale: sr-fast-v1).",
        ),
        click.option(
            "--target-size",
            callback=_size,
            metavar="BYTES",
            help="Choose the quality so the file is at most this size: 20000, 150KB, 1.5MB "
            "(kB/MB decimal, KiB/MiB binary).",
        ),
        click.option(
            "--target-bpp",
            type=click.FloatRange(0.0, 64.0, min_open=True),
            help="Like --target-size, in bits per original pixel.",
        ),
        click.option(
            "--target-psnr",
            type=click.FloatRange(0.0, 100.0, min_open=True),
            metavar="DB",
            help="Smallest file whose decode reaches this PSNR (enhanced decode when "
            "enhancement weights are installed, else plain).",
        ),
        click.option(
            "--target-msssim",
            type=click.FloatRange(0.0, 1.0, min_open=True),
            metavar="V",
            help="Smallest file whose decode reaches this MS-SSIM.",
        ),
        click.option(
            "--target-butteraugli",
            type=click.FloatRange(0.0, 100.0, min_open=True),
            metavar="D",
            help="Smallest file whose decode has a butteraugli distance of at most D: the "
            "3-norm (not the max-norm) of libjxl's butteraugli_main (package "
            "libjxl-devtools); about 1 is barely visible, 3 clearly.",
        ),
        click.option(
            "--no-downscale",
            is_flag=True,
            help="With a target, or --tune perceptual|ssim --mode enhance: stay at full "
            "resolution (else a downscaled mode is chosen when it decodes better, or is the "
            "only way to meet the target).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def planned_encoder(
    encode: Callable[..., Any], planning: dict[str, Any], *, chooses_scale: bool = False
) -> Callable[..., Any]:
    """``encode`` itself without these options; else a function with ``encode``'s call
    signature that encodes through :func:`hybrid.api.encode_to_target`, returns the bytes
    and prints one line per file saying what it chose. ``chooses_scale``: the encode is a
    perceptual tune's for the enhanced decode, which may come out downscaled
    (:attr:`hybrid.pipeline.requests.EncodeRequest.chooses_scale`), so --no-downscale
    applies without a target too."""
    targets = [name for name in TARGETS if planning.get(name) is not None]
    if len(targets) > 1:
        given = " and ".join("--" + name.replace("_", "-") for name in targets)
        raise click.UsageError(f"give one target, not {given}")
    if planning.get("no_downscale") and not targets and not chooses_scale:
        raise click.UsageError(
            "--no-downscale applies only with a --target-* option or to --tune "
            "perceptual|ssim --mode enhance"
        )
    if planning.get("no_downscale") and planning.get("scale") is not None:
        raise click.UsageError("--scale fixes the scale; --no-downscale is redundant with it")
    names = (*TARGETS, "scale", "model_id")
    kwargs: dict[str, Any] = {n: planning[n] for n in names if planning.get(n) is not None}
    if planning.get("no_downscale"):
        kwargs["allow_downscale"] = False
    if not kwargs:
        return encode
    from hybrid.api import encode_to_target

    def run(src: Any, dst: Path | None, **options: Any) -> bytes:
        data, result = encode_to_target(src, dst, **options, **kwargs)
        # With the JPEG on standard output (dst None), the report goes to stderr.
        line = f"{label(src)} -> {label(dst, output=True)}: {result.line()}"
        click.echo(line, err=dst is None)
        return data

    return run


def decode_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --upscale/--no-upscale, --scale, --sr-model, --strict and --no-damage-check."""
    options = [
        click.option(
            "--upscale/--no-upscale",
            default=None,
            help="Downscaled files: resize to the recorded original size (bicubic without a "
            "super-resolution model). Default: only with --enhance; a plain decode gives the "
            "small coded image, as viewers show it.",
        ),
        click.option(
            "--scale",
            type=click.FloatRange(1.0, MAX_SCALE),
            help="Upsample by this factor (with --enhance: super-resolution model if "
            "installed, else enhancement + bicubic, with a warning).",
        ),
        click.option("--sr-model", help="Super-resolution model id (default: the file's)."),
        click.option(
            "--strict",
            is_flag=True,
            help="Fail on damaged image data (libjpeg had to pad or guess, or a hybrid file's "
            "checksum does not match) instead of decoding it with a warning.",
        ),
        click.option(
            "--no-damage-check",
            is_flag=True,
            help="Skip the check for damaged image data (a faster plain decode; damaged data "
            "then decodes without a warning).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def resized_decoder(decode: Callable[..., Any], resizing: dict[str, Any]) -> Callable[..., Any]:
    """``decode`` (``hybrid.api.decode`` or ``decode_array``) with the resize options and
    ``--strict`` / ``--no-damage-check`` added. The command prints the warnings (a missing
    model, damaged data, unreadable metadata) as one ``hybrid: warning: FILE: ...`` line each."""
    if resizing.get("strict") and resizing.get("no_damage_check"):
        raise click.UsageError("--strict needs the damage check; drop --no-damage-check")
    kwargs = {
        "upscale": resizing.get("upscale"),
        "scale": resizing.get("scale"),
        "sr_model": resizing.get("sr_model"),
        "strict": bool(resizing.get("strict")),
        "check_damage": not resizing.get("no_damage_check"),
    }

    def run(src: Any, *args: Any, **options: Any) -> Any:
        return decode(src, *args, **options, **kwargs)

    return run
