"""Entry points: benchmarks, measurements and tools, each run as ``python scripts/NAME.py``.

This file makes ``scripts`` a package, so tests import a script's functions as
``import scripts.bench_sr`` (from the repository root, which pytest puts on ``sys.path``)
instead of loading the file by path. A script's work happens under
``if __name__ == "__main__"``: importing one runs no work.
"""
