"""Running the ``hybrid`` command in-process (click's ``CliRunner``) and the images the
CLI tests start from (tests/cli and the CLI tests of other packages)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from PIL import Image

from hybrid.cli import cli

#: The installed console script, for tests that run it as a user does.
HYBRID = Path(sys.executable).parent / "hybrid"


def photo(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    """A smooth uint8 (h, w, 3) test image with a little noise."""
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(seed)
    base = np.stack([x * 255 // w, y * 255 // h, (x + y) % 64 * 3], -1)
    return np.clip(base + rng.integers(-6, 7, (h, w, 3)), 0, 255).astype(np.uint8)


def save_png(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(photo(seed=seed)).save(path)
    return path


def save_jpeg(path: Path, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(photo()).save(path, format="JPEG", **kw)
    return path


def run(*args: object, env: dict[str, str] | None = None):
    """``hybrid ARGS`` in-process (arguments str()-ed); click's Result."""
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def assert_one_line_error(result, code: int = 2) -> str:
    """Assert exit ``code`` and one ``hybrid: error:`` line on stderr, no traceback; the line."""
    assert result.exit_code == code, (result.exit_code, result.output)
    err = result.stderr.strip()
    assert "\n" not in err, err
    assert err.startswith("hybrid: error: "), err
    assert "Traceback" not in result.output
    return err


def no_temp_files(directory: Path) -> bool:
    """No hidden (temp) file left anywhere under ``directory``."""
    return not any(p.name.startswith(".") for p in directory.rglob("*"))


def piped(*args: object, stdin: bytes | None = None):
    """``hybrid ARGS`` in-process with ``stdin`` as standard input."""
    return CliRunner().invoke(cli, [str(a) for a in args], input=stdin)
