"""What a fresh interpreter imports: for the tests that keep heavy dependencies (torch,
onnxruntime, ray ...) out of a code path."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence


def imported_after(code: str, modules: Sequence[str]) -> list[str]:
    """Run ``code`` (statements) in a new Python process and give those of ``modules`` that
    are in its ``sys.modules`` afterwards, in the order asked; a failure of ``code`` fails the
    test with the child's stderr."""
    report = f"print(json.dumps([m for m in {list(modules)!r} if m in sys.modules]))"
    probe = f"{code}\nimport json, sys\n{report}"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.splitlines()[-1])
