"""Make the screenshot / text / graphics image set (issue 18), reproducibly and offline.

    python scripts/make_screens.py                      # build/screens/{train,val}/...
    python scripts/make_screens.py --out DIR --pages 40 --doc-shots 0   # a small set

Every image is a lossless PNG of 1024x768 pixels (the size of a laptop browser window),
rendered by the system Chromium (through Playwright) or drawn by matplotlib:

* ``generated``: HTML pages made here from a seed: articles, documentation with a sidebar
  and code blocks, dashboards with SVG charts, forms and buttons, chat threads, dense
  tables, terminals; fonts, sizes, colour themes and the device pixel ratio (1 or 2) vary.
  The words come from this project's own Markdown documents.
* ``docs``: HTML documentation shipped in Debian packages on this machine (see
  ``DOC_SOURCES``) and this project's Markdown documents rendered to HTML, screenshotted at
  several scroll positions.
* ``charts``: matplotlib figures (line, bar, scatter, histogram, pie) with titles, legends
  and annotations.
* ``mixed`` (validation only): generated article pages holding a photograph from
  ``--photos`` (CBSD68 by default), to measure that a page with a photo inside is not harmed.

The split is by source, never by crop: generated pages and charts draw train and val from
disjoint seeds, and each documentation file goes wholly to train or to val by a hash of its
path. ``README.md`` and ``manifest.json`` in the output folder list every image with its
source and that source's licence.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import random
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1024, 768

#: Debian documentation folders used by the ``docs`` source, with their licences (from each
#: package's /usr/share/doc/<package>/copyright).
DOC_SOURCES = {
    "/usr/share/doc/nodejs/api": "Node.js API documentation, MIT licence (Debian package nodejs)",
    "/usr/share/doc/libxslt1-dev/html": (
        "libxslt API documentation, MIT licence (Debian package libxslt1-dev)"
    ),
    "/usr/share/doc/valgrind/html": "Valgrind manual, GNU FDL 1.2 (Debian package valgrind)",
    "/usr/share/doc/python3": (
        "Debian Python policy, GPL-compatible Debian policy text (Debian package python3)"
    ),
}
PROJECT_LICENCE = "this project's documents (same licence as the project)"
FONTS = [
    "DejaVu Sans",
    "DejaVu Serif",
    "DejaVu Sans Mono",
    "Liberation Sans",
    "Liberation Serif",
    "Liberation Mono",
    "Liberation Sans Narrow",
    "DejaVu Sans Condensed",
]
MONO_FONTS = ["DejaVu Sans Mono", "Liberation Mono"]
THEMES = [
    # (background, text, muted, accent, panel)
    ("#ffffff", "#1f2328", "#656d76", "#0969da", "#f6f8fa"),
    ("#0d1117", "#e6edf3", "#8d96a0", "#2f81f7", "#161b22"),
    ("#fdf6e3", "#586e75", "#93a1a1", "#cb4b16", "#eee8d5"),
    ("#ffffff", "#202124", "#5f6368", "#1a73e8", "#f1f3f4"),
    ("#1e1e1e", "#d4d4d4", "#9d9d9d", "#c586c0", "#252526"),
    ("#fafafa", "#111111", "#777777", "#e91e63", "#eeeeee"),
    ("#f0f4f8", "#102a43", "#627d98", "#2cb1bc", "#ffffff"),
    ("#ffffff", "#000000", "#444444", "#cc0000", "#ffffcc"),
]
CODE_WORDS = [
    "def",
    "return",
    "import",
    "class",
    "for",
    "in",
    "if",
    "else",
    "while",
    "const",
    "let",
    "function",
    "self",
    "None",
    "True",
    "np.array",
    "quality",
    "encode(",
    "decode(",
    "=",
    "+=",
    "==",
    "->",
    "{",
    "}",
    "[0]",
    "(x)",
    "0xFF",
    "256",
    "1e-3",
    "#",
    "//",
    "print(",
]


@dataclass(frozen=True)
class Shot:
    """One image of the set: where it goes and what made it."""

    split: str
    source: str
    name: str
    origin: str
    licence: str


def vocabulary() -> list[str]:
    """Words of this project's Markdown documents, in a fixed order."""
    words: list[str] = []
    for path in sorted(
        [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]
    ):
        if path.is_file():
            words += re.findall(
                r"[A-Za-z][A-Za-z'-]{1,14}|\d+(?:\.\d+)?", path.read_text(errors="replace")
            )
    return words or ["jpeg", "quality", "decode", "encode", "image", "network"]


# --------------------------------------------------------------------------- generated pages


class PageMaker:
    """Seeded HTML pages of several layouts.

    The layouts: article, docs, dashboard, form, chat, table, terminal.
    """

    def __init__(self, seed: int, words: list[str], photos: list[Path] | None = None):
        self.rng = random.Random(seed)
        self.words = words
        self.photos = photos or []

    def text(self, n: int) -> str:
        start = self.rng.randrange(max(1, len(self.words) - n))
        out = self.words[start : start + n]
        return html.escape(" ".join(out))

    def sentence(self, lo: int = 6, hi: int = 22) -> str:
        s = self.text(self.rng.randint(lo, hi))
        return s[:1].upper() + s[1:] + self.rng.choice([".", ".", ".", "?", ":", "!"])

    def para(self) -> str:
        parts = []
        for _ in range(self.rng.randint(2, 6)):
            s = self.sentence()
            r = self.rng.random()
            if r < 0.08:
                s = f"<b>{s}</b>"
            elif r < 0.14:
                s = f"<i>{s}</i>"
            elif r < 0.22:
                s = f'<a href="#">{s}</a>'
            elif r < 0.28:
                s = f"<code>{html.escape(self.rng.choice(CODE_WORDS))}</code> {s}"
            parts.append(s)
        return "<p>" + " ".join(parts) + "</p>"

    def code(self) -> str:
        lines = []
        for _ in range(self.rng.randint(4, 14)):
            indent = "    " * self.rng.randint(0, 3)
            toks = [
                self.rng.choice(CODE_WORDS if self.rng.random() < 0.5 else self.words)
                for _ in range(self.rng.randint(2, 9))
            ]
            lines.append(indent + " ".join(toks))
        body = html.escape("\n".join(lines))
        # A little syntax colour: numbers and keywords.
        body = re.sub(
            r"\b(def|return|import|class|for|in|if|else|while|const|let|function)\b",
            r'<span class="kw">\1</span>',
            body,
        )
        body = re.sub(r"\b(\d+(?:\.\d+)?)\b", r'<span class="num">\1</span>', body)
        return f"<pre>{body}</pre>"

    def table(self, rows: int | None = None, cols: int | None = None) -> str:
        rows = rows or self.rng.randint(3, 12)
        cols = cols or self.rng.randint(2, 7)
        head = "".join(f"<th>{self.text(self.rng.randint(1, 2))}</th>" for _ in range(cols))
        body = []
        for _ in range(rows):
            cells = []
            for c in range(cols):
                if c and self.rng.random() < 0.6:
                    value = self.rng.uniform(-999, 9999)
                    digits = self.rng.randint(0, 3)
                    cells.append(f"<td class='n'>{value:.{digits}f}</td>")
                else:
                    cells.append(f"<td>{self.text(self.rng.randint(1, 4))}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"

    def svg_chart(self, w: int = 320, h: int = 200) -> str:
        kind = self.rng.choice(["bars", "line", "pie", "area"])
        colours = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1"]
        self.rng.shuffle(colours)
        parts = [
            f'<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}"'
            ' xmlns="http://www.w3.org/2000/svg">'
        ]
        n = self.rng.randint(4, 12)
        vals = [self.rng.uniform(0.1, 1.0) for _ in range(n)]
        left, bottom, top = 36, h - 24, 16
        for i in range(5):
            y = bottom - (bottom - top) * i / 4
            parts.append(
                f'<line x1="{left}" x2="{w - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#8884" />'
            )
            parts.append(
                f'<text x="4" y="{y + 4:.1f}" font-size="10" fill="currentColor">{i * 25}</text>'
            )
        step = (w - left - 8) / n
        if kind == "bars":
            for i, v in enumerate(vals):
                bh = (bottom - top) * v
                parts.append(
                    f'<rect x="{left + i * step + 2:.1f}" y="{bottom - bh:.1f}"'
                    f' width="{step - 4:.1f}" height="{bh:.1f}" fill="{colours[i % 2]}" />'
                )
        elif kind in ("line", "area"):
            pts = " ".join(
                f"{left + (i + 0.5) * step:.1f},{bottom - (bottom - top) * v:.1f}"
                for i, v in enumerate(vals)
            )
            if kind == "area":
                parts.append(
                    f'<polygon points="{left + 0.5 * step:.1f},{bottom} {pts}'
                    f' {left + (n - 0.5) * step:.1f},{bottom}" fill="{colours[0]}55" />'
                )
            parts.append(
                f'<polyline points="{pts}" fill="none" stroke="{colours[0]}"'
                f' stroke-width="{self.rng.choice([1, 2, 3])}" />'
            )
        else:
            import math

            cx, cy, r = w / 2, h / 2, min(w, h) / 2 - 10
            total, angle = sum(vals[:6]), 0.0
            for i, v in enumerate(vals[:6]):
                a2 = angle + 2 * math.pi * v / total
                x1, y1 = cx + r * math.cos(angle), cy + r * math.sin(angle)
                x2, y2 = cx + r * math.cos(a2), cy + r * math.sin(a2)
                large = 1 if a2 - angle > math.pi else 0
                parts.append(
                    f'<path d="M{cx},{cy} L{x1:.1f},{y1:.1f} A{r},{r} 0 {large} 1'
                    f' {x2:.1f},{y2:.1f} Z" fill="{colours[i]}" />'
                )
                angle = a2
        for i in range(0, n, max(1, n // 6)):
            if kind != "pie":
                parts.append(
                    f'<text x="{left + i * step:.1f}" y="{h - 8}" font-size="10"'
                    f' fill="currentColor">{html.escape(self.rng.choice(self.words)[:6])}</text>'
                )
        parts.append("</svg>")
        return "".join(parts)

    def photo(self) -> str:
        if not self.photos:
            return ""
        path = self.rng.choice(self.photos)
        width = self.rng.choice([240, 320, 400, 481])
        float_side = self.rng.choice(["left", "right", "none"])
        data = base64.b64encode(path.read_bytes()).decode()
        return (
            f'<img src="data:image/png;base64,{data}"'
            f' style="width:{width}px;float:{float_side};margin:8px">'
        )

    def style(self) -> tuple[str, bool]:
        bg, fg, muted, accent, panel = self.rng.choice(THEMES)
        font = self.rng.choice(FONTS)
        mono = self.rng.choice(MONO_FONTS)
        size = self.rng.choice([11, 12, 13, 14, 15, 16, 18, 20])
        line = self.rng.choice([1.2, 1.4, 1.5, 1.7])
        hidpi = self.rng.random() < 0.3
        css = (
            f"""
        body {{ margin: 0; background: {bg}; color: {fg}; font: {size}px/{line} '{font}'; }}
        .wrap {{ padding: {self.rng.randint(8, 40)}px; }}
        h1 {{ font-size: 1.9em; margin: .4em 0; }} h2 {{ font-size: 1.4em; color: {accent}; }}
        a {{ color: {accent}; }} .muted {{ color: {muted}; }}
        pre {{ background: {panel}; padding: 8px 12px; font: {max(10, size - 2)}px/1.35 '{mono}';
              border-radius: {self.rng.choice([0, 3, 6])}px; overflow: hidden; }}
        code {{ font-family: '{mono}'; background: {panel}; padding: 0 3px; }}
        .kw {{ color: {accent}; font-weight: bold; }} .num {{ color: #d73a49; }}
        table {{ border-collapse: collapse; margin: 8px 0; }}
        th, td {{ border: 1px solid {muted}; padding: 2px 8px; }} th {{ background: {panel}; }}
        td.n {{ text-align: right; font-family: '{mono}'; }}
        .side {{ float: left; width: 200px; background: {panel}; height: 2000px; padding: 8px; }}
        .side div {{ padding: 3px 0; }} .main {{ margin-left: 230px; }}
        .card {{ display: inline-block; vertical-align: top; background: {panel}; margin: 6px;
                 padding: 10px; border-radius: 8px; box-shadow: 0 1px 4px #0003; }}
"""
            f"        button {{ background: {accent}; color: white; border: 0; border-radius: 4px;"
            " padding: 6px 14px;\n"
            "                  margin: 4px; font: inherit; }\n"
            "        input, select, textarea { font: inherit; margin: 4px; padding: 4px;"
            f" border: 1px solid {muted}; }}\n"
            "        .bubble { max-width: 60%; margin: 6px; padding: 8px 12px; border-radius: 14px;"
            f" background: {panel}; }}\n"
            f"""        .me {{ margin-left: auto; background: {accent}; color: white; }}
        .nav {{ background: {accent}; color: white; padding: 10px 20px; font-weight: bold; }}
        .nav span {{ margin-right: 24px; }}
        """
        )
        return css, hidpi

    def page(self, layout: str | None = None) -> tuple[str, bool]:
        layout = layout or self.rng.choice(
            ["article", "docs", "dashboard", "form", "chat", "table", "terminal"]
        )
        css, hidpi = self.style()
        body = getattr(self, f"_{layout}")()
        return (
            f"<!doctype html><html><head><meta charset='utf-8'><style>{css}</style></head>"
            f"<body>{body}</body></html>",
            hidpi,
        )

    def _nav(self) -> str:
        return (
            "<div class='nav'>"
            + "".join(f"<span>{self.text(1)}</span>" for _ in range(self.rng.randint(3, 7)))
            + "</div>"
        )

    def _article(self) -> str:
        parts = [
            self._nav() if self.rng.random() < 0.5 else "",
            "<div class='wrap'>",
            f"<h1>{self.sentence(3, 8)}</h1>",
            f"<div class='muted'>{self.text(6)}</div>",
        ]
        for _ in range(self.rng.randint(3, 8)):
            r = self.rng.random()
            if r < 0.15:
                parts.append(f"<h2>{self.sentence(2, 6)}</h2>")
            elif r < 0.25:
                parts.append(
                    "<ul>"
                    + "".join(
                        f"<li>{self.sentence(3, 12)}</li>" for _ in range(self.rng.randint(2, 6))
                    )
                    + "</ul>"
                )
            elif r < 0.32:
                parts.append(f"<blockquote>{self.para()}</blockquote>")
            elif r < 0.42 and self.photos:
                parts.append(self.photo())
            parts.append(self.para())
        return "".join(parts) + "</div>"

    def _mixed(self) -> str:
        parts = [
            self._nav(),
            "<div class='wrap'>",
            f"<h1>{self.sentence(3, 8)}</h1>",
            self.photo(),
            self.para(),
            self.para(),
        ]
        if self.rng.random() < 0.5:
            parts.append(self.photo())
        parts += [self.para(), self.para(), self.para()]
        return "".join(parts) + "</div>"

    def _docs(self) -> str:
        side = "".join(f"<div>{self.text(self.rng.randint(1, 3))}</div>" for _ in range(40))
        main = [f"<h1>{self.sentence(2, 5)}</h1>", self.para()]
        for _ in range(self.rng.randint(3, 6)):
            main.append(
                self.rng.choice(
                    [self.code, self.para, self.table, lambda: f"<h2>{self.sentence(2, 5)}</h2>"]
                )()
            )
        return f"<div class='side'>{side}</div><div class='main wrap'>{''.join(main)}</div>"

    def _dashboard(self) -> str:
        cards = []
        for _ in range(self.rng.randint(4, 9)):
            inner = self.rng.choice(
                [
                    lambda: self.svg_chart(
                        self.rng.choice([260, 320, 420]), self.rng.choice([160, 200, 240])
                    ),
                    lambda: (
                        f"<div class='muted'>{self.text(2)}</div>"
                        "<div style='font-size:2.2em;font-weight:bold'>"
                        f"{self.rng.randint(0, 99999):,}</div><div>{self.text(4)}</div>"
                    ),
                    lambda: self.table(self.rng.randint(3, 6), self.rng.randint(2, 4)),
                ]
            )()
            cards.append(f"<div class='card'><b>{self.text(2)}</b><br>{inner}</div>")
        return self._nav() + "<div class='wrap'>" + "".join(cards) + "</div>"

    def _form(self) -> str:
        rows = []
        for _ in range(self.rng.randint(5, 12)):
            kind = self.rng.choice(["input", "select", "check", "textarea", "buttons"])
            label = f"<label style='display:inline-block;width:180px'>{self.text(2)}</label>"
            if kind == "input":
                rows.append(
                    f"<div>{label}<input value='{self.text(2)}'"
                    f" size='{self.rng.randint(10, 40)}'></div>"
                )
            elif kind == "select":
                rows.append(f"<div>{label}<select><option>{self.text(2)}</option></select></div>")
            elif kind == "check":
                rows.append(
                    f"<div>{label}"
                    + "".join(
                        f"<input type='checkbox' {'checked' if self.rng.random() < 0.5 else ''}>"
                        f" {self.text(1)} "
                        for _ in range(3)
                    )
                    + "</div>"
                )
            elif kind == "textarea":
                rows.append(
                    f"<div>{label}<textarea rows='3' cols='50'>{self.sentence()}</textarea></div>"
                )
            else:
                rows.append(
                    "<div>"
                    + "".join(
                        f"<button>{self.text(1)}</button>" for _ in range(self.rng.randint(1, 4))
                    )
                    + "</div>"
                )
        return (
            self._nav() + f"<div class='wrap'><h1>{self.sentence(2, 4)}</h1>{''.join(rows)}</div>"
        )

    def _chat(self) -> str:
        msgs = []
        for _ in range(self.rng.randint(6, 14)):
            me = self.rng.random() < 0.5
            msgs.append(
                f"<div style='display:flex'><div class='bubble {'me' if me else ''}'>"
                f"{self.sentence(3, 30)}<div class='muted' style='font-size:.75em'>"
                f"{self.rng.randint(0, 23):02d}:{self.rng.randint(0, 59):02d}</div></div></div>"
            )
        return self._nav() + "<div class='wrap'>" + "".join(msgs) + "</div>"

    def _table(self) -> str:
        title = self.sentence(2, 5)
        table = self.table(self.rng.randint(20, 40), self.rng.randint(4, 9))
        return f"<div class='wrap'><h2>{title}</h2>{table}</div>"

    def _terminal(self) -> str:
        lines = []
        for _ in range(60):
            r = self.rng.random()
            t = html.escape(
                " ".join(
                    self.rng.choice(self.words + CODE_WORDS) for _ in range(self.rng.randint(1, 12))
                )
            )
            if r < 0.15:
                t = f"<span style='color:#50fa7b'>$ </span>{t}"
            elif r < 0.22:
                t = f"<span style='color:#ff5555'>{t}</span>"
            lines.append(t)
        mono = self.rng.choice(MONO_FONTS)
        return (
            "<pre style='margin:0;min-height:768px;background:#000;color:#ccc;"
            f'font:{self.rng.choice([12, 13, 14, 16])}px/1.3 "{mono}"\'>'
            + "\n".join(lines)
            + "</pre>"
        )


# --------------------------------------------------------------------------- docs and charts


def markdown_page(path: Path) -> str:
    """A Markdown file as a plain HTML page: headings, code fences, tables, lists, paragraphs."""
    out, in_code, in_table = [], False, False
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("```"):
            out.append("</pre>" if in_code else "<pre>")
            in_code = not in_code
            continue
        if in_code:
            out.append(html.escape(line))
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(set(c) <= set("-: ") for c in cells):
                continue
            out.append(
                ("<table>" if not in_table else "")
                + "<tr>"
                + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
                + "</tr>"
            )
            in_table = True
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        m = re.match(r"(#{1,4}) (.*)", line)
        if m:
            n = len(m.group(1))
            out.append(f"<h{n}>{html.escape(m.group(2))}</h{n}>")
        elif line.lstrip().startswith(("- ", "* ")):
            out.append(f"<li>{html.escape(line.lstrip()[2:])}</li>")
        elif line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    css = (
        "body{font:15px/1.5 'DejaVu Sans';margin:24px 40px} pre{background:#f6f8fa;padding:8px}"
        " td{border:1px solid #ccc;padding:2px 6px} table{border-collapse:collapse}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{css}</style></head>"
        f"<body>{''.join(out)}</body></html>"
    )


def doc_files(doc_roots: list[str]) -> list[tuple[Path, str]]:
    """(html file, licence) of the Debian documentation that exists here, sorted."""
    per_root = []
    for root in doc_roots:
        base = Path(root)
        if base.is_dir():
            per_root.append(
                [
                    (p, DOC_SOURCES.get(root, root))
                    for p in sorted(base.rglob("*.html"))
                    if p.stat().st_size > 4000
                ]
            )
    # Interleave the roots, so that a cap on the count takes some of each.
    files = []
    for k in range(max((len(f) for f in per_root), default=0)):
        files += [f[k] for f in per_root if k < len(f)]
    return files


def split_of(key: str, val_fraction: float) -> str:
    """'val' or 'train' for a source key, by a stable hash (same answer on every machine)."""
    h = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "val" if h < val_fraction else "train"


def chart_png(seed: int, path: Path) -> None:
    """One matplotlib chart of 1024x768 pixels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rng = np.random.default_rng(seed)
    style = [
        "default",
        "ggplot",
        "bmh",
        "seaborn-v0_8-whitegrid",
        "dark_background",
        "fivethirtyeight",
        "classic",
    ][seed % 7]
    with plt.style.context(style):
        dpi = int(rng.choice([64, 80, 100, 128]))
        fig = plt.figure(figsize=(WIDTH / dpi, HEIGHT / dpi), dpi=dpi)
        n_axes = int(rng.choice([1, 1, 2, 4]))
        for k in range(n_axes):
            ax = fig.add_subplot(2 if n_axes == 4 else 1, 2 if n_axes > 1 else 1, k + 1)
            kind = rng.choice(["line", "bar", "scatter", "hist", "pie", "step"])
            x = np.arange(int(rng.integers(8, 60)))
            for series in range(int(rng.integers(1, 4))):
                y = np.cumsum(rng.normal(0, 1, x.size)) + 10 * series
                if kind == "line":
                    ax.plot(x, y, marker=rng.choice(["", "o", "s", "^"]), label=f"series {series}")
                elif kind == "step":
                    ax.step(x, y, label=f"run {series}")
                elif kind == "bar":
                    ax.bar(
                        x[:12] + 0.25 * series, np.abs(y[:12]), width=0.25, label=f"group {series}"
                    )
                elif kind == "scatter":
                    ax.scatter(
                        rng.normal(0, 1, 80),
                        rng.normal(0, 1, 80),
                        s=rng.uniform(5, 60),
                        label=f"class {series}",
                    )
                elif kind == "hist":
                    ax.hist(
                        rng.normal(series, 1, 500), bins=30, alpha=0.6, label=f"sample {series}"
                    )
            if kind == "pie":
                ax.pie(
                    rng.uniform(1, 5, 5), labels=[f"part {i}" for i in range(5)], autopct="%1.1f%%"
                )
            else:
                ax.set_xlabel("quality" if rng.random() < 0.5 else "bits per pixel")
                ax.set_ylabel("PSNR (dB)" if rng.random() < 0.5 else "size (KiB)")
                ax.legend(loc="best", fontsize=int(rng.integers(7, 12)))
                if rng.random() < 0.5:
                    ax.grid(True)
            ax.set_title(f"Figure {seed}.{k}: measured values", fontsize=int(rng.integers(9, 16)))
        fig.tight_layout()
        fig.savefig(path, dpi=dpi)
        plt.close(fig)


# --------------------------------------------------------------------------- main


def render(
    page, html_text: str | None, url: str | None, hidpi: bool, out: Path, scroll: int = 0
) -> bool:
    """Screenshot one page (viewport 1024x768 pixels; CSS size halved when ``hidpi``)."""
    if url:
        page.goto(url, wait_until="load", timeout=30_000)
    else:
        page.set_content(html_text or "", wait_until="load", timeout=30_000)
    if scroll:
        height = page.evaluate("document.documentElement.scrollHeight")
        if scroll >= height - (HEIGHT // (2 if hidpi else 1)) // 2:
            return False
        page.evaluate(f"window.scrollTo(0, {scroll})")
    page.screenshot(path=str(out), type="png")
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "screens")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--pages", type=int, default=360, help="generated pages (train + val)")
    ap.add_argument("--charts", type=int, default=80, help="matplotlib charts (train + val)")
    ap.add_argument("--doc-shots", type=int, default=3, help="screenshots per documentation page")
    ap.add_argument("--doc-pages", type=int, default=160, help="documentation pages at most")
    ap.add_argument("--mixed", type=int, default=24, help="validation pages with a photo inside")
    ap.add_argument("--photos", type=Path, default=ROOT.parent / "shared" / "data" / "val")
    ap.add_argument("--val-fraction", type=float, default=0.15)
    ap.add_argument(
        "--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser")
    )
    args = ap.parse_args(argv)
    if not args.chromium:
        print(
            "make_screens: error: needs the system chromium (apt-get install chromium)",
            file=sys.stderr,
        )
        return 2
    from playwright.sync_api import sync_playwright

    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)
    words = vocabulary()
    shots: list[Shot] = []

    def target(split: str, source: str, name: str) -> Path:
        path = out / split / source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        pages = {
            False: browser.new_page(
                viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=1
            ),
            True: browser.new_page(
                viewport={"width": WIDTH // 2, "height": HEIGHT // 2}, device_scale_factor=2
            ),
        }
        n_val = round(args.pages * args.val_fraction)
        for i in range(args.pages):
            split = "val" if i < n_val else "train"
            maker = PageMaker(args.seed * 100_003 + i, words)
            text, hidpi = maker.page()
            name = f"page{i:04d}.png"
            render(pages[hidpi], text, None, hidpi, target(split, "generated", name))
            shots.append(
                Shot(
                    split,
                    "generated",
                    name,
                    f"generated page, seed {args.seed}:{i}",
                    "generated here",
                )
            )
            print(f"\rgenerated {i + 1}/{args.pages}", end="", file=sys.stderr)
        photos = sorted(args.photos.glob("*.png")) if args.photos.is_dir() else []
        for i in range(args.mixed if photos else 0):
            maker = PageMaker(args.seed * 7_919 + i, words, photos)
            text, _ = maker.page("mixed")  # rendered at 1x: the photos keep their pixels
            name = f"mixed{i:03d}.png"
            render(pages[False], text, None, False, target("val", "mixed", name))
            shots.append(
                Shot(
                    "val",
                    "mixed",
                    name,
                    f"generated page with photos from {args.photos.name}, seed {args.seed}:{i}",
                    "photos: see that set's README",
                )
            )
        docs = doc_files(list(DOC_SOURCES))[: args.doc_pages]
        md = sorted([ROOT / "README.md", ROOT / "BENCHMARKS.md", *(ROOT / "docs").glob("*.md")])
        for j, (path, lic) in enumerate([(p, PROJECT_LICENCE) for p in md if p.is_file()] + docs):
            key = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
            split = split_of(key, args.val_fraction)
            stem = re.sub(r"[^A-Za-z0-9]+", "-", key.lstrip("/"))[-60:]
            for k in range(args.doc_shots):
                name = f"{stem}-{k}.png"
                ok = render(
                    pages[False],
                    markdown_page(path) if path.suffix == ".md" else None,
                    None if path.suffix == ".md" else path.as_uri(),
                    False,
                    target(split, "docs", name),
                    scroll=k * HEIGHT,
                )
                if not ok:
                    break
                shots.append(Shot(split, "docs", name, f"{key} at scroll {k * HEIGHT}", lic))
            print(f"\rdocs {j + 1}", end="", file=sys.stderr)
        browser.close()
    n_val = round(args.charts * args.val_fraction)
    for i in range(args.charts):
        split = "val" if i < n_val else "train"
        name = f"chart{i:03d}.png"
        chart_png(args.seed * 1_000 + i, target(split, "charts", name))
        shots.append(
            Shot(split, "charts", name, f"matplotlib chart, seed {args.seed}:{i}", "generated here")
        )
    print(file=sys.stderr)
    manifest = [s.__dict__ for s in shots]
    (out / "manifest.json").write_text(
        json.dumps({"seed": args.seed, "images": manifest}, indent=1)
    )
    counts: dict[tuple[str, str], int] = {}
    for s in shots:
        counts[(s.split, s.source)] = counts.get((s.split, s.source), 0) + 1
    lines = [
        "# Screenshot set (made by scripts/make_screens.py)",
        "",
        f"Command: `python scripts/make_screens.py --seed {args.seed} --pages {args.pages} "
        f"--charts {args.charts} "
        f"--doc-shots {args.doc_shots} --doc-pages {args.doc_pages} --mixed {args.mixed}`",
        "",
        "| split | source | images |",
        "|---|---|---|",
    ]
    lines += [f"| {sp} | {so} | {n} |" for (sp, so), n in sorted(counts.items())]
    lines += [
        "",
        "## Sources and licences",
        "",
        "- generated pages and charts: made by the script from a seed"
        " (words from this project's documents); no third-party content.",
        f"- mixed (validation only): generated pages holding photographs from `{args.photos}`"
        " (see that set's README for provenance and licences).",
        f"- docs: {PROJECT_LICENCE}, and Debian documentation:",
    ]
    lines += [f"  - `{root}`: {lic}" for root, lic in DOC_SOURCES.items()]
    lines += ["", "Every image is listed with its origin and licence in `manifest.json`."]
    (out / "README.md").write_text("\n".join(lines) + "\n")
    print(f"{len(shots)} images in {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
