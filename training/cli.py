"""``hybrid train``: a click command registered with the hybrid CLI through an entry point.

The dependency stays one-way (training -> hybrid): ``hybrid.cli`` discovers commands in the
``hybrid.commands`` entry-point group and never imports this package by name.
"""

from __future__ import annotations

import sys

import click

from training.data import DegradationConfig
from training.loop import TrainConfig, train


@click.command("train")
@click.option("--data", "train_dir", default="../shared/data/train", show_default=True,
              help="Folder of clean training images (recursive).")
@click.option("--val", "val_dir", default="../shared/data/val", show_default=True,
              help="Folder of clean validation images.")
@click.option("--out", "out_dir", default="runs/enhance", show_default=True,
              help="Run folder: checkpoints, validation.csv, validation.png.")
@click.option("--size", type=click.Choice(["fast", "quality"]), default="fast", show_default=True,
              help="Network size preset.")
@click.option("--channels", type=click.IntRange(4, 512), default=None, help="Override the preset width.")
@click.option("--blocks", type=click.IntRange(1, 64), default=None, help="Override the preset depth.")
@click.option("--iterations", type=click.IntRange(1), default=6000, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=16, show_default=True)
@click.option("--crop", type=click.IntRange(16), default=128, show_default=True,
              help="Training crop side (multiple of 16).")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True)
@click.option("--loss", type=click.Choice(["charbonnier", "l1"]), default="charbonnier", show_default=True)
@click.option("--msssim-weight", type=click.FloatRange(0), default=0.0, show_default=True)
@click.option("--no-consistency", is_flag=True, help="Train without the quantization-consistency step.")
@click.option("--init", "init", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Start from these weights (fine-tuning).")
@click.option("--val-every", type=click.IntRange(0), default=500, show_default=True)
@click.option("--val-images", type=click.IntRange(1), default=8, show_default=True)
@click.option("--checkpoint-minutes", type=click.FloatRange(min=0, min_open=True), default=5.0, show_default=True)
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda[:N].")
@click.option("--threads", type=click.IntRange(1), default=None, help="torch CPU threads.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--fresh", is_flag=True, help="Ignore an existing checkpoint in --out (default: resume).")
@click.option("--max-train-images", type=click.IntRange(1), default=None)
def train_command(size, channels, blocks, fresh, crop, **kwargs) -> None:
    """Train or fine-tune an enhancement network on a folder of clean images."""
    preset = {"fast": (48, 5), "quality": (96, 8)}[size]
    try:
        cfg = TrainConfig(
            channels=channels or preset[0],
            blocks=blocks or preset[1],
            consistency=not kwargs.pop("no_consistency"),
            crop=crop,
            degradation=DegradationConfig(crop=crop),
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
@click.option("--val", "val_dir", default=None, help="Measure PSNR gains on this folder and record them.")
@click.option("--val-images", type=click.IntRange(1), default=68, show_default=True)
@click.option("--description", default="", help="One line saying what the model is for.")
@click.option("--force", is_flag=True, help="Replace an existing entry with the same id.")
def export_command(checkpoint, model_id, out_dir, val_dir, val_images, description, force) -> None:
    """Write a registry entry (weights file, sha256, metrics) from a training checkpoint."""
    import json as _json

    import torch

    from training.export import export_checkpoint
    from training.loop import TrainConfig, make_val_set, validate

    metrics = {}
    if val_dir:
        ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
        cfg_dict = _json.loads(ckpt["config"])
        from hybrid.enhance.nets import EnhanceNet

        net = EnhanceNet(int(cfg_dict["channels"]), int(cfg_dict["blocks"]))
        net.load_state_dict(ckpt["model"])
        cfg = TrainConfig(val_dir=val_dir, val_images=val_images, val_qualities=(10, 20, 30, 50, 75, 90))
        gains = validate(net, make_val_set(cfg), cfg)
        metrics = {"val_dir": val_dir, "val_images": val_images,
                   "psnr_rgb_gain_db_libjpeg_turbo_420": {str(q): round(g, 3) for q, g in gains.items()}}
    try:
        entry = export_checkpoint(checkpoint, model_id, out_dir=out_dir, metrics=metrics,
                                  description=description, force=force)
    except (FileExistsError, ValueError, KeyError) as exc:
        click.echo(f"hybrid: error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"exported {entry.id}: {entry.file} sha256 {entry.sha256[:16]}... ({entry.parameters} parameters)")
