"""Shared fixtures: the seed corpus and a small random enhancement network."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.corpus import seed_corpus
from tests.helpers.harness import Harness, tiny_weights


@pytest.fixture(scope="session")
def corpus() -> list[tuple[str, bytes]]:
    return seed_corpus()


@pytest.fixture(scope="session")
def corpus_by_name(corpus) -> dict[str, bytes]:
    return dict(corpus)


@pytest.fixture(scope="session")
def weights(tmp_path_factory) -> Path:
    return tiny_weights(tmp_path_factory.mktemp("weights") / "tiny.pt")


@pytest.fixture(scope="session")
def harness(weights):
    """One crash-isolated worker (all four readers) shared by the default-suite tests. Its
    4 MP pixel limit bounds the legitimate work a mutated header can ask for (a downscaled
    record's upscale costs about 34 bytes per output pixel), so memory growth is asserted
    tightly; scripts/fuzz.py keeps the harness default of 20 MP."""
    with Harness(weights=weights, timeout_s=30, memory_budget_mib=1024, max_pixels=4_000_000) as h:
        yield h
