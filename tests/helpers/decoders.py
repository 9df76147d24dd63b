"""Independent JPEG decoders for the cross-decoder tests (test helper, not product code).

Every ``decode_*`` function takes the bytes of a whole JPEG file and returns a uint8 array:
(H, W) for a one-component (greyscale) file, (H, W, 3) RGB otherwise.

What backs each decoder (measured on this Debian 12 machine):

- ``decode_pillow``: Pillow's bundled libjpeg-turbo (wheel build; ``PIL.features.version("jpg")``).
- ``decode_djpeg``: Debian's ``/usr/bin/djpeg`` (libjpeg-turbo 2.1.5, package
  ``libjpeg-turbo-progs``), a separate build and version of the same code.
- ``decode_imagecodecs``: ``imagecodecs.jpeg8_decode``, libjpeg-turbo 3.1.x bundled in the
  imagecodecs wheel. Same lineage again: it guards against build/version drift, not against a
  shared misreading of the standard.
- ``decode_ijg``: the Independent JPEG Group's libjpeg (default 9e) as compiled by the
  ``jpeglib`` package. libjpeg-turbo forked from IJG 6b in 2010; IJG 7-9 rewrote much since
  (marker/Huffman/progressive decoding, DCT scaling), so it is a second implementation of a
  common ancestor. Its default ("fancy") 4:2:x chroma upsampling is a scaled IDCT instead of
  libjpeg-turbo's triangular filter, so only the non-fancy (box) path matches
  ``djpeg -nosmooth`` (bit-exact but for rare 1-LSB differences in its merged YCbCr->RGB);
  4:4:4 and greyscale are bit-exact either way.
- ``decode_richter`` / ``decode_richter_ycc``: Thomas Richter's libjpeg (the ISO/IEC 10918-1 /
  18477 reference implementation, C++, no code in common with IJG or libjpeg-turbo), through
  ``pylibjpeg-libjpeg`` (GPL-3.0; a test-only dependency). It is the truly independent decoder
  here. Its YCbCr output matches libjpeg-turbo's within IDCT rounding; its RGB conversion
  clamps differently (libjpeg clamps Y, Cb, Cr before the colour transform), so compare YCbCr.
- ``decode_chromium_many`` / ``decode_chromium``: Debian's ``chromium`` (Blink's JPEG decoder
  over libjpeg-turbo, drawn on a 2D canvas and read back with ``getImageData``), one headless
  launch per batch; untagged JPEGs are sRGB there, so no colour conversion happens.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image


class DecoderError(RuntimeError):
    """A decoder refused a file or produced no usable output."""


def jpeg_component_count(data: bytes) -> int:
    """Number of components in the first SOFn segment (T.81 B.2.2) of a JPEG file."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise DecoderError(f"no marker at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return data[pos + 9]
        pos += 2 + length
    raise DecoderError("no SOF marker found")


def _squeeze_grey(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        return pixels[:, :, 0]
    return pixels


# ---------------------------------------------------------------- libjpeg-turbo family


def decode_pillow(data: bytes) -> np.ndarray:
    """Decode with Pillow (its bundled libjpeg-turbo, accurate integer IDCT, fancy upsampling)."""
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        if im.mode == "L":
            return np.asarray(im).copy()
        return np.asarray(im.convert("RGB")).copy()


def decode_pillow_ycc(data: bytes) -> np.ndarray:
    """Decode a colour file to upsampled YCbCr (H, W, 3) with Pillow's libjpeg-turbo.

    Uses libjpeg's ``out_color_space = JCS_YCbCr`` (Pillow's ``draft``), i.e. the same IDCT
    and fancy upsampling as :func:`decode_pillow` without the colour transform.
    """
    with Image.open(io.BytesIO(data)) as im:
        im.draft("YCbCr", im.size)
        im.load()
        if im.mode != "YCbCr":
            raise DecoderError(f"Pillow could not decode to YCbCr (mode {im.mode})")
        return np.asarray(im).copy()


def djpeg_path() -> str | None:
    """Path of libjpeg-turbo's ``djpeg``, or None when it is not installed."""
    return shutil.which("djpeg")


def decode_djpeg(data: bytes, *, fancy_upsampling: bool = True) -> np.ndarray:
    """Decode with the ``djpeg`` command line tool (PPM/PGM output).

    ``fancy_upsampling=False`` passes ``-nosmooth`` (box-filter chroma upsampling).
    """
    exe = djpeg_path()
    if exe is None:
        raise DecoderError("djpeg is not installed (Debian package libjpeg-turbo-progs)")
    cmd = [exe, "-dct", "int"] + ([] if fancy_upsampling else ["-nosmooth"])
    proc = subprocess.run(cmd, input=data, capture_output=True, timeout=60)
    if proc.returncode != 0 or not proc.stdout:
        raise DecoderError(
            f"djpeg failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}"
        )
    if proc.stderr.strip():
        # libjpeg warnings (corrupt data, premature end) exit 0 but mean a damaged file.
        raise DecoderError(f"djpeg warned: {proc.stderr.decode(errors='replace').strip()}")
    with Image.open(io.BytesIO(proc.stdout)) as im:
        return np.asarray(im).copy()


def decode_imagecodecs(data: bytes) -> np.ndarray:
    """Decode with ``imagecodecs.jpeg8_decode`` (libjpeg-turbo 3.x bundled in imagecodecs)."""
    import imagecodecs

    return _squeeze_grey(np.asarray(imagecodecs.jpeg8_decode(data)))


# ---------------------------------------------------------------- IJG libjpeg


def decode_ijg(data: bytes, *, version: str = "9e", fancy_upsampling: bool = True) -> np.ndarray:
    """Decode with IJG libjpeg ``version`` (a ``jpeglib.version`` name such as "9e" or "6b").

    ``jpeglib`` reads from a path and switches its library globally; the context manager
    restores the previous one.
    """
    import jpeglib

    flags = None if fancy_upsampling else ["-DO_FANCY_UPSAMPLING"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.jpg"
        path.write_bytes(data)
        with jpeglib.version(version):
            pixels = jpeglib.read_spatial(str(path), flags=flags).spatial
    return _squeeze_grey(np.ascontiguousarray(pixels, dtype=np.uint8))


# ---------------------------------------------------------------- Richter's libjpeg


def decode_richter(data: bytes) -> np.ndarray:
    """Decode to RGB (or grey) with Thomas Richter's libjpeg (``pylibjpeg-libjpeg``)."""
    import libjpeg

    transform = 1 if jpeg_component_count(data) == 3 else 0  # 1: YCbCr -> RGB
    return _squeeze_grey(np.asarray(libjpeg.decode(data, colour_transform=transform)))


def decode_richter_ycc(data: bytes) -> np.ndarray:
    """Decode to upsampled YCbCr (H, W, 3), or grey (H, W), with Richter's libjpeg."""
    import libjpeg

    return _squeeze_grey(np.asarray(libjpeg.decode(data, colour_transform=0)))


# ---------------------------------------------------------------- Chromium

_CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-crash-reporter",
    "--mute-audio",
    "--force-color-profile=srgb",
)

# Each image: "OK <w> <h> <base64 RGB>" or "ERR <message>", one per line, then "DONE".
# All work happens synchronously in the load handler: ``--dump-dom`` serializes the DOM right
# after the load event, which waits for every <img>. (An async loop with ``img.decode()``
# raced ``--virtual-time-budget``: virtual time skips ahead while off-thread decodes run.)
# The result element is not displayed: laying out megabytes of text cost seconds.
_CHROMIUM_PAGE = """<!doctype html>
<html><body><pre id="out" style="display:none">PENDING</pre>
%s
<script>
function rgbBase64(rgba) {
  const n = rgba.length / 4, rgb = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i]; rgb[j + 1] = rgba[i + 1]; rgb[j + 2] = rgba[i + 2];
  }
  let s = '';
  for (let i = 0; i < rgb.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, rgb.subarray(i, i + 0x8000));
  }
  return btoa(s);
}
window.addEventListener('load', () => {
  const out = [];
  for (const img of document.querySelectorAll('img.jpeg')) {
    try {
      if (!img.complete || img.naturalWidth === 0) throw new Error('not decodable');
      const w = img.naturalWidth, h = img.naturalHeight;
      const canvas = document.createElement('canvas');
      canvas.width = w; canvas.height = h;
      const ctx = canvas.getContext('2d', {colorSpace: 'srgb', willReadFrequently: true});
      ctx.drawImage(img, 0, 0);
      out.push('OK ' + w + ' ' + h + ' ' + rgbBase64(ctx.getImageData(0, 0, w, h).data));
    } catch (e) {
      out.push('ERR ' + String(e).replace(/\\s+/g, ' '));
    }
    img.remove();  // keep the dumped DOM small
  }
  out.push('DONE');
  document.getElementById('out').textContent = out.join('\\n');
});
</script></body></html>
"""

#: Upper bound on decoded RGB bytes per Chromium launch (the DOM dump carries them as base64).
_CHROMIUM_BATCH_BYTES = 48 * 1024 * 1024


def chromium_path() -> str | None:
    """Path of the ``chromium`` binary (Debian package ``chromium``), or None."""
    return shutil.which("chromium")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as im:
        return im.size


def _run_chromium_batch(batch: Sequence[bytes], timeout_s: float) -> list[np.ndarray | str]:
    exe = chromium_path()
    if exe is None:
        raise DecoderError("chromium is not installed (Debian package chromium)")
    imgs = "\n".join(
        '<img class="jpeg" src="data:image/jpeg;base64,'
        + base64.b64encode(b).decode("ascii")
        + '">'
        for b in batch
    )
    with tempfile.TemporaryDirectory(prefix="chromium-decode-") as tmp:
        page = Path(tmp) / "decode.html"
        page.write_text(_CHROMIUM_PAGE % imgs, encoding="ascii")
        env = dict(os.environ, HOME=tmp, XDG_CONFIG_HOME=tmp, XDG_CACHE_HOME=tmp)
        cmd = [
            exe,
            *_CHROMIUM_FLAGS,
            f"--user-data-dir={tmp}/profile",
            "--dump-dom",
            page.as_uri(),
        ]
        proc = subprocess.run(
            cmd, capture_output=True, timeout=timeout_s, env=env, stdin=subprocess.DEVNULL
        )
    dom = proc.stdout.decode("ascii", errors="replace")
    match = re.search(r'<pre id="out"[^>]*>(.*?)</pre>', dom, re.S)
    lines = match.group(1).strip().split("\n") if match else []
    if proc.returncode != 0 or not lines or lines[-1] != "DONE" or len(lines) != len(batch) + 1:
        tail = proc.stderr.decode(errors="replace")[-2000:]
        raise DecoderError(
            f"chromium produced no complete result (exit {proc.returncode}, "
            f"{len(lines)} lines for {len(batch)} images); stderr tail:\n{tail}"
        )
    results: list[np.ndarray | str] = []
    for line, data in zip(lines[:-1], batch, strict=True):
        if not line.startswith("OK "):
            results.append(f"chromium could not decode the image: {line}")
            continue
        _, w, h, payload = line.split(" ", 3)
        rgb = np.frombuffer(base64.b64decode(payload), np.uint8).reshape(int(h), int(w), 3)
        if jpeg_component_count(data) == 1:
            if not (
                np.array_equal(rgb[..., 0], rgb[..., 1])
                and np.array_equal(rgb[..., 0], rgb[..., 2])
            ):
                results.append("chromium drew a greyscale JPEG with unequal R, G, B")
                continue
            rgb = rgb[..., 0]
        results.append(rgb.copy())
    return results


def decode_chromium_many(
    images: Sequence[bytes], *, on_error: str = "raise", timeout_s: float = 300.0
) -> list[np.ndarray | str]:
    """Decode many JPEG files in as few headless Chromium launches as possible.

    Args:
        images: whole JPEG files.
        on_error: ``"raise"`` raises :class:`DecoderError` when any image fails to decode;
            ``"return"`` puts a message string in that image's place instead (a failed
            launch still raises).
        timeout_s: wall-clock limit per launch.

    Returns:
        One uint8 array per input, (H, W, 3) RGB or (H, W) for greyscale files (Chromium
        draws grey as R = G = B; that is checked, then one channel is returned).
    """
    if on_error not in ("raise", "return"):
        raise ValueError(f"on_error must be 'raise' or 'return', got {on_error!r}")
    results: list[np.ndarray | str] = []
    batch: list[bytes] = []
    batch_bytes = 0
    for data in images:
        w, h = _jpeg_size(data)
        if batch and batch_bytes + 3 * w * h > _CHROMIUM_BATCH_BYTES:
            results += _run_chromium_batch(batch, timeout_s)
            batch, batch_bytes = [], 0
        batch.append(data)
        batch_bytes += 3 * w * h
    if batch:
        results += _run_chromium_batch(batch, timeout_s)
    if on_error == "raise":
        for i, r in enumerate(results):
            if isinstance(r, str):
                raise DecoderError(f"image {i}: {r}")
    return results


def decode_chromium(data: bytes) -> np.ndarray:
    """Decode one JPEG file with headless Chromium (one launch, about 1-2 s)."""
    (pixels,) = decode_chromium_many([data])
    assert isinstance(pixels, np.ndarray)
    return pixels
