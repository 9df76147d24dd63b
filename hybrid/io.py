"""Files in and out: reading sources, loading images to pixels, writing outputs atomically.

The image loader's mode rule (what :func:`load_image` turns each Pillow mode into):

=====================  =============================================================
Pillow mode            pixels
=====================  =============================================================
``1``, ``L``           greyscale (H, W); ``1`` becomes 0/255
``RGB``                RGB (H, W, 3)
``RGBA``, ``RGBa``,    composited on a white background, RGB (H, W, 3):
``PA``, ``P`` + tRNS   ``out = (c * a + 255 * (255 - a) + 127) // 255``
``LA``, ``La``         composited on white the same way, greyscale (H, W)
``P`` (no alpha)       RGB through the palette
``I;16*``              greyscale, the high byte (``value >> 8``)
``I``                  greyscale, assumed 16-bit data: clipped to 0..65535, then ``>> 8``
``F``                  greyscale, clipped to 0..255 and rounded
``YCbCr``, ``LAB``,    converted to RGB by Pillow
``HSV``
``CMYK``               RGB through the image's ICC profile to sRGB (ImageCms), which then
                       becomes the carried profile; without a profile Pillow's
                       uncalibrated conversion (:func:`hybrid.colour.cmyk_to_rgb`)
=====================  =============================================================

EXIF orientation is honoured: the pixels are transposed upright and the Orientation tag of
the carried EXIF is rewritten to 1 (in place, every other byte unchanged), so the output
looks the same in viewers that apply orientation and in those that do not. Multi-frame
images (GIF, TIFF) give their first frame.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import io
import os
import stat
import struct
import tempfile
import threading
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias

import numpy as np

from hybrid.colour import cmyk_to_rgb
from hybrid.errors import (
    HybridMetadataWarning,
    ImageTooLargeError,
    InputError,
    JpegDataWarning,
    OutputExistsError,
    UnsupportedImageError,
)
from hybrid.exif import exif_payload, orient_image, orientation_of, reset_orientation

#: Pixel-count limit, the same as Pillow's decompression-bomb error threshold.
DEFAULT_MAX_PIXELS = 178_956_970

PathLike: TypeAlias = "str | os.PathLike[str]"
Source: TypeAlias = "str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO"


def describe(source: Any) -> str:
    """A short name of ``source`` for messages."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)  # type: ignore[return-value]
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    return f"<{type(source).__name__}>"


def read_bytes(source: Source) -> bytes:
    """The bytes of ``source``: a path, a bytes-like object or a binary file object.

    Raises:
        InputError: missing file, a directory, an unreadable file, or an unusable type.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise InputError(f"{path}: is a directory, not a file") from None
        except PermissionError:
            raise InputError(f"{path}: permission denied") from None
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    read = getattr(source, "read", None)
    if callable(read):
        data = read()
        if not isinstance(data, (bytes, bytearray)):
            raise InputError("the file object must be opened in binary mode")
        return bytes(data)
    raise InputError(f"expected a path, bytes or a binary file object, got {type(source).__name__}")


@contextlib.contextmanager
def pillow_warnings_as_jpeg_data() -> Iterator[None]:
    """Re-emit the warnings Pillow gives while reading a file (a malformed EXIF block, say) as
    :class:`JpegDataWarning`, so callers see only hybrid's documented warnings. Pillow's
    decompression-bomb warning is dropped: hybrid's own pixel limit applies."""
    from PIL import Image

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        if issubclass(w.category, Image.DecompressionBombWarning):
            continue
        if issubclass(w.category, (JpegDataWarning, HybridMetadataWarning)) or not issubclass(
            w.category, UserWarning
        ):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        else:
            warnings.warn(f"Pillow: {w.message}", JpegDataWarning, stacklevel=3)


# --- atomic output -----------------------------------------------------------------------

_umask_lock = threading.Lock()
_umask: int | None = None


def _current_umask() -> int:
    global _umask
    with _umask_lock:
        if _umask is None:
            _umask = os.umask(0o022)
            os.umask(_umask)
        return _umask


def check_output_path(path: PathLike, force: bool = False) -> Path:
    """Fail early, before slow work, if ``path`` cannot be an output (see :func:`atomic_write`).

    Raises:
        OutputExistsError: ``path`` exists and ``force`` is false.
        InputError: ``path`` is a directory or another non-regular file (a device, FIFO,
            socket or symlink), or its directory does not exist.
    """
    target = Path(os.fspath(path))
    if _existing_output(target) and not force:
        raise OutputExistsError(f"{target}: output exists (use --force / force=True to overwrite)")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{target}: output directory {parent} does not exist")
    return target


def atomic_write(path: PathLike, data: bytes, force: bool = False) -> None:
    """Write ``data`` to ``path`` all at once: a temp file in the same directory, then rename.

    Readers see either no file (or the old one) or the complete new file, never a partial
    one, and no temp file is left behind on any failure. Without ``force`` an existing file
    is never replaced, even one created by a concurrent writer (``os.link`` refuses).

    Only regular files are ever replaced: a device node (``/dev/null``), FIFO, socket,
    directory or symlink at ``path`` is refused, checked early and again (``lstat``) just
    before the rename. A symlink is refused rather than followed, so an output never lands
    outside the directory the caller named. To write to standard output, pass the data to
    ``sys.stdout.buffer`` instead (the CLI's ``-o -``).

    Raises:
        OutputExistsError: ``path`` exists and ``force`` is false.
        InputError: ``path`` is not a regular file, its directory is missing or not
            writable, or the write fails (disk full, read-only file system ...).
    """
    target = check_output_path(path, force)
    parent = target.parent if str(target.parent) else Path(".")
    remove_stale_temps(target)
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=parent
        )
    except OSError as exc:
        raise InputError(f"{target}: cannot write to {parent}: {exc.strerror or exc}") from None
    try:
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp_name, 0o666 & ~_current_umask())
            if force:
                _existing_output(target)  # again: something else may have appeared there
                os.replace(tmp_name, target)
            else:
                _rename_no_replace(tmp_name, target)
        except OutputExistsError:
            raise
        except OSError as exc:
            raise InputError(f"{target}: cannot write: {exc.strerror or exc}") from None
    finally:
        if os.path.lexists(tmp_name):
            os.unlink(tmp_name)


def _existing_output(target: Path) -> bool:
    """Whether ``target`` exists (not following a symlink); raises unless it is a regular file."""
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise InputError(f"{target}: cannot check the output: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{target}: output path is a directory")
    if not stat.S_ISREG(mode):
        raise InputError(
            f"{target}: not a regular file ({_file_kind(mode)}); hybrid replaces only regular "
            "files (for standard output use -o -)"
        )
    return True


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISLNK, "a symlink"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def remove_stale_temps(target: Path) -> list[Path]:
    """Delete the temp files :func:`atomic_write` left beside ``target`` when a writer was
    killed with SIGKILL (nothing can clean up after that): ``.NAME.PID.XXXX.tmp`` whose
    process no longer exists on this machine. Never raises; returns what was removed.

    A temp file of a live process (even another hybrid writing the same name right now) is
    left alone; so is anything whose name does not follow the pattern.
    """
    parent = target.parent if str(target.parent) else Path(".")
    prefix = f".{target.name}."
    removed: list[Path] = []
    try:
        names = [n for n in os.listdir(parent) if n.startswith(prefix) and n.endswith(".tmp")]
    except OSError:
        return removed
    for name in names:
        pid_text = name[len(prefix) :].split(".", 1)[0]
        if not pid_text.isdigit() or _process_alive(int(pid_text)):
            continue
        try:
            os.unlink(parent / name)
            removed.append(parent / name)
        except OSError:
            pass
    return removed


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and can still write: a zombie (killed, not yet reaped
    by its parent; a SIGKILLed Ray worker whose parent went with it) writes nothing more."""
    if pid <= 0:
        return True  # not a pid we wrote: leave the file alone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # exists (another user's process), or not a real pid: leave it
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """Whether ``/proc`` (Linux) reports ``pid`` as a zombie or dead (states ``Z``, ``X``);
    False where there is no ``/proc`` to ask."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # "pid (comm) state ...": comm may hold spaces and parentheses; the state follows the
    # last ")".
    state = text[text.rfind(")") + 1 :].split(maxsplit=1)[:1]
    return state in (["Z"], ["X"])


def _rename_no_replace(tmp_name: str, target: Path) -> None:
    try:
        os.link(tmp_name, target)
    except FileExistsError:
        raise OutputExistsError(
            f"{target}: output exists (use --force / force=True to overwrite)"
        ) from None
    except OSError as exc:
        # File systems without hard links: fall back to a checked rename.
        if exc.errno not in (
            errno.EPERM,
            errno.ENOTSUP,
            errno.EOPNOTSUPP,
            errno.EXDEV,
            errno.EMLINK,
        ):
            raise
        if os.path.lexists(target):
            raise OutputExistsError(
                f"{target}: output exists (use --force / force=True to overwrite)"
            ) from None
        os.replace(tmp_name, target)


# --- image loading -----------------------------------------------------------------------


#: The kinds of metadata a re-encode carries over, the names ``strip`` takes.
METADATA_KINDS = ("exif", "icc", "xmp", "iptc", "comment", "density")


@dataclass(frozen=True)
class ImageMetadata:
    """What an encoded file carries over from its source, besides the pixels.

    Attributes:
        icc_profile: the ICC profile bytes, or None.
        exif: the EXIF APP1 payload (starting with ``b"Exif\\0\\0"``) with Orientation = 1
            (the pixels are upright), or None.
        xmp: the XMP packet (XML bytes, without the APP1 namespace prefix), or None.
        iptc: APP13 payloads (``Photoshop 3.0`` resource blocks holding IPTC), in file order.
        comment: the JPEG/GIF/PNG comment bytes, or None.
        density: JFIF (units, x, y): units 0 = aspect ratio only, 1 = dots per inch,
            2 = dots per cm; None when the source states none.
    """

    icc_profile: bytes | None = None
    exif: bytes | None = None
    xmp: bytes | None = None
    iptc: tuple[bytes, ...] = ()
    comment: bytes | None = None
    density: tuple[int, int, int] | None = None

    def stripped(self, kinds: Iterable[str]) -> ImageMetadata:
        """A copy without the given kinds (names from :data:`METADATA_KINDS`)."""
        drop = set(kinds)
        return ImageMetadata(
            icc_profile=None if "icc" in drop else self.icc_profile,
            exif=None if "exif" in drop else self.exif,
            xmp=None if "xmp" in drop else self.xmp,
            iptc=() if "iptc" in drop else self.iptc,
            comment=None if "comment" in drop else self.comment,
            density=None if "density" in drop else self.density,
        )


def parse_strip(strip: Any) -> frozenset[str]:
    """The metadata kinds to remove: ``None``/``False``/``""`` -> none, ``True`` or ``"all"``
    -> every kind, ``"exif,xmp"`` or an iterable of names -> those.

    Raises:
        InputError: an unknown kind.
    """
    if strip is None or strip is False or strip == "":
        return frozenset()
    if strip is True or strip == "all":
        return frozenset(METADATA_KINDS)
    names = strip.split(",") if isinstance(strip, str) else list(strip)
    kinds = {str(n).strip().lower() for n in names if str(n).strip()}
    if "all" in kinds:
        return frozenset(METADATA_KINDS)
    unknown = sorted(kinds - set(METADATA_KINDS))
    if unknown:
        raise InputError(
            f"unknown metadata kind {unknown[0]!r} to strip (known: all, "
            f"{', '.join(METADATA_KINDS)})"
        )
    return frozenset(kinds)


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """An image ready for the encoder.

    Attributes:
        pixels: uint8 array (H, W) greyscale or (H, W, 3) RGB, C-contiguous, upright.
        metadata: what the source carries that an encode keeps by default.
    """

    pixels: np.ndarray
    metadata: ImageMetadata = ImageMetadata()

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def load_image(source: Any, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Load ``source`` (a path, the bytes of an image file, a ``PIL.Image.Image`` or a uint8
    ndarray) as encoder input.

    ndarrays must be uint8 of shape (H, W), (H, W, 1) or (H, W, 3) and carry no metadata.
    See the module docstring for how each Pillow mode is converted.

    Raises:
        InputError: unreadable file, unknown format, wrong type, dtype or shape.
        UnsupportedImageError: CMYK or another mode without a faithful conversion.
        ImageTooLargeError: more than ``max_pixels`` pixels (None: no limit of ours).
    """
    from PIL import Image

    if isinstance(source, np.ndarray):
        return LoadedImage(pixels=_check_array(source, max_pixels))
    with pillow_warnings_as_jpeg_data():
        if isinstance(source, Image.Image):
            return _from_pil(source, max_pixels)
        if isinstance(source, (str, os.PathLike)):
            return _load_path(os.fspath(source), max_pixels)
        if isinstance(source, (bytes, bytearray, memoryview)):
            return _load_path(io.BytesIO(source), max_pixels)
    raise InputError(
        "expected a path, image file bytes, a PIL.Image.Image or a uint8 numpy array, got "
        f"{type(source).__name__}"
    )


def _check_size(width: int, height: int, max_pixels: int | None) -> None:
    if width < 1 or height < 1:
        raise InputError(f"the image is empty ({width}x{height})")
    if width > 65535 or height > 65535:
        raise UnsupportedImageError(
            f"the image is {width}x{height}; JPEG allows at most 65535 pixels per side"
        )
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLargeError(
            f"the image is {width}x{height} = {width * height} pixels, more than the limit "
            f"of {max_pixels}"
        )


def _check_array(array: np.ndarray, max_pixels: int | None) -> np.ndarray:
    if array.dtype != np.uint8:
        raise InputError(
            f"pixel arrays must be uint8 (0..255), got {array.dtype}; for floats in 0..1 use "
            "(x * 255).round().astype(np.uint8)"
        )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise InputError(f"pixel arrays must be (H, W) or (H, W, 3), got shape {array.shape}")
    _check_size(array.shape[1], array.shape[0], max_pixels)
    return np.ascontiguousarray(array)


def _load_path(path: str | BinaryIO, max_pixels: int | None) -> LoadedImage:
    """Open a path or an in-memory file (messages then name no file)."""
    from PIL import Image

    where = f"{path}: " if isinstance(path, str) else ""
    if isinstance(path, str) and os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not an image")
    if isinstance(path, str) and not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
        with image:
            _check_size(image.width, image.height, max_pixels)
            image.load()
            return _from_pil(image, max_pixels)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"{where}{exc}") from None
    except Image.UnidentifiedImageError:
        raise InputError(f"{where}not an image file hybrid can read") from None
    except PermissionError:
        raise InputError(f"{where}permission denied") from None
    except (OSError, SyntaxError, ValueError, struct.error) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{where}cannot read the image: {exc}") from None


def _from_pil(image: Any, max_pixels: int | None) -> LoadedImage:
    _check_size(image.width, image.height, max_pixels)
    exif = exif_payload(image)
    orientation = orientation_of(image)
    if orientation != 1:
        image = orient_image(image, orientation)
        exif = reset_orientation(exif)
    if image.mode == "CMYK":
        image = cmyk_to_rgb(image)
    try:
        pixels = _pixels_of(image)
    except OSError as exc:
        raise InputError(f"cannot read the image data: {exc}") from None
    return LoadedImage(pixels=np.ascontiguousarray(pixels), metadata=_metadata_of(image, exif))


def read_metadata(data: bytes, *, upright: bool = True) -> tuple[ImageMetadata, int]:
    """The metadata of an encoded image (JPEG/MPO bytes) and its EXIF orientation (1..8),
    read from the headers only (no pixel decode): :func:`image_metadata` of the file opened
    by Pillow.

    With ``upright`` the returned EXIF has its Orientation reset to 1, for an output whose
    pixels the caller turns upright; else it is the file's EXIF as stored. The orientation
    returned is always the file's. An unreadable file gives empty metadata and 1: the
    decode itself reports what is wrong.
    """
    from PIL import Image

    try:
        # Pillow's own warnings about the file are the decode's to report, not repeated here
        # (the filter is set before Image.open, which warns too: EXIF read for the DPI, a
        # decompression bomb).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                return image_metadata(image, upright=upright)
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error):
        return ImageMetadata(), 1


def image_metadata(image: Any, *, upright: bool = True) -> tuple[ImageMetadata, int]:
    """:func:`read_metadata` of a JPEG/MPO file Pillow has already opened (``image``, a
    ``PIL.Image.Image`` straight from ``Image.open``, loaded or not): what a plain decode,
    which opens the file anyway, carries without opening it a second time. Metadata Pillow
    cannot read gives empty metadata and 1, as in :func:`read_metadata`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exif = exif_payload(image)
            orientation = orientation_of(image)
            metadata = _metadata_of(image, exif)
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error):
        return ImageMetadata(), 1
    if upright and orientation != 1:
        metadata = dataclasses.replace(metadata, exif=reset_orientation(exif))
    return metadata, orientation


def _metadata_of(image: Any, exif: bytes | None) -> ImageMetadata:
    """The metadata of an opened ``PIL.Image`` (``exif`` already upright)."""
    info = image.info
    icc = info.get("icc_profile") or None
    comment = info.get("comment") or None
    if isinstance(comment, str):
        comment = comment.encode("utf-8")
    xmp = info.get("xmp") or info.get("XML:com.adobe.xmp") or None
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    iptc = tuple(
        bytes(payload)
        for marker, payload in getattr(image, "applist", ())
        if marker == "APP13" and payload.startswith(b"Photoshop 3.0\x00")
    )
    return ImageMetadata(
        icc_profile=bytes(icc) if icc else None,
        exif=exif,
        xmp=bytes(xmp) if xmp else None,
        iptc=iptc,
        comment=bytes(comment) if comment else None,
        density=_density_of(info),
    )


def _density_of(info: dict[str, Any]) -> tuple[int, int, int] | None:
    """JFIF (units, x, y) from a JPEG's own JFIF header, else from a stated dpi."""
    if "jfif_density" in info:
        x, y = info["jfif_density"]
        units = info.get("jfif_unit", 0)
        valid = units in (0, 1, 2) and 1 <= x <= 65535 and 1 <= y <= 65535
        return (int(units), int(x), int(y)) if valid else None
    dpi = info.get("dpi")
    if dpi:
        try:
            x, y = (min(65535, max(1, round(float(v)))) for v in dpi)
        except (TypeError, ValueError, OverflowError):
            return None
        return 1, x, y
    return None


def _composite_on_white(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    c = color.astype(np.uint32)
    a = alpha.astype(np.uint32)
    if c.ndim == 3:
        a = a[:, :, None]
    return ((c * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)


def _pixels_of(image: Any) -> np.ndarray:
    mode = image.mode
    if mode == "1":
        return np.asarray(image.convert("L"), dtype=np.uint8)
    if mode == "L":
        return np.asarray(image, dtype=np.uint8)
    if mode == "RGB":
        return np.asarray(image, dtype=np.uint8)
    if mode in ("LA", "La"):
        la = np.asarray(image.convert("LA"), dtype=np.uint8)
        return _composite_on_white(la[:, :, 0], la[:, :, 1])
    if mode in ("RGBA", "RGBa", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = np.asarray(image.convert("RGBA"), dtype=np.uint8)
        return _composite_on_white(rgba[:, :, :3], rgba[:, :, 3])
    if mode == "P":
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    if mode.startswith("I;16"):
        values = np.asarray(image).astype(np.uint16)
        return (values >> 8).astype(np.uint8)
    if mode == "I":
        values = np.clip(np.asarray(image, dtype=np.int64), 0, 65535)
        return (values >> 8).astype(np.uint8)
    if mode == "F":
        values = np.asarray(image, dtype=np.float64)
        return np.clip(np.round(np.nan_to_num(values)), 0, 255).astype(np.uint8)
    if mode in ("YCbCr", "LAB", "HSV"):
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    raise UnsupportedImageError(f"images of mode {mode!r} are not supported")
