"""``hybrid train``: a click command registered with the hybrid CLI through an entry point.

The dependency stays one-way (training -> hybrid): ``hybrid.cli`` discovers commands in the
``hybrid.commands`` entry-point group and never imports this package by name.
"""

from __future__ import annotations

import sys

import click

from .data import DegradationConfig
from .loop import PERCEPTUAL_LOSSES, TrainConfig, init_shape, train
from .losses import PROXY_ASYMMETRY, PROXY_MASKING

#: (channels, blocks) of the ``--size`` presets, per task.
PRESETS: dict[str, dict[str, tuple[int, int]]] = {
    "enhance": {"fast": (48, 5), "quality": (96, 8)},
    "sr": {"fast": (48, 6), "quality": (96, 8)},
}


@click.command("train")
@click.option(
    "--task",
    type=click.Choice(["enhance", "sr"]),
    default="enhance",
    show_default=True,
    help="enhance: artifact removal at the coded size; sr: super-resolution of "
    "downscaled files (--crop is then the small, coded side).",
)
@click.option(
    "--scale",
    type=click.Choice(["1.5", "2", "3", "4"]),
    default="2",
    show_default=True,
    help="sr: the downscale (hybrid encode --scale) to train for; 1.5 trains an x2 "
    "network whose output the decoder resizes.",
)
@click.option(
    "--data",
    "train_dir",
    default="../shared/data/train",
    show_default=True,
    help="Folder of clean training images (recursive); several joined by the path "
    "separator (build/screens/train:../shared/data/train) are used together.",
)
@click.option(
    "--val",
    "val_dir",
    default="../shared/data/val",
    show_default=True,
    help="Folder of clean validation images.",
)
@click.option(
    "--out",
    "out_dir",
    default=None,
    help="Run folder: checkpoints, validation.csv, validation.png [default: runs/TASK].",
)
@click.option(
    "--size",
    type=click.Choice(["fast", "quality"]),
    default="fast",
    show_default=True,
    help="Network size preset: enhance fast 48x5, quality 96x8; sr fast 48x6, "
    "quality 96x8 (channels x blocks). --init weights bring their own size.",
)
@click.option(
    "--channels", type=click.IntRange(4, 512), default=None, help="Override the preset width."
)
@click.option(
    "--blocks", type=click.IntRange(1, 64), default=None, help="Override the preset depth."
)
@click.option(
    "--low-blocks",
    type=click.IntRange(0, 64),
    default=None,
    help="enhance: blocks of a quarter-resolution branch (0: none) [default: --init's, "
    "else 0]; --init weights without one keep their function, the branch "
    "starts from zero.",
)
@click.option(
    "--low-channels",
    type=click.IntRange(4, 512),
    default=None,
    help="Width of the quarter-resolution branch [default: --init's, else 64].",
)
@click.option("--iterations", type=click.IntRange(1), default=6000, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=16, show_default=True)
@click.option(
    "--crop",
    type=click.IntRange(16),
    default=128,
    show_default=True,
    help="Training crop side (multiple of 16).",
)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True)
@click.option(
    "--loss",
    type=click.Choice(["charbonnier", "l1", "mse"]),
    default="charbonnier",
    show_default=True,
)
@click.option("--msssim-weight", type=click.FloatRange(0), default=0.0, show_default=True)
@click.option(
    "--butteraugli-weight",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="Weight of the butteraugli-like distance (training.losses.butteraugli_proxy) "
    "added to the pixel loss.",
)
@click.option(
    "--butteraugli-masking",
    type=click.FloatRange(0),
    default=PROXY_MASKING,
    show_default=True,
    help="The proxy's masking by local detail (100 agrees better with libjxl's tool on "
    "the perceptual tune's decodes: BENCHMARKS.md).",
)
@click.option(
    "--butteraugli-asymmetry",
    type=click.FloatRange(0),
    default=PROXY_ASYMMETRY,
    show_default=True,
    help="The proxy's penalty on lost or overshot luma detail (16 agrees better).",
)
@click.option(
    "--butteraugli-loss",
    type=click.Choice(PERCEPTUAL_LOSSES),
    default="proxy",
    show_default=True,
    help="The perceptual term: the butteraugli-like proxy (training.losses) or the port "
    "of libjxl's butteraugli (training.butteraugli), whose distances follow the tool's.",
)
@click.option(
    "--no-consistency", is_flag=True, help="Train without the quantization-consistency step."
)
@click.option(
    "--init",
    "init",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Start from these weights (fine-tuning).",
)
@click.option("--val-every", type=click.IntRange(0), default=500, show_default=True)
@click.option("--val-images", type=click.IntRange(1), default=8, show_default=True)
@click.option(
    "--checkpoint-minutes",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
)
@click.option(
    "--minutes",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Train for about this long: after the warm-up, --iterations is replaced by "
    "what the measured speed fits in the time left (the cosine schedule then "
    "ends on time).",
)
@click.option(
    "--workers",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Processes making batches ahead of the training step (0: made in turn by "
    "the training process). Batches are the same either way.",
)
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda[:N].")
@click.option(
    "--precision",
    type=click.Choice(["auto", "fp32", "bf16"]),
    default="auto",
    show_default=True,
    help="Network arithmetic in training: bf16 mixed precision (autocast; the consistency "
    "step stays float32) or fp32. auto: bf16 on CUDA and on CPUs with native bf16 "
    "(avx512_bf16, amx_bf16), where training runs about 1.8x faster.",
)
@click.option("--threads", type=click.IntRange(1), default=None, help="torch CPU threads.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--fresh", is_flag=True, help="Ignore an existing checkpoint in --out (default: resume)."
)
@click.option("--max-train-images", type=click.IntRange(1), default=None)
@click.option(
    "--quality-range",
    type=(click.IntRange(1, 100), click.IntRange(1, 100)),
    default=(5, 90),
    show_default=True,
    help="IJG quality range of the training degradations.",
)
@click.option(
    "--p-high-quality",
    type=click.FloatRange(0, 1),
    default=0.12,
    show_default=True,
    help="Share of crops compressed at quality 90-100 instead.",
)
@click.option(
    "--p-hybrid",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of crops coded by hybrid's own encoder instead of Pillow "
    "(libjpeg-turbo), at quality 5-95, half of them 60-95.",
)
@click.option(
    "--hybrid-modes",
    "hybrid_mode_weights",
    type=(click.FloatRange(0),) * 5,
    metavar="BEST RDO PROG BASE PERC",
    default=DegradationConfig.hybrid_mode_weights,
    show_default=True,
    help="Relative weights of hybrid's encoder modes for those crops: best, rdo, "
    "progressive, baseline, --tune perceptual.",
)
def train_command(
    task,
    scale,
    out_dir,
    size,
    channels,
    blocks,
    fresh,
    crop,
    quality_range,
    p_high_quality,
    p_hybrid,
    hybrid_mode_weights,
    **kwargs,
) -> None:
    """Train or fine-tune an enhancement or super-resolution network on clean images."""
    preset = PRESETS[task][size]
    if task == "sr" and kwargs["low_blocks"]:
        click.echo("hybrid: error: --low-blocks is for --task enhance", err=True)
        sys.exit(2)
    try:
        # The network's size: the options given, else the --init file's, else the preset.
        shape = {"channels": preset[0], "blocks": preset[1], "low_blocks": 0, "low_channels": 64}
        if kwargs["init"]:
            shape.update(init_shape(kwargs["init"]))
        given = {
            "channels": channels,
            "blocks": blocks,
            "low_blocks": kwargs.pop("low_blocks"),
            "low_channels": kwargs.pop("low_channels"),
        }
        shape.update({k: v for k, v in given.items() if v is not None})
        if task == "sr":
            shape.update(low_blocks=0, low_channels=64)
        cfg = TrainConfig(
            task=task,
            scale=_scale_of(scale),
            out_dir=out_dir or f"runs/{task}",
            **shape,
            consistency=not kwargs.pop("no_consistency"),
            crop=crop,
            degradation=DegradationConfig(
                crop=crop,
                quality_low=quality_range[0],
                quality_high=quality_range[1],
                p_high_quality=p_high_quality,
                p_hybrid=p_hybrid,
                hybrid_mode_weights=hybrid_mode_weights,
            ),
            **kwargs,
        )
        path = train(cfg, resume=not fresh)
    except (ValueError, FileNotFoundError) as exc:
        click.echo(f"hybrid: error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"checkpoint: {path}")


@click.command("export")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.option("--id", "model_id", required=True, help="Registry id, e.g. enhance-faces-v1.")
@click.option("--out", "out_dir", default=None, help="Weights folder (default: the registry's).")
@click.option(
    "--val", "val_dir", default=None, help="Measure PSNR gains on this folder and record them."
)
@click.option("--val-images", type=click.IntRange(1), default=68, show_default=True)
@click.option("--description", default="", help="One line saying what the model is for.")
@click.option("--force", is_flag=True, help="Replace an existing entry with the same id.")
@click.option("--half", is_flag=True, help="Store the weights as float16 (half the file size).")
@click.option(
    "--content",
    type=click.Choice(["photo", "screen"]),
    default="photo",
    show_default=True,
    help="The kind of image it was trained for (hybrid decode --content picks by it).",
)
def export_command(
    checkpoint, model_id, out_dir, val_dir, val_images, description, force, half, content
) -> None:
    """Write a registry entry (weights file, sha256, metrics) from a training checkpoint.

    A super-resolution checkpoint (task ``sr``) becomes an ``SRNet`` entry with task ``sr``
    and ``inference.scale``; ``--val`` then measures the gain over the bicubic upscale of the
    plain decode of the downscaled image, else the gain over the plain decode.
    """
    from .export import export_checkpoint

    try:
        metrics = measure_checkpoint(checkpoint, val_dir, val_images) if val_dir else {}
        entry = export_checkpoint(
            checkpoint,
            model_id,
            out_dir=out_dir,
            metrics=metrics,
            description=description,
            force=force,
            half=half,
            content=content,
        )
    except (FileExistsError, ValueError, KeyError) as exc:
        click.echo(f"hybrid: error: {exc}", err=True)
        sys.exit(2)
    click.echo(
        f"exported {entry.id}: {entry.file} sha256 {entry.sha256[:16]}... "
        f"({entry.parameters} parameters)"
    )


def _scale_of(value) -> float:
    """A scale (option text or a saved run's number): an int where whole (2), else the
    float (1.5)."""
    value = float(value)
    return int(value) if value.is_integer() else value


def measure_checkpoint(checkpoint: str, val_dir: str, val_images: int) -> dict:
    """Validation metrics of a training checkpoint for its manifest entry: mean PSNR-RGB gain
    (dB) per quality 10/20/30/50/75/90 on Pillow/libjpeg-turbo 4:2:0 files, over the plain
    decode (enhance) or over the bicubic upscale of the plain decode of the downscaled image
    (sr), with the validation code of training."""
    import json as _json
    from pathlib import Path

    from hybrid.enhance.torch_file import load_torch_zip, weights_from_object

    from .loop import (
        TrainConfig,
        build_network,
        saved_shape,
        validation_gains,
        validation_set,
    )

    ckpt = load_torch_zip(Path(checkpoint), str(checkpoint))  # bounded, as --init reads it
    state = weights_from_object(ckpt, str(checkpoint)).state
    saved = _json.loads(ckpt["config"])
    cfg = TrainConfig(
        task=saved.get("task", "enhance"),
        scale=_scale_of(saved.get("scale", 2)),
        **saved_shape(saved),
        val_dir=val_dir,
        val_images=val_images,
        val_qualities=(10, 20, 30, 50, 75, 90),
    )
    net = build_network(cfg)
    net.load_state_dict(dict(state))
    gains = validation_gains(net, validation_set(cfg), cfg)
    key = "psnr_rgb_gain_db_libjpeg_turbo_420"
    if cfg.task == "sr":
        key = "psnr_rgb_gain_db_over_bicubic_libjpeg_turbo_420"
    return {
        "val_dir": val_dir,
        "val_images": val_images,
        key: {str(q): round(g, 3) for q, g in gains.items()},
    }
