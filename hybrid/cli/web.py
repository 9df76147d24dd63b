"""``hybrid web``: a static gallery site whose JPEGs are enhanced in the viewer's browser
(thin click layer over :mod:`hybrid.web_site` and :mod:`hybrid.web_serve`)."""

from __future__ import annotations

from pathlib import Path

import click

from hybrid.enhance.onnx_registry import VARIANTS
from hybrid.errors import InputError


@click.command("web")
@click.argument("source", required=False, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "site",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder for the site (created; must be empty unless --force).",
)
@click.option("--force", is_flag=True, help="Write into a non-empty SITE, replacing its files.")
@click.option(
    "--variant",
    "variants",
    type=click.Choice(VARIANTS),
    multiple=True,
    help="ONNX variant(s) of the models to ship (photo and screen); the first is the page's "
    "default (default: fp32; ?variant=int8 in the URL picks another shipped one).",
)
@click.option(
    "--ort-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="onnxruntime-web's dist folder (default: build/web-deps from scripts/fetch_web_deps.sh).",
)
@click.option("--serve", is_flag=True, help="Then preview SITE on http://127.0.0.1 (Ctrl-C stops).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port for --serve (0: any free port).",
)
def web(
    source: Path | None,
    site: Path,
    force: bool,
    variants: tuple[str, ...],
    ort_dir: Path | None,
    serve: bool,
    port: int,
) -> int:
    """Write a static site for the JPEGs in SOURCE: a gallery whose images are enhanced in
    the browser (onnxruntime-web), the JS module, the photo and screen models (the page picks
    one per image, as the Python decoder does), the JPEGs (copied as they are), and a
    _headers file with the COOP / COEP headers that let the WebAssembly runtime
    use threads.

    With --serve, preview it on 127.0.0.1 with those headers; without SOURCE, --serve
    previews an existing SITE.
    """
    from hybrid.web_serve import make_server, site_url
    from hybrid.web_site import DEFAULT_ORT_DIR, SiteConfig, build_site

    if source is None and not serve:
        raise InputError("give the folder of JPEGs (SOURCE), or --serve to preview SITE")
    if source is not None:
        config = SiteConfig(
            source=source,
            site=site,
            variants=variants or ("fp32",),
            ort_dir=ort_dir or DEFAULT_ORT_DIR,
            force=force,
        )
        written = build_site(config)
        images = sum(1 for p in written if p.parts[0] == "images")
        click.echo(f"hybrid: wrote {site}: {images} images, {len(written)} files", err=True)
    if not serve:
        return 0
    server = make_server(site, port)
    click.echo(f"hybrid: serving {site} at {site_url(server)} (Ctrl-C stops)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("hybrid: stopped", err=True)
    finally:
        server.server_close()
    return 0
