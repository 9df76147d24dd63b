"""The long fuzz run behind docs/robustness.md: one command, prints the figures.

    .venv/bin/python scripts/fuzz.py                     # 100,000 inputs, seed 0 (~15 min, 1 core)
    .venv/bin/python scripts/fuzz.py --inputs 2000 --seed 1   # the default-suite run
    .venv/bin/python scripts/fuzz.py --reproduce 631 --out case.jpg   # one input, to a file

Every input goes through hybrid.info, hybrid.read_coefficients, hybrid.decode and
hybrid.decode(enhance=True) (a small random EnhanceNet) in a crash-isolated worker process
with a per-input time limit and an address-space limit; see tests/helpers/harness.py.
Exit status: 0 when nothing was found, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.helpers.corpus import corpus_digest, fuzz_input, seed_corpus  # noqa: E402
from tests.helpers.harness import FINDINGS, TARGETS, Harness, tiny_weights  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000, help="number of inputs")
    parser.add_argument("--seed", type=int, default=0, help="run seed (inputs depend on it)")
    parser.add_argument("--start", type=int, default=0, help="first input index")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per input")
    parser.add_argument("--memory-mib", type=int, default=1024, help="worker memory budget")
    parser.add_argument("--targets", default=",".join(TARGETS), help="readers to call")
    parser.add_argument("--reproduce", type=int, metavar="INDEX", help="run one input only")
    parser.add_argument("--out", type=Path, help="with --reproduce: write the input here")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)

    corpus = seed_corpus()
    targets = tuple(t for t in args.targets.split(",") if t)
    with tempfile.TemporaryDirectory() as tmp:
        weights = tiny_weights(Path(tmp) / "tiny.pt") if "enhance" in targets else None
        with Harness(
            targets, weights=weights, timeout_s=args.timeout, memory_budget_mib=args.memory_mib
        ) as harness:
            if args.reproduce is not None:
                return _reproduce(harness, corpus, args)
            inputs = (
                fuzz_input(i, args.seed, corpus)
                for i in range(args.start, args.start + args.inputs)
            )
            started = time.strftime("%Y-%m-%d %H:%M:%S")
            report = harness.run(inputs, progress_every=max(1000, args.inputs // 20))
    figures = {
        "started": started,
        "command": "python scripts/fuzz.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "corpus": {"files": len(corpus), "sha256": corpus_digest(corpus)},
        "seed": args.seed,
        "first_index": args.start,
        "inputs": report.inputs,
        **{kind: report.count(kind) for kind in FINDINGS},
        "per_input_limit_s": args.timeout,
        "slowest_input_s": round(report.slowest_input_s, 3),
        "max_rss_mib": round(report.max_rss / 2**20),
        "rss_after_imports_mib": round(report.baseline_rss / 2**20),
        "seconds": round(report.seconds),
        "workers_started": report.workers_started,
        "outcomes": {f"{t}/{o}": k for (t, o), k in sorted(report.outcomes.items())},
        "findings": [f.__dict__ for f in report.findings[:200]],
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    print(
        f"corpus: {len(corpus)} seed files, sha256 {figures['corpus']['sha256']}; seed {args.seed}"
    )
    print(report.summary())
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if report.findings else 0


def _reproduce(harness: Harness, corpus, args) -> int:
    label, data = fuzz_input(args.reproduce, args.seed, corpus)
    if args.out:
        args.out.write_bytes(data)
        print(f"wrote input {label} ({len(data)} bytes) to {args.out}")
    report = harness.run([(label, data)], keep_outcomes=True)
    for target, outcome in report.by_input.get(label, {}).items():
        print(f"{target}: {outcome}: {report.details_by_input.get(label, {}).get(target, '')}")
    for finding in report.findings:
        print(f"FINDING {finding.kind} [{finding.target}]: {finding.detail}")
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
