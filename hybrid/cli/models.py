"""``hybrid models``: the released networks of the weights registry
(:mod:`hybrid.enhance.registry`), with their defaults and measured gains."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def models(as_json: bool) -> int:
    """List the released enhancement networks in the weights registry."""
    from hybrid.enhance.registry import (
        DEFAULT_CONTENT_MODELS,
        DEFAULT_ENHANCE_MODEL,
        load_manifest,
        weights_dir,
    )

    entries = load_manifest()
    if as_json:
        from dataclasses import asdict

        click.echo(json.dumps([asdict(e) for e in entries.values()], indent=2))
        return 0
    if not entries:
        click.echo(f"no models installed in {weights_dir()}")
        return 0
    from hybrid.downscaled import SR_MODEL_BY_SCALE

    largest = max(SR_MODEL_BY_SCALE)
    for entry in entries.values():
        mark = " (default)" if entry.id == DEFAULT_ENHANCE_MODEL else ""
        for content, model_id in DEFAULT_CONTENT_MODELS.items():
            if entry.id == model_id and model_id != DEFAULT_ENHANCE_MODEL:
                mark = f" (default for {content} content)"
        for scale, model_id in SR_MODEL_BY_SCALE.items():
            if entry.id == model_id:
                more = " and larger" if scale == largest else ""
                mark = f" (default for files downscaled x{scale:g}{more})"
        over = "plain decode"
        gains = entry.metrics.get("psnr_rgb_gain_db_libjpeg_turbo_420", {})
        if not gains:
            over = "bicubic upscale"
            gains = entry.metrics.get("psnr_rgb_gain_db_over_bicubic_libjpeg_turbo_420", {})
        gain_text = ", ".join(f"q{q} {g:+.2f} dB" for q, g in gains.items())
        click.echo(
            f"{entry.id}{mark}: {entry.task}, {entry.content} content, "
            f"{entry.architecture}{entry.kwargs}, "
            f"{entry.parameters:,} parameters; {entry.description}"
        )
        if gain_text:
            click.echo(f"    val PSNR gain over the {over}: {gain_text}")
    return 0
