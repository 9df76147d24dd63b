#!/usr/bin/env python3
"""The `hybrid web` gallery in headless Chromium: speed with 1 and 2 WebAssembly threads,
first-enhancement latency and bytes transferred.

A site is built (hybrid.web_site, fp32 and int8 shipped) for one 768x512 (0.39 MP) q30
4:2:0 JPEG (the first --data val image resized, as scripts/bench_onnx.py does) and served by
hybrid.web_serve on 127.0.0.1, cross-origin isolated; with ``--downscaled``, a second site
for the same image as a downscaled hybrid file (x2, q30: coded 384x256, shown at 768x512 by
the super-resolution network; MP/s of output pixels). Per site, variant and thread count, a
fresh browser context (empty cache) opens ``index.html?variant=V&threads=T``:

* first: seconds from the gallery's call to enhanceImage to the enhanced image (worker
  start, onnxruntime-web import and WebAssembly compile, model download and sha256 check,
  the network), and from navigation start to the same moment;
* bytes: the sum of every http response's headers and body up to that moment (page, module,
  runtime, model, JPEG), as Chromium counts them;
* gzip: what a host that compresses would send of the same files (gzip -6 of each body);
* MP/s: --repeat further enhancements of the same image in that page (runtime warm), best.

Example (the command recorded in BENCHMARKS.md):
    python scripts/bench_web.py --data ../shared/data --downscaled
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hybrid.web_serve import make_server, site_url  # noqa: E402
from hybrid.web_site import SiteConfig, build_site  # noqa: E402

AGAIN = """async ([src, variant, threads]) => {
  const { enhanceImage } = await import("./web/hybrid-enhance.js");
  const img = new Image();
  img.src = src;
  await img.decode();
  const opts = { weightsBase: "weights/", ortUrl: "ort/ort.wasm.min.mjs", wasmPaths: "ort/",
                 variant, threads };
  const start = performance.now();
  const r = await enhanceImage(img, opts);
  if (!r.enhanced) throw new Error(r.reason);
  return [(performance.now() - start) / 1000, r.threads];
}"""


def test_image(data: Path, size: tuple[int, int], downscaled: bool = False) -> bytes:
    vals = sorted((data / "val").glob("*.png"))
    if vals:
        src = Image.open(vals[0]).convert("RGB")
    else:
        from skimage import data as samples

        src = Image.fromarray(samples.coffee())
    src = src.resize(size, Image.LANCZOS)
    if downscaled:
        import hybrid

        return hybrid.encode(src, quality=30, scale=2.0)
    buf = io.BytesIO()
    src.save(buf, "JPEG", quality=30, subsampling=2)
    return buf.getvalue()


def gzipped_size(site: Path, files: list[str]) -> int:
    """Bytes of gzip -6 of each named file of the site (found by name, each once: the JPEG's
    second request, enhanceImage's fetch of the shown image, is a cache hit), summed."""
    paths = {p.name: p for p in site.rglob("*") if p.is_file()}
    return sum(len(gzip.compress(paths[n].read_bytes(), 6)) for n in set(files) if n in paths)


def measure(pw, chromium: str, url: str, variant: str, threads: int, repeat: int) -> dict:
    browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
    try:
        context = browser.new_context()
        requests = []
        context.on("requestfinished", lambda request: requests.append(request))
        page = context.new_page()
        page.goto(f"{url}index.html?variant={variant}&threads={threads}")
        page.wait_for_function(
            "window.hybridGallery && window.hybridGallery.finished", timeout=600_000
        )
        since_navigation = page.evaluate("performance.now()") / 1000
        state = page.evaluate("window.hybridGallery")
        [result] = state["results"].values()
        if not result["enhanced"]:
            raise SystemExit(f"not enhanced: {result['reason']}")
        loaded = [r for r in requests if r.url.startswith("http")]  # not the blob: swap-in
        sizes = [r.sizes() for r in loaded]
        transferred = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes)
        runs = [page.evaluate(AGAIN, ["images/photo.jpg", variant, threads]) for _ in range(repeat)]
        best = min(t for t, _ in runs)
        return {
            "variant": variant,
            "threads": result["threads"],
            "isolated": state["isolated"],
            "first_s": result["ms"] / 1000,
            "first_since_navigation_s": since_navigation,
            "bytes": transferred,
            "responses": len(sizes),
            "files": sorted(r.url.rsplit("/", 1)[1].split("?")[0] for r in loaded),
            "model": result["model"],
            "best_s": best,
        }
    finally:
        browser.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--size", default="768x512")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--downscaled", action="store_true", help="also a downscaled x2 file")
    opts = ap.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs the system chromium")
    w, h = (int(v) for v in opts.size.split("x"))
    kinds = ["photo", "downscaled"] if opts.downscaled else ["photo"]
    rows = []
    load_before = os.getloadavg()
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        for kind in kinds:
            photos = Path(tmp) / kind
            photos.mkdir()
            (photos / "photo.jpg").write_bytes(test_image(opts.data, (w, h), kind == "downscaled"))
            site = Path(tmp) / f"site-{kind}"
            build_site(SiteConfig(source=photos, site=site, variants=("fp32", "int8")))
            server = make_server(site, 0)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            try:
                for variant in ("fp32", "int8"):
                    for threads in opts.threads:
                        row = measure(pw, chromium, site_url(server), variant, threads, opts.repeat)
                        row["kind"] = kind
                        row["mp_per_s"] = w * h / 1e6 / row["best_s"]
                        row["gzip_bytes"] = gzipped_size(site, row["files"])
                        rows.append(row)
                        print(json.dumps(row), flush=True)
            finally:
                server.shutdown()
                server.server_close()
    load_after = os.getloadavg()
    print(
        f"\n{w}x{h} q30 4:2:0; load average {load_before[0]:.2f} before, {load_after[0]:.2f} "
        f"after ({time.time() - started:.0f} s); {os.cpu_count()} cores\n"
    )
    print(
        "| file | model | variant | threads | MP/s | first enhancement (s) | since navigation (s) "
        "| bytes | gzip bytes | responses |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['kind']} | {r['model']} | {r['variant']} | {r['threads']} | "
            f"{r['mp_per_s']:.3f} | {r['first_s']:.2f} | {r['first_since_navigation_s']:.2f} | "
            f"{r['bytes']:,} | {r['gzip_bytes']:,} | {r['responses']} |"
        )


if __name__ == "__main__":
    main()
