"""Helpers that several test modules share, imported as ``tests.helpers.<module>``.

Test modules import shared code from here (and fixtures from ``conftest.py``), never from
another ``test_*.py`` module or a ``conftest.py``; ``tests/test_architecture.py`` checks it.
Some scripts use these helpers too (``scripts/fuzz.py``, ``scripts/measure_limits.py``,
``scripts/record_cross_decoder_limits.py``).

- ``cli``: running the ``hybrid`` command in-process and the images its tests start from
- ``corpus``, ``harness``, ``hostile``: the fuzz seed corpus and mutations, the
  crash-isolating reader harness, hand-built hostile files (tests/robustness)
- ``cross_decoder_cases``, ``decoders``: the cross-decoder configurations and the
  independent decoders (Pillow, djpeg, imagecodecs, IJG, Richter's, chromium)
- ``images``: small photographic test images on disk (the benchmark tests)
- ``jpeg``, ``libjpeg_reference``: frames and files for the codec tests, and libjpeg's
  scan and Huffman-table algorithms re-implemented as references
- ``nets``: perturbed (non-identity) networks for the enhancement tests
- ``registry``: throw-away weights registries
"""
