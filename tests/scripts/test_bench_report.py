"""scripts/bench_report.py replaces only its own section of BENCHMARKS.md."""

from __future__ import annotations

import scripts.bench_report as script


def test_replace_section_keeps_the_other_sections():
    new = f"{script.SECTION}\n\nnew table\n"
    document = (
        "# Benchmarks\n\nintro\n\n## Encoder speed\n\nfast\n\n"
        f"{script.SECTION}\n\nold table\n\n### detail\n\nold detail\n\n## Enhancement\n\ngains\n"
    )
    replaced = script.replace_section(document, new)
    assert replaced == (
        "# Benchmarks\n\nintro\n\n## Encoder speed\n\nfast\n\n"
        f"{script.SECTION}\n\nnew table\n\n## Enhancement\n\ngains\n"
    )
    # Last section of the file; then a file without it; then no file.
    assert script.replace_section(f"# B\n\n{script.SECTION}\n\nold\n", new) == f"# B\n\n{new}"
    assert script.replace_section("# B\n\n## Other\n\nx\n", new) == f"# B\n\n## Other\n\nx\n\n{new}"
    assert script.replace_section("", new) == f"# Benchmarks\n\n{new}"
