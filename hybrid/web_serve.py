"""Preview a ``hybrid web`` site on this machine: http.server on 127.0.0.1 only, with the
cross-origin isolation headers of the site's ``_headers`` file and the MIME types browsers
insist on for ES modules and WebAssembly (``application/wasm`` for streaming compilation)."""

from __future__ import annotations

import functools
import http.server
import sys
from pathlib import Path
from typing import Any

from hybrid.errors import InputError
from hybrid.web_site import ISOLATION_HEADERS

#: The only address the preview binds: never reachable from another machine.
HOST = "127.0.0.1"
MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".onnx": "application/octet-stream",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jpe": "image/jpeg",
    ".jfif": "image/jpeg",
}


class IsolatedSiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with COOP / COEP on every response, no caching (a preview shows the
    files as they are now) and a quiet log unless ``verbose``."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}
    verbose = False

    def end_headers(self) -> None:
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        if self.verbose:
            super().log_message(format, *args)


class _PreviewServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a browser that cancels a download (a reload mid-way) is no error of the site's
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def make_server(site: Path, port: int = 8000, verbose: bool = False) -> http.server.HTTPServer:
    """A threading HTTP server for ``site`` on 127.0.0.1:``port`` (0: a free port), not yet
    serving; InputError when ``site`` has no index.html or the port is taken."""
    if not (site / "index.html").is_file():
        raise InputError(f"{site}: no index.html (make the site with `hybrid web DIR -o {site}`)")
    handler = type("Handler", (IsolatedSiteHandler,), {"verbose": verbose})
    try:
        return _PreviewServer((HOST, port), functools.partial(handler, directory=str(site)))
    except OSError as exc:
        raise InputError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None


def site_url(server: http.server.HTTPServer) -> str:
    return f"http://{HOST}:{server.server_address[1]}/"
