"""The outcome table of the real-world corpus: every file through ``info``, plain decode,
``--enhance``, ``read_coefficients`` and re-encode, beside what Pillow and djpeg do.

    python scripts/realworld_report.py [--corpus ../shared/realworld] > table.md

Cells: ``ok``; ``ok, warned`` (decoded with one ``hybrid: warning`` line); ``refused:
REASON`` (exit 2 with one line); ``BUG`` would mean an untyped exception (exit 1), which
tests/test_realworld.py forbids. ``=Pillow`` marks a plain decode pixel-identical to
Pillow's with the EXIF orientation applied.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

import hybrid
from hybrid.errors import InputError


def _outcome(call) -> tuple[str, object]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call()
        except InputError as exc:
            reason = str(exc).split(": ")[-1]
            return f"refused: {reason[:60]}", None
        except Exception as exc:  # noqa: BLE001 - the report must show bugs, not stop on them
            return f"BUG {type(exc).__name__}", None
    return ("ok, warned" if caught else "ok"), result


def _pillow(path: Path) -> np.ndarray | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                image.load()
                return np.asarray(ImageOps.exif_transpose(image))
    except (OSError, SyntaxError, ValueError):
        return None


def _djpeg(path: Path) -> str:
    try:
        run = subprocess.run(["djpeg", "-outfile", os.devnull, str(path)],
                             capture_output=True, check=False)  # fmt: skip
    except FileNotFoundError:
        return "n/a"
    # djpeg exits 1 when it cannot decode, 2 when it decoded with warnings.
    if run.returncode == 1:
        return "refused"
    return "warned" if run.returncode == 2 or run.stderr.strip() else "ok"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(Path(__file__).resolve().parents[2] / "shared"
                                                / "realworld"))  # fmt: skip
    args = parser.parse_args()
    corpus = Path(args.corpus)
    files = sorted(p for p in corpus.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".mpo"))
    print("| file | Pillow | djpeg | info | plain | --enhance | coefficients | re-encode |")
    print("|---|---|---|---|---|---|---|---|")
    for path in files:
        reference = _pillow(path)
        info, _ = _outcome(lambda p=path: hybrid.info(p))
        plain, image = _outcome(lambda p=path: hybrid.decode(p))
        if image is not None and reference is not None:
            same = np.array_equal(np.asarray(image), reference)
            plain += ", =Pillow" if same else ", DIFFERS from Pillow"
        enhanced, _ = _outcome(lambda p=path: hybrid.decode(p, enhance=True))
        coefficients, _ = _outcome(lambda p=path: hybrid.read_coefficients(p))
        reencode, _ = _outcome(lambda p=path: hybrid.encode(p, quality=90))
        cells = [str(path.relative_to(corpus)), "ok" if reference is not None else "refused",
                 _djpeg(path), info, plain, enhanced, coefficients, reencode]  # fmt: skip
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
