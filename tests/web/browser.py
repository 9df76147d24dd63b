"""What the browser tests share: the system Chromium through Playwright, onnxruntime-web from
build/web-deps, a local HTTP server with or without cross-origin isolation, and the pixels a
page hands back.

Without chromium, the ``playwright`` package or onnxruntime-web (``scripts/fetch_web_deps.sh``)
the browser tests skip, except under ``CI=true`` (``.ci/run`` installs all three), where
they fail.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hybrid.web_site import DEFAULT_ORT_DIR, ISOLATION_HEADERS, ORT_FILES

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def require(missing: bool, what: str) -> None:
    """Skip (fail under CI=true) when a tool the test needs is missing."""
    if not missing:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} missing (.ci/run installs it)")
    pytest.skip(f"needs {what}")


def require_ort() -> None:
    require(
        not (DEFAULT_ORT_DIR / ORT_FILES[0]).is_file(),
        "onnxruntime-web in build/web-deps (scripts/fetch_web_deps.sh)",
    )


def sync_api():
    """playwright.sync_api, after checking chromium and onnxruntime-web are there."""
    require(CHROMIUM is None, "the system chromium")
    require_ort()
    try:
        from playwright import sync_api as api
    except ImportError:
        require(True, "the playwright package (pip install -e '.[dev]')")
    return api


@contextlib.contextmanager
def open_page(
    url: str, init_script: str, viewport: dict[str, int]
) -> Iterator[tuple[Any, list[str]]]:
    """The system Chromium (headless, through :func:`sync_api`) with one ``viewport``-sized
    page at ``url``, ``init_script`` run before the page's own scripts. Gives the Playwright
    page and the list that collects the page's console errors and uncaught exceptions as
    they come; the browser closes when the context ends."""
    api = sync_api()
    errors: list[str] = []
    with api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport=viewport)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.add_init_script(init_script)
            page.goto(url)
            yield page, errors
        finally:
            browser.close()


class StaticHandler(http.server.SimpleHTTPRequestHandler):
    """Files with the MIME types a module page needs; ``isolated`` adds COOP / COEP."""

    isolated = False
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
    }

    def end_headers(self) -> None:
        if self.isolated:
            for name, value in ISOLATION_HEADERS.items():
                self.send_header(name, value)
        super().end_headers()

    def log_message(self, *args) -> None:  # quiet
        pass


class IsolatedHandler(StaticHandler):
    isolated = True


@contextlib.contextmanager
def serve(root: Path, isolated: bool) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 while in the context; gives the base URL."""
    handler = IsolatedHandler if isolated else StaticHandler
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


# JS: a Float32Array as base64 (page.evaluate moves strings far faster than number arrays).
FLOAT32_TO_BASE64 = """
window.float32ToBase64 = (array) => {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  let s = "";
  for (let i = 0; i < bytes.length; i += 32768) {
    s += String.fromCharCode(...bytes.subarray(i, i + 32768));
  }
  return btoa(s);
};
"""


def pixels_of(encoded: str, width: int, height: int) -> np.ndarray:
    """float32 (height, width, 3) from a page's float32ToBase64 string."""
    return np.frombuffer(base64.b64decode(encoded), dtype=np.float32).reshape(height, width, 3)
