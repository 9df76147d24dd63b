"""``hybrid bench``: hybrid against its peers (thin click layer over :mod:`hybrid.bench`;
the benchmark is imported only when the command runs)."""

from __future__ import annotations

from pathlib import Path

import click


def _codec_list(value: str | None) -> list[str] | None:
    return [c.strip() for c in value.split(",") if c.strip()] if value else None


@click.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "outdir",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder for results.json, report.md, the plots and report.html.",
)
@click.option(
    "--screens",
    "screens",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A folder of screenshots (text, UI, graphics), measured too and reported as content "
    "class 'screen' (DIRECTORY's images: 'photo'); may be given more than once.",
)
@click.option("--quick", is_flag=True, help="3-4 settings per codec, not the full sweep.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help="Only the first N images (by name) of each class; screenshots from the --screens "
    "folders in turn.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Images measured in parallel (one process each).",
)
@click.option("--codecs", help="Comma-separated codec names (default: all; see --list-codecs).")
@click.option(
    "--resume/--no-resume",
    default=True,
    show_default=True,
    help="Reuse points cached in OUTDIR/points.jsonl by an earlier run.",
)
@click.option(
    "--butteraugli/--no-butteraugli",
    default=None,
    help="Measure butteraugli distances (3-norm and max-norm, libjxl's butteraugli_main, "
    "package libjxl-devtools; about 0.1 s of CPU per point at 481x321). Default: when installed.",
)
@click.option(
    "--crops",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Images with side-by-side crops in the HTML report.",
)
@click.option(
    "--list-codecs",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=lambda ctx, _p, v: _list_codecs(ctx) if v else None,
    help="List the codecs, whether each is usable here, and exit.",
)
def bench(
    directory: Path, outdir: Path, screens: tuple[Path, ...], quick: bool, limit: int | None,
    jobs: int, codecs: str | None, resume: bool, butteraugli: bool | None, crops: int,
) -> int:  # fmt: skip
    """Measure hybrid against its peers on the images of DIRECTORY (and of --screens).

    Every image is encoded at a sweep of settings by every installed codec (libjpeg-turbo,
    mozjpeg, jpegqs, WebP, AVIF, JPEG XL, hybrid's plain, enhanced, SR and automatic modes);
    bits per pixel, PSNR, PSNR-Y, SSIM, MS-SSIM, butteraugli (where libjxl's tool is
    installed) and speeds go to OUTDIR with BD-rates against
    libjpeg-turbo 4:2:0, and against WebP and AVIF when they ran. hybrid's enhanced modes
    decode with the default model choice (content auto). With --screens, every table is
    given for all images and for each content class (photo, screen). Codecs that are not
    installed are skipped with a note.
    """
    from hybrid.bench.runner import butteraugli_note, plan_bench, progress_printer, run_bench
    from hybrid.bench.write import write_all

    plan = plan_bench(
        directory, codecs=_codec_list(codecs), quick=quick, limit=limit, screens=screens,
        butteraugli=butteraugli,
    )  # fmt: skip
    for name, why in plan.skipped:
        click.echo(f"hybrid: note: skipping {name}: {why}", err=True)
    note = butteraugli_note(plan)
    if note:
        click.echo(f"hybrid: note: {note}", err=True)
    with progress_printer(plan) as bar:
        points = run_bench(
            plan,
            outdir / "points.jsonl",
            jobs=jobs,
            resume=resume,
            on_image=lambda _i: bar.update(1),
        )
    command = " ".join(
        ["hybrid bench", str(directory), "-o", str(outdir)]
        + [f"--screens {folder}" for folder in screens]
        + (["--quick"] if quick else [])
        + ([f"--limit {limit}"] if limit else [])
        + ([f"--jobs {jobs}"] if jobs != 1 else [])
        + ([f"--codecs {codecs}"] if codecs else [])
        + ([] if butteraugli is None else ["--butteraugli" if butteraugli else "--no-butteraugli"])
    )
    summary = write_all(outdir, plan, points, command=command, crops=crops)
    failed = len(summary["failures"])
    click.echo(
        f"{len(plan.images)} images, {len(points)} points ({failed} failed), "
        f"{len(plan.skipped)} codec(s) skipped; report: {outdir / 'report.html'}"
    )
    return 0


def _list_codecs(ctx: click.Context) -> None:
    from hybrid.bench.codecs import CODECS

    for codec in CODECS:
        ok, note = codec.available()
        click.echo(f"{codec.name}: {'yes' if ok else 'no'}{f' ({note})' if note else ''}")
    ctx.exit(0)
