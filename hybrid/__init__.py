"""hybrid: standard JPEG files, decoded better.

The public API is Pillow-like::

    import hybrid
    data = hybrid.encode("photo.png", "photo.jpg", quality=80)
    image = hybrid.decode("photo.jpg")                 # plain decode, a PIL.Image
    image = hybrid.decode("photo.jpg", enhance=True)   # the enhancement network
    data = hybrid.encode("photo.png", target_size="150KB")  # quality (and mode) chosen
    data = hybrid.encode("photo.png", scale=2)         # downscaled mode, original size kept
    hybrid.info("photo.jpg").estimated_quality
    frame = hybrid.read_coefficients("photo.jpg")      # exact quantized DCT coefficients

Errors are :mod:`hybrid.errors` exceptions. Importing hybrid does not import torch.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _package_version

from hybrid import errors
from hybrid.api import decode, decode_array, encode, encode_to_target, info, read_coefficients
from hybrid.codec.headers import JpegInfo
from hybrid.codec.metadata import HybridMetadata

try:
    __version__ = _package_version("hybrid-jpeg-codec")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "HybridMetadata",
    "JpegInfo",
    "__version__",
    "decode",
    "decode_array",
    "encode",
    "encode_to_target",
    "errors",
    "info",
    "read_coefficients",
]
