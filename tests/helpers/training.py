"""The tiny training set-up the training tests share: image folders and the smallest
:class:`TrainConfig` that runs the whole loop (train, validate, checkpoint) in seconds."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from training.data import DegradationConfig
from training.loop import TrainConfig

# The training command line, in a child interpreter: ``[*TRAINING, *tiny_train_args(...)]``.
TRAINING = (sys.executable, "-m", "training")


def tiny_training_folders(root: Path, val_size: tuple[int, int]) -> Path:
    """``root``/train with three 96x112 crops of skimage's astronaut, chelsea and coffee, and
    ``root``/val with one (height, width) ``val_size`` crop of the astronaut at (200, 200)."""
    from PIL import Image
    from skimage import data

    for sub in ("train", "val"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i, image in enumerate([data.astronaut(), data.chelsea(), data.coffee()]):
        Image.fromarray(image[:96, :112]).save(root / "train" / f"t{i}.png")
    height, width = val_size
    crop = data.astronaut()[200 : 200 + height, 200 : 200 + width]
    Image.fromarray(crop).save(root / "val" / "v0.png")
    return root


def tiny_train_config(
    root: Path, out: Path, iterations: int, *, crop: int = 32, **changes: Any
) -> TrainConfig:
    """A run over :func:`tiny_training_folders` ``root`` into ``out``: an 8-channel, 1-block
    network, batches of 2 ``crop``-pixel crops, 2 warm-up iterations, validation every 2
    iterations on 1 image at q10 and q50, a checkpoint at every chance, one thread;
    ``changes`` are other :class:`TrainConfig` fields (``task``, ``scale`` ...)."""
    return TrainConfig(
        train_dir=str(root / "train"),
        val_dir=str(root / "val"),
        out_dir=str(out),
        channels=8,
        blocks=1,
        batch_size=2,
        crop=crop,
        iterations=iterations,
        warmup=2,
        val_every=2,
        val_images=1,
        val_qualities=(10, 50),
        checkpoint_minutes=1e-6,
        threads=1,
        degradation=DegradationConfig(crop=crop),
        **changes,
    )


def tiny_train_args(
    root: Path,
    out: Path | None = None,
    *,
    iterations: int | None = 2,
    crop: int = 32,
    sized: bool = True,
) -> list[str]:
    """The ``python -m training`` arguments for a run like :func:`tiny_train_config` over
    ``root``: batches of 2 ``crop``-pixel crops, no validation, one thread. ``out`` (when
    given) is ``--out``; ``sized`` adds the 8-channel, 1-block network size (leave it off
    where ``--init`` brings the size); ``iterations=None`` leaves the count to the run (a
    ``--minutes`` budget). Callers append their own further options."""
    args = ["--data", str(root / "train"), "--val", str(root / "val")]
    if out is not None:
        args += ["--out", str(out)]
    if sized:
        args += ["--channels", "8", "--blocks", "1"]
    if iterations is not None:
        args += ["--iterations", str(iterations)]
    return args + ["--batch-size", "2", "--crop", str(crop), "--val-every", "0", "--threads", "1"]
