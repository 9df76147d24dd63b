"""``hybrid export-onnx``: released networks as ONNX graphs (thin click layer over
:mod:`hybrid.enhance.onnx_export`; torch and onnxruntime are imported only when it runs)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("export-onnx")
@click.argument("model_ids", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every released model in the registry.")
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the .onnx files and onnx.json (default: the weights folder).",
)
@click.option("--no-int8", is_flag=True, help="Write only the float32 graph.")
@click.option(
    "--train-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("../shared/data/train"),
    show_default=True,
    help="Images whose JPEG-coded crops calibrate the int8 graph.",
)
@click.option("--crops", type=click.IntRange(1), default=32, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def export_onnx(
    model_ids: tuple[str, ...],
    every: bool,
    out_dir: Path | None,
    no_int8: bool,
    train_dir: Path,
    crops: int,
    seed: int,
) -> int:
    """Export released networks (MODEL_IDS, or --all) as ONNX: float32 and static int8.

    Writes <weights file>.fp32.onnx and .int8.onnx (opset 18, dynamic batch/height/width)
    and records each in onnx.json with its sha256 and its measured difference from torch.
    The same inputs give the same bytes. `hybrid decode --backend onnx` runs them
    (super-resolution models for downscaled files and --scale).
    """
    from hybrid.enhance.onnx_export import CalibrationConfig, export_model
    from hybrid.enhance.registry import load_manifest, weights_dir
    from hybrid.errors import InputError

    ids = sorted(load_manifest()) if every else list(model_ids)
    if not ids:
        raise InputError("name at least one model id, or --all")
    cfg = CalibrationConfig(train_dir=train_dir, crops=crops, seed=seed)
    target = out_dir or weights_dir()
    for model_id in ids:
        entry = export_model(model_id, target, cfg, int8=not no_int8)
        diffs = ", ".join(
            f"{name} {item.file} (max |diff| vs torch {item.max_abs_diff:.3g})"
            for name, item in entry.variants.items()
        )
        click.echo(f"{model_id}: {diffs}")
    return 0
