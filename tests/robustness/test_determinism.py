"""Determinism: the encoder gives byte-identical output for identical input and options, and
CPU enhancement gives identical pixels, run to run and process to process (the other process
has another hash seed: a fresh interpreter, or the harness's worker).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image

import hybrid
from tests.helpers.corpus import sample_image
from tests.helpers.harness import result_digest

REPO = Path(__file__).resolve().parents[2]

#: Every encoder configuration: (name, keyword arguments); the image is chosen by name.
CONFIGS = [
    *(
        (
            f"{mode}-{sub}-rst{rst}",
            {"progressive": mode == "prog", "subsampling": sub, "restart_interval": rst},
        )  # fmt: skip
        for mode in ("base", "prog")
        for sub in ("4:4:4", "4:2:2", "4:2:0", "auto")
        for rst in (0, 3)
    ),
    ("grey", {"quality": 50}),
    ("grey-prog-rdo", {"quality": 50, "progressive": True, "rdo": True}),
    ("rdo", {"rdo": True, "quality": 60}),
    ("rdo-444", {"rdo": True, "subsampling": "4:4:4", "quality": 85}),
    ("annex-k", {"optimize_huffman": False}),
    ("tables", {"quant_tables": (np.full((8, 8), 7), np.arange(1, 65).reshape(8, 8))}),
    ("q1", {"quality": 1}),
    ("q100", {"quality": 100}),
    ("enhance-mode", {"mode": "enhance", "comment": "det"}),
    ("metadata", {"quality": 80}),
]


def encode_all(work: Path) -> dict[str, str]:
    """SHA-256 of every configuration's output (the image depends only on the name)."""
    rgb = sample_image(45, 61, 5)
    with_meta = work / "meta.jpg"
    if not with_meta.exists():
        exif = Image.Exif()
        exif[0x0112] = 6  # rotated: the encoder transposes and resets the tag
        Image.fromarray(rgb).save(with_meta, exif=exif.tobytes(), icc_profile=b"icc" * 50,
                                  comment=b"c", quality=95)  # fmt: skip
    digests = {}
    for name, kwargs in CONFIGS:
        image = with_meta if name == "metadata" else rgb[:, :, 0] if "grey" in name else rgb
        digests[name] = hashlib.sha256(hybrid.encode(image, **kwargs)).hexdigest()
    return digests


def test_encoder_is_byte_identical_run_to_run_and_process_to_process(tmp_path):
    first = encode_all(tmp_path)
    explicit = [d for name, d in first.items() if "auto" not in name]  # auto picks one
    assert len(set(explicit)) == len(explicit)  # the configurations really differ
    assert encode_all(tmp_path) == first
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        timeout=300,
    )
    assert child.returncode == 0, child.stderr
    assert json.loads(child.stdout) == first


_CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from tests.robustness.test_determinism import encode_all
    print(json.dumps(encode_all(Path(sys.argv[1]))))
    """
)


def test_cpu_enhancement_is_identical_run_to_run_and_process_to_process(weights, harness):
    data = hybrid.encode(sample_image(72, 88, 6), quality=30)
    # One thread (the worker's setting): identical at any fixed count, and fast when busy.
    arrays = [hybrid.decode_array(data, enhance=True, weights=weights, threads=1) for _ in "ab"]
    assert arrays[0].dtype == np.float32 and arrays[0].shape == (72, 88, 3)
    assert np.array_equal(arrays[0], arrays[1])
    image = hybrid.decode(data, enhance=True, weights=weights, threads=1)
    again = hybrid.decode(data, enhance=True, weights=weights)
    assert np.array_equal(np.asarray(image), np.asarray(again))
    plain = np.asarray(hybrid.decode(data))
    assert np.abs(np.asarray(image, np.int16) - plain).max() > 0  # the network did something
    other = harness.run([("det", data)], keep_outcomes=True, targets=("decode", "enhance"))
    assert other.details_by_input["det"]["enhance"] == result_digest(image)
    assert other.details_by_input["det"]["decode"] == result_digest(hybrid.decode(data))
