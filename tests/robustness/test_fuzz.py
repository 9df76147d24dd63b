"""Mutation fuzzing of info, coefficient reading, plain and enhanced decode.

Only :mod:`hybrid.errors` exceptions (or the documented warnings) may come out; no crash, no
hang, bounded memory. The default suite runs 2,000 inputs; ``-m slow`` runs the long run
(``HYBRID_FUZZ_INPUTS``, default 100,000), the same as ``python scripts/fuzz.py``.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hybrid
from hybrid.codec.headers import parse_info
from hybrid.errors import HybridError
from tests.helpers.corpus import fuzz_input, mutate
from tests.helpers.harness import FINDINGS, TARGETS, run_inputs

SHORT_RUN_SEED = 1
SHORT_RUN_INPUTS = 2000
#: Peak RSS the default-suite worker (max_pixels 4 MP) may add over its post-import baseline.
MEMORY_GROWTH_LIMIT = 256 << 20


def test_seed_corpus_covers_every_configuration(corpus, harness):
    infos = [hybrid.info(data) for _, data in corpus]
    assert {i.subsampling for i in infos} >= {"4:4:4", "4:2:2", "4:2:0", "greyscale"}
    assert any(i.progressive for i in infos) and any(i.baseline for i in infos)
    assert sum(i.restart_interval > 0 for i in infos) >= 9
    assert any(i.has_exif and i.has_icc and i.comments for i in infos)
    assert any(i.subsampling == "4:1:1" for i in infos)
    assert any(i.hybrid_metadata and i.hybrid_metadata.mode == "downscaled" for i in infos)
    report = harness.run(corpus, keep_outcomes=True)  # every reader accepts every seed...
    assert report.findings == [], report.summary()
    # ... except the enhanced decode of 4:1:1 (its tiler holds chroma subsampled up to 2x).
    # Regression: that used to fail inside the consistency step with a RuntimeError.
    assert report.by_input.pop("libjpeg-411") == {
        "info": "ok",
        "coefficients": "ok",
        "decode": "ok",
        "enhance": "UnsupportedImageError",
    }
    assert all(set(got.values()) == {"ok"} for got in report.by_input.values()), report.by_input


def test_inputs_are_reproducible_from_their_index(corpus):
    first = [fuzz_input(i, 7, corpus) for i in range(50)]
    assert first == [fuzz_input(i, 7, corpus) for i in range(50)]
    assert sum(data != corpus[i % len(corpus)][1] for i, (_, data) in enumerate(first)) >= 45
    assert [fuzz_input(i, 8, corpus) for i in range(50)] != first


@pytest.mark.parametrize(
    "target, kind",
    [
        ("selftest-crash", "crash"),
        ("selftest-hang", "hang"),
        ("selftest-memory", "memory"),
        ("selftest-escape", "escape"),
        ("selftest-warning", "warning"),
    ],
)
def test_harness_notices_every_kind_of_failure(target, kind):
    report = run_inputs([("a", b"x"), ("b", b"y")], (target,), timeout_s=1)
    assert [(f.label, f.kind) for f in report.findings] == [("a", kind), ("b", kind)]
    assert report.inputs == 2


def test_short_fuzz_run(corpus, harness):
    report = harness.run(fuzz_input(i, SHORT_RUN_SEED, corpus) for i in range(SHORT_RUN_INPUTS))
    print("\n" + report.summary())
    assert report.inputs == SHORT_RUN_INPUTS
    assert report.findings == [], report.summary()
    for kind in FINDINGS:
        assert report.count(kind) == 0
    # Every reader was reached with inputs it accepted and inputs it refused.
    for target in TARGETS:
        assert report.outcomes[(target, "ok")] > 100, target
        assert report.outcomes[(target, "CorruptJPEGError")] > 100, target
    assert report.max_rss - report.baseline_rss < MEMORY_GROWTH_LIMIT


@pytest.mark.slow
def test_long_fuzz_run(corpus, weights):
    count = int(os.environ.get("HYBRID_FUZZ_INPUTS", "100000"))
    report = run_inputs(
        (fuzz_input(i, 0, corpus) for i in range(count)),
        weights=weights,
        timeout_s=30,
        memory_budget_mib=1024,
        progress_every=5000,
    )
    print("\n" + report.summary())
    assert report.inputs == count
    assert report.findings == [], report.summary()  # no MemoryError under the 1 GiB budget


# The pure-Python header parser cannot crash the process, so hypothesis drives it in-process.
# HybridMetadataWarning (a damaged APP11 segment, ignored) and JpegDataWarning (garbage
# between segments, skipped) are documented warnings.
pytestmark_parser = pytest.mark.filterwarnings(
    "ignore::hybrid.errors.HybridMetadataWarning", "ignore::hybrid.errors.JpegDataWarning"
)


@pytestmark_parser
@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(st.binary(max_size=300))
def test_header_parser_on_arbitrary_bytes(data):
    for candidate in (data, b"\xff\xd8" + data, b"\xff\xd8\xff" + data):
        try:
            parse_info(candidate)
        except HybridError:
            pass


@pytestmark_parser
@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(index=st.integers(0, 10**6), which=st.integers(0, 10**3))
def test_header_parser_on_mutated_seeds(corpus, index, which):
    _, data = corpus[which % len(corpus)]
    mutated = mutate(data, random.Random(index), [d for _, d in corpus])
    try:
        parse_info(mutated, max_pixels=10**6)
    except HybridError:
        pass


#: Inputs the long fuzz run found (scripts/fuzz.py seed 0), kept as regression files: a
#: checksummed file whose chroma table was never defined (KeyError in the checksum) and a
#: downscaled record with a scale near 0 (OverflowError computing its coded size).
FOUND = sorted((Path(__file__).resolve().parents[1] / "data" / "fuzz").glob("*.jpg"))


def test_inputs_found_by_the_long_run_stay_fixed(harness):
    assert len(FOUND) >= 2
    report = harness.run([(p.name, p.read_bytes()) for p in FOUND], keep_outcomes=True)
    assert report.findings == [], report.summary()
