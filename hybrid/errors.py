"""One exception family for hybrid.

Every error a user can cause derives from :class:`HybridError`. The CLI maps
:class:`InputError` and its subclasses to exit code 2 and anything else to exit code 1,
always as a one-line message.
"""

from __future__ import annotations


class HybridError(Exception):
    """Base class of every error hybrid raises on purpose."""


class InputError(HybridError, ValueError):
    """The caller gave something hybrid cannot use (bad option, bad image, bad path)."""


class UnsupportedImageError(InputError):
    """An image mode, size or JPEG flavour that hybrid does not handle."""


class CorruptJPEGError(InputError):
    """A file that is not a JPEG, or a JPEG that is truncated or damaged."""


class ImageTooLargeError(InputError):
    """An image whose pixel count exceeds the configured limit (decompression bomb guard)."""


class OutputExistsError(InputError):
    """The output file exists and overwriting was not requested."""


class WeightsError(InputError):
    """Missing, unknown, corrupt or tampered network weights."""


class ClusterError(HybridError):
    """A batch's Ray cluster failed: Ray could not start, or lost work it could not retry
    (not the fault of any one image; those become failed rows)."""


class EncodeError(HybridError):
    """An internal failure while encoding (a bug, not bad input)."""


class HybridMetadataWarning(UserWarning):
    """A hybrid APP11 metadata segment that is malformed or of an unknown version (ignored)."""


class JpegDataWarning(UserWarning):
    """libjpeg or Pillow reported a recoverable oddity in a JPEG (extraneous bytes, a
    malformed EXIF block ...); the image was still decoded."""


class MissingModelWarning(UserWarning):
    """A network the file was made for (e.g. its super-resolution model) is not installed, so
    hybrid decoded it with a fallback (enhancement + classical upscale, or the plain decode)."""
