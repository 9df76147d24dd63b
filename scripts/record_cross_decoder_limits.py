"""Record the bits-per-pixel ceilings and PSNR floors of the cross-decoder test.

Encodes every configuration in ``cross_decoder_cases.CASES`` with the project's encoder,
measures bits per pixel (whole file) and PSNR (Pillow decode against the source, all
channels), and writes ``tests/data/cross_decoder_limits.json`` with a small margin:
``bpp_max = bpp * 1.02`` and ``psnr_min = psnr - 0.1 dB``.

Run it from the repository root after a deliberate change of the encoder's rate or quality,
and review the diff of the JSON file (it lists the measured values too):

    .venv/bin/python scripts/record_cross_decoder_limits.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository root, for tests.helpers

from tests.helpers import cross_decoder_cases as cases  # noqa: E402
from tests.helpers import decoders  # noqa: E402

BPP_MARGIN = 1.02
PSNR_MARGIN_DB = 0.1
LIMITS_PATH = ROOT / "tests" / "data" / "cross_decoder_limits.json"


def measure() -> dict[str, dict[str, float]]:
    table = {}
    for case in cases.CASES:
        data = cases.encode_case(case)
        bpp = cases.bits_per_pixel(data, case)
        quality = cases.psnr(cases.case_image(case), decoders.decode_pillow(data))
        table[case.id] = {
            "bpp": round(bpp, 5),
            "psnr": round(quality, 4),
            "bpp_max": round(bpp * BPP_MARGIN, 4),
            "psnr_min": round(quality - PSNR_MARGIN_DB, 3),
        }
    return table


def main() -> None:
    table = measure()
    LIMITS_PATH.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "about": (
            "Ceilings and floors for tests/test_cross_decoder.py, recorded by "
            f"scripts/record_cross_decoder_limits.py: bpp_max = bpp * {BPP_MARGIN}, "
            f"psnr_min = psnr - {PSNR_MARGIN_DB} dB (Pillow decode vs source, all channels)."
        ),
        "cases": table,
    }
    LIMITS_PATH.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    print(f"recorded {len(table)} cases in {LIMITS_PATH}")


if __name__ == "__main__":
    main()
